//! What `lakescore report` prints once the page is written.

use std::io::{self, Write};
use std::path::Path;

use lakescore_engine::report::ReportSummary;

/// One line: where the page went, how large, and what it shows.
pub(crate) fn summary(out: &mut dyn Write, path: &Path, s: &ReportSummary) -> io::Result<()> {
    let charts: usize = s.charts.values().sum();
    let jobs = match s.jobs.len() {
        0 => "no jobs".to_string(),
        1 => format!("1 job ({})", s.jobs[0]),
        n => format!("{n} jobs ({})", s.jobs.join(", ")),
    };
    let dates = match (s.from, s.to) {
        (Some(from), Some(to)) => format!(", {from} to {to}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "wrote {} ({}): {jobs}{dates}, {} runs, {} registry events, {charts} charts",
        path.display(),
        size(s.bytes),
        s.runs,
        s.registry_events,
    )
}

fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}
