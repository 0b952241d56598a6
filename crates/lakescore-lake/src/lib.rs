//! The lake: the only crate that talks to Delta Lake and object storage.
//!
//! A [`Lake`] is a root URI (`./lake` by default, a `file://` URI, or an
//! object store's `s3://`, `az://`/`abfss://` or `gs://` URI, each with its
//! cargo feature) under which every lakescore table lives, reached with one
//! [`Storage`] configuration. This crate opens and creates Delta
//! tables ([`table`]), reads them ([`read`]), appends rows in single commits
//! with optimistic concurrency ([`write`]), streams scored batches into one
//! atomic replace-a-date commit ([`writer`]), stores artifacts as objects and
//! holds leases ([`lease`]). Each owned table's schema is derived from its row
//! type ([`schema`]). No other crate depends on `deltalake`.

pub mod glob;
pub mod lease;
mod local;
pub mod maintain;
pub mod read;
pub mod schema;
pub mod storage;
pub mod table;
pub mod write;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::Schema as ArrowSchema;
use deltalake::ObjectStore;
use deltalake::logstore::object_store::ObjectStoreExt as _;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use lakescore_core::{Classify, ErrorClass};
use url::Url;

pub use glob::list_matching;
pub use maintain::{MaintainOptions, TableMaintenance};
pub use read::ReadTable;
pub use schema::schema_of;
pub use storage::Storage;
pub use table::{DataFile, Table};
pub use writer::{DateReplaceWriter, ReplaceOutcome};

/// Errors from the lake layer. Each variant names the table or object it
/// concerns; the underlying error is its source (printed once, after it).
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("invalid lake or table location {location:?}: {reason}")]
    InvalidLocation { location: String, reason: String },
    /// A command that only reads found no lake where it looked.
    #[error("no lake at {location}")]
    NoLake { location: String },
    #[error(
        "unsupported scheme \"{scheme}:\" in {location:?}: this build reads local paths and \
         {supported}"
    )]
    UnsupportedScheme {
        location: String,
        scheme: String,
        supported: String,
    },
    /// A storage option that does not parse.
    #[error("storage option {key}: {reason}")]
    InvalidStorage { key: String, reason: String },
    /// A storage configuration under which concurrent writers are not safe.
    #[error("unsafe storage configuration for {location}: {key} {reason}")]
    UnsafeStorage {
        location: String,
        key: String,
        reason: String,
    },
    #[error("Delta table {table}")]
    Delta {
        table: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    #[error("Delta table {table} has schema {found}, but lakescore expects {expected}")]
    SchemaMismatch {
        table: String,
        expected: String,
        found: String,
    },
    /// A location to create a table in already holds other files.
    #[error(
        "{location} is not a Delta table (no _delta_log) but holds {count} entries ({examples}); \
         lakescore creates a table only in an empty location: choose another table path or \
         move those files away"
    )]
    NotADeltaTable {
        location: String,
        count: usize,
        examples: String,
    },
    #[error("Delta table {table} uses unsupported feature: {feature}")]
    Unsupported { table: String, feature: String },
    #[error("Delta table {table}: {message}")]
    Conflict { table: String, message: String },
    #[error("object {path} in lake {lake}")]
    Object {
        lake: String,
        path: String,
        #[source]
        source: Box<deltalake::ObjectStoreError>,
    },
    /// Rows that do not fit the table's schema (a bug, or a table written by another tool).
    #[error("table {table}: cannot convert rows")]
    Rows {
        table: String,
        #[source]
        source: serde_arrow::Error,
    },
    #[error("table {table}: column {column}")]
    Column {
        table: String,
        column: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("table {table}: data file {file}")]
    DataFile {
        table: String,
        file: String,
        #[source]
        source: deltalake::parquet::errors::ParquetError,
    },
    #[error("Delta table {table}: commit {version} in the log (_delta_log/{version:020}.json)")]
    LogEntry {
        table: String,
        version: i64,
        #[source]
        source: serde_json::Error,
    },
    /// An incremental read found a commit that is not an append.
    #[error(
        "Delta table {table} version {version} ({operation}) {what}: an incremental input \
         takes appends only; score the table in full once (`mode = \"full\"`) or start a new job"
    )]
    NotAppendOnly {
        table: String,
        version: i64,
        operation: String,
        what: String,
    },
}

