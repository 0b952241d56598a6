//! Conformance against the training libraries: predictions of every fixture
//! model equal the library's own, saved by `fixtures/generate.py`.

use std::path::{Path, PathBuf};

use super::{Flavor, load};
use crate::score::{ModelInputs, feature_matrix, model_matrix, read_parquet};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Score `cases` with the model at `model` and compare with column `expected`.
/// `relative`: compare |a-b| / max(1, |b|) (regression) rather than |a-b|.
fn check(flavor: Flavor, model: &str, cases: &str, expected: &str, relative: bool) -> f64 {
    let bytes = std::fs::read(fixture(model)).unwrap();
    let m = load(flavor, &bytes, model).unwrap();
    let frame = read_parquet(&fixture(cases)).unwrap();
    let x = feature_matrix(&frame, m.features()).unwrap();
    let got = m.predict(&x);
    let want = frame.column(expected).unwrap().f64().unwrap().clone();
    assert_eq!(got.len(), want.len());
    let mut worst = 0f64;
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let w = w.unwrap();
        let err = if relative {
            (g - w).abs() / w.abs().max(1.0)
        } else {
            (g - w).abs()
        };
        assert!(err <= 1e-6, "{model} row {i}: lakescore {g} vs library {w}");
        worst = worst.max(err);
    }
    worst
}

#[test]
fn xgboost_binary_logistic_matches_xgboost() {
    for model in [
        "xgboost/binary_logistic.json",
        "xgboost/binary_logistic_scalar_base.json",
    ] {
        check(
            Flavor::Xgboost,
            model,
            "xgboost/cases.parquet",
            "expected_binary_logistic",
            false,
        );
    }
}

#[test]
fn xgboost_regression_matches_xgboost_exactly() {
    for model in [
        "xgboost/reg_squarederror.json",
        "xgboost/reg_squarederror_scalar_base.json",
    ] {
        let worst = check(
            Flavor::Xgboost,
            model,
            "xgboost/cases.parquet",
            "expected_reg_squarederror",
            true,
        );
        // f32 accumulation in XGBoost's order reproduces its output bit for bit.
        assert_eq!(worst, 0.0, "{model}");
    }
}

#[test]
fn demo_model_matches_xgboost_on_int_and_null_inputs() {
    let bytes = std::fs::read(fixture("demo/churn_model.json")).unwrap();
    let m = load(Flavor::Xgboost, &bytes, "churn").unwrap();
    let expected = read_parquet(&fixture("demo/expected.parquet")).unwrap();
    let want = expected.column("expected").unwrap().f64().unwrap().clone();
    let mut offset = 0;
    for file in [
        "demo/data/2024-01-01/part-0.parquet",
        "demo/data/2024-01-01/part-1.parquet",
        "demo/data/2024-01-02/part-0.parquet",
        "demo/data/2024-01-02/part-1.parquet",
    ] {
        let frame = read_parquet(&fixture(file)).unwrap();
        let got = m.predict(&feature_matrix(&frame, m.features()).unwrap());
        for (i, g) in got.iter().enumerate() {
            let w = want.get(offset + i).unwrap();
            assert!((g - w).abs() <= 1e-6, "{file} row {i}: {g} vs {w}");
        }
        offset += got.len();
    }
    assert_eq!(offset, expected.height());
}

#[test]
fn linear_models_match_scikit_learn() {
    check(
        Flavor::Linear,
        "linear/logistic.json",
        "linear/cases.parquet",
        "expected_logistic",
        false,
    );
    check(
        Flavor::Linear,
        "linear/identity.json",
        "linear/cases.parquet",
        "expected_identity",
        true,
    );
}

/// One case of `fixtures/flavors/cases.json` (written by `fixtures/generate_flavors.py`).
#[derive(serde::Deserialize)]
struct Case {
    name: String,
    library: String,
    model: String,
    data: String,
    objective: String,
    num_class: usize,
    features: Vec<String>,
    categorical: Vec<String>,
}

fn expected(frame: &polars::prelude::DataFrame, column: &str) -> Option<Vec<f64>> {
    crate::score::numeric_values(frame, column).ok()
}

