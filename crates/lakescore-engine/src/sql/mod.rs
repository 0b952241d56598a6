//! `lakescore sql`: SQL over the lake's Delta tables with polars' SQL engine.
//!
//! Every table lakescore owns is registered by name (`runs`, `drift_metrics`,
//! `drift_histograms`, `model_versions`, `model_events`), every predictions table by its job's
//! name and by its path in the lake (`"predictions/churn_daily"`, quoted), every
//! inference log of `lakescore serve` by its path (`"inference/churn"`), and
//! any other Delta table or Parquet file/glob given as `NAME=URI`. A Delta
//! table is the Parquet files of its snapshot (at a version, or as of a time:
//! Delta time travel), scanned lazily with its partition values as typed
//! columns, so a query reads only what it selects, and an aggregate runs in
//! polars' streaming engine without loading the table whole. The result is
//! handed out in batches ([`format`] writes them as a table, CSV, JSON or
//! Parquet).

pub mod format;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use lakescore_core::registry::{EVENTS_TABLE, VERSIONS_TABLE};
use lakescore_core::runs::RUNS_TABLE;
use lakescore_core::{Classify, ErrorClass};
use lakescore_lake::{Lake, LakeError, Table};
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::bridge::{BridgeError, arrow_to_polars};
use crate::runner::drift_table::{DRIFT_TABLE, HISTOGRAMS_TABLE};
use crate::score::Files;

/// The one-row table of the query's start time: `now` (UTC timestamp) and `today` (UTC date).
pub const CLOCK: &str = "clock";

