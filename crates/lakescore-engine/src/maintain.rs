//! `lakescore maintain`: keep every table of a lake small and fast to open.
//!
//! For each Delta table under the lake root (lakescore's own and every
//! predictions and inference table), [`lakescore_lake::Table::maintain`]
//! compacts small files, writes a checkpoint, cleans expired log entries and
//! vacuums files no retained version needs. Each step is safe while runs,
//! backfills, the scheduler and the server write: see the lake crate's
//! `maintain` module for why.
//!
//! One rule is lakescore's own: in the `runs` table, a file holding a
//! `running` row is never compacted, because the attempt that wrote it
//! replaces exactly that file when it ends.

use arrow::array::RecordBatch;
use lakescore_core::runs::RUNS_TABLE;
use lakescore_lake::{Lake, LakeError, MaintainOptions, TableMaintenance};
use serde::Serialize;

/// What `maintain` did to the lake, table by table.
#[derive(Debug, Clone, Serialize)]
pub struct MaintainReport {
    pub lake: String,
    pub dry_run: bool,
    pub retention_hours: i64,
    pub tables: Vec<TableMaintenance>,
}

/// Maintain every table of `lake` (or only `only`, relative table paths).
pub async fn maintain(
    lake: &Lake,
    options: &MaintainOptions,
    only: &[String],
) -> Result<MaintainReport, LakeError> {
    let mut tables = Vec::new();
    for rel in lake.tables().await? {
        if !only.is_empty() && !only.iter().any(|o| o.trim_matches('/') == rel) {
            continue;
        }
        let Some(mut table) = lake.open_table(&rel).await? else {
            continue;
        };
        let in_use: &(dyn Fn(&RecordBatch) -> bool + Sync) = if rel == RUNS_TABLE {
            &crate::runner::runs::holds_running_row
        } else {
            &|_: &RecordBatch| false
        };
        let mut done = table.maintain(options, in_use).await?;
        done.table = rel;
        tracing::info!(
            table = %done.table,
            compacted = done.files_compacted,
            checkpoint = ?done.checkpoint_version,
            logs_removed = done.log_entries_removed,
            vacuumed = done.files_vacuumed.len(),
            "maintained"
        );
        tables.push(done);
    }
    if let Some(missing) = only
        .iter()
        .find(|o| !tables.iter().any(|t| t.table == o.trim_matches('/')))
    {
        return Err(LakeError::InvalidLocation {
            location: missing.clone(),
            reason: format!("no Delta table of lake {} is there", lake.root()),
        });
    }
    Ok(MaintainReport {
        lake: lake.root().to_string(),
        dry_run: options.dry_run,
        retention_hours: options.retention.num_hours(),
        tables,
    })
}
