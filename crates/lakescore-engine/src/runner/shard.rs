//! Sharded runs, as Spark's driver and executors do it: [`plan`] pins the
//! model version and the input once and assigns the input files to N shards;
//! each shard ([`super::run`] with a [`ShardTask`]) scores its files into
//! uncommitted Parquet files and writes a manifest (its `add` actions, row
//! counts and drift counts); [`commit`] checks that every shard reported with
//! the planned version, adds up the drift counts (exactly the single-process
//! result: they are sums) and publishes the date in ONE Delta commit.
//!
//! An attempt lives under `_lakescore/attempts/JOB/DATE/ATTEMPT/` in the
//! lake: `plan.json`, then `shard-00000.json` ... A shard retried (Kubernetes
//! replaces a failed pod with the same index) overwrites its own manifest;
//! the files of its earlier try are never committed and `maintain` vacuums
//! them. A commit retried after it published is recognised by its run id in
//! the table's history and does nothing more. A commit whose date moved
//! since the plan (another attempt or run committed it), or whose attempt a
//! newer plan superseded, writes nothing.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use lakescore_core::drift::{AccumulatorState, DriftAccumulator, MetricKind};
use lakescore_core::runs::{RunRow, RunStatus, Trigger, days_since_epoch, millis};
use lakescore_core::spec::{InputMode, LoadedSpec};
use lakescore_lake::{DateReplaceWriter, Lake, LakeError};
use serde::{Deserialize, Serialize};

use super::{DriftAlert, Pin, RunError, RunReport, drift, drift_table, input, runs};
use crate::registry::Registry;

/// Where a job's attempts are recorded in the lake.
pub const ATTEMPTS_DIR: &str = "_lakescore/attempts";
/// The most shards an attempt may have.
pub const MAX_SHARDS: usize = 10_000;

/// What `plan` records: everything the shards and the commit hold fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptPlan {
    pub attempt: String,
    pub job_name: String,
    pub logical_date: String,
    pub shards: usize,
    pub model_name: String,
    pub model_version: i64,
    pub input: String,
    pub input_version: Option<i64>,
    pub input_start_version: Option<i64>,
    /// Per shard, the input files it scores (round-robin over the sorted list).
    pub files: Vec<Vec<String>>,
    /// The `(job, date)` transaction version of the output table when planned.
    pub base_txn: Option<i64>,
    /// The `runs` file holding the attempt's `running` row (replaced by the commit).
    pub run_files: Vec<String>,
    pub spec_sha256: String,
    /// Microseconds since the epoch, UTC.
    pub planned_at: i64,
}

/// What one shard reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub attempt: String,
    pub shard: usize,
    pub model_name: String,
    pub model_version: i64,
    pub input_files: usize,
    pub rows_in: usize,
    pub rows: usize,
    /// The Delta `add` actions of its uncommitted files.
    pub adds: Vec<serde_json::Value>,
    /// Its drift counts (none without a reference profile or input rows).
    pub drift: Option<AccumulatorState>,
    pub host: String,
    pub pid: i64,
    pub finished_at: i64,
}

/// A shard of a planned attempt, for [`super::run`].
#[derive(Debug, Clone)]
pub struct ShardTask {
    pub plan: AttemptPlan,
    pub index: usize,
}

impl ShardTask {
    /// What a shard holds fixed, as a rerun's pin does.
    pub(crate) fn pin(&self) -> Pin {
        Pin {
            rerun_of: self.plan.attempt.clone(),
            model_version: self.plan.model_version,
            input_version: self.plan.input_version,
            input_start_version: self.plan.input_start_version,
        }
    }

    pub(crate) fn files(&self) -> &[String] {
        &self.plan.files[self.index]
    }
}

fn attempt_dir(job: &str, date: &str, attempt: &str) -> String {
    format!("{ATTEMPTS_DIR}/{job}/{date}/{attempt}")
}

fn manifest_path(plan: &AttemptPlan, shard: usize) -> String {
    format!(
        "{}/shard-{shard:05}.json",
        attempt_dir(&plan.job_name, &plan.logical_date, &plan.attempt)
    )
}

/// What `plan` printed (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub attempt: String,
    pub shards: usize,
    pub model_name: String,
    pub model_version: i64,
    pub job_name: String,
    pub logical_date: String,
    pub input_files: usize,
    /// Input files per shard.
    pub files_per_shard: Vec<usize>,
}

fn input_err(spec: &LoadedSpec, message: String) -> RunError {
    RunError::Input {
        job: spec.job.name.clone(),
        input: spec.job.input.path.clone(),
        message,
    }
}

