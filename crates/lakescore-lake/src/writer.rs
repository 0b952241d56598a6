//! Streaming writer that replaces one partition (one logical date) in one commit.
//!
//! Batches stream to Parquet files as they come (delta-rs' `RecordBatchWriter`
//! uploads as it goes, so memory follows the batch, not the input). Nothing is
//! visible until [`DateReplaceWriter::commit`], which writes a single Delta
//! commit holding the new files' `add` actions, `remove` actions for every file
//! the date held before, and an application transaction (`txn`) for the
//! `(job, date)` pair. A crash before that commit leaves only unreferenced files
//! (removed by `VACUUM`); a rerun replaces the date again, so there is never a
//! duplicate and never a gap. When another writer commits meanwhile, the
//! replacement is re-planned on the new snapshot; when that writer was another
//! run of the same job and date (its `txn` moved), this one gives up instead.

use std::collections::HashMap;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::kernel::{Action, Add};
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use super::{LakeError, Result, Table};

/// Target size of one output Parquet file.
const TARGET_FILE_BYTES: u64 = 128 * 1024 * 1024;
/// Rows per output row group: bounds what the Parquet encoder holds in memory.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// How often a commit is re-planned when other writers keep committing.
const MAX_REPLANS: usize = 20;

/// How prediction files are written: Snappy, row groups of [`ROW_GROUP_ROWS`],
/// dictionary encoding except for `plain` columns.
fn properties(plain: &[String]) -> WriterProperties {
    plain
        .iter()
        .fold(
            WriterProperties::builder()
                .set_created_by(format!("lakescore {}", env!("CARGO_PKG_VERSION")))
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS)),
            |b, c| b.set_column_dictionary_enabled(ColumnPath::from(c.as_str()), false),
        )
        .build()
}

/// Streams batches for one partition value and commits them as a replacement.
pub struct DateReplaceWriter {
    table: Table,
    writer: RecordBatchWriter,
    partition_column: String,
    partition_value: String,
    app_id: String,
    base_txn: Option<i64>,
    rows: usize,
}

/// What a committed replacement did.
#[derive(Debug, Clone)]
pub struct ReplaceOutcome {
    pub version: i64,
    pub rows: usize,
    pub files_added: usize,
    pub files_removed: usize,
    /// How often the commit was re-planned because another writer committed first.
    pub retries: usize,
}

impl DateReplaceWriter {
    /// Start replacing `partition_column = partition_value` in `table`;
    /// `app_id` identifies the `(job, date)` pair for the Delta `txn` action.
    pub async fn start(
        table: Table,
        partition_column: &str,
        partition_value: &str,
        app_id: String,
    ) -> Result<Self> {
        let writer = RecordBatchWriter::for_table(&table.inner)
            .map_err(|e| table.delta_err(e))?
            .with_target_file_size(TARGET_FILE_BYTES)
            .with_writer_properties(properties(&[]));
        let base_txn = table.transaction_version(&app_id).await?;
        Ok(Self {
            table,
            writer,
            partition_column: partition_column.to_string(),
            partition_value: partition_value.to_string(),
            app_id,
            base_txn,
            rows: 0,
        })
    }

    /// Write `columns` without a dictionary. A column that holds a new value
    /// in nearly every row (a key, a score) otherwise has each value hashed
    /// into a dictionary until the dictionary outgrows its page limit (about
    /// 128k eight-byte values, so most of a row group), only for the row
    /// group to fall back to plain encoding.
    #[must_use]
    pub fn with_plain_columns(mut self, columns: &[String]) -> Self {
        self.writer = self.writer.with_writer_properties(properties(columns));
        self
    }

    /// The schema every written batch must have.
    pub fn schema(&self) -> SchemaRef {
        self.writer.arrow_schema()
    }

    pub fn table_uri(&self) -> &str {
        self.table.uri()
    }

