//! End-to-end tests: the real `lakescore` binary on temporary lakes.
//!
//! One integration binary, a module per area. Every test gets its own lake and
//! working files in a temp dir; outputs are read back through the lake crate
//! (CI also reads every table with the Python `deltalake` package and DuckDB's
//! Delta extension: `.ci/independent_readers.py`) and compared with what the
//! training libraries themselves predicted (`fixtures/`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use lakescore_core::runs::{RunRow, RunStatus, Trigger};
use lakescore_lake::Lake;
use polars::prelude::{DataFrame, NamedFrom, ParquetWriter, df};

const BIN: &str = env!("CARGO_BIN_EXE_lakescore");

mod bad_input;
mod cli;
mod crash_points;
mod dat;
mod demo;
mod drift;
mod flavors;
mod json_schemas;
mod maintain;
mod models;
mod outputs;
mod properties;
mod registry;
mod report;
mod runner_paths;
mod runs;
mod secrets;
mod serve;
mod shards;
mod sql;
mod storage;
mod tables;
mod validate;

/// The demo lake: churn v1 with its reference as champion (and in
/// Production), two dates scored (the second alerts).
fn demo_lake() -> Env {
    let env = Env::new();
    env.register_demo_with_reference();
    env.ok(&[
        "registry",
        "promote",
        "churn",
        "1",
        "--stage",
        "production",
        "--comment",
        "go",
    ]);
    let spec = repo().join("jobs/demo.toml");
    for (date, code) in [("2024-01-01", 0), ("2024-01-02", 3)] {
        env.expect(code, &["run", spec.to_str().unwrap(), "--date", date]);
    }
    env
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .expect("the repository root")
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Run lakescore with this env's lake, from the repository root.
    fn run(&self, args: &[&str]) -> Output {
        self.run_as("tester", args)
    }

    /// Run as system identity `actor` (`LAKESCORE_ACTOR`, as a platform sets it).
    fn run_as(&self, actor: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", self.lake())
            .env("LAKESCORE_ACTOR", actor)
            .env_remove("RUST_LOG")
            .output()
            .expect("lakescore runs")
    }

    /// Run as another system identity (`LAKESCORE_ACTOR`, as a platform sets
    /// it) and require exit code `code`; returns (stdout, stderr).
    fn expect_as(&self, actor: &str, code: i32, args: &[&str]) -> (String, String) {
        Self::check(code, args, &self.run_as(actor, args))
    }

    /// Run and require exit code `code`; returns (stdout, stderr).
    fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        Self::check(code, args, &out)
    }

    fn check(code: i32, args: &[&str], out: &Output) -> (String, String) {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "lakescore {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.expect(0, args).0
    }

    /// Register the demo model as churn v1 with alias champion, in Production.
    fn register_demo(&self) {
        self.register_xgboost("churn", "fixtures/demo/churn_model.json");
        self.ok(&["registry", "alias", "churn", "1", "champion"]);
        self.ok(&["registry", "promote", "churn", "1", "--stage", "production"]);
    }

    /// Register an XGBoost artifact of the repository as a new version of `name`.
    fn register_xgboost(&self, name: &str, artifact: &str) {
        let artifact = repo().join(artifact);
        self.ok(&[
            "registry",
            "register",
            name,
            "--flavor",
            "xgboost",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
    }

    /// Register the demo model with its reference profile (drift checks) as a
    /// new version, and give that version the alias champion.
    fn register_demo_with_reference(&self) {
        let artifact = repo().join("fixtures/demo/churn_model.json");
        let reference = repo().join("fixtures/demo/reference.parquet");
        self.ok(&[
            "registry",
            "register",
            "churn",
            "--flavor",
            "xgboost",
            "--artifact",
            artifact.to_str().unwrap(),
            "--reference",
            reference.to_str().unwrap(),
        ]);
        let versions = json(&self.ok(&["--json", "registry", "list", "churn"]));
        let latest = versions["versions"]
            .as_array()
            .and_then(|v| v.iter().filter_map(|v| v["version"].as_i64()).max())
            .unwrap_or(1)
            .to_string();
        self.ok(&["registry", "alias", "churn", &latest, "champion"]);
    }

    /// Write a job spec into the temp dir; returns its path.
    fn spec(&self, name: &str, text: &str) -> String {
        let p = self.path(&format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    /// A job scoring the 2024-01-01 demo files for any date (so many dates can run).
    fn fixed_input_spec(&self) -> String {
        self.spec(
            "fixed",
            &format!(
                "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\n\
                 format = \"parquet\"\npath = \"{}/fixtures/demo/data/2024-01-01/*.parquet\"\n\
                 keys = [\"customer_id\"]\n",
                repo().display()
            ),
        )
    }

    /// A spec scoring `input` (a glob, may hold {{ ds }}) with models:/churn@champion.
    fn demo_spec(&self, input: &str) -> String {
        self.spec(
            "job",
            &format!(
                "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n\
                 [input]\nformat = \"parquet\"\npath = \"{input}\"\nkeys = [\"customer_id\"]\nbatch_rows = 1000\n"
            ),
        )
    }
}

fn demo_input() -> String {
    format!(
        "{}/fixtures/demo/data/{{{{ ds }}}}/*.parquet",
        repo().display()
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Read a lake table back through delta-rs: (version, batches); None if absent.
fn read_table(lake: &Path, rel: &str) -> Option<(i64, Vec<RecordBatch>)> {
    runtime().block_on(async {
        let lake = Lake::open(lake.to_str().unwrap()).unwrap();
        let table = lake.open_table(rel).await.unwrap()?;
        let read = table.read_all().await.unwrap();
        Some((read.version, read.batches))
    })
}

fn read_runs(lake: &Path) -> Vec<RunRow> {
    runtime().block_on(async {
        let lake = Lake::open(lake.to_str().unwrap()).unwrap();
        lakescore_engine::runner::read_runs(&lake).await.unwrap()
    })
}

/// The demo job's predictions read back through delta-rs: per (logical date,
/// model version), the row count and the sum of predictions.
fn predictions_by_day(lake: &Path) -> BTreeMap<(String, i64), (usize, f64)> {
    let (_, batches) = read_table(lake, "predictions/churn_daily").unwrap();
    let mut expected: BTreeMap<(String, i64), (usize, f64)> = BTreeMap::new();
    for b in &batches {
        let dates = arrow::compute::cast(
            b.column_by_name("logical_date").unwrap(),
            &arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let dates = dates
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        let versions = b
            .column_by_name("model_version")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        let preds = b
            .column_by_name("prediction")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        for i in 0..b.num_rows() {
            let e = expected
                .entry((dates.value(i).to_string(), versions.value(i)))
                .or_default();
            e.0 += 1;
            e.1 += preds.value(i);
        }
    }
    expected
}

/// Every file and folder under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// A float column of a table read back, over all its batches.
fn f64_column(batches: &[RecordBatch], name: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>()
                .clone();
            (0..c.len()).map(move |i| c.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

/// A numeric column of a Parquet fixture, as `f64`.
fn parquet_column(path: &Path, name: &str) -> Vec<f64> {
    let frame = lakescore_engine::score::read_parquet(path).unwrap();
    lakescore_engine::score::numeric_values(&frame, name).unwrap()
}

fn write_parquet(path: &Path, mut frame: DataFrame) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut frame).unwrap();
}

/// XGBoost's own predictions for the demo data: customer_id -> probability.
fn expected_demo(date: &str) -> HashMap<String, f64> {
    let frame =
        lakescore_engine::score::read_parquet(&repo().join("fixtures/demo/expected.parquet"))
            .unwrap();
    let ids = frame.column("customer_id").unwrap().str().unwrap().clone();
    let dates = frame.column("logical_date").unwrap().str().unwrap().clone();
    let values = frame.column("expected").unwrap().f64().unwrap().clone();
    let mut out = HashMap::new();
    for i in 0..frame.height() {
        if dates.get(i) == Some(date) {
            out.insert(ids.get(i).unwrap().to_string(), values.get(i).unwrap());
        }
    }
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Assert that every child is still running a moment after the last one
/// started: the attempts of a race test overlapped in time (each waits at a
/// crash point's `sleep` long enough for that).
fn assert_all_running(children: &mut [std::process::Child]) {
    std::thread::sleep(std::time::Duration::from_millis(300));
    for (i, c) in children.iter_mut().enumerate() {
        assert!(
            c.try_wait().unwrap().is_none(),
            "attempt {i} had already ended: the attempts did not overlap"
        );
    }
}
