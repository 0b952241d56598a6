//! Models written by their libraries (and MLflow, skl2onnx) scored end to end.

use super::*;

/// Model directories written by MLflow itself (`fixtures/generate_mlflow.py`):
/// XGBoost UBJSON and LightGBM text, with NaN and nulls in the inputs.
#[test]
fn real_mlflow_model_directories_score_like_their_libraries() {
    let env = Env::new();
    let mlflow = repo().join("fixtures/mlflow");
    for (name, dir) in [("xgb", "xgb_binary"), ("lgb", "lgb_multiclass")] {
        env.ok(&[
            "registry",
            "register",
            name,
            "--mlflow",
            mlflow.join(dir).to_str().unwrap(),
        ]);
        let spec = env.spec(
            name,
            &format!(
                "name = \"{name}\"\n[model]\nuri = \"models:/{name}/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
                mlflow.join("data.parquet").display()
            ),
        );
        env.ok(&["validate", &spec]);
        env.ok(&["run", &spec, "--date", "2024-01-01"]);
    }
    let want = |c: &str| parquet_column(&mlflow.join("data.parquet"), c);
    let got = |table: &str, c: &str| f64_column(&read_table(&env.lake(), table).unwrap().1, c);
    let close = |a: &[f64], b: &[f64], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-6, "{what} row {i}: {x} vs {y}");
        }
    };
    close(
        &got("predictions/xgb", "prediction"),
        &want("expected_xgb"),
        "xgboost",
    );
    for c in 0..3 {
        close(
            &got("predictions/lgb", &format!("prob_{c}")),
            &want(&format!("expected_lgb_prob_{c}")),
            "lightgbm",
        );
    }
    assert_eq!(
        got("predictions/lgb", "prediction"),
        want("expected_lgb_class")
    );
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "sk",
            "--mlflow",
            mlflow.join("sklearn_only").to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("python_function, sklearn") && err.contains("skl2onnx"),
        "{err}"
    );
}

/// scikit-learn models exported with skl2onnx (`fixtures/generate_onnx.py`),
/// scored by a job; operators tract lacks are refused at registration.
#[test]
fn onnx_models_register_score_and_refuse_missing_operators() {
    let env = Env::new();
    let onnx = repo().join("fixtures/onnx");
    let model = onnx.join("scaler_logistic.onnx");
    // One [N, 4] input tensor: its columns need names.
    let (_, err) = env.expect(
        2,
        &[
            "registry",
            "register",
            "s",
            "--flavor",
            "onnx",
            "--artifact",
            model.to_str().unwrap(),
        ],
    );
    assert!(err.contains("--features"), "{err}");
    let out = json(&env.ok(&[
        "registry",
        "register",
        "s",
        "--flavor",
        "onnx",
        "--artifact",
        model.to_str().unwrap(),
        "--features",
        "x0,x1,x2,x3",
        "--json",
    ]));
    assert_eq!(out["features"], serde_json::json!(["x0", "x1", "x2", "x3"]));
    let spec = env.spec(
        "onnx",
        &format!(
            "name = \"onnx\"\n[model]\nuri = \"models:/s/1\"\n[input]\nformat = \"parquet\"\npath = \"{}\"\n",
            onnx.join("data.parquet").display()
        ),
    );
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    let (_, batches) = read_table(&env.lake(), "predictions/onnx").unwrap();
    let got = f64_column(&batches, "prediction");
    let want = parquet_column(
        &onnx.join("data.parquet"),
        "expected_scaler_logistic_prediction",
    );
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-6, "{g} vs {w}");
    }
    for (file, op) in [
        ("gbr.onnx", "TreeEnsembleRegressor"),
        ("unsupported_op.onnx", "SVMRegressor"),
    ] {
        let (_, err) = env.expect(
            2,
            &[
                "registry",
                "register",
                "bad",
                "--flavor",
                "onnx",
                "--artifact",
                onnx.join(file).to_str().unwrap(),
                "--features",
                "x0,x1,x2,x3",
            ],
        );
        assert!(err.contains(op) && err.contains(file), "{err}");
    }
}
