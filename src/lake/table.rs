//! One Delta table: open, create, read back as arrow, append with optimistic concurrency.
//!
//! Small tables (registry, runs, drift metrics) are appended to in one commit per
//! call. [`Table::append`] can pin the snapshot version it read ("expected
//! version"): the commit then fails instead of being rebased when another writer
//! committed in between, which is how the registry hands out version numbers
//! without duplicates. Reads go through the parquet crate's object-store reader,
//! so they work on every store delta-rs supports.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, RecordBatch, StringArray, new_null_array};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{Schema as ArrowSchema, SchemaRef};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, StructField, StructType, Transaction};
#[allow(deprecated)] // no non-deprecated object-store reader in parquet 59 yet
use deltalake::parquet::arrow::async_reader::{
    ParquetObjectReader, ParquetRecordBatchStreamBuilder,
};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use url::Url;

use super::{LakeError, Result};

/// An open Delta table at a loaded snapshot.
pub struct Table {
    pub(crate) inner: DeltaTable,
    pub(crate) uri: String,
}

/// What a read returns: the rows and the version they were read at.
pub struct ReadTable {
    pub version: i64,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// A data file of the current snapshot, for readers that scan files themselves.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Full URI of the file (a plain absolute path for local tables).
    pub uri: String,
    /// Partition column -> value (Delta's string form; `None` for null).
    pub partition_values: HashMap<String, Option<String>>,
}

impl DataFile {
    /// The file's path when it is on the local filesystem.
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
        if self.uri.starts_with('/') {
            return Some(std::path::PathBuf::from(&self.uri));
        }
        Url::parse(&self.uri)
            .ok()
            .as_ref()
            .and_then(super::local_path)
    }
}

impl Table {
    pub(crate) fn delta_err(&self, source: DeltaTableError) -> LakeError {
        LakeError::Delta {
            table: self.uri.clone(),
            source: Box::new(source),
        }
    }

    /// Open the table at `url` (latest, or `version`); `None` when there is no table there.
    pub async fn open(url: Url, version: Option<i64>) -> Result<Option<Table>> {
        let uri = url.to_string();
        let err = |source| LakeError::Delta {
            table: uri.clone(),
            source: Box::new(source),
        };
        if let Some(path) = super::local_path(&url)
            && !path.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let mut table = match DeltaTable::try_from_url(url.clone()).await {
            Ok(t) => t,
            Err(DeltaTableError::NotATable(_) | DeltaTableError::InvalidTableLocation(_)) => {
                return Ok(None);
            }
            Err(e) => return Err(err(e)),
        };
        let loaded = match version {
            None => table.load().await,
            Some(v) => table.load_version(v.max(0) as u64).await,
        };
        match loaded {
            Ok(()) => {}
            Err(DeltaTableError::NotATable(_)) if version.is_none() => return Ok(None),
            Err(e) => return Err(err(e)),
        }
        let t = Table { inner: table, uri };
        t.check_supported()?;
        Ok(Some(t))
    }

    /// Open the table or create it with `schema`; an existing table must match `schema`.
    pub async fn ensure(
        url: Url,
        schema: &ArrowSchema,
        partitions: &[&str],
        description: &str,
    ) -> Result<Table> {
        if let Some(t) = Table::open(url.clone(), None).await? {
            return t.evolve_to(schema).await;
        }
        let uri = url.to_string();
        let err = |source| LakeError::Delta {
            table: uri.clone(),
            source: Box::new(source),
        };
        let kernel_schema: StructType = schema
            .try_into_kernel()
            .map_err(|e| err(DeltaTableError::from(e)))?;
        let columns: Vec<StructField> = kernel_schema.fields().cloned().collect();
        if let Some(path) = super::local_path(&url) {
            std::fs::create_dir_all(&path).map_err(|e| LakeError::InvalidLocation {
                location: uri.clone(),
                reason: format!("cannot create directory: {e}"),
            })?;
        }
        let table = DeltaTable::try_from_url(url.clone()).await.map_err(err)?;
        let created = table
            .create()
            .with_columns(columns)
            .with_partition_columns(partitions.iter().map(|p| p.to_string()))
            .with_comment(description)
            .with_save_mode(SaveMode::Ignore)
            .await;
        match created {
            Ok(table) => Ok(Table { inner: table, uri }),
            // Another process created it at the same moment: use theirs.
            Err(_) => match Table::open(url, None).await? {
                Some(t) => t.evolve_to(schema).await,
                None => Err(LakeError::Conflict {
                    table: uri,
                    message: "table could not be created".into(),
                }),
            },
        }
    }

