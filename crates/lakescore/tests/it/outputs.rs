//! Every human output of the command line, as insta snapshots of the real
//! binary's stdout (times, run ids, durations and temp paths filtered out).
//! Update with `cargo insta test --accept` (or `INSTA_UPDATE=always cargo test`).

use super::*;

/// Snapshot `stdout` with what changes between runs replaced by placeholders.
fn snapshot(name: &str, env: &Env, stdout: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &regex_escape(&env.dir.path().display().to_string()),
        "[TMP]",
    );
    settings.add_filter(&regex_escape(&repo().display().to_string()), "[REPO]");
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}( UTC)?", "[TIME]");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)",
        "[TIME]",
    );
    settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b", "[TIME]");
    settings.add_filter(r"in \d+ ms", "in [MS] ms");
    settings.add_filter(
        r"(resolve|read|score|drift|write|commit) \d+ ms",
        "$1 [MS] ms",
    );
    settings.add_filter(r"\(\d+ rows/s\)", "([N] rows/s)");
    settings.add_filter(r"sha256 [0-9a-f]{64}", "sha256 [SHA]");
    settings.add_filter(r"/[0-9a-f]{64}/", "/[SHA]/");
    settings.add_filter(r"  +\d+\.\d  ", "  [SECONDS]  ");
    settings.add_filter(r"\b\d+\.\d s\b", "[S] s");
    settings.add_filter(r"\(\d+(\.\d)? [KM]B\)", "([SIZE])");
    settings.bind(|| insta::assert_snapshot!(name, stdout));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[test]
fn human_outputs() {
    let env = Env::new();
    let artifact = repo().join("fixtures/demo/churn_model.json");
    let reference = repo().join("fixtures/demo/reference.parquet");
    let register = env.ok(&[
        "registry",
        "register",
        "churn",
        "--flavor",
        "xgboost",
        "--artifact",
        artifact.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
        "--tag",
        "team=growth",
        "--metric",
        "auc=0.81",
    ]);
    snapshot("registry_register", &env, &register);
    let alias = env.ok(&["registry", "alias", "churn", "1", "champion"]);
    snapshot("registry_alias", &env, &alias);
    let promote = env.ok(&[
        "registry",
        "promote",
        "churn",
        "1",
        "--stage",
        "production",
        "--comment",
        "first",
    ]);
    snapshot("registry_promote", &env, &promote);
    env.ok(&[
        "registry",
        "register",
        "churn",
        "--flavor",
        "xgboost",
        "--artifact",
        artifact.to_str().unwrap(),
    ]);
    let request = env.ok(&[
        "registry",
        "request",
        "churn",
        "2",
        "--stage",
        "staging",
        "--comment",
        "try",
    ]);
    snapshot("registry_request", &env, &request);
    snapshot(
        "registry_requests",
        &env,
        &env.ok(&["registry", "requests"]),
    );
    snapshot("registry_list", &env, &env.ok(&["registry", "list"]));
    snapshot(
        "registry_show_model",
        &env,
        &env.ok(&["registry", "show", "churn"]),
    );
    snapshot(
        "registry_show_version",
        &env,
        &env.ok(&["registry", "show", "churn", "1"]),
    );
    snapshot(
        "registry_resolve",
        &env,
        &env.ok(&["registry", "resolve", "models:/churn@champion"]),
    );
    snapshot(
        "registry_diff",
        &env,
        &env.ok(&["registry", "diff", "churn", "1", "2"]),
    );
    snapshot(
        "registry_history",
        &env,
        &env.ok(&["registry", "history", "churn"]),
    );

    let spec = repo().join("jobs/demo.toml");
    let spec = spec.to_str().unwrap();
    snapshot(
        "validate",
        &env,
        &env.ok(&["validate", spec, "--date", "2024-01-01"]),
    );
    snapshot(
        "run_dry",
        &env,
        &env.ok(&["run", spec, "--date", "2024-01-01", "--dry-run"]),
    );
    snapshot("run", &env, &env.ok(&["run", spec, "--date", "2024-01-01"]));
    let (drifted, _) = env.expect(3, &["run", spec, "--date", "2024-01-02"]);
    snapshot("run_with_alerts", &env, &drifted);
    let (drift, _) = env.expect(3, &["drift", spec, "--date", "2024-01-02"]);
    snapshot("drift", &env, &drift);
    snapshot(
        "backfill_dry",
        &env,
        &env.expect(
            2,
            &[
                "backfill",
                spec,
                "--from",
                "2024-01-01",
                "--to",
                "2024-01-03",
                "--dry-run",
            ],
        )
        .0,
    );
    snapshot("runs", &env, &env.ok(&["runs"]));
    snapshot(
        "status",
        &env,
        &env.ok(&["status", repo().join("jobs").to_str().unwrap()]),
    );
    let page = env.path("report.html");
    snapshot(
        "report",
        &env,
        &env.ok(&["report", "--out", page.to_str().unwrap()]),
    );
    let bad = env.spec("bad", "name = \"bad name\"\n[model]\nuri = \"nope\"\n");
    let (invalid, _) = env.expect(2, &["validate", &bad]);
    snapshot("validate_invalid", &env, &invalid);
}

#[test]
fn sharded_run_outputs() {
    let env = Env::new();
    env.register_demo();
    let spec = env.fixed_input_spec();
    let planned = env.ok(&["plan", &spec, "--date", "2024-04-01", "--shards", "2"]);
    snapshot("plan", &env, &planned);
    let attempt = planned
        .split_whitespace()
        .nth(2)
        .expect("planned attempt ID ...")
        .to_string();
    let shard = env.ok(&[
        "run",
        &spec,
        "--date",
        "2024-04-01",
        "--attempt",
        &attempt,
        "--shard",
        "0",
    ]);
    snapshot("run_shard", &env, &shard);
    env.ok(&[
        "run",
        &spec,
        "--date",
        "2024-04-01",
        "--attempt",
        &attempt,
        "--shard",
        "1",
    ]);
    let commit = env.ok(&[
        "commit",
        &spec,
        "--date",
        "2024-04-01",
        "--attempt",
        &attempt,
    ]);
    snapshot("commit", &env, &commit);
    let again = env.ok(&[
        "commit",
        &spec,
        "--date",
        "2024-04-01",
        "--attempt",
        &attempt,
    ]);
    snapshot("commit_again", &env, &again);
}
