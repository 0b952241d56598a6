//! Drift: pure statistics ([`stats`]), reference profiles ([`profile`], built by
//! [`ProfileBuilder`]), the one-pass accumulator that compares a window with a
//! profile ([`DriftAccumulator`]), the metrics and thresholds ([`metric`]) and
//! the profile's storage encoding ([`encoding`]). No IO here: the engine feeds
//! batches in and writes metrics out through the lake.

mod accumulator;
mod builder;
mod column;
pub mod encoding;
mod locate;
pub mod metric;
pub mod profile;
mod sample;
pub mod state;
pub mod stats;
#[cfg(test)]
mod tests;

pub use accumulator::DriftAccumulator;
pub use builder::ProfileBuilder;
pub use encoding::{DriftError, decode_profile, encode_profile};
pub use metric::{Histogram, HistogramBin, Metric, MetricKind, Thresholds};
pub use profile::{ColumnKind, ColumnProfile, PREDICTION, ReferenceProfile};
pub use state::{AccumulatorState, ColumnState, MergeError};
