//! Every command's `--json` output, from the real binary, validated against
//! its documented schema in `schemas/cli/` (formats such as date-time
//! checked). A schema file that no case here exercises fails the test.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use super::*;

fn validator(name: &str) -> jsonschema::Validator {
    let path = repo().join(format!("schemas/cli/{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Checked<'a> {
    env: &'a Env,
    seen: BTreeSet<String>,
}

impl Checked<'_> {
    /// Validate one JSON document against schema `name`.
    fn value(&mut self, name: &str, value: &serde_json::Value) {
        let v = validator(name);
        let errors: Vec<String> = v
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{value:#}");
        self.seen.insert(name.to_string());
    }

    /// Run `args` with --json (exit `code`) and validate its output.
    fn command(&mut self, name: &str, code: i32, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (out, _) = self.env.expect(code, &all);
        let value = json(&out);
        self.value(name, &value);
        value
    }
}

#[test]
fn every_json_output_matches_its_schema() {
    let env = Env::new();
    let mut c = Checked {
        env: &env,
        seen: BTreeSet::new(),
    };
    let artifact = repo().join("fixtures/demo/churn_model.json");
    let reference = repo().join("fixtures/demo/reference.parquet");
    let artifact = artifact.to_str().unwrap();
    let reg = [
        "registry",
        "register",
        "churn",
        "--flavor",
        "xgboost",
        "--artifact",
        artifact,
    ];
    let mut first = reg.to_vec();
    first.extend([
        "--reference",
        reference.to_str().unwrap(),
        "--tag",
        "team=g",
        "--metric",
        "auc=0.9",
        "--param",
        "depth=3",
        "--description",
        "v1",
    ]);
    c.command("registry-register", 0, &first);
    c.command("registry-register", 0, &reg);
    c.command(
        "registry-alias",
        0,
        &["registry", "alias", "churn", "1", "champion"],
    );
    c.command(
        "registry-promote",
        0,
        &["registry", "promote", "churn", "1", "--stage", "production"],
    );
    c.command(
        "registry-settings",
        0,
        &[
            "registry",
            "settings",
            "churn",
            "--require-approval",
            "staging",
            "--allow-self-approval",
            "true",
        ],
    );
    let id = c.command(
        "registry-request",
        0,
        &["registry", "request", "churn", "2", "--stage", "staging"],
    )["request_id"]
        .to_string();
    c.command("registry-approve", 0, &["registry", "approve", &id]);
    let id = c.command(
        "registry-request",
        0,
        &["registry", "request", "churn", "1", "--stage", "staging"],
    )["request_id"]
        .to_string();
    c.command(
        "registry-reject",
        0,
        &["registry", "reject", &id, "--comment", "no"],
    );
    c.command("registry-requests", 0, &["registry", "requests", "--all"]);
    c.command("registry-tag", 0, &["registry", "tag", "churn", "a=b"]);
    c.command("registry-untag", 0, &["registry", "untag", "churn", "a"]);
    c.command(
        "registry-describe",
        0,
        &["registry", "describe", "churn", "hello", "--version", "2"],
    );
    c.command("registry-owner", 0, &["registry", "owner", "churn", "me"]);
    c.command(
        "registry-comment",
        0,
        &["registry", "comment", "churn", "hi", "--version", "1"],
    );
    c.command(
        "registry-alias",
        0,
        &["registry", "alias", "churn", "2", "champion"],
    );
    c.command(
        "registry-rollback",
        0,
        &["registry", "rollback", "churn", "--alias", "champion"],
    );
    c.command("registry-diff", 0, &["registry", "diff", "churn", "1", "2"]);
    c.command(
        "registry-resolve",
        0,
        &["registry", "resolve", "models:/churn@champion"],
    );
    c.command("registry-show", 0, &["registry", "show", "churn"]);
    c.command("registry-show", 0, &["registry", "show", "churn", "1"]);
    c.command("registry-list", 0, &["registry", "list"]);
    c.command("registry-history", 0, &["registry", "history", "churn"]);

    let spec = repo().join("jobs/demo.toml");
    let spec = spec.to_str().unwrap();
    c.command(
        "run",
        0,
        &["run", spec, "--date", "2024-01-01", "--dry-run"],
    );
    let run = c.command("run", 3, &["run", spec, "--date", "2024-01-02"]);
    c.command("drift", 3, &["drift", spec, "--date", "2024-01-02"]);
    c.command(
        "backfill",
        2,
        &[
            "backfill",
            spec,
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-03",
        ],
    );
    c.command(
        "backfill",
        0,
        &[
            "backfill",
            spec,
            "--from",
            "2023-12-31",
            "--to",
            "2024-01-01",
            "--dry-run",
            "--rerun",
            "all",
            "--model-as-of-date",
        ],
    );
    c.command("rerun", 3, &["rerun", run["run_id"].as_str().unwrap()]);
    let plan = c.command(
        "plan",
        0,
        &["plan", spec, "--date", "2024-01-02", "--shards", "2"],
    );
    let attempt = plan["attempt"].as_str().unwrap().to_string();
    for shard in ["0", "1"] {
        c.command(
            "run",
            0,
            &[
                "run",
                spec,
                "--date",
                "2024-01-02",
                "--attempt",
                &attempt,
                "--shard",
                shard,
            ],
        );
    }
    c.command(
        "commit",
        3,
        &[
            "commit",
            spec,
            "--date",
            "2024-01-02",
            "--attempt",
            &attempt,
        ],
    );
    c.command("runs", 0, &["runs"]);
    c.command("maintain", 0, &["maintain", "--dry-run"]);
    c.command("maintain", 0, &["maintain", "runs"]);
    c.command(
        "sql",
        0,
        &[
            "sql",
            "SELECT logical_date, count(*) AS n FROM churn_daily GROUP BY logical_date",
        ],
    );
    // The server's line once it listens.
    let mut server = Command::new(BIN)
        .args([
            "--json",
            "serve",
            "--model",
            "models:/churn@champion",
            "--port",
            "0",
        ])
        .current_dir(repo())
        .env("LAKESCORE_LAKE", env.lake())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    c.value("serve", &json(&ready));
    let page = env.path("report.html");
    c.command("report", 0, &["report", "--out", page.to_str().unwrap()]);
    let jobs = env.path("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::copy(spec, jobs.join("demo.toml")).unwrap();
    std::fs::write(jobs.join("broken.toml"), "name = 1").unwrap();
    let jobs = jobs.to_str().unwrap();
    c.command("status", 0, &["status", jobs]);
    c.command("validate", 0, &["validate", spec]);
    c.command(
        "validate",
        2,
        &[
            "validate",
            &format!("{jobs}/broken.toml"),
            "--no-environment",
        ],
    );

    // The scheduler prints one object per event: load the jobs, then stop.
    let mut child = Command::new(BIN)
        .args(["--json", "schedule", jobs])
        .current_dir(repo())
        .env("LAKESCORE_LAKE", env.lake())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Should the scheduler never report, end it rather than hang the suite.
    let watchdog_pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_mins(1));
        let _ = Command::new("kill").args(["-KILL", &watchdog_pid]).status();
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let event = json(&line);
        let kind = event["event"].as_str().unwrap().to_string();
        events.push(event);
        if kind == "loaded" {
            let pid = child.id().to_string();
            assert!(
                Command::new("kill")
                    .args(["-TERM", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
        }
    }
    child.wait().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"invalid") && kinds.contains(&"loaded") && kinds.contains(&"stopped"),
        "{kinds:?}"
    );
    for e in &events {
        c.value("schedule", e);
    }

    let files: BTreeSet<String> = std::fs::read_dir(repo().join("schemas/cli"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .replace(".schema.json", "")
        })
        .collect();
    assert_eq!(c.seen, files, "every documented output is exercised here");
}
