//! Drift checks end to end: metrics equal scipy/numpy on the demo job, per model version, with alerts and exit code 3.

use super::*;
use lakescore_engine::runner::drift_table::{self, DriftRow};

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
    env.register_demo_with_reference();
    let shown: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "show", "churn", "1", "--json"]).trim()).unwrap();
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
    // Wasserstein is not a default metric: ask for it, to compare it with scipy too.
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(
        &spec,
        format!("{text}[drift]\nmetrics = [\"psi\", \"ks\", \"wasserstein\", \"null_rate\"]\n"),
    )
    .unwrap();
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
    assert_eq!(runs.last().unwrap().status, RunStatus::Succeeded);
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
                    && (row.p_value.unwrap() - want["ks_pvalue"].as_f64().unwrap()).abs() <= 1e-9
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
    let mut frame = lakescore_engine::score::read_parquet(&day(0)).unwrap();
    frame
        .vstack_mut(&lakescore_engine::score::read_parquet(&day(1)).unwrap())
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
        serde_json::from_str(env.ok(&["registry", "show", "churn", "1", "--json"]).trim()).unwrap();
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
        .find(|r| r.feature == "region" && r.metric.as_str() == "chi2")
        .unwrap();
    assert!(chi2.p_value.unwrap() < 1e-10);
    assert_eq!(chi2.n_current, n as i64);
    let ks = rows
        .iter()
        .find(|r| r.feature == "tenure_months" && r.metric.as_str() == "ks")
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
    env.register_demo_with_reference();
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
    use lakescore_lake::DateReplaceWriter;
    let env = Env::new();
    env.register_demo_with_reference();
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
            columns[idx] = std::sync::Arc::new(arrow::array::Int64Array::from(versions));
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
            .find(|r| {
                r.model_version == v && r.feature == "__prediction__" && r.metric.as_str() == "ks"
            })
            .unwrap()
            .clone()
    };
    assert_eq!(pred(1).n_current, 2500);
    assert_eq!(pred(2).n_current, 2500);
    // Version 2's reference is part-0 of that day: its own rows drift not at all.
    let tenure2 = rows
        .iter()
        .find(|r| r.model_version == 2 && r.feature == "tenure_months" && r.metric.as_str() == "ks")
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
        .find(|r| r.feature == "__prediction__" && r.metric.as_str() == "ks")
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
                day1.push(p.value(i));
            } else {
                day2.push(p.value(i));
            }
        }
    }
    day1.sort_by(f64::total_cmp);
    day2.sort_by(f64::total_cmp);
    let direct = lakescore_core::drift::stats::ks_2samp(&day1, &day2);
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