/// Rows per output batch.
const BATCH_ROWS: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("table {name}")]
    Lake {
        name: String,
        #[source]
        source: LakeError,
    },
    #[error("--table {arg:?}: give NAME=URI (a Delta table or a Parquet file or glob)")]
    BadTableArg { arg: String },
    #[error("--version {name}: there is no Delta table {name:?}; tables: {tables}")]
    UnknownVersionTable { name: String, tables: String },
    /// The query does not plan: bad SQL, an unknown table or column.
    #[error("bad query over {known}")]
    Query {
        #[source]
        source: PolarsError,
        known: String,
    },
    #[error("running the query")]
    Execute(#[source] PolarsError),
    #[error("reading {what}")]
    Scan {
        what: String,
        #[source]
        source: PolarsError,
    },
    #[error("table {name}")]
    Bridge {
        name: String,
        #[source]
        source: BridgeError,
    },
    #[error("writing the result")]
    Write(#[source] std::io::Error),
    #[error("writing the result")]
    Format(#[source] arrow::error::ArrowError),
    #[error("writing the result as Parquet")]
    WriteParquet(#[source] PolarsError),
}

impl Classify for SqlError {
    /// A query that does not plan or a table argument that does not parse is
    /// bad input; reading tables follows the lake's classification.
    fn class(&self) -> ErrorClass {
        match self {
            SqlError::BadTableArg { .. }
            | SqlError::UnknownVersionTable { .. }
            | SqlError::Query { .. } => ErrorClass::BadInput,
            SqlError::Lake { source, .. } => source.class(),
            SqlError::Execute(_)
            | SqlError::Scan { .. }
            | SqlError::Bridge { .. }
            | SqlError::Write(_)
            | SqlError::Format(_)
            | SqlError::WriteParquet(_) => ErrorClass::Failure,
        }
    }
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// What a query runs over.
#[derive(Debug, Clone, Default)]
pub struct SqlRequest {
    pub query: String,
    /// Read every Delta table as it stood at this time.
    pub as_of: Option<DateTime<Utc>>,
    /// Read these tables (by registered name) at these versions.
    pub versions: BTreeMap<String, i64>,
    /// More tables: `NAME=URI` (a Delta table, or a Parquet file or glob).
    pub tables: Vec<String>,
}

/// A table the query may name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegisteredTable {
    pub name: String,
    pub uri: String,
    /// The Delta version read (`None` for Parquet files).
    pub version: Option<i64>,
    pub columns: Vec<String>,
}

/// A planned query: the tables it could see and the lazy result.
pub struct Planned {
    pub tables: Vec<RegisteredTable>,
    pub frame: LazyFrame,
    /// The result's columns and types.
    pub schema: SchemaRef,
}

/// A table to register: where it is, and how to read it.
enum Source {
    Delta { rel: String },
    Parquet { pattern: String },
}

/// Register the lake's tables (and `req.tables`), then plan `req.query`.
pub async fn plan(lake: &Lake, req: &SqlRequest) -> Result<Planned> {
    let mut sources: Vec<(String, Source)> = [RUNS_TABLE, DRIFT_TABLE, HISTOGRAMS_TABLE]
        .iter()
        .map(|t| ((*t).to_string(), Source::Delta { rel: (*t).into() }))
        .collect();
    for (name, rel) in [
        ("model_versions", VERSIONS_TABLE),
        ("model_events", EVENTS_TABLE),
    ] {
        sources.push((name.into(), Source::Delta { rel: rel.into() }));
    }
    for (name, rel) in prediction_tables(lake).await? {
        sources.push((name, Source::Delta { rel }));
    }
    for rel in inference_tables(lake).await {
        sources.push((rel.clone(), Source::Delta { rel }));
    }
    for arg in &req.tables {
        let (name, uri) = arg
            .split_once('=')
            .filter(|(n, u)| !n.trim().is_empty() && !u.trim().is_empty())
            .ok_or_else(|| SqlError::BadTableArg { arg: arg.clone() })?;
        let source = if lake.has_table(uri).await {
            Source::Delta { rel: uri.into() }
        } else {
            Source::Parquet {
                pattern: uri.into(),
            }
        };
        // A later registration of a name replaces the earlier one.
        sources.retain(|(n, _)| n != name);
        sources.push((name.trim().to_string(), source));
    }
    let delta_names: Vec<&str> = sources
        .iter()
        .filter(|(_, s)| matches!(s, Source::Delta { .. }))
        .map(|(n, _)| n.as_str())
        .collect();
    if let Some(name) = req
        .versions
        .keys()
        .find(|n| !delta_names.contains(&n.as_str()))
    {
        return Err(SqlError::UnknownVersionTable {
            name: name.clone(),
            tables: delta_names.join(", "),
        });
    }

    // What polars needs, gathered here (async, from the lake); the frames are
    // built off the async runtime, as polars drives its own.
    // A predictions table has two names: its snapshot is read once.
    let mut read: BTreeMap<(String, Option<i64>), Option<Scan>> = BTreeMap::new();
    let mut scans = Vec::new();
    for (name, source) in sources {
        let scan = match source {
            Source::Delta { rel } => {
                let version = req.versions.get(&name).copied();
                let key = (rel.clone(), version);
                if !read.contains_key(&key) {
                    let scan = match open(lake, &name, &rel, version, req.as_of).await? {
                        Some(table) => Some(Scan::Delta(delta_scan(&name, &table).await?)),
                        None => None,
                    };
                    read.insert(key.clone(), scan);
                }
                // A table that is not there (or was not yet) is not registered.
                let Some(scan) = read[&key].clone() else {
                    continue;
                };
                scan
            }
            Source::Parquet { pattern } => Scan::Parquet { pattern },
        };
        scans.push((name, scan));
    }
    let query = req.query.clone();
    let storage = lake.storage().clone();
    tokio::task::spawn_blocking(move || plan_blocking(scans, &query, &storage))
        .await
        .map_err(|e| SqlError::Execute(PolarsError::ComputeError(e.to_string().into())))?
}

/// The `clock` table: `now` as a UTC timestamp (microseconds, as every
/// lakescore timestamp) and `today`, its date.
fn clock_frame(now: DateTime<Utc>) -> Result<DataFrame> {
    use arrow::array::{Date32Array, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType as ArrowType, Field, Schema as ArrowSchema};
    let days = lakescore_core::runs::days_since_epoch(now.date_naive());
    let schema = Arc::new(ArrowSchema::new(vec![
        Field::new("now", lakescore_lake::utc_timestamp(), false),
        Field::new("today", ArrowType::Date32, false),
    ]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(
                TimestampMicrosecondArray::from(vec![now.timestamp_micros()]).with_timezone("UTC"),
            ),
            Arc::new(Date32Array::from(vec![days])),
        ],
    )
    .map_err(SqlError::Format)?;
    arrow_to_polars(&schema, &[batch]).map_err(|source| SqlError::Bridge {
        name: CLOCK.into(),
        source,
    })
}

/// How to scan one registered table.
#[derive(Clone)]
enum Scan {
    Delta(DeltaScan),
    Parquet { pattern: String },
}

/// A Delta table's snapshot: what scanning it needs.
#[derive(Clone)]
struct DeltaScan {
    uri: String,
    version: i64,
    /// An empty frame with the table's columns and polars types.
    empty: DataFrame,
    partitions: Vec<String>,
    files: Vec<lakescore_lake::DataFile>,
    storage: lakescore_lake::Storage,
}

fn plan_blocking(
    scans: Vec<(String, Scan)>,
    query: &str,
    storage: &lakescore_lake::Storage,
) -> Result<Planned> {
    let mut ctx = SQLContext::new();
    let mut tables = Vec::new();

    for (name, scan) in scans {
        let (uri, version, mut frame) =
            match scan {
                Scan::Delta(DeltaScan {
                    uri,
                    version,
                    empty,
                    partitions,
                    files,
                    storage,
                }) => {
                    let frame = delta_frame(&uri, &empty, &partitions, &files, &storage)?;
                    (uri, Some(version), frame)
                }
                Scan::Parquet { pattern } => {
                    let cloud_options = crate::score::files::cloud_options(storage, &pattern)
                        .map_err(|e| SqlError::Scan {
                            what: pattern.clone(),
                            source: PolarsError::ComputeError(e.to_string().into()),
                        })?;
                    let frame = LazyFrame::scan_parquet(
                        PlRefPath::new(pattern.as_str()),
                        ScanArgsParquet {
                            cloud_options,
                            ..Default::default()
                        },
                    )
                    .map_err(|source| SqlError::Scan {
                        what: pattern.clone(),
                        source,
                    })?;
                    (pattern, None, frame)
                }
            };
        let columns = frame
            .collect_schema()
            .map_err(|source| SqlError::Scan {
                what: uri.clone(),
                source,
            })?
            .iter_names()
            .map(ToString::to_string)
            .collect();
        ctx.register(&name, frame);
        tables.push(RegisteredTable {
            name,
            uri,
            version,
            columns,
        });
    }
    // polars SQL has no NOW(): the query's start time is a one-row table.
    let clock = clock_frame(Utc::now())?;
    ctx.register(CLOCK, clock.lazy());
    tables.push(RegisteredTable {
        name: CLOCK.into(),
        uri: "(the time the query started)".into(),
        version: None,
        columns: vec!["now".into(), "today".into()],
    });
    let planned = ctx
        .execute(query)
        .and_then(|mut lf| lf.collect_schema().map(|s| (lf, s)));
    let (frame, schema) = planned.map_err(|source| SqlError::Query {
        known: known_names(&tables),
        source,
    })?;
    Ok(Planned {
        tables,
        frame,
        schema,
    })
}

impl Planned {
    /// Run the query and hand the result to `sink` in batches. Blocking
    /// (polars drives its own threads).
    ///
    /// The input streams through polars' streaming engine (an aggregate
    /// never holds its table); the result is collected, then handed out in
    /// batches. Should the streaming engine fail on a plan (it panics on a
    /// few, for example some scalar aggregates), the query runs again in the
    /// in-memory engine rather than returning a short result.
    pub fn run(self, mut sink: impl FnMut(&DataFrame) -> Result<()>) -> Result<usize> {
        let df = collect(self.frame)?;
        let rows = df.height();
        let mut offset = 0;
        while offset < rows {
            let len = BATCH_ROWS.min(rows - offset);
            sink(&df.slice(i64::try_from(offset).unwrap_or(i64::MAX), len))?;
            offset += len;
        }
        Ok(rows)
    }
}

/// Collect `frame` in polars' streaming engine (an aggregate never holds its
/// table). Blocking. Should the streaming engine fail on a plan (it panics on
/// a few, for example some scalar aggregates), the query runs again in the
/// in-memory engine rather than returning a short result.
pub fn collect(frame: LazyFrame) -> Result<DataFrame> {
    // A panic inside polars is caught and reported as an error (or
    // retried in memory): keep the default hook from printing it as a crash.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let collected = collect_caught(frame.clone(), Engine::Streaming).or_else(|why| {
        tracing::info!(
            "polars' streaming engine failed on this query ({why}); running it in memory"
        );
        collect_caught(frame, Engine::InMemory).map_err(|why| {
            SqlError::Execute(PolarsError::ComputeError(
                format!("polars failed on this query: {why}").into(),
            ))
        })
    });
    std::panic::set_hook(hook);
    collected?.map_err(SqlError::Execute)
}

/// One Delta table (a lake-relative path or a URI) as a lazy frame over the
/// files of its current snapshot whose partition values `keep` accepts (file
/// pruning, as Delta readers do with partition filters); `None` when there is
/// no table there.
pub async fn table_frame(
    lake: &Lake,
    location: &str,
    keep: impl Fn(&std::collections::HashMap<String, Option<String>>) -> bool,
) -> Result<Option<LazyFrame>> {
    let Some(table) = open(lake, location, location, None, None).await? else {
        return Ok(None);
    };
    let DeltaScan {
        uri,
        empty,
        partitions,
        files,
        storage,
        ..
    } = delta_scan(location, &table).await?;
    let files: Vec<_> = files
        .into_iter()
        .filter(|f| keep(&f.partition_values))
        .collect();
    tokio::task::spawn_blocking(move || delta_frame(&uri, &empty, &partitions, &files, &storage))
        .await
        .map_err(|e| SqlError::Execute(PolarsError::ComputeError(e.to_string().into())))?
        .map(Some)
}

/// Collect `frame` with `engine`; a panic inside polars becomes its message.
// `QueryResult::unwrap_single` cannot be named: polars does not re-export the type.
#[allow(clippy::redundant_closure_for_method_calls)]
fn collect_caught(
    frame: LazyFrame,
    engine: Engine,
) -> std::result::Result<PolarsResult<DataFrame>, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        frame.collect_with_engine(engine).map(|r| r.unwrap_single())
    }))
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
            .unwrap_or_default()
    })
}

