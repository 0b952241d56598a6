//! Where a scan's files are and how polars reaches them: local paths or
//! object-store URIs (`s3://`, `az://`, `gs://`, ...), with the lake's one
//! storage configuration turned into polars' cloud options, so that a Parquet
//! glob and a Delta table in one bucket are reached the same way.

use std::path::PathBuf;

use lakescore_lake::Storage;
use polars::io::cloud::CloudOptions;
use polars::prelude::*;

use super::{Result, ScoreError};

/// The files one scan reads, in order, and the cloud options that reach them;
/// for a partitioned Delta table, each file's partition values, which its
/// Parquet data does not hold.
#[derive(Debug, Clone, Default)]
pub struct Files {
    locations: Vec<String>,
    cloud: Option<CloudOptions>,
    /// Partition columns: name and type (from the table's schema).
    partition_types: Vec<(String, DataType)>,
    /// Per file (as `locations`): the partition values in Delta's string
    /// form (`None` for null), in `partition_types`' order.
    partition_values: Vec<Vec<Option<String>>>,
}

/// Whether `location` is an object-store URI (not a local path or `file://`).
pub fn is_remote(location: &str) -> bool {
    location
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme != "file" && !scheme.contains('/'))
}

/// polars' cloud options for `location` from `storage` (`None` for local files).
pub fn cloud_options(storage: &Storage, location: &str) -> Result<Option<CloudOptions>> {
    if !is_remote(location) {
        return Ok(None);
    }
    let scheme = PlRefPath::new(location).scheme();
    CloudOptions::from_untyped_config(scheme, storage.options().iter())
        .map(Some)
        .map_err(|e| ScoreError::BadPattern {
            pattern: location.into(),
            message: format!(
                "storage options ({}): {}",
                storage.redacted(),
                super::first_line(&e.to_string())
            ),
        })
}

impl Files {
    /// Local files (paths as given).
    pub fn local(paths: Vec<PathBuf>) -> Self {
        Self {
            locations: paths
                .into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            cloud: None,
            partition_types: Vec::new(),
            partition_values: Vec::new(),
        }
    }

    /// Files at `locations` (paths or URIs of one store), reached with `storage`.
    pub fn new(locations: Vec<String>, storage: &Storage) -> Result<Self> {
        let cloud = match locations.iter().find(|l| is_remote(l)) {
            Some(first) => cloud_options(storage, first)?,
            None => None,
        };
        Ok(Self {
            locations,
            cloud,
            partition_types: Vec::new(),
            partition_values: Vec::new(),
        })
    }

    /// Give each file its partition columns: `types` (name and type) and,
    /// per file, the values as the Delta log holds them.
    #[must_use]
    pub fn with_partitions(
        mut self,
        types: Vec<(String, DataType)>,
        values: Vec<Vec<Option<String>>>,
    ) -> Self {
        debug_assert_eq!(values.len(), self.locations.len());
        self.partition_types = types;
        self.partition_values = values;
        self
    }

