//! MLflow's `MLmodel` descriptor: the YAML file at the root of a model
//! directory that `mlflow.<flavor>.log_model` writes. This module reads which
//! flavor lakescore can score, that flavor's data file (relative to the
//! directory), the column-based input signature, the run and the MLflow
//! version. Parsing only: the engine reads the folder and the data file.
//!
//! The text is untrusted (a model directory is something a user is given):
//! its size is capped before parsing, values lakescore does not use are
//! skipped without being built (their aliases are not followed, so a YAML
//! alias bomb is not expanded), and a data file must stay inside the model
//! directory.

use std::collections::BTreeMap;
use std::fmt;

use lakescore_core::Flavor;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The largest `MLmodel` file read. MLflow writes a few kilobytes; a
/// signature of thousands of columns stays well under this.
pub const MAX_MLMODEL_BYTES: usize = 1 << 20;

/// What lakescore takes from an `MLmodel` file.
#[derive(Debug, Clone, PartialEq)]
pub struct MlModel {
    pub flavor: Flavor,
    /// The flavor's data file, relative to the model directory (`model.xgb`).
    pub data: String,
    /// Column-based input signature: (name, MLflow type), if the model has one.
    pub signature: Option<Vec<(String, String)>>,
    pub run_id: Option<String>,
    pub mlflow_version: Option<String>,
}

/// Why an `MLmodel` file cannot be used. The caller names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MlModelError {
    #[error("{bytes} bytes is more than an MLmodel file may hold ({MAX_MLMODEL_BYTES})")]
    TooLarge { bytes: usize },
    #[error("not valid MLmodel YAML: {0}")]
    Yaml(String),
    #[error(
        "no flavor lakescore can score (xgboost, lightgbm, onnx); this model has {found}.{hint}"
    )]
    NoFlavor { found: String, hint: &'static str },
    #[error(
        "the {flavor} flavor's data file {data} is a pickled scikit-learn wrapper, which \
         lakescore cannot load: log the native booster instead (e.g. \
         mlflow.lightgbm.log_model(model.booster_, ...))"
    )]
    Pickled { flavor: Flavor, data: String },
    #[error(
        "the {flavor} flavor's data file {data:?} is not a relative path inside the model \
         directory"
    )]
    DataOutside { flavor: Flavor, data: String },
    #[error("signature inputs: {0}")]
    Signature(String),
}

/// Parse the text of an `MLmodel` file: pick the xgboost, lightgbm or onnx
/// flavor (in that order) and its data file, and the input signature.
pub fn parse(text: &str) -> Result<MlModel, MlModelError> {
    if text.len() > MAX_MLMODEL_BYTES {
        return Err(MlModelError::TooLarge { bytes: text.len() });
    }
    let raw: Raw = yaml_serde::from_str(text).map_err(|e| MlModelError::Yaml(e.to_string()))?;
    let data_of = |name: &str| {
        raw.flavors
            .get(name)
            .and_then(|f| f.data.0.clone())
            .filter(|d| !d.is_empty())
    };
    let (flavor, data) = if let Some(d) = data_of("xgboost") {
        (Flavor::Xgboost, d)
    } else if let Some(d) = data_of("lightgbm") {
        (Flavor::Lightgbm, d)
    } else if let Some(d) = data_of("onnx") {
        (Flavor::Onnx, d)
    } else {
        let found: Vec<&str> = raw.flavors.keys().map(String::as_str).collect();
        let hint = if found.contains(&"sklearn") {
            " A scikit-learn model is a pickle lakescore cannot load: export it to ONNX with \
             skl2onnx (zipmap=False for classifiers) and log that with mlflow.onnx, or train \
             with XGBoost or LightGBM."
        } else {
            ""
        };
        return Err(MlModelError::NoFlavor {
            found: if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            },
            hint,
        });
    };
    if data.ends_with(".pkl") || data.ends_with(".skops") {
        return Err(MlModelError::Pickled { flavor, data });
    }
    if !is_inside(&data) {
        return Err(MlModelError::DataOutside { flavor, data });
    }
    let signature = match raw.signature.and_then(|s| s.inputs.0) {
        None => None,
        Some(inputs) => signature_columns(&inputs)?,
    };
    Ok(MlModel {
        flavor,
        data,
        signature,
        run_id: raw.run_id.0,
        mlflow_version: raw.mlflow_version.0,
    })
}

/// A relative path of normal components: no root, no drive, no `..`, no
/// backslash (which Windows would read as a separator).
fn is_inside(data: &str) -> bool {
    !data.starts_with('/')
        && !data.contains('\\')
        && !data.contains(':')
        && data.split('/').all(|part| part != "..")
}

/// The columns of a column-based signature (MLflow stores it as a JSON
/// string); `None` for a tensor signature, which names no columns (the
/// model's own feature names apply).
fn signature_columns(inputs: &str) -> Result<Option<Vec<(String, String)>>, MlModelError> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(inputs).map_err(|e| MlModelError::Signature(e.to_string()))?;
    let mut columns = Vec::with_capacity(items.len());
    for item in &items {
        match (item["name"].as_str(), item["type"].as_str()) {
            (Some(name), Some(ty)) if ty != "tensor" => {
                columns.push((name.to_string(), ty.to_string()));
            }
            _ => return Ok(None),
        }
    }
    Ok((!columns.is_empty()).then_some(columns))
}