/// After an error: the tables there are ("the names that exist").
/// (polars' own message names a missing column and the columns there are.)
fn known_names(tables: &[RegisteredTable]) -> String {
    let names: Vec<String> = tables.iter().map(|t| quote(&t.name)).collect();
    format!("the tables {}", names.join(", "))
}

/// A name as SQL takes it: bare when it is a plain identifier, else quoted.
fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

/// Prediction tables named by the runs table: (name, path in the lake) by job
/// name and by path (one that is gone is skipped when opened).
async fn prediction_tables(lake: &Lake) -> Result<Vec<(String, String)>> {
    let runs = crate::runner::read_runs(lake)
        .await
        .map_err(|source| SqlError::Lake {
            name: RUNS_TABLE.into(),
            source,
        })?;
    let root = lake.root().as_str().trim_end_matches('/').to_string();
    let mut by_job: BTreeMap<String, String> = BTreeMap::new();
    for r in &runs {
        if r.output_table.is_empty() {
            continue;
        }
        // The latest run of a job says where its output is now.
        by_job.insert(r.job_name.clone(), r.output_table.clone());
    }
    let mut out = Vec::new();
    let mut paths = BTreeSet::new();
    for (job, uri) in by_job {
        let rel = uri
            .strip_prefix(&format!("{root}/"))
            .map_or_else(|| uri.clone(), ToString::to_string);
        out.push((job, rel.clone()));
        if paths.insert(rel.clone()) {
            out.push((rel.clone(), rel));
        }
    }
    Ok(out)
}

