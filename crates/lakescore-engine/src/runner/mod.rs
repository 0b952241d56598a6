//! Running a job for one logical date, and recording it in the `runs` table.
//!
//! A run resolves its model reference once, at the start; checks the input
//! (files, columns, types) before writing anything ([`input`]); streams scored
//! batches into uncommitted files; and publishes them with one Delta commit
//! that replaces the date's previous predictions. Drift is counted on the same
//! batches ([`drift`]) and written after the commit. Success or failure, the
//! attempt is then recorded in `runs` ([`runs`]).

pub mod backfill;
pub mod drift;
pub mod drift_cmd;
pub mod drift_table;
pub mod input;
mod monitor;
pub mod reference;
pub mod rerun;
pub mod runs;
pub mod shard;
pub mod status;
pub mod validate;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use lakescore_core::drift::{MetricKind, PREDICTION};
use lakescore_core::runs::{PhaseTimings, RunRow, RunStatus, days_since_epoch, millis};
use lakescore_core::spec::LoadedSpec;
use lakescore_core::{Classify, ErrorClass};
use lakescore_lake::{DateReplaceWriter, Lake, LakeError};
use serde::Serialize;

use crate::failpoints::crash_point;

/// The predictions columns that keep file statistics: what lineage queries
/// filter on (`WHERE model_version = 3`, `WHERE run_id = ...`) and the
/// prediction itself. Keys and passed-through columns span their whole
/// range in every date's file, so their statistics would skip nothing.
pub(crate) const PREDICTION_STATS_COLUMNS: &[&str] =
    &["prediction", "model_version", "run_id", "scored_at"];
use crate::registry::{Registry, RegistryError};
use crate::score::{Lineage, ScoreError, ScoreStream, Scored};
pub use lakescore_core::runs::Trigger;
pub use runs::read_runs;

/// Errors of a run. Each says which job; the cause is its source.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("job {job}")]
    Registry {
        job: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("job {job}")]
    Score {
        job: String,
        #[source]
        source: ScoreError,
    },
    #[error("job {job}")]
    Lake {
        job: String,
        #[source]
        source: LakeError,
    },
    #[error("job {job}")]
    Reference {
        job: String,
        #[source]
        source: Box<reference::ReferenceError>,
    },
    #[error("job {job}: input {input}: {message}")]
    Input {
        job: String,
        input: String,
        message: String,
    },
    #[error(
        "job {job}: stopped before its commit (the scheduler is shutting down or replaced it); nothing was written"
    )]
    Aborted { job: String },
}

impl Classify for RunError {
    /// As the cause says; an input that is not usable is bad input; a stopped
    /// run is a failure (retrying it would be stopped again).
    fn class(&self) -> ErrorClass {
        match self {
            RunError::Registry { source, .. } => source.class(),
            RunError::Score { source, .. } => source.class(),
            RunError::Lake { source, .. } => source.class(),
            RunError::Reference { source, .. } => source.class(),
            RunError::Input { .. } => ErrorClass::BadInput,
            RunError::Aborted { .. } => ErrorClass::Failure,
        }
    }
}

/// Called after each written batch with the rows written so far.
pub type Progress = std::sync::Arc<dyn Fn(usize) + Send + Sync>;

#[derive(Clone)]
pub struct RunOptions {
    pub date: NaiveDate,
    pub dry_run: bool,
    pub trigger: Trigger,
    /// Called after each written batch with the rows so far (progress display).
    pub progress: Option<Progress>,
    /// The fire time of a scheduled run.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Resolve the model reference as the registry stood at this time
    /// (`backfill --model-as-of-date`).
    pub model_as_of: Option<DateTime<Utc>>,
    /// Reproduce an earlier run exactly (`rerun`).
    pub pin: Option<Pin>,
    /// Set to stop the run cooperatively (checked after each batch and before
    /// the commit): it then ends `aborted`, having written nothing.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Score one shard of a planned attempt (`run --attempt ID --shard I`):
    /// write its files and manifest, commit nothing, record no run row.
    pub shard: Option<shard::ShardTask>,
}

/// What a rerun holds fixed.
#[derive(Debug, Clone)]
pub struct Pin {
    pub rerun_of: String,
    pub model_version: i64,
    /// The Delta input version the original run read.
    pub input_version: Option<i64>,
    /// Incremental input: the version after which the original run read rows.
    pub input_start_version: Option<i64>,
}