/// Plan a sharded run of `spec` for `date` over `shards` shards.
pub async fn plan(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
    shards: usize,
    trigger: Trigger,
) -> Result<PlanReport, RunError> {
    let job = &spec.job;
    let lake_err = |source| RunError::Lake {
        job: job.name.clone(),
        source,
    };
    if shards == 0 || shards > MAX_SHARDS {
        return Err(input_err(
            spec,
            format!("--shards {shards}: a run has 1 to {MAX_SHARDS} shards"),
        ));
    }
    if job.input.scored.is_some() {
        return Err(input_err(
            spec,
            "an input scored already (model_version_column) is compared, not scored: run it in one process".into(),
        ));
    }
    let thresholds = drift::thresholds(job);
    if job.drift.is_some()
        && thresholds
            .metrics
            .iter()
            .any(|m| matches!(m, MetricKind::Wasserstein | MetricKind::WassersteinNorm))
    {
        return Err(input_err(
            spec,
            "wasserstein needs the window's values, which shards cannot add up exactly: drop it from [drift] metrics to shard this job".into(),
        ));
    }
    let registry = Registry::new(lake.clone());
    let resolved = registry
        .load(&job.model)
        .await
        .map_err(|source| RunError::Registry {
            job: job.name.clone(),
            source: Box::new(source),
        })?;
    let model = resolved.model.as_ref();
    let range = input::input_range(lake, spec, date, None).await?;
    let resolved_input = input::resolve_input(
        lake,
        spec,
        date,
        &crate::score::ModelInputs::of(model),
        range,
    )
    .await?;
    // The reference is read (and may fail) before anything is recorded.
    drift::job_profile(lake, job, &resolved.version.record, model).await?;
    let files: Vec<String> = resolved_input
        .plan
        .as_ref()
        .map(|p| p.files.locations().to_vec())
        .unwrap_or_default();
    let mut assigned = vec![Vec::new(); shards];
    for (i, f) in files.iter().enumerate() {
        assigned[i % shards].push(f.clone());
    }
    let ds = date.to_string();
    let app_id = format!("lakescore/{}/{}", job.name, ds);
    let base_txn = match lake.open_table(&job.output_table).await.map_err(lake_err)? {
        Some(t) => t.transaction_version(&app_id).await.map_err(lake_err)?,
        None => None,
    };
    let now = Utc::now();
    let mut plan = AttemptPlan {
        attempt: uuid::Uuid::new_v4().to_string(),
        job_name: job.name.clone(),
        logical_date: ds.clone(),
        shards,
        model_name: resolved.version.record.name.clone(),
        model_version: resolved.version.record.version,
        input: job.input.path_for(date),
        input_version: resolved_input.input_version,
        input_start_version: if job.input.mode == InputMode::Incremental {
            resolved_input.input_start_version
        } else {
            None
        },
        files: assigned,
        base_txn,
        run_files: Vec::new(),
        spec_sha256: spec.sha256.clone(),
        planned_at: now.timestamp_micros(),
    };
    let mut row = row_from_plan(lake, &plan, spec, date);
    row.trigger = trigger;
    let started = runs::start(lake, &row).await.map_err(lake_err)?;
    plan.run_files = started.files().to_vec();
    let attempt = plan.attempt.clone();
    let bytes = serde_json::to_vec_pretty(&plan).expect("a plan serializes");
    lake.put_object(
        &format!("{}/plan.json", attempt_dir(&job.name, &ds, &attempt)),
        bytes,
    )
    .await
    .map_err(lake_err)?;
    Ok(PlanReport {
        attempt,
        shards,
        model_name: plan.model_name.clone(),
        model_version: plan.model_version,
        job_name: job.name.clone(),
        logical_date: ds,
        input_files: files.len(),
        files_per_shard: plan.files.iter().map(Vec::len).collect(),
    })
}

/// Read the plan of `attempt` for `spec` and `date`; an attempt that is not
/// there (or that another job or date planned) is bad input.
pub async fn load_plan(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
    attempt: &str,
) -> Result<AttemptPlan, RunError> {
    let job = &spec.job;
    let ds = date.to_string();
    let path = format!("{}/plan.json", attempt_dir(&job.name, &ds, attempt));
    let bytes = lake
        .get_object_opt(&path)
        .await
        .map_err(|source| RunError::Lake {
            job: job.name.clone(),
            source,
        })?
        .ok_or_else(|| {
            input_err(
                spec,
                format!(
                    "no attempt {attempt} was planned for job {} and date {ds} in this lake (`lakescore plan` prints the attempt id)",
                    job.name
                ),
            )
        })?;
    let plan: AttemptPlan = serde_json::from_slice(&bytes).map_err(|e| {
        input_err(
            spec,
            format!("attempt {attempt}: {path} does not parse: {e}"),
        )
    })?;
    if plan.spec_sha256 != spec.sha256 {
        return Err(input_err(
            spec,
            format!(
                "attempt {attempt} was planned with another version of this spec (sha256 {}); plan again",
                plan.spec_sha256
            ),
        ));
    }
    Ok(plan)
}