/// The inference logs `lakescore serve` writes (`inference/<model>`), by
/// their path in the lake.
async fn inference_tables(lake: &Lake) -> Vec<String> {
    let prefix = format!("{INFERENCE_DIR}/");
    lake.tables()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.starts_with(&prefix) && !t[prefix.len()..].contains('/'))
        .collect()
}

/// Where `lakescore serve` logs by default.
pub const INFERENCE_DIR: &str = "inference";

async fn open(
    lake: &Lake,
    name: &str,
    rel: &str,
    version: Option<i64>,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<Table>> {
    let opened = match (version, as_of) {
        (Some(v), _) => lake.open_table_at(rel, v).await,
        (None, Some(at)) => lake.open_table_as_of(rel, at).await,
        (None, None) => lake.open_table(rel).await,
    };
    opened.map_err(|source| SqlError::Lake {
        name: name.into(),
        source,
    })
}

/// What scanning a Delta table's snapshot needs: its files, partition
/// columns and types.
async fn delta_scan(name: &str, table: &Table) -> Result<DeltaScan> {
    let lake_err = |source| SqlError::Lake {
        name: name.into(),
        source,
    };
    let schema = table.arrow_schema().map_err(lake_err)?;
    // The table's polars types, from an empty frame of its arrow schema.
    let empty = arrow_to_polars(&schema, &[]).map_err(|source| SqlError::Bridge {
        name: name.into(),
        source,
    })?;
    Ok(DeltaScan {
        uri: table.uri().to_string(),
        version: table.version(),
        empty,
        partitions: table.partition_columns().map_err(lake_err)?,
        files: table.data_files().await.map_err(lake_err)?,
        storage: table.storage().clone(),
    })
}

/// A Delta table's snapshot as one lazy frame with the table's columns, in
/// its order.
///
/// When every file lies under its partition values as Hive-style folders
/// (`logical_date=2024-01-01/`, as delta-rs and Spark write them), the files
/// are one multi-file scan with polars' Hive partitioning, typed by the
/// table's schema. Otherwise (Delta allows any path) each file is scanned on
/// its own with its partition values from the log added as typed columns.
fn delta_frame(
    uri: &str,
    empty: &DataFrame,
    partitions: &[String],
    files: &[lakescore_lake::DataFile],
    storage: &lakescore_lake::Storage,
) -> Result<LazyFrame> {
    if files.is_empty() {
        return Ok(empty.clone().lazy());
    }
    let types = empty.schema().clone();
    let order: Vec<Expr> = types.iter_names().map(|n| col(n.clone())).collect();
    let scan_err = |what: &str| {
        let what = what.to_string();
        move |source| SqlError::Scan { what, source }
    };
    let paths: Vec<String> = files
        .iter()
        .map(lakescore_lake::DataFile::location)
        .collect();
    let all = Files::new(paths.clone(), storage).map_err(|e| SqlError::Scan {
        what: uri.to_string(),
        source: PolarsError::ComputeError(e.to_string().into()),
    })?;
    // The folder the files' paths start with (a local path, or the table's URI).
    let root = match lakescore_lake::location_to_url(uri, None)
        .ok()
        .and_then(|u| lakescore_lake::local_path(&u))
    {
        Some(p) => format!("{}/", p.to_string_lossy().trim_end_matches('/')),
        None => format!("{}/", uri.trim_end_matches('/')),
    };
    if partitions.is_empty() {
        return all.scan().map(|lf| lf.select(order)).map_err(scan_err(uri));
    }
    // polars parses Hive values as CSV text, which has no binary type.
    let hive_typed = partitions
        .iter()
        .all(|p| !matches!(types.get(p.as_str()), Some(DataType::Binary)));
    if hive_typed
        && files
            .iter()
            .zip(&paths)
            .all(|(f, p)| hive_path_matches(p, &root, partitions, &f.partition_values))
    {
        let schema: Schema = partitions
            .iter()
            .filter_map(|p| Some((p.as_str().into(), types.get(p.as_str())?.clone())))
            .collect();
        let hive = HiveOptions {
            enabled: Some(true),
            hive_start_idx: root.len(),
            schema: Some(Arc::new(schema)),
            try_parse_dates: false,
        };
        return all
            .scan_with(Some(hive))
            .map(|lf| lf.select(order))
            .map_err(scan_err(uri));
    }
    // Each file with its partition values from the log, as a run's input reads them.
    let typed: Vec<(String, DataType)> = partitions
        .iter()
        .filter_map(|p| Some((p.clone(), types.get(p.as_str())?.clone())))
        .collect();
    let values = files
        .iter()
        .map(|f| {
            typed
                .iter()
                .map(|(p, _)| f.partition_values.get(p).cloned().flatten())
                .collect()
        })
        .collect();
    let all = all.with_partitions(typed, values);
    let mut frames = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let scan = all.scan_file(i).map_err(scan_err(&file.uri))?;
        frames.push(scan.select(order.clone()));
    }
    concat(
        frames,
        UnionArgs {
            parallel: true,
            rechunk: false,
            ..Default::default()
        },
    )
    .map_err(scan_err(uri))
}

