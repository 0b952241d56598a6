//! Running a job for one logical date, and recording it in the `runs` table.
//!
//! A run resolves its model reference once, at the start; checks the input
//! (files, columns, types) before writing anything; streams scored batches into
//! uncommitted files; and publishes them with one Delta commit that replaces
//! the date's previous predictions. Success or failure, the attempt is then
//! recorded in `runs`.

pub mod backfill;
pub mod drift_cmd;
pub mod drift_table;
pub mod reference;
pub mod runs;
pub mod status;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::drift::{ColumnKind, DriftAccumulator, PREDICTION, Thresholds};
use crate::lake::{DateReplaceWriter, Lake, LakeError};
use crate::registry::{Registry, RegistryError};
use crate::score::{InputPlan, Lineage, ScoreError, ScoreStream};
use crate::spec::{InputFormat, LoadedSpec};
use runs::RunRow;

/// Errors of a run; the variant tells the CLI which exit code applies.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("job {job}: {source}")]
    Registry {
        job: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("job {job}: {source}")]
    Score {
        job: String,
        #[source]
        source: ScoreError,
    },
    #[error("job {job}: {source}")]
    Lake {
        job: String,
        #[source]
        source: LakeError,
    },
    #[error("job {job}: {source}")]
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

impl RunError {
    /// Worth retrying: storage and commit trouble, not bad input or a bad model.
    pub fn is_transient(&self) -> bool {
        match self {
            RunError::Lake { source, .. } => !source.is_bad_input(),
            RunError::Registry { source, .. } => match &**source {
                RegistryError::Lake(e) => !e.is_bad_input(),
                RegistryError::Contended { .. } => true,
                _ => false,
            },
            RunError::Score { source, .. } => matches!(source, ScoreError::Output(_)),
            RunError::Reference { .. } | RunError::Input { .. } | RunError::Aborted { .. } => false,
        }
    }
}

/// How a run was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Manual,
    Schedule,
    Backfill,
    Rerun,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::Backfill => "backfill",
            Trigger::Rerun => "rerun",
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
        }
    }
}

/// What a run did (printed as `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub status: String,
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
}

/// One threshold breach.
#[derive(Debug, Clone, Serialize)]
pub struct DriftAlert {
    pub feature: String,
    pub metric: String,
    pub value: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
}

pub(crate) struct Resolved {
    /// `None` when an incremental input has no new rows.
    pub(crate) plan: Option<InputPlan>,
    pub(crate) input_version: Option<i64>,
    /// Incremental input: the version after which rows were read.
    pub(crate) input_start_version: Option<i64>,
}

/// Which Delta versions a run reads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InputRange {
    /// Read this version (else the spec's `version`, else the latest).
    pub(crate) version: Option<i64>,
    /// Incremental: only files appended after this version (`Some(None)`: all of them).
    pub(crate) after: Option<Option<i64>>,
}

/// The range a run of `date` reads: pinned by a rerun; for an incremental
/// input, the range of the date's last successful run (a rerun scores the same
/// rows), else everything after the job's last successful run.
pub(crate) async fn input_range(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
    pin: Option<&Pin>,
) -> Result<InputRange, RunError> {
    let job = &spec.job;
    if job.input.mode != crate::spec::InputMode::Incremental {
        return Ok(InputRange {
            version: pin.and_then(|p| p.input_version),
            after: None,
        });
    }
    if let Some(pin) = pin {
        return Ok(InputRange {
            version: pin.input_version,
            after: Some(pin.input_start_version),
        });
    }
    let runs = read_runs(lake).await.map_err(|source| RunError::Lake {
        job: job.name.clone(),
        source,
    })?;
    let (after, version) = runs::incremental_range(&runs, &job.name, days_since_epoch(date));
    Ok(InputRange {
        version,
        after: Some(after),
    })
}

