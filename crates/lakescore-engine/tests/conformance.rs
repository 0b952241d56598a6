//! Conformance against the training libraries: every fixture model's
//! predictions equal the library's own, saved by the generators in
//! `fixtures/` (XGBoost 3.1, LightGBM 4.6, scikit-learn, onnxruntime).
//!
//! One trial per case, each reported on its own: the flavor cases come from
//! `fixtures/flavors/cases.json`, so a case the generator adds is tested
//! without touching this file, and a case whose expected column is missing
//! fails rather than passing unchecked. Run with `cargo test --test conformance`.

use std::path::PathBuf;

use lakescore_engine::score::{
    ModelInputs, feature_matrix, model_matrix, numeric_values, read_parquet,
};
use lakescore_model::{Flavor, load, load_named};
use libtest_mimic::{Arguments, Failed, Trial};
use polars::prelude::DataFrame;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures")).join(rel)
}

fn frame(rel: &str) -> Result<DataFrame, Failed> {
    read_parquet(&fixture(rel)).map_err(|e| format!("{rel}: {e}").into())
}

fn read(rel: &str) -> Result<Vec<u8>, Failed> {
    std::fs::read(fixture(rel)).map_err(|e| format!("{rel}: {e}").into())
}

/// Column `name` of `frame`: a missing expected column is a failure.
fn expected(frame: &DataFrame, name: &str) -> Result<Vec<f64>, Failed> {
    numeric_values(frame, name).map_err(|e| format!("expected column {name}: {e}").into())
}

/// Compare `got` with `want` row by row (`relative`: |a-b| / max(1, |b|));
/// the worst error.
fn compare(what: &str, got: &[f64], want: &[f64], relative: bool) -> Result<f64, Failed> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} predictions, {} expected", got.len(), want.len()).into());
    }
    let mut worst = 0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = if relative {
            (g - w).abs() / w.abs().max(1.0)
        } else {
            (g - w).abs()
        };
        if err.is_nan() || err > 1e-6 {
            return Err(format!("{what} row {i}: lakescore {g} vs library {w}").into());
        }
        worst = worst.max(err);
    }
    Ok(worst)
}

/// A model file scored on `cases` against column `column`.
fn simple(
    flavor: Flavor,
    model: &str,
    cases: &str,
    column: &str,
    relative: bool,
) -> Result<f64, Failed> {
    let m = load(flavor, &read(model)?, model).map_err(|e| e.to_string())?;
    let frame = frame(cases)?;
    let x = feature_matrix(&frame, m.features()).map_err(|e| e.to_string())?;
    compare(model, &m.predict(&x), &expected(&frame, column)?, relative)
}

/// One case of `fixtures/flavors/cases.json` (written by `fixtures/generate_flavors.py`).
#[derive(serde::Deserialize, Clone)]
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

/// A flavor case (XGBoost JSON and UBJSON: every objective, dart, gblinear,
/// categorical; LightGBM: every objective, the three missing types,
/// categorical, random forest, constant trees) scores as its library did, on
/// inputs with NaN, nulls, out-of-range values, values on split thresholds and
/// unseen categories: 1e-6 absolute on probabilities, 1e-6 relative on
/// regression outputs, the same class.
fn flavor_case(case: &Case) -> Result<(), Failed> {
    let flavor = match case.library.as_str() {
        "xgboost" => Flavor::Xgboost,
        "lightgbm" => Flavor::Lightgbm,
        other => return Err(format!("unknown library {other}").into()),
    };
    let path = format!("flavors/{}", case.model);
    let m = load(flavor, &read(&path)?, &path).map_err(|e| e.to_string())?;
    if m.features() != case.features.as_slice() {
        return Err(format!("features {:?}, expected {:?}", m.features(), case.features).into());
    }
    let categorical: Vec<String> = m
        .features()
        .iter()
        .zip(m.categorical())
        .filter(|(_, c)| *c)
        .map(|(f, _)| f.clone())
        .collect();
    if categorical != case.categorical {
        return Err(format!(
            "categorical {categorical:?}, expected {:?}",
            case.categorical
        )
        .into());
    }
    let frame = frame(&format!("flavors/{}", case.data))?;
    let x = model_matrix(&frame, &ModelInputs::of(m.as_ref())).map_err(|e| e.to_string())?;
    let got = m.predict_all(&x);
    let probability = case.num_class > 1
        || case.objective.contains("logistic")
        || case.objective == "binary"
        || case.objective.starts_with("binary ");
    if case.num_class > 1 {
        let want = expected(&frame, "expected_class")?;
        if got.prediction != want {
            return Err("predicted classes differ from the library's".into());
        }
        // `multi:softmax` predicts the class only; every other multiclass
        // objective gives the probabilities too.
        if case.objective != "multi:softmax" {
            for c in 0..case.num_class {
                let want = expected(&frame, &format!("expected_prob_{c}"))?;
                compare(&format!("class {c}"), &got.probabilities[c], &want, false)?;
            }
        }
    } else {
        let want = expected(&frame, "expected_prediction")?;
        compare("prediction", &got.prediction, &want, !probability)?;
    }
    Ok(())
}