/// Whether `path` (under `root`) lies in folders `col=value` that give exactly
/// the file's partition values from the log (percent-decoded; Hive's name for
/// null, `__HIVE_DEFAULT_PARTITION__`).
fn hive_path_matches(
    path: &str,
    root: &str,
    partitions: &[String],
    values: &std::collections::HashMap<String, Option<String>>,
) -> bool {
    let Some(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut folders: BTreeMap<String, String> = BTreeMap::new();
    let segments: Vec<&str> = rel.split('/').collect();
    for segment in &segments[..segments.len().saturating_sub(1)] {
        let Some((k, v)) = segment.split_once('=') else {
            return false;
        };
        folders.insert(percent_decode(k), percent_decode(v));
    }
    folders.len() == partitions.len()
        && partitions.iter().all(|p| {
            let want = values.get(p).cloned().flatten();
            match (folders.get(p), want) {
                (Some(found), Some(v)) => *found == v,
                (Some(found), None) => found == "__HIVE_DEFAULT_PARTITION__",
                (None, _) => false,
            }
        })
}

/// `%XX` escapes decoded (as Hive and Delta escape partition folders).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_folders_must_give_the_logged_partition_values() {
        let values = std::collections::HashMap::from([(
            "logical_date".to_string(),
            Some("2024-01-01".to_string()),
        )]);
        let parts = ["logical_date".to_string()];
        let root = "/lake/predictions/churn/";
        assert!(hive_path_matches(
            "/lake/predictions/churn/logical_date=2024-01-01/part-0.parquet",
            root,
            &parts,
            &values
        ));
        assert!(!hive_path_matches(
            "/lake/predictions/churn/logical_date=2024-01-02/part-0.parquet",
            root,
            &parts,
            &values
        ));
        assert!(!hive_path_matches(
            "/lake/predictions/churn/part-0.parquet",
            root,
            &parts,
            &values
        ));
        let null = std::collections::HashMap::from([("letter".to_string(), None)]);
        let letter = ["letter".to_string()];
        assert!(hive_path_matches(
            "/t/letter=__HIVE_DEFAULT_PARTITION__/a.parquet",
            "/t/",
            &letter,
            &null
        ));
        assert_eq!(percent_decode("%2F%2520%25f"), "/%20%f");
    }
}