    /// Open the table as it stood at `at` (Delta time travel by commit
    /// timestamp); `None` when it did not exist yet.
    pub async fn open_as_of(url: Url, at: chrono::DateTime<chrono::Utc>) -> Result<Option<Table>> {
        let Some(mut t) = Table::open(url, None).await? else {
            return Ok(None);
        };
        let uri = t.uri.clone();
        t.inner
            .load_with_datetime(at)
            .await
            .map_err(|source| LakeError::Delta {
                table: uri,
                source: Box::new(source),
            })?;
        // delta-rs falls back to the first commit when `at` precedes it.
        if t.version() == 0
            && t.loaded_commit_ms()
                .await?
                .is_some_and(|ms| ms > at.timestamp_millis())
        {
            return Ok(None);
        }
        Ok(Some(t))
    }

    /// When the loaded snapshot's commit was made (ms since the epoch, from its `commitInfo`).
    async fn loaded_commit_ms(&self) -> Result<Option<i64>> {
        let last = self
            .inner
            .history(Some(1))
            .try_next()
            .await
            .map_err(|e| self.delta_err(e))?;
        Ok(last.and_then(|c| c.timestamp))
    }

    /// Make an existing table carry `expected`'s columns: columns lakescore added
    /// in a later release (nullable, after the existing ones) are added with one
    /// schema-only commit (old rows read them as null); anything else must match.
    async fn evolve_to(self, expected: &ArrowSchema) -> Result<Table> {
        let found = self.arrow_schema()?;
        let n = found.fields().len();
        let is_prefix = n < expected.fields().len()
            && found
                .fields()
                .iter()
                .zip(expected.fields())
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
            && expected.fields()[n..].iter().all(|f| f.is_nullable());
        if !is_prefix {
            self.check_schema(expected)?;
            return Ok(self);
        }
        let url = Url::parse(&self.uri).map_err(|e| LakeError::InvalidLocation {
            location: self.uri.clone(),
            reason: e.to_string(),
        })?;
        let added = ArrowSchema::new(expected.fields()[n..].to_vec());
        let kernel: StructType = (&added)
            .try_into_kernel()
            .map_err(|e| self.delta_err(DeltaTableError::from(e)))?;
        let uri = self.uri.clone();
        let evolved = self
            .inner
            .add_columns()
            .with_fields(kernel.fields().cloned().collect::<Vec<_>>())
            .await;
        match evolved {
            Ok(inner) => Ok(Table { inner, uri }),
            // Another process evolved it first: take theirs and check it.
            Err(_) => match Table::open(url, None).await? {
                Some(t) => {
                    t.check_schema(expected)?;
                    Ok(t)
                }
                None => Err(LakeError::Conflict {
                    table: uri,
                    message: "table disappeared while adding columns".into(),
                }),
            },
        }
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The loaded snapshot version.
    pub fn version(&self) -> i64 {
        self.inner.version().map(|v| v as i64).unwrap_or(-1)
    }

    /// The table's arrow schema at the loaded snapshot.
    pub fn arrow_schema(&self) -> Result<SchemaRef> {
        Ok(self
            .inner
            .snapshot()
            .map_err(|e| self.delta_err(e))?
            .snapshot()
            .arrow_schema())
    }

    pub fn partition_columns(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .snapshot()
            .map_err(|e| self.delta_err(e))?
            .metadata()
            .partition_columns()
            .to_vec())
    }

