//! `lakescore sql`: the README's queries over a real lake, checked against
//! the tables read back through delta-rs; formats, time travel, extra tables
//! and the errors of a bad query.

use super::*;

fn sql_json(env: &Env, query: &str) -> Vec<serde_json::Value> {
    let out = json(&env.ok(&["--json", "sql", query]));
    out["rows"].as_array().unwrap().clone()
}

/// The README's ready-made queries, each against what delta-rs reads.
#[test]
fn the_documented_queries_agree_with_the_tables() {
    let env = demo_lake();
    // Rows and mean score per model version per day.
    let rows = sql_json(
        &env,
        "SELECT logical_date, model_version, count(*) AS n, avg(prediction) AS mean_score \
         FROM churn_daily GROUP BY logical_date, model_version ORDER BY logical_date, model_version",
    );
    let expected = predictions_by_day(&env.lake());
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    assert_eq!(rows.len(), 2);
    for (row, ((date, version), (n, sum))) in rows.iter().zip(&expected) {
        assert_eq!(row["logical_date"], date.as_str());
        assert_eq!(row["model_version"], *version);
        assert_eq!(row["n"], *n);
        let mean = row["mean_score"].as_f64().unwrap();
        assert!(
            (mean - sum / *n as f64).abs() < 1e-12,
            "{mean} vs {}",
            sum / *n as f64
        );
    }

    // Drift alerts of the last 7 days: the second date's three KS alerts.
    let alerts = sql_json(
        &env,
        "SELECT logical_date, feature, metric, value, p_value FROM drift_metrics \
         CROSS JOIN clock WHERE alert AND computed_at >= clock.now - INTERVAL '7 days' ORDER BY feature",
    );
    let features: Vec<&str> = alerts
        .iter()
        .map(|r| r["feature"].as_str().unwrap())
        .collect();
    assert_eq!(
        features,
        ["__prediction__", "monthly_charges", "support_calls"]
    );
    assert!(
        alerts
            .iter()
            .all(|r| r["logical_date"] == "2024-01-02" && r["metric"] == "ks")
    );

    // Which model version scored a given key on a given date.
    let scored = sql_json(
        &env,
        "SELECT customer_id, model_name, model_version, run_id FROM churn_daily \
         WHERE customer_id = 'C005042' AND logical_date = '2024-01-02'",
    );
    let runs = read_runs(&env.lake());
    let run = runs.iter().find(|r| r.logical_date == 19724).unwrap();
    assert_eq!(scored.len(), 1, "{scored:?}");
    assert_eq!(scored[0]["model_version"], 1);
    assert_eq!(scored[0]["run_id"], run.run_id.as_str());

    // Runs that failed this week and why.
    let spec = env.demo_spec(&demo_input());
    env.expect(2, &["run", &spec, "--date", "2031-01-01"]);
    let failed = sql_json(
        &env,
        "SELECT job_name, logical_date, error FROM runs \
         CROSS JOIN clock WHERE status = 'failed' AND started_at >= clock.now - INTERVAL '7 days'",
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["logical_date"], "2031-01-01");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("no input files match")
    );

    // Who promoted what when: the audit log's stage transitions.
    let promotions = sql_json(
        &env,
        "SELECT created_at, actor, model_name, version, from_stage, to_stage, comment \
         FROM model_events WHERE event_type = 'stage_transition' ORDER BY seq",
    );
    assert_eq!(promotions.len(), 1, "{promotions:?}");
    assert_eq!(promotions[0]["actor"], "tester");
    assert_eq!(promotions[0]["to_stage"], "Production");
    assert_eq!(promotions[0]["comment"], "go");

    // Where a job's time goes, run by run: the phases the runs table records.
    let timed = sql_json(
        &env,
        "SELECT logical_date, duration_ms, resolve_ms, read_ms, score_ms, drift_ms, write_ms, \
         commit_ms, rows_per_second FROM runs WHERE job_name = 'churn_daily' \
         AND status = 'succeeded' ORDER BY started_at",
    );
    let runs: Vec<_> = read_runs(&env.lake())
        .into_iter()
        .filter(|r| r.status == RunStatus::Succeeded)
        .collect();
    assert_eq!(timed.len(), runs.len());
    assert!(!runs.is_empty());
    for (row, run) in timed.iter().zip(&runs) {
        assert_eq!(row["duration_ms"], run.duration_ms);
        assert_eq!(row["score_ms"].as_i64(), run.score_ms);
        assert_eq!(row["commit_ms"].as_i64(), run.commit_ms);
        assert_eq!(row["rows_per_second"].as_f64(), run.rows_per_second);
        assert!(run.score_ms.is_some() && run.rows_per_second.is_some());
    }
}

