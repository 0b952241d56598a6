//! Backfills: one run per logical date of a range, oldest first.
//!
//! Which dates run follows Airflow's reprocessing modes: `none` runs only
//! dates never attempted, `failed` also dates whose latest attempt did not
//! succeed, `all` every date. With `model_as_of_date`, each date resolves the
//! model as the registry stood at the end of that date in the job's time zone,
//! so a backfill reproduces what production would have scored; a date at whose
//! end no version resolved (the model registered later) is skipped as
//! `no model`, never recorded as a failed attempt. A dry run checks each date
//! as `run --dry-run` does (model and input files) and writes nothing.

use chrono::NaiveDate;
use lakescore_core::Classify;
use lakescore_core::backfill::{BackfillAction, BackfillReport, Rerun, end_of_date, plan};
use lakescore_core::spec::LoadedSpec;
use lakescore_lake::Lake;

use super::{Progress, RunError, RunOptions, Trigger};

pub struct BackfillOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rerun: Rerun,
    pub dry_run: bool,
    pub model_as_of_date: bool,
    /// Called after each date with (dates done, dates in the range).
    pub on_date: Option<Progress>,
    /// Called with each run's rows so far.
    pub progress: Option<Progress>,
}

/// Run the backfill; a failed date is recorded and the next dates still run.
pub async fn backfill(
    lake: &Lake,
    spec: &LoadedSpec,
    opts: &BackfillOptions,
) -> Result<BackfillReport, RunError> {
    let job = &spec.job;
    let runs = super::read_runs(lake)
        .await
        .map_err(|source| RunError::Lake {
            job: job.name.clone(),
            source,
        })?;
    let mut dates = plan(&job.name, opts.from, opts.to, &runs, opts.rerun);
    let registry = crate::registry::Registry::new(lake.clone());
    // Without --model-as-of-date every date resolves against the registry as
    // it is now: resolve once.
    let mut now: Option<Result<i64, (bool, String)>> = None;
    for (i, d) in dates.iter_mut().enumerate() {
        if d.action == BackfillAction::Skip {
            // The date keeps its latest attempt (plan() filled it in).
            continue;
        }
        let as_of = opts
            .model_as_of_date
            .then(|| end_of_date(job.timezone, d.date));
        // A date before the model existed (or before its stage or alias
        // did) is not a failure of that date: skip it, saying why, rather
        // than record a failed attempt over what the date had.
        let resolved = if let (None, Some(cached)) = (as_of, &now) {
            cached.clone()
        } else {
            let r = registry
                .resolve_at(&job.model, as_of)
                .await
                .map(|v| v.record.version)
                .map_err(|e| (e.is_not_found(), super::error_chain(&e)));
            if as_of.is_none() {
                now = Some(r.clone());
            }
            r
        };
        match resolved {
            Ok(v) => d.model_version = Some(v),
            Err((true, reason)) if as_of.is_some() => {
                d.action = BackfillAction::NoModel;
                d.error = Some(reason);
                continue;
            }
            // Anything else fails in the run itself, which records it.
            Err(_) => {}
        }
        let run_opts = RunOptions {
            dry_run: opts.dry_run,
            model_as_of: as_of,
            progress: opts.progress.clone(),
            ..RunOptions::new(d.date, Trigger::Backfill)
        };
        match super::run(lake, spec, &run_opts).await {
            Ok(_) if opts.dry_run => {}
            Ok(report) => {
                d.action = BackfillAction::Succeeded;
                d.model_version = Some(report.model_version);
                d.run_id = Some(report.run_id);
                d.rows = Some(report.rows);
                d.drift_alerts = report.drift_alerts.len();
            }
            Err(e) => {
                if !opts.dry_run {
                    tracing::error!(job = %job.name, date = %d.date, error = %e, "backfill date failed");
                }
                d.action = if opts.dry_run {
                    BackfillAction::WouldFail
                } else {
                    BackfillAction::Failed
                };
                d.failure = Some(e.class());
                d.error = Some(super::error_chain(&e));
            }
        }
        if let Some(f) = &opts.on_date {
            f(i + 1);
        }
    }
    Ok(BackfillReport {
        job_name: job.name.clone(),
        from: opts.from,
        to: opts.to,
        rerun: opts.rerun,
        dry_run: opts.dry_run,
        model_as_of_date: opts.model_as_of_date,
        dates,
    })
}
