//! What the command line prints for people: one function per kind of report,
//! each writing to any [`std::io::Write`], so tests snapshot them all.

pub(crate) mod maintain;
pub(crate) mod registry;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod runs;
#[cfg(test)]
mod tests;
pub(crate) mod validate;

use chrono::DateTime;

/// A timestamp in microseconds since the epoch, as people read it.
pub(crate) fn micros_to_string(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or_else(
        || us.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// A number to four decimals, or `-`.
pub(crate) fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}
