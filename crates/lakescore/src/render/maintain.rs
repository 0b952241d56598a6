//! What `maintain` prints for people: one line per table.

use std::io::{self, Write};

use lakescore_engine::maintain::MaintainReport;

pub(crate) fn maintain(out: &mut dyn Write, report: &MaintainReport) -> io::Result<()> {
    let verb = if report.dry_run {
        "would vacuum"
    } else {
        "vacuumed"
    };
    writeln!(
        out,
        "{:<32} {:>8} {:>9} {:>10} {:>11} {:>9}",
        "TABLE", "VERSION", "FILES", "COMPACTED", "CHECKPOINT", "VACUUMED"
    )?;
    for t in &report.tables {
        let checkpoint = t
            .checkpoint_version
            .map_or_else(|| "-".to_string(), |v| v.to_string());
        let compacted = match (&t.compaction_skipped, t.files_compacted) {
            (Some(_), _) => "raced".to_string(),
            (None, 0) => "-".to_string(),
            (None, n) if report.dry_run => n.to_string(),
            (None, n) => format!("{n}->{}", t.files_written),
        };
        writeln!(
            out,
            "{:<32} {:>8} {:>9} {:>10} {:>11} {:>9}",
            t.table,
            t.version_after,
            t.files_before,
            compacted,
            checkpoint,
            t.files_vacuumed.len()
        )?;
        for f in &t.files_vacuumed {
            writeln!(out, "  {verb} {f}")?;
        }
    }
    let expired: usize = report.tables.iter().map(|t| t.log_entries_removed).sum();
    writeln!(
        out,
        "{} tables; retention {} h; {expired} expired log entries removed{}",
        report.tables.len(),
        report.retention_hours,
        if report.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    )
}
