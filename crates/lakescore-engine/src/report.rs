//! `lakescore report`: gather what the monitoring page shows from the lake's
//! tables (runs, drift_metrics, drift_histograms, each job's predictions
//! table, the registry's events) and render it with `lakescore-report`.
//!
//! A job is in the report when it has runs. The dates shown are `--from` to
//! `--to`, by default the 90 days up to the latest logical date of the jobs
//! shown (or from their first date, when that is later). Where a date was run more than once, its drift is the latest
//! attempt's (as its predictions are). The rows per day aggregate the
//! predictions table in polars' streaming engine, so a large table is never
//! loaded whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use lakescore_core::registry::{EventKind, ModelEventRow};
use lakescore_core::runs::{RunRow, RunStatus, date_from_days, days_since_epoch};
use lakescore_core::{Classify, ErrorClass, suggest};
use lakescore_lake::{Lake, LakeError};
use lakescore_report::{
    ChartError, DailyScores, DriftPoint, Event, HistogramBin, JobReport, Rendered, Report, Run,
};
use polars::prelude::*;
use serde::Serialize;

use crate::registry::{Registry, RegistryError};
use crate::runner::drift_table::{self, DriftRow, HistogramRow};
use crate::sql::{self, SqlError};

/// How many days the report shows when `--from` is not given.
pub const DEFAULT_DAYS: i64 = 90;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("reading {table}")]
    Lake {
        table: String,
        #[source]
        source: LakeError,
    },
    #[error("reading the registry")]
    Registry(#[source] RegistryError),
    #[error("no job {name:?} has runs in this lake{hint}; jobs with runs: {known}")]
    UnknownJob {
        name: String,
        hint: String,
        known: String,
    },
    #[error("--from {from} is after --to {to}")]
    EmptyRange { from: NaiveDate, to: NaiveDate },
    #[error("reading the predictions of job {job}")]
    Predictions {
        job: String,
        #[source]
        source: Box<SqlError>,
    },
    #[error("rendering the report")]
    Render(#[source] ChartError),
}

impl Classify for ReportError {
    fn class(&self) -> ErrorClass {
        match self {
            ReportError::UnknownJob { .. } | ReportError::EmptyRange { .. } => ErrorClass::BadInput,
            ReportError::Lake { source, .. } => source.class(),
            ReportError::Registry(source) => source.class(),
            ReportError::Predictions { source, .. } => source.class(),
            ReportError::Render(_) => ErrorClass::Failure,
        }
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    /// Only these jobs (all jobs with runs when empty).
    pub jobs: Vec<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The date whose distributions are drawn (default: the latest date with
    /// histograms).
    pub date: Option<NaiveDate>,
}

/// What was written: for the command's output.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub jobs: Vec<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub runs: usize,
    pub registry_events: usize,
    /// Charts by kind.
    pub charts: BTreeMap<&'static str, usize>,
    pub bytes: usize,
}

/// Gather the report from `lake` and render it.
pub async fn report(
    lake: &Lake,
    req: &ReportRequest,
    now: DateTime<Utc>,
) -> Result<(Rendered, ReportSummary)> {
    let data = gather(lake, req, now).await?;
    let rendered = lakescore_report::render(&data).map_err(ReportError::Render)?;
    let summary = ReportSummary {
        jobs: data.jobs.iter().map(|j| j.name.clone()).collect(),
        from: data.from,
        to: data.to,
        runs: data.runs.len(),
        registry_events: data.events.len(),
        charts: rendered.charts.clone(),
        bytes: rendered.html.len(),
    };
    Ok((rendered, summary))
}

/// Read everything the page shows.
pub async fn gather(lake: &Lake, req: &ReportRequest, now: DateTime<Utc>) -> Result<Report> {
    let lake_err = |table: &str| {
        let table = table.to_string();
        move |source| ReportError::Lake { table, source }
    };
    let all_runs = crate::runner::read_runs(lake)
        .await
        .map_err(lake_err(lakescore_core::runs::RUNS_TABLE))?;
    let jobs = chosen_jobs(&all_runs, &req.jobs)?;
    let runs: Vec<&RunRow> = all_runs
        .iter()
        .filter(|r| jobs.contains(&r.job_name))
        .collect();
    let (from, to) = date_range(&runs, req)?;
    let in_range = |days: i32| match (from, to) {
        (Some(f), Some(t)) => days >= days_since_epoch(f) && days <= days_since_epoch(t),
        _ => false,
    };

    let drift_rows: Vec<DriftRow> = drift_table::read(lake)
        .await
        .map_err(lake_err(drift_table::DRIFT_TABLE))?
        .into_iter()
        .filter(|r| jobs.contains(&r.job_name) && in_range(r.logical_date))
        .collect();
    let histogram_rows: Vec<HistogramRow> = drift_table::read_histograms(lake)
        .await
        .map_err(lake_err(drift_table::HISTOGRAMS_TABLE))?
        .into_iter()
        .filter(|r| jobs.contains(&r.job_name) && in_range(r.logical_date))
        .collect();

    let registry = Registry::new(lake.clone());
    let models: BTreeSet<String> = runs.iter().filter_map(|r| r.model_name.clone()).collect();
    let events = registry_events(&registry, &models).await?;

    let mut job_reports = Vec::new();
    for job in &jobs {
        let of_job: Vec<&RunRow> = runs
            .iter()
            .copied()
            .filter(|r| r.job_name == *job)
            .collect();
        let last = of_job.iter().max_by_key(|r| r.started_at).copied();
        let (schedule, next_fire) = last.map_or((None, None), |r| next_fire(r, now));
        let job_drift: Vec<&DriftRow> = drift_rows.iter().filter(|r| r.job_name == *job).collect();
        let latest_drift =
            latest_per_date(&job_drift, |r| (r.logical_date, r.computed_at, &r.run_id));
        let open_alerts = open_alerts(&of_job, &job_drift);
        let job_models: BTreeSet<&str> = of_job
            .iter()
            .filter_map(|r| r.model_name.as_deref())
            .collect();
        let job_histograms: Vec<&HistogramRow> = histogram_rows
            .iter()
            .filter(|r| r.job_name == *job)
            .collect();
        let histogram_date = req.date.or_else(|| {
            job_histograms
                .iter()
                .map(|r| date_from_days(r.logical_date))
                .max()
        });
        let histograms = histogram_date.map_or_else(Vec::new, |d| {
            let of_date: Vec<&HistogramRow> = job_histograms
                .iter()
                .copied()
                .filter(|r| r.logical_date == days_since_epoch(d))
                .collect();
            latest_per_date(&of_date, |r| (r.logical_date, r.computed_at, &r.run_id))
                .into_iter()
                .map(histogram_bin)
                .collect()
        });
        let daily = match (last, from, to) {
            (Some(last), Some(from), Some(to)) if !last.output_table.is_empty() => {
                daily_scores(lake, job, &last.output_table, from, to).await?
            }
            _ => Vec::new(),
        };
        job_reports.push(JobReport {
            name: job.clone(),
            model_uri: last.map(|r| r.model_uri.clone()).unwrap_or_default(),
            schedule,
            next_fire,
            last_run: last.map(run),
            open_alerts,
            daily,
            markers: events
                .iter()
                .filter(|e| job_models.contains(e.model.as_str()) && e.moves_a_reference())
                .cloned()
                .collect(),
            drift: latest_drift.into_iter().map(drift_point).collect(),
            histogram_date,
            histograms,
        });
    }
    let mut shown_runs: Vec<Run> = runs
        .iter()
        .filter(|r| in_range(r.logical_date))
        .map(|r| run(r))
        .collect();
    shown_runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    Ok(Report {
        lake: lake.root().to_string(),
        generated_at: now,
        from,
        to,
        jobs: job_reports,
        events,
        runs: shown_runs,
    })
}

/// The jobs asked for (each must have runs), or every job with runs.
fn chosen_jobs(runs: &[RunRow], asked: &[String]) -> Result<Vec<String>> {
    let known: BTreeSet<&str> = runs.iter().map(|r| r.job_name.as_str()).collect();
    if asked.is_empty() {
        return Ok(known.into_iter().map(ToString::to_string).collect());
    }
    for name in asked {
        if !known.contains(name.as_str()) {
            return Err(ReportError::UnknownJob {
                name: name.clone(),
                hint: suggest::hint(name, known.iter().copied()),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                },
            });
        }
    }
    let mut out: Vec<String> = asked.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// `--from`/`--to`, defaulting to the 90 days up to the latest logical date run.
fn date_range(
    runs: &[&RunRow],
    req: &ReportRequest,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    let earliest = runs.iter().map(|r| date_from_days(r.logical_date)).min();
    let latest = runs.iter().map(|r| date_from_days(r.logical_date)).max();
    let to = req.to.or(latest);
    let from = req.from.or_else(|| {
        let window = to.map(|t| t - chrono::Duration::days(DEFAULT_DAYS - 1));
        window.max(earliest.filter(|e| to.is_none_or(|t| *e <= t)))
    });
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ReportError::EmptyRange { from, to });
    }
    Ok((from, to))
}