#[derive(serde::Deserialize)]
struct Raw {
    #[serde(default)]
    flavors: BTreeMap<String, RawFlavor>,
    #[serde(default)]
    signature: Option<RawSignature>,
    #[serde(default)]
    run_id: MaybeStr,
    #[serde(default)]
    mlflow_version: MaybeStr,
}

#[derive(serde::Deserialize)]
struct RawFlavor {
    #[serde(default)]
    data: MaybeStr,
}

#[derive(serde::Deserialize)]
struct RawSignature {
    #[serde(default)]
    inputs: MaybeStr,
}

/// A string value, or `None` for any other value (a number, a map, null),
/// which is skipped without being built.
#[derive(Default)]
struct MaybeStr(Option<String>);

impl<'de> serde::Deserialize<'de> for MaybeStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MaybeStr, E> {
                Ok(MaybeStr(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MaybeStr, E> {
                Ok(MaybeStr(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<MaybeStr, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeStr, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeStr, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MLMODEL: &str = r#"artifact_path: model
flavors:
  python_function:
    data: model.xgb
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.xgboost
    python_version: 3.11.7
  xgboost:
    code: null
    data: model.xgb
    model_class: xgboost.core.Booster
    model_format: xgb
    xgb_version: 3.1.2
mlflow_version: 2.22.0
model_size_bytes: 1234
model_uuid: 0b8b1c2d
run_id: 4f2a9c
signature:
  inputs: '[{"type": "double", "name": "f0", "required": true}, {"type": "long", "name":
    "f1", "required": true}]'
  outputs: null
  params: null
utc_time_created: '2026-11-27 05:00:00.000000'
"#;

    #[test]
    fn gives_flavor_data_file_and_signature() {
        let m = parse(MLMODEL).unwrap();
        assert_eq!(m.flavor, Flavor::Xgboost);
        assert_eq!(m.data, "model.xgb");
        assert_eq!(
            m.signature.unwrap(),
            vec![("f0".into(), "double".into()), ("f1".into(), "long".into())]
        );
        assert_eq!(m.run_id.as_deref(), Some("4f2a9c"));
        assert_eq!(m.mlflow_version.as_deref(), Some("2.22.0"));
    }

    #[test]
    fn a_pickled_sklearn_model_is_refused_with_advice() {
        let e = parse(
            "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    pickled_model: model.pkl\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("python_function, sklearn") && e.contains("skl2onnx"),
            "{e}"
        );
        let e = parse("flavors:\n  lightgbm:\n    data: model.pkl\n").unwrap_err();
        assert!(matches!(e, MlModelError::Pickled { .. }), "{e}");
    }

    #[test]
    fn a_data_file_outside_the_directory_is_refused() {
        for data in [
            "../model.xgb",
            "/etc/passwd",
            "a/../../b",
            "C:/m.xgb",
            "a\\..\\b",
        ] {
            let e = parse(&format!("flavors:\n  xgboost:\n    data: '{data}'\n")).unwrap_err();
            assert!(matches!(e, MlModelError::DataOutside { .. }), "{data}: {e}");
        }
        let m = parse("flavors:\n  onnx:\n    data: sub/model.onnx\n").unwrap();
        assert_eq!(
            (m.flavor, m.data.as_str()),
            (Flavor::Onnx, "sub/model.onnx")
        );
    }

    #[test]
    fn values_of_other_types_are_skipped_not_refused() {
        let m = parse(
            "flavors:\n  xgboost:\n    data: model.xgb\n  pytorch:\n    data: {a: [1, 2]}\n\
             mlflow_version: 2.1\nrun_id: null\nsignature:\n  inputs: '[{\"type\": \"tensor\"}]'\n",
        )
        .unwrap();
        assert_eq!(m.mlflow_version, None);
        assert_eq!(m.run_id, None);
        assert_eq!(m.signature, None, "a tensor signature names no columns");
    }

    #[test]
    fn an_alias_bomb_is_skipped_without_being_built() {
        // Nine levels of nine aliases: 9^9 (387 million) leaves if expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = format!("*a{}", level - 1);
            let items = [prev.as_str(); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        text.push_str("flavors:\n  xgboost:\n    data: *a9\n");
        // Aliases in skipped values are not followed: this returns at once
        // (built as a YAML value, it would take minutes and gigabytes).
        let e = parse(&text).unwrap_err();
        assert!(matches!(e, MlModelError::NoFlavor { .. }), "{e}");
    }

    #[test]
    fn oversized_and_malformed_text_is_refused() {
        let big = "#".repeat(MAX_MLMODEL_BYTES + 1);
        assert!(matches!(parse(&big), Err(MlModelError::TooLarge { .. })));
        assert!(matches!(parse("flavors: [}"), Err(MlModelError::Yaml(_))));
        let e = parse("flavors:\n  xgboost:\n    data: m.xgb\nsignature:\n  inputs: '[oops'\n")
            .unwrap_err();
        assert!(matches!(e, MlModelError::Signature(_)), "{e}");
    }
}