    pub fn len(&self) -> usize {
        self.locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    pub fn locations(&self) -> &[String] {
        &self.locations
    }

    pub fn first(&self) -> Option<&str> {
        self.locations.first().map(String::as_str)
    }

    /// Only the files at `locations` (in this list's order), with their
    /// partition values.
    #[must_use]
    pub fn select(&self, locations: &[String]) -> Files {
        let wanted: std::collections::HashSet<&String> = locations.iter().collect();
        let keep: Vec<usize> = (0..self.locations.len())
            .filter(|&i| wanted.contains(&self.locations[i]))
            .collect();
        Files {
            locations: keep.iter().map(|&i| self.locations[i].clone()).collect(),
            cloud: self.cloud.clone(),
            partition_types: self.partition_types.clone(),
            partition_values: if self.partition_values.is_empty() {
                Vec::new()
            } else {
                keep.iter()
                    .map(|&i| self.partition_values[i].clone())
                    .collect()
            },
        }
    }

    /// The file at `location` alone, reached the same way (no partition values).
    #[must_use]
    pub fn only(&self, location: &str) -> Files {
        Files {
            locations: vec![location.to_string()],
            cloud: self.cloud.clone(),
            partition_types: Vec::new(),
            partition_values: Vec::new(),
        }
    }

    /// A lazy scan of file `i` with its partition columns added, typed by
    /// the table's schema (a value that does not parse as its type is an
    /// error, as it would be in Spark).
    pub fn scan_file(&self, i: usize) -> PolarsResult<LazyFrame> {
        let scan = self.only(&self.locations[i]).scan()?;
        let Some(values) = self.partition_values.get(i) else {
            return Ok(scan);
        };
        let columns: Vec<Expr> = self
            .partition_types
            .iter()
            .zip(values)
            .map(|((name, dtype), value)| {
                match value {
                    Some(v) if dtype == &DataType::Binary => lit(v.as_str()).cast(DataType::Binary),
                    Some(v) => lit(v.as_str()).strict_cast(dtype.clone()),
                    None => lit(NULL).cast(dtype.clone()),
                }
                .alias(name.as_str())
            })
            .collect();
        Ok(scan.with_columns(columns))
    }

    /// The schema of file `i` (partition columns included); a file polars
    /// cannot read is named.
    pub fn schema_at(&self, i: usize) -> Result<SchemaRef> {
        self.scan_file(i)
            .and_then(|mut lf| lf.collect_schema())
            .map_err(|e| unreadable(&self.locations[i], &e))
    }

    /// One lazy scan of these Parquet files (no globbing), with Hive
    /// partitioning as `hive` says, else polars' default.
    pub fn scan_with(&self, hive: Option<HiveOptions>) -> PolarsResult<LazyFrame> {
        let paths: Vec<PlRefPath> = self.locations.iter().map(PlRefPath::new).collect();
        let mut args = ScanArgsParquet {
            glob: false,
            cloud_options: self.cloud.clone(),
            ..Default::default()
        };
        if let Some(hive) = hive {
            args.hive_options = hive;
        }
        LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)
    }

    pub fn scan(&self) -> PolarsResult<LazyFrame> {
        self.scan_with(None)
    }
}

/// A file that could not be read: a store that did not answer is a
/// [`ScoreError::Unreachable`] (a retry may succeed), anything else
/// [`ScoreError::Corrupt`].
pub(crate) fn unreadable(location: &str, e: &PolarsError) -> ScoreError {
    let message = super::first_line(&e.to_string());
    if is_remote(location) && matches!(e, PolarsError::IO { .. }) {
        ScoreError::Unreachable {
            path: location.into(),
            message,
        }
    } else {
        ScoreError::Corrupt {
            path: location.into(),
            message,
        }
    }
}

/// Expand a local glob into the sorted list of matching files.
pub fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>> {
    let paths = glob::glob(pattern).map_err(|e| ScoreError::BadPattern {
        pattern: pattern.into(),
        message: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = paths
        .filter_map(std::result::Result::ok)
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ScoreError::NoInput {
            pattern: pattern.into(),
        });
    }
    Ok(files)
}

/// The files matching `pattern`, a local glob or an object-store URI with a
/// glob in its key (`s3://bucket/in/{{ ds }}/*.parquet` once rendered), sorted.
pub async fn expand(pattern: &str, storage: &Storage) -> Result<Files> {
    if !is_remote(pattern) {
        let local = pattern.strip_prefix("file://").unwrap_or(pattern);
        return Ok(Files::local(expand_glob(local)?));
    }
    let found = lakescore_lake::list_matching(pattern, storage)
        .await
        .map_err(|source| ScoreError::Lake {
            pattern: pattern.into(),
            source: Box::new(source),
        })?;
    if found.is_empty() {
        return Err(ScoreError::NoInput {
            pattern: pattern.into(),
        });
    }
    Files::new(found, storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_locations_are_told_from_local_ones() {
        assert!(is_remote("s3://b/k.parquet"));
        assert!(is_remote("abfss://c@a.dfs.core.windows.net/k"));
        assert!(!is_remote("file:///tmp/x.parquet"));
        assert!(!is_remote("/tmp/x.parquet"));
        assert!(!is_remote("data/a://b"));
    }
}
