//! One Delta table: open, create, evolve, check its schema.
//!
//! Reading is in [`crate::read`], writing in [`crate::write`]; the streaming
//! replace-a-date writer in [`crate::writer`].

use std::collections::HashMap;

use arrow::datatypes::{Schema as ArrowSchema, SchemaRef};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::{StructField, StructType};
use deltalake::logstore::LogStoreRef;
use deltalake::logstore::object_store::ObjectStoreExt as _;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use url::Url;

use super::{LakeError, Result, Storage};

/// `delta.checkpointInterval` of the tables lakescore creates: Spark's default
/// (delta-rs' is 100). Opening a table replays the commits after the last
/// checkpoint, and those cost more to read than the checkpoint does.
pub const CHECKPOINT_INTERVAL: &str = "10";

/// The table properties that choose which columns get file statistics
/// (min, max, null count) in each `add` action: `stats_columns` only
/// (`delta.dataSkippingStatsColumns`), or none but the row count
/// (`delta.dataSkippingNumIndexedCols = 0`). Every open of a table parses
/// the statistics of every active file, so a table with one file per date
/// or per attempt pays for each column's statistics on every open, for the
/// rest of its life; Delta's default is the first 32 columns.
fn stats_configuration(stats_columns: &[&str]) -> Vec<(String, Option<String>)> {
    if stats_columns.is_empty() {
        vec![(
            deltalake::TableProperty::DataSkippingNumIndexedCols
                .as_ref()
                .to_string(),
            Some("0".to_string()),
        )]
    } else {
        vec![(
            deltalake::TableProperty::DataSkippingStatsColumns
                .as_ref()
                .to_string(),
            Some(stats_columns.join(",")),
        )]
    }
}

/// An open Delta table at a loaded snapshot.
pub struct Table {
    pub(crate) inner: DeltaTable,
    pub(crate) uri: String,
    /// How the table was reached, to reopen it the same way.
    pub(crate) storage: Storage,
}