/// Record shard `task.index`'s manifest (replacing one of an earlier try).
pub(crate) async fn write_manifest(
    lake: &Lake,
    task: &ShardTask,
    manifest: &ShardManifest,
) -> Result<(), LakeError> {
    let bytes = serde_json::to_vec(manifest).expect("a manifest serializes");
    lake.put_object(&manifest_path(&task.plan, task.index), bytes)
        .await
}

/// Why a commit did not publish.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("job {job}: attempt {attempt}: shard {shard} of {shards} has not reported (no {path})")]
    MissingShard {
        job: String,
        attempt: String,
        shard: usize,
        shards: usize,
        path: String,
    },
    #[error(
        "job {job}: attempt {attempt}: shard {shard} scored with {model} version {found}, but the plan pinned version {planned}"
    )]
    Mismatch {
        job: String,
        attempt: String,
        shard: usize,
        model: String,
        found: i64,
        planned: i64,
    },
    #[error("job {job}: attempt {attempt}: {reason}; this commit wrote nothing")]
    Superseded {
        job: String,
        attempt: String,
        reason: String,
    },
    #[error("job {job}: attempt {attempt}: shard {shard}'s manifest")]
    Manifest {
        job: String,
        attempt: String,
        shard: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("job {job}: attempt {attempt}: shard {shard}'s drift counts")]
    Drift {
        job: String,
        attempt: String,
        shard: usize,
        #[source]
        source: lakescore_core::drift::MergeError,
    },
    #[error(transparent)]
    Run(#[from] RunError),
}

impl lakescore_core::Classify for CommitError {
    /// A shard missing or mismatched, or an attempt superseded, is a failure
    /// of the run (exit 1: the orchestrator retries the shard or plans again).
    fn class(&self) -> lakescore_core::ErrorClass {
        match self {
            CommitError::Run(e) => e.class(),
            _ => lakescore_core::ErrorClass::Failure,
        }
    }
}

/// What a commit did (`--json`): the run's report, plus its shards.
#[derive(Debug, Clone, Serialize)]
pub struct CommitReport {
    #[serde(flatten)]
    pub run: RunReport,
    pub attempt: String,
    pub shards: usize,
    /// Rows each shard scored.
    pub shard_rows: Vec<usize>,
    /// True when an earlier try of this commit had published the date already.
    pub already_committed: bool,
    /// How often the Delta commit was re-planned because another writer of
    /// the table committed first.
    pub commit_retries: usize,
}