/// Run `spec` for `opts.date` in `lake`.
pub async fn run(lake: &Lake, spec: &LoadedSpec, opts: &RunOptions) -> Result<RunReport, RunError> {
    let job = &spec.job;
    let run_id = uuid::Uuid::new_v4().to_string();
    let started = Utc::now();
    let clock = Instant::now();
    let mut report = RunReport {
        run_id: run_id.clone(),
        status: "failed".into(),
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
        output_table: lake
            .table_url(&job.output_table)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| job.output_table.clone()),
        output_version: None,
        files_added: 0,
        files_removed: 0,
        duration_ms: 0,
        drift_metrics: 0,
        drift_alerts: Vec::new(),
    };
    let mut row = RunRow {
        run_id: run_id.clone(),
        job_name: job.name.clone(),
        trigger: opts.trigger.as_str().into(),
        logical_date: days_since_epoch(opts.date),
        status: runs::RUNNING.into(),
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
        pid: Some(std::process::id() as i64),
    };
    let lake_err = |source| RunError::Lake {
        job: job.name.clone(),
        source,
    };
    let started_row = if opts.dry_run {
        None
    } else {
        Some(runs::start(lake, &row).await.map_err(lake_err)?)
    };
    let result = execute(lake, spec, opts, &mut report).await;
    report.duration_ms = clock.elapsed().as_millis() as i64;
    if opts.dry_run {
        return result.map(|_| report);
    }
    report.status = match &result {
        Ok(()) => runs::SUCCEEDED,
        Err(RunError::Aborted { .. }) => runs::ABORTED,
        Err(_) => runs::FAILED,
    }
    .into();
    row.status = report.status.clone();
    row.finished_at = Utc::now().timestamp_micros();
    row.duration_ms = report.duration_ms;
    row.rows_in = report.rows_in as i64;
    row.rows_out = report.rows as i64;
    row.model_name = (report.model_version > 0).then(|| report.model_name.clone());
    row.model_version = (report.model_version > 0).then_some(report.model_version);
    row.input_version = report.input_version;
    row.input_start_version = report.input_start_version;
    row.output_version = report.output_version;
    row.error = result.as_ref().err().map(|e| e.to_string());
    row.drift_alerts = report.drift_alerts.len() as i64;
    let recorded = runs::finish(lake, started_row, row).await;
    match (result, recorded) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(lake_err(e)),
        (Ok(()), Ok(())) => Ok(report),
    }
}

pub use runs::read_runs;

pub fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

