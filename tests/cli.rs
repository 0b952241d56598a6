//! End-to-end tests: the real `lakescore` binary on temporary lakes.
//!
//! Every test gets its own lake and working files in a temp dir; outputs are
//! read back through delta-rs (the same reader other tools use) and compared
//! with what XGBoost itself predicted (`fixtures/demo/expected.parquet`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deltalake::arrow::array::{Array, AsArray, RecordBatch};
use deltalake::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use lakescore::lake::Lake;
use lakescore::runner::runs::RunRow;
use polars::prelude::{DataFrame, NamedFrom, ParquetWriter, df};

const BIN: &str = env!("CARGO_BIN_EXE_lakescore");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
        Command::new(BIN)
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", self.lake())
            .env("LAKESCORE_ACTOR", "tester")
            .env_remove("RUST_LOG")
            .output()
            .expect("lakescore runs")
    }

    /// Run and require exit code `code`; returns (stdout, stderr).
    fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.run(args);
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
        let artifact = repo().join("fixtures/demo/churn_model.json");
        self.ok(&[
            "registry",
            "register",
            "churn",
            "--flavor",
            "xgboost",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
        self.ok(&["registry", "alias", "churn", "1", "champion"]);
        self.ok(&["registry", "promote", "churn", "1", "--stage", "production"]);
    }

    /// Write a job spec into the temp dir; returns its path.
    fn spec(&self, name: &str, text: &str) -> String {
        let p = self.path(&format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
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
        lakescore::runner::read_runs(&lake).await.unwrap()
    })
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
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
    let frame = lakescore::score::read_parquet(path).unwrap();
    lakescore::score::numeric_values(&frame, name).unwrap()
}

fn write_parquet(path: &Path, mut frame: DataFrame) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut frame).unwrap();
}

/// XGBoost's own predictions for the demo data: customer_id -> probability.
fn expected_demo(date: &str) -> HashMap<String, f64> {
    let frame =
        lakescore::score::read_parquet(&repo().join("fixtures/demo/expected.parquet")).unwrap();
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

#[test]
fn demo_job_scores_like_xgboost_with_lineage_and_reruns_replace() {
    let env = Env::new();
    env.register_demo();
    let spec = env.demo_spec(&demo_input());

    let out = env.ok(&["run", &spec, "--date", "2024-01-01", "--json"]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["model_name"], "churn");
    assert_eq!(report["model_version"], 1);
    assert_eq!(report["rows"], 5000);
    let run_id = report["run_id"].as_str().unwrap().to_string();

    let (version, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000);
    assert_eq!(report["output_version"], version);
    let expected = expected_demo("2024-01-01");
    let mut max_err = 0f64;
    for b in &batches {
        let ids = b.column_by_name("customer_id").unwrap().as_string::<i32>();
        let pred = b
            .column_by_name("prediction")
            .unwrap()
            .as_primitive::<Float64Type>();
        let version = b
            .column_by_name("model_version")
            .unwrap()
            .as_primitive::<Int64Type>();
        let date = b
            .column_by_name("logical_date")
            .unwrap()
            .as_primitive::<Date32Type>();
        let runs = b.column_by_name("run_id").unwrap().as_string::<i32>();
        let names = b.column_by_name("model_name").unwrap().as_string::<i32>();
        let jobs = b.column_by_name("job_name").unwrap().as_string::<i32>();
        assert_eq!(b.column_by_name("scored_at").unwrap().null_count(), 0);
        for i in 0..b.num_rows() {
            let want = expected[ids.value(i)];
            max_err = max_err.max((pred.value(i) - want).abs());
            assert_eq!(version.value(i), 1);
            assert_eq!(date.value(i), 19723); // 2024-01-01
            assert_eq!(runs.value(i), run_id);
            assert_eq!(names.value(i), "churn");
            assert_eq!(jobs.value(i), "churn_daily");
        }
    }
    assert!(max_err <= 1e-6, "max |lakescore - xgboost| = {max_err}");

    // A rerun of the same date replaces it; another date adds to it.
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    let (v2, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000);
    assert_eq!(v2, version + 1);
    env.ok(&["run", &spec, "--date", "2024-01-02"]);
    let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 10_000);

    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 3);
    assert!(
        runs.iter()
            .all(|r| r.status == "succeeded" && r.model_version == Some(1))
    );
    assert!(
        runs.iter()
            .all(|r| r.spec_sha256.len() == 64 && r.rows_out == 5000)
    );
}

#[test]
fn dry_run_writes_nothing() {
    let env = Env::new();
    env.register_demo();
    let spec = env.demo_spec(&demo_input());
    let out = env.ok(&["run", &spec, "--date", "2024-01-01", "--dry-run", "--json"]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["status"], "dry_run");
    assert_eq!(report["input_files"], 2);
    assert!(read_table(&env.lake(), "predictions/churn_daily").is_none());
    assert!(read_runs(&env.lake()).is_empty());
}

#[test]
fn delta_input_is_scored_from_its_snapshot() {
    let env = Env::new();
    env.register_demo();
    // First produce a Delta table to use as input: the predictions of one date carry customer_id.
    let spec = env.demo_spec(&demo_input());
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    // A Delta input made by lakescore has no features; write one with the features via a
    // parquet-input job whose keys are the features themselves.
    let features = "[\"customer_id\", \"tenure_months\", \"monthly_charges\", \"support_calls\", \"contract_months\", \"late_payments\"]";
    let copy = env.spec(
        "copy",
        &format!(
            "name = \"copy\"\n[model]\nuri = \"models:/churn/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = {features}\n[output]\ntable = \"{}\"\n",
            demo_input(),
            env.path("features_delta").display()
        ),
    );
    env.ok(&["run", &copy, "--date", "2024-01-01"]);
    let delta_spec = env.spec(
        "delta",
        &format!(
            "name = \"from_delta\"\n[model]\nuri = \"models:/churn/production\"\n[input]\nformat = \"delta\"\npath = \"{}\"\nkeys = [\"customer_id\"]\n",
            env.path("features_delta").display()
        ),
    );
    let out = env.ok(&["run", &delta_spec, "--date", "2024-01-01", "--json"]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["rows"], 5000);
    assert_eq!(report["input_version"], 1);
    let (_, batches) = read_table(&env.lake(), "predictions/from_delta").unwrap();
    let expected = expected_demo("2024-01-01");
    for b in &batches {
        let ids = b.column_by_name("customer_id").unwrap().as_string::<i32>();
        let pred = b
            .column_by_name("prediction")
            .unwrap()
            .as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            assert!((pred.value(i) - expected[ids.value(i)]).abs() <= 1e-6);
        }
    }
}

#[test]
fn registry_resolves_every_reference_form_and_keeps_an_audit_log() {
    let env = Env::new();
    let artifact = repo().join("fixtures/xgboost/binary_logistic.json");
    let linear = repo().join("fixtures/linear/logistic.json");
    let reg = |path: &Path, flavor: &str| {
        let out = env.ok(&[
            "registry",
            "register",
            "m",
            "--flavor",
            flavor,
            "--artifact",
            path.to_str().unwrap(),
            "--tag",
            "team=risk",
            "--description",
            "test model",
            "--json",
        ]);
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()
    };
    assert_eq!(reg(&artifact, "xgboost")["version"], 1);
    assert_eq!(reg(&linear, "linear")["version"], 2);
    assert_eq!(reg(&artifact, "xgboost")["version"], 3);
    env.ok(&["registry", "promote", "m", "1", "--stage", "production"]);
    env.ok(&[
        "registry",
        "promote",
        "m",
        "2",
        "--stage",
        "production",
        "--archive-existing",
        "--comment",
        "v2 wins",
    ]);
    env.ok(&["registry", "alias", "m", "3", "challenger"]);

    let list: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "list", "m", "--json"]).trim()).unwrap();
    let versions = list["versions"].as_array().unwrap();
    let stage = |v: usize| versions[v - 1]["stage"].as_str().unwrap().to_string();
    assert_eq!(stage(1), "Archived");
    assert_eq!(stage(2), "Production");
    assert_eq!(stage(3), "None");
    assert_eq!(versions[2]["aliases"][0], "challenger");
    assert_eq!(versions[1]["flavor"], "linear");
    assert_eq!(versions[0]["tags"], "{\"team\":\"risk\"}");

    let history: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "history", "m", "--json"]).trim()).unwrap();
    let events = history["events"].as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "registered",
            "registered",
            "stage_transition",
            "stage_transition",
            "stage_transition",
            "alias_set"
        ]
    );
    assert!(events.iter().all(|e| e["actor"] == "tester"));
    assert_eq!(events[4]["comment"], "v2 wins");
    let text = env.ok(&["registry", "history", "m"]);
    assert!(
        text.contains("moved version 1 from Production to Archived"),
        "{text}"
    );

    // Aliases follow MLflow's naming rules.
    let (_, err) = env.expect(2, &["registry", "alias", "m", "1", "latest"]);
    assert!(err.contains("reserved"), "{err}");
    let (_, err) = env.expect(2, &["registry", "alias", "m", "9", "x"]);
    assert!(err.contains("no version 9"), "{err}");
}

