//! A crash at every named crash point (`lakescore_engine::failpoints`) leaves
//! the lake consistent: one copy of a date or none, the runs table and the
//! registry readable and in agreement, and the next run or registration
//! succeeding. Each test asserts the process died at the point it named.

use std::os::unix::process::ExitStatusExt as _;

use lakescore_engine::failpoints::CRASH_POINTS;

use super::*;

impl Env {
    /// Run lakescore with crash point `point` armed; returns its stderr after
    /// checking that it died there (SIGABRT, and the point's own message).
    fn crash_at(&self, point: &str, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", self.lake())
            .env("LAKESCORE_ACTOR", "tester")
            .env("FAILPOINTS", format!("{point}=return"))
            .env_remove("RUST_LOG")
            .output()
            .expect("lakescore runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.signal(),
            Some(6),
            "lakescore {args:?} with {point} armed did not die there: {:?}\n{stderr}",
            out.status
        );
        assert!(
            stderr.contains(&format!("crash point {point} reached")),
            "{point}: {stderr}"
        );
        stderr
    }
}

fn date_rows(env: &Env) -> usize {
    read_table(&env.lake(), "predictions/churn_daily").map_or(0, |(_, batches)| rows(&batches))
}

/// Versions that `registry list --json` shows, and those `history --json` says were registered.
fn listed_and_registered(env: &Env, name: &str) -> (Vec<i64>, Vec<i64>) {
    let list = env.run(&["registry", "list", name, "--json"]);
    let history = env.run(&["registry", "history", name, "--json"]);
    if list.status.code() == Some(2) {
        assert_eq!(
            history.status.code(),
            Some(2),
            "list says unknown, history does not"
        );
        return (Vec::new(), Vec::new());
    }
    let list = json(&String::from_utf8_lossy(&list.stdout));
    let history = json(&String::from_utf8_lossy(&history.stdout));
    let listed = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    let registered = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "registered")
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    (listed, registered)
}

#[test]
fn every_crash_point_is_tested_here() {
    let source = include_str!("crash_points.rs");
    for point in CRASH_POINTS {
        assert!(
            source.matches(&format!("\"{point}\"")).count() >= 1,
            "crash point {point} has no test"
        );
    }
}

/// A run killed at each of its steps: before anything is committed, between
/// batches, right before and after the predictions commit, after drift; the
/// next run of the date leaves exactly one copy and every attempt reads back.
#[test]
fn a_run_killed_at_each_step_leaves_one_copy_or_none() {
    let env = Env::new();
    env.register_demo_with_reference();
    let spec = env.spec(
        "job",
        &format!(
            "name = \"churn_daily\"\n[model]\nuri = \"models:/churn@champion\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\nbatch_rows = 1000\n",
            demo_input()
        ),
    );
    let run = ["run", spec.as_str(), "--date", "2024-01-01"];
    for (point, committed) in [
        ("run.after_start_row", false),
        ("run.after_batch", false),
        ("run.before_commit", false),
        ("run.after_commit", true),
        ("run.after_drift", true),
    ] {
        let before = date_rows(&env);
        env.crash_at(point, &run);
        let after = date_rows(&env);
        if committed {
            assert_eq!(after, 5000, "{point}: the commit stands, one copy");
        } else {
            assert_eq!(after, before, "{point}: nothing new is visible");
        }
        let runs = read_runs(&env.lake());
        assert_eq!(
            runs.last().map(|r| r.status),
            Some(RunStatus::Running),
            "{point}: the killed attempt stays running until a later one"
        );
        // The next run succeeds and replaces the date: one copy.
        env.ok(&run);
        assert_eq!(date_rows(&env), 5000, "{point}: one copy after the rerun");
        let runs = read_runs(&env.lake());
        assert_eq!(runs.last().unwrap().status, RunStatus::Succeeded);
        assert!(
            runs.iter()
                .all(|r| matches!(r.status, RunStatus::Succeeded | RunStatus::Interrupted)),
            "{point}: {:?}",
            runs.iter().map(|r| r.status).collect::<Vec<_>>()
        );
    }
}

