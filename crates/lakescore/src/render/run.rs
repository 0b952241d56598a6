//! What `run`, `rerun`, `drift` and `backfill` print for people.

use std::io::{self, Write};

use lakescore_core::backfill::{BackfillAction, BackfillReport};
use lakescore_core::runs::RunStatus;
use lakescore_engine::runner::drift_cmd::DriftReport;
use lakescore_engine::runner::shard::{CommitReport, PlanReport};
use lakescore_engine::runner::{DriftAlert, RunReport};

use super::fmt_opt;

pub(crate) fn plan(out: &mut dyn Write, r: &PlanReport) -> io::Result<()> {
    writeln!(
        out,
        "planned attempt {} of {} for {}: {} shard(s) over {} input file(s) ({} per shard), {} version {}",
        r.attempt,
        r.job_name,
        r.logical_date,
        r.shards,
        r.input_files,
        r.files_per_shard
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        r.model_name,
        r.model_version
    )?;
    writeln!(
        out,
        "  next: lakescore run JOB --date {} --attempt {} --shard I   (I = 0..{}), then lakescore commit",
        r.logical_date,
        r.attempt,
        r.shards.saturating_sub(1)
    )
}

pub(crate) fn shard(
    out: &mut dyn Write,
    r: &RunReport,
    index: usize,
    shards: usize,
) -> io::Result<()> {
    writeln!(
        out,
        "{} shard {index} of {shards} for {}: scored {} rows from {} file(s) with {} version {} into {} uncommitted file(s) (attempt {}) in {} ms",
        r.job_name,
        r.logical_date,
        r.rows,
        r.input_files,
        r.model_name,
        r.model_version,
        r.files_added,
        r.run_id,
        r.duration_ms
    )
}

pub(crate) fn commit(out: &mut dyn Write, r: &CommitReport, lake_root: &str) -> io::Result<()> {
    if r.already_committed {
        writeln!(
            out,
            "attempt {} of {} for {} was committed already: nothing more to do",
            r.attempt, r.run.job_name, r.run.logical_date
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "committed attempt {} of {} shard(s) ({} rows)",
        r.attempt,
        r.shards,
        r.shard_rows
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" + ")
    )?;
    run(out, &r.run, lake_root)
}

pub(crate) fn run(out: &mut dyn Write, r: &RunReport, lake_root: &str) -> io::Result<()> {
    if r.dry_run {
        writeln!(
            out,
            "dry run of {} for {}: would score {} input file(s) from {} with {} version {} into {}",
            r.job_name,
            r.logical_date,
            r.input_files,
            r.input,
            r.model_name,
            r.model_version,
            r.output_table
        )?;
        return Ok(());
    }
    if r.output_table.is_empty() {
        // An input scored already (an inference log): compared, not scored.
        writeln!(
            out,
            "{} {} for {}: compared {} logged rows of {} with each model version's reference \
             (run {}) in {} ms",
            r.job_name, r.status, r.logical_date, r.rows_in, r.model_name, r.run_id, r.duration_ms
        )?;
    } else {
        writeln!(
            out,
            "{} {} for {}: scored {} rows with {} version {} (run {})",
            r.job_name, r.status, r.logical_date, r.rows, r.model_name, r.model_version, r.run_id
        )?;
        writeln!(
            out,
            "  wrote {} (Delta version {}, {} file(s) added, {} replaced) in {} ms",
            r.output_table,
            r.output_version
                .map_or_else(|| "-".into(), |v| v.to_string()),
            r.files_added,
            r.files_removed,
            r.duration_ms
        )?;
    }
    let t = &r.timings;
    writeln!(
        out,
        "  time: resolve {} ms, read {} ms, score {} ms, drift {} ms, write {} ms, commit {} ms{}",
        t.resolve_ms,
        t.read_ms,
        t.score_ms,
        t.drift_ms,
        t.write_ms,
        t.commit_ms,
        r.rows_per_second
            .map_or_else(String::new, |v| format!(" ({v:.0} rows/s)"))
    )?;
    writeln!(out, "  run recorded in {lake_root}runs")?;
    if r.drift_metrics > 0 {
        writeln!(
            out,
            "  drift: {} metrics in {}drift_metrics, {} alert(s)",
            r.drift_metrics,
            lake_root,
            r.drift_alerts.len()
        )?;
        alerts(out, &r.drift_alerts)?;
    }
    Ok(())
}

