//! Sharded runs: `plan`, `run --attempt --shard`, `commit`.

use super::*;

fn drift_rows(lake: &Path) -> Vec<String> {
    let Some((_, batches)) = read_table(lake, "drift_metrics") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in &batches {
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let (feature, metric, value, p) =
            (col("feature"), col("metric"), col("value"), col("p_value"));
        for i in 0..b.num_rows() {
            let show = |c: &arrow::array::ArrayRef| {
                arrow::util::display::array_value_to_string(c, i).unwrap()
            };
            out.push(format!(
                "{} {} {} {}",
                show(&feature),
                show(&metric),
                show(&value),
                show(&p)
            ));
        }
    }
    out.sort();
    out
}

fn predictions(lake: &Path, table: &str) -> Vec<(String, f64)> {
    let (_, batches) = read_table(lake, table).unwrap();
    let ids: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(
                b.column_by_name("customer_id").unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let c = c.as_string::<i32>().clone();
            (0..c.len())
                .map(move |i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut rows: Vec<(String, f64)> = ids
        .into_iter()
        .zip(f64_column(&batches, "prediction"))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn plan(env: &Env, spec: &str, date: &str, shards: usize) -> String {
    let out = json(&env.ok(&[
        "--json",
        "plan",
        spec,
        "--date",
        date,
        "--shards",
        &shards.to_string(),
    ]));
    assert_eq!(out["shards"], shards);
    out["attempt"].as_str().unwrap().to_string()
}

fn shard(env: &Env, spec: &str, date: &str, attempt: &str, i: usize) -> String {
    env.ok(&[
        "run",
        spec,
        "--date",
        date,
        "--attempt",
        attempt,
        "--shard",
        &i.to_string(),
    ])
}

/// Three shards over the day's two files (one shard has none) publish one
/// copy, with exactly the predictions and drift of a run in one process.
#[test]
fn a_sharded_run_equals_one_process() {
    let single = Env::new();
    single.register_demo_with_reference();
    let spec = single.demo_spec(&demo_input());
    single.expect(3, &["run", &spec, "--date", "2024-01-02"]);

    let env = Env::new();
    env.register_demo_with_reference();
    let spec = env.demo_spec(&demo_input());
    let attempt = plan(&env, &spec, "2024-01-02", 3);
    assert!(
        read_table(&env.lake(), "predictions/churn_daily").is_none(),
        "a plan writes no predictions"
    );
    shard(&env, &spec, "2024-01-02", &attempt, 0);
    // An Indexed Job's pod takes its index from JOB_COMPLETION_INDEX.
    let out = Command::new(BIN)
        .args(["run", &spec, "--date", "2024-01-02", "--attempt", &attempt])
        .current_dir(repo())
        .env("LAKESCORE_LAKE", env.lake())
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("shard 1 of 3"));
    shard(&env, &spec, "2024-01-02", &attempt, 2);
    assert!(
        read_table(&env.lake(), "predictions/churn_daily").is_none_or(|(_, b)| rows(&b) == 0),
        "shards commit nothing"
    );
    let (out, _) = env.expect(
        3,
        &[
            "--json",
            "commit",
            &spec,
            "--date",
            "2024-01-02",
            "--attempt",
            &attempt,
        ],
    );
    let out = json(&out);
    assert_eq!(out["rows"], 5000);
    assert_eq!(out["shards"], 3);
    assert_eq!(
        out["shard_rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| **r == 0)
            .count(),
        1
    );

    assert_eq!(
        predictions(&env.lake(), "predictions/churn_daily"),
        predictions(&single.lake(), "predictions/churn_daily"),
        "the shards' predictions are the single process's"
    );
    let sharded = drift_rows(&env.lake());
    assert!(!sharded.is_empty());
    assert_eq!(
        sharded,
        drift_rows(&single.lake()),
        "merged drift equals the single process's"
    );
    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 1, "the attempt is one run: {runs:?}");
    assert_eq!(runs[0].run_id, attempt);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].shards, Some(3));
    assert_eq!(runs[0].rows_out, 5000);
}