    /// Stream one batch into uncommitted Parquet files.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        self.writer
            .write(batch)
            .await
            .map_err(|e| self.table.delta_err(e))
    }

    /// Drop what was written (files already uploaded stay unreferenced).
    pub fn abort(mut self) {
        self.writer.reset();
    }

    /// The `(job, date)` transaction version when the writer started.
    pub fn base_txn(&self) -> Option<i64> {
        self.base_txn
    }

    /// Flush the last file and hand back the `add` actions of every file
    /// written, uncommitted, as JSON (what a shard of a sharded run records in
    /// its manifest for the commit to publish).
    pub async fn finish_files(mut self) -> Result<Vec<serde_json::Value>> {
        let adds = self
            .writer
            .flush()
            .await
            .map_err(|e| self.table.delta_err(e))?;
        adds.iter()
            .map(|a| {
                serde_json::to_value(a).map_err(|e| LakeError::Conflict {
                    table: self.table.uri.clone(),
                    message: format!("cannot encode an add action: {e}"),
                })
            })
            .collect()
    }

    /// Commit the replacement: one Delta commit, or nothing.
    pub async fn commit(
        mut self,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<(ReplaceOutcome, Table)> {
        let adds = self
            .writer
            .flush()
            .await
            .map_err(|e| self.table.delta_err(e))?;
        self.publish(adds, metadata).await
    }

    /// Commit files that other processes wrote (the shards of a sharded run:
    /// their `add` actions as JSON, and `rows` in all) as the date's
    /// replacement, provided the `(job, date)` transaction is still at
    /// `base_txn` (what it was when the attempt was planned).
    pub async fn commit_files(
        mut self,
        base_txn: Option<i64>,
        adds: &[serde_json::Value],
        rows: usize,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<(ReplaceOutcome, Table)> {
        let adds = adds
            .iter()
            .map(|a| {
                serde_json::from_value::<Add>(a.clone()).map_err(|e| LakeError::Conflict {
                    table: self.table.uri.clone(),
                    message: format!("a shard's add action does not parse: {e}"),
                })
            })
            .collect::<Result<Vec<Add>>>()?;
        self.base_txn = base_txn;
        self.rows = rows;
        self.publish(adds, metadata).await
    }

    /// One commit of `adds` replacing the date's files, re-planned on races.
    async fn publish(
        mut self,
        adds: Vec<Add>,
        metadata: HashMap<String, serde_json::Value>,
    ) -> Result<(ReplaceOutcome, Table)> {
        let files_added = adds.len();
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: Some(vec![self.partition_column.clone()]),
            predicate: Some(format!(
                "{} = '{}'",
                self.partition_column, self.partition_value
            )),
        };
        let mut last_conflict = String::new();
        for retries in 0..MAX_REPLANS {
            let txn_now = self.table.transaction_version(&self.app_id).await?;
            if txn_now != self.base_txn {
                return Err(LakeError::Conflict {
                    table: self.table.uri.clone(),
                    message: format!(
                        "another run of the same job and date ({}) committed while this one ran; \
                         its predictions stand and this run wrote nothing",
                        self.app_id
                    ),
                });
            }
            // Borrow only the table across the await (the parquet writer is not Sync).
            let removes =
                removes_for_partition(&self.table, &self.partition_column, &self.partition_value)
                    .await?;
            let files_removed = removes.len();
            let mut actions: Vec<Action> = removes;
            actions.extend(adds.iter().cloned().map(Action::Add));
            let next_txn = self.base_txn.unwrap_or(0) + 1;
            let expected = self.table.version();
            match self
                .table
                .commit(
                    actions,
                    operation.clone(),
                    metadata.clone(),
                    Some(expected),
                    Some((self.app_id.clone(), next_txn)),
                )
                .await
            {
                Ok(version) => {
                    let outcome = ReplaceOutcome {
                        version,
                        rows: self.rows,
                        files_added,
                        files_removed,
                        retries,
                    };
                    return Ok((outcome, self.table));
                }
                Err(LakeError::Conflict { message, .. }) => {
                    tracing::debug!(table = %self.table.uri, %message, "commit raced; re-planning");
                    last_conflict = message;
                    self.table.refresh().await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(LakeError::Conflict {
            table: self.table.uri.clone(),
            message: format!("gave up after {MAX_REPLANS} concurrent commits: {last_conflict}"),
        })
    }
}

/// `remove` actions for every file of `table` in partition `column = value`.
async fn removes_for_partition(table: &Table, column: &str, value: &str) -> Result<Vec<Action>> {
    let views = table.file_views().await?;
    Ok(views
        .iter()
        .filter(|v| {
            v.partition_values_map()
                .get(column)
                .cloned()
                .flatten()
                .as_deref()
                == Some(value)
        })
        .map(|v| Action::Remove(v.remove_action(true)))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use deltalake::parquet::basic::Encoding;
    use deltalake::parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::Lake;

    /// Plain columns are written without a dictionary; the others keep one.
    #[tokio::test]
    async fn plain_columns_have_no_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("day", DataType::Utf8, false),
        ]);
        let table = lake
            .ensure_table("t", &schema, &["day"], &[], "t")
            .await
            .unwrap();
        let mut writer = DateReplaceWriter::start(table, "day", "d1", "test".into())
            .await
            .unwrap()
            .with_plain_columns(&["id".to_string()]);
        let rows = 10_000;
        let batch = RecordBatch::try_new(
            writer.schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows)),
                Arc::new(StringArray::from(vec!["churn"; rows as usize])),
                Arc::new(StringArray::from(vec!["d1"; rows as usize])),
            ],
        )
        .unwrap();
        writer.write(batch).await.unwrap();
        let (outcome, table) = writer.commit(HashMap::new()).await.unwrap();
        assert_eq!(outcome.rows, rows as usize);
        let files = table.data_files().await.unwrap();
        assert_eq!(files.len(), 1);
        let reader =
            SerializedFileReader::new(std::fs::File::open(&files[0].uri).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        let encodings = |name: &str| {
            group
                .columns()
                .iter()
                .find(|c| c.column_path().string() == name)
                .unwrap()
                .encodings()
                .collect::<Vec<_>>()
        };
        let dictionary =
            |e: &Encoding| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY);
        assert!(
            !encodings("id").iter().any(dictionary),
            "{:?}",
            encodings("id")
        );
        assert!(
            encodings("name").iter().any(dictionary),
            "{:?}",
            encodings("name")
        );
    }
}
