//! The `runs` table: one row per run attempt.
//!
//! An attempt appends a `running` row when it starts (its own data file) and,
//! when it ends, replaces that file with the final row (`succeeded`, `failed`,
//! `aborted`) in one commit: a reader sees one row per attempt, and an attempt
//! killed with `kill -9` stays visible as `running`. Once a later attempt of the
//! same job and date exists, [`read_runs`] reports such a row as `interrupted`
//! ([`lakescore_core::runs::mark_interrupted`]).

use std::collections::HashMap;

use lakescore_core::runs::{RUNS_TABLE, RunRow, mark_interrupted};
use lakescore_lake::{Lake, LakeError, Table, schema_of};

/// The `running` row of an attempt in progress: where it is stored, and the
/// table it was appended to (kept open, so the end of the run reads only the
/// commits made since).
pub struct Started {
    files: Vec<String>,
    table: Table,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("files", &self.files)
            .finish()
    }
}

async fn runs_table(lake: &Lake) -> Result<Table, LakeError> {
    lake.ensure_table(
        RUNS_TABLE,
        &schema_of::<RunRow>(),
        &[],
        &[],
        "lakescore runs",
    )
    .await
}

fn commit_meta(row: &RunRow) -> HashMap<String, serde_json::Value> {
    HashMap::from([
        ("lakescore.operation".to_string(), "run".into()),
        ("lakescore.run_id".to_string(), row.run_id.clone().into()),
        ("lakescore.status".to_string(), row.status.as_str().into()),
    ])
}

/// Record that an attempt started (`row.status` is `running`).
pub async fn start(lake: &Lake, row: &RunRow) -> Result<Started, LakeError> {
    let mut table = runs_table(lake).await?;
    let files = table
        .append_rows_tracked(std::slice::from_ref(row), commit_meta(row))
        .await?;
    Ok(Started { files, table })
}

impl Started {
    /// The `runs` files holding the `running` row (a sharded run's plan keeps them).
    pub fn files(&self) -> &[String] {
        &self.files
    }
}

/// The `running` row of an attempt another process started (a sharded run's
/// plan), to be finished by this one.
pub async fn resume(lake: &Lake, files: Vec<String>) -> Result<Started, LakeError> {
    Ok(Started {
        files,
        table: runs_table(lake).await?,
    })
}

/// Record how an attempt ended: its `running` row is replaced by `row` in one commit.
pub async fn finish(lake: &Lake, started: Option<Started>, row: RunRow) -> Result<(), LakeError> {
    let (mut table, files) = match started {
        Some(s) => (s.table, s.files),
        None => (runs_table(lake).await?, Vec::new()),
    };
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

/// The most recent `limit` attempts (of `job`, if given), newest first.
pub async fn recent(
    lake: &Lake,
    job: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRow>, LakeError> {
    let mut runs = read_runs(lake).await?;
    runs.retain(|r| job.is_none_or(|j| j == r.job_name));
    runs.reverse();
    runs.truncate(limit);
    Ok(runs)
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
