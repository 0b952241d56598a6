//! The registry: references, audit log, rollbacks, approvals, metadata, time travel, concurrency.

use super::*;

#[test]
fn registry_resolves_every_reference_form_and_keeps_an_audit_log() {
    let env = Env::new();
    let artifact = repo().join("fixtures/xgboost/binary_logistic.json");
    let linear = repo().join("fixtures/linear/logistic.json");
    let reg = |path: &Path, flavor: &str| {
        let out = env.ok(&[
            "registry",
            "register",
            "m",
            "--flavor",
            flavor,
            "--artifact",
            path.to_str().unwrap(),
            "--tag",
            "team=risk",
            "--description",
            "test model",
            "--json",
        ]);
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()
    };
    assert_eq!(reg(&artifact, "xgboost")["version"], 1);
    assert_eq!(reg(&linear, "linear")["version"], 2);
    assert_eq!(reg(&artifact, "xgboost")["version"], 3);
    env.ok(&["registry", "promote", "m", "1", "--stage", "production"]);
    env.ok(&[
        "registry",
        "promote",
        "m",
        "2",
        "--stage",
        "production",
        "--archive-existing",
        "--comment",
        "v2 wins",
    ]);
    env.ok(&["registry", "alias", "m", "3", "challenger"]);

    let list: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "list", "m", "--json"]).trim()).unwrap();
    let versions = list["versions"].as_array().unwrap();
    let stage = |v: usize| versions[v - 1]["stage"].as_str().unwrap().to_string();
    assert_eq!(stage(1), "Archived");
    assert_eq!(stage(2), "Production");
    assert_eq!(stage(3), "None");
    assert_eq!(versions[2]["aliases"][0], "challenger");
    assert_eq!(versions[1]["flavor"], "linear");
    assert_eq!(versions[0]["tags"], serde_json::json!({"team": "risk"}));

    let history: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "history", "m", "--json"]).trim()).unwrap();
    let events = history["events"].as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "registered",
            "registered",
            "stage_transition",
            "stage_transition",
            "stage_transition",
            "alias_set"
        ]
    );
    assert!(events.iter().all(|e| e["actor"] == "tester"));
    assert_eq!(events[4]["comment"], "v2 wins");
    let text = env.ok(&["registry", "history", "m"]);
    assert!(
        text.contains("moved version 1 from Production to Archived"),
        "{text}"
    );

    // Aliases follow MLflow's naming rules.
    let (_, err) = env.expect(2, &["registry", "alias", "m", "1", "latest"]);
    assert!(err.contains("reserved"), "{err}");
    let (_, err) = env.expect(2, &["registry", "alias", "m", "9", "x"]);
    assert!(err.contains("no version 9"), "{err}");
}