/// Every model the generator trained (XGBoost JSON and UBJSON: every
/// objective, dart, gblinear, categorical; LightGBM: every objective, the
/// three missing types, categorical, random forest, constant trees) scores as
/// its library did, on inputs with NaN, nulls, out-of-range values, values on
/// split thresholds and unseen categories: 1e-6 absolute on probabilities,
/// 1e-6 relative on regression outputs, the same class.
#[test]
fn every_flavor_matches_its_library() {
    let cases: Vec<Case> =
        serde_json::from_slice(&std::fs::read(fixture("flavors/cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 40);
    for case in &cases {
        let flavor = match case.library.as_str() {
            "xgboost" => Flavor::Xgboost,
            "lightgbm" => Flavor::Lightgbm,
            other => panic!("library {other}"),
        };
        let path = format!("flavors/{}", case.model);
        let bytes = std::fs::read(fixture(&path)).unwrap();
        let m = load(flavor, &bytes, &path).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(m.features(), case.features.as_slice(), "{}", case.name);
        let categorical: Vec<String> = m
            .features()
            .iter()
            .zip(m.categorical())
            .filter(|(_, c)| *c)
            .map(|(f, _)| f.clone())
            .collect();
        assert_eq!(categorical, case.categorical, "{}", case.name);
        let frame = read_parquet(&fixture(&format!("flavors/{}", case.data))).unwrap();
        let x = model_matrix(&frame, &ModelInputs::of(m.as_ref())).unwrap();
        let got = m.predict_all(&x);
        let probability = case.num_class > 1
            || case.objective.contains("logistic")
            || case.objective == "binary"
            || case.objective.starts_with("binary ");
        let close = |g: f64, w: f64| {
            if probability {
                (g - w).abs() <= 1e-6
            } else {
                (g - w).abs() <= 1e-6 * w.abs().max(1.0)
            }
        };
        if let Some(want) = expected(&frame, "expected_prediction") {
            assert_eq!(got.prediction.len(), want.len());
            for (i, (g, w)) in got.prediction.iter().zip(&want).enumerate() {
                assert!(
                    close(*g, *w),
                    "{} row {i}: lakescore {g} vs library {w}",
                    case.name
                );
            }
        }
        for c in 0..case.num_class {
            if let Some(want) = expected(&frame, &format!("expected_prob_{c}")) {
                for (i, (g, w)) in got.probabilities[c].iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-6,
                        "{} row {i} class {c}: lakescore {g} vs library {w}",
                        case.name
                    );
                }
            }
        }
        if case.num_class > 1 {
            let want = expected(&frame, "expected_class").expect("expected_class");
            assert_eq!(got.prediction, want, "{}: predicted classes", case.name);
        }
    }
}

/// `fixtures/onnx/<name>.json`, written by `fixtures/generate_onnx.py`.
#[derive(serde::Deserialize)]
struct OnnxCase {
    model: String,
    features: Vec<String>,
    task: String,
}

/// scikit-learn models exported by skl2onnx score as onnxruntime scored them;
/// models using operators tract lacks are refused at load, naming them.
#[test]
fn onnx_models_match_onnxruntime_or_name_the_missing_operator() {
    let data = read_parquet(&fixture("onnx/data.parquet")).unwrap();
    for (name, missing) in [
        ("linear_regression", None),
        ("logistic_regression", None),
        ("scaler_logistic", None),
        ("random_forest", None),
        ("gbr", Some("TreeEnsembleRegressor")),
        ("unsupported_op", Some("SVMRegressor")),
    ] {
        let case: OnnxCase =
            serde_json::from_slice(&std::fs::read(fixture(&format!("onnx/{name}.json"))).unwrap())
                .unwrap();
        let path = format!("onnx/{}", case.model);
        let bytes = std::fs::read(fixture(&path)).unwrap();
        let loaded = super::load_named(Flavor::Onnx, &bytes, &path, Some(&case.features));
        if let Some(op) = missing {
            let e = loaded.err().expect("refused").to_string();
            assert!(e.contains(op) && e.contains(&path), "{name}: {e}");
            continue;
        }
        let m = loaded.unwrap_or_else(|e| panic!("{name}: {e}"));
        let x = feature_matrix(&data, m.features()).unwrap();
        let got = m.predict(&x);
        let want = expected(&data, &format!("expected_{name}_prediction")).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let err = if case.task == "regression" {
                (g - w).abs() / w.abs().max(1.0)
            } else {
                (g - w).abs()
            };
            assert!(
                err <= 1e-6,
                "{name} row {i}: lakescore {g} vs onnxruntime {w}"
            );
        }
    }
}