/// `fixtures/onnx/<name>.json`, written by `fixtures/generate_onnx.py`.
#[derive(serde::Deserialize)]
struct OnnxCase {
    model: String,
    features: Vec<String>,
    task: String,
}

/// A scikit-learn model exported by skl2onnx scores as onnxruntime scored it;
/// one using operators tract lacks is refused at load, naming them.
fn onnx_case(name: &str, missing: Option<&str>) -> Result<(), Failed> {
    let case: OnnxCase =
        serde_json::from_slice(&read(&format!("onnx/{name}.json"))?).map_err(|e| e.to_string())?;
    let path = format!("onnx/{}", case.model);
    let loaded = load_named(Flavor::Onnx, &read(&path)?, &path, Some(&case.features));
    if let Some(op) = missing {
        let e = match loaded {
            Err(e) => e.to_string(),
            Ok(_) => return Err(format!("loaded, but it uses {op}, which tract lacks").into()),
        };
        if !(e.contains(op) && e.contains(&path)) {
            return Err(format!("the refusal does not name {op} and {path}: {e}").into());
        }
        return Ok(());
    }
    let m = loaded.map_err(|e| e.to_string())?;
    let data = frame("onnx/data.parquet")?;
    let x = feature_matrix(&data, m.features()).map_err(|e| e.to_string())?;
    let want = expected(&data, &format!("expected_{name}_prediction"))?;
    compare(name, &m.predict(&x), &want, case.task == "regression")?;
    Ok(())
}

/// The demo model matches XGBoost on integer and null inputs, file by file.
fn demo_model() -> Result<(), Failed> {
    let m = load(Flavor::Xgboost, &read("demo/churn_model.json")?, "churn")
        .map_err(|e| e.to_string())?;
    let want = expected(&frame("demo/expected.parquet")?, "expected")?;
    let mut offset = 0;
    for file in [
        "demo/data/2024-01-01/part-0.parquet",
        "demo/data/2024-01-01/part-1.parquet",
        "demo/data/2024-01-02/part-0.parquet",
        "demo/data/2024-01-02/part-1.parquet",
    ] {
        let f = frame(file)?;
        let got = m.predict(&feature_matrix(&f, m.features()).map_err(|e| e.to_string())?);
        let end = offset + got.len();
        let slice = want
            .get(offset..end)
            .ok_or("more rows than expected predictions")?;
        compare(file, &got, slice, false)?;
        offset = end;
    }
    if offset != want.len() {
        return Err(format!("{offset} rows scored, {} expected", want.len()).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![
        Trial::test("xgboost_binary_logistic", || {
            for model in [
                "xgboost/binary_logistic.json",
                "xgboost/binary_logistic_scalar_base.json",
            ] {
                simple(
                    Flavor::Xgboost,
                    model,
                    "xgboost/cases.parquet",
                    "expected_binary_logistic",
                    false,
                )?;
            }
            Ok(())
        }),
        Trial::test("xgboost_regression_bit_for_bit", || {
            for model in [
                "xgboost/reg_squarederror.json",
                "xgboost/reg_squarederror_scalar_base.json",
            ] {
                let worst = simple(
                    Flavor::Xgboost,
                    model,
                    "xgboost/cases.parquet",
                    "expected_reg_squarederror",
                    true,
                )?;
                // f32 accumulation in XGBoost's order reproduces its output bit for bit.
                if worst != 0.0 {
                    return Err(format!("{model}: differs by up to {worst}").into());
                }
            }
            Ok(())
        }),
        Trial::test("demo_model_int_and_null_inputs", demo_model),
        Trial::test("linear_logistic", || {
            simple(
                Flavor::Linear,
                "linear/logistic.json",
                "linear/cases.parquet",
                "expected_logistic",
                false,
            )
            .map(|_| ())
        }),
        Trial::test("linear_identity", || {
            simple(
                Flavor::Linear,
                "linear/identity.json",
                "linear/cases.parquet",
                "expected_identity",
                true,
            )
            .map(|_| ())
        }),
    ];
    for (name, missing) in [
        ("linear_regression", None),
        ("logistic_regression", None),
        ("scaler_logistic", None),
        ("random_forest", None),
        ("gbr", Some("TreeEnsembleRegressor")),
        ("unsupported_op", Some("SVMRegressor")),
    ] {
        trials.push(Trial::test(format!("onnx_{name}"), move || {
            onnx_case(name, missing)
        }));
    }
    let cases: Result<Vec<Case>, String> = std::fs::read(fixture("flavors/cases.json"))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    // Too few cases (or none readable) is a failure, not an empty pass.
    let count = cases.as_ref().map_or(0, Vec::len);
    let problem = cases.as_ref().err().cloned();
    trials.push(Trial::test("flavor_cases_are_all_there", move || {
        match (&problem, count) {
            (Some(e), _) => Err(format!("fixtures/flavors/cases.json: {e}").into()),
            (None, n) if n < 42 => Err(format!("{n} flavor cases, expected at least 42").into()),
            _ => Ok(()),
        }
    }));
    for case in cases.unwrap_or_default() {
        trials.push(Trial::test(format!("flavor_{}", case.name), move || {
            flavor_case(&case)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