#[test]
fn rollback_restores_earlier_holders_and_walks_back() {
    let env = Env::new();
    let artifact = repo().join("fixtures/linear/identity.json");
    for _ in 0..3 {
        env.ok(&[
            "registry",
            "register",
            "m",
            "--flavor",
            "linear",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
    }
    for v in ["1", "2", "3"] {
        env.ok(&[
            "registry",
            "promote",
            "m",
            v,
            "--stage",
            "production",
            "--archive-existing",
        ]);
        env.ok(&["registry", "alias", "m", v, "champion"]);
    }
    let stage_of = |v: usize| -> String {
        let list: serde_json::Value =
            serde_json::from_str(env.ok(&["registry", "list", "m", "--json"]).trim()).unwrap();
        list["versions"][v - 1]["stage"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let out = env.ok(&[
        "registry",
        "rollback",
        "m",
        "--stage",
        "production",
        "--comment",
        "v3 regressed",
    ]);
    assert!(out.contains("from version 3 to version 2"), "{out}");
    assert_eq!(
        (stage_of(2), stage_of(3)),
        ("Production".into(), "Archived".into())
    );
    env.ok(&["registry", "rollback", "m", "--stage", "production"]);
    assert_eq!(
        (stage_of(1), stage_of(2)),
        ("Production".into(), "Archived".into())
    );
    let (_, err) = env.expect(2, &["registry", "rollback", "m", "--stage", "production"]);
    assert!(err.contains("no earlier version"), "{err}");

    let out = env.ok(&["registry", "rollback", "m", "--alias", "champion"]);
    assert!(out.contains("from version 3 to version 2"), "{out}");
    let list: serde_json::Value =
        serde_json::from_str(env.ok(&["registry", "list", "m", "--json"]).trim()).unwrap();
    assert_eq!(list["versions"][1]["aliases"][0], "champion");

    let history = env.ok(&["registry", "history", "m"]);
    assert!(
        history.contains("rolled back Production to version 2 — v3 regressed"),
        "{history}"
    );
    assert!(
        history.contains("rolled back @champion to version 2"),
        "{history}"
    );
}

#[test]
fn concurrent_registrations_never_share_a_version_number() {
    let env = Env::new();
    let artifact = repo().join("fixtures/linear/identity.json");
    // Create the tables first so that the race is on version numbers, not on table creation.
    env.ok(&[
        "registry",
        "register",
        "m",
        "--flavor",
        "linear",
        "--artifact",
        artifact.to_str().unwrap(),
    ]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(BIN)
                .args([
                    "registry",
                    "register",
                    "m",
                    "--flavor",
                    "linear",
                    "--artifact",
                ])
                .arg(&artifact)
                .arg("--json")
                .env("LAKESCORE_LAKE", env.lake())
                // Each waits 3 s once its artifact is stored, so all race at once.
                .env("FAILPOINTS", "register.after_artifact=sleep(3000)")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut children = children;
    assert_all_running(&mut children);
    let mut versions: Vec<i64> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, vec![2, 3, 4, 5, 6, 7, 8, 9]);
    let (_, batches) = read_table(&env.lake(), "registry/model_versions").unwrap();
    assert_eq!(rows(&batches), 9);
}

/// Register `n` versions of the linear identity model as `m`.
fn register_linear(env: &Env, n: usize) {
    let artifact = repo().join("fixtures/linear/identity.json");
    for _ in 0..n {
        env.ok(&[
            "registry",
            "register",
            "m",
            "--flavor",
            "linear",
            "--artifact",
            artifact.to_str().unwrap(),
        ]);
    }
}

fn stages(env: &Env) -> Vec<String> {
    let list = json(&env.ok(&["registry", "list", "m", "--json"]));
    list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stage"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn approval_workflow_gates_production() {
    let env = Env::new();
    register_linear(&env, 2);
    env.ok(&[
        "registry",
        "settings",
        "m",
        "--require-approval",
        "production",
    ]);
    let (_, err) = env.expect(
        2,
        &["registry", "promote", "m", "1", "--stage", "production"],
    );
    assert!(
        err.contains("requires approval to enter Production")
            && err.contains("lakescore registry request m 1 --stage production"),
        "{err}"
    );
    assert_eq!(stages(&env), ["None", "None"]);
    // Other stages stay open.
    env.ok(&["registry", "promote", "m", "2", "--stage", "staging"]);

    let req = json(&env.ok(&[
        "registry",
        "request",
        "m",
        "1",
        "--stage",
        "production",
        "--comment",
        "auc +3%",
        "--json",
    ]));
    let id = req["request_id"].as_i64().unwrap().to_string();
    let pending = json(&env.ok(&["registry", "requests", "--json"]));
    assert_eq!(pending["requests"][0]["status"], "pending");
    assert_eq!(pending["requests"][0]["requested_by"], "tester");
    // The requester (tester) may not approve it; a reviewer may.
    let (_, err) = env.expect(2, &["registry", "approve", &id]);
    assert!(err.contains("may not approve their own request"), "{err}");
    let (out, _) = env.expect_as(
        "reviewer",
        0,
        &["registry", "approve", &id, "--comment", "looks good"],
    );
    assert!(
        out.contains("m version 1 is now in stage Production"),
        "{out}"
    );
    assert_eq!(stages(&env), ["Production", "Staging"]);
    let (_, err) = env.expect(2, &["registry", "reject", &id]);
    assert!(err.contains("already approved"), "{err}");

    let req = json(&env.ok(&[
        "registry",
        "request",
        "m",
        "2",
        "--stage",
        "production",
        "--json",
    ]));
    let id2 = req["request_id"].as_i64().unwrap().to_string();
    env.ok(&["registry", "reject", &id2, "--comment", "not yet"]);
    assert_eq!(stages(&env), ["Production", "Staging"]);
    let (_, err) = env.expect(2, &["registry", "approve", "999"]);
    assert!(err.contains("no transition request 999"), "{err}");
    assert!(
        json(&env.ok(&["registry", "requests", "--json"]))["requests"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = json(&env.ok(&["registry", "requests", "m", "--all", "--json"]));
    assert_eq!(all["requests"].as_array().unwrap().len(), 2);

    let history = env.ok(&["registry", "history", "m"]);
    for needle in [
        "set require_approval = Production",
        &format!("requested version 1 -> Production (request {id}) — auc +3%"),
        &format!("approved request {id} (version 1 -> Production) — looks good"),
        "reviewer     moved version 1 from None to Production",
        &format!("rejected request {id2} (version 2 -> Production) — not yet"),
    ] {
        assert!(history.contains(needle), "{needle:?} not in\n{history}");
    }
    let model = json(&env.ok(&["registry", "show", "m", "--json"]));
    assert_eq!(model["state"]["require_approval"][0], "Production");

    // Approval can be switched off again.
    env.ok(&["registry", "settings", "m", "--require-approval", "none"]);
    env.ok(&["registry", "promote", "m", "2", "--stage", "production"]);
}

#[test]
fn metadata_is_attached_changed_shown_and_diffed() {
    let env = Env::new();
    let artifact = repo().join("fixtures/xgboost/binary_logistic.json");
    let reference = repo().join("fixtures/demo/data/2024-01-01");
    let demo = repo().join("fixtures/demo/churn_model.json");
    env.ok(&[
        "registry",
        "register",
        "m",
        "--flavor",
        "xgboost",
        "--artifact",
        artifact.to_str().unwrap(),
        "--metric",
        "auc=0.81",
        "--param",
        "max_depth=4",
    ]);
    // An MLflow run directory supplies metrics and params; --metric overrides.
    let run = env.path("mlruns/0/abc123");
    std::fs::create_dir_all(run.join("metrics")).unwrap();
    std::fs::create_dir_all(run.join("params")).unwrap();
    std::fs::write(
        run.join("metrics/auc"),
        "1700000000000 0.84 0\n1700000000001 0.86 1\n",
    )
    .unwrap();
    std::fs::write(run.join("metrics/logloss"), "1700000000000 0.31 0\n").unwrap();
    std::fs::write(run.join("params/max_depth"), "6").unwrap();
    env.ok(&[
        "registry",
        "register",
        "m",
        "--flavor",
        "xgboost",
        "--artifact",
        demo.to_str().unwrap(),
        "--mlflow-run",
        run.to_str().unwrap(),
        "--metric",
        "logloss=0.3",
        "--reference",
        &format!("{}/*.parquet", reference.display()),
    ]);
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "m",
            "--flavor",
            "xgboost",
            "--artifact",
            demo.to_str().unwrap(),
            "--metric",
            "auc=high",
        ],
    );
    assert!(err.contains("--metric auc=\"high\""), "{err}");

    env.ok(&["registry", "tag", "m", "team=risk", "tier=gold"]);
    env.ok(&[
        "registry",
        "tag",
        "m",
        "--version",
        "2",
        "validated=yes",
        "tmp=1",
    ]);
    env.ok(&["registry", "untag", "m", "--version", "2", "tmp"]);
    let (_, err) = env.expect(2, &["registry", "untag", "m", "--version", "2", "tmp"]);
    assert!(err.contains("version 2 has no tag \"tmp\""), "{err}");
    env.ok(&["registry", "describe", "m", "Churn propensity"]);
    env.ok(&[
        "registry",
        "describe",
        "m",
        "--version",
        "2",
        "retrained on 2024 data",
    ]);
    env.ok(&["registry", "owner", "m", "ana@example.com"]);
    env.ok(&[
        "registry",
        "comment",
        "m",
        "--version",
        "2",
        "shadowed for a week",
    ]);

    let model = json(&env.ok(&["registry", "show", "m", "--json"]));
    let state = &model["state"];
    assert_eq!(state["owner"], "ana@example.com");
    assert_eq!(state["description"], "Churn propensity");
    assert_eq!(state["tags"]["tier"], "gold");
    let v2 = json(&env.ok(&["registry", "show", "m", "2", "--json"]));
    let v = &v2["version"];
    assert_eq!(v["tags"], serde_json::json!({"validated": "yes"}));
    assert_eq!(v["description"], "retrained on 2024 data");
    assert_eq!(v["metrics"], json(r#"{"auc":0.86,"logloss":0.3}"#));
    assert_eq!(v["params"], json(r#"{"max_depth":"6"}"#));
    assert_eq!(v["comments"][0]["text"], "shadowed for a week");
    let text = env.ok(&["registry", "show", "m", "2"]);
    assert!(
        text.contains("comment") && text.contains("shadowed for a week"),
        "{text}"
    );

    let d = json(&env.ok(&["registry", "diff", "m", "1", "2", "--json"]));
    let added: Vec<&str> = d["signature"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(added.contains(&"monthly_charges"), "{d}");
    assert!(!d["signature"]["removed"].as_array().unwrap().is_empty());
    let metric = |k: &str| {
        d["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == k)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (metric("auc")["from"].clone(), metric("auc")["to"].clone()),
        ("0.81".into(), "0.86".into())
    );
    assert_eq!(metric("logloss")["from"], serde_json::Value::Null);
    assert!(
        d["profile"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["column"] == "monthly_charges"
                && p["from"].is_null()
                && p["to"]["count"].as_u64().unwrap() > 0)
    );
    let text = env.ok(&["registry", "diff", "m", "1", "2"]);
    assert!(text.contains("metric  auc      0.81 -> 0.86"), "{text}");
    assert!(
        text.contains("signature        + monthly_charges (double)"),
        "{text}"
    );
    assert!(
        env.ok(&["registry", "diff", "m", "2", "2"])
            .contains("no differences")
    );

    let history = env.ok(&["registry", "history", "m"]);
    for needle in [
        "tagged the model: team=risk",
        "removed tag tmp from version 2",
        "described version 2: retrained on 2024 data",
        "set owner to ana@example.com",
        "commented on version 2: shadowed for a week",
    ] {
        assert!(history.contains(needle), "{needle:?} not in\n{history}");
    }
}

#[test]
fn as_of_reads_the_registry_as_it_stood() {
    let env = Env::new();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    register_linear(&env, 1);
    env.ok(&["registry", "promote", "m", "1", "--stage", "production"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let then = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(200));
    register_linear(&env, 1);
    env.ok(&[
        "registry",
        "promote",
        "m",
        "2",
        "--stage",
        "production",
        "--archive-existing",
    ]);

    let resolve = |extra: &[&str]| {
        let mut args = vec!["registry", "resolve", "models:/m/production", "--json"];
        args.extend_from_slice(extra);
        json(&env.ok(&args))["version"]["version"].as_i64().unwrap()
    };
    assert_eq!(resolve(&[]), 2);
    assert_eq!(resolve(&["--as-of", &then]), 1);
    let list = json(&env.ok(&["registry", "list", "m", "--as-of", &then, "--json"]));
    assert_eq!(list["versions"].as_array().unwrap().len(), 1);
    assert_eq!(list["versions"][0]["stage"], "Production");
    let history = json(&env.ok(&["registry", "history", "m", "--as-of", &then, "--json"]));
    assert_eq!(history["events"].as_array().unwrap().len(), 2);
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "resolve",
            "models:/m/1",
            "--as-of",
            &before.to_rfc3339(),
        ],
    );
    // The error names the time asked for and when the model first existed.
    assert!(err.contains("not registered yet at"), "{err}");
    assert!(err.contains("its first version was registered at"), "{err}");
    let (_, err) = env.expect(
        2,
        &["registry", "history", "m", "--as-of", &before.to_rfc3339()],
    );
    assert!(err.contains("not registered yet at"), "{err}");
    let (_, err) = env.expect(
        2,
        &["registry", "resolve", "models:/nope/1", "--as-of", &then],
    );
    assert!(err.contains("is not registered (see"), "{err}");
    let (_, err) = env.expect(2, &["registry", "list", "--as-of", "yesterday"]);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn concurrent_promotions_and_aliases_leave_a_consistent_registry() {
    let env = Env::new();
    register_linear(&env, 4);
    let spawn = |args: Vec<String>| {
        Command::new(BIN)
            .args(&args)
            .env("LAKESCORE_LAKE", env.lake())
            // Each decides, then waits a second (once) before its commit: all race at once.
            .env("FAILPOINTS", "registry.before_event_commit=1*sleep(1000)")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children = Vec::new();
    for v in 1..=4 {
        let v = v.to_string();
        children.push(spawn(
            [
                "registry",
                "promote",
                "m",
                &v,
                "--stage",
                "production",
                "--archive-existing",
            ]
            .map(String::from)
            .to_vec(),
        ));
        children.push(spawn(
            ["registry", "alias", "m", &v, "champion"]
                .map(String::from)
                .to_vec(),
        ));
    }
    assert_all_running(&mut children);
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let history = json(&env.ok(&["registry", "history", "m", "--json"]));
    let events = history["events"].as_array().unwrap();
    // No lost or duplicated event: seq is 1..=N, every command left its event.
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    let count =
        |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().filter(|e| pred(e)).count();
    assert_eq!(count(&|e| e["event_type"] == "alias_set"), 4);
    assert_eq!(
        count(&|e| e["event_type"] == "stage_transition" && e["to_stage"] == "Production"),
        4
    );
    // Exactly one version in Production: the last one promoted; the alias on
    // exactly one version: the last one set.
    let st = stages(&env);
    assert_eq!(
        st.iter().filter(|s| *s == "Production").count(),
        1,
        "{st:?}"
    );
    let last = |kind: &str| {
        events
            .iter()
            .rev()
            .find(|e| {
                e["event_type"] == kind
                    && (kind != "stage_transition" || e["to_stage"] == "Production")
            })
            .unwrap()["version"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(st[last("stage_transition") as usize - 1], "Production");
    let list = json(&env.ok(&["registry", "list", "m", "--json"]));
    let holders: Vec<i64> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| {
            v["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "champion")
        })
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(holders, vec![last("alias_set")]);
}

/// Without `--actor`, `$LAKESCORE_ACTOR` or `$USER` (as in most containers), the
/// audit log names the system user, never `unknown`.
#[test]
fn the_actor_falls_back_to_the_system_user() {
    let env = Env::new();
    let artifact = repo().join("fixtures/linear/identity.json");
    let out = Command::new(BIN)
        .args([
            "registry",
            "register",
            "m",
            "--flavor",
            "linear",
            "--artifact",
        ])
        .arg(&artifact)
        .env("LAKESCORE_LAKE", env.lake())
        .env_remove("LAKESCORE_ACTOR")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history = json(&env.ok(&["registry", "history", "m", "--json"]));
    let actor = history["events"][0]["actor"].as_str().unwrap().to_string();
    assert!(!actor.is_empty() && actor != "unknown", "{actor}");
}

#[test]
fn approvals_check_who_is_asking_not_who_they_say_they_are() {
    let env = Env::new();
    register_linear(&env, 2);
    env.ok(&[
        "registry",
        "settings",
        "m",
        "--require-approval",
        "production",
    ]);
    let request = |who: &str, version: &str| {
        let (out, _) = env.expect_as(
            who,
            0,
            &[
                "registry",
                "request",
                "m",
                version,
                "--stage",
                "production",
                "--json",
            ],
        );
        json(&out)["request_id"].as_i64().unwrap().to_string()
    };
    let id = request("alice", "1");
    // Alice approving her own request, as herself or claiming to be bob: refused.
    for claim in [None, Some("bob")] {
        let mut args = vec!["registry", "approve", id.as_str()];
        if let Some(c) = claim {
            args.extend(["--actor", c]);
        }
        let (_, err) = env.expect_as("alice", 2, &args);
        assert!(
            err.contains("alice requested it") && err.contains("may not approve their own request"),
            "{err}"
        );
    }
    // Approvers for Production: bob is not one, and claiming to be carol does not help.
    let settings = json(&env.ok(&[
        "registry",
        "settings",
        "m",
        "--approvers",
        "production=carol,dave",
        "--json",
    ]));
    assert_eq!(
        settings["approvers"]["Production"],
        serde_json::json!(["carol", "dave"])
    );
    assert_eq!(settings["allow_self_approval"], false);
    for (system, claim) in [("bob", None), ("bob", Some("carol"))] {
        let mut args = vec!["registry", "approve", id.as_str()];
        if let Some(c) = claim {
            args.extend(["--actor", c]);
        }
        let (_, err) = env.expect_as(system, 2, &args);
        assert!(
            err.contains("the approvers for this stage are carol, dave"),
            "{err}"
        );
    }
    assert_eq!(stages(&env), ["None", "None"], "nothing was approved");
    let (out, _) = env.expect_as("carol", 0, &["registry", "approve", &id, "--json"]);
    let decided = json(&out);
    assert_eq!(decided["decided_by"], "carol");
    assert_eq!(decided["decided_by_system"], "carol");
    assert_eq!(decided["requested_by_system"], "alice");
    assert_eq!(stages(&env), ["Production", "None"]);

    // Every event records the claimed and the system identity.
    env.expect_as(
        "bob",
        0,
        &["registry", "comment", "m", "looks fine", "--actor", "carol"],
    );
    let history = json(&env.ok(&["registry", "history", "m", "--json"]));
    let last = history["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["actor"].as_str(), last["system_actor"].as_str()),
        (Some("carol"), Some("bob"))
    );
    let text = env.ok(&["registry", "history", "m"]);
    assert!(text.contains("[as bob]"), "{text}");

    // With self-approval allowed (and no approver list), a requester may approve.
    env.ok(&[
        "registry",
        "settings",
        "m",
        "--approvers",
        "production=",
        "--allow-self-approval",
        "true",
    ]);
    let id2 = request("alice", "2");
    env.expect_as(
        "alice",
        0,
        &["registry", "approve", &id2, "--archive-existing"],
    );
    assert_eq!(stages(&env), ["Archived", "Production"]);
    let (_, err) = env.expect(2, &["registry", "settings", "m"]);
    assert!(err.contains("--require-approval"), "{err}");
}

#[test]
fn oversized_artifacts_tags_and_comments_are_refused() {
    let env = Env::new();
    // A sparse file over 2 GiB: refused from its size, before it is read.
    let huge = env.path("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len((2 << 30) + 1)
        .unwrap();
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "m",
            "--flavor",
            "xgboost",
            "--artifact",
            huge.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("huge.json") && err.contains("limited to"),
        "{err}"
    );
    assert!(!env.lake().join("registry/model_versions").exists());

    register_linear(&env, 1);
    let long_value = format!("v={}", "x".repeat(8001));
    let (_, err) = env.expect(2, &["registry", "tag", "m", &long_value]);
    assert!(
        err.contains("8001 characters") && err.contains("limit is 8000"),
        "{err}"
    );
    let long_comment = "y".repeat(20_001);
    let (_, err) = env.expect(2, &["registry", "comment", "m", &long_comment]);
    assert!(err.contains("limit is 20000"), "{err}");
    let history = json(&env.ok(&["registry", "history", "m", "--json"]));
    assert_eq!(
        history["events"].as_array().unwrap().len(),
        1,
        "only the registration"
    );
}
