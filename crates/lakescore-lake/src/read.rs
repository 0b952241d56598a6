//! Reading a table: its files (all, or appended since a version, from the log),
//! and its rows as arrow batches or typed rows.
//!
//! Reads go through the parquet crate's object-store reader, so they work on
//! every store delta-rs supports.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
#[allow(deprecated)] // no non-deprecated object-store reader in parquet 59 yet
use deltalake::parquet::arrow::async_reader::{
    ParquetObjectReader, ParquetRecordBatchStreamBuilder,
};
use futures::TryStreamExt;

use super::Table;
use super::table::DataFile;
use super::{LakeError, Result};

/// What a read returns: the rows and the version they were read at.
pub struct ReadTable {
    pub version: i64,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// The active files of the loaded snapshot, as delta-rs describes them.
    pub(crate) async fn file_views(&self) -> Result<Vec<deltalake::kernel::LogicalFileView>> {
        let views = self
            .inner
            .get_active_add_actions_by_partitions(&[])
            .try_collect()
            .await;
        match views {
            Ok(views) => Ok(views),
            Err(e) => Err(self.diagnosed(e).await),
        }
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
                    serde_json::from_slice(line).map_err(|source| LakeError::LogEntry {
                        table: self.uri.clone(),
                        version,
                        source,
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
            batches.extend(self.read_file(&store, &view, &schema, &partitions).await?);
        }
        Ok(ReadTable {
            version: self.version(),
            schema,
            batches,
        })
    }

    /// The rows of one data file, in the table's logical schema.
    #[allow(deprecated)]
    pub(crate) async fn read_file(
        &self,
        store: &deltalake::logstore::ObjectStoreRef,
        view: &deltalake::kernel::LogicalFileView,
        schema: &SchemaRef,
        partitions: &[String],
    ) -> Result<Vec<RecordBatch>> {
        let reader = ParquetObjectReader::new(store.clone(), view.object_store_path())
            .with_file_size(view.size() as u64);
        let parquet_err = |source| LakeError::DataFile {
            table: self.uri.clone(),
            file: view.path().to_string(),
            source,
        };
        let stream = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(parquet_err)?
            .build()
            .map_err(parquet_err)?;
        let file_batches: Vec<RecordBatch> = stream.try_collect().await.map_err(parquet_err)?;
        let values = view.partition_values_map();
        file_batches
            .into_iter()
            .map(|batch| self.to_logical(schema, partitions, &values, batch))
            .collect()
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
                cast(&strings, field.data_type()).map_err(|source| LakeError::Column {
                    table: self.uri.clone(),
                    column: field.name().clone(),
                    source,
                })?
            } else if let Some(col) = batch.column_by_name(field.name()) {
                if col.data_type() == field.data_type() {
                    col.clone()
                } else {
                    cast(col, field.data_type()).map_err(|source| LakeError::Column {
                        table: self.uri.clone(),
                        column: field.name().clone(),
                        source,
                    })?
                }
            } else {
                new_null_array(field.data_type(), rows)
            };
            columns.push(column);
        }
        RecordBatch::try_new(schema.clone(), columns).map_err(|source| LakeError::Column {
            table: self.uri.clone(),
            column: "*".into(),
            source,
        })
    }

    /// Read every row of the loaded snapshot as `T`.
    pub async fn read_rows<T: serde::de::DeserializeOwned>(&self) -> Result<(i64, Vec<T>)> {
        let read = self.read_all().await?;
        let mut rows = Vec::new();
        for batch in &read.batches {
            let mut part: Vec<T> =
                serde_arrow::from_record_batch(batch).map_err(|source| LakeError::Rows {
                    table: self.uri.clone(),
                    source,
                })?;
            rows.append(&mut part);
        }
        Ok((read.version, rows))
    }
}

/// Undo the percent-encoding of a path in the Delta log.
fn percent_encoding_decode(path: &str) -> String {
    url::Url::parse(&format!("file:///{path}"))
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .map_or_else(
            || path.to_string(),
            |p| p.to_string_lossy().trim_start_matches('/').to_string(),
        )
}
