//! `validate`: every error with its line and column.

use super::*;

#[test]
fn specs_in_jobs_are_valid() {
    let env = Env::new();
    let specs: Vec<PathBuf> = std::fs::read_dir(repo().join("jobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(!specs.is_empty());
    for spec in specs {
        env.ok(&["validate", "--no-environment", spec.to_str().unwrap()]);
    }
}

#[test]
fn validate_reports_every_error_with_line_and_column() {
    let env = Env::new();
    let bad = env.spec(
        "bad",
        "name = \"x\"\nschedule = \"* * *\"\n[model]\nuri = \"models:/m/prod\"\n[input]\nformat = \"parquet\"\npath = \"a\"\n",
    );
    let good = repo().join("jobs/demo.toml");
    let (out, _) = env.expect(
        2,
        &[
            "validate",
            "--no-environment",
            good.to_str().unwrap(),
            &bad,
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["specs"][0]["valid"], true);
    let errors = v["specs"][1]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        (errors[0]["line"].as_u64(), errors[0]["column"].as_u64()),
        (Some(2), Some(12))
    );
    assert_eq!(errors[0]["key"], "schedule");
    assert_eq!(errors[1]["key"], "model.uri");
    assert_eq!(errors[1]["line"], 4);

    // With the environment: the model must resolve, and the input columns must fit it.
    let spec = env.demo_spec(&demo_input());
    let (_, err) = env.expect(2, &["validate", &spec, "--date", "2024-01-01"]);
    assert!(err.contains("no lake at"), "{err}");
    env.ok(&[
        "registry",
        "register",
        "other",
        "--flavor",
        "xgboost",
        "--artifact",
        repo()
            .join("fixtures/demo/churn_model.json")
            .to_str()
            .unwrap(),
    ]);
    let (out, _) = env.expect(2, &["validate", &spec, "--date", "2024-01-01"]);
    assert!(out.contains("model \"churn\" is not registered"), "{out}");
    env.register_demo();
    let out = env.ok(&["validate", &spec, "--date", "2024-01-01"]);
    assert!(out.contains("ok"), "{out}");
}