/// A missing shard fails the commit naming it; a retried shard replaces its
/// manifest; a retried commit changes nothing; an alias moved after the plan
/// does not change the version the shards use.
#[test]
fn commits_check_their_shards_and_retries_are_idempotent() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    let attempt = plan(&env, &spec, "2024-03-01", 2);
    // The alias moves to a new version after the plan: the shards keep version 1.
    env.register_xgboost("churn", "fixtures/demo/churn_model.json");
    env.ok(&["registry", "alias", "churn", "2", "champion"]);
    shard(&env, &spec, "2024-03-01", &attempt, 0);
    let (_, err) = env.expect(
        1,
        &[
            "commit",
            &spec,
            "--date",
            "2024-03-01",
            "--attempt",
            &attempt,
        ],
    );
    assert!(err.contains("shard 1 of 2 has not reported"), "{err}");
    assert!(read_table(&env.lake(), "predictions/churn_daily").is_none_or(|(_, b)| rows(&b) == 0));
    // Shard 1 fails once after writing files (killed before its manifest), then is retried.
    let killed = Command::new(BIN)
        .args([
            "run",
            &spec,
            "--date",
            "2024-03-01",
            "--attempt",
            &attempt,
            "--shard",
            "1",
        ])
        .current_dir(repo())
        .env("LAKESCORE_LAKE", env.lake())
        .env("FAILPOINTS", "shard.before_manifest=return")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&killed.stderr)
            .contains("crash point shard.before_manifest reached")
    );
    shard(&env, &spec, "2024-03-01", &attempt, 1);
    shard(&env, &spec, "2024-03-01", &attempt, 1);
    let out = json(&env.ok(&[
        "--json",
        "commit",
        &spec,
        "--date",
        "2024-03-01",
        "--attempt",
        &attempt,
    ]));
    assert_eq!(out["rows"], 5000);
    assert_eq!(out["model_version"], 1);
    assert_eq!(out["already_committed"], false);
    let again = json(&env.ok(&[
        "--json",
        "commit",
        &spec,
        "--date",
        "2024-03-01",
        "--attempt",
        &attempt,
    ]));
    assert_eq!(again["already_committed"], true);
    let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000, "one copy of the date");
    let versions: std::collections::BTreeSet<i64> = batches
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name("model_version")
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone();
            (0..c.len()).map(move |i| c.value(i)).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(versions, [1].into(), "every shard used the planned version");
    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
}

/// The commit of an attempt that a newer attempt, or a run of the same date,
/// superseded writes nothing.
#[test]
fn a_superseded_attempt_writes_nothing() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    let old = plan(&env, &spec, "2024-03-02", 1);
    shard(&env, &spec, "2024-03-02", &old, 0);
    let new = plan(&env, &spec, "2024-03-02", 1);
    shard(&env, &spec, "2024-03-02", &new, 0);
    let (_, err) = env.expect(
        1,
        &["commit", &spec, "--date", "2024-03-02", "--attempt", &old],
    );
    assert!(
        err.contains(&format!("attempt {new} planned this date later")),
        "{err}"
    );
    assert!(read_table(&env.lake(), "predictions/churn_daily").is_none_or(|(_, b)| rows(&b) == 0));
    env.ok(&["commit", &spec, "--date", "2024-03-02", "--attempt", &new]);

    // A run of the date commits between another attempt's plan and its commit.
    let late = plan(&env, &spec, "2024-03-02", 1);
    shard(&env, &spec, "2024-03-02", &late, 0);
    env.ok(&["run", &spec, "--date", "2024-03-02"]);
    let (_, err) = env.expect(
        1,
        &["commit", &spec, "--date", "2024-03-02", "--attempt", &late],
    );
    assert!(
        err.contains("committed after this attempt was planned"),
        "{err}"
    );
    let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000);
    // An attempt of another date or job is not this one's.
    let (_, err) = env.expect(
        2,
        &[
            "run",
            &spec,
            "--date",
            "2024-03-03",
            "--attempt",
            &late,
            "--shard",
            "0",
        ],
    );
    assert!(err.contains("no attempt"), "{err}");
    let (_, err) = env.expect(
        2,
        &[
            "run",
            &spec,
            "--date",
            "2024-03-02",
            "--attempt",
            &late,
            "--shard",
            "5",
        ],
    );
    assert!(err.contains("has 1 shards"), "{err}");
}
