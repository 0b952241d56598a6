//! The runs table, kills and races: one copy per date whatever happens.

use super::*;

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
    // Dates and times are ISO 8601, as in every command's JSON.
    assert_eq!(runs[0]["logical_date"], "2024-01-02");
    let started = runs[0]["started_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok(),
        "{started}"
    );
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
        read_table(lake, "predictions/churn_daily").map_or(0, |(_, batches)| rows(&batches))
    };
    // One complete run of another date first, so that kills also hit replaces.
    env.ok(&["run", &spec, "--date", "2024-01-02"]);
    // Each batch takes at least 40 ms (a crash point's sleep), so a run of the
    // date's 20 batches is still writing when the kill lands: the test waits
    // until the attempt has recorded its start, kills it some batches later,
    // and checks that the process was still running then.
    let delays = [0u64, 30, 90, 150, 260, 400];
    for delay_ms in delays {
        let seen = read_runs(&env.lake()).len();
        let mut child = Command::new(BIN)
            .args(["run", &spec, "--date", "2024-01-01"])
            .current_dir(repo())
            .env("LAKESCORE_LAKE", env.lake())
            .env("FAILPOINTS", "run.after_batch=sleep(40)")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
        while read_runs(&env.lake()).len() == seen {
            assert!(
                std::time::Instant::now() < deadline,
                "the run never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "the run had already ended {delay_ms} ms after its start: the kill missed it"
        );
        let total = date_rows(&env.lake());
        assert_eq!(
            total, 5000,
            "after a kill {delay_ms} ms into the run the table holds {total} rows: a partial commit"
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
    // Every kill landed mid-run: each killed attempt reads back interrupted.
    let mut want = vec!["interrupted"; delays.len()];
    want.push("succeeded");
    assert_eq!(statuses, want);
    assert!(
        runs.iter().all(|r| r.status != RunStatus::Running),
        "{statuses:?}"
    );
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
    // Each attempt waits 6 s before its commit, so all eight are in flight at once.
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(BIN)
                .args(["run", &spec, "--date", "2024-01-01"])
                .current_dir(repo())
                .env("LAKESCORE_LAKE", env.lake())
                .env("FAILPOINTS", "run.before_commit=sleep(6000)")
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
    assert_eq!(
        succeeded, 1,
        "the first commit wins; the others overlapped it"
    );
    let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
    assert_eq!(rows(&batches), 5000, "one copy of the date");
    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 8, "every attempt recorded");
    // The attempts really raced: every one started before any finished.
    let last_start = runs.iter().map(|r| r.started_at).max().unwrap();
    let first_end = runs.iter().map(|r| r.finished_at).min().unwrap();
    assert!(
        last_start < first_end,
        "the attempts ran one after another, not at once"
    );
    assert_eq!(
        runs.iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count(),
        succeeded
    );
}

/// A promotion and an alias move during a run change nothing for that run:
/// it keeps the version it resolved at its start (its rows, its runs row),
/// and the next run takes the new one.
#[test]
fn a_promotion_during_a_run_leaves_the_run_on_the_version_it_resolved() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    let mut child = Command::new(BIN)
        .args(["--json", "run", &spec, "--date", "2024-02-01"])
        .current_dir(repo())
        .env("LAKESCORE_LAKE", env.lake())
        .env("FAILPOINTS", "run.before_commit=sleep(6000)")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has resolved its model: it creates its output table
    // only after that, then waits before its commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    while read_table(&env.lake(), "predictions/churn_daily").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    env.register_xgboost("churn", "fixtures/demo/churn_model.json");
    env.ok(&["registry", "alias", "churn", "2", "champion"]);
    env.ok(&[
        "registry",
        "promote",
        "churn",
        "2",
        "--stage",
        "production",
        "--archive-existing",
    ]);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the promotion happened while the run was in flight"
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&String::from_utf8_lossy(&out.stdout))["model_version"],
        1
    );
    let by_day = predictions_by_day(&env.lake());
    assert_eq!(
        by_day.keys().collect::<Vec<_>>(),
        vec![&("2024-02-01".to_string(), 1)]
    );
    let runs = read_runs(&env.lake());
    assert_eq!(runs[0].model_version, Some(1));
    // The next run resolves the alias again.
    let next = json(&env.ok(&["--json", "run", &spec, "--date", "2024-02-02"]));
    assert_eq!(next["model_version"], 2);
}