pub(crate) fn drift(out: &mut dyn Write, r: &DriftReport, lake_root: &str) -> io::Result<()> {
    writeln!(
        out,
        "{} drift for {} ({})",
        r.job_name, r.logical_date, r.drift_id
    )?;
    for v in &r.versions {
        match &v.skipped {
            None => writeln!(
                out,
                "  {} version {}: {} rows compared with its reference",
                v.model_name, v.model_version, v.rows
            )?,
            Some(why) => writeln!(
                out,
                "  {} version {}: {} rows, skipped: {why}",
                v.model_name, v.model_version, v.rows
            )?,
        }
    }
    writeln!(
        out,
        "  {} metrics in {}drift_metrics, {} alert(s)",
        r.drift_metrics,
        lake_root,
        r.drift_alerts.len()
    )?;
    alerts(out, &r.drift_alerts)?;
    Ok(())
}

fn alerts(out: &mut dyn Write, alerts: &[DriftAlert]) -> io::Result<()> {
    for a in alerts {
        writeln!(
            out,
            "    ALERT {} {} = {} (p = {}, threshold {})",
            a.feature,
            a.metric,
            fmt_opt(a.value),
            fmt_opt(a.p_value),
            fmt_opt(a.threshold)
        )?;
    }
    Ok(())
}

pub(crate) fn backfill(out: &mut dyn Write, r: &BackfillReport) -> io::Result<()> {
    let verb = if r.dry_run {
        "would backfill"
    } else {
        "backfill of"
    };
    writeln!(
        out,
        "{verb} {} from {} to {} (--rerun {}{})",
        r.job_name,
        r.from,
        r.to,
        r.rerun.as_str(),
        if r.model_as_of_date {
            ", --model-as-of-date"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "  {:<10} {:<10} {:<10} {:>7} {:>9} {:>6}  RUN / ERROR",
        "DATE", "ACTION", "BEFORE", "MODEL", "ROWS", "ALERTS"
    )?;
    for d in &r.dates {
        let model = d.model_version.map_or("-".into(), |v| format!("v{v}"));
        let rows = d.rows.map_or("-".into(), |n| n.to_string());
        let tail = d
            .error
            .as_deref()
            .map(|e| e.lines().next().unwrap_or_default().to_string())
            .or_else(|| d.run_id.clone())
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<10} {:<10} {:<10} {:>7} {:>9} {:>6}  {tail}",
            d.date,
            d.action.as_str(),
            d.previous.map_or("-", RunStatus::as_str),
            model,
            rows,
            d.drift_alerts
        )?;
    }
    let count = |a: BackfillAction| r.dates.iter().filter(|d| d.action == a).count();
    let ran = count(BackfillAction::Succeeded);
    let failed = count(BackfillAction::Failed);
    let skipped = count(BackfillAction::Skip);
    let no_model = count(BackfillAction::NoModel);
    let no_model = if no_model > 0 {
        format!(", {no_model} date(s) without a model version")
    } else {
        String::new()
    };
    if r.dry_run {
        let would = count(BackfillAction::WouldFail);
        if would > 0 {
            writeln!(out, "  {would} date(s) would fail{no_model}")?;
        }
    } else {
        writeln!(
            out,
            "  {ran} run(s) succeeded, {failed} failed, {skipped} date(s) skipped{no_model}"
        )?;
    }
    Ok(())
}
