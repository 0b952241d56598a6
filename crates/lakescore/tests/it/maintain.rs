//! `lakescore maintain`: compaction keeps every row, vacuum takes only what no
//! retained version needs, time travel within the retention still works, and
//! it is safe while runs write.

use std::time::{Duration, SystemTime};

use super::*;

fn sorted_runs(lake: &Path) -> Vec<String> {
    let mut runs: Vec<String> = read_runs(lake)
        .iter()
        .map(|r| format!("{} {} {}", r.run_id, r.status, r.rows_out))
        .collect();
    runs.sort();
    runs
}

fn log_entries(table: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn compaction_keeps_every_row_and_time_travel_still_works() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    for day in 1..=4 {
        env.ok(&["run", &spec, "--date", &format!("2024-03-0{day}")]);
    }
    let runs_before = sorted_runs(&env.lake());
    let (version_before, batches) = read_table(&env.lake(), "runs").unwrap();
    assert_eq!(rows(&batches), 4);
    let predictions_before = predictions_by_day(&env.lake());

    // A dry run reports the plan and changes nothing.
    let logs = log_entries(&env.lake().join("runs"));
    let plan = json(&env.ok(&["--json", "maintain", "--dry-run"]));
    let runs_plan = plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "runs")
        .unwrap();
    assert_eq!(runs_plan["files_compacted"], 4, "{plan:#}");
    assert_eq!(log_entries(&env.lake().join("runs")), logs, "dry run wrote");

    let done = json(&env.ok(&["--json", "maintain"]));
    let tables: Vec<&str> = done["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(
        tables,
        [
            "drift_histograms",
            "drift_metrics",
            "predictions/churn_daily",
            "registry/model_events",
            "registry/model_versions",
            "runs"
        ]
        .iter()
        .filter(|t| env.lake().join(t).exists())
        .copied()
        .collect::<Vec<_>>()
    );
    let runs_done = done["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "runs")
        .unwrap();
    assert_eq!(runs_done["files_compacted"], 4);
    assert_eq!(runs_done["files_written"], 1);
    let version = runs_done["version_after"].as_i64().unwrap();
    assert!(
        env.lake()
            .join(format!("runs/_delta_log/{version:020}.checkpoint.parquet"))
            .exists(),
        "a checkpoint at the maintained version"
    );
    // Same rows, now in one file; predictions untouched (one file per date).
    assert_eq!(sorted_runs(&env.lake()), runs_before);
    assert_eq!(predictions_by_day(&env.lake()), predictions_before);
    runtime().block_on(async {
        let lake = Lake::open(env.lake().to_str().unwrap()).unwrap();
        let table = lake.open_table("runs").await.unwrap().unwrap();
        assert_eq!(table.data_files().await.unwrap().len(), 1);
        // Time travel to before compaction reads the old files, still there.
        let old = lake
            .open_table_at("runs", version_before)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.data_files().await.unwrap().len(), 4);
        assert_eq!(rows(&old.read_all().await.unwrap().batches), 4);
    });
    // Nothing is vacuumed within the default retention of 7 days.
    let vacuumed: usize = done["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["files_vacuumed"].as_array().unwrap().len())
        .sum();
    assert_eq!(vacuumed, 0);
    // The lake keeps working: another run, and SQL over the runs table.
    env.ok(&["run", &spec, "--date", "2024-03-05"]);
    let count = json(&env.ok(&["--json", "sql", "SELECT count(*) AS n FROM runs"]));
    assert_eq!(count["rows"][0]["n"], 5, "{count:#}");
}

#[test]
fn vacuum_takes_old_orphans_and_leaves_young_files() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    env.ok(&["run", &spec, "--date", "2024-03-01"]);
    let table = env.lake().join("predictions/churn_daily");
    let part = table.join("logical_date=2024-03-01");
    let committed: Vec<PathBuf> = std::fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Files a killed run left: one from 10 days ago, one from a minute ago.
    let old = part.join("part-00000-killed-old-c000.snappy.parquet");
    let young = part.join("part-00000-killed-young-c000.snappy.parquet");
    for f in [&old, &young] {
        std::fs::copy(&committed[0], f).unwrap();
    }
    let ten_days_ago = SystemTime::now() - Duration::from_hours(240);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(ten_days_ago)
        .unwrap();

    let plan = env.ok(&["maintain", "predictions/churn_daily", "--dry-run"]);
    assert!(
        plan.contains("would vacuum") && plan.contains("killed-old"),
        "{plan}"
    );
    assert!(!plan.contains("killed-young"), "{plan}");
    assert!(old.exists(), "a dry run deleted");

    let (_, err) = env.expect(2, &["maintain", "--retention-hours", "1"]);
    assert!(err.contains("--allow-short-retention"), "{err}");

    env.ok(&["maintain", "predictions/churn_daily"]);
    assert!(!old.exists(), "an orphan older than the retention stays");
    assert!(
        young.exists(),
        "a file younger than the retention was deleted"
    );
    for f in &committed {
        assert!(f.exists(), "a committed file was deleted: {}", f.display());
    }
    assert_eq!(
        rows(
            &read_table(&env.lake(), "predictions/churn_daily")
                .unwrap()
                .1
        ),
        5000
    );

    let (_, err) = env.expect(2, &["maintain", "predictions/nope"]);
    assert!(err.contains("predictions/nope"), "{err}");
}

#[test]
fn maintain_during_eight_runs_loses_and_duplicates_nothing() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    for day in 1..=3 {
        env.ok(&["run", &spec, "--date", &format!("2024-03-0{day}")]);
    }
    // Eight runs of different dates, each holding before its commit.
    let mut children: Vec<_> = (1..=8)
        .map(|day| {
            Command::new(BIN)
                .args(["run", &spec, "--date", &format!("2024-04-0{day}")])
                .current_dir(repo())
                .env("LAKESCORE_LAKE", env.lake())
                .env("FAILPOINTS", "run.before_commit=sleep(5000)")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Wait until all eight have recorded their `running` row.
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while read_runs(&env.lake())
        .iter()
        .filter(|r| r.status == RunStatus::Running)
        .count()
        < 8
    {
        assert!(std::time::Instant::now() < deadline, "runs did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = json(&env.ok(&["--json", "maintain"]));
    // The runs were still in flight when maintain ended: they overlapped.
    assert_all_running(&mut children);
    let runs_done = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "runs")
        .unwrap()
        .clone();
    assert_eq!(
        runs_done["files_compacted"], 3,
        "the three finished attempts compacted, the eight running ones left alone: {runs_done:#}"
    );
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every date exactly once, every attempt once and succeeded.
    let by_day = predictions_by_day(&env.lake());
    assert_eq!(by_day.len(), 11, "{by_day:?}");
    assert!(by_day.values().all(|(n, _)| *n == 5000), "{by_day:?}");
    let runs = read_runs(&env.lake());
    assert_eq!(runs.len(), 11);
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    // A second pass compacts the rest, rows unchanged.
    let before = sorted_runs(&env.lake());
    env.ok(&["maintain"]);
    assert_eq!(sorted_runs(&env.lake()), before);
}
