//! Capturing a reference profile: score reference data once, profile inputs and predictions.

use lakescore_core::{Classify, ErrorClass};

use crate::score::{self, Files, InputPlan, ScoreError, ScoreStream};
use lakescore_core::drift::profile::{DEFAULT_BINS, DEFAULT_EXACT_CAP};
use lakescore_core::drift::{ColumnKind, PREDICTION, ProfileBuilder, ReferenceProfile};
use lakescore_lake::{Lake, LakeError};
use lakescore_model::Model;

/// Errors reading reference data; each names the reference.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference {reference}")]
    Score {
        reference: String,
        #[source]
        source: ScoreError,
    },
    #[error("reference {reference}")]
    Lake {
        reference: String,
        #[source]
        source: LakeError,
    },
    #[error("reference {reference}: {message}")]
    Unsupported { reference: String, message: String },
}

impl Classify for ReferenceError {
    fn class(&self) -> ErrorClass {
        match self {
            ReferenceError::Score { source, .. } => source.class(),
            ReferenceError::Lake { source, .. } => source.class(),
            ReferenceError::Unsupported { .. } => ErrorClass::BadInput,
        }
    }
}

/// The files of a reference: a Parquet file or glob, or a Delta table (a
/// folder with a `_delta_log`, or any URI that holds one), local or on an
/// object store reached with the lake's storage configuration.
async fn reference_files(lake: &Lake, reference: &str) -> Result<Files, ReferenceError> {
    let lake_err = |source| ReferenceError::Lake {
        reference: reference.into(),
        source,
    };
    let score_err = |source| ReferenceError::Score {
        reference: reference.into(),
        source,
    };
    let local_delta = std::path::Path::new(reference.strip_prefix("file://").unwrap_or(reference))
        .join("_delta_log")
        .is_dir();
    let table = if local_delta || (score::files::is_remote(reference) && !has_glob(reference)) {
        lake.open_location(reference, None)
            .await
            .map_err(lake_err)?
    } else {
        None
    };
    let Some(table) = table else {
        if local_delta {
            return Err(ReferenceError::Unsupported {
                reference: reference.into(),
                message: "no Delta table there".into(),
            });
        }
        return score::expand(reference, lake.storage())
            .await
            .map_err(score_err);
    };
    let files = table.data_files().await.map_err(lake_err)?;
    Files::new(
        files.into_iter().map(|f| f.location()).collect(),
        lake.storage(),
    )
    .map_err(score_err)
}

fn has_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Profile `reference` for `model`: every input feature, the prediction, and
/// every other column of the reference that drift can compare (numbers,
/// booleans, strings), so that a job can monitor them with `[drift] columns`.
pub async fn build_profile(
    lake: &Lake,
    reference: &str,
    model: &dyn Model,
) -> Result<ReferenceProfile, ReferenceError> {
    let files = reference_files(lake, reference).await?;
    // polars reads with its own runtime, which must not block one of ours.
    tokio::task::block_in_place(|| profile_files(reference, files, model))
}

/// Score and profile `files` (the reference's) through `model`.
fn profile_files(
    reference: &str,
    files: Files,
    model: &dyn Model,
) -> Result<ReferenceProfile, ReferenceError> {
    let score_err = |source| ReferenceError::Score {
        reference: reference.into(),
        source,
    };
    if files.is_empty() {
        return Err(score_err(ScoreError::NoInput {
            pattern: reference.into(),
        }));
    }
    let others: Vec<String> = score::drift_columns(&files, 0)
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
        &score::ModelInputs::of(model),
        lakescore_core::spec::validate::DEFAULT_BATCH_ROWS,
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

/// Profile a window of a job's own earlier output: the prediction and the key
/// columns of every row whose logical date is in `from..=to`. `None` while the
/// window holds no predictions yet (the first runs of a job).
pub async fn window_profile(
    lake: &Lake,
    table: &str,
    keys: &[String],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Option<ReferenceProfile>, ReferenceError> {
    use arrow::array::{Array, AsArray};
    use arrow::compute::cast;
    use arrow::datatypes::{DataType, Float64Type};

    let name = format!("{table} [{from} .. {to}]");
    let lake_err = |source| ReferenceError::Lake {
        reference: name.clone(),
        source,
    };
    let unsupported = |message: String| ReferenceError::Unsupported {
        reference: name.clone(),
        message,
    };
    let Some(output) = lake.open_table(table).await.map_err(lake_err)? else {
        return Ok(None);
    };
    let dates: Vec<String> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| d.to_string())
        .collect();
    let read = output
        .read_partitions("logical_date", &dates)
        .await
        .map_err(lake_err)?;
    let mut columns = vec![(PREDICTION.to_string(), ColumnKind::Numeric)];
    for key in keys {
        let field = read
            .schema
            .field_with_name(key)
            .map_err(|_| unsupported(format!("the output has no key column {key:?}")))?;
        match field.data_type() {
            DataType::Utf8 => columns.push((key.clone(), ColumnKind::Categorical)),
            t if t.is_numeric() || *t == DataType::Boolean => {
                columns.push((key.clone(), ColumnKind::Numeric));
            }
            _ => {}
        }
    }
    let mut builder = ProfileBuilder::new(columns.clone(), DEFAULT_EXACT_CAP, DEFAULT_BINS);
    for batch in &read.batches {
        builder.add_rows(batch.num_rows());
        for (i, (column, kind)) in columns.iter().enumerate() {
            let source = if column == PREDICTION {
                "prediction"
            } else {
                column
            };
            let array = batch
                .column_by_name(source)
                .ok_or_else(|| unsupported(format!("the output has no column {source:?}")))?;
            match kind {
                ColumnKind::Numeric => {
                    let values = cast(array, &DataType::Float64)
                        .map_err(|e| unsupported(format!("column {source}: {e}")))?;
                    let values = values.as_primitive::<Float64Type>();
                    let values: Vec<f64> = (0..values.len())
                        .map(|r| {
                            if values.is_null(r) {
                                f64::NAN
                            } else {
                                values.value(r)
                            }
                        })
                        .collect();
                    builder.push_numeric(i, &values);
                }
                ColumnKind::Categorical => {
                    let strings = array.as_string::<i32>();
                    builder.push_categorical(i, strings.iter());
                }
            }
        }
    }
    if read.batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(None);
    }
    Ok(Some(builder.finish(&name)))
}
