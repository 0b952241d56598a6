//! Conformance against the training libraries: predictions of every fixture
//! model equal the library's own, saved by `fixtures/generate.py`.

use std::path::{Path, PathBuf};

use super::{Flavor, load};
use crate::score::{feature_matrix, read_parquet};

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
