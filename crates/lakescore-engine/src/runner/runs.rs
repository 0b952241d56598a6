//! The `runs` table: one row per run attempt.
//!
//! An attempt appends a `running` row when it starts (its own data file) and,
//! when it ends, replaces that file with the final row (`succeeded`, `failed`,
//! `aborted`) in one commit: a reader sees one row per attempt, and an attempt
//! killed with `kill -9` stays visible as `running`. Once a later attempt of the
//! same job and date exists, [`read_runs`] reports such a row as `interrupted`
//! ([`lakescore_core::runs::mark_interrupted`]).
//!
//! A file per attempt would make every open of `runs` replay one `add` per
//! attempt ever made. So, as Delta's auto compaction does, an attempt that
//! ends finds the table holding [`AUTO_COMPACT_FILES`] small files compacts
//! them into one (files holding a `running` row stay, for their attempts to
//! replace).

use std::collections::HashMap;

use arrow::array::{Array, RecordBatch, StringArray};
use lakescore_core::runs::{RUNS_TABLE, RunRow, mark_interrupted};
use lakescore_lake::{Lake, LakeError, Table, schema_of};

/// Small files of `runs` that make the attempt ending now compact them
/// (Databricks' auto compaction starts at 50).
pub const AUTO_COMPACT_FILES: usize = 50;
/// Files of `runs` smaller than this are compacted; one that reached it is
/// not rewritten again (about 2,000 attempts' rows).
const AUTO_COMPACT_BYTES: u64 = 1 << 20;

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
        .await?;
    // The attempt is recorded: compaction failing (or losing a race) changes
    // no row, and the next attempt tries again.
    match table
        .auto_compact(AUTO_COMPACT_FILES, AUTO_COMPACT_BYTES, &holds_running_row)
        .await
    {
        Ok(Some(done)) => tracing::debug!(
            compacted = done.files_compacted,
            skipped = ?done.compaction_skipped,
            "compacted the runs table"
        ),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "the runs table was not compacted"),
    }
    Ok(())
}

/// Whether a batch of the runs table holds an attempt still `running` (its
/// file is replaced by that attempt when it ends, so it is never compacted).
pub(crate) fn holds_running_row(batch: &RecordBatch) -> bool {
    let Some(status) = batch.column_by_name("status") else {
        return false;
    };
    let Ok(status) = arrow::compute::cast(status, &arrow::datatypes::DataType::Utf8) else {
        return true; // unreadable: leave the file alone
    };
    status
        .as_any()
        .downcast_ref::<StringArray>()
        .is_some_and(|s| (0..s.len()).any(|i| s.is_valid(i) && s.value(i) == "running"))
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

#[cfg(test)]
mod tests {
    use lakescore_core::runs::RunStatus;

    use super::*;

    fn row(i: usize, status: RunStatus) -> RunRow {
        serde_json::from_value(serde_json::json!({
            "run_id": format!("attempt-{i}"), "job_name": "j", "trigger": "manual",
            "logical_date": i, "status": status.as_str(), "started_at": i, "finished_at": i,
            "duration_ms": 0, "rows_in": 0, "rows_out": 0, "model_uri": "models:/m/1",
            "model_name": null, "model_version": null, "input": "", "input_version": null,
            "output_table": "", "output_version": null, "spec_path": "", "spec_sha256": "",
            "spec_toml": "", "lakescore_version": "0", "error": null, "drift_alerts": 0
        }))
        .unwrap()
    }

    /// Attempts that end compact the runs table once it holds
    /// `AUTO_COMPACT_FILES` small files; the file of an attempt still running
    /// is left for that attempt to replace, and every attempt is there once.
    #[tokio::test]
    async fn ending_attempts_keep_the_runs_table_compact() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let long = start(&lake, &row(0, RunStatus::Running)).await.unwrap();
        let attempts = AUTO_COMPACT_FILES + 5;
        for i in 1..=attempts {
            let started = start(&lake, &row(i, RunStatus::Running)).await.unwrap();
            finish(&lake, Some(started), row(i, RunStatus::Succeeded))
                .await
                .unwrap();
        }
        let table = lake.open_table(RUNS_TABLE).await.unwrap().unwrap();
        let files = table.data_files().await.unwrap();
        // Compaction ran when attempt 49 ended (49 ended attempts' files and the
        // running one's made 50): one compacted file, the running attempt's,
        // and those of attempts 50 to 55.
        assert_eq!(files.len(), 8, "{files:?}");
        assert!(
            files
                .iter()
                .any(|f| long.files().iter().any(|l| f.uri.ends_with(l.as_str()))),
            "the running attempt's file was compacted away"
        );
        assert!(
            table
                .committed_with("lakescore.operation", "auto_compact", 100)
                .await
                .unwrap()
        );

        finish(&lake, Some(long), row(0, RunStatus::Succeeded))
            .await
            .unwrap();
        let runs = read_runs(&lake).await.unwrap();
        let mut ids: Vec<_> = runs.iter().map(|r| r.run_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!((runs.len(), ids.len()), (attempts + 1, attempts + 1));
        assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    }
}
