//! Storage faults: a read-only output location, a data file deleted from
//! under a table, a corrupt log entry, a truncated Parquet file among many.
//! Each is a clear error naming the table or file, with the exit code its
//! classification gives, and nothing partial is left.

use super::*;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    names.sort();
    names
}

/// Makes a folder unwritable, even for root (`chattr +i`; `chmod` otherwise),
/// and undoes it when dropped.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn new(dir: &Path) -> Self {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let status = if root {
            Command::new("chattr").arg("+i").arg(dir).status().unwrap()
        } else {
            Command::new("chmod").arg("a-w").arg(dir).status().unwrap()
        };
        assert!(status.success(), "cannot make {} read-only", dir.display());
        assert!(
            std::fs::write(dir.join("probe"), b"x").is_err(),
            "{} is still writable",
            dir.display()
        );
        ReadOnly(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let _ = Command::new("chmod").arg("u+w").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_output_location_fails_the_run_and_writes_nothing() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    env.ok(&["run", &spec, "--date", "2024-03-01"]);
    let table = env.lake().join("predictions/churn_daily");
    let before = entries(&table);
    {
        let _guard = ReadOnly::new(&table);
        let (_, err) = env.expect(1, &["run", &spec, "--date", "2024-03-02"]);
        assert!(err.contains("predictions/churn_daily"), "{err}");
        assert!(
            err.contains("ermission denied") || err.contains("not permitted"),
            "{err}"
        );
        assert_eq!(entries(&table), before, "something was written");
    }
    let runs = read_runs(&env.lake());
    assert_eq!(runs.last().unwrap().status, RunStatus::Failed);
    // Writable again, the same date runs.
    env.ok(&["run", &spec, "--date", "2024-03-02"]);
    assert_eq!(predictions_by_day(&env.lake()).len(), 2);
}

#[test]
fn a_data_file_deleted_from_under_a_table_is_named_and_a_rerun_repairs_it() {
    let env = Env::new();
    env.register_demo_with_reference();
    let spec = env.fixed_input_spec();
    for date in ["2024-03-01", "2024-03-02"] {
        env.ok(&["run", &spec, "--date", date]);
    }
    let part = env
        .lake()
        .join("predictions/churn_daily/logical_date=2024-03-01");
    let file = std::fs::read_dir(&part).unwrap().next().unwrap().unwrap();
    let name = file.file_name().to_string_lossy().into_owned();
    std::fs::remove_file(file.path()).unwrap();

    // Reading the date names the missing file (exit 1: the table is damaged,
    // not the command).
    let (_, err) = env.expect(1, &["drift", &spec, "--date", "2024-03-01"]);
    assert!(err.contains(&name) && err.contains("not found"), "{err}");
    let (_, err) = env.expect(1, &["sql", "SELECT count(*) AS n FROM churn_daily"]);
    assert!(err.contains(&name), "{err}");
    // Other dates still read.
    env.expect(0, &["drift", &spec, "--date", "2024-03-02"]);
    // A rerun of the date replaces the lost file (its remove needs no file).
    env.ok(&["run", &spec, "--date", "2024-03-01"]);
    let count = json(&env.ok(&["--json", "sql", "SELECT count(*) AS n FROM churn_daily"]));
    assert_eq!(count["rows"][0]["n"], 10000);
}

#[test]
fn a_corrupt_log_entry_is_named_and_nothing_is_written() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    env.ok(&["run", &spec, "--date", "2024-03-01"]);
    let table = env.lake().join("predictions/churn_daily");
    let entry = table.join("_delta_log/00000000000000000001.json");
    let good = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, b"{\"add\": {\"path\": truncated").unwrap();
    let before = entries(&table);
    let (_, err) = env.expect(1, &["run", &spec, "--date", "2024-03-02"]);
    assert!(
        err.contains("predictions/churn_daily") && err.contains("00000000000000000001.json"),
        "{err}"
    );
    assert_eq!(entries(&table), before, "something was written");
    assert_eq!(
        read_runs(&env.lake()).last().unwrap().status,
        RunStatus::Failed
    );
    // Repaired, the table reads and the date runs.
    std::fs::write(&entry, good).unwrap();
    env.ok(&["run", &spec, "--date", "2024-03-02"]);
    assert_eq!(predictions_by_day(&env.lake()).len(), 2);
}

#[test]
fn a_truncated_parquet_file_among_many_is_named_and_nothing_is_written() {
    let env = Env::new();
    env.register_demo();
    let dir = env.path("many/2024-01-01");
    std::fs::create_dir_all(&dir).unwrap();
    let good = repo().join("fixtures/demo/data/2024-01-01/part-0.parquet");
    for i in 0..6 {
        std::fs::copy(&good, dir.join(format!("part-{i}.parquet"))).unwrap();
    }
    // The fourth file lost its second half (an interrupted copy).
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(dir.join("part-3.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    let spec = env.demo_spec(&format!(
        "{}/many/{{{{ ds }}}}/*.parquet",
        env.dir.path().display()
    ));
    let (_, err) = env.expect(2, &["run", &spec, "--date", "2024-01-01"]);
    assert!(err.contains("part-3.parquet"), "{err}");
    assert!(
        read_table(&env.lake(), "predictions/churn_daily").is_none(),
        "the output table was created"
    );
}