    fn check_supported(&self) -> Result<()> {
        let Ok(snapshot) = self.inner.snapshot() else {
            return Ok(());
        };
        let protocol = snapshot.protocol();
        let features = protocol
            .reader_features()
            .map(|f| f.iter().map(|x| x.to_string()).collect::<Vec<_>>())
            .unwrap_or_default();
        for unsupported in ["columnMapping", "deletionVectors"] {
            if features.iter().any(|f| f == unsupported) {
                return Err(LakeError::Unsupported {
                    table: self.uri.clone(),
                    feature: unsupported.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Fail unless the table has exactly the columns (names and types) of `expected`.
    pub fn check_schema(&self, expected: &ArrowSchema) -> Result<()> {
        let found = self.arrow_schema()?;
        let describe = |s: &ArrowSchema| {
            s.fields()
                .iter()
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let same = found.fields().len() == expected.fields().len()
            && found
                .fields()
                .iter()
                .zip(expected.fields())
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if same {
            Ok(())
        } else {
            Err(LakeError::SchemaMismatch {
                table: self.uri.clone(),
                expected: describe(expected),
                found: describe(&found),
            })
        }
    }

    /// The active files of the loaded snapshot, as delta-rs describes them.
    pub(crate) async fn file_views(&self) -> Result<Vec<deltalake::kernel::LogicalFileView>> {
        self.inner
            .get_active_add_actions_by_partitions(&[])
            .try_collect()
            .await
            .map_err(|e| self.delta_err(e))
    }

    /// The active data files of the loaded snapshot.
    pub async fn data_files(&self) -> Result<Vec<DataFile>> {
        let views = self.file_views().await?;
        let log_store = self.inner.log_store();
        Ok(views
            .iter()
            .map(|v| DataFile {
                uri: log_store.to_uri(&v.object_store_path()),
                partition_values: v.partition_values_map(),
            })
            .collect())
    }

    /// The data files appended after version `after` up to the loaded snapshot
    /// (every active file when `after` is `None`), for incremental reads.
    ///
    /// Commits in the range are read from the log: `add`s with `dataChange`
    /// are new rows; compaction (`dataChange = false`) of older files is
    /// ignored; a commit that deletes or rewrites rows, or compacts files of the
    /// range, is an error ([`LakeError::NotAppendOnly`]), as is a range whose
    /// log files were already cleaned up.
    pub async fn appended_files_since(&self, after: Option<i64>) -> Result<Vec<DataFile>> {
        let Some(after) = after else {
            return self.data_files().await;
        };
        let log_store = self.inner.log_store();
        let mut added: Vec<(String, HashMap<String, Option<String>>)> = Vec::new();
        for version in (after + 1)..=self.version() {
            let not_append = |operation: &str, what: String| LakeError::NotAppendOnly {
                table: self.uri.clone(),
                version,
                operation: operation.to_string(),
                what,
            };
            let bytes = log_store
                .read_commit_entry(version as u64)
                .await
                .map_err(|e| self.delta_err(e))?
                .ok_or_else(|| {
                    not_append("unknown", "is no longer in the log (log retention)".into())
                })?;
            let mut operation = String::from("unknown");
            let mut removes: Vec<(String, bool)> = Vec::new();
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let action: serde_json::Value =
                    serde_json::from_slice(line).map_err(|e| LakeError::Encode {
                        table: self.uri.clone(),
                        message: format!("commit {version}: {e}"),
                    })?;
                if let Some(op) = action["commitInfo"]["operation"].as_str() {
                    operation = op.to_string();
                }
                if let Some(add) = action.get("add")
                    && add["dataChange"].as_bool().unwrap_or(true)
                {
                    let path = add["path"].as_str().unwrap_or_default().to_string();
                    let partitions = add["partitionValues"]
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().map(String::from)))
                                .collect()
                        })
                        .unwrap_or_default();
                    added.push((path, partitions));
                }
                if let Some(remove) = action.get("remove") {
                    removes.push((
                        remove["path"].as_str().unwrap_or_default().to_string(),
                        remove["dataChange"].as_bool().unwrap_or(true),
                    ));
                }
            }
            for (path, data_change) in removes {
                if data_change {
                    return Err(not_append(&operation, "deleted or rewrote rows".into()));
                }
                if added.iter().any(|(p, _)| *p == path) {
                    return Err(not_append(
                        &operation,
                        "compacted files appended since the last run".into(),
                    ));
                }
            }
        }
        Ok(added
            .into_iter()
            .map(|(path, partition_values)| {
                let decoded = percent_encoding_decode(&path);
                let location = deltalake::Path::parse(&decoded)
                    .unwrap_or_else(|_| deltalake::Path::from(decoded.as_str()));
                DataFile {
                    uri: log_store.to_uri(&location),
                    partition_values,
                }
            })
            .collect())
    }

    /// The last version recorded for application transaction `app_id`.
    pub async fn transaction_version(&self, app_id: &str) -> Result<Option<i64>> {
        let snapshot = self.inner.snapshot().map_err(|e| self.delta_err(e))?;
        snapshot
            .transaction_version(self.inner.log_store().as_ref(), app_id)
            .await
            .map_err(|e| self.delta_err(e))
    }

    /// Reload the latest snapshot.
    pub async fn refresh(&mut self) -> Result<()> {
        let uri = self.uri.clone();
        self.inner
            .update_state()
            .await
            .map_err(|source| LakeError::Delta {
                table: uri,
                source: Box::new(source),
            })
    }

    /// Read every row of the loaded snapshot (meant for small tables).
    pub async fn read_all(&self) -> Result<ReadTable> {
        self.read_where(None).await
    }

    /// Read the rows of one partition (`column = value`, Delta's string form).
    pub async fn read_partition(&self, column: &str, value: &str) -> Result<ReadTable> {
        self.read_where(Some((column, &[value.to_string()]))).await
    }

    /// Read the rows of the partitions whose `column` is one of `values`.
    pub async fn read_partitions(&self, column: &str, values: &[String]) -> Result<ReadTable> {
        self.read_where(Some((column, values))).await
    }

    #[allow(deprecated)]
    async fn read_where(&self, partition: Option<(&str, &[String])>) -> Result<ReadTable> {
        let schema = self.arrow_schema()?;
        let partitions = self.partition_columns()?;
        let store = self.inner.object_store();
        let views = self.file_views().await?;
        let mut batches = Vec::new();
        for view in views {
            if let Some((column, values)) = partition
                && !view
                    .partition_values_map()
                    .get(column)
                    .cloned()
                    .flatten()
                    .is_some_and(|v| values.contains(&v))
            {
                continue;
            }
            let reader = ParquetObjectReader::new(store.clone(), view.object_store_path())
                .with_file_size(view.size() as u64);
            let parquet_err = |e: deltalake::parquet::errors::ParquetError| LakeError::Encode {
                table: self.uri.clone(),
                message: format!("reading {}: {e}", view.path()),
            };
            let stream = ParquetRecordBatchStreamBuilder::new(reader)
                .await
                .map_err(parquet_err)?
                .build()
                .map_err(parquet_err)?;
            let file_batches: Vec<RecordBatch> = stream.try_collect().await.map_err(parquet_err)?;
            let values = view.partition_values_map();
            for batch in file_batches {
                batches.push(self.to_logical(&schema, &partitions, &values, batch)?);
            }
        }
        Ok(ReadTable {
            version: self.version(),
            schema,
            batches,
        })
    }

    /// Reorder a physical batch into the table's logical schema, adding partition
    /// columns and null columns for fields the file predates.
    fn to_logical(
        &self,
        schema: &SchemaRef,
        partitions: &[String],
        values: &HashMap<String, Option<String>>,
        batch: RecordBatch,
    ) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = if partitions.contains(field.name()) {
                let value = values.get(field.name()).cloned().flatten();
                let strings: ArrayRef = Arc::new(StringArray::from(vec![value; rows]));
                cast(&strings, field.data_type()).map_err(|e| LakeError::Encode {
                    table: self.uri.clone(),
                    message: format!("partition column {}: {e}", field.name()),
                })?
            } else if let Some(col) = batch.column_by_name(field.name()) {
                if col.data_type() == field.data_type() {
                    col.clone()
                } else {
                    cast(col, field.data_type()).map_err(|e| LakeError::Encode {
                        table: self.uri.clone(),
                        message: format!("column {}: {e}", field.name()),
                    })?
                }
            } else {
                new_null_array(field.data_type(), rows)
            };
            columns.push(column);
        }
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| LakeError::Encode {
            table: self.uri.clone(),
            message: e.to_string(),
        })
    }

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
        let mut props = CommitProperties::default().with_metadata(metadata);
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
        let version = match result {
            Ok(done) => done.version() as i64,
            Err(DeltaTableError::Transaction { source }) if is_conflict(&source) => {
                return Err(LakeError::Conflict {
                    table: self.uri.clone(),
                    message: source.to_string(),
                });
            }
            Err(e) => return Err(self.delta_err(e)),
        };
        self.refresh().await?;
        Ok(version)
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

/// Typed rows <-> arrow, through serde (for the small tables lakescore owns).
impl Table {
    /// Read every row of the loaded snapshot as `T`.
    pub async fn read_rows<T: serde::de::DeserializeOwned>(&self) -> Result<(i64, Vec<T>)> {
        let read = self.read_all().await?;
        let mut rows = Vec::new();
        for batch in &read.batches {
            let mut part: Vec<T> =
                serde_arrow::from_record_batch(batch).map_err(|e| LakeError::Encode {
                    table: self.uri.clone(),
                    message: e.to_string(),
                })?;
            rows.append(&mut part);
        }
        Ok((read.version, rows))
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
        serde_arrow::to_record_batch(schema.fields(), &rows).map_err(|e| LakeError::Encode {
            table: self.uri.clone(),
            message: e.to_string(),
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

/// Undo the percent-encoding of a path in the Delta log.
fn percent_encoding_decode(path: &str) -> String {
    url::Url::parse(&format!("file:///{path}"))
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .map(|p| p.to_string_lossy().trim_start_matches('/').to_string())
        .unwrap_or_else(|| path.to_string())
}
