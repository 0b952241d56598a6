//! Keeping one table small and fast to open: compaction of small files, a
//! checkpoint, cleanup of expired log entries, and vacuum of files no retained
//! version references (what `lakescore maintain` does for each table).
//!
//! Every step is safe while other processes write the table:
//! - Compaction rewrites small files of one partition into one file and commits
//!   the swap as Delta's `OPTIMIZE` does (`dataChange = false` removes and
//!   adds). delta-rs' conflict checker rebases it over concurrent appends and
//!   fails it when a concurrent commit removed one of its files (the rows are
//!   then left as they were). Files a caller names as in use (a run's `running`
//!   row, replaced by that run at its end) are left alone.
//! - A checkpoint is written for the current version unless one exists.
//! - Log entries are removed only when older than `delta.logRetentionDuration`
//!   (30 days by default) and older than a checkpoint that replaces them.
//! - Vacuum (delta-rs, full mode) deletes data files that no version within
//!   the retention references and that are older than the retention: removed
//!   files, and files left by killed or aborted runs that never committed. A
//!   file being written right now is younger than the retention and stays.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use deltalake::kernel::Action;
use deltalake::logstore::object_store::ObjectStoreExt as _;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::protocol::DeltaOperation;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use serde::Serialize;

use super::{LakeError, Result, Table};

/// What [`Table::maintain`] does.
#[derive(Debug, Clone)]
pub struct MaintainOptions {
    /// Plan and report, change nothing.
    pub dry_run: bool,
    /// Files no retained version needs are vacuumed once older than this.
    pub retention: chrono::Duration,
    /// Files smaller than this are compacted (when a partition has two or more).
    pub small_file_bytes: u64,
    /// Allow a retention below the table's `delta.deletedFileRetentionDuration`
    /// (7 days by default), as Spark's `retentionDurationCheck` does when disabled.
    pub allow_short_retention: bool,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        MaintainOptions {
            dry_run: false,
            retention: chrono::Duration::days(7),
            small_file_bytes: 32 * 1024 * 1024,
            allow_short_retention: false,
        }
    }
}

/// What maintenance did (or, with `dry_run`, would do) to one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableMaintenance {
    pub table: String,
    pub version_before: i64,
    pub version_after: i64,
    pub files_before: usize,
    /// Small files rewritten (or to rewrite) by compaction.
    pub files_compacted: usize,
    /// Files compaction wrote in their place.
    pub files_written: usize,
    /// Why compaction was not committed (a concurrent writer removed a file).
    pub compaction_skipped: Option<String>,
    /// The version a new checkpoint was written at.
    pub checkpoint_version: Option<i64>,
    /// Expired log entries removed.
    pub log_entries_removed: usize,
    /// Data files deleted (or to delete) by vacuum, relative to the table root.
    pub files_vacuumed: Vec<String>,
}

impl Table {
    /// Compact, checkpoint, clean expired log entries and vacuum this table.
    ///
    /// `in_use` is asked about each small file's rows: a file for which it
    /// returns true is not compacted.
    pub async fn maintain(
        &mut self,
        options: &MaintainOptions,
        in_use: &(dyn Fn(&RecordBatch) -> bool + Sync),
    ) -> Result<TableMaintenance> {
        let mut report = TableMaintenance {
            table: self.uri.clone(),
            version_before: self.version(),
            ..TableMaintenance::default()
        };
        self.compact(options, in_use, &mut report, "maintain")
            .await?;
        if !options.dry_run {
            self.set_checkpoint_interval().await?;
            report.checkpoint_version = self.checkpoint().await?;
            report.log_entries_removed = self.cleanup_expired_logs().await?;
        }
        report.files_vacuumed = self.vacuum(options).await?;
        if !options.dry_run {
            self.refresh().await?;
        }
        report.version_after = self.version();
        Ok(report)
    }