#[test]
fn rollback_restores_earlier_holders_and_walks_back() {
    let env = Env::new();
    let artifact = repo().join("fixtures/linear/identity.json");
    for _ in 0..3 {
        env.ok(&[
            "registry",
            "register",
            "m",
            "--flavor",
            "linear",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
    }
    for v in ["1", "2", "3"] {
        env.ok(&[
            "registry",
            "promote",
            "m",
            v,
            "--stage",
            "production",
            "--archive-existing",
        ]);
        env.ok(&["registry", "alias", "m", v, "champion"]);
    }
    let stage_of = |v: usize| -> String {
        let list: serde_json::Value =
            serde_json::from_str(env.ok(&["registry", "list", "m", "--json"]).trim()).unwrap();
        list["versions"][v - 1]["stage"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let out = env.ok(&[
        "registry",
        "rollback",
        "m",
        "--stage",
        "production",
        "--comment",
        "v3 regressed",
    ]);
    assert!(out.contains("from version 3 to version 2"), "{out}");
    assert_eq!(
        (stage_of(2), stage_of(3)),
        ("Production".into(), "Archived".into())
    );
    env.ok(&["registry", "rollback", "m", "--stage", "production"]);
    assert_eq!(
        (stage_of(1), stage_of(2)),
        ("Production".into(), "Archived".into())
    );
    let (_, err) = env.expect(2, &["registry", "rollback", "m", "--stage", "production"]);
    assert!(err.contains("no earlier version"), "{err}");

    let out = env.ok(&["registry", "rollback", "m", "--alias", "champion"]);
    assert!(out.contains("from version 3 to version 2"), "{out}");
    let list: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "list", "m", "--json"]).trim()).unwrap();
    assert_eq!(list["versions"][1]["aliases"][0], "champion");

    let history = env.ok(&["registry", "history", "m"]);
    assert!(
        history.contains("rolled back Production to version 2 — v3 regressed"),
        "{history}"
    );
    assert!(
        history.contains("rolled back @champion to version 2"),
        "{history}"
    );
}

#[test]
fn concurrent_registrations_never_share_a_version_number() {
    let env = Env::new();
    let artifact = repo().join("fixtures/linear/identity.json");
    // Create the tables first so that the race is on version numbers, not on table creation.
    env.ok(&[
        "registry",
        "register",
        "m",
        "--flavor",
        "linear",
        "--artifact",
        artifact.to_str().unwrap(),
    ]);
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(BIN)
                .args([
                    "registry",
                    "register",
                    "m",
                    "--flavor",
                    "linear",
                    "--artifact",
                ])
                .arg(&artifact)
                .arg("--json")
                .env("LAKESCORE_LAKE", env.lake())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut versions: Vec<i64> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort();
    assert_eq!(versions, vec![2, 3, 4, 5, 6, 7]);
    let (_, batches) = read_table(&env.lake(), "registry/model_versions").unwrap();
    assert_eq!(rows(&batches), 7);
}

/// Register `n` versions of the linear identity model as `m`.
fn register_linear(env: &Env, n: usize) {
    let artifact = repo().join("fixtures/linear/identity.json");
    for _ in 0..n {
        env.ok(&[
            "registry",
            "register",
            "m",
            "--flavor",
            "linear",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn stages(env: &Env) -> Vec<String> {
    let list = json(&env.ok(&["registry", "list", "m", "--json"]));
    list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stage"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn approval_workflow_gates_production() {
    let env = Env::new();
    register_linear(&env, 2);
    env.ok(&[
        "registry",
        "settings",
        "m",
        "--require-approval",
        "production",
    ]);
    let (_, err) = env.expect(
        2,
        &["registry", "promote", "m", "1", "--stage", "production"],
    );
    assert!(
        err.contains("requires approval to enter Production")
            && err.contains("lakescore registry request m 1 --stage production"),
        "{err}"
    );
    assert_eq!(stages(&env), ["None", "None"]);
    // Other stages stay open.
    env.ok(&["registry", "promote", "m", "2", "--stage", "staging"]);

    let req = json(&env.ok(&[
        "registry",
        "request",
        "m",
        "1",
        "--stage",
        "production",
        "--comment",
        "auc +3%",
        "--json",
    ]));
    let id = req["request_id"].as_i64().unwrap().to_string();
    let pending = json(&env.ok(&["registry", "requests", "--json"]));
    assert_eq!(pending["requests"][0]["status"], "pending");
    assert_eq!(pending["requests"][0]["requested_by"], "tester");
    let out = env.ok(&[
        "registry",
        "approve",
        &id,
        "--actor",
        "reviewer",
        "--comment",
        "looks good",
    ]);
    assert!(
        out.contains("m version 1 is now in stage Production"),
        "{out}"
    );
    assert_eq!(stages(&env), ["Production", "Staging"]);
    let (_, err) = env.expect(2, &["registry", "reject", &id]);
    assert!(err.contains("already approved"), "{err}");

    let req = json(&env.ok(&[
        "registry",
        "request",
        "m",
        "2",
        "--stage",
        "production",
        "--json",
    ]));
    let id2 = req["request_id"].as_i64().unwrap().to_string();
    env.ok(&["registry", "reject", &id2, "--comment", "not yet"]);
    assert_eq!(stages(&env), ["Production", "Staging"]);
    let (_, err) = env.expect(2, &["registry", "approve", "999"]);
    assert!(err.contains("no transition request 999"), "{err}");
    assert!(
        json(&env.ok(&["registry", "requests", "--json"]))["requests"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = json(&env.ok(&["registry", "requests", "m", "--all", "--json"]));
    assert_eq!(all["requests"].as_array().unwrap().len(), 2);

    let history = env.ok(&["registry", "history", "m"]);
    for needle in [
        "set require_approval = Production",
        &format!("requested version 1 -> Production (request {id}) — auc +3%"),
        &format!("approved request {id} (version 1 -> Production) — looks good"),
        "reviewer     moved version 1 from None to Production",
        &format!("rejected request {id2} (version 2 -> Production) — not yet"),
    ] {
        assert!(history.contains(needle), "{needle:?} not in\n{history}");
    }
    let model = json(&env.ok(&["registry", "show", "m", "--json"]));
    assert_eq!(model["state"]["require_approval"][0], "Production");

    // Approval can be switched off again.
    env.ok(&["registry", "settings", "m", "--require-approval", "none"]);
    env.ok(&["registry", "promote", "m", "2", "--stage", "production"]);
}

#[test]
fn metadata_is_attached_changed_shown_and_diffed() {
    let env = Env::new();
    let artifact = repo().join("fixtures/xgboost/binary_logistic.json");
    let reference = repo().join("fixtures/demo/data/2024-01-01");
    let demo = repo().join("fixtures/demo/churn_model.json");
    env.ok(&[
        "registry",
        "register",
        "m",
        "--flavor",
        "xgboost",
        "--artifact",
        artifact.to_str().unwrap(),
        "--metric",
        "auc=0.81",
        "--param",
        "max_depth=4",
    ]);
    // An MLflow run directory supplies metrics and params; --metric overrides.
    let run = env.path("mlruns/0/abc123");
    std::fs::create_dir_all(run.join("metrics")).unwrap();
    std::fs::create_dir_all(run.join("params")).unwrap();
    std::fs::write(
        run.join("metrics/auc"),
        "1700000000000 0.84 0\n1700000000001 0.86 1\n",
    )
    .unwrap();
    std::fs::write(run.join("metrics/logloss"), "1700000000000 0.31 0\n").unwrap();
    std::fs::write(run.join("params/max_depth"), "6").unwrap();
    env.ok(&[
        "registry",
        "register",
        "m",
        "--flavor",
        "xgboost",
        "--artifact",
        demo.to_str().unwrap(),
        "--mlflow-run",
        run.to_str().unwrap(),
        "--metric",
        "logloss=0.3",
        "--reference",
        &format!("{}/*.parquet", reference.display()),
    ]);
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "m",
            "--flavor",
            "xgboost",
            "--artifact",
            demo.to_str().unwrap(),
            "--metric",
            "auc=high",
        ],
    );
    assert!(err.contains("--metric auc=\"high\""), "{err}");

    env.ok(&["registry", "tag", "m", "team=risk", "tier=gold"]);
    env.ok(&[
        "registry",
        "tag",
        "m",
        "--version",
        "2",
        "validated=yes",
        "tmp=1",
    ]);
    env.ok(&["registry", "untag", "m", "--version", "2", "tmp"]);
    let (_, err) = env.expect(2, &["registry", "untag", "m", "--version", "2", "tmp"]);
    assert!(err.contains("version 2 has no tag \"tmp\""), "{err}");
    env.ok(&["registry", "describe", "m", "Churn propensity"]);
    env.ok(&[
        "registry",
        "describe",
        "m",
        "--version",
        "2",
        "retrained on 2024 data",
    ]);
    env.ok(&["registry", "owner", "m", "ana@example.com"]);
    env.ok(&[
        "registry",
        "comment",
        "m",
        "--version",
        "2",
        "shadowed for a week",
    ]);

    let model = json(&env.ok(&["registry", "show", "m", "--json"]));
    let state = &model["state"];
    assert_eq!(state["owner"], "ana@example.com");
    assert_eq!(state["description"], "Churn propensity");
    assert_eq!(state["tags"]["tier"], "gold");
    let v2 = json(&env.ok(&["registry", "show", "m", "2", "--json"]));
    let v = &v2["version"];
    assert_eq!(v["tags"], r#"{"validated":"yes"}"#);
    assert_eq!(v["description"], "retrained on 2024 data");
    assert_eq!(
        json(v["metrics"].as_str().unwrap()),
        json(r#"{"auc":0.86,"logloss":0.3}"#)
    );
    assert_eq!(
        json(v["params"].as_str().unwrap()),
        json(r#"{"max_depth":"6"}"#)
    );
    assert_eq!(v["comments"][0]["text"], "shadowed for a week");
    let text = env.ok(&["registry", "show", "m", "2"]);
    assert!(
        text.contains("comment") && text.contains("shadowed for a week"),
        "{text}"
    );

    let d = json(&env.ok(&["registry", "diff", "m", "1", "2", "--json"]));
    let added: Vec<&str> = d["signature"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(added.contains(&"monthly_charges"), "{d}");
    assert!(!d["signature"]["removed"].as_array().unwrap().is_empty());
    let metric = |k: &str| {
        d["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == k)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (metric("auc")["from"].clone(), metric("auc")["to"].clone()),
        ("0.81".into(), "0.86".into())
    );
    assert_eq!(metric("logloss")["from"], serde_json::Value::Null);
    assert!(
        d["profile"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["column"] == "monthly_charges"
                && p["from"].is_null()
                && p["to"]["count"].as_u64().unwrap() > 0)
    );
    let text = env.ok(&["registry", "diff", "m", "1", "2"]);
    assert!(text.contains("metric  auc      0.81 -> 0.86"), "{text}");
    assert!(
        text.contains("signature        + monthly_charges (double)"),
        "{text}"
    );
    assert!(
        env.ok(&["registry", "diff", "m", "2", "2"])
            .contains("no differences")
    );

    let history = env.ok(&["registry", "history", "m"]);
    for needle in [
        "tagged the model: team=risk",
        "removed tag tmp from version 2",
        "described version 2: retrained on 2024 data",
        "set owner to ana@example.com",
        "commented on version 2: shadowed for a week",
    ] {
        assert!(history.contains(needle), "{needle:?} not in\n{history}");
    }
}

#[test]
fn as_of_reads_the_registry_as_it_stood() {
    let env = Env::new();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    register_linear(&env, 1);
    env.ok(&["registry", "promote", "m", "1", "--stage", "production"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let then = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(200));
    register_linear(&env, 1);
    env.ok(&[
        "registry",
        "promote",
        "m",
        "2",
        "--stage",
        "production",
        "--archive-existing",
    ]);

    let resolve = |extra: &[&str]| {
        let mut args = vec!["registry", "resolve", "models:/m/production", "--json"];
        args.extend_from_slice(extra);
        json(&env.ok(&args))["version"]["version"].as_i64().unwrap()
    };
    assert_eq!(resolve(&[]), 2);
    assert_eq!(resolve(&["--as-of", &then]), 1);
    let list = json(&env.ok(&["registry", "list", "m", "--as-of", &then, "--json"]));
    assert_eq!(list["versions"].as_array().unwrap().len(), 1);
    assert_eq!(list["versions"][0]["stage"], "Production");
    let history = json(&env.ok(&["registry", "history", "m", "--as-of", &then, "--json"]));
    assert_eq!(history["events"].as_array().unwrap().len(), 2);
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "resolve",
            "models:/m/1",
            "--as-of",
            &before.to_rfc3339(),
        ],
    );
    assert!(err.contains("not registered"), "{err}");
    let (_, err) = env.expect(2, &["registry", "list", "--as-of", "yesterday"]);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn concurrent_promotions_and_aliases_leave_a_consistent_registry() {
    let env = Env::new();
    register_linear(&env, 4);
    let spawn = |args: Vec<String>| {
        Command::new(BIN)
            .args(&args)
            .env("LAKESCORE_LAKE", env.lake())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children = Vec::new();
    for v in 1..=4 {
        let v = v.to_string();
        children.push(spawn(
            [
                "registry",
                "promote",
                "m",
                &v,
                "--stage",
                "production",
                "--archive-existing",
            ]
            .map(String::from)
            .to_vec(),
        ));
        children.push(spawn(
            ["registry", "alias", "m", &v, "champion"]
                .map(String::from)
                .to_vec(),
        ));
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let history = json(&env.ok(&["registry", "history", "m", "--json"]));
    let events = history["events"].as_array().unwrap();
    // No lost or duplicated event: seq is 1..=N, every command left its event.
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    let count =
        |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().filter(|e| pred(e)).count();
    assert_eq!(count(&|e| e["event_type"] == "alias_set"), 4);
    assert_eq!(
        count(&|e| e["event_type"] == "stage_transition" && e["to_stage"] == "Production"),
        4
    );
    // Exactly one version in Production: the last one promoted; the alias on
    // exactly one version: the last one set.
    let st = stages(&env);
    assert_eq!(
        st.iter().filter(|s| *s == "Production").count(),
        1,
        "{st:?}"
    );
    let last = |kind: &str| {
        events
            .iter()
            .rev()
            .find(|e| {
                e["event_type"] == kind
                    && (kind != "stage_transition" || e["to_stage"] == "Production")
            })
            .unwrap()["version"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(st[last("stage_transition") as usize - 1], "Production");
    let list = json(&env.ok(&["registry", "list", "m", "--json"]));
    let holders: Vec<i64> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| {
            v["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "champion")
        })
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(holders, vec![last("alias_set")]);
}

#[test]
fn specs_in_jobs_are_valid() {
    let env = Env::new();
    let specs: Vec<PathBuf> = std::fs::read_dir(repo().join("jobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(!specs.is_empty());
    for spec in specs {
        env.ok(&["validate", "--no-environment", spec.to_str().unwrap()]);
    }
}

#[test]
fn validate_reports_every_error_with_line_and_column() {
    let env = Env::new();
    let bad = env.spec(
        "bad",
        "name = \"x\"\nschedule = \"* * *\"\n[model]\nuri = \"models:/m/prod\"\n[input]\nformat = \"parquet\"\npath = \"a\"\n",
    );
    let good = repo().join("jobs/demo.toml");
    let (out, _) = env.expect(
        2,
        &[
            "validate",
            "--no-environment",
            good.to_str().unwrap(),
            &bad,
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["specs"][0]["valid"], true);
    let errors = v["specs"][1]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["column"].as_u64()),
        (Some(2), Some(12))
    );
    assert_eq!(errors[0]["key"], "schedule");
    assert_eq!(errors[1]["key"], "model.uri");
    assert_eq!(errors[1]["line"], 4);

    // With the environment: the model must resolve, and the input columns must fit it.
    let spec = env.demo_spec(&demo_input());
    let (out, _) = env.expect(2, &["validate", &spec, "--date", "2024-01-01"]);
    assert!(out.contains("model \"churn\" is not registered"), "{out}");
    env.register_demo();
    let out = env.ok(&["validate", &spec, "--date", "2024-01-01"]);
    assert!(out.contains("ok"), "{out}");
}

/// Bad input: exit code 2, a message naming the culprit, nothing written to the output.
fn assert_bad_run(env: &Env, spec: &str, date: &str, needles: &[&str]) -> String {
    let (_, err) = env.expect(2, &["run", spec, "--date", date]);
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(
        read_table(&env.lake(), "predictions/churn_daily").is_none(),
        "bad input must not create or write the output table"
    );
    err
}

fn assert_recorded_failure(env: &Env, needle: &str) {
    let runs = read_runs(&env.lake());
    let last = runs.last().expect("the failed run is recorded");
    assert_eq!(last.status, "failed");
    let error = last.error.as_deref().unwrap_or_default();
    assert!(error.contains(needle), "{error}");
}

#[test]
fn bad_specs_exit_2_before_anything_runs() {
    let env = Env::new();
    env.register_demo();
    let cases = [
        (
            "malformed",
            "name = \"x\"\n[model\n",
            vec!["malformed.toml:2:"],
        ),
        (
            "unknown_key",
            "name = \"x\"\nmodle = 1\n[model]\nuri = \"models:/churn/1\"\n[input]\nformat = \"parquet\"\npath = \"a\"\n",
            vec!["unknown_key.toml:2:1", "unknown field `modle`"],
        ),
        (
            "bad_cron",
            "name = \"x\"\nschedule = \"0 25 * * *\"\n[model]\nuri = \"models:/churn/1\"\n[input]\nformat = \"parquet\"\npath = \"a\"\n",
            vec!["bad_cron.toml:2:12", "schedule", "0 25 * * *"],
        ),
        (
            "bad_uri",
            "name = \"x\"\n[model]\nuri = \"s3://bucket/model.json\"\n[input]\nformat = \"parquet\"\npath = \"a\"\n",
            vec!["bad_uri.toml:3:7", "model.uri", "models:/"],
        ),
    ];
    for (name, text, needles) in cases {
        let spec = env.spec(name, text);
        assert_bad_run(&env, &spec, "2024-01-01", &needles);
    }
    assert!(
        read_runs(&env.lake()).is_empty(),
        "an invalid spec never starts a run"
    );
}

#[test]
fn unknown_model_or_alias_exits_2_and_is_recorded() {
    let env = Env::new();
    env.register_demo();
    let spec = env.spec(
        "job",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@nope\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            demo_input()
        ),
    );
    assert_bad_run(&env, &spec, "2024-01-01", &["no alias \"nope\""]);
    assert_recorded_failure(&env, "no alias \"nope\"");
    let spec = env.spec(
        "job",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/ghost/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            demo_input()
        ),
    );
    assert_bad_run(&env, &spec, "2024-01-01", &["\"ghost\" is not registered"]);
    assert_recorded_failure(&env, "ghost");
}

#[test]
fn runs_lists_recent_attempts_newest_first() {
    let env = Env::new();
    env.register_demo();
    let spec = env.demo_spec(&demo_input());
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    env.expect(2, &["run", &spec, "--date", "2031-01-01"]);
    env.ok(&["run", &spec, "--date", "2024-01-02"]);
    let listed: serde_json::Value =
        serde_json::from_str(env.ok(&["runs", "--json", "--limit", "2"]).trim()).unwrap();
    let runs = listed["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(runs[0]["rows_out"], 5000);
    assert_eq!(runs[1]["status"], "failed");
    assert!(
        runs[1]["error"]
            .as_str()
            .unwrap()
            .contains("no input files match")
    );
    let table = env.ok(&["runs", "churn_daily"]);
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(
        table.contains("failed") && table.contains("churn v1"),
        "{table}"
    );
    assert_eq!(env.ok(&["runs", "other_job"]).lines().count(), 1);
}

/// `kill -9` at any moment of a run leaves no partial predictions visible, and a
/// rerun of the date leaves exactly one copy.
#[test]
fn killed_runs_leave_nothing_partial_and_reruns_leave_one_copy() {
    let env = Env::new();
    env.register_demo();
    let spec = env.spec(
        "job",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\nbatch_rows = 250\n",
            demo_input()
        ),
    );
    let date_rows = |lake: &Path| -> usize {
        read_table(lake, "predictions/churn_daily")
            .map(|(_, batches)| rows(&batches))
            .unwrap_or(0)
    };
    // One complete run of another date first, so that kills also hit replaces.
    env.ok(&["run", &spec, "--date", "2024-01-02"]);
    for delay_ms in [5u64, 40, 80, 120, 160, 220, 300, 400] {
        let mut child = Command::new(BIN)
            .args(["run", &spec, "--date", "2024-01-01"])
            .current_dir(repo())
            .env("LAKESCORE_LAKE", env.lake())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let total = date_rows(&env.lake());
        assert!(
            total == 5000 || total == 10_000,
            "after a kill at {delay_ms} ms the table holds {total} rows: a partial commit"
        );
    }
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    assert_eq!(
        date_rows(&env.lake()),
        10_000,
        "exactly one copy of each date"
    );
    // Every attempt is in `runs`: killed ones that got as far as recording
    // their start read back as interrupted, never as running or succeeded twice.
    let runs = read_runs(&env.lake());
    let day = |r: &RunRow| r.logical_date == 19723; // 2024-01-01
    let statuses: Vec<&str> = runs
        .iter()
        .filter(|r| day(r))
        .map(|r| r.status.as_str())
        .collect();
    assert_eq!(statuses.last(), Some(&"succeeded"), "{statuses:?}");
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|s| *s == "interrupted" || *s == "succeeded"),
        "{statuses:?}"
    );
    assert!(runs.iter().all(|r| r.status != "running"), "{statuses:?}");
}

#[test]
fn missing_input_files_exit_2() {
    let env = Env::new();
    env.register_demo();
    let spec = env.demo_spec(&demo_input());
    assert_bad_run(
        &env,
        &spec,
        "2030-01-01",
        &["no input files match", "2030-01-01"],
    );
    assert_recorded_failure(&env, "no input files match");
}

#[test]
fn missing_or_non_numeric_feature_columns_exit_2() {
    let env = Env::new();
    env.register_demo();
    let base = || {
        df! {
            "customer_id" => ["a", "b"],
            "tenure_months" => [1.0, 2.0],
            "monthly_charges" => [10.0, 20.0],
            "support_calls" => [0i64, 1],
            "contract_months" => [12.0, 1.0],
            "late_payments" => [0.0, 3.0],
        }
        .unwrap()
    };
    let missing = env.path("missing/2024-01-01/part-0.parquet");
    write_parquet(&missing, base().drop("late_payments").unwrap());
    let spec = env.demo_spec(&format!(
        "{}/missing/{{{{ ds }}}}/*.parquet",
        env.dir.path().display()
    ));
    assert_bad_run(
        &env,
        &spec,
        "2024-01-01",
        &["part-0.parquet", "no column \"late_payments\""],
    );
    assert_recorded_failure(&env, "late_payments");

    let mut text = base();
    text.with_column(polars::prelude::Series::new("monthly_charges".into(), ["10", "20"]).into())
        .unwrap();
    let typed = env.path("typed/2024-01-01/part-0.parquet");
    write_parquet(&typed, text);
    let spec = env.demo_spec(&format!(
        "{}/typed/{{{{ ds }}}}/*.parquet",
        env.dir.path().display()
    ));
    assert_bad_run(
        &env,
        &spec,
        "2024-01-01",
        &["part-0.parquet", "\"monthly_charges\"", "str"],
    );
    assert_recorded_failure(&env, "monthly_charges");

    // A missing key column is reported too.
    let keyless = env.path("keyless/2024-01-01/part-0.parquet");
    write_parquet(&keyless, base().drop("customer_id").unwrap());
    let spec = env.demo_spec(&format!(
        "{}/keyless/{{{{ ds }}}}/*.parquet",
        env.dir.path().display()
    ));
    assert_bad_run(
        &env,
        &spec,
        "2024-01-01",
        &["no key column \"customer_id\""],
    );
}

#[test]
fn corrupt_parquet_exits_2_naming_the_file() {
    let env = Env::new();
    env.register_demo();
    let dir = env.path("corrupt/2024-01-01");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        repo().join("fixtures/demo/data/2024-01-01/part-0.parquet"),
        dir.join("a.parquet"),
    )
    .unwrap();
    std::fs::write(dir.join("b.parquet"), b"PAR1 this is not a parquet file").unwrap();
    let spec = env.demo_spec(&format!(
        "{}/corrupt/{{{{ ds }}}}/*.parquet",
        env.dir.path().display()
    ));
    assert_bad_run(
        &env,
        &spec,
        "2024-01-01",
        &["b.parquet", "not readable Parquet"],
    );
    assert_recorded_failure(&env, "b.parquet");
}

#[test]
fn corrupt_or_tampered_model_artifacts_exit_2() {
    let env = Env::new();
    // Corrupt at registration: refused, nothing registered.
    let truncated = env.path("truncated.json");
    let full = std::fs::read(repo().join("fixtures/demo/churn_model.json")).unwrap();
    std::fs::write(&truncated, &full[..full.len() / 3]).unwrap();
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "churn",
            "--flavor",
            "xgboost",
            "--artifact",
            truncated.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("truncated.json") && err.contains("not a valid xgboost model"),
        "{err}"
    );
    assert!(read_table(&env.lake(), "registry/model_versions").is_none());

    // Tampered after registration: the hash check refuses it at run time.
    env.register_demo();
    let artifacts = env.lake().join("registry/artifacts/churn");
    let sha_dir = std::fs::read_dir(&artifacts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = sha_dir.join("churn_model.json");
    let mut bytes = std::fs::read(&file).unwrap();
    let pos = bytes.iter().position(|&b| b == b'5').unwrap();
    bytes[pos] = b'6';
    std::fs::write(&file, bytes).unwrap();
    let spec = env.demo_spec(&demo_input());
    assert_bad_run(
        &env,
        &spec,
        "2024-01-01",
        &["SHA-256", "modified or corrupted"],
    );
    assert_recorded_failure(&env, "SHA-256");
}

#[test]
fn output_table_with_another_schema_is_refused() {
    let env = Env::new();
    env.register_demo();
    let spec = env.demo_spec(&demo_input());
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    // Same output table, different key columns.
    let other = env.spec(
        "other",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\", \"region\"]\n",
            demo_input()
        ),
    );
    let (_, err) = env.expect(2, &["run", &other, "--date", "2024-01-02"]);
    assert!(
        err.contains("predictions/churn_daily") && err.contains("region"),
        "{err}"
    );
    let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000);
}

#[test]
fn schema_command_prints_the_checked_in_schema() {
    let env = Env::new();
    let out = env.ok(&["schema"]);
    let checked_in = std::fs::read_to_string(repo().join("schemas/job.schema.json")).unwrap();
    assert_eq!(out, checked_in);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

        /// Whatever the order and number of reruns, each date holds exactly one copy
        /// of its predictions, written by the last run of that date.
        #[test]
        fn reruns_are_idempotent(dates in proptest::collection::vec(prop_oneof!["2024-01-01", "2024-01-02"], 1..5)) {
            let env = Env::new();
            env.register_demo();
            let spec = env.demo_spec(&demo_input());
            let mut last_run: HashMap<String, String> = HashMap::new();
            for date in &dates {
                let out = env.ok(&["run", &spec, "--date", date, "--json"]);
                let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
                last_run.insert(date.clone(), report["run_id"].as_str().unwrap().to_string());
            }
            let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
            prop_assert_eq!(rows(&batches), 5000 * last_run.len());
            let mut run_ids = std::collections::HashSet::new();
            for b in &batches {
                let runs = b.column_by_name("run_id").unwrap().as_string::<i32>();
                for i in 0..b.num_rows() {
                    run_ids.insert(runs.value(i).to_string());
                }
            }
            let expected: std::collections::HashSet<String> = last_run.values().cloned().collect();
            prop_assert_eq!(run_ids, expected);
        }
    }
}

mod drift {
    use super::*;
    use lakescore::runner::drift_table::{self, DriftRow};

    fn register_with_reference(env: &Env) {
        let artifact = repo().join("fixtures/demo/churn_model.json");
        let reference = repo().join("fixtures/demo/reference.parquet");
        env.ok(&[
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
        env.ok(&["registry", "alias", "churn", "1", "champion"]);
    }

    /// `feature/metric` of every alert in a run report, sorted.
    fn alert_names(report: &serde_json::Value) -> Vec<String> {
        let mut names: Vec<String> = report["drift_alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{}/{}",
                    a["feature"].as_str().unwrap(),
                    a["metric"].as_str().unwrap()
                )
            })
            .collect();
        names.sort();
        names
    }

    fn drift_rows(env: &Env) -> Vec<DriftRow> {
        runtime().block_on(async {
            let lake = Lake::open(env.lake().to_str().unwrap()).unwrap();
            drift_table::read(&lake).await.unwrap()
        })
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300) || (a - b).abs() <= 1e-15
    }

    #[test]
    fn drift_matches_scipy_and_a_shift_exits_3_after_writing() {
        let env = Env::new();
        register_with_reference(&env);
        let shown: serde_json::Value =
            serde_json::from_str(env.ok(&["registry", "show", "churn", "1", "--json"]).trim())
                .unwrap();
        let profile = &shown["reference_profile"];
        assert_eq!(profile["rows"], 5000);
        assert_eq!(profile["features"]["monthly_charges"]["count"], 4762);
        assert!(
            profile["features"]["__prediction__"]["mean"]
                .as_f64()
                .unwrap()
                > 0.0
        );

        let spec = env.demo_spec(&demo_input());
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join("fixtures/demo/drift_expected.json")).unwrap(),
        )
        .unwrap();

        let out = env.ok(&["run", &spec, "--date", "2024-01-01", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(report["drift_alerts"].as_array().unwrap().len(), 0);
        let (out, _) = env.expect(3, &["run", &spec, "--date", "2024-01-02", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let alerts = alert_names(&report);
        assert_eq!(
            alerts,
            [
                "__prediction__/ks",
                "monthly_charges/ks",
                "support_calls/ks"
            ]
        );
        // The predictions were committed before the drift verdict.
        let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
        assert_eq!(rows(&batches), 10_000);
        let runs = read_runs(&env.lake());
        assert_eq!(runs.last().unwrap().status, "succeeded");
        assert_eq!(runs.last().unwrap().drift_alerts, 3);

        let rows = drift_rows(&env);
        // 6 columns (5 features + prediction) x 5 metrics x 2 dates.
        assert_eq!(rows.len(), 60);
        for row in &rows {
            let date = if row.logical_date == 19723 {
                "2024-01-01"
            } else {
                "2024-01-02"
            };
            let want = &expected[date][&row.feature];
            assert_eq!(row.model_version, 1);
            assert_eq!(
                row.n_reference,
                want["n_reference"].as_i64().unwrap(),
                "{row:?}"
            );
            assert_eq!(
                row.n_current,
                want["n_current"].as_i64().unwrap(),
                "{row:?}"
            );
            let value = row.value.unwrap();
            let ok = match row.metric.as_str() {
                "psi" => close(value, want["psi"].as_f64().unwrap(), 1e-9),
                "ks" => {
                    (value - want["ks"].as_f64().unwrap()).abs() <= 1e-12
                        && (row.p_value.unwrap() - want["ks_pvalue"].as_f64().unwrap()).abs()
                            <= 1e-9
                }
                "wasserstein" => close(value, want["wasserstein"].as_f64().unwrap(), 1e-9),
                "wasserstein_norm" => value > 0.0,
                "null_rate" => (value - want["null_rate"].as_f64().unwrap()).abs() <= 1e-12,
                other => panic!("unexpected metric {other}"),
            };
            assert!(ok, "{date} {row:?} vs {want}");
        }
    }

    /// A segment column (`region`) monitored with `[drift] columns`: categorical
    /// metrics, unseen categories, and an alert on a mix change.
    #[test]
    fn monitored_categorical_columns_drift() {
        let env = Env::new();
        let reference = env.path("reference.parquet");
        let day = |i: usize| repo().join(format!("fixtures/demo/data/2024-01-01/part-{i}.parquet"));
        let mut frame = lakescore::score::read_parquet(&day(0)).unwrap();
        frame
            .vstack_mut(&lakescore::score::read_parquet(&day(1)).unwrap())
            .unwrap();
        write_parquet(&reference, frame.clone());
        let artifact = repo().join("fixtures/demo/churn_model.json");
        env.ok(&[
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
        env.ok(&["registry", "alias", "churn", "1", "champion"]);
        let shown: serde_json::Value =
            serde_json::from_str(env.ok(&["registry", "show", "churn", "1", "--json"]).trim())
                .unwrap();
        let profile = &shown["reference_profile"];
        assert_eq!(profile["features"]["region"]["kind"], "categorical");
        assert!(
            profile["skipped"]["customer_id"]
                .as_str()
                .unwrap()
                .contains("distinct values")
        );

        // Same rows, but most regions rewritten to one value and some to a new one.
        let n = frame.height();
        let regions: Vec<&str> = (0..n)
            .map(|i| {
                if i % 10 == 0 {
                    "atlantis"
                } else if i % 10 < 8 {
                    "north"
                } else {
                    "south"
                }
            })
            .collect();
        frame
            .with_column(polars::prelude::Series::new("region".into(), regions).into())
            .unwrap();
        write_parquet(&env.path("shifted/2024-01-01/part-0.parquet"), frame);
        let spec = env.spec(
            "job",
            &format!(
                "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}/shifted/{{{{ ds }}}}/*.parquet\"\nkeys = [\"customer_id\"]\n[drift]\ncolumns = [\"region\"]\n",
                env.dir.path().display()
            ),
        );
        let (out, _) = env.expect(3, &["run", &spec, "--date", "2024-01-01", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let alerts = alert_names(&report);
        // Only the region moved: the model inputs and the prediction are the reference itself.
        assert!(
            alerts.iter().all(|a| a.starts_with("region/")),
            "{alerts:?}"
        );
        for metric in ["region/psi", "region/chi2", "region/js"] {
            assert!(alerts.contains(&metric.to_string()), "{alerts:?}");
        }
        let rows = drift_rows(&env);
        let chi2 = rows
            .iter()
            .find(|r| r.feature == "region" && r.metric == "chi2")
            .unwrap();
        assert!(chi2.p_value.unwrap() < 1e-10);
        assert_eq!(chi2.n_current, n as i64);
        let ks = rows
            .iter()
            .find(|r| r.feature == "tenure_months" && r.metric == "ks")
            .unwrap();
        assert_eq!(ks.value, Some(0.0));
    }

    fn drift_json(env: &Env, spec: &str, date: &str, code: i32) -> serde_json::Value {
        let (out, _) = env.expect(code, &["drift", spec, "--date", date, "--json"]);
        serde_json::from_str(out.trim()).unwrap()
    }

    /// `drift` recomputes from the output table what the run computed while scoring.
    #[test]
    fn drift_command_recomputes_without_rescoring() {
        let env = Env::new();
        register_with_reference(&env);
        let spec = env.demo_spec(&demo_input());
        env.expect(3, &["run", &spec, "--date", "2024-01-02"]);
        let during_run = drift_rows(&env);
        let report = drift_json(&env, &spec, "2024-01-02", 3);
        assert_eq!(report["versions"][0]["rows"], 5000);
        assert_eq!(report["drift_metrics"], during_run.len());
        let again = drift_rows(&env);
        let id = report["drift_id"].as_str().unwrap();
        for row in again.iter().filter(|r| r.run_id == id) {
            let twin = during_run
                .iter()
                .find(|r| r.feature == row.feature && r.metric == row.metric)
                .unwrap();
            assert_eq!(
                (row.value, row.p_value, row.alert),
                (twin.value, twin.p_value, twin.alert),
                "{row:?}"
            );
            assert_eq!(
                (row.n_reference, row.n_current),
                (twin.n_reference, twin.n_current)
            );
        }
        // No predictions for a date: exit 2 with a clear message.
        let (_, err) = env.expect(2, &["drift", &spec, "--date", "2024-01-05"]);
        assert!(err.contains("no predictions for 2024-01-05"), "{err}");
    }

    /// A date holding rows of two model versions: each is compared with its own reference.
    #[test]
    fn drift_command_splits_a_date_by_model_version() {
        use lakescore::lake::DateReplaceWriter;
        let env = Env::new();
        register_with_reference(&env);
        let artifact = repo().join("fixtures/demo/churn_model.json");
        let reference = repo().join("fixtures/demo/data/2024-01-01/part-0.parquet");
        env.ok(&[
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
        let spec = env.demo_spec(&demo_input());
        env.ok(&["run", &spec, "--date", "2024-01-01"]);
        // Rewrite the date as if customers C000001..C002500 had been scored by version 2.
        runtime().block_on(async {
            let lake = Lake::open(env.lake().to_str().unwrap()).unwrap();
            let table = lake
                .open_table("predictions/churn_daily")
                .await
                .unwrap()
                .unwrap();
            let read = table
                .read_partition("logical_date", "2024-01-01")
                .await
                .unwrap();
            let mut writer =
                DateReplaceWriter::start(table, "logical_date", "2024-01-01", "test".into())
                    .await
                    .unwrap();
            for b in read.batches {
                let ids = b.column_by_name("customer_id").unwrap().as_string::<i32>();
                let versions: Vec<i64> = (0..b.num_rows())
                    .map(|i| if ids.value(i) <= "C002500" { 2 } else { 1 })
                    .collect();
                let idx = b.schema().index_of("model_version").unwrap();
                let mut columns = b.columns().to_vec();
                columns[idx] =
                    std::sync::Arc::new(deltalake::arrow::array::Int64Array::from(versions));
                writer
                    .write(RecordBatch::try_new(b.schema(), columns).unwrap())
                    .await
                    .unwrap();
            }
            writer.commit(HashMap::new()).await.unwrap();
        });
        let report = drift_json(&env, &spec, "2024-01-01", 0);
        let versions = report["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(
            (
                versions[0]["model_version"].as_i64(),
                versions[0]["rows"].as_i64()
            ),
            (Some(1), Some(2500))
        );
        assert_eq!(
            (
                versions[1]["model_version"].as_i64(),
                versions[1]["rows"].as_i64()
            ),
            (Some(2), Some(2500))
        );
        let id = report["drift_id"].as_str().unwrap().to_string();
        let rows: Vec<DriftRow> = drift_rows(&env)
            .into_iter()
            .filter(|r| r.run_id == id)
            .collect();
        let pred = |v: i64| {
            rows.iter()
                .find(|r| r.model_version == v && r.feature == "__prediction__" && r.metric == "ks")
                .unwrap()
                .clone()
        };
        assert_eq!(pred(1).n_current, 2500);
        assert_eq!(pred(2).n_current, 2500);
        // Version 2's reference is part-0 of that day: its own rows drift not at all.
        let tenure2 = rows
            .iter()
            .find(|r| r.model_version == 2 && r.feature == "tenure_months" && r.metric == "ks")
            .unwrap();
        assert_eq!(tenure2.value, Some(0.0));
        assert_eq!(tenure2.n_reference, tenure2.n_current);
    }

    /// `[drift] reference` profiles the named data at run time instead.
    #[test]
    fn spec_reference_replaces_the_registered_profile() {
        let env = Env::new();
        env.register_demo(); // no --reference
        let spec = env.spec(
            "job",
            &format!(
                "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\n[drift]\nreference = \"{}\"\n",
                demo_input(),
                repo().join("fixtures/demo/reference.parquet").display()
            ),
        );
        let (out, _) = env.expect(3, &["run", &spec, "--date", "2024-01-02", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let alerts = alert_names(&report);
        assert_eq!(
            alerts,
            [
                "__prediction__/ks",
                "monthly_charges/ks",
                "support_calls/ks"
            ]
        );
        let report = drift_json(&env, &spec, "2024-01-02", 3);
        assert_eq!(report["drift_alerts"].as_array().unwrap().len(), 3);
        // A reference that does not exist is bad input.
        let bad = env.spec(
            "bad",
            &format!(
                "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\n[drift]\nreference = \"/nonexistent/*.parquet\"\n",
                demo_input()
            ),
        );
        let (_, err) = env.expect(2, &["run", &bad, "--date", "2024-01-01"]);
        assert!(err.contains("/nonexistent/*.parquet"), "{err}");
        let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
        assert!(
            batches.iter().all(|b| {
                let d = b
                    .column_by_name("logical_date")
                    .unwrap()
                    .as_primitive::<Date32Type>();
                (0..b.num_rows()).all(|i| d.value(i) != 19723)
            }),
            "nothing written for the failed date"
        );
    }

    /// `[drift] reference_window` compares with the job's own earlier output.
    #[test]
    fn reference_window_of_earlier_output() {
        let env = Env::new();
        env.register_demo();
        let spec = env.spec(
            "job",
            &format!(
                "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\", \"region\"]\n[drift]\nreference_window = {{ from = \"2024-01-01\", to = \"2024-01-01\" }}\n",
                demo_input()
            ),
        );
        // The first run has no window to compare with yet: no drift, no error.
        let out = env.ok(&["run", &spec, "--date", "2024-01-01", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(report["drift_metrics"], 0);
        // The second day's predictions are compared with the first day's.
        let (out, _) = env.expect(3, &["run", &spec, "--date", "2024-01-02", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let alerts = alert_names(&report);
        assert_eq!(alerts, ["__prediction__/ks"]);
        let rows = drift_rows(&env);
        let features: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.feature.as_str()).collect();
        assert_eq!(features, ["__prediction__", "region"].into_iter().collect());
        let ks = rows
            .iter()
            .find(|r| r.feature == "__prediction__" && r.metric == "ks")
            .unwrap();
        assert_eq!((ks.n_reference, ks.n_current), (5000, 5000));
        // The statistic is the two days' predictions compared directly.
        let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
        let (mut day1, mut day2) = (Vec::new(), Vec::new());
        for b in &batches {
            let d = b
                .column_by_name("logical_date")
                .unwrap()
                .as_primitive::<Date32Type>();
            let p = b
                .column_by_name("prediction")
                .unwrap()
                .as_primitive::<Float64Type>();
            for i in 0..b.num_rows() {
                if d.value(i) == 19723 {
                    day1.push(p.value(i))
                } else {
                    day2.push(p.value(i))
                }
            }
        }
        day1.sort_by(f64::total_cmp);
        day2.sort_by(f64::total_cmp);
        let direct = lakescore::drift::stats::ks_2samp(&day1, &day2);
        assert_eq!(ks.value, Some(direct.statistic));
        assert_eq!(ks.p_value, Some(direct.p_value));
    }

    #[test]
    fn versions_without_a_reference_skip_drift() {
        let env = Env::new();
        env.register_demo();
        let spec = env.demo_spec(&demo_input());
        let out = env.ok(&["run", &spec, "--date", "2024-01-02", "--json"]);
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(report["drift_metrics"], 0);
        assert!(drift_rows(&env).is_empty());
    }
}

mod runner_paths {
    //! Backfills, reruns, status and the scheduler, through the real binary.
    use super::*;
    use std::io::BufRead;

    fn runs_of(env: &Env) -> Vec<RunRow> {
        read_runs(&env.lake())
    }

    fn predictions_version(env: &Env) -> i64 {
        read_table(&env.lake(), "predictions/churn_daily")
            .unwrap()
            .0
    }

    #[test]
    fn backfill_runs_each_date_once_and_skips_done_dates() {
        let env = Env::new();
        env.register_demo();
        let spec = env.demo_spec(&demo_input());
        let out = env.ok(&[
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--json",
        ]);
        let report = json(&out);
        let actions: Vec<&str> = report["dates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["succeeded", "succeeded"]);
        let runs = runs_of(&env);
        assert_eq!(runs.len(), 2);
        assert!(
            runs.iter()
                .all(|r| r.trigger == "backfill" && r.status == "succeeded")
        );
        let version = predictions_version(&env);

        // Again with --rerun none: nothing to do, nothing written.
        let text = env.ok(&[
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
        ]);
        assert!(
            text.contains("0 run(s) succeeded, 0 failed, 2 date(s) skipped"),
            "{text}"
        );
        assert_eq!(runs_of(&env).len(), 2);
        assert_eq!(predictions_version(&env), version);

        // A dry run lists the dates, what it would do and the model version.
        let dry = json(&env.ok(&[
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-03",
            "--dry-run",
            "--json",
        ]));
        let dates = dry["dates"].as_array().unwrap();
        assert_eq!(dates.len(), 3);
        assert_eq!(dates[0]["action"], "skip");
        assert_eq!(dates[2]["action"], "run");
        assert_eq!(dates[2]["model_version"], 1);
        assert_eq!(runs_of(&env).len(), 2);

        // --rerun all replaces both dates (one copy each); a date without input
        // fails (exit 2) without stopping the others.
        let (out, _) = env.expect(
            2,
            &[
                "backfill",
                &spec,
                "--from",
                "2024-01-01",
                "--to",
                "2024-01-03",
                "--rerun",
                "all",
                "--json",
            ],
        );
        let report = json(&out);
        let actions: Vec<&str> = report["dates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["succeeded", "succeeded", "failed"]);
        let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
        let expected: usize = ["2024-01-01", "2024-01-02"]
            .iter()
            .map(|d| expected_demo(d).len())
            .sum();
        assert_eq!(rows(&batches), expected, "one copy of each date");
        // --rerun failed picks up the failed date only.
        let dry = json(&env.ok(&[
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-03",
            "--rerun",
            "failed",
            "--dry-run",
            "--json",
        ]));
        let actions: Vec<&str> = dry["dates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["skip", "skip", "run"]);

        // --model-as-of-date: the registry did not exist at the end of 2024-01-01.
        let dry = json(&env.ok(&[
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-01",
            "--rerun",
            "all",
            "--dry-run",
            "--model-as-of-date",
            "--json",
        ]));
        let error = dry["dates"][0]["error"].as_str().unwrap();
        assert!(error.contains("not registered"), "{error}");
        let today = chrono::Utc::now().date_naive().to_string();
        let dry = json(&env.ok(&[
            "backfill",
            &spec,
            "--from",
            &today,
            "--to",
            &today,
            "--dry-run",
            "--model-as-of-date",
            "--json",
        ]));
        assert_eq!(dry["dates"][0]["model_version"], 1);
    }

    #[test]
    fn rerun_reproduces_a_run_with_its_model_version_and_spec() {
        let env = Env::new();
        env.register_demo();
        let spec = env.demo_spec(&demo_input());
        let first = json(&env.ok(&["run", &spec, "--date", "2024-01-01", "--json"]));
        let run_id = first["run_id"].as_str().unwrap().to_string();
        // Production moves on: champion is now version 2, and the spec file changes.
        let artifact = repo().join("fixtures/demo/churn_model.json");
        env.ok(&[
            "registry",
            "register",
            "churn",
            "--flavor",
            "xgboost",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
        env.ok(&["registry", "alias", "churn", "2", "champion"]);
        std::fs::write(&spec, "this is no longer a spec").unwrap();

        let again = json(&env.ok(&["rerun", &run_id, "--json"]));
        assert_eq!(again["model_version"], 1);
        assert_eq!(again["logical_date"], "2024-01-01");
        let runs = runs_of(&env);
        let rerun = runs.iter().find(|r| r.trigger == "rerun").unwrap();
        assert_eq!(rerun.rerun_of.as_deref(), Some(run_id.as_str()));
        assert_eq!(rerun.model_version, Some(1));
        let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
        assert_eq!(rows(&batches), expected_demo("2024-01-01").len());

        let (_, err) = env.expect(2, &["rerun", "no-such-run"]);
        assert!(err.contains("there is no run \"no-such-run\""), "{err}");
    }

    #[test]
    fn status_shows_last_run_next_fire_and_model_version() {
        let env = Env::new();
        env.register_demo();
        let dir = env.path("jobs");
        std::fs::create_dir_all(&dir).unwrap();
        let spec = dir.join("churn.toml");
        std::fs::write(
            &spec,
            format!(
                "name = \"churn_daily\"\nschedule = \"0 2 * * *\"\ntimezone = \"Europe/Paris\"\n\
                 [model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\n\
                 path = \"{}\"\nkeys = [\"customer_id\"]\n",
                demo_input()
            ),
        )
        .unwrap();
        std::fs::write(dir.join("broken.toml"), "name = 1").unwrap();
        env.ok(&["run", spec.to_str().unwrap(), "--date", "2024-01-02"]);
        let status = json(&env.ok(&["status", dir.to_str().unwrap(), "--json"]));
        let jobs = status["jobs"].as_array().unwrap();
        assert_eq!(jobs.len(), 2);
        assert!(jobs[0]["error"].as_str().unwrap().contains("broken.toml"));
        let job = &jobs[1];
        assert_eq!(job["job_name"], "churn_daily");
        assert_eq!(job["model_version"], 1);
        assert_eq!(job["last_run"]["status"], "succeeded");
        assert_eq!(job["last_run"]["logical_date"], "2024-01-02");
        let next: chrono::DateTime<chrono::Utc> =
            job["next_fire"].as_str().unwrap().parse().unwrap();
        let local = next.with_timezone(&chrono_tz::Europe::Paris);
        assert_eq!(local.format("%H:%M").to_string(), "02:00");
        let text = env.ok(&["status", dir.to_str().unwrap()]);
        assert!(
            text.contains("churn_daily") && text.contains("2024-01-02 succeeded (manual)"),
            "{text}"
        );
    }

    #[test]
    fn the_scheduler_runs_a_job_due_every_minute_and_stops_on_sigterm() {
        let env = Env::new();
        env.register_demo();
        // Input for the dates the fire may fall on (today, or yesterday just after midnight).
        let today = chrono::Utc::now().date_naive();
        for day in [today.pred_opt().unwrap(), today] {
            let dir = env.path(&format!("data/{day}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in std::fs::read_dir(repo().join("fixtures/demo/data/2024-01-01")).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
            }
        }
        let jobs = env.path("jobs");
        std::fs::create_dir_all(&jobs).unwrap();
        // Due every minute; catchup runs the latest fire at once instead of waiting for the next.
        std::fs::write(
            jobs.join("minutely.toml"),
            format!(
                "name = \"minutely\"\nschedule = \"* * * * *\"\ncatchup = \"latest\"\n\
                 starting_deadline_seconds = 300\n[model]\nuri = \"models:/churn@champion\"\n\
                 [input]\nformat = \"parquet\"\npath = \"{}/data/{{{{ ds }}}}/*.parquet\"\n\
                 keys = [\"customer_id\"]\n",
                env.dir.path().display()
            ),
        )
        .unwrap();
        let mut child = Command::new(BIN)
            .args([
                "schedule",
                jobs.to_str().unwrap(),
                "--json",
                "--grace-seconds",
                "30",
            ])
            .env("LAKESCORE_LAKE", env.lake())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let finished = loop {
            let line = rx
                .recv_timeout(std::time::Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no run finished; events so far: {seen:?}"));
            let event = json(&line);
            seen.push(line);
            if event["event"] == "finished" {
                break event;
            }
        };
        assert_eq!(finished["status"], "succeeded", "{seen:?}");
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0));
        let rest: Vec<String> = rx.iter().collect();
        assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
        let runs = runs_of(&env);
        assert!(!runs.is_empty());
        assert!(
            runs.iter()
                .all(|r| r.trigger == "schedule" && r.scheduled_at.is_some())
        );
        assert!(runs.iter().all(|r| r.status == "succeeded"), "{runs:?}");
    }
}

#[test]
fn incremental_delta_input_scores_each_appended_row_once() {
    let env = Env::new();
    env.register_demo();
    // The input: a Delta table that a "copy" job appends one date of features to.
    let features = "[\"customer_id\", \"tenure_months\", \"monthly_charges\", \"support_calls\", \"contract_months\", \"late_payments\"]";
    let input = env.path("features_delta");
    let copy = env.spec(
        "copy",
        &format!(
            "name = \"copy\"\n[model]\nuri = \"models:/churn/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = {features}\n[output]\ntable = \"{}\"\n",
            demo_input(),
            input.display()
        ),
    );
    let spec = env.spec(
        "incremental",
        &format!(
            "name = \"inc\"\n[model]\nuri = \"models:/churn/1\"\n[input]\nformat = \"delta\"\nmode = \"incremental\"\npath = \"{}\"\nkeys = [\"customer_id\"]\n",
            input.display()
        ),
    );
    let run = |date: &str| json(&env.ok(&["run", &spec, "--date", date, "--json"]));

    env.ok(&["run", &copy, "--date", "2024-01-01"]);
    let first = run("2024-02-01");
    assert_eq!(
        (first["rows"].clone(), first["input_version"].clone()),
        (5000.into(), 1.into())
    );
    assert!(first["input_start_version"].is_null());

    env.ok(&["run", &copy, "--date", "2024-01-02"]);
    let second = run("2024-02-02");
    assert_eq!(second["rows"], 5000, "only the appended rows");
    assert_eq!(
        (
            second["input_start_version"].clone(),
            second["input_version"].clone()
        ),
        (1.into(), 2.into())
    );
    let (_, batches) = read_table(&env.lake(), "predictions/inc").unwrap();
    let day2 = expected_demo("2024-01-02");
    let mut checked = 0;
    for b in &batches {
        let ids = b.column_by_name("customer_id").unwrap().as_string::<i32>();
        let dates = b
            .column_by_name("logical_date")
            .unwrap()
            .as_primitive::<Date32Type>();
        let pred = b
            .column_by_name("prediction")
            .unwrap()
            .as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if dates.value(i) == 19755 {
                // 2024-02-02 holds day 2's customers, scored as XGBoost does.
                assert!((pred.value(i) - day2[ids.value(i)]).abs() <= 1e-6);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5000);

    // A rerun of the first date scores the same rows as before, not the new ones.
    let again = run("2024-02-01");
    assert_eq!(
        (again["rows"].clone(), again["input_version"].clone()),
        (5000.into(), 1.into())
    );
    let (_, batches) = read_table(&env.lake(), "predictions/inc").unwrap();
    assert_eq!(rows(&batches), 10_000, "each appended row exactly once");

    // Nothing new: a successful run with no rows.
    let empty = run("2024-02-03");
    assert_eq!(
        (empty["status"].clone(), empty["rows"].clone()),
        ("succeeded".into(), 0.into())
    );

    // Rewriting the input (the copy job replaces a date) is not an append.
    env.ok(&["run", &copy, "--date", "2024-01-01"]);
    let (_, err) = env.expect(2, &["run", &spec, "--date", "2024-02-04"]);
    assert!(
        err.contains("deleted or rewrote rows") && err.contains("version 3"),
        "{err}"
    );
}

#[test]
fn concurrent_runs_of_one_job_and_date_leave_one_copy() {
    let env = Env::new();
    env.register_demo();
    let spec = env.spec(
        "job",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\nbatch_rows = 250\n",
            demo_input()
        ),
    );
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(BIN)
                .args(["run", &spec, "--date", "2024-01-01"])
                .current_dir(repo())
                .env("LAKESCORE_LAKE", env.lake())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut succeeded = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => succeeded += 1,
            // A run that overlapped a committed run of the same job and date writes nothing.
            Some(1) => assert!(
                err.contains("another run of the same job and date"),
                "unexpected failure: {err}"
            ),
            other => panic!("exit {other:?}: {err}"),
        }
    }
    assert!(succeeded >= 1);
    let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000, "one copy of the date");
    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 4, "every attempt recorded");
    assert_eq!(
        runs.iter().filter(|r| r.status == "succeeded").count(),
        succeeded
    );
}

mod flavors {
    //! Model flavors end to end: MLflow model directories, multiclass outputs,
    //! categorical inputs given as strings, signature checks.
    use super::*;

    fn flavors(rel: &str) -> PathBuf {
        repo().join("fixtures/flavors").join(rel)
    }

    /// An MLflow model directory holding `model` as `data`, with a column signature.
    fn mlflow_dir(
        env: &Env,
        name: &str,
        flavor: &str,
        model: &str,
        data: &str,
        signature: &[(&str, &str)],
    ) -> PathBuf {
        let dir = env.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(flavors(model), dir.join(data)).unwrap();
        let inputs: Vec<String> = signature
            .iter()
            .map(|(n, t)| format!("{{\"type\": \"{t}\", \"name\": \"{n}\", \"required\": true}}"))
            .collect();
        let loader = if flavor == "xgboost" {
            "mlflow.xgboost"
        } else {
            "mlflow.lightgbm"
        };
        std::fs::write(
            dir.join("MLmodel"),
            format!(
                "artifact_path: model\nflavors:\n  python_function:\n    data: {data}\n    loader_module: {loader}\n    python_version: 3.11.7\n  {flavor}:\n    code: null\n    data: {data}\n    model_class: booster\nmlflow_version: 2.22.0\nrun_id: 5d1e0c\nsignature:\n  inputs: '[{}]'\n  outputs: null\n  params: null\n",
                inputs.join(", ")
            ),
        )
        .unwrap();
        dir
    }

    fn expected(rel: &str, name: &str) -> Vec<f64> {
        parquet_column(&flavors(rel), name)
    }

    #[test]
    fn a_multiclass_lightgbm_model_from_an_mlflow_dir_writes_class_probabilities() {
        let env = Env::new();
        let sig: Vec<(&str, &str)> = ["f0", "f1", "f2", "f3", "f4", "f5"]
            .iter()
            .map(|f| (*f, "double"))
            .collect();
        let dir = mlflow_dir(
            &env,
            "mlmodel",
            "lightgbm",
            "lightgbm/multiclass.txt",
            "model.lgb",
            &sig,
        );
        let out = json(&env.ok(&[
            "registry",
            "register",
            "lgbm",
            "--mlflow",
            dir.to_str().unwrap(),
            "--json",
        ]));
        assert_eq!(out["flavor"], "lightgbm");
        let list = json(&env.ok(&["registry", "list", "lgbm", "--json"]));
        let v = &list["versions"][0];
        assert_eq!(json(v["tags"].as_str().unwrap())["mlflow.run_id"], "5d1e0c");
        let outputs: Vec<String> = json(v["output_columns"].as_str().unwrap())
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(outputs, ["prediction", "prob_0", "prob_1", "prob_2"]);

        let spec = env.spec(
            "multi",
            &format!(
                "name = \"multi\"\n[model]\nuri = \"models:/lgbm/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
                flavors("data/lgb_multiclass.parquet").display()
            ),
        );
        env.ok(&["validate", &spec, "--date", "2024-01-01"]);
        env.ok(&["run", &spec, "--date", "2024-01-01"]);
        let (_, batches) = read_table(&env.lake(), "predictions/multi").unwrap();
        let classes = f64_column(&batches, "prediction");
        assert_eq!(
            classes,
            expected("data/lgb_multiclass.parquet", "expected_class")
        );
        for c in 0..3 {
            let got = f64_column(&batches, &format!("prob_{c}"));
            let want = expected("data/lgb_multiclass.parquet", &format!("expected_prob_{c}"));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-6, "prob_{c}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn categorical_inputs_given_as_strings_score_like_xgboost() {
        let env = Env::new();
        let model = flavors("xgboost/categorical_binary_logistic.ubj");
        env.ok(&[
            "registry",
            "register",
            "cats",
            "--flavor",
            "xgboost",
            "--artifact",
            model.to_str().unwrap(),
        ]);
        let spec = env.spec(
            "cats",
            &format!(
                "name = \"cats\"\n[model]\nuri = \"models:/cats/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
                flavors("data/xgb_categorical_binary_logistic.parquet").display()
            ),
        );
        env.ok(&["run", &spec, "--date", "2024-01-01"]);
        let (_, batches) = read_table(&env.lake(), "predictions/cats").unwrap();
        let got = f64_column(&batches, "prediction");
        let want = expected(
            "data/xgb_categorical_binary_logistic.parquet",
            "expected_prediction",
        );
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-6, "row {i}: {g} vs {w}");
        }
        let show = json(&env.ok(&["registry", "show", "cats", "1", "--json"]));
        let sig = json(show["version"]["signature"].as_str().unwrap());
        assert_eq!(sig[1], serde_json::json!({"name": "c0", "type": "string"}));
    }

    #[test]
    fn signatures_and_unscorable_mlflow_models_are_checked() {
        let env = Env::new();
        // The signature says f1 is a string; the input holds doubles.
        let sig = [
            ("f0", "double"),
            ("f1", "string"),
            ("f2", "double"),
            ("f3", "double"),
            ("f4", "double"),
            ("f5", "double"),
        ];
        let dir = mlflow_dir(
            &env,
            "xgbdir",
            "xgboost",
            "xgboost/binary_logistic.ubj",
            "model.xgb",
            &sig,
        );
        env.ok(&[
            "registry",
            "register",
            "m",
            "--mlflow",
            dir.to_str().unwrap(),
        ]);
        let spec = env.spec(
            "m",
            &format!(
                "name = \"m\"\n[model]\nuri = \"models:/m/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
                flavors("data/xgb_binary_logistic.parquet").display()
            ),
        );
        let (out, _) = env.expect(2, &["validate", &spec]);
        assert!(
            out.contains("column \"f1\" has type f64, but the model's signature says string"),
            "{out}"
        );

        // A signature that lacks a model input is refused at registration.
        let dir = mlflow_dir(
            &env,
            "short",
            "xgboost",
            "xgboost/binary_logistic.json",
            "model.xgb",
            &[("f0", "double")],
        );
        let (_, err) = env.expect(
            2,
            &[
                "registry",
                "register",
                "m",
                "--mlflow",
                dir.to_str().unwrap(),
            ],
        );
        assert!(err.contains("which its signature does not list"), "{err}");

        // A pickled scikit-learn model: a clear error saying what to do.
        let sk = env.path("sk");
        std::fs::create_dir_all(&sk).unwrap();
        std::fs::write(sk.join("MLmodel"), "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n").unwrap();
        let (_, err) = env.expect(
            2,
            &[
                "registry",
                "register",
                "m",
                "--mlflow",
                sk.to_str().unwrap(),
            ],
        );
        assert!(
            err.contains("no flavor lakescore can score") && err.contains("skl2onnx"),
            "{err}"
        );
        // A truncated model file is refused, naming it.
        for (model, cut, flavor, why) in [
            (
                "xgboost/binary_logistic.json",
                "cut.json",
                "xgboost",
                "not a valid xgboost model",
            ),
            ("lightgbm/binary.txt", "cut.txt", "lightgbm", "truncated"),
        ] {
            let cut_path = env.path(cut);
            let full = std::fs::read(flavors(model)).unwrap();
            std::fs::write(&cut_path, &full[..full.len() / 3]).unwrap();
            let (_, err) = env.expect(
                2,
                &[
                    "registry",
                    "register",
                    "m",
                    "--flavor",
                    flavor,
                    "--artifact",
                    cut_path.to_str().unwrap(),
                ],
            );
            assert!(err.contains(cut) && err.contains(why), "{err}");
        }
    }
}

/// Model directories written by MLflow itself (`fixtures/generate_mlflow.py`):
/// XGBoost UBJSON and LightGBM text, with NaN and nulls in the inputs.
#[test]
fn real_mlflow_model_directories_score_like_their_libraries() {
    let env = Env::new();
    let mlflow = repo().join("fixtures/mlflow");
    for (name, dir) in [("xgb", "xgb_binary"), ("lgb", "lgb_multiclass")] {
        env.ok(&[
            "registry",
            "register",
            name,
            "--mlflow",
            mlflow.join(dir).to_str().unwrap(),
        ]);
        let spec = env.spec(
            name,
            &format!(
                "name = \"{name}\"\n[model]\nuri = \"models:/{name}/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
                mlflow.join("data.parquet").display()
            ),
        );
        env.ok(&["validate", &spec]);
        env.ok(&["run", &spec, "--date", "2024-01-01"]);
    }
    let want = |c: &str| parquet_column(&mlflow.join("data.parquet"), c);
    let got = |table: &str, c: &str| f64_column(&read_table(&env.lake(), table).unwrap().1, c);
    let close = |a: &[f64], b: &[f64], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-6, "{what} row {i}: {x} vs {y}");
        }
    };
    close(
        &got("predictions/xgb", "prediction"),
        &want("expected_xgb"),
        "xgboost",
    );
    for c in 0..3 {
        close(
            &got("predictions/lgb", &format!("prob_{c}")),
            &want(&format!("expected_lgb_prob_{c}")),
            "lightgbm",
        );
    }
    assert_eq!(
        got("predictions/lgb", "prediction"),
        want("expected_lgb_class")
    );
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "sk",
            "--mlflow",
            mlflow.join("sklearn_only").to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("python_function, sklearn") && err.contains("skl2onnx"),
        "{err}"
    );
}

/// scikit-learn models exported with skl2onnx (`fixtures/generate_onnx.py`),
/// scored by a job; operators tract lacks are refused at registration.
#[test]
fn onnx_models_register_score_and_refuse_missing_operators() {
    let env = Env::new();
    let onnx = repo().join("fixtures/onnx");
    let model = onnx.join("scaler_logistic.onnx");
    // One [N, 4] input tensor: its columns need names.
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "s",
            "--flavor",
            "onnx",
            "--artifact",
            model.to_str().unwrap(),
        ],
    );
    assert!(err.contains("--features"), "{err}");
    let out = json(&env.ok(&[
        "registry",
        "register",
        "s",
        "--flavor",
        "onnx",
        "--artifact",
        model.to_str().unwrap(),
        "--features",
        "x0,x1,x2,x3",
        "--json",
    ]));
    assert_eq!(out["features"], serde_json::json!(["x0", "x1", "x2", "x3"]));
    let spec = env.spec(
        "onnx",
        &format!(
            "name = \"onnx\"\n[model]\nuri = \"models:/s/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            onnx.join("data.parquet").display()
        ),
    );
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    let (_, batches) = read_table(&env.lake(), "predictions/onnx").unwrap();
    let got = f64_column(&batches, "prediction");
    let want = parquet_column(
        &onnx.join("data.parquet"),
        "expected_scaler_logistic_prediction",
    );
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-6, "{g} vs {w}");
    }
    for (file, op) in [
        ("gbr.onnx", "TreeEnsembleRegressor"),
        ("unsupported_op.onnx", "SVMRegressor"),
    ] {
        let (_, err) = env.expect(
            2,
            &[
                "registry",
                "register",
                "bad",
                "--flavor",
                "onnx",
                "--artifact",
                onnx.join(file).to_str().unwrap(),
                "--features",
                "x0,x1,x2,x3",
            ],
        );
        assert!(err.contains(op) && err.contains(file), "{err}");
    }
}