/// Publish `attempt`'s shards as the date's predictions in one commit.
#[allow(clippy::too_many_lines)]
pub async fn commit(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
    attempt: &str,
) -> Result<CommitReport, CommitError> {
    let clock = Instant::now();
    let job = &spec.job;
    let jname = || job.name.clone();
    let lake_err = |source| RunError::Lake {
        job: jname(),
        source,
    };
    let plan = load_plan(lake, spec, date, attempt).await?;
    let ds = plan.logical_date.clone();
    // A newer plan of the same job and date supersedes this one.
    let plans = lake
        .list_objects(&format!("{ATTEMPTS_DIR}/{}/{ds}/", job.name))
        .await
        .map_err(lake_err)?;
    for other in plans.iter().filter(|k| k.ends_with("/plan.json")) {
        if other.contains(&plan.attempt) {
            continue;
        }
        let Some(bytes) = lake.get_object_opt(other).await.map_err(lake_err)? else {
            continue;
        };
        if let Ok(newer) = serde_json::from_slice::<AttemptPlan>(&bytes)
            && newer.planned_at > plan.planned_at
        {
            return Err(CommitError::Superseded {
                job: jname(),
                attempt: plan.attempt.clone(),
                reason: format!("attempt {} planned this date later", newer.attempt),
            });
        }
    }
    let registry = Registry::new(lake.clone());
    let reference = lakescore_core::uri::ModelRef {
        name: plan.model_name.clone(),
        selector: lakescore_core::uri::ModelSelector::Version(plan.model_version),
    };
    let resolved = registry
        .load(&reference)
        .await
        .map_err(|source| RunError::Registry {
            job: jname(),
            source: Box::new(source),
        })?;
    let profile =
        drift::job_profile(lake, job, &resolved.version.record, resolved.model.as_ref()).await?;
    let thresholds = drift::thresholds(job);
    // Each manifest is merged as it is read: one is in memory at a time.
    let mut accumulator: Option<DriftAccumulator<'_>> = None;
    let (mut rows, mut rows_in, mut input_files) = (0usize, 0usize, 0usize);
    let mut shard_rows = Vec::with_capacity(plan.shards);
    let mut adds: Vec<serde_json::Value> = Vec::new();
    for shard in 0..plan.shards {
        let path = manifest_path(&plan, shard);
        let bytes = lake
            .get_object_opt(&path)
            .await
            .map_err(lake_err)?
            .ok_or_else(|| CommitError::MissingShard {
                job: jname(),
                attempt: plan.attempt.clone(),
                shard,
                shards: plan.shards,
                path: path.clone(),
            })?;
        let m: ShardManifest =
            serde_json::from_slice(&bytes).map_err(|source| CommitError::Manifest {
                job: jname(),
                attempt: plan.attempt.clone(),
                shard,
                source,
            })?;
        if m.model_version != plan.model_version
            || m.model_name != plan.model_name
            || m.attempt != plan.attempt
        {
            return Err(CommitError::Mismatch {
                job: jname(),
                attempt: plan.attempt.clone(),
                shard,
                model: m.model_name,
                found: m.model_version,
                planned: plan.model_version,
            });
        }
        if let (Some(p), Some(state)) = (profile.as_ref(), &m.drift) {
            let acc = accumulator.get_or_insert_with(|| {
                DriftAccumulator::with_threads(
                    p,
                    state.names.clone(),
                    &thresholds,
                    drift::drift_threads(),
                )
            });
            acc.merge(state).map_err(|source| CommitError::Drift {
                job: jname(),
                attempt: plan.attempt.clone(),
                shard,
                source,
            })?;
        }
        rows += m.rows;
        rows_in += m.rows_in;
        input_files += m.input_files;
        shard_rows.push(m.rows);
        adds.extend(m.adds);
    }
    let mut report = RunReport {
        run_id: plan.attempt.clone(),
        status: RunStatus::Succeeded,
        job_name: jname(),
        logical_date: ds.clone(),
        dry_run: false,
        model_uri: job.model.to_string(),
        model_name: plan.model_name.clone(),
        model_version: plan.model_version,
        input: plan.input.clone(),
        input_files,
        input_version: plan.input_version,
        input_start_version: plan.input_start_version,
        rows_in,
        rows,
        output_table: lake
            .table_url(&job.output_table)
            .map_or_else(|_| job.output_table.clone(), |u| u.to_string()),
        output_version: None,
        files_added: adds.len(),
        files_removed: 0,
        duration_ms: 0,
        drift_metrics: 0,
        drift_alerts: Vec::new(),
        timings: lakescore_core::runs::PhaseTimings::default(),
        rows_per_second: None,
    };
    let app_id = format!("lakescore/{}/{ds}", job.name);
    let mut already_committed = false;
    let mut commit_retries = 0;
    if rows > 0 || !adds.is_empty() {
        let table = lake
            .open_table(&job.output_table)
            .await
            .map_err(lake_err)?
            .ok_or_else(|| CommitError::Superseded {
                job: jname(),
                attempt: plan.attempt.clone(),
                reason: format!(
                    "the output table {} is not there any more",
                    job.output_table
                ),
            })?;
        let txn_now = table.transaction_version(&app_id).await.map_err(lake_err)?;
        if txn_now != plan.base_txn {
            if table
                .committed_with("lakescore.run_id", &plan.attempt, 1000)
                .await
                .map_err(lake_err)?
            {
                already_committed = true;
            } else {
                return Err(CommitError::Superseded {
                    job: jname(),
                    attempt: plan.attempt.clone(),
                    reason: "another run of the same job and date committed after this attempt was planned".into(),
                });
            }
        }
        if !already_committed {
            let meta = HashMap::from([
                ("lakescore.run_id".to_string(), plan.attempt.clone().into()),
                ("lakescore.job".to_string(), jname().into()),
                ("lakescore.logical_date".to_string(), ds.clone().into()),
                (
                    "lakescore.model_name".to_string(),
                    plan.model_name.clone().into(),
                ),
                (
                    "lakescore.model_version".to_string(),
                    plan.model_version.into(),
                ),
                ("lakescore.shards".to_string(), plan.shards.into()),
            ]);
            let writer = DateReplaceWriter::start(table, "logical_date", &ds, app_id)
                .await
                .map_err(lake_err)?;
            crate::failpoints::crash_point!("commit.before_commit");
            let (outcome, _) = writer
                .commit_files(plan.base_txn, &adds, rows, meta)
                .await
                .map_err(lake_err)?;
            report.output_version = Some(outcome.version);
            report.files_removed = outcome.files_removed;
            commit_retries = outcome.retries;
            crate::failpoints::crash_point!("commit.after_commit");
        }
    }
    // A retried commit whose first try recorded everything has nothing left to do.
    let recorded = runs::read_runs(lake)
        .await
        .map_err(lake_err)?
        .into_iter()
        .find(|r| r.run_id == plan.attempt);
    if already_committed
        && recorded
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Succeeded)
    {
        let r = recorded.expect("checked");
        report.output_version = r.output_version;
        report.duration_ms = r.duration_ms;
        return Ok(CommitReport {
            shard_rows: shard_rows.clone(),
            run: report,
            attempt: plan.attempt.clone(),
            shards: plan.shards,
            already_committed,
            commit_retries,
        });
    }
    if let Some(acc) = accumulator {
        let (metrics, histograms) = acc.finish_with_histograms(&thresholds);
        let ctx = drift_table::DriftContext {
            run_id: &plan.attempt,
            job_name: &job.name,
            logical_date: days_since_epoch(date),
            model_name: &plan.model_name,
            model_version: plan.model_version,
        };
        let (written, alerts): (usize, Vec<DriftAlert>) =
            drift::record(lake, &ctx, &metrics, &histograms)
                .await
                .map_err(lake_err)?;
        report.drift_metrics = written;
        report.drift_alerts = alerts;
    }
    let started_at = recorded.as_ref().map_or(plan.planned_at, |r| r.started_at);
    let now = Utc::now().timestamp_micros();
    report.duration_ms = (now - started_at) / 1000;
    report.timings.commit_ms = millis(clock.elapsed());
    let row = RunRow {
        status: RunStatus::Succeeded,
        finished_at: now,
        duration_ms: report.duration_ms,
        rows_in: rows_in as i64,
        rows_out: rows as i64,
        output_version: report.output_version,
        drift_alerts: report.drift_alerts.len() as i64,
        commit_ms: Some(report.timings.commit_ms),
        shards: Some(plan.shards as i64),
        ..recorded.unwrap_or_else(|| row_from_plan(lake, &plan, spec, date))
    };
    let started = runs::resume(lake, plan.run_files.clone())
        .await
        .map_err(lake_err)?;
    runs::finish(lake, Some(started), row)
        .await
        .map_err(lake_err)?;
    Ok(CommitReport {
        shard_rows,
        run: report,
        attempt: plan.attempt,
        shards: plan.shards,
        already_committed,
        commit_retries,
    })
}