impl RunOptions {
    pub fn new(date: NaiveDate, trigger: Trigger) -> Self {
        RunOptions {
            date,
            dry_run: false,
            trigger,
            progress: None,
            scheduled_at: None,
            model_as_of: None,
            pin: None,
            cancel: None,
            shard: None,
        }
    }
}

/// What a run did (printed as `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub status: RunStatus,
    pub job_name: String,
    pub logical_date: String,
    pub dry_run: bool,
    pub model_uri: String,
    pub model_name: String,
    pub model_version: i64,
    pub input: String,
    pub input_files: usize,
    pub input_version: Option<i64>,
    /// Incremental Delta input: the version after which rows were scored.
    pub input_start_version: Option<i64>,
    pub rows_in: usize,
    pub rows: usize,
    pub output_table: String,
    pub output_version: Option<i64>,
    pub files_added: usize,
    pub files_removed: usize,
    pub duration_ms: i64,
    /// Drift rows written (0 when the model version has no reference profile).
    pub drift_metrics: usize,
    /// Metrics that crossed their alert threshold.
    pub drift_alerts: Vec<DriftAlert>,
    /// Where the time went, phase by phase.
    pub timings: PhaseTimings,
    /// Input rows per second over the whole run (null for a dry run or a
    /// run with no input rows).
    pub rows_per_second: Option<f64>,
}

/// One threshold breach.
#[derive(Debug, Clone, Serialize)]
pub struct DriftAlert {
    pub feature: String,
    pub metric: MetricKind,
    pub value: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
}

/// Run `spec` for `opts.date` in `lake`.
pub async fn run(lake: &Lake, spec: &LoadedSpec, opts: &RunOptions) -> Result<RunReport, RunError> {
    let job = &spec.job;
    // A shard's rows carry its attempt's id: the date is one run, whatever scored it.
    let run_id = opts.shard.as_ref().map_or_else(
        || uuid::Uuid::new_v4().to_string(),
        |s| s.plan.attempt.clone(),
    );
    let started = Utc::now();
    let clock = Instant::now();
    let mut report = RunReport {
        run_id: run_id.clone(),
        status: RunStatus::Failed,
        job_name: job.name.clone(),
        logical_date: opts.date.to_string(),
        dry_run: opts.dry_run,
        model_uri: job.model.to_string(),
        model_name: job.model.name.clone(),
        model_version: 0,
        input: job.input.path_for(opts.date),
        input_files: 0,
        input_version: None,
        input_start_version: None,
        rows_in: 0,
        rows: 0,
        // An input scored already is compared, not scored: no output.
        output_table: if job.input.scored.is_some() {
            String::new()
        } else {
            lake.table_url(&job.output_table)
                .map_or_else(|_| job.output_table.clone(), |u| u.to_string())
        },
        output_version: None,
        files_added: 0,
        files_removed: 0,
        duration_ms: 0,
        drift_metrics: 0,
        drift_alerts: Vec::new(),
        timings: PhaseTimings::default(),
        rows_per_second: None,
    };
    let mut row = RunRow {
        run_id: run_id.clone(),
        job_name: job.name.clone(),
        trigger: opts.trigger,
        logical_date: days_since_epoch(opts.date),
        status: RunStatus::Running,
        started_at: started.timestamp_micros(),
        finished_at: started.timestamp_micros(),
        duration_ms: 0,
        rows_in: 0,
        rows_out: 0,
        model_uri: report.model_uri.clone(),
        model_name: None,
        model_version: None,
        input: report.input.clone(),
        input_version: None,
        output_table: report.output_table.clone(),
        output_version: None,
        spec_path: spec.path.display().to_string(),
        spec_sha256: spec.sha256.clone(),
        spec_toml: spec.text.clone(),
        lakescore_version: env!("CARGO_PKG_VERSION").into(),
        error: None,
        drift_alerts: 0,
        scheduled_at: opts.scheduled_at.map(|t| t.timestamp_micros()),
        rerun_of: opts.pin.as_ref().map(|p| p.rerun_of.clone()),
        input_start_version: None,
        host: Some(runs::host_name()),
        pid: Some(i64::from(std::process::id())),
        resolve_ms: None,
        read_ms: None,
        score_ms: None,
        drift_ms: None,
        write_ms: None,
        commit_ms: None,
        rows_per_second: None,
        shards: None,
    };
    let lake_err = |source| RunError::Lake {
        job: job.name.clone(),
        source,
    };
    // A shard is recorded by its attempt's row (written by `plan`, finished by `commit`).
    let record = !opts.dry_run && opts.shard.is_none();
    let started_row = if record {
        Some(runs::start(lake, &row).await.map_err(lake_err)?)
    } else {
        None
    };
    if record {
        crash_point!("run.after_start_row");
    }
    let result = execute(lake, spec, opts, &mut report).await;
    let elapsed = clock.elapsed();
    report.duration_ms = millis(elapsed);
    report.rows_per_second = (report.rows_in > 0 && !opts.dry_run)
        .then(|| report.rows_in as f64 / elapsed.as_secs_f64().max(1e-9));
    if !record {
        if result.is_ok() && opts.shard.is_some() {
            report.status = RunStatus::Succeeded;
        }
        return result.map(|()| report);
    }
    report.status = match &result {
        Ok(()) => RunStatus::Succeeded,
        Err(RunError::Aborted { .. }) => RunStatus::Aborted,
        Err(_) => RunStatus::Failed,
    };
    row.status = report.status;
    row.finished_at = Utc::now().timestamp_micros();
    row.duration_ms = report.duration_ms;
    row.rows_in = report.rows_in as i64;
    row.rows_out = report.rows as i64;
    row.model_name = (report.model_version > 0).then(|| report.model_name.clone());
    row.model_version = (report.model_version > 0).then_some(report.model_version);
    row.input_version = report.input_version;
    row.input_start_version = report.input_start_version;
    row.output_version = report.output_version;
    row.error = result.as_ref().err().map(|e| error_chain(e));
    row.drift_alerts = report.drift_alerts.len() as i64;
    report.timings.record(&mut row, report.rows_per_second);
    let recorded = runs::finish(lake, started_row, row).await;
    match (result, recorded) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(lake_err(e)),
        (Ok(()), Ok(())) => Ok(report),
    }
}