/// A registration killed after storing its artifact leaves no version; killed
/// between its version row and its event, it leaves a version that `list`,
/// `history` and resolution all show, and the next write records its event.
#[test]
fn a_registration_killed_at_each_step_keeps_list_history_and_resolution_agreeing() {
    let env = Env::new();
    let artifact = repo().join("fixtures/demo/churn_model.json");
    let register = [
        "registry",
        "register",
        "churn",
        "--flavor",
        "xgboost",
        "--artifact",
        artifact.to_str().unwrap(),
    ];

    env.crash_at("register.after_artifact", &register);
    assert_eq!(listed_and_registered(&env, "churn"), (vec![], vec![]));
    env.expect(2, &["registry", "resolve", "models:/churn/latest"]);

    env.crash_at("register.after_version_row", &register);
    let (listed, registered) = listed_and_registered(&env, "churn");
    assert_eq!(listed, vec![1]);
    assert_eq!(
        registered, listed,
        "history shows the interrupted registration"
    );
    let resolved = json(&env.ok(&["registry", "resolve", "models:/churn/latest", "--json"]));
    assert_eq!(resolved["version"]["version"], 1);

    // The next registry write records the missing event; the next registration is version 2.
    env.ok(&register);
    let (listed, registered) = listed_and_registered(&env, "churn");
    assert_eq!(listed, vec![1, 2]);
    assert_eq!(registered, vec![1, 2]);
    let history = json(&env.ok(&["registry", "history", "churn", "--json"]));
    let late = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "registered" && e["version"] == 1)
        .unwrap();
    assert!(
        late["comment"].as_str().unwrap().contains("interrupted"),
        "{late}"
    );
    assert!(
        late["seq"].as_i64().unwrap() > 0,
        "recorded in the events table: {late}"
    );
}

/// A transition killed before its events commit changes nothing; killed after,
/// it stands. Either way the registry reads back and the next write succeeds.
#[test]
fn a_registry_transition_killed_before_or_after_its_commit_is_all_or_nothing() {
    let env = Env::new();
    env.register_demo();
    let promote = ["registry", "promote", "churn", "1", "--stage", "staging"];
    let stage = |env: &Env| {
        let v = json(&env.ok(&["registry", "list", "churn", "--json"]));
        v["versions"][0]["stage"].as_str().unwrap().to_string()
    };
    let events = |env: &Env| {
        json(&env.ok(&["registry", "history", "churn", "--json"]))["events"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = events(&env);
    env.crash_at("registry.before_event_commit", &promote);
    assert_eq!(stage(&env), "Production");
    assert_eq!(events(&env), before, "nothing was written");

    env.crash_at("registry.after_event_commit", &promote);
    assert_eq!(stage(&env), "Staging", "the committed transition stands");
    assert_eq!(events(&env), before + 1);

    env.ok(&["registry", "promote", "churn", "1", "--stage", "production"]);
    assert_eq!(stage(&env), "Production");
}

/// A sharded run killed at each of its steps: a shard before its manifest (the
/// commit then names the missing shard; the retried shard completes it), the
/// commit before and after its Delta commit. Retrying what died leaves one
/// copy of the date and the attempt recorded once, as succeeded.
#[test]
fn a_sharded_run_killed_at_each_step_leaves_one_copy_or_none() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    let crash = |point: &str, args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", env.lake())
            .env("FAILPOINTS", format!("{point}=return"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("crash point {point} reached")),
            "{point}: {err}"
        );
    };
    for (i, point) in [
        "shard.before_manifest",
        "commit.before_commit",
        "commit.after_commit",
    ]
    .into_iter()
    .enumerate()
    {
        let date = format!("2024-05-1{i}");
        let planned = json(&env.ok(&["--json", "plan", &spec, "--date", &date, "--shards", "2"]));
        let attempt = planned["attempt"].as_str().unwrap();
        let shard = |i: &'static str| {
            [
                "run",
                spec.as_str(),
                "--date",
                date.as_str(),
                "--attempt",
                attempt,
                "--shard",
                i,
            ]
        };
        env.ok(&shard("0"));
        let commit = ["commit", &spec, "--date", &date, "--attempt", attempt];
        if point == "shard.before_manifest" {
            crash(point, &shard("1"));
            let (_, err) = env.expect(1, &commit);
            assert!(err.contains("shard 1 of 2 has not reported"), "{err}");
            env.ok(&shard("1"));
        } else {
            env.ok(&shard("1"));
            crash(point, &commit);
        }
        let visible = predictions_by_day(&env.lake())
            .get(&(date.clone(), 1))
            .map_or(0, |(n, _)| *n);
        let expected_before = if point == "commit.after_commit" {
            5000
        } else {
            0
        };
        assert_eq!(
            visible, expected_before,
            "{point}: what the crash left visible"
        );
        env.ok(&commit);
        let runs = read_runs(&env.lake());
        let attempt_rows: Vec<_> = runs.iter().filter(|r| r.run_id == attempt).collect();
        assert_eq!(attempt_rows.len(), 1, "{point}");
        assert_eq!(attempt_rows[0].status, RunStatus::Succeeded, "{point}");
        assert_eq!(attempt_rows[0].rows_out, 5000, "{point}");
    }
    let by_day = predictions_by_day(&env.lake());
    assert_eq!(by_day.len(), 3);
    assert!(by_day.values().all(|(n, _)| *n == 5000), "{by_day:?}");
}