impl Classify for LakeError {
    /// A location, schema or table unusable as given is bad input; storage and
    /// commit races are transient; the rest (unreadable files and log entries,
    /// rows that do not convert) is a failure that a retry would repeat.
    fn class(&self) -> ErrorClass {
        match self {
            LakeError::SchemaMismatch { .. }
            | LakeError::InvalidLocation { .. }
            | LakeError::NoLake { .. }
            | LakeError::UnsupportedScheme { .. }
            | LakeError::InvalidStorage { .. }
            | LakeError::UnsafeStorage { .. }
            | LakeError::Unsupported { .. }
            | LakeError::NotAppendOnly { .. }
            | LakeError::NotADeltaTable { .. } => ErrorClass::BadInput,
            LakeError::Object { source, .. } if missing_bucket(source.as_ref()) => {
                ErrorClass::BadInput
            }
            LakeError::Conflict { .. } | LakeError::Object { .. } => ErrorClass::Transient,
            LakeError::Delta { source, .. } if missing_bucket(source.as_ref()) => {
                ErrorClass::BadInput
            }
            LakeError::Delta { source, .. } => delta_class(source),
            LakeError::Rows { .. }
            | LakeError::Column { .. }
            | LakeError::DataFile { .. }
            | LakeError::LogEntry { .. } => ErrorClass::Failure,
        }
    }
}

