//! Capturing a reference profile: score reference data once, profile inputs and predictions.

use std::path::PathBuf;

use crate::drift::profile::{DEFAULT_BINS, DEFAULT_EXACT_CAP};
use crate::drift::{PREDICTION, ProfileBuilder, ReferenceProfile};
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

/// Profile `reference` for `model`: every input feature and the prediction.
pub async fn build_profile(
    reference: &str,
    model: &dyn Model,
) -> Result<ReferenceProfile, ReferenceError> {
    let files = reference_files(reference).await?;
    let score_err = |source| ReferenceError::Score {
        reference: reference.into(),
        source,
    };
    let plan = InputPlan::inspect(
        reference,
        files,
        &[],
        model,
        crate::spec::validate::DEFAULT_BATCH_ROWS,
    )
    .map_err(score_err)?;
    let mut names: Vec<String> = model.features().to_vec();
    names.push(PREDICTION.into());
    let mut builder = ProfileBuilder::new(names, DEFAULT_EXACT_CAP, DEFAULT_BINS);
    let stream = ScoreStream::new(plan, model, None).map_err(score_err)?;
    for scored in stream {
        let scored = scored.map_err(score_err)?;
        let mut columns: Vec<&[f64]> = scored
            .features
            .columns
            .iter()
            .map(|c| c.as_slice())
            .collect();
        columns.push(&scored.predictions);
        builder.push(&columns);
    }
    Ok(builder.finish(reference))
}
