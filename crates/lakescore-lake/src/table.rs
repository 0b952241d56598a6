//! One Delta table: open, create, evolve, check its schema.
//!
//! Reading is in [`crate::read`], writing in [`crate::write`]; the streaming
//! replace-a-date writer in [`crate::writer`].

use std::collections::HashMap;

use arrow::datatypes::{Schema as ArrowSchema, SchemaRef};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::{StructField, StructType};
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use url::Url;

use super::{LakeError, Result};

/// An open Delta table at a loaded snapshot.
pub struct Table {
    pub(crate) inner: DeltaTable,
    pub(crate) uri: String,
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
            .with_partition_columns(partitions.iter().map(ToString::to_string))
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
}
