//! End to end on the demo model: scores equal XGBoost, lineage, reruns, dry runs, Delta inputs.

use super::*;

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
            .all(|r| r.status == RunStatus::Succeeded && r.model_version == Some(1))
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
    // `validate` checks a Delta input as a run resolves it: its columns, from the snapshot.
    let valid = json(&env.ok(&["validate", &delta_spec, "--json"]));
    assert_eq!(valid["valid"], true, "{valid}");
    assert_eq!(valid["specs"][0]["notes"], serde_json::json!([]), "{valid}");
    let wrong_key = env.spec(
        "delta_bad",
        &format!(
            "name = \"from_delta\"\n[model]\nuri = \"models:/churn/production\"\n[input]\nformat = \"delta\"\npath = \"{}\"\nkeys = [\"account\"]\n",
            env.path("features_delta").display()
        ),
    );
    let (invalid, _) = env.expect(2, &["validate", &wrong_key, "--json"]);
    let invalid = json(&invalid);
    let message = invalid["specs"][0]["errors"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("\"account\""), "{message}");
    let (_, err) = env.expect(2, &["run", &wrong_key, "--date", "2024-01-01", "--dry-run"]);
    assert!(err.contains("\"account\""), "{err}");
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
fn schema_command_prints_the_checked_in_schema() {
    let env = Env::new();
    let out = env.ok(&["schema"]);
    let checked_in = std::fs::read_to_string(repo().join("schemas/job.schema.json")).unwrap();
    assert_eq!(out, checked_in);
}