async fn execute(
    lake: &Lake,
    spec: &LoadedSpec,
    opts: &RunOptions,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let job = &spec.job;
    if let Some(scored) = &job.input.scored {
        return monitor::execute(lake, spec, opts, report, scored).await;
    }
    let clock = Instant::now();
    let jname = || job.name.clone();
    let registry = Registry::new(lake.clone());
    // A shard holds its plan's model version and input fixed, as a rerun does.
    let shard_pin = opts.shard.as_ref().map(shard::ShardTask::pin);
    let pin = shard_pin.as_ref().or(opts.pin.as_ref());
    let reference = match pin {
        Some(pin) => lakescore_core::uri::ModelRef {
            name: job.model.name.clone(),
            selector: lakescore_core::uri::ModelSelector::Version(pin.model_version),
        },
        None => job.model.clone(),
    };
    let registry_err = |source| RunError::Registry {
        job: jname(),
        source: Box::new(source),
    };
    let version = registry
        .resolve_at(&reference, opts.model_as_of)
        .await
        .map_err(registry_err)?;
    report.model_version = version.record.version;
    tracing::info!(
        job = %job.name,
        model = %job.model,
        version = version.record.version,
        "resolved model"
    );
    // The reference profile loads beside the model and the input's listing.
    let profile_load = drift::ProfileLoad::start(lake, job, &version.record);
    let model = registry
        .load_version(&version.record)
        .await
        .map_err(registry_err)?;
    let model = model.as_ref();

    let mut range = input::input_range(lake, spec, opts.date, pin).await?;
    if let Some(task) = &opts.shard {
        if task.files().is_empty() {
            // More shards than files: this one has nothing to score.
            return write_shard_manifest(lake, task, report, Vec::new(), None).await;
        }
        range.only = Some(task.files().to_vec());
    }
    let input::Resolved {
        plan,
        input_version,
        input_start_version,
    } = input::resolve_input(
        lake,
        spec,
        opts.date,
        &crate::score::ModelInputs::of(model),
        range,
    )
    .await?;
    report.input_version = input_version;
    report.input_start_version = input_start_version;
    let Some(plan) = plan else {
        tracing::info!(job = %job.name, version = ?input_version, "no rows appended to the input since the last run: nothing to score");
        if opts.dry_run {
            report.status = RunStatus::DryRun;
        }
        return Ok(());
    };
    report.input_files = plan.files.len();
    // The reference is read (and may fail) before anything is written.
    let profile = match profile_load {
        Some(load) => load.join().await?,
        None => drift::job_profile(lake, job, &version.record, model).await?,
    };
    if opts.dry_run {
        report.status = RunStatus::DryRun;
        return Ok(());
    }

    let table = lake
        .ensure_table(
            &job.output_table,
            &plan.output_schema,
            &["logical_date"],
            PREDICTION_STATS_COLUMNS,
            "lakescore predictions",
        )
        .await
        .map_err(|source| RunError::Lake {
            job: jname(),
            source,
        })?;
    let date = opts.date.to_string();
    let app_id = format!("lakescore/{}/{}", job.name, date);
    let writer = DateReplaceWriter::start(table, "logical_date", &date, app_id)
        .await
        .map_err(|source| RunError::Lake {
            job: jname(),
            source,
        })?
        .with_plain_columns(&plan.plain_columns());

    let mut drift = profile.map(|p| {
        let mut names: Vec<String> = model.features().to_vec();
        names.push(PREDICTION.into());
        names.extend(plan.monitored.iter().map(|(c, _)| c.clone()));
        // Key columns the profile knows (a segment such as region) are compared too.
        names.extend(plan.keys.iter().filter(|k| !names.contains(k) && p.features.contains_key(*k)).cloned().collect::<Vec<_>>());
        names.retain(|n| {
            let known = p.features.contains_key(n);
            if !known {
                tracing::warn!(job = %job.name, column = %n, "not in the model version's reference profile: no drift for it");
            }
            known
        });
        drift::Prepared::start(p, names, drift::thresholds(job))
    });
    if drift.is_none() {
        tracing::info!(job = %job.name, "model version has no reference profile: drift is not computed");
    }

    let lineage = Lineage {
        model_name: version.record.name.clone(),
        model_version: version.record.version,
        run_id: report.run_id.clone(),
        job_name: job.name.clone(),
        logical_date: opts.date,
        scored_at: Utc::now(),
    };
    let mut stream =
        ScoreStream::new(plan, model, Some(lineage)).map_err(|source| RunError::Score {
            job: jname(),
            source,
        })?;
    report.timings.resolve_ms = millis(clock.elapsed());
    // Prediction files are encoded and written on another thread while the
    // next batch is read and scored, and a batch's drift is counted on its own
    // thread while the next one is read and scored.
    let (tx, task) = spawn_writer(writer);
    let mut drift_time = Duration::ZERO;
    let mut rows = 0usize;
    // The batch whose drift is counted beside the next read.
    let mut uncounted: Option<Scored> = None;
    let failed = loop {
        // polars hands batches over a blocking channel; keep the runtime free meanwhile.
        let (next, counted) = tokio::task::block_in_place(|| {
            std::thread::scope(|s| {
                let counting = match (&mut drift, uncounted.take()) {
                    (Some(acc), Some(scored)) => Some(s.spawn(move || {
                        // The first batch also waits for the accumulator's preparation.
                        let clock = Instant::now();
                        let acc = acc.get();
                        (drift::track(acc, model, &scored), clock.elapsed())
                    })),
                    _ => None,
                };
                let next = stream.next();
                let counted = counting.map(|c| c.join().expect("drift counting does not panic"));
                (next, counted)
            })
        });
        if let Some((result, time)) = counted {
            drift_time += time;
            if let Err(source) = result {
                break Some(RunError::Score {
                    job: jname(),
                    source,
                });
            }
        }
        let Some(scored) = next else { break None };
        let mut scored = match scored {
            Ok(b) => b,
            Err(source) => {
                break Some(RunError::Score {
                    job: jname(),
                    source,
                });
            }
        };
        let batch = scored.output.take().expect("the stream has lineage");
        rows += batch.num_rows();
        if tx.send(batch).await.is_err() {
            // The writer stopped on an error: it is reported below.
            break None;
        }
        if drift.is_some() {
            uncounted = Some(scored);
        }
        crash_point!("run.after_batch");
        if let Some(progress) = &opts.progress {
            progress(rows);
        }
        if cancelled(opts) {
            break Some(RunError::Aborted { job: jname() });
        }
    };
    drop(tx);
    let Written {
        writer,
        time: write_time,
        result,
    } = task.await.expect("the prediction writer does not panic");
    // The first of: the run's own error, the writer's, a stop request.
    let error = failed
        .or_else(|| {
            result.err().map(|source| RunError::Lake {
                job: jname(),
                source,
            })
        })
        .or_else(|| cancelled(opts).then(|| RunError::Aborted { job: jname() }));
    if let Some(e) = error {
        writer.abort();
        return Err(e);
    }
    report.rows_in = stream.rows_in;
    report.timings.read_ms = millis(stream.read_time);
    report.timings.score_ms = millis(stream.score_time);
    if let Some(task) = &opts.shard {
        report.rows = rows;
        let adds = writer
            .finish_files()
            .await
            .map_err(|source| RunError::Lake {
                job: jname(),
                source,
            })?;
        let state = drift.map(|acc| acc.into_inner().state());
        return write_shard_manifest(lake, task, report, adds, state).await;
    }
    let meta = HashMap::from([
        ("lakescore.run_id".to_string(), report.run_id.clone().into()),
        ("lakescore.job".to_string(), job.name.clone().into()),
        ("lakescore.logical_date".to_string(), date.clone().into()),
        (
            "lakescore.model_name".to_string(),
            report.model_name.clone().into(),
        ),
        (
            "lakescore.model_version".to_string(),
            report.model_version.into(),
        ),
    ]);
    crash_point!("run.before_commit");
    let clock = Instant::now();
    // The commit first flushes the last open file: that is counted here too.
    let (outcome, _) = writer.commit(meta).await.map_err(|source| RunError::Lake {
        job: jname(),
        source,
    })?;
    let mut commit_time = clock.elapsed();
    crash_point!("run.after_commit");
    report.rows = outcome.rows;
    report.output_version = Some(outcome.version);
    report.files_added = outcome.files_added;
    report.files_removed = outcome.files_removed;
    tracing::info!(
        job = %job.name,
        date = %date,
        rows = outcome.rows,
        version = outcome.version,
        "committed predictions"
    );

    if let Some(acc) = drift {
        let acc = acc.into_inner();
        let clock = Instant::now();
        let (metrics, histograms) = acc.finish_with_histograms(&drift::thresholds(job));
        drift_time += clock.elapsed();
        let clock = Instant::now();
        let ctx = drift_table::DriftContext {
            run_id: &report.run_id,
            job_name: &job.name,
            logical_date: days_since_epoch(opts.date),
            model_name: &report.model_name,
            model_version: report.model_version,
        };
        let (written, alerts) = drift::record(lake, &ctx, &metrics, &histograms)
            .await
            .map_err(|source| RunError::Lake {
                job: jname(),
                source,
            })?;
        commit_time += clock.elapsed();
        report.drift_metrics = written;
        report.drift_alerts = alerts;
        crash_point!("run.after_drift");
    }
    report.timings.drift_ms = millis(drift_time);
    report.timings.write_ms = millis(write_time);
    report.timings.commit_ms = millis(commit_time);
    Ok(())
}