/// Whether a store said that the bucket or container does not exist (S3's
/// `NoSuchBucket`, Azure's `ContainerNotFound`, GCS' message): a location
/// given wrong, not an outage. object_store reports these as generic errors,
/// so their text is what tells.
fn missing_bucket(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if [
            "NoSuchBucket",
            "ContainerNotFound",
            "The specified bucket does not exist",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// How a delta-rs error classifies: storage and commit trouble is transient.
fn delta_class(e: &deltalake::DeltaTableError) -> ErrorClass {
    use deltalake::DeltaTableError as E;
    match e {
        E::ObjectStore { .. }
        | E::Io { .. }
        | E::Transaction { .. }
        | E::VersionAlreadyExists(_) => ErrorClass::Transient,
        E::NotATable(_) | E::InvalidTableLocation(_) | E::InvalidVersion(_) => ErrorClass::BadInput,
        _ => ErrorClass::Failure,
    }
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// A lake root and the storage configuration that reaches it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Lake {
    root: Url,
    storage: Storage,
}

impl Lake {
    /// Open the existing lake at `location` (a local path or a URI) with the
    /// environment's storage configuration only.
    pub fn open(location: &str) -> Result<Self> {
        Self::open_with(location, Storage::default())
    }

    /// Open the existing lake at `location`, reached with `storage`. A local
    /// lake that is not there is an error ([`LakeError::NoLake`]): only
    /// [`Lake::create`] makes one, so a command run from the wrong directory
    /// never leaves a stray lake behind. (An object-store prefix exists as
    /// soon as anything is written under it: there is nothing to check.)
    pub fn open_with(location: &str, storage: Storage) -> Result<Self> {
        let root = lake_root(location)?;
        storage.check(&root)?;
        if let Some(path) = local_path(&root)
            && !path.is_dir()
        {
            return Err(LakeError::NoLake {
                location: path.display().to_string(),
            });
        }
        Ok(Self { root, storage })
    }

    /// Open the lake at `location`, creating its root folder when missing.
    pub fn create(location: &str) -> Result<Self> {
        Self::create_with(location, Storage::default())
    }

    /// [`Lake::create`] reached with `storage`.
    pub fn create_with(location: &str, storage: Storage) -> Result<Self> {
        let root = lake_root(location)?;
        storage.check(&root)?;
        if let Some(path) = local_path(&root) {
            std::fs::create_dir_all(&path).map_err(|e| LakeError::InvalidLocation {
                location: location.to_string(),
                reason: format!("cannot create directory: {e}"),
            })?;
        }
        Ok(Self { root, storage })
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The storage configuration every location of this lake's runs is reached with.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The URI of a table: `rel` relative to the lake root, or a full URI / absolute path.
    pub fn table_url(&self, rel: &str) -> Result<Url> {
        location_to_url(rel, Some(&self.root))
    }

    /// Open a table that may not exist yet (no IO beyond reading the log).
    pub async fn open_table(&self, rel: &str) -> Result<Option<Table>> {
        Table::open(self.table_url(rel)?, None, &self.storage).await
    }

    /// Open a table at a given version.
    pub async fn open_table_at(&self, rel: &str, version: i64) -> Result<Option<Table>> {
        Table::open(self.table_url(rel)?, Some(version), &self.storage).await
    }

    /// Open a Delta table anywhere (a job's input or reference: a path or a
    /// URI, relative paths against the current directory) with this lake's
    /// storage configuration; `None` when there is no table there.
    pub async fn open_location(
        &self,
        location: &str,
        version: Option<i64>,
    ) -> Result<Option<Table>> {
        let url = location_to_url(location, None)?;
        self.storage.check(&url)?;
        Table::open(url, version, &self.storage).await
    }

    /// Open a table as it stood at `at` (Delta time travel); `None` when it did not exist yet.
    pub async fn open_table_as_of(
        &self,
        rel: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Table>> {
        Table::open_as_of(self.table_url(rel)?, at, &self.storage).await
    }

    /// Open `rel`, creating it with `schema` and `partitions` when it does not
    /// exist. An existing table must have `schema`'s columns; nullable columns
    /// missing at its end are added (see [`Table::ensure`]).
    ///
    /// A new table keeps file statistics (min, max, null count) for
    /// `stats_columns` only, the columns readers filter on besides the
    /// partitions; none (an empty slice) but the row count for tables read
    /// whole. Every open parses the statistics of every active file, so this
    /// is what keeps a table's open cost from growing with its columns.
    pub async fn ensure_table(
        &self,
        rel: &str,
        schema: &ArrowSchema,
        partitions: &[&str],
        stats_columns: &[&str],
        description: &str,
    ) -> Result<Table> {
        Table::ensure(
            self.table_url(rel)?,
            schema,
            partitions,
            stats_columns,
            description,
            &self.storage,
        )
        .await
    }

    /// An object store rooted at the lake (paths are relative to the root).
    fn object_store(&self) -> Result<Arc<dyn ObjectStore>> {
        object_store_at(&self.root, &self.storage)
    }

    /// Every Delta table under the lake root (relative paths, sorted): folders
    /// holding a `_delta_log`, searched to three levels (`runs`,
    /// `predictions/<job>`, `registry/model_versions`, ...).
    pub async fn tables(&self) -> Result<Vec<String>> {
        let store = self.object_store()?;
        let mut found = Vec::new();
        let mut frontier = vec![ObjectPath::default()];
        for _depth in 0..3 {
            let mut next = Vec::new();
            for prefix in frontier {
                let listed = store
                    .list_with_delimiter(Some(&prefix))
                    .await
                    .map_err(|source| self.object_err(prefix.as_ref(), source))?;
                let is_table = listed
                    .common_prefixes
                    .iter()
                    .any(|p| p.filename() == Some("_delta_log"));
                if is_table {
                    found.push(prefix.to_string());
                    continue;
                }
                next.extend(listed.common_prefixes.into_iter().filter(|p| {
                    // Partition folders and content-addressed objects hold no tables.
                    p.filename().is_some_and(|name| !name.contains('='))
                }));
            }
            frontier = next;
        }
        found.retain(|t| !t.is_empty());
        found.sort();
        Ok(found)
    }

    /// Whether `rel` (relative to the lake, or a full URI or path) holds a
    /// Delta table: a `_delta_log` with at least one entry.
    pub async fn has_table(&self, rel: &str) -> bool {
        let Ok(url) = self.table_url(rel) else {
            return false;
        };
        if let Some(path) = local_path(&url) {
            return path.join("_delta_log").is_dir();
        }
        let Ok(store) = object_store_at(&url, &self.storage) else {
            return false;
        };
        let log = ObjectPath::from("_delta_log");
        store
            .list_with_delimiter(Some(&log))
            .await
            .is_ok_and(|l| !l.objects.is_empty() || !l.common_prefixes.is_empty())
    }

    /// Write an object (a model artifact) at `rel` under the lake root.
    pub async fn put_object(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let store = self.object_store()?;
        store
            .put(&ObjectPath::from(rel), bytes.into())
            .await
            .map(|_| ())
            .map_err(|source| self.object_err(rel, source))
    }

    /// Read an object at `rel` under the lake root.
    pub async fn get_object(&self, rel: &str) -> Result<Vec<u8>> {
        let store = self.object_store()?;
        let got = store
            .get(&ObjectPath::from(rel))
            .await
            .map_err(|source| self.object_err(rel, source))?;
        let bytes = got
            .bytes()
            .await
            .map_err(|source| self.object_err(rel, source))?;
        // The buffer the store read into, not a copy (a profile is tens of MB).
        Ok(bytes.into())
    }

    /// Read an object at `rel`, or `None` when there is none.
    pub async fn get_object_opt(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match self.get_object(rel).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(LakeError::Object { source, .. })
                if matches!(*source, deltalake::ObjectStoreError::NotFound { .. }) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The objects under `prefix` (relative to the lake root), sorted.
    pub async fn list_objects(&self, prefix: &str) -> Result<Vec<String>> {
        use futures::TryStreamExt as _;
        let store = self.object_store()?;
        let prefix_path = ObjectPath::from(prefix);
        let listed: Vec<_> = store
            .list(Some(&prefix_path))
            .try_collect()
            .await
            .map_err(|source| self.object_err(prefix, source))?;
        let mut keys: Vec<String> = listed.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        Ok(keys)
    }

    fn object_err(&self, rel: &str, source: deltalake::ObjectStoreError) -> LakeError {
        LakeError::Object {
            lake: self.root.to_string(),
            path: rel.to_string(),
            source: Box::new(source),
        }
    }
}

/// A lake root's URL, ending in `/` as a folder's does (`s3://b/lake/`).
fn lake_root(location: &str) -> Result<Url> {
    let mut root = location_to_url(location, None)?;
    if !root.path().ends_with('/') {
        let path = format!("{}/", root.path());
        root.set_path(&path);
    }
    Ok(root)
}

/// An object store rooted at `url`, reached with `storage`.
pub(crate) fn object_store_at(url: &Url, storage: &Storage) -> Result<Arc<dyn ObjectStore>> {
    let config = deltalake::logstore::StorageConfig::parse_options(storage.delta_options())
        .map_err(|e| LakeError::InvalidStorage {
            key: storage.redacted(),
            reason: e.to_string(),
        })?;
    let log_store =
        deltalake::logstore::logstore_for(url, config).map_err(|e| LakeError::InvalidLocation {
            location: url.to_string(),
            reason: e.to_string(),
        })?;
    Ok(log_store.object_store(None))
}

/// The type of every timestamp lakescore writes: Delta's `timestamp`
/// (microseconds, UTC).
pub fn utc_timestamp() -> arrow::datatypes::DataType {
    use arrow::datatypes::{DataType, TimeUnit};
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Turn a path or URI into a URL; relative paths are taken against `base`
/// (the lake root) or, without a base, against the current directory.
pub fn location_to_url(location: &str, base: Option<&Url>) -> Result<Url> {
    let invalid = |reason: String| LakeError::InvalidLocation {
        location: location.to_string(),
        reason,
    };
    if location.trim().is_empty() {
        return Err(invalid("empty location".into()));
    }
    if let Ok(url) = Url::parse(location)
        && url.scheme().len() > 1
    {
        if !storage::scheme_supported(url.scheme()) {
            return Err(LakeError::UnsupportedScheme {
                location: location.to_string(),
                scheme: url.scheme().to_string(),
                supported: storage::supported_schemes(),
            });
        }
        if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!(
                "no bucket or container: write {}://BUCKET/PATH",
                url.scheme()
            )));
        }
        return Ok(url);
    }
    let path = Path::new(location);
    let abs: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else if let Some(base) = base {
        let mut joined = base.clone();
        let base_path = joined.path().trim_end_matches('/').to_string();
        joined.set_path(&format!(
            "{base_path}/{}",
            location.trim_start_matches("./")
        ));
        return Ok(joined);
    } else {
        std::env::current_dir()
            .map_err(|e| invalid(format!("no current directory: {e}")))?
            .join(path)
    };
    Url::from_directory_path(lakescore_core::path::normalize(&abs))
        .map_err(|()| invalid("not an absolute path".into()))
}

/// The local filesystem path of a `file://` URL, for readers (polars) that take paths.
pub fn local_path(url: &Url) -> Option<PathBuf> {
    (url.scheme() == "file")
        .then(|| url.to_file_path().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_tables_live_under_the_lake() {
        let root = Url::parse("file:///tmp/lake/").unwrap();
        let url = location_to_url("predictions/churn", Some(&root)).unwrap();
        assert_eq!(url.as_str(), "file:///tmp/lake/predictions/churn");
        let abs = location_to_url("file:///data/x", Some(&root)).unwrap();
        assert_eq!(abs.as_str(), "file:///data/x");
    }

    #[test]
    fn unsupported_schemes_are_refused_as_bad_input() {
        let e = location_to_url("hdfs://namenode/lake", None).unwrap_err();
        assert!(matches!(e, LakeError::UnsupportedScheme { ref scheme, .. } if scheme == "hdfs"));
        assert_eq!(e.class(), ErrorClass::BadInput);
        assert!(e.to_string().contains("file://"), "{e}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn object_store_locations_need_a_bucket() {
        let e = location_to_url("s3:///lake", None).unwrap_err();
        assert!(e.to_string().contains("no bucket"), "{e}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn object_store_tables_live_under_the_lake() {
        let root = location_to_url("s3://bucket/lake", None).unwrap();
        let url = location_to_url("predictions/churn", Some(&root)).unwrap();
        assert_eq!(url.as_str(), "s3://bucket/lake/predictions/churn");
    }

    #[test]
    fn open_never_creates_a_lake_and_create_does() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("nested/lake");
        let e = Lake::open(at.to_str().unwrap()).unwrap_err();
        assert!(matches!(e, LakeError::NoLake { .. }), "{e}");
        assert!(!at.exists());
        Lake::create(at.to_str().unwrap()).unwrap();
        assert!(at.is_dir());
        Lake::open(at.to_str().unwrap()).unwrap();
    }

    #[test]
    fn local_paths_are_normalized() {
        let url = location_to_url("/tmp/a/./b/../lake", None).unwrap();
        assert_eq!(url.as_str(), "file:///tmp/a/lake/");
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Old {
        id: i64,
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct New {
        id: i64,
        note: Option<String>,
    }

    fn schema(with_note: bool) -> ArrowSchema {
        use arrow::datatypes::{DataType, Field};
        let mut fields = vec![Field::new("id", DataType::Int64, false)];
        if with_note {
            fields.push(Field::new("note", DataType::Utf8, true));
        }
        ArrowSchema::new(fields)
    }

    #[tokio::test]
    async fn tables_gain_new_nullable_columns_and_time_travel_by_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let before = chrono::Utc::now() - chrono::Duration::seconds(5);
        let mut t = lake
            .ensure_table("t", &schema(false), &[], &[], "t")
            .await
            .unwrap();
        t.append_rows(&[Old { id: 1 }], Default::default(), None)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let between = chrono::Utc::now();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;

        // Rows of the old table read into the new type (serde defaults) before any write.
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Newer {
            id: i64,
            #[serde(default)]
            note: Option<String>,
        }
        let (_, early) = t.read_rows::<Newer>().await.unwrap();
        assert_eq!(early, vec![Newer { id: 1, note: None }]);

        // A later release expects one more (nullable) column: it is added, old rows read null.
        let mut t = lake
            .ensure_table("t", &schema(true), &[], &[], "t")
            .await
            .unwrap();
        t.append_rows(
            &[New {
                id: 2,
                note: Some("n".into()),
            }],
            Default::default(),
            None,
        )
        .await
        .unwrap();
        let (_, rows) = t.read_rows::<New>().await.unwrap();
        let mut rows = rows;
        rows.sort_by_key(|r| r.id);
        assert_eq!(
            rows,
            vec![
                New { id: 1, note: None },
                New {
                    id: 2,
                    note: Some("n".into())
                }
            ]
        );
        // Anything but an added nullable column is still a mismatch.
        use arrow::datatypes::{DataType, Field};
        let other = ArrowSchema::new(vec![Field::new("id", DataType::Utf8, false)]);
        assert!(matches!(
            lake.ensure_table("t", &other, &[], &[], "t").await,
            Err(LakeError::SchemaMismatch { .. })
        ));

        let then = lake.open_table_as_of("t", between).await.unwrap().unwrap();
        let (_, old_rows) = then.read_rows::<Old>().await.unwrap();
        assert_eq!(old_rows, vec![Old { id: 1 }]);
        assert!(lake.open_table_as_of("t", before).await.unwrap().is_none());
        assert!(
            lake.open_table_as_of("missing", between)
                .await
                .unwrap()
                .is_none()
        );
    }
}