async fn execute(
    lake: &Lake,
    spec: &LoadedSpec,
    opts: &RunOptions,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let job = &spec.job;
    let jname = || job.name.clone();
    let registry = Registry::new(lake.clone());
    let reference = match &opts.pin {
        Some(pin) => crate::registry::uri::ModelRef {
            name: job.model.name.clone(),
            selector: crate::registry::uri::ModelSelector::Version(pin.model_version),
        },
        None => job.model.clone(),
    };
    let resolved = registry
        .load_at(&reference, opts.model_as_of)
        .await
        .map_err(|source| RunError::Registry {
            job: jname(),
            source: Box::new(source),
        })?;
    report.model_version = resolved.version.record.version;
    tracing::info!(
        job = %job.name,
        model = %job.model,
        version = resolved.version.record.version,
        "resolved model"
    );
    let model = resolved.model.as_ref();

    let range = input_range(lake, spec, opts.date, opts.pin.as_ref()).await?;
    let Resolved {
        plan,
        input_version,
        input_start_version,
    } = resolve_input(
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
            report.status = "dry_run".into();
        }
        return Ok(());
    };
    report.input_files = plan.files.len();
    // The reference is read (and may fail) before anything is written.
    let profile = job_profile(lake, &registry, job, &resolved.version.record, model).await?;
    if opts.dry_run {
        report.status = "dry_run".into();
        return Ok(());
    }

    let table = lake
        .ensure_table(
            &job.output_table,
            &plan.output_schema,
            &["logical_date"],
            "lakescore predictions",
        )
        .await
        .map_err(|source| RunError::Lake {
            job: jname(),
            source,
        })?;
    let date = opts.date.to_string();
    let app_id = format!("lakescore/{}/{}", job.name, date);
    let mut writer = DateReplaceWriter::start(table, "logical_date", &date, app_id)
        .await
        .map_err(|source| RunError::Lake {
            job: jname(),
            source,
        })?;

    let mut drift = profile.as_ref().map(|p| {
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
        DriftAccumulator::new(p, names, &thresholds(job))
    });
    if drift.is_none() {
        tracing::info!(job = %job.name, "model version has no reference profile: drift is not computed");
    }

    let lineage = Lineage {
        model_name: resolved.version.record.name.clone(),
        model_version: resolved.version.record.version,
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
    let mut rows = 0usize;
    loop {
        // polars hands batches over a blocking channel; keep the runtime free meanwhile.
        let next = tokio::task::block_in_place(|| stream.next());
        let Some(scored) = next else { break };
        let scored = match scored {
            Ok(b) => b,
            Err(source) => {
                writer.abort();
                return Err(RunError::Score {
                    job: jname(),
                    source,
                });
            }
        };
        if let Some(acc) = &mut drift
            && let Err(source) = track_drift(acc, model, &scored)
        {
            writer.abort();
            return Err(RunError::Score {
                job: jname(),
                source,
            });
        }
        let batch = scored.output.expect("the stream has lineage");
        rows += batch.num_rows();
        if let Err(source) = writer.write(batch).await {
            writer.abort();
            return Err(RunError::Lake {
                job: jname(),
                source,
            });
        }
        if let Some(progress) = &opts.progress {
            progress(rows);
        }
        if cancelled(opts) {
            writer.abort();
            return Err(RunError::Aborted { job: jname() });
        }
    }
    if cancelled(opts) {
        writer.abort();
        return Err(RunError::Aborted { job: jname() });
    }
    report.rows_in = stream.rows_in;
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
    let (outcome, _) = writer.commit(meta).await.map_err(|source| RunError::Lake {
        job: jname(),
        source,
    })?;
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
        let metrics = acc.finish(&thresholds(job));
        let ctx = drift_table::DriftContext {
            run_id: &report.run_id,
            job_name: &job.name,
            logical_date: days_since_epoch(opts.date),
            model_name: &report.model_name,
            model_version: report.model_version,
        };
        let rows = drift_table::rows(&ctx, &metrics);
        drift_table::append(lake, &rows)
            .await
            .map_err(|source| RunError::Lake {
                job: jname(),
                source,
            })?;
        report.drift_metrics = rows.len();
        report.drift_alerts = metrics
            .iter()
            .filter(|m| m.alert)
            .map(|m| DriftAlert {
                feature: m.feature.clone(),
                metric: m.metric.clone(),
                value: m.value,
                p_value: m.p_value,
                threshold: m.threshold,
            })
            .collect();
    }
    Ok(())
}

fn cancelled(opts: &RunOptions) -> bool {
    opts.cancel
        .as_ref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
}

/// The reference profile drift compares with: the spec's `[drift]
/// reference_window` (a window of the job's own output), or its `reference`
/// (profiled now with this model), else the version's registered profile.
pub(crate) async fn job_profile(
    lake: &Lake,
    registry: &Registry,
    job: &crate::spec::Job,
    version: &crate::registry::records::ModelVersionRow,
    model: &dyn crate::model::Model,
) -> Result<Option<crate::drift::ReferenceProfile>, RunError> {
    let reference_err = |source| RunError::Reference {
        job: job.name.clone(),
        source: Box::new(source),
    };
    if let Some((from, to)) = job.drift.as_ref().and_then(|d| d.reference_window) {
        let profile = reference::window_profile(lake, &job.output_table, &job.input.keys, from, to)
            .await
            .map_err(reference_err)?;
        if profile.is_none() {
            tracing::warn!(job = %job.name, %from, %to, "the reference window holds no predictions yet: drift is not computed");
        }
        return Ok(profile);
    }
    match job.drift.as_ref().and_then(|d| d.reference.as_deref()) {
        Some(reference) => reference::build_profile(reference, model)
            .await
            .map(Some)
            .map_err(|source| RunError::Reference {
                job: job.name.clone(),
                source: Box::new(source),
            }),
        None => registry
            .load_profile(version)
            .await
            .map_err(|source| RunError::Registry {
                job: job.name.clone(),
                source: Box::new(source),
            }),
    }
}