/// A table builder for `url` reached with `storage` (nothing loaded yet).
fn builder(url: Url, storage: &Storage) -> deltalake::DeltaResult<deltalake::DeltaTableBuilder> {
    crate::local::register();
    Ok(deltalake::DeltaTableBuilder::from_url(url)?.with_storage_options(storage.delta_options()))
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
    /// Where a reader finds the file: its local path, or its object-store URI.
    pub fn location(&self) -> String {
        match self.local_path() {
            Some(p) => p.to_string_lossy().into_owned(),
            None => self.uri.clone(),
        }
    }

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

    /// A delta-rs error, or, when a log entry is not valid JSON (delta-rs does
    /// not say which), the error naming that entry.
    pub(crate) async fn diagnosed(&self, source: DeltaTableError) -> LakeError {
        match corrupt_log_entry(&self.inner.log_store(), &self.uri).await {
            Some(corrupt) => corrupt,
            None => self.delta_err(source),
        }
    }

    /// Open the table at `url` (latest, or `version`); `None` when there is no table there.
    pub async fn open(url: Url, version: Option<i64>, storage: &Storage) -> Result<Option<Table>> {
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
        // Built, not loaded: `DeltaTable::try_from_url` would load the latest
        // version, and the load below would read the log a second time.
        let mut table =
            match builder(url.clone(), storage).and_then(deltalake::DeltaTableBuilder::build) {
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
            Err(DeltaTableError::NotATable(_) | DeltaTableError::InvalidTableLocation(_))
                if version.is_none() =>
            {
                return Ok(None);
            }
            Err(e) => {
                // delta-rs does not say which log entry it could not parse: find it.
                if let Some(corrupt) = corrupt_log_entry(&table.log_store(), &uri).await {
                    return Err(corrupt);
                }
                return Err(err(e));
            }
        }
        let t = Table {
            inner: table,
            uri,
            storage: storage.clone(),
        };
        t.check_supported()?;
        Ok(Some(t))
    }

    /// Open the table or create it with `schema`; an existing table must match `schema`.
    /// `stats_columns`: see [`Lake::ensure_table`](crate::Lake::ensure_table).
    pub async fn ensure(
        url: Url,
        schema: &ArrowSchema,
        partitions: &[&str],
        stats_columns: &[&str],
        description: &str,
        storage: &Storage,
    ) -> Result<Table> {
        if let Some(t) = Table::open(url.clone(), None, storage).await? {
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
        let table = builder(url.clone(), storage)
            .and_then(deltalake::DeltaTableBuilder::build)
            .map_err(err)?;
        refuse_foreign_files(&table, &uri).await?;
        let created = table
            .create()
            .with_columns(columns)
            .with_partition_columns(partitions.iter().map(ToString::to_string))
            .with_comment(description)
            .with_configuration_property(
                deltalake::TableProperty::CheckpointInterval,
                Some(CHECKPOINT_INTERVAL),
            )
            .with_configuration(stats_configuration(stats_columns))
            .with_save_mode(SaveMode::Ignore)
            .await;
        match created {
            Ok(table) => Ok(Table {
                inner: table,
                uri,
                storage: storage.clone(),
            }),
            // Another process created it at the same moment: use theirs.
            Err(_) => match Table::open(url, None, storage).await? {
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
    pub async fn open_as_of(
        url: Url,
        at: chrono::DateTime<chrono::Utc>,
        storage: &Storage,
    ) -> Result<Option<Table>> {
        let Some(mut t) = Table::open(url, None, storage).await? else {
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

    /// Whether one of the last `limit` commits carries `key = value` in its
    /// `commitInfo` (lakescore records its run id there).
    pub async fn committed_with(&self, key: &str, value: &str, limit: usize) -> Result<bool> {
        let commits: Vec<_> = self
            .inner
            .history(Some(limit))
            .try_collect()
            .await
            .map_err(|e| self.delta_err(e))?;
        Ok(commits
            .iter()
            .any(|c| c.info.get(key).and_then(|v| v.as_str()) == Some(value)))
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
            Ok(inner) => Ok(Table {
                inner,
                uri,
                storage: self.storage.clone(),
            }),
            // Another process evolved it first: take theirs and check it.
            Err(_) => match Table::open(url, None, &self.storage).await? {
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

    /// The storage configuration the table was opened with.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The loaded snapshot version.
    pub fn version(&self) -> i64 {
        self.inner.version().map_or(-1, |v| v as i64)
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
            .map(|f| f.iter().map(ToString::to_string).collect::<Vec<_>>())
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

    /// The last version recorded for application transaction `app_id`.
    pub async fn transaction_version(&self, app_id: &str) -> Result<Option<i64>> {
        let snapshot = self.inner.snapshot().map_err(|e| self.delta_err(e))?;
        match snapshot
            .transaction_version(self.inner.log_store().as_ref(), app_id)
            .await
        {
            Ok(v) => Ok(v),
            Err(e) => Err(self.diagnosed(e).await),
        }
    }

    /// Reload the latest snapshot.
    pub async fn refresh(&mut self) -> Result<()> {
        match self.inner.update_state().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.diagnosed(e).await),
        }
    }
}

/// A location about to become a Delta table must be empty (or hold only the
/// `_delta_log` of a table another process is creating right now): lakescore
/// never turns a folder of someone's files into a table around them, as Spark
/// refuses to write a Delta table to a non-empty location that is not one.
async fn refuse_foreign_files(table: &DeltaTable, uri: &str) -> Result<()> {
    let store = table.log_store().object_store(None);
    let listed = match store.list_with_delimiter(None).await {
        Ok(listed) => listed,
        // Nothing there yet (a local folder that does not exist).
        Err(deltalake::ObjectStoreError::NotFound { .. }) => return Ok(()),
        Err(source) => {
            return Err(LakeError::Object {
                lake: uri.to_string(),
                path: String::new(),
                source: Box::new(source),
            });
        }
    };
    if listed
        .common_prefixes
        .iter()
        .any(|p| p.filename() == Some("_delta_log"))
    {
        return Ok(());
    }
    let mut found: Vec<String> = listed
        .common_prefixes
        .iter()
        .map(|p| format!("{}/", p.filename().unwrap_or_default()))
        .chain(
            listed
                .objects
                .iter()
                .map(|o| o.location.filename().unwrap_or_default().to_string()),
        )
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    Err(LakeError::NotADeltaTable {
        location: uri.to_string(),
        count: found.len(),
        examples: found.into_iter().take(3).collect::<Vec<_>>().join(", "),
    })
}

/// The first commit file of the log (of the last 1,000) that is not valid
/// JSON lines, as an error naming it.
async fn corrupt_log_entry(log_store: &LogStoreRef, uri: &str) -> Option<LakeError> {
    let store = log_store.object_store(None);
    let log = deltalake::Path::from("_delta_log");
    let listed: Vec<deltalake::ObjectMeta> = store.list(Some(&log)).try_collect().await.ok()?;
    let mut commits: Vec<(i64, deltalake::Path)> = listed
        .into_iter()
        .filter_map(|m| {
            let version = m.location.filename()?.strip_suffix(".json")?.parse().ok()?;
            Some((version, m.location))
        })
        .collect();
    commits.sort();
    let start = commits.len().saturating_sub(1000);
    for (version, path) in &commits[start..] {
        let bytes = store.get(path).await.ok()?.bytes().await.ok()?;
        let lines = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
        for line in lines {
            if let Err(source) = serde_json::from_slice::<serde_json::Value>(line) {
                return Some(LakeError::LogEntry {
                    table: uri.to_string(),
                    version: *version,
                    source,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lake;

    #[derive(serde::Serialize)]
    struct Row {
        id: i64,
    }

    /// delta-rs reports an unparsable log entry without naming it; we name it.
    #[tokio::test]
    async fn a_corrupt_log_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let schema = ArrowSchema::new(vec![arrow::datatypes::Field::new(
            "id",
            arrow::datatypes::DataType::Int64,
            false,
        )]);
        let mut t = lake
            .ensure_table("t", &schema, &[], &[], "t")
            .await
            .unwrap();
        // Created with Spark's checkpoint interval, not delta-rs' 100.
        let config = t
            .inner
            .snapshot()
            .unwrap()
            .metadata()
            .configuration()
            .clone();
        assert_eq!(
            config.get("delta.checkpointInterval").map(String::as_str),
            Some(CHECKPOINT_INTERVAL)
        );
        t.append_rows(&[Row { id: 1 }], Default::default(), None)
            .await
            .unwrap();
        let entry = dir.path().join("t/_delta_log/00000000000000000001.json");
        std::fs::write(&entry, b"{\"add\": {\"path\": truncated\n").unwrap();
        let err = match lake.open_table("t").await {
            Err(e) => e,
            Ok(t) => t.unwrap().file_views().await.map(|_| ()).unwrap_err(),
        };
        let text = err.to_string();
        assert!(
            matches!(err, LakeError::LogEntry { version: 1, .. })
                && text.contains("_delta_log/00000000000000000001.json"),
            "{text}"
        );
    }

    #[derive(serde::Serialize)]
    struct Wide {
        id: i64,
        name: String,
        score: f64,
    }

    /// The stats of the one `add` in commit 1 of `rel`.
    fn first_add_stats(dir: &std::path::Path, rel: &str) -> serde_json::Value {
        let log =
            std::fs::read_to_string(dir.join(rel).join("_delta_log/00000000000000000001.json"))
                .unwrap();
        let add = log
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find_map(|a| a.get("add").cloned())
            .unwrap();
        serde_json::from_str(add["stats"].as_str().unwrap()).unwrap()
    }

    /// New tables keep column statistics for the chosen columns only, or none
    /// but the row count: every open parses them for every active file.
    #[tokio::test]
    async fn file_statistics_cover_the_chosen_columns_only() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let schema = ArrowSchema::new(vec![
            arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int64, false),
            arrow::datatypes::Field::new("name", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("score", arrow::datatypes::DataType::Float64, false),
        ]);
        let rows = [
            Wide {
                id: 1,
                name: "a".into(),
                score: 0.5,
            },
            Wide {
                id: 7,
                name: "z".into(),
                score: 0.25,
            },
        ];
        let mut some = lake
            .ensure_table("some", &schema, &[], &["score"], "t")
            .await
            .unwrap();
        some.append_rows(&rows, Default::default(), None)
            .await
            .unwrap();
        let stats = first_add_stats(dir.path(), "some");
        assert_eq!(stats["numRecords"], 2);
        assert_eq!(
            stats["minValues"],
            serde_json::json!({"score": 0.25}),
            "{stats}"
        );
        assert_eq!(
            stats["maxValues"],
            serde_json::json!({"score": 0.5}),
            "{stats}"
        );

        let mut none = lake
            .ensure_table("none", &schema, &[], &[], "t")
            .await
            .unwrap();
        none.append_rows(&rows, Default::default(), None)
            .await
            .unwrap();
        let stats = first_add_stats(dir.path(), "none");
        assert_eq!(stats["numRecords"], 2);
        let columns = |k: &str| {
            stats
                .get(k)
                .and_then(|v| v.as_object())
                .map_or(0, serde_json::Map::len)
        };
        assert_eq!(
            columns("minValues") + columns("maxValues") + columns("nullCount"),
            0,
            "{stats}"
        );
    }
}
