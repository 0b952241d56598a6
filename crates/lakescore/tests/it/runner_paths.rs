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
            .all(|r| r.trigger == Trigger::Backfill && r.status == RunStatus::Succeeded)
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

    // A dry run lists the dates, what it would do and the model version; it
    // checks each date as `run --dry-run` does, so a date without input files
    // "would fail" (and the dry run exits 2, as `run --dry-run` would).
    let (out, _) = env.expect(
        2,
        &[
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-03",
            "--dry-run",
            "--json",
        ],
    );
    let dry = json(&out);
    let dates = dry["dates"].as_array().unwrap();
    assert_eq!(dates.len(), 3);
    assert_eq!(dates[0]["action"], "skip");
    // A skipped date shows its latest attempt.
    assert_eq!(dates[0]["rows"], 5000);
    assert!(dates[0]["run_id"].is_string());
    assert_eq!(dates[2]["action"], "would_fail");
    assert_eq!(dates[2]["model_version"], 1);
    assert!(
        dates[2]["error"]
            .as_str()
            .unwrap()
            .contains("no input files match"),
        "{}",
        dates[2]
    );
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
            "failed",
            "--dry-run",
            "--json",
        ],
    );
    let dry = json(&out);
    let actions: Vec<&str> = dry["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["skip", "skip", "would_fail"]);

    // --model-as-of-date: the registry did not exist at the end of 2024-01-01,
    // so the date has no model version: it is skipped with that reason, in a
    // dry run and in a real one, and its good predictions and succeeded
    // attempt stay as they were (no failed attempt recorded over them).
    let runs_before = runs_of(&env).len();
    let version_before = predictions_version(&env);
    for dry_run in [true, false] {
        let mut args = vec![
            "backfill",
            &spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--rerun",
            "all",
            "--model-as-of-date",
            "--json",
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let report = json(&env.ok(&args));
        for d in report["dates"].as_array().unwrap() {
            assert_eq!(d["action"], "no_model", "{d}");
            let error = d["error"].as_str().unwrap();
            assert!(error.contains("was not registered yet at"), "{error}");
        }
    }
    assert_eq!(runs_of(&env).len(), runs_before);
    assert_eq!(predictions_version(&env), version_before);
    let text = env.ok(&[
        "backfill",
        &spec,
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-01",
        "--rerun",
        "all",
        "--model-as-of-date",
    ]);
    assert!(
        text.contains("(--rerun all, --model-as-of-date)")
            && text.contains("no model")
            && text.contains("1 date(s) without a model version"),
        "{text}"
    );
    let today = chrono::Utc::now().date_naive().to_string();
    let (out, _) = env.expect(
        2,
        &[
            "backfill",
            &spec,
            "--from",
            &today,
            "--to",
            &today,
            "--dry-run",
            "--model-as-of-date",
            "--json",
        ],
    );
    assert_eq!(json(&out)["dates"][0]["model_version"], 1);
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

    // A unique prefix names the run, as git takes abbreviated commit ids.
    let again = json(&env.ok(&["rerun", &run_id[..8], "--json"]));
    assert_eq!(again["model_version"], 1);
    assert_eq!(again["logical_date"], "2024-01-01");
    let runs = runs_of(&env);
    let rerun = runs.iter().find(|r| r.trigger == Trigger::Rerun).unwrap();
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
    let next: chrono::DateTime<chrono::Utc> = job["next_fire"].as_str().unwrap().parse().unwrap();
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
            .recv_timeout(std::time::Duration::from_mins(2))
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
            .all(|r| r.trigger == Trigger::Schedule && r.scheduled_at.is_some())
    );
    assert!(
        runs.iter().all(|r| r.status == RunStatus::Succeeded),
        "{runs:?}"
    );
}

/// A spec's relative paths resolve against its folder, so the repository's
/// demo job runs from any directory; without a lake there, nothing is created
/// and the message names the lake looked for and how it was chosen.
#[test]
fn a_job_runs_from_an_unrelated_directory_and_never_creates_a_lake() {
    let env = Env::new();
    env.register_demo();
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let spec = repo().join("jobs/demo.toml");
    let run = |with_lake: bool| {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(&elsewhere)
            .env_remove("LAKESCORE_LAKE")
            .args(["run", spec.to_str().unwrap(), "--date", "2024-01-01"]);
        if with_lake {
            cmd.args(["--lake", env.lake().to_str().unwrap()]);
        }
        cmd.output().unwrap()
    };
    let out = run(true);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].rows_out, 5000);

    let out = run(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let looked = elsewhere.join("lake");
    assert!(
        stderr.contains(&format!("no lake at {}", looked.display()))
            && stderr.contains("the default ./lake"),
        "{stderr}"
    );
    assert!(!looked.exists(), "a read created {}", looked.display());
}