/// Record a shard's manifest: its uncommitted files, rows and drift counts.
async fn write_shard_manifest(
    lake: &Lake,
    task: &shard::ShardTask,
    report: &mut RunReport,
    adds: Vec<serde_json::Value>,
    drift: Option<lakescore_core::drift::AccumulatorState>,
) -> Result<(), RunError> {
    report.files_added = adds.len();
    let manifest = shard::ShardManifest {
        attempt: task.plan.attempt.clone(),
        shard: task.index,
        model_name: task.plan.model_name.clone(),
        model_version: report.model_version,
        input_files: report.input_files,
        rows_in: report.rows_in,
        rows: report.rows,
        adds,
        drift,
        host: runs::host_name(),
        pid: i64::from(std::process::id()),
        finished_at: Utc::now().timestamp_micros(),
    };
    crash_point!("shard.before_manifest");
    shard::write_manifest(lake, task, &manifest)
        .await
        .map_err(|source| RunError::Lake {
            job: report.job_name.clone(),
            source,
        })
}

/// What the writer thread hands back: the writer (to commit or abort), the
/// time it spent writing, and how writing ended.
struct Written {
    writer: DateReplaceWriter,
    time: Duration,
    result: Result<(), LakeError>,
}

/// Start writing batches sent on the returned channel on another thread; it
/// stops at the first error (the channel then closes) or when the channel is
/// dropped, and hands the writer back.
fn spawn_writer(
    mut writer: DateReplaceWriter,
) -> (
    tokio::sync::mpsc::Sender<arrow::array::RecordBatch>,
    tokio::task::JoinHandle<Written>,
) {
    // Two batches in flight: enough to overlap, bounded memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let task = tokio::spawn(async move {
        let mut time = Duration::ZERO;
        let mut result = Ok(());
        while let Some(batch) = rx.recv().await {
            let clock = Instant::now();
            result = writer.write(batch).await;
            time += clock.elapsed();
            if result.is_err() {
                break;
            }
        }
        Written {
            writer,
            time,
            result,
        }
    });
    (tx, task)
}

/// An error and its causes on one line, as the command line prints it: what
/// the `runs` table records.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

fn cancelled(opts: &RunOptions) -> bool {
    opts.cancel
        .as_ref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
}