/// The attempt's `running` row, from its plan: what `plan` records, and what
/// `commit` finishes should that row not read back.
fn row_from_plan(lake: &Lake, plan: &AttemptPlan, spec: &LoadedSpec, date: NaiveDate) -> RunRow {
    RunRow {
        run_id: plan.attempt.clone(),
        job_name: plan.job_name.clone(),
        trigger: Trigger::Manual,
        logical_date: days_since_epoch(date),
        status: RunStatus::Running,
        started_at: plan.planned_at,
        finished_at: plan.planned_at,
        duration_ms: 0,
        rows_in: 0,
        rows_out: 0,
        model_uri: spec.job.model.to_string(),
        model_name: Some(plan.model_name.clone()),
        model_version: Some(plan.model_version),
        input: plan.input.clone(),
        input_version: plan.input_version,
        output_table: lake
            .table_url(&spec.job.output_table)
            .map_or_else(|_| spec.job.output_table.clone(), |u| u.to_string()),
        output_version: None,
        spec_path: spec.path.display().to_string(),
        spec_sha256: spec.sha256.clone(),
        spec_toml: spec.text.clone(),
        lakescore_version: env!("CARGO_PKG_VERSION").into(),
        error: None,
        drift_alerts: 0,
        scheduled_at: None,
        rerun_of: None,
        input_start_version: plan.input_start_version,
        host: Some(runs::host_name()),
        pid: Some(i64::from(std::process::id())),
        resolve_ms: None,
        read_ms: None,
        score_ms: None,
        drift_ms: None,
        write_ms: None,
        commit_ms: None,
        rows_per_second: None,
        shards: Some(plan.shards as i64),
    }
}
