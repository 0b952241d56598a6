//! Writing a table: appends in one commit (with an expected version for
//! optimistic writers), tracked appends and row replacement for small tables.
//!
//! [`Table::append`] can pin the snapshot version it read ("expected version"):
//! the commit then fails instead of being rebased when another writer committed
//! in between, which is how the registry hands out version numbers without
//! duplicates.

use std::collections::HashMap;

use arrow::array::RecordBatch;
use deltalake::DeltaTableError;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use super::Table;
use super::{LakeError, Result};

impl Table {
    /// Append `batches` in one commit.
    ///
    /// With `expected_version`, the commit is made only if the table is still at
    /// that version (no retry, no rebase): the caller re-reads and tries again on
    /// [`LakeError::Conflict`]. `app_txn` records a Delta application transaction.
    pub async fn append(
        &mut self,
        batches: Vec<RecordBatch>,
        metadata: HashMap<String, serde_json::Value>,
        expected_version: Option<i64>,
        app_txn: Option<(String, i64)>,
    ) -> Result<i64> {
        let adds = self.write_files(batches).await?;
        let actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        self.commit(actions, operation, metadata, expected_version, app_txn)
            .await
    }

    /// Write `batches` as data files (not yet committed); their `add` actions.
    async fn write_files(&self, batches: Vec<RecordBatch>) -> Result<Vec<deltalake::kernel::Add>> {
        let mut writer =
            RecordBatchWriter::for_table(&self.inner).map_err(|e| self.delta_err(e))?;
        for batch in batches {
            writer.write(batch).await.map_err(|e| self.delta_err(e))?;
        }
        writer.flush().await.map_err(|e| self.delta_err(e))
    }

    /// Commit `actions` (one Delta commit) and reload the snapshot.
    pub(crate) async fn commit(
        &mut self,
        actions: Vec<Action>,
        operation: DeltaOperation,
        metadata: HashMap<String, serde_json::Value>,
        expected_version: Option<i64>,
        app_txn: Option<(String, i64)>,
    ) -> Result<i64> {
        if let Some(expected) = expected_version
            && expected != self.version()
        {
            return Err(LakeError::Conflict {
                table: self.uri.clone(),
                message: format!(
                    "expected version {expected}, snapshot is at {}",
                    self.version()
                ),
            });
        }
        // Expired log entries are cleaned when a checkpoint is written (below), as
        // Spark does, not by listing the whole log after every commit.
        let mut props = CommitProperties::default()
            .with_metadata(metadata)
            .with_cleanup_expired_logs(Some(false));
        if let Some((app_id, v)) = app_txn {
            props = props.with_application_transaction(Transaction::new(app_id, v));
        }
        let mut builder = CommitBuilder::from(props).with_actions(actions);
        if expected_version.is_some() {
            builder = builder.with_max_retries(0);
        }
        let snapshot = self.inner.snapshot().map_err(|e| self.delta_err(e))?;
        let result = builder
            .build(Some(snapshot), self.inner.log_store(), operation)
            .await;
        let done = match result {
            Ok(done) => done,
            Err(DeltaTableError::Transaction { source }) if is_conflict(&source) => {
                return Err(LakeError::Conflict {
                    table: self.uri.clone(),
                    message: source.to_string(),
                });
            }
            Err(e) => return Err(self.delta_err(e)),
        };
        // The post-commit hook already brought the snapshot to the new version:
        // no second listing and replay of the log.
        self.inner.state = Some(done.snapshot());
        if done.metrics.new_checkpoint_created {
            self.cleanup_expired_logs().await?;
        }
        Ok(done.version() as i64)
    }

    /// Append `rows` in one commit (rebased over concurrent appends); returns the
    /// paths of the data files holding them, for a later [`Table::replace_rows`].
    pub async fn append_rows_tracked<T: serde::Serialize>(
        &mut self,
        rows: &[T],
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<Vec<String>> {
        let batch = self.rows_to_batch(rows)?;
        let adds = self.write_files(vec![batch]).await?;
        let paths = adds.iter().map(|a| a.path.clone()).collect();
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: None,
            predicate: None,
        };
        // delta-rs rebases appends over concurrent appends; a concurrent metadata
        // change (the table being created or gaining columns) needs a fresh snapshot.
        let mut attempt = 0;
        loop {
            let actions = adds.iter().cloned().map(Action::Add).collect();
            match self
                .commit(actions, operation.clone(), metadata.clone(), None, None)
                .await
            {
                Err(LakeError::Conflict { .. }) if attempt < 10 => {
                    attempt += 1;
                    self.refresh().await?;
                }
                Err(e) => return Err(e),
                Ok(_) => return Ok(paths),
            }
        }
    }

    /// Replace the data files `old` (as returned by [`Table::append_rows_tracked`])
    /// with `rows`, in one commit: readers see the old rows or the new ones, never
    /// both or neither. Files of `old` that are gone already are skipped. Retried
    /// (re-planned on the new snapshot) when another writer commits first.
    pub async fn replace_rows<T: serde::Serialize>(
        &mut self,
        old: &[String],
        rows: &[T],
        metadata: HashMap<String, serde_json::Value>,
        predicate: String,
    ) -> Result<i64> {
        let batch = self.rows_to_batch(rows)?;
        let adds = self.write_files(vec![batch]).await?;
        let mut last_conflict = None;
        for _ in 0..20 {
            let removes: Vec<Action> = self
                .file_views()
                .await?
                .iter()
                .filter(|v| old.iter().any(|p| *p == v.path()))
                .map(|v| Action::Remove(v.remove_action(true)))
                .collect();
            let mut actions = removes;
            actions.extend(adds.iter().cloned().map(Action::Add));
            let operation = DeltaOperation::Update {
                predicate: Some(predicate.clone()),
            };
            let expected = Some(self.version());
            match self
                .commit(actions, operation, metadata.clone(), expected, None)
                .await
            {
                Err(e @ LakeError::Conflict { .. }) => {
                    last_conflict = Some(e);
                    self.refresh().await?;
                }
                other => return other,
            }
        }
        Err(last_conflict.expect("a conflict ended the loop"))
    }

    fn rows_to_batch<T: serde::Serialize>(&self, rows: &[T]) -> Result<RecordBatch> {
        let schema = self.arrow_schema()?;
        serde_arrow::to_record_batch(schema.fields(), &rows).map_err(|source| LakeError::Rows {
            table: self.uri.clone(),
            source,
        })
    }

    /// Append `rows` in one commit (see [`Table::append`] for `expected_version`).
    pub async fn append_rows<T: serde::Serialize>(
        &mut self,
        rows: &[T],
        metadata: HashMap<String, serde_json::Value>,
        expected_version: Option<i64>,
    ) -> Result<i64> {
        let batch = self.rows_to_batch(rows)?;
        self.append(vec![batch], metadata, expected_version, None)
            .await
    }
}

fn is_conflict(e: &TransactionError) -> bool {
    matches!(
        e,
        TransactionError::VersionAlreadyExists(_)
            | TransactionError::MaxCommitAttempts(_)
            | TransactionError::CommitConflict(_)
    )
}
