//! lakescore's pure domain: everything that can be decided without IO.
//!
//! Layers inside this crate, bottom up: [`error`] (the one error
//! classification every crate answers), [`hash`], [`flavor`] and [`uri`]
//! (model flavors and MLflow model references), [`drift`] (statistics,
//! reference profiles, the one-pass accumulator), [`schedule`] (cron timing),
//! [`spec`] (job specs parsed from text and validated), [`registry`] (registry
//! rows, event kinds and the fold that gives the registry's state), [`runs`]
//! and [`backfill`] (run records and the pure decisions made from them).
//!
//! Nothing here reads a file, opens a socket, starts a runtime or knows about
//! Delta: the crate graph (see ARCHITECTURE.md) keeps it that way.

pub mod backfill;
pub mod drift;
pub mod error;
pub mod flavor;
pub mod hash;
pub mod parallel;
pub mod path;
pub mod registry;
pub mod runs;
pub mod schedule;
pub mod spec;
pub mod suggest;
pub mod table;
pub mod uri;

pub use error::{Classify, ErrorClass};
pub use flavor::Flavor;