/// Of rows keyed by (date, written at, run): those of the latest run of each
/// date (a rerun's rows replace the earlier attempt's, as its predictions do).
fn latest_per_date<'a, T>(rows: &[&'a T], key: impl Fn(&T) -> (i32, i64, &String)) -> Vec<&'a T> {
    let mut latest: HashMap<i32, (i64, &String)> = HashMap::new();
    for r in rows {
        let (date, at, run) = key(r);
        let e = latest.entry(date).or_insert((at, run));
        if at > e.0 {
            *e = (at, run);
        }
    }
    rows.iter()
        .copied()
        .filter(|r| {
            let (date, _, run) = key(r);
            latest.get(&date).is_some_and(|(_, latest)| *latest == run)
        })
        .collect()
}

/// The alerts of the job's latest run that computed drift: open until a
/// later run raises none.
fn open_alerts(runs: &[&RunRow], drift: &[&DriftRow]) -> Vec<DriftPoint> {
    let with_drift: BTreeSet<&str> = drift.iter().map(|r| r.run_id.as_str()).collect();
    let Some(last) = runs
        .iter()
        .filter(|r| r.status == RunStatus::Succeeded && with_drift.contains(r.run_id.as_str()))
        .max_by_key(|r| r.started_at)
    else {
        return Vec::new();
    };
    drift
        .iter()
        .filter(|r| r.run_id == last.run_id && r.alert)
        .map(|r| drift_point(r))
        .collect()
}