/// Read-only commands on a missing lake, lakes with a scheme lakescore
/// cannot reach, and unsafe storage configurations are usage errors (exit 2)
/// that write nothing.
#[test]
fn missing_lakes_and_unsupported_schemes_are_refused() {
    let env = Env::new();
    for args in [
        vec!["runs"],
        vec!["registry", "list"],
        vec!["status", "jobs"],
    ] {
        let (_, stderr) = env.expect(2, &args);
        assert!(
            stderr.contains("no lake at") && stderr.contains("LAKESCORE_LAKE="),
            "{stderr}"
        );
    }
    assert!(!env.lake().exists());
    let (_, stderr) = env.expect(2, &["--lake", "hdfs://namenode/lake", "registry", "list"]);
    assert!(
        stderr.contains("unsupported scheme \"hdfs:\"") && stderr.contains("s3://"),
        "{stderr}"
    );
    // A configuration under which concurrent S3 writers are unsafe is refused
    // before anything is read.
    let (_, stderr) = env.expect(
        2,
        &[
            "--lake",
            "s3://bucket/lake",
            "--storage-option",
            "AWS_S3_LOCKING_PROVIDER=dynamodb",
            "registry",
            "list",
        ],
    );
    assert!(
        stderr.contains("unsafe storage configuration for s3://bucket/lake/")
            && stderr.contains("conditional writes"),
        "{stderr}"
    );
}

/// The scheduler and a backfill of the same job racing for one date (both
/// wait before their commits, so their attempts overlap): the date holds one
/// copy, every attempt is recorded, and the loser says why.
#[test]
fn backfill_and_the_scheduler_on_one_job_leave_one_copy_per_date() {
    let env = Env::new();
    env.register_demo();
    let jobs = env.path("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    let spec = jobs.join("raced.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"raced\"\nschedule = \"* * * * *\"\ncatchup = \"latest\"\n\
             starting_deadline_seconds = 300\n[model]\nuri = \"models:/churn@champion\"\n\
             [input]\nformat = \"parquet\"\npath = \"{}/fixtures/demo/data/2024-01-01/*.parquet\"\n\
             keys = [\"customer_id\"]\n[output]\ntable = \"predictions/churn_daily\"\n",
            repo().display()
        ),
    )
    .unwrap();
    let mut scheduler = Command::new(BIN)
        .args([
            "schedule",
            jobs.to_str().unwrap(),
            "--json",
            "--grace-seconds",
            "30",
        ])
        .env("LAKESCORE_LAKE", env.lake())
        .env("FAILPOINTS", "run.before_commit=sleep(8000)")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The scheduler's run has started (catchup fires the latest minute at once).
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(2);
    let fired = loop {
        if let Some(r) = read_runs(&env.lake())
            .into_iter()
            .find(|r| r.trigger == Trigger::Schedule)
        {
            break lakescore_core::runs::date_from_days(r.logical_date);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler never fired"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let from = fired.pred_opt().unwrap().to_string();
    let to = fired.to_string();
    let backfill = Command::new(BIN)
        .args([
            "backfill",
            spec.to_str().unwrap(),
            "--from",
            &from,
            "--to",
            &to,
            "--rerun",
            "all",
        ])
        .env("LAKESCORE_LAKE", env.lake())
        .env("FAILPOINTS", "run.before_commit=sleep(3000)")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&backfill.stderr);
    match backfill.status.code() {
        Some(0) => {}
        Some(1) => assert!(
            err.contains("another run of the same job and date"),
            "{err}"
        ),
        other => panic!("backfill exit {other:?}: {err}"),
    }
    // Let the scheduler's attempt end, then stop it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    while read_runs(&env.lake())
        .iter()
        .any(|r| r.status == RunStatus::Running)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "an attempt never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    sigterm(&scheduler);
    assert!(scheduler.wait().unwrap().success());

    let runs = read_runs(&env.lake());
    let of_day = |trigger: Trigger| {
        runs.iter()
            .find(|r| {
                r.trigger == trigger
                    && lakescore_core::runs::date_from_days(r.logical_date) == fired
            })
            .unwrap_or_else(|| panic!("no {trigger:?} attempt of {fired}: {runs:?}"))
    };
    // The scheduler's first attempt and the backfill's (a later fire, should
    // the minute turn meanwhile, runs after both and replaces the date again).
    let (scheduled, backfilled) = (of_day(Trigger::Schedule), of_day(Trigger::Backfill));
    assert!(
        scheduled.started_at.max(backfilled.started_at)
            < scheduled.finished_at.min(backfilled.finished_at),
        "the two attempts of {fired} overlapped"
    );
    assert_eq!(
        [scheduled, backfilled]
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count(),
        1,
        "one of the two won: {scheduled:?} {backfilled:?}"
    );
    let by_day = predictions_by_day(&env.lake());
    for day in [from, to] {
        assert_eq!(
            by_day.get(&(day.clone(), 1)).map(|(n, _)| *n),
            Some(5000),
            "{day}: one copy"
        );
    }
}

/// Ask a child process to stop, as an orchestrator does.
fn sigterm(child: &std::process::Child) {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
}