#[test]
fn formats_time_travel_and_extra_tables() {
    let env = demo_lake();
    let q = "SELECT logical_date, count(*) AS n FROM \"predictions/churn_daily\" GROUP BY logical_date ORDER BY logical_date";
    let table = env.ok(&["sql", q]);
    assert!(
        table.starts_with("logical_date  n\n2024-01-01    5000\n"),
        "{table}"
    );
    assert!(table.ends_with("(2 rows)\n"), "{table}");
    let csv = env.ok(&["sql", q, "--format", "csv"]);
    assert_eq!(csv, "logical_date,n\n2024-01-01,5000\n2024-01-02,5000\n");
    let ndjson = env.ok(&["sql", q, "--format", "ndjson"]);
    assert_eq!(ndjson.lines().count(), 2);
    assert_eq!(
        json(ndjson.lines().next().unwrap())["logical_date"],
        "2024-01-01"
    );
    let empty = env.ok(&[
        "sql",
        "SELECT run_id FROM runs WHERE false",
        "--format",
        "csv",
    ]);
    assert_eq!(empty, "run_id\n", "an empty result still has its header");

    // Parquet to a file, then read as another table.
    let out = env.path("counts.parquet");
    env.ok(&[
        "sql",
        q,
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let table_arg = format!("counts={}", out.display());
    let back = json(&env.ok(&[
        "--json",
        "sql",
        "SELECT sum(n) AS total FROM counts",
        "--table",
        &table_arg,
    ]));
    assert_eq!(back["rows"][0]["total"], 10000);

    // Time travel: version 1 of the predictions table held the first date only.
    let v1 = json(&env.ok(&["--json", "sql", q, "--version", "predictions/churn_daily=1"]));
    assert_eq!(v1["row_count"], 1, "{v1}");
    // As of the end of the first run: one date.
    let first = read_runs(&env.lake())
        .into_iter()
        .min_by_key(|r| r.started_at)
        .unwrap();
    let at = chrono::DateTime::from_timestamp_micros(first.finished_at)
        .unwrap()
        .to_rfc3339();
    let then = json(&env.ok(&["--json", "sql", q, "--as-of", &at]));
    assert_eq!(then["row_count"], 1, "{then}");
    // Before the lake existed no table did: the query names none.
    let (_, err) = env.expect(
        2,
        &["sql", "SELECT count(*) FROM runs", "--as-of", "2000-01-01"],
    );
    assert!(err.contains("'runs' was not found"), "{err}");
}

#[test]
fn bad_queries_exit_2_with_the_names_that_exist() {
    let env = demo_lake();
    let (_, err) = env.expect(2, &["sql", "SELEC oops"]);
    assert!(err.contains("bad query over the tables runs, "), "{err}");
    let (_, err) = env.expect(2, &["sql", "SELECT * FROM churn"]);
    assert!(
        err.contains("'churn' was not found")
            && err.contains("churn_daily")
            && err.contains("\"predictions/churn_daily\""),
        "{err}"
    );
    let (_, err) = env.expect(2, &["sql", "SELECT score FROM churn_daily"]);
    assert!(
        err.contains("score") && err.contains("valid columns: [\"customer_id\""),
        "{err}"
    );
    let (_, err) = env.expect(2, &["sql", "SELECT 1", "--version", "nope=3"]);
    assert!(err.contains("there is no Delta table \"nope\""), "{err}");
    let (_, err) = env.expect(2, &["sql", "SELECT 1", "--table", "broken"]);
    assert!(err.contains("NAME=URI"), "{err}");
}

/// `drift_histograms` holds, per run and feature, the counts the metrics came
/// from: its sums are the metrics' sample sizes, and PSI follows from its bins.
#[test]
fn drift_histograms_hold_the_counts_behind_each_metric() {
    let env = demo_lake();
    let sums = sql_json(
        &env,
        "SELECT h.feature, sum(h.reference_count) AS reference, sum(h.current_count) AS current, \
         count(*) AS bins FROM drift_histograms h WHERE h.logical_date = '2024-01-02' \
         GROUP BY h.feature ORDER BY h.feature",
    );
    let metrics = sql_json(
        &env,
        "SELECT feature, n_reference, n_current, value FROM drift_metrics \
         WHERE logical_date = '2024-01-02' AND metric = 'psi' ORDER BY feature",
    );
    assert_eq!(sums.len(), metrics.len());
    assert!(sums.len() >= 6, "{sums:?}");
    for (h, m) in sums.iter().zip(&metrics) {
        assert_eq!(h["feature"], m["feature"]);
        assert_eq!(h["reference"], m["n_reference"], "{h} {m}");
        assert_eq!(h["current"], m["n_current"], "{h} {m}");
    }
    // PSI of monthly_charges recomputed from its bins, as the metric was.
    let bins = sql_json(
        &env,
        "SELECT reference_count, current_count FROM drift_histograms \
         WHERE logical_date = '2024-01-02' AND feature = 'monthly_charges' ORDER BY bin",
    );
    let r: Vec<u64> = bins
        .iter()
        .map(|b| b["reference_count"].as_u64().unwrap())
        .collect();
    let c: Vec<u64> = bins
        .iter()
        .map(|b| b["current_count"].as_u64().unwrap())
        .collect();
    let psi = lakescore_core::drift::stats::psi(&r, &c, lakescore_core::drift::profile::PSI_FLOOR);
    let stored = metrics
        .iter()
        .find(|m| m["feature"] == "monthly_charges")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert!((psi - stored).abs() < 1e-12, "{psi} vs {stored}");
}
