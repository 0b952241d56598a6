//! The `runs` table: one row per run attempt.
//!
//! An attempt appends a `running` row when it starts (its own data file) and,
//! when it ends, replaces that file with the final row (`succeeded`, `failed`,
//! `aborted`) in one commit: a reader sees one row per attempt, and an attempt
//! killed with `kill -9` stays visible as `running`. Once a later attempt of the
//! same job and date exists, [`read_runs`] reports such a row as `interrupted`.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::lake::{Lake, LakeError};

pub const RUNS_TABLE: &str = "runs";

/// One run attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: String,
    pub job_name: String,
    /// `manual`, `schedule`, `backfill`, `rerun`.
    pub trigger: String,
    /// Days since 1970-01-01.
    pub logical_date: i32,
    /// `running`, `succeeded`, `failed`, `aborted` (stopped by the scheduler's
    /// shutdown), or, as read back, `interrupted` (killed while running).
    pub status: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub duration_ms: i64,
    pub rows_in: i64,
    pub rows_out: i64,
    pub model_uri: String,
    pub model_name: Option<String>,
    pub model_version: Option<i64>,
    pub input: String,
    pub input_version: Option<i64>,
    pub output_table: String,
    pub output_version: Option<i64>,
    pub spec_path: String,
    pub spec_sha256: String,
    /// The spec's full text, so a run can be reproduced exactly.
    pub spec_toml: String,
    pub lakescore_version: String,
    pub error: Option<String>,
    /// Drift metrics over their alert threshold.
    pub drift_alerts: i64,
    /// The fire time a scheduled run was started for (microseconds, UTC).
    #[serde(default)]
    pub scheduled_at: Option<i64>,
    /// The run this one reproduces (`rerun`).
    #[serde(default)]
    pub rerun_of: Option<String>,
    /// Incremental Delta input: rows committed after this version (exclusive)
    /// up to `input_version` were scored.
    #[serde(default)]
    pub input_start_version: Option<i64>,
    /// Where the attempt ran (host name and process id).
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub pid: Option<i64>,
}

pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const ABORTED: &str = "aborted";
pub const INTERRUPTED: &str = "interrupted";

/// The `running` row of an attempt in progress: where it is stored.
#[derive(Debug)]
pub struct Started {
    files: Vec<String>,
}

async fn runs_table(lake: &Lake) -> Result<crate::lake::Table, LakeError> {
    lake.ensure_table(RUNS_TABLE, &runs_schema(), &[], "lakescore runs")
        .await
}

fn commit_meta(row: &RunRow) -> HashMap<String, serde_json::Value> {
    HashMap::from([
        ("lakescore.operation".to_string(), "run".into()),
        ("lakescore.run_id".to_string(), row.run_id.clone().into()),
        ("lakescore.status".to_string(), row.status.clone().into()),
    ])
}

/// Record that an attempt started (`row.status` is `running`).
pub async fn start(lake: &Lake, row: &RunRow) -> Result<Started, LakeError> {
    let mut table = runs_table(lake).await?;
    let files = table
        .append_rows_tracked(std::slice::from_ref(row), commit_meta(row))
        .await?;
    Ok(Started { files })
}

/// Record how an attempt ended: its `running` row is replaced by `row` in one commit.
pub async fn finish(lake: &Lake, started: Option<Started>, row: RunRow) -> Result<(), LakeError> {
    let mut table = runs_table(lake).await?;
    let files = started.map(|s| s.files).unwrap_or_default();
    let predicate = format!("run_id = '{}'", row.run_id);
    let meta = commit_meta(&row);
    table
        .replace_rows(&files, std::slice::from_ref(&row), meta, predicate)
        .await
        .map(|_| ())
}

/// Every recorded attempt, oldest first; a `running` row with a later attempt
/// of the same job and date is reported as `interrupted`.
pub async fn read_runs(lake: &Lake) -> Result<Vec<RunRow>, LakeError> {
    let mut runs = match lake.open_table(RUNS_TABLE).await? {
        Some(t) => t.read_rows::<RunRow>().await?.1,
        None => Vec::new(),
    };
    runs.sort_by_key(|r| (r.started_at, r.finished_at));
    mark_interrupted(&mut runs);
    Ok(runs)
}

/// Pure part of [`read_runs`]: `runs` sorted by start.
pub fn mark_interrupted(runs: &mut [RunRow]) {
    let mut latest: HashMap<(String, i32), i64> = HashMap::new();
    for r in runs.iter() {
        let e = latest
            .entry((r.job_name.clone(), r.logical_date))
            .or_insert(r.started_at);
        *e = (*e).max(r.started_at);
    }
    for r in runs.iter_mut() {
        if r.status == RUNNING && latest[&(r.job_name.clone(), r.logical_date)] > r.started_at {
            r.status = INTERRUPTED.into();
        }
    }
}

