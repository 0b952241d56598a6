//! Model flavors end to end: MLflow model directories, multiclass outputs,
//! categorical inputs given as strings, signature checks.

use super::*;

fn flavors(rel: &str) -> PathBuf {
    repo().join("fixtures/flavors").join(rel)
}

/// An MLflow model directory holding `model` as `data`, with a column signature.
fn mlflow_dir(
    env: &Env,
    name: &str,
    flavor: &str,
    model: &str,
    data: &str,
    signature: &[(&str, &str)],
) -> PathBuf {
    let dir = env.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(flavors(model), dir.join(data)).unwrap();
    let inputs: Vec<String> = signature
        .iter()
        .map(|(n, t)| format!("{{\"type\": \"{t}\", \"name\": \"{n}\", \"required\": true}}"))
        .collect();
    let loader = if flavor == "xgboost" {
        "mlflow.xgboost"
    } else {
        "mlflow.lightgbm"
    };
    std::fs::write(
        dir.join("MLmodel"),
        format!(
            "artifact_path: model\nflavors:\n  python_function:\n    data: {data}\n    loader_module: {loader}\n    python_version: 3.11.7\n  {flavor}:\n    code: null\n    data: {data}\n    model_class: booster\nmlflow_version: 2.22.0\nrun_id: 5d1e0c\nsignature:\n  inputs: '[{}]'\n  outputs: null\n  params: null\n",
            inputs.join(", ")
        ),
    )
    .unwrap();
    dir
}

fn expected(rel: &str, name: &str) -> Vec<f64> {
    parquet_column(&flavors(rel), name)
}

#[test]
fn a_multiclass_lightgbm_model_from_an_mlflow_dir_writes_class_probabilities() {
    let env = Env::new();
    let sig: Vec<(&str, &str)> = ["f0", "f1", "f2", "f3", "f4", "f5"]
        .iter()
        .map(|f| (*f, "double"))
        .collect();
    let dir = mlflow_dir(
        &env,
        "mlmodel",
        "lightgbm",
        "lightgbm/multiclass.txt",
        "model.lgb",
        &sig,
    );
    let out = json(&env.ok(&[
        "registry",
        "register",
        "lgbm",
        "--mlflow",
        dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(out["flavor"], "lightgbm");
    let list = json(&env.ok(&["registry", "list", "lgbm", "--json"]));
    let v = &list["versions"][0];
    assert_eq!(v["tags"]["mlflow.run_id"], "5d1e0c");
    let outputs: Vec<String> = v["output_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outputs, ["prediction", "prob_0", "prob_1", "prob_2"]);

    let spec = env.spec(
        "multi",
        &format!(
            "name = \"multi\"\n[model]\nuri = \"models:/lgbm/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            flavors("data/lgb_multiclass.parquet").display()
        ),
    );
    env.ok(&["validate", &spec, "--date", "2024-01-01"]);
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    let (_, batches) = read_table(&env.lake(), "predictions/multi").unwrap();
    let classes = f64_column(&batches, "prediction");
    assert_eq!(
        classes,
        expected("data/lgb_multiclass.parquet", "expected_class")
    );
    for c in 0..3 {
        let got = f64_column(&batches, &format!("prob_{c}"));
        let want = expected("data/lgb_multiclass.parquet", &format!("expected_prob_{c}"));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-6, "prob_{c}: {g} vs {w}");
        }
    }
}

#[test]
fn categorical_inputs_given_as_strings_score_like_xgboost() {
    let env = Env::new();
    let model = flavors("xgboost/categorical_binary_logistic.ubj");
    env.ok(&[
        "registry",
        "register",
        "cats",
        "--flavor",
        "xgboost",
        "--artifact",
        model.to_str().unwrap(),
    ]);
    let spec = env.spec(
        "cats",
        &format!(
            "name = \"cats\"\n[model]\nuri = \"models:/cats/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            flavors("data/xgb_categorical_binary_logistic.parquet").display()
        ),
    );
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    let (_, batches) = read_table(&env.lake(), "predictions/cats").unwrap();
    let got = f64_column(&batches, "prediction");
    let want = expected(
        "data/xgb_categorical_binary_logistic.parquet",
        "expected_prediction",
    );
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-6, "row {i}: {g} vs {w}");
    }
    let show = json(&env.ok(&["registry", "show", "cats", "1", "--json"]));
    // Nested JSON is written as JSON, not as a string inside it.
    let sig = &show["version"]["signature"];
    assert_eq!(sig[1], serde_json::json!({"name": "c0", "type": "string"}));
}

#[test]
fn signatures_and_unscorable_mlflow_models_are_checked() {
    let env = Env::new();
    // The signature says f1 is a string; the input holds doubles.
    let sig = [
        ("f0", "double"),
        ("f1", "string"),
        ("f2", "double"),
        ("f3", "double"),
        ("f4", "double"),
        ("f5", "double"),
    ];
    let dir = mlflow_dir(
        &env,
        "xgbdir",
        "xgboost",
        "xgboost/binary_logistic.ubj",
        "model.xgb",
        &sig,
    );
    env.ok(&[
        "registry",
        "register",
        "m",
        "--mlflow",
        dir.to_str().unwrap(),
    ]);
    let spec = env.spec(
        "m",
        &format!(
            "name = \"m\"\n[model]\nuri = \"models:/m/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            flavors("data/xgb_binary_logistic.parquet").display()
        ),
    );
    let (out, _) = env.expect(2, &["validate", &spec]);
    assert!(
        out.contains("column \"f1\" has type f64, but the model's signature says string"),
        "{out}"
    );

    // A signature that lacks a model input is refused at registration.
    let dir = mlflow_dir(
        &env,
        "short",
        "xgboost",
        "xgboost/binary_logistic.json",
        "model.xgb",
        &[("f0", "double")],
    );
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "m",
            "--mlflow",
            dir.to_str().unwrap(),
        ],
    );
    assert!(err.contains("which its signature does not list"), "{err}");

    // A pickled scikit-learn model: a clear error saying what to do.
    let sk = env.path("sk");
    std::fs::create_dir_all(&sk).unwrap();
    std::fs::write(sk.join("MLmodel"), "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n").unwrap();
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "m",
            "--mlflow",
            sk.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("no flavor lakescore can score") && err.contains("skl2onnx"),
        "{err}"
    );
    // A truncated model file is refused, naming it.
    for (model, cut, flavor, why) in [
        (
            "xgboost/binary_logistic.json",
            "cut.json",
            "xgboost",
            "not a valid xgboost model",
        ),
        ("lightgbm/binary.txt", "cut.txt", "lightgbm", "truncated"),
    ] {
        let cut_path = env.path(cut);
        let full = std::fs::read(flavors(model)).unwrap();
        std::fs::write(&cut_path, &full[..full.len() / 3]).unwrap();
        let (_, err) = env.expect(
            2,
            &[
                "registry",
                "register",
                "m",
                "--flavor",
                flavor,
                "--artifact",
                cut_path.to_str().unwrap(),
            ],
        );
        assert!(err.contains(cut) && err.contains(why), "{err}");
    }
}
