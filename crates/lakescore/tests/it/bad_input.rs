//! Bad input exits 2 with a message naming the culprit, and writes nothing.

use super::*;

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
    assert_eq!(last.status, RunStatus::Failed);
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

/// The one directory under `dir` (an artifact's or a profile's hash).
fn only_dir(dir: &Path) -> PathBuf {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.remove(0)
}

/// Change one digit of the registered demo model's stored artifact.
fn tamper_demo_artifact(env: &Env) {
    let file = only_dir(&env.lake().join("registry/artifacts/churn")).join("churn_model.json");
    let mut bytes = std::fs::read(&file).unwrap();
    let pos = bytes.iter().position(|&b| b == b'5').unwrap();
    bytes[pos] = b'6';
    std::fs::write(&file, bytes).unwrap();
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
    tamper_demo_artifact(&env);
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
fn tampered_reference_profile_exits_2_before_anything_is_written() {
    // The profile loads on its own task beside the model and the input:
    // its error still stops the run before the output table is touched.
    let env = Env::new();
    env.register_demo_with_reference();
    let profile = only_dir(&env.lake().join("registry/profiles/churn"));
    let values = profile.join("values.bin");
    let mut bytes = std::fs::read(&values).unwrap();
    bytes[8] ^= 1;
    std::fs::write(&values, bytes).unwrap();
    let spec = env.demo_spec(&demo_input());
    let err = assert_bad_run(
        &env,
        &spec,
        "2024-01-01",
        &["reference profile", "registry/profiles/churn", "SHA-256"],
    );
    assert_eq!(err.matches("SHA-256").count(), 1, "one cause, once: {err}");
    assert_recorded_failure(&env, "reference profile");

    // The model is loaded first: when both are bad, its error is the one.
    tamper_demo_artifact(&env);
    let err = assert_bad_run(&env, &spec, "2024-01-01", &["artifact", "SHA-256"]);
    assert!(!err.contains("reference profile"), "{err}");
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
fn output_location_holding_other_files_is_refused() {
    let env = Env::new();
    env.register_demo();
    // Someone's files where the output table would go (no _delta_log).
    let folder = env.path("exports");
    std::fs::create_dir_all(folder.join("2023")).unwrap();
    std::fs::write(folder.join("customers.csv"), "id\n1\n").unwrap();
    let spec = env.spec(
        "job",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\n\
             format = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\n[output]\ntable = \"{}\"\n",
            demo_input(),
            folder.display()
        ),
    );
    let (_, err) = env.expect(2, &["run", &spec, "--date", "2024-01-01"]);
    assert!(
        err.contains("not a Delta table")
            && err.contains("exports")
            && err.contains("2023/, customers.csv"),
        "{err}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["2023", "customers.csv"], "the folder was written to");
    assert_recorded_failure(&env, "not a Delta table");
    // An empty folder is fine: it becomes the table.
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    assert!(folder.join("_delta_log").is_dir());
}

#[test]
fn dates_on_the_command_line_are_strictly_yyyy_mm_dd() {
    let env = Env::new();
    let spec = env.demo_spec(&demo_input());
    for bad in ["01-01-2024", "2024/01/01", "2024-1-1"] {
        let (_, err) = env.expect(2, &["run", &spec, "--date", bad]);
        assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
    }
    assert!(!env.lake().join("runs").exists(), "nothing written");
}