/// The job's schedule (from the spec its latest run recorded) and its next
/// fire after `now`.
fn next_fire(last: &RunRow, now: DateTime<Utc>) -> (Option<String>, Option<DateTime<Utc>>) {
    let Ok(job) = lakescore_core::spec::parse(&last.spec_toml) else {
        return (None, None);
    };
    let Some(cron) = &job.schedule else {
        return (None, None);
    };
    let text = format!("{cron} ({})", job.timezone);
    if job.policy.suspend {
        return (Some(format!("{text}, suspended")), None);
    }
    (Some(text), job.next_fire(now))
}

/// Rows and mean prediction per logical date and model version, aggregated
/// in polars' streaming engine.
async fn daily_scores(
    lake: &Lake,
    job: &str,
    table: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DailyScores>> {
    let err = |source| ReportError::Predictions {
        job: job.to_string(),
        source: Box::new(source),
    };
    // Only the files of the dates shown (a predictions table is partitioned
    // by logical date; ISO dates order as strings).
    let (first, last) = (from.to_string(), to.to_string());
    let in_range = move |values: &HashMap<String, Option<String>>| {
        values
            .get("logical_date")
            .is_none_or(|v| v.as_ref().is_some_and(|d| *d >= first && *d <= last))
    };
    let Some(frame) = sql::table_frame(lake, table, in_range).await.map_err(err)? else {
        return Ok(Vec::new());
    };
    let df = tokio::task::spawn_blocking(move || {
        sql::collect(
            frame
                .group_by([
                    col("logical_date"),
                    col("model_version").cast(DataType::Int64),
                ])
                .agg([
                    len().cast(DataType::Int64).alias("rows"),
                    col("prediction")
                        .cast(DataType::Float64)
                        .mean()
                        .alias("mean"),
                ]),
        )
    })
    .await
    .map_err(|e| {
        err(SqlError::Execute(PolarsError::ComputeError(
            e.to_string().into(),
        )))
    })?
    .map_err(err)?;
    let typed = |e| err(SqlError::Execute(e));
    // The date as text: a partition column may come back as a date or as
    // its logged string value, and both print as ISO dates.
    let dates = df
        .column("logical_date")
        .and_then(|c| c.cast(&DataType::String))
        .map_err(typed)?;
    let (dates, versions, rows, means) = (
        dates.str().map_err(typed)?,
        df.column("model_version")
            .map_err(typed)?
            .i64()
            .map_err(typed)?,
        df.column("rows").map_err(typed)?.i64().map_err(typed)?,
        df.column("mean").map_err(typed)?.f64().map_err(typed)?,
    );
    let mut out: Vec<DailyScores> = dates
        .iter()
        .zip(versions.iter())
        .zip(rows.iter())
        .zip(means.iter())
        .filter_map(|(((d, v), n), m)| {
            let date = NaiveDate::parse_from_str(d?, "%Y-%m-%d").ok()?;
            Some(DailyScores {
                date: (from..=to).contains(&date).then_some(date)?,
                model_version: v?,
                rows: n.unwrap_or(0),
                mean_prediction: m,
            })
        })
        .collect();
    out.sort_by_key(|d| (d.date, d.model_version));
    Ok(out)
}

/// Every event of `models` (of every model when none ran yet), oldest first.
async fn registry_events(registry: &Registry, models: &BTreeSet<String>) -> Result<Vec<Event>> {
    let names: Vec<String> = if models.is_empty() {
        registry
            .state()
            .await
            .map_err(ReportError::Registry)?
            .models
            .into_keys()
            .collect()
    } else {
        models.iter().cloned().collect()
    };
    let mut out = Vec::new();
    for name in names {
        match registry.history(&name, None).await {
            Ok(events) => out.extend(events.iter().map(event)),
            // A job's model that was never registered here (the run failed).
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(ReportError::Registry(e)),
        }
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

fn event(e: &ModelEventRow) -> Event {
    let stage = e.to_stage.map(|s| s.to_string());
    let alias = e.alias.as_ref().map(|a| format!("@{a}"));
    let target = match e.event_type {
        EventKind::Rollback => stage.clone().or(alias.clone()),
        EventKind::AliasSet | EventKind::AliasRemoved => alias.clone(),
        _ => stage.clone(),
    };
    let kv = || match (&e.key, &e.value) {
        (Some(k), Some(v)) => format!("{k}={v}"),
        (Some(k), None) => k.clone(),
        (None, Some(v)) => v.clone(),
        (None, None) => String::new(),
    };
    let detail = match &e.event_type {
        EventKind::Registered => "registered".to_string(),
        EventKind::StageTransition => format!(
            "{} -> {}",
            e.from_stage
                .map_or_else(|| "None".into(), |s| s.to_string()),
            stage.clone().unwrap_or_default()
        ),
        EventKind::AliasSet => format!("{} set", alias.clone().unwrap_or_default()),
        EventKind::AliasRemoved => format!("{} removed", alias.clone().unwrap_or_default()),
        EventKind::Rollback => format!("rollback of {}", target.clone().unwrap_or_default()),
        EventKind::TransitionRequested => {
            format!("request -> {}", stage.clone().unwrap_or_default())
        }
        EventKind::TransitionApproved => {
            format!("approved -> {}", stage.clone().unwrap_or_default())
        }
        EventKind::TransitionRejected => {
            format!("rejected -> {}", stage.clone().unwrap_or_default())
        }
        EventKind::TagDeleted => format!("{} removed", kv()),
        EventKind::TagSet
        | EventKind::DescriptionSet
        | EventKind::OwnerSet
        | EventKind::SettingSet
        | EventKind::Comment
        | EventKind::Other(_) => kv(),
    };
    Event {
        at: DateTime::from_timestamp_micros(e.created_at).unwrap_or_default(),
        model: e.model_name.clone(),
        version: e.version,
        kind: e.event_type.clone(),
        detail,
        target,
        actor: e.actor.clone(),
        comment: e.comment.clone(),
    }
}

fn run(r: &RunRow) -> Run {
    Run {
        run_id: r.run_id.clone(),
        job_name: r.job_name.clone(),
        logical_date: date_from_days(r.logical_date),
        status: r.status,
        trigger: r.trigger,
        started_at: DateTime::from_timestamp_micros(r.started_at).unwrap_or_default(),
        duration_ms: r.duration_ms,
        rows: r.rows_out,
        model_version: r.model_version,
        drift_alerts: r.drift_alerts,
        error: r.error.clone(),
    }
}

fn drift_point(r: &DriftRow) -> DriftPoint {
    DriftPoint {
        date: date_from_days(r.logical_date),
        model_version: r.model_version,
        feature: r.feature.clone(),
        metric: r.metric,
        value: r.value,
        p_value: r.p_value,
        threshold: r.threshold,
        alert: r.alert,
    }
}

fn histogram_bin(r: &HistogramRow) -> HistogramBin {
    HistogramBin {
        model_version: r.model_version,
        feature: r.feature.clone(),
        bin: r.bin,
        lower: r.lower,
        upper: r.upper,
        category: r.category.clone(),
        reference: r.reference_count,
        current: r.current_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(run: &str, date: i32, at: i64) -> DriftRow {
        DriftRow {
            run_id: run.into(),
            job_name: "j".into(),
            logical_date: date,
            model_name: "m".into(),
            model_version: 1,
            feature: "x".into(),
            metric: lakescore_core::drift::MetricKind::Psi,
            value: Some(0.1),
            p_value: None,
            threshold: Some(0.2),
            alert: false,
            n_reference: 1,
            n_current: 1,
            computed_at: at,
        }
    }

    #[test]
    fn a_rerun_replaces_the_drift_of_its_date() {
        let rows = [drift("a", 1, 10), drift("b", 1, 20), drift("c", 2, 15)];
        let refs: Vec<&DriftRow> = rows.iter().collect();
        let kept = latest_per_date(&refs, |r| (r.logical_date, r.computed_at, &r.run_id));
        let runs: Vec<&str> = kept.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(runs, ["b", "c"]);
    }
}