/// The Delta range `(after, version)` an incremental run of `day` reads: the
/// range of that date's last successful run (a rerun scores the same rows), else
/// everything after the job's last successfully read version, up to the latest
/// (`None`). Every appended row thus belongs to exactly one date.
pub fn incremental_range(runs: &[RunRow], job: &str, day: i32) -> (Option<i64>, Option<i64>) {
    let done = || {
        runs.iter().filter(move |r| {
            r.job_name == job && r.status == SUCCEEDED && r.input_version.is_some()
        })
    };
    if let Some(same) = done()
        .filter(|r| r.logical_date == day)
        .max_by_key(|r| r.started_at)
    {
        return (same.input_start_version, same.input_version);
    }
    (done().filter_map(|r| r.input_version).max(), None)
}

/// This machine's name, for the `host` column.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

pub fn runs_schema() -> SchemaRef {
    let ts = crate::lake::utc_timestamp();
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("job_name", DataType::Utf8, false),
        Field::new("trigger", DataType::Utf8, false),
        Field::new("logical_date", DataType::Date32, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("started_at", ts.clone(), false),
        Field::new("finished_at", ts, false),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new("rows_in", DataType::Int64, false),
        Field::new("rows_out", DataType::Int64, false),
        Field::new("model_uri", DataType::Utf8, false),
        Field::new("model_name", DataType::Utf8, true),
        Field::new("model_version", DataType::Int64, true),
        Field::new("input", DataType::Utf8, false),
        Field::new("input_version", DataType::Int64, true),
        Field::new("output_table", DataType::Utf8, false),
        Field::new("output_version", DataType::Int64, true),
        Field::new("spec_path", DataType::Utf8, false),
        Field::new("spec_sha256", DataType::Utf8, false),
        Field::new("spec_toml", DataType::Utf8, false),
        Field::new("lakescore_version", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("drift_alerts", DataType::Int64, false),
        // Added in 0.2 (existing tables gain them on first write).
        Field::new("scheduled_at", crate::lake::utc_timestamp(), true),
        Field::new("rerun_of", DataType::Utf8, true),
        Field::new("input_start_version", DataType::Int64, true),
        Field::new("host", DataType::Utf8, true),
        Field::new("pid", DataType::Int64, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(day: i32, status: &str, started_at: i64, range: (Option<i64>, Option<i64>)) -> RunRow {
        let mut r: RunRow = serde_json::from_value(serde_json::json!({
            "run_id": format!("r{started_at}"), "job_name": "j", "trigger": "schedule",
            "logical_date": day, "status": status, "started_at": started_at,
            "finished_at": started_at, "duration_ms": 0, "rows_in": 0, "rows_out": 0,
            "model_uri": "models:/m/1", "model_name": null, "model_version": null, "input": "",
            "input_version": null, "output_table": "", "output_version": null, "spec_path": "",
            "spec_sha256": "", "spec_toml": "", "lakescore_version": "0", "error": null,
            "drift_alerts": 0
        }))
        .unwrap();
        (r.input_start_version, r.input_version) = range;
        r
    }

    #[test]
    fn incremental_ranges_give_each_version_to_one_date() {
        // Nothing succeeded yet: everything up to the latest.
        assert_eq!(incremental_range(&[], "j", 1), (None, None));
        let runs = vec![
            run(1, SUCCEEDED, 1, (None, Some(3))),
            run(2, FAILED, 2, (Some(3), Some(5))), // a failed attempt does not count
            run(2, RUNNING, 3, (None, None)),      // nor a killed one
        ];
        assert_eq!(incremental_range(&runs, "j", 2), (Some(3), None));
        // A rerun of day 1 reads day 1's range again.
        assert_eq!(incremental_range(&runs, "j", 1), (None, Some(3)));
        assert_eq!(incremental_range(&runs, "other", 2), (None, None));
    }

    #[test]
    fn running_rows_superseded_by_a_later_attempt_read_as_interrupted() {
        let mut runs = vec![
            run(1, RUNNING, 1, (None, None)),
            run(1, SUCCEEDED, 2, (None, None)),
            run(2, RUNNING, 3, (None, None)),
        ];
        mark_interrupted(&mut runs);
        let statuses: Vec<&str> = runs.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, [INTERRUPTED, SUCCEEDED, RUNNING]);
    }
}