/// Feed one scored batch to the drift accumulator: model inputs from the
/// feature matrix, the prediction, and monitored columns from the input batch.
fn track_drift(
    acc: &mut DriftAccumulator<'_>,
    model: &dyn crate::model::Model,
    scored: &crate::score::Scored,
) -> Result<(), ScoreError> {
    // Model inputs and the prediction are already f64 columns: count them in
    // parallel; monitored input columns are extracted from the batch first.
    let mut extracted: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut direct: Vec<(usize, &[f64])> = Vec::new();
    for i in 0..acc.names().len() {
        let name = &acc.names()[i];
        if name == PREDICTION {
            direct.push((i, &scored.predictions));
        } else if let Some(f) = model.features().iter().position(|f| f == name) {
            direct.push((i, &scored.features.columns[f]));
        } else {
            match acc.kind(i) {
                ColumnKind::Numeric => {
                    extracted.push((i, crate::score::numeric_values(&scored.frame, name)?));
                }
                ColumnKind::Categorical => {
                    let values = crate::score::string_values(&scored.frame, name)?;
                    acc.push_categorical(i, values.iter());
                }
            }
        }
    }
    direct.extend(extracted.iter().map(|(i, v)| (*i, v.as_slice())));
    acc.push_numeric_many(&direct, drift_threads());
    Ok(())
}

/// Threads for drift counting: the machine's parallelism (`LAKESCORE_DRIFT_THREADS` overrides).
pub fn drift_threads() -> usize {
    std::env::var("LAKESCORE_DRIFT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1)
}

/// Alert thresholds of a job: its `[drift]` table, or the defaults.
pub fn thresholds(job: &crate::spec::Job) -> Thresholds {
    job.drift
        .as_ref()
        .map(|d| d.thresholds.clone())
        .unwrap_or_default()
}

pub(crate) async fn resolve_input(
    spec: &LoadedSpec,
    date: NaiveDate,
    inputs: &crate::score::ModelInputs,
    range: InputRange,
) -> Result<Resolved, RunError> {
    let features = &inputs.features;
    let job = &spec.job;
    let input = job.input.path_for(date);
    let score_err = |source| RunError::Score {
        job: job.name.clone(),
        source,
    };
    let (files, input_version): (Vec<PathBuf>, Option<i64>) = match job.input.format {
        InputFormat::Parquet => (crate::score::expand_glob(&input).map_err(score_err)?, None),
        InputFormat::Delta => {
            let url =
                crate::lake::location_to_url(&input, None).map_err(|source| RunError::Lake {
                    job: job.name.clone(),
                    source,
                })?;
            let table = match range.version.or(job.input.version) {
                None => crate::lake::Table::open(url, None).await,
                Some(v) => crate::lake::Table::open(url, Some(v)).await,
            }
            .map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?
            .ok_or_else(|| RunError::Input {
                job: job.name.clone(),
                input: input.clone(),
                message: "no Delta table there".into(),
            })?;
            let partitions = table.partition_columns().map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?;
            let needed: Vec<&String> = features.iter().chain(&job.input.keys).collect();
            if let Some(p) = partitions.iter().find(|p| needed.contains(p)) {
                return Err(RunError::Input {
                    job: job.name.clone(),
                    input,
                    message: format!(
                        "column {p:?} is a partition column; scoring partition columns is not supported yet"
                    ),
                });
            }
            let files = match range.after {
                None => table.data_files().await,
                Some(after) => table.appended_files_since(after).await,
            }
            .map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?;
            if files.is_empty() && range.after.is_some() {
                return Ok(Resolved {
                    plan: None,
                    input_version: Some(table.version()),
                    input_start_version: range.after.flatten(),
                });
            }
            let mut paths = Vec::with_capacity(files.len());
            for f in files {
                match f.local_path() {
                    Some(p) => paths.push(p),
                    None => {
                        return Err(RunError::Input {
                            job: job.name.clone(),
                            input,
                            message: format!(
                                "file {} is not on the local filesystem; remote Delta inputs are not supported yet",
                                f.uri
                            ),
                        });
                    }
                }
            }
            if paths.is_empty() {
                return Err(score_err(ScoreError::NoInput { pattern: input }));
            }
            (paths, Some(table.version()))
        }
    };
    let monitored = job
        .drift
        .as_ref()
        .map(|d| d.columns.clone())
        .unwrap_or_default();
    let plan = InputPlan::inspect(
        &input,
        files,
        &job.input.keys,
        &monitored,
        inputs,
        job.input.batch_rows,
    )
    .map_err(score_err)?;
    Ok(Resolved {
        plan: Some(plan),
        input_version,
        input_start_version: range.after.flatten(),
    })
}
