//! Capturing a reference profile: score reference data once, profile inputs and predictions.

use std::path::PathBuf;

use crate::drift::profile::{DEFAULT_BINS, DEFAULT_EXACT_CAP};
use crate::drift::{ColumnKind, PREDICTION, ProfileBuilder, ReferenceProfile};
use crate::lake::{LakeError, Table, location_to_url};
use crate::model::Model;
use crate::score::{self, InputPlan, ScoreError, ScoreStream};

/// Errors reading reference data; each names the reference.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference {reference}: {source}")]
    Score {
        reference: String,
        #[source]
        source: ScoreError,
    },
    #[error("reference {reference}: {source}")]
    Lake {
        reference: String,
        #[source]
        source: LakeError,
    },
    #[error("reference {reference}: {message}")]
    Unsupported { reference: String, message: String },
}

/// The files of a reference: a Parquet file or glob, or a local Delta table.
async fn reference_files(reference: &str) -> Result<Vec<PathBuf>, ReferenceError> {
    let lake_err = |source| ReferenceError::Lake {
        reference: reference.into(),
        source,
    };
    let path = std::path::Path::new(reference);
    let is_delta = path.join("_delta_log").is_dir() || reference.contains("://");
    if !is_delta {
        return score::expand_glob(reference).map_err(|source| ReferenceError::Score {
            reference: reference.into(),
            source,
        });
    }
    let url = location_to_url(reference, None).map_err(lake_err)?;
    let table = Table::open(url, None)
        .await
        .map_err(lake_err)?
        .ok_or_else(|| ReferenceError::Unsupported {
            reference: reference.into(),
            message: "no Delta table there".into(),
        })?;
    let files = table.data_files().await.map_err(lake_err)?;
    files
        .iter()
        .map(|f| {
            f.local_path().ok_or_else(|| ReferenceError::Unsupported {
                reference: reference.into(),
                message: format!(
                    "file {} is not local; remote references are not supported yet",
                    f.uri
                ),
            })
        })
        .collect()
}

/// Profile `reference` for `model`: every input feature, the prediction, and
/// every other column of the reference that drift can compare (numbers,
/// booleans, strings), so that a job can monitor them with `[drift] columns`.
pub async fn build_profile(
    reference: &str,
    model: &dyn Model,
) -> Result<ReferenceProfile, ReferenceError> {
    let files = reference_files(reference).await?;
    let score_err = |source| ReferenceError::Score {
        reference: reference.into(),
        source,
    };
    let first = files.first().cloned().ok_or_else(|| {
        score_err(ScoreError::NoInput {
            pattern: reference.into(),
        })
    })?;
    let others: Vec<String> = score::drift_columns(&first)
        .map_err(score_err)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !model.features().contains(name) && name != PREDICTION)
        .collect();
    let plan = InputPlan::inspect(
        reference,
        files,
        &[],
        &others,
        model.features(),
        crate::spec::validate::DEFAULT_BATCH_ROWS,
    )
    .map_err(score_err)?;
    let mut columns: Vec<(String, ColumnKind)> = model
        .features()
        .iter()
        .map(|f| (f.clone(), ColumnKind::Numeric))
        .collect();
    columns.push((PREDICTION.into(), ColumnKind::Numeric));
    columns.extend(plan.monitored.iter().cloned());
    let monitored = plan.monitored.clone();
    let n_features = model.features().len();
    let mut builder = ProfileBuilder::new(columns, DEFAULT_EXACT_CAP, DEFAULT_BINS);
    let stream = ScoreStream::new(plan, model, None).map_err(score_err)?;
    for scored in stream {
        let scored = scored.map_err(score_err)?;
        builder.add_rows(scored.predictions.len());
        for (i, column) in scored.features.columns.iter().enumerate() {
            builder.push_numeric(i, column);
        }
        builder.push_numeric(n_features, &scored.predictions);
        for (j, (name, kind)) in monitored.iter().enumerate() {
            let i = n_features + 1 + j;
            match kind {
                ColumnKind::Numeric => {
                    let values = score::numeric_values(&scored.frame, name).map_err(score_err)?;
                    builder.push_numeric(i, &values);
                }
                ColumnKind::Categorical => {
                    let values = score::string_values(&scored.frame, name).map_err(score_err)?;
                    builder.push_categorical(i, values.iter());
                }
            }
        }
    }
    Ok(builder.finish(reference))
}
