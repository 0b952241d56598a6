//! `lakescore status`: for each job spec, its last run, next fire time and the
//! model version its reference resolves to now.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use lakescore_core::runs::{RunStatus, Trigger, date_from_days};
use lakescore_core::spec::SpecError;
use lakescore_lake::{Lake, LakeError};

use crate::registry::{Registry, resolve_in};

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub path: String,
    pub job_name: Option<String>,
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub suspended: bool,
    pub next_fire: Option<DateTime<Utc>>,
    pub last_run: Option<LastRun>,
    pub model_uri: Option<String>,
    /// The version the model reference resolves to now.
    pub model_version: Option<i64>,
    /// Why the spec or its model reference is unusable.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub run_id: String,
    pub logical_date: NaiveDate,
    pub status: RunStatus,
    pub trigger: Trigger,
    pub started_at: i64,
    pub model_version: Option<i64>,
    pub rows: i64,
    pub duration_ms: i64,
    /// Drift alerts this run raised: open until a later run of the job
    /// raises none.
    pub drift_alerts: i64,
}

/// The status of every spec in `paths` (files, or folders of `*.toml`) at `now`.
pub async fn status(
    lake: &Lake,
    paths: &[PathBuf],
    now: DateTime<Utc>,
) -> Result<Vec<JobStatus>, SpecError> {
    let files = crate::specs::spec_files(paths)?;
    let runs = super::read_runs(lake).await.unwrap_or_else(|e: LakeError| {
        tracing::warn!(error = %e, "cannot read the runs table");
        Vec::new()
    });
    let registry = Registry::new(lake.clone());
    let state = registry.state().await.ok();
    let mut out = Vec::new();
    for path in files {
        let mut st = JobStatus {
            path: path.display().to_string(),
            job_name: None,
            schedule: None,
            timezone: None,
            suspended: false,
            next_fire: None,
            last_run: None,
            model_uri: None,
            model_version: None,
            error: None,
        };
        let spec = match crate::specs::load(&path) {
            Ok(s) => s,
            Err(e) => {
                st.error = Some(e.to_string());
                out.push(st);
                continue;
            }
        };
        let job = &spec.job;
        st.job_name = Some(job.name.clone());
        st.schedule = job.schedule.as_ref().map(ToString::to_string);
        st.timezone = Some(job.timezone.to_string());
        st.suspended = job.policy.suspend;
        st.model_uri = Some(job.model.to_string());
        st.next_fire = job.next_fire(now);
        st.last_run = runs
            .iter()
            .filter(|r| r.job_name == job.name)
            .max_by_key(|r| r.started_at)
            .map(|r| LastRun {
                run_id: r.run_id.clone(),
                logical_date: date_from_days(r.logical_date),
                status: r.status,
                trigger: r.trigger,
                started_at: r.started_at,
                model_version: r.model_version,
                rows: r.rows_out,
                duration_ms: r.duration_ms,
                drift_alerts: r.drift_alerts,
            });
        match state.as_ref().map(|s| resolve_in(s, &job.model)) {
            Some(Ok(v)) => st.model_version = Some(v.record.version),
            Some(Err(e)) => st.error = Some(super::error_chain(&e)),
            None => st.error = Some("cannot read the registry".into()),
        }
        out.push(st);
    }
    Ok(out)
}
