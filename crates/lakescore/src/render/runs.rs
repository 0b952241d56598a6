//! What `runs`, `status` and `schedule` print for people.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use lakescore_core::runs::{RunRow, date_from_days};
use lakescore_engine::runner::status::JobStatus;
use lakescore_engine::scheduler::Event;

use super::micros_to_string;

pub(crate) fn runs(out: &mut dyn Write, runs: &[RunRow]) -> io::Result<()> {
    writeln!(
        out,
        "{:<23} {:<20} {:<10} {:<11} {:<8} {:<12} {:>9} {:>6} {:>8}  RUN / ERROR",
        "STARTED", "JOB", "DATE", "STATUS", "TRIGGER", "MODEL", "ROWS", "ALERTS", "SECONDS"
    )?;
    for r in runs {
        let date = date_from_days(r.logical_date);
        let model = match (&r.model_name, r.model_version) {
            (Some(n), Some(v)) => format!("{n} v{v}"),
            _ => "-".into(),
        };
        let tail = match &r.error {
            None => r.run_id.clone(),
            Some(e) => {
                let line = e.lines().next().unwrap_or_default();
                let short: String = line.chars().take(80).collect();
                if short.len() < line.len() {
                    format!("{short}…")
                } else {
                    short
                }
            }
        };
        writeln!(
            out,
            "{:<23} {:<20} {:<10} {:<11} {:<8} {:<12} {:>9} {:>6} {:>8.1}  {tail}",
            micros_to_string(r.started_at),
            r.job_name,
            date,
            r.status,
            r.trigger,
            model,
            r.rows_out,
            r.drift_alerts,
            r.duration_ms as f64 / 1000.0
        )?;
    }
    Ok(())
}

pub(crate) fn status(out: &mut dyn Write, jobs: &[JobStatus]) -> io::Result<()> {
    // Columns as wide as their widest cell (elastic tabstops), so a long job
    // name or status never pushes the rest out of line.
    let mut tw = tabwriter::TabWriter::new(out).padding(2);
    writeln!(
        tw,
        "JOB\tSCHEDULE\tNEXT FIRE (UTC)\tLAST RUN\tTOOK\tALERTS\tMODEL\tNOTE"
    )?;
    for j in jobs {
        let last = j.last_run.as_ref().map_or("-".into(), |l| {
            format!("{} {} ({})", l.logical_date, l.status, l.trigger)
        });
        let took = j.last_run.as_ref().map_or("-".into(), |l| {
            format!("{:.1} s", l.duration_ms as f64 / 1000.0)
        });
        let alerts = j
            .last_run
            .as_ref()
            .map_or("-".into(), |l| l.drift_alerts.to_string());
        let next = if j.suspended {
            "suspended".to_string()
        } else {
            j.next_fire
                .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
        };
        let model = j.model_version.map_or("-".into(), |v| format!("v{v}"));
        writeln!(
            tw,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            j.job_name.as_deref().unwrap_or("?"),
            j.schedule.as_deref().unwrap_or("-"),
            next,
            last,
            took,
            alerts,
            model,
            j.error.as_deref().unwrap_or(&j.path)
        )?;
    }
    tw.flush()
}

pub(crate) fn event(out: &mut dyn Write, e: &Event, now: DateTime<Utc>) -> io::Result<()> {
    let line = match e {
        Event::Loaded {
            job,
            path,
            next_fire,
        } => format!(
            "loaded {job} from {path}; next fire {}",
            next_fire.map_or("-".into(), |t| t.to_rfc3339())
        ),
        Event::Invalid { path, error } => format!("skipped invalid spec {path}: {error}"),
        Event::Unloaded { job } => format!("unloaded {job}"),
        Event::Started {
            job,
            fire,
            date,
            attempt,
        } => format!(
            "started {job} for {date} (fire {}){}",
            fire.to_rfc3339(),
            if *attempt > 0 {
                format!(", retry {attempt}")
            } else {
                String::new()
            }
        ),
        Event::Finished {
            job,
            fire,
            status,
            run_id,
            error,
        } => format!(
            "{job} (fire {}) {status}{}",
            fire.to_rfc3339(),
            error
                .as_deref()
                .map(|e| format!(": {e}"))
                .or_else(|| run_id.as_deref().map(|r| format!(" (run {r})")))
                .unwrap_or_default()
        ),
        Event::Skipped { job, fire, reason } => {
            format!("skipped {job} (fire {}): {reason}", fire.to_rfc3339())
        }
        Event::Maintained {
            fire,
            tables,
            files_compacted,
            files_vacuumed,
        } => format!(
            "maintained {tables} tables (fire {}): {files_compacted} small files compacted, \
             {files_vacuumed} vacuumed",
            fire.to_rfc3339()
        ),
        Event::Stopping => "stopping: no new runs; waiting for running jobs".into(),
        Event::Stopped => "stopped".into(),
    };
    writeln!(out, "{} {line}", now.format("%Y-%m-%d %H:%M:%S"))?;
    Ok(())
}