    /// Delta's auto compaction, for a table that gains a small file at every
    /// commit: when at least `min_files` files are smaller than
    /// `small_file_bytes`, compact them now with one `OPTIMIZE` commit, as
    /// [`Table::maintain`] does (same conflict rules, same `in_use`); what
    /// was done, or `None` below the threshold. Files that reached
    /// `small_file_bytes` are left alone, so the rows are not rewritten again
    /// and again as the table grows.
    pub async fn auto_compact(
        &mut self,
        min_files: usize,
        small_file_bytes: u64,
        in_use: &(dyn Fn(&RecordBatch) -> bool + Sync),
    ) -> Result<Option<TableMaintenance>> {
        let small = self
            .file_views()
            .await?
            .iter()
            .filter(|v| (v.size() as u64) < small_file_bytes)
            .count();
        if small < min_files {
            return Ok(None);
        }
        let options = MaintainOptions {
            small_file_bytes,
            ..MaintainOptions::default()
        };
        let mut report = TableMaintenance {
            table: self.uri.clone(),
            version_before: self.version(),
            ..TableMaintenance::default()
        };
        self.compact(&options, in_use, &mut report, "auto_compact")
            .await?;
        report.version_after = self.version();
        Ok(Some(report))
    }

    async fn compact(
        &mut self,
        options: &MaintainOptions,
        in_use: &(dyn Fn(&RecordBatch) -> bool + Sync),
        report: &mut TableMaintenance,
        operation_name: &str,
    ) -> Result<()> {
        let schema = self.arrow_schema()?;
        let partitions = self.partition_columns()?;
        let store = self.inner.object_store();
        // Small files per partition (a BTreeMap keeps the plan deterministic).
        let mut groups: BTreeMap<Vec<(String, Option<String>)>, Vec<_>> = BTreeMap::new();
        let views = self.file_views().await?;
        report.files_before = views.len();
        for view in views {
            if (view.size() as u64) >= options.small_file_bytes {
                continue;
            }
            let mut key: Vec<_> = view.partition_values_map().into_iter().collect();
            key.sort();
            groups.entry(key).or_default().push(view);
        }
        let mut actions: Vec<Action> = Vec::new();
        let mut writer =
            RecordBatchWriter::for_table(&self.inner).map_err(|e| self.delta_err(e))?;
        for views in groups.into_values().filter(|g| g.len() >= 2) {
            let mut chosen = Vec::new();
            for view in views {
                let batches = self.read_file(&store, &view, &schema, &partitions).await?;
                if !batches.iter().any(in_use) {
                    chosen.push((view, batches));
                }
            }
            if chosen.len() < 2 {
                continue;
            }
            report.files_compacted += chosen.len();
            for (view, batches) in chosen {
                actions.push(Action::Remove(view.remove_action(false)));
                if !options.dry_run {
                    for batch in batches {
                        writer.write(batch).await.map_err(|e| self.delta_err(e))?;
                    }
                }
            }
        }
        if report.files_compacted == 0 {
            return Ok(());
        }
        if options.dry_run {
            report.files_written = 0;
            return Ok(());
        }
        let adds = writer.flush().await.map_err(|e| self.delta_err(e))?;
        report.files_written = adds.len();
        actions.extend(adds.into_iter().map(|mut add| {
            add.data_change = false;
            Action::Add(add)
        }));
        let operation = DeltaOperation::Optimize {
            predicate: None,
            target_size: options.small_file_bytes as i64,
        };
        let meta = std::collections::HashMap::from([(
            "lakescore.operation".to_string(),
            serde_json::Value::from(operation_name),
        )]);
        match self.commit(actions, operation, meta, None, None).await {
            Ok(_) => {}
            // A concurrent writer removed one of the files: leave the rows as
            // they are (the files written stay unreferenced; vacuum takes them).
            Err(LakeError::Conflict { message, .. }) => {
                report.files_written = 0;
                report.compaction_skipped = Some(message);
                self.refresh().await?;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Give a table made before lakescore set `delta.checkpointInterval` the
    /// interval lakescore's tables are created with (one metadata commit).
    async fn set_checkpoint_interval(&mut self) -> Result<()> {
        let key = deltalake::TableProperty::CheckpointInterval
            .as_ref()
            .to_string();
        let snapshot = self.inner.snapshot().map_err(|e| self.delta_err(e))?;
        if snapshot.metadata().configuration().contains_key(&key) {
            return Ok(());
        }
        let updated = self
            .inner
            .clone()
            .set_tbl_properties()
            .with_properties(std::collections::HashMap::from([(
                key,
                crate::table::CHECKPOINT_INTERVAL.to_string(),
            )]))
            .await;
        match updated {
            Ok(table) => self.inner = table,
            // A concurrent commit won: the next maintenance sets it.
            Err(e) => tracing::warn!(table = %self.uri, error = %e, "checkpoint interval not set"),
        }
        Ok(())
    }

    /// Write a checkpoint for the loaded version unless one exists; its version.
    pub async fn checkpoint(&self) -> Result<Option<i64>> {
        let version = self.version();
        let name = format!("{version:020}.checkpoint.parquet");
        let store = self.inner.log_store().object_store(None);
        let path = deltalake::Path::from(format!("_delta_log/{name}"));
        if store.head(&path).await.is_ok() {
            return Ok(None);
        }
        deltalake::checkpoints::create_checkpoint(&self.inner, None)
            .await
            .map_err(|e| self.delta_err(e))?;
        Ok(Some(version))
    }

    /// Remove log entries older than the table's log retention and older than a
    /// checkpoint that replaces them; how many were removed.
    pub async fn cleanup_expired_logs(&self) -> Result<usize> {
        deltalake::checkpoints::cleanup_metadata(&self.inner, None)
            .await
            .map_err(|e| self.delta_err(e))
    }

    /// Delete data files no version within `options.retention` needs; their paths.
    async fn vacuum(&mut self, options: &MaintainOptions) -> Result<Vec<String>> {
        let (table, metrics) = self
            .inner
            .clone()
            .vacuum()
            .with_mode(VacuumMode::Full)
            .with_retention_period(options.retention)
            .with_enforce_retention_duration(!options.allow_short_retention)
            .with_dry_run(options.dry_run)
            .await
            .map_err(|e| self.delta_err(e))?;
        if !options.dry_run {
            self.inner = table;
        }
        let mut files = metrics.files_deleted;
        files.sort();
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::Lake;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Row {
        id: i64,
    }

    fn schema() -> Schema {
        Schema::new(vec![Field::new("id", DataType::Int64, false)])
    }

    /// Compaction planned on a snapshot whose files a concurrent writer then
    /// replaced: the compaction commit fails and the rows stay exactly as the
    /// writer left them (no resurrected row, none lost).
    #[tokio::test]
    async fn compaction_raced_by_a_replace_keeps_the_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut writer = lake
            .ensure_table("t", &schema(), &[], &[], "t")
            .await
            .unwrap();
        let first = writer
            .append_rows_tracked(&[Row { id: 1 }], Default::default())
            .await
            .unwrap();
        writer
            .append_rows_tracked(&[Row { id: 2 }], Default::default())
            .await
            .unwrap();
        // Maintenance opens the table now...
        let mut stale = lake.open_table("t").await.unwrap().unwrap();
        // ...and the writer replaces row 1 before maintenance commits.
        writer
            .replace_rows(
                &first,
                &[Row { id: 10 }],
                Default::default(),
                "id = 1".into(),
            )
            .await
            .unwrap();
        let options = MaintainOptions::default();
        let report = stale.maintain(&options, &|_| false).await.unwrap();
        assert_eq!(report.files_compacted, 2);
        assert!(report.compaction_skipped.is_some(), "{report:?}");
        let fresh = lake.open_table("t").await.unwrap().unwrap();
        let (_, mut rows) = fresh.read_rows::<Row>().await.unwrap();
        rows.sort();
        assert_eq!(rows, vec![Row { id: 2 }, Row { id: 10 }]);

        // Unraced, the same table compacts to one file with the same rows.
        let mut again = lake.open_table("t").await.unwrap().unwrap();
        let report = again.maintain(&options, &|_| false).await.unwrap();
        assert_eq!((report.files_compacted, report.files_written), (2, 1));
        assert!(report.checkpoint_version.is_some());
        let (_, mut rows) = again.read_rows::<Row>().await.unwrap();
        rows.sort();
        assert_eq!(rows, vec![Row { id: 2 }, Row { id: 10 }]);
        assert_eq!(again.data_files().await.unwrap().len(), 1);
    }
}
