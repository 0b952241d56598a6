//! `lakescore validate`: a spec's own errors (with line and column), then, with
//! a lake, its model reference and its input, checked by the same resolution a
//! run uses (Parquet globs and Delta tables alike) before anything is written.

use std::path::Path;

use chrono::NaiveDate;
use lakescore_core::registry::diff::signature_of;
use lakescore_core::spec::SpecError;
use serde::Serialize;

use super::error_chain;
use super::input::{input_range, resolve_input};
use crate::registry::Registry;
use crate::score::{self, ModelInputs};

/// The outcome of validating one spec.
#[derive(Debug, Serialize)]
pub struct Validation {
    pub path: String,
    pub valid: bool,
    pub job: Option<String>,
    pub model_version: Option<i64>,
    pub errors: Vec<ValidationError>,
    pub notes: Vec<String>,
}

/// One problem: in the spec (with its position), or with its model or input.
#[derive(Debug, Serialize)]
pub struct ValidationError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl ValidationError {
    fn keyed(key: &str, message: String) -> Self {
        ValidationError {
            line: None,
            column: None,
            key: Some(key.into()),
            message,
        }
    }
}

/// Validate the spec at `path`; with `registry`, also resolve its model and
/// check its input for `date` (today when the path has no `{{ ds }}`).
pub async fn validate(
    path: &Path,
    registry: Option<&Registry>,
    date: Option<NaiveDate>,
) -> Validation {
    let mut v = Validation {
        path: path.display().to_string(),
        valid: false,
        job: None,
        model_version: None,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let spec = match crate::specs::load(path) {
        Ok(s) => s,
        Err(SpecError::Invalid { diagnostics, .. }) => {
            v.errors = diagnostics
                .into_iter()
                .map(|d| ValidationError {
                    line: Some(d.line),
                    column: Some(d.column),
                    key: (!d.key.is_empty()).then_some(d.key),
                    message: d.message,
                })
                .collect();
            return v;
        }
        Err(e) => {
            v.errors.push(ValidationError {
                line: None,
                column: None,
                key: None,
                message: error_chain(&e),
            });
            return v;
        }
    };
    v.job = Some(spec.job.name.clone());
    let Some(registry) = registry else {
        v.valid = true;
        return v;
    };
    let resolved = match registry.load(&spec.job.model).await {
        Ok(r) => r,
        Err(e) => {
            v.errors
                .push(ValidationError::keyed("model.uri", error_chain(&e)));
            return v;
        }
    };
    v.model_version = Some(resolved.version.record.version);
    let templated = spec.job.input.path.contains("{{");
    let day = match (date, templated) {
        (Some(d), _) => d,
        (None, false) => chrono::Utc::now().date_naive(),
        (None, true) => {
            v.notes.push(
                "input not checked: the path depends on {{ ds }}; pass --date to check it".into(),
            );
            v.valid = true;
            return v;
        }
    };
    let inputs = ModelInputs::of(resolved.model.as_ref());
    let checked = async {
        let range = input_range(registry.lake(), &spec, day, None).await?;
        resolve_input(registry.lake(), &spec, day, &inputs, range).await
    }
    .await;
    match checked {
        Err(e) => v
            .errors
            .push(ValidationError::keyed("input.path", error_chain(&e))),
        Ok(resolved_input) => match resolved_input.plan {
            None => v
                .notes
                .push("no rows appended to the input since the last run".into()),
            Some(plan) => {
                // The version's signature (an MLflow model's, or the model's own).
                let signature: Vec<(String, String)> = signature_of(&resolved.version.record)
                    .into_iter()
                    .map(|c| (c.name, c.ty))
                    .collect();
                let codes_ok: Vec<String> = plan
                    .inputs
                    .features
                    .iter()
                    .zip(&plan.inputs.categorical)
                    .filter(|(_, c)| **c)
                    .map(|(f, _)| f.clone())
                    .collect();
                if let Err(e) = tokio::task::block_in_place(|| {
                    (0..plan.files.len()).try_for_each(|i| {
                        score::check_signature(&plan.files, i, &signature, &codes_ok)
                    })
                }) {
                    v.errors
                        .push(ValidationError::keyed("input.path", error_chain(&e)));
                }
            }
        },
    }
    v.valid = v.errors.is_empty();
    v
}
