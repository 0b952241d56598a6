//! The batch scoring pipeline: read input lazily, score in bounded batches, add lineage.
//!
//! [`InputPlan::inspect`] checks the input before anything is written: every
//! file exists and is readable Parquet, every model feature and key column is
//! there with a usable type. [`ScoreStream`] then scans the files with polars'
//! streaming engine, projecting only the needed columns, and yields arrow
//! batches of at most `batch_rows` rows holding the key columns, `prediction`
//! and the lineage columns. Memory follows the batch size, not the input size.
//! This module reads Parquet files; it never writes, and it knows nothing of Delta.

pub mod files;
mod frames;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef};
use chrono::{DateTime, NaiveDate, Utc};
use lakescore_core::drift::ColumnKind;
use lakescore_core::parallel::map_parallel;
use lakescore_core::{Classify, ErrorClass};
use lakescore_model::{FeatureMatrix, Model};
use polars::prelude::*;

use crate::bridge::{self, BridgeError};
pub use files::{Files, expand, expand_glob};
pub use frames::FrameStream;

/// Errors from reading and scoring input; each names the file or column.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("no input files match {pattern}")]
    NoInput { pattern: String },
    #[error("invalid input pattern {pattern}: {message}")]
    BadPattern { pattern: String, message: String },
    #[error("input file {path} is not readable Parquet: {message}")]
    Corrupt { path: String, message: String },
    /// An object store that did not answer (a retry may succeed).
    #[error("input file {path} could not be read from its store: {message}")]
    Unreachable { path: String, message: String },
    /// Listing an object-store input failed.
    #[error("input {pattern}")]
    Lake {
        pattern: String,
        #[source]
        source: Box<lakescore_lake::LakeError>,
    },
    #[error(
        "input {path} has no column {column:?}, which the model needs (the file has: {available})"
    )]
    MissingFeature {
        path: String,
        column: String,
        available: String,
    },
    #[error("input {path} has no key column {column:?} (the file has: {available})")]
    MissingKey {
        path: String,
        column: String,
        available: String,
    },
    #[error(
        "input {path}: feature column {column:?} has type {dtype}, but the model needs numbers (integer, float or boolean)"
    )]
    BadFeatureType {
        path: String,
        column: String,
        dtype: String,
    },
    #[error(
        "input {path}: column {column:?} has type {found}, but the model's signature says {expected}"
    )]
    SignatureMismatch {
        path: String,
        column: String,
        expected: String,
        found: String,
    },
    #[error(
        "input {path}: key column {column:?} has type {dtype}, which a Delta table cannot store"
    )]
    BadKeyType {
        path: String,
        column: String,
        dtype: String,
    },
    #[error(
        "input {path} has no column {column:?} named in [drift] columns (the file has: {available})"
    )]
    MissingMonitored {
        path: String,
        column: String,
        available: String,
    },
    #[error(
        "input {path}: drift column {column:?} has type {dtype}; drift compares numbers, booleans and strings"
    )]
    BadMonitoredType {
        path: String,
        column: String,
        dtype: String,
    },
    #[error("reading input {pattern}")]
    Read {
        pattern: String,
        #[source]
        source: PolarsError,
    },
    #[error("input column {column}")]
    Column {
        column: String,
        #[source]
        source: PolarsError,
    },
    #[error(
        "input column {column} holds category names, but the model records none: give its integer codes"
    )]
    NoCategoryNames { column: String },
    #[error("building output batch")]
    Bridge(#[from] BridgeError),
    #[error("building output batch")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl Classify for ScoreError {
    /// Files, columns and types that do not fit are bad input; a read or a
    /// conversion that fails midway is a failure a retry would repeat.
    fn class(&self) -> ErrorClass {
        match self {
            ScoreError::Unreachable { .. } => ErrorClass::Transient,
            ScoreError::Lake { source, .. } => source.class(),
            ScoreError::Read { .. }
            | ScoreError::Column { .. }
            | ScoreError::Bridge(_)
            | ScoreError::Arrow(_) => ErrorClass::Failure,
            ScoreError::NoInput { .. }
            | ScoreError::BadPattern { .. }
            | ScoreError::Corrupt { .. }
            | ScoreError::MissingFeature { .. }
            | ScoreError::MissingKey { .. }
            | ScoreError::BadFeatureType { .. }
            | ScoreError::SignatureMismatch { .. }
            | ScoreError::BadKeyType { .. }
            | ScoreError::MissingMonitored { .. }
            | ScoreError::BadMonitoredType { .. }
            | ScoreError::NoCategoryNames { .. } => ErrorClass::BadInput,
        }
    }
}

pub type Result<T, E = ScoreError> = std::result::Result<T, E>;

/// Lineage written on every prediction row.
#[derive(Debug, Clone)]
pub struct Lineage {
    pub model_name: String,
    pub model_version: i64,
    pub run_id: String,
    pub job_name: String,
    pub logical_date: NaiveDate,
    pub scored_at: DateTime<Utc>,
}

/// What scoring needs to know of a model: its inputs (which are categorical,
/// with their category names when the model records them) and its extra
/// output columns (class probabilities).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelInputs {
    pub features: Vec<String>,
    pub categorical: Vec<bool>,
    pub categories: Vec<Option<Vec<String>>>,
    /// Output columns after `prediction` (`prob_0`, ...).
    pub outputs: Vec<String>,
}

impl ModelInputs {
    pub fn of(model: &dyn Model) -> Self {
        ModelInputs {
            features: model.features().to_vec(),
            categorical: model.categorical(),
            categories: model.categories(),
            outputs: model.output_columns(),
        }
    }

    /// Numeric inputs only, one output.
    pub fn numeric(features: &[String]) -> Self {
        ModelInputs {
            features: features.to_vec(),
            categorical: vec![false; features.len()],
            categories: vec![None; features.len()],
            outputs: Vec::new(),
        }
    }

    fn is_categorical(&self, i: usize) -> bool {
        self.categorical.get(i).copied().unwrap_or(false)
    }
}

/// A checked input: the files to read and the output schema they produce.
#[derive(Debug, Clone)]
pub struct InputPlan {
    /// Human-readable description (the glob or table) for messages.
    pub pattern: String,
    pub files: Files,
    pub keys: Vec<String>,
    pub features: Vec<String>,
    pub inputs: ModelInputs,
    /// Other input columns read for drift only, with how they are compared.
    pub monitored: Vec<(String, ColumnKind)>,
    pub batch_rows: usize,
    /// Schema of the output rows: keys, prediction, lineage.
    pub output_schema: SchemaRef,
}

fn is_numeric(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || matches!(dtype, DataType::Boolean) || dtype.is_decimal()
}

/// How drift compares a column of this type, if it can.
pub fn column_kind(dtype: &DataType) -> Option<ColumnKind> {
    if is_numeric(dtype) {
        Some(ColumnKind::Numeric)
    } else if matches!(dtype, DataType::String) {
        Some(ColumnKind::Categorical)
    } else {
        None
    }
}

/// Every column of file `i` of `files` that drift can compare, with its kind.
pub fn drift_columns(files: &Files, i: usize) -> Result<Vec<(String, ColumnKind)>> {
    let schema = files.schema_at(i)?;
    Ok(schema
        .iter()
        .filter_map(|(name, dt)| column_kind(dt).map(|k| (name.to_string(), k)))
        .collect())
}

/// The prediction + lineage part of the output schema (`extra`: class probabilities).
pub fn output_tail_fields(extra: &[String]) -> Vec<Field> {
    let mut fields = vec![Field::new("prediction", ArrowType::Float64, true)];
    fields.extend(
        extra
            .iter()
            .map(|c| Field::new(c, ArrowType::Float64, true)),
    );
    fields.extend([
        Field::new("model_name", ArrowType::Utf8, false),
        Field::new("model_version", ArrowType::Int64, false),
        Field::new("run_id", ArrowType::Utf8, false),
        Field::new("job_name", ArrowType::Utf8, false),
        Field::new("logical_date", ArrowType::Date32, false),
        Field::new("scored_at", lakescore_lake::utc_timestamp(), false),
    ]);
    fields
}

impl InputPlan {
    /// Output columns that hold a new value in nearly every row, to be
    /// written without a dictionary: the keys (they identify a row) and the
    /// model's scores.
    pub fn plain_columns(&self) -> Vec<String> {
        self.output_schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, f)| *i < self.keys.len() || f.data_type() == &ArrowType::Float64)
            .map(|(_, f)| f.name().clone())
            .collect()
    }

    /// Check every file and column; nothing is read beyond Parquet footers.
    pub fn inspect(
        pattern: &str,
        files: Files,
        keys: &[String],
        monitored: &[String],
        inputs: &ModelInputs,
        batch_rows: usize,
    ) -> Result<Self> {
        let features = &inputs.features;
        let mut kinds: Vec<(String, ColumnKind)> = Vec::new();
        if files.is_empty() {
            return Err(ScoreError::NoInput {
                pattern: pattern.into(),
            });
        }
        let mut key_schema: Option<Schema> = None;
        for (i, file) in files.locations().iter().enumerate() {
            let path = file.clone();
            let schema = files.schema_at(i)?;
            let available = || {
                schema
                    .iter_names()
                    .map(PlSmallStr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for (i, feature) in features.iter().enumerate() {
                match schema.get(feature) {
                    None => {
                        return Err(ScoreError::MissingFeature {
                            path,
                            column: feature.clone(),
                            available: available(),
                        });
                    }
                    // A categorical input: category codes, or names the model can map.
                    Some(dt) if inputs.is_categorical(i) => {
                        let named = matches!(
                            dt,
                            DataType::String | DataType::Categorical(..) | DataType::Enum(..)
                        );
                        if named && inputs.categories.get(i).is_none_or(Option::is_none) {
                            return Err(ScoreError::BadFeatureType {
                                path,
                                column: feature.clone(),
                                dtype: format!(
                                    "{dt} (the model does not record this feature's category names: give its integer codes)"
                                ),
                            });
                        }
                        if !named && !is_numeric(dt) {
                            return Err(ScoreError::BadFeatureType {
                                path,
                                column: feature.clone(),
                                dtype: dt.to_string(),
                            });
                        }
                    }
                    Some(dt) if !is_numeric(dt) => {
                        return Err(ScoreError::BadFeatureType {
                            path,
                            column: feature.clone(),
                            dtype: dt.to_string(),
                        });
                    }
                    Some(_) => {}
                }
            }
            let mut fields = Vec::new();
            for key in keys {
                let Some(dt) = schema.get(key) else {
                    return Err(ScoreError::MissingKey {
                        path,
                        column: key.clone(),
                        available: available(),
                    });
                };
                fields.push(key_field(&path, key, dt)?);
            }
            for column in monitored {
                let kind = match schema.get(column) {
                    None => {
                        return Err(ScoreError::MissingMonitored {
                            path,
                            column: column.clone(),
                            available: available(),
                        });
                    }
                    Some(dt) => column_kind(dt).ok_or_else(|| ScoreError::BadMonitoredType {
                        path: path.clone(),
                        column: column.clone(),
                        dtype: dt.to_string(),
                    })?,
                };
                if key_schema.is_none() {
                    kinds.push((column.clone(), kind));
                }
            }
            if key_schema.is_none() {
                key_schema = Some(Schema::new(fields));
            }
        }
        let mut fields: Vec<Field> = key_schema
            .map(|s| s.fields().iter().map(|f| f.as_ref().clone()).collect())
            .unwrap_or_default();
        fields.extend(output_tail_fields(&inputs.outputs));
        Ok(InputPlan {
            pattern: pattern.into(),
            files,
            keys: keys.to_vec(),
            features: features.clone(),
            inputs: inputs.clone(),
            monitored: kinds,
            batch_rows,
            output_schema: Arc::new(Schema::new(fields)),
        })
    }
}

/// Check an input file against a model signature: every column present, with
/// a type the signature's (MLflow) type accepts: `double`, `float`, `long`,
/// `integer` numbers; `boolean`; `string` (or category codes, for a column in
/// `codes_ok`). Other types (`binary`, `datetime`, ...) are not checked.
pub fn check_signature(
    files: &Files,
    i: usize,
    signature: &[(String, String)],
    codes_ok: &[String],
) -> Result<()> {
    let path = files.locations()[i].clone();
    let schema = files.schema_at(i)?;
    for (name, ty) in signature {
        let Some(dt) = schema.get(name) else {
            return Err(ScoreError::MissingFeature {
                path,
                column: name.clone(),
                available: schema
                    .iter_names()
                    .map(PlSmallStr::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let named = matches!(
            dt,
            DataType::String | DataType::Categorical(..) | DataType::Enum(..)
        );
        let ok = match ty.as_str() {
            "double" | "float" => is_numeric(dt),
            "long" | "integer" => dt.is_integer() || matches!(dt, DataType::Boolean),
            "boolean" => matches!(dt, DataType::Boolean) || dt.is_integer(),
            "string" => named || (codes_ok.contains(name) && is_numeric(dt)),
            _ => true,
        };
        if !ok {
            return Err(ScoreError::SignatureMismatch {
                path,
                column: name.clone(),
                expected: ty.clone(),
                found: dt.to_string(),
            });
        }
    }
    Ok(())
}

/// The Delta-compatible arrow field for a key column of polars type `dt`.
fn key_field(path: &str, key: &str, dt: &DataType) -> Result<Field> {
    let empty =
        DataFrame::empty_with_schema(&polars::prelude::Schema::from_iter([Field_(key, dt)]));
    let batches = bridge::polars_to_arrow(&empty)?;
    let arrow_type = batches[0].schema().field(0).data_type().clone();
    let delta = bridge::delta_type(&arrow_type).ok_or_else(|| ScoreError::BadKeyType {
        path: path.into(),
        column: key.into(),
        dtype: dt.to_string(),
    })?;
    Ok(Field::new(key, delta, true))
}

#[allow(non_snake_case)]
fn Field_(name: &str, dt: &DataType) -> polars::prelude::Field {
    polars::prelude::Field::new(name.into(), dt.clone())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Scored batches, one per input batch of at most `batch_rows` rows.
pub struct ScoreStream<'m> {
    frames: FrameStream,
    plan: InputPlan,
    model: &'m dyn Model,
    lineage: Option<Lineage>,
    /// The lineage columns of a whole batch (the same value in every row),
    /// built once: each output batch takes a slice of them.
    constants: Vec<ArrayRef>,
    pub rows_in: usize,
    /// Time spent waiting for input batches (reading and decoding).
    pub read_time: std::time::Duration,
    /// Time spent building feature matrices, evaluating the model and
    /// building output rows.
    pub score_time: std::time::Duration,
}

/// One scored batch: the model's inputs and outputs, and (when the stream has
/// lineage) the output rows to write.
pub struct Scored {
    pub features: FeatureMatrix,
    pub predictions: Vec<f64>,
    /// Class probabilities of multiclass models (`[class][row]`).
    pub probabilities: Vec<Vec<f64>>,
    pub output: Option<RecordBatch>,
    /// The input batch (keys, features and monitored columns).
    pub frame: DataFrame,
}

impl<'m> ScoreStream<'m> {
    /// Stream `plan` through `model`; without `lineage` no output rows are built
    /// (profiling a reference only needs the inputs and predictions).
    pub fn new(plan: InputPlan, model: &'m dyn Model, lineage: Option<Lineage>) -> Result<Self> {
        let constants = lineage
            .as_ref()
            .map(|l| lineage_columns(l, plan.batch_rows))
            .unwrap_or_default();
        Ok(Self {
            frames: FrameStream::new(&plan),
            plan,
            model,
            lineage,
            constants,
            rows_in: 0,
            read_time: std::time::Duration::ZERO,
            score_time: std::time::Duration::ZERO,
        })
    }

    /// Score one polars batch; with lineage, also build the output arrow batch.
    fn score(&self, df: &DataFrame) -> Result<Scored> {
        let features = model_matrix(df, &self.plan.inputs)?;
        let lakescore_model::Predictions {
            prediction: predictions,
            probabilities,
        } = self.model.predict_all(&features);
        let output = match &self.lineage {
            Some(l) => Some(self.output(df, &predictions, &probabilities, l)?),
            None => None,
        };
        Ok(Scored {
            features,
            predictions,
            probabilities,
            output,
            frame: df.clone(),
        })
    }

    fn output(
        &self,
        df: &DataFrame,
        predictions: &[f64],
        probabilities: &[Vec<f64>],
        l: &Lineage,
    ) -> Result<RecordBatch> {
        let rows = df.height();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.output_schema.fields().len());
        if !self.plan.keys.is_empty() {
            let keys = df
                .select(self.plan.keys.iter().map(String::as_str))
                .map_err(|source| ScoreError::Column {
                    column: self.plan.keys.join(", "),
                    source,
                })?;
            let key_batches = bridge::polars_to_arrow(&keys)?;
            let key_schema = Arc::new(Schema::new(
                self.plan.output_schema.fields()[..self.plan.keys.len()].to_vec(),
            ));
            let mut parts = Vec::new();
            for b in &key_batches {
                parts.push(bridge::conform(b, &key_schema)?);
            }
            let merged = arrow::compute::concat_batches(&key_schema, &parts)?;
            columns.extend(merged.columns().iter().cloned());
        }
        for values in std::iter::once(predictions).chain(probabilities.iter().map(Vec::as_slice)) {
            columns.push(prediction_column(values));
        }
        if rows <= self.constants.first().map_or(0, |c| c.len()) {
            columns.extend(self.constants.iter().map(|c| c.slice(0, rows)));
        } else {
            columns.extend(lineage_columns(l, rows));
        }
        Ok(RecordBatch::try_new(
            self.plan.output_schema.clone(),
            columns,
        )?)
    }
}

/// A prediction (or probability) column: NaN, no prediction, is null.
fn prediction_column(values: &[f64]) -> ArrayRef {
    let nulls = values
        .iter()
        .any(|p| p.is_nan())
        .then(|| NullBuffer::from_iter(values.iter().map(|p| !p.is_nan())));
    Arc::new(Float64Array::new(values.to_vec().into(), nulls))
}

/// The lineage columns of `rows` rows, in the output schema's order:
/// `model_name`, `model_version`, `run_id`, `job_name`, `logical_date`,
/// `scored_at`.
fn lineage_columns(l: &Lineage, rows: usize) -> Vec<ArrayRef> {
    let days =
        (l.logical_date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32;
    vec![
        Arc::new(StringArray::from(vec![l.model_name.as_str(); rows])),
        Arc::new(Int64Array::from(vec![l.model_version; rows])),
        Arc::new(StringArray::from(vec![l.run_id.as_str(); rows])),
        Arc::new(StringArray::from(vec![l.job_name.as_str(); rows])),
        Arc::new(Date32Array::from(vec![days; rows])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![l.scored_at.timestamp_micros(); rows])
                .with_timezone("UTC"),
        ),
    ]
}

impl Iterator for ScoreStream<'_> {
    type Item = Result<Scored>;

    fn next(&mut self) -> Option<Self::Item> {
        let clock = std::time::Instant::now();
        let frame = self.frames.next();
        self.read_time += clock.elapsed();
        let clock = std::time::Instant::now();
        let scored = frame?.and_then(|df| {
            self.rows_in += df.height();
            self.score(&df)
        });
        self.score_time += clock.elapsed();
        Some(scored)
    }
}

/// Extract the model's features from `df` as `f64` columns; nulls become NaN.
pub fn feature_matrix(df: &DataFrame, features: &[String]) -> Result<FeatureMatrix> {
    let rows = df.height();
    let mut columns = Vec::with_capacity(features.len());
    for name in features {
        let column_err = |source| ScoreError::Column {
            column: name.clone(),
            source,
        };
        let column = df
            .column(name)
            .and_then(|c| c.cast(&DataType::Float64))
            .map_err(column_err)?;
        let ca = column.f64().map_err(column_err)?;
        let mut values = Vec::with_capacity(rows);
        // Chunk by chunk: a copy where a chunk has no nulls.
        for chunk in ca.downcast_iter() {
            let slice = chunk.values().as_slice();
            match chunk.validity().filter(|v| v.unset_bits() > 0) {
                None => values.extend_from_slice(slice),
                Some(valid) => values.extend(
                    slice
                        .iter()
                        .zip(valid.iter())
                        .map(|(&v, ok)| if ok { v } else { f64::NAN }),
                ),
            }
        }
        columns.push(values);
    }
    Ok(FeatureMatrix { rows, columns })
}

/// The model's input matrix: numeric inputs as `f64` (nulls are NaN);
/// categorical inputs as codes, names mapped through the model's category list
/// (a name the list lacks, or null, is NaN: missing, as pandas codes it).
///
/// Columns are extracted on the model's threads (`LAKESCORE_THREADS`): a
/// batch's copy is 10 MB at 20 features, which the run's thread would
/// otherwise make alone while the other cores wait for the batch.
pub fn model_matrix(df: &DataFrame, inputs: &ModelInputs) -> Result<FeatureMatrix> {
    let rows = df.height();
    let columns = map_parallel(
        inputs.features.iter().enumerate().collect(),
        lakescore_model::forest::threads(),
        |(i, name)| model_column(df, inputs, i, name),
    )
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    Ok(FeatureMatrix { rows, columns })
}

/// Input `i` (named `name`) of the model's matrix.
fn model_column(df: &DataFrame, inputs: &ModelInputs, i: usize, name: &str) -> Result<Vec<f64>> {
    let column_err = |source| ScoreError::Column {
        column: name.to_string(),
        source,
    };
    let column = df.column(name).map_err(column_err)?;
    let named = matches!(
        column.dtype(),
        DataType::String | DataType::Categorical(..) | DataType::Enum(..)
    );
    if !(inputs.is_categorical(i) && named) {
        return numeric_values(df, name);
    }
    let Some(Some(categories)) = inputs.categories.get(i) else {
        return Err(ScoreError::NoCategoryNames {
            column: name.to_string(),
        });
    };
    let code: std::collections::HashMap<&str, f64> = categories
        .iter()
        .enumerate()
        .map(|(c, n)| (n.as_str(), c as f64))
        .collect();
    let strings = column.cast(&DataType::String).map_err(column_err)?;
    let ca = strings.str().map_err(column_err)?;
    Ok(ca
        .iter()
        .map(|v| v.and_then(|s| code.get(s).copied()).unwrap_or(f64::NAN))
        .collect())
}

/// Values of a numeric column as `f64` (nulls become NaN).
pub fn numeric_values(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let mut m = feature_matrix(df, &[name.to_string()])?;
    Ok(m.columns.pop().unwrap_or_default())
}

/// A column as strings, for categorical drift.
pub fn string_values(df: &DataFrame, name: &str) -> Result<StringChunked> {
    df.column(name)
        .and_then(|c| c.cast(&DataType::String))
        .and_then(|c| c.str().cloned())
        .map_err(|source| ScoreError::Column {
            column: name.to_string(),
            source,
        })
}

/// Read a whole (small) Parquet file into polars, for tests and tools.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    Files::local(vec![path.to_path_buf()])
        .scan()
        .and_then(LazyFrame::collect)
        .map_err(|e| ScoreError::Corrupt {
            path: path.display().to_string(),
            message: first_line(&e.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array as _, AsArray as _};
    use arrow::datatypes::Float64Type;

    use super::*;

    #[test]
    fn a_nan_prediction_is_null_and_the_others_keep_their_bits() {
        let column = prediction_column(&[0.25, f64::NAN, -0.0, 1e-300]);
        let column = column.as_primitive::<Float64Type>();
        assert_eq!(column.null_count(), 1);
        assert!(column.is_null(1));
        for (i, want) in [(0, 0.25), (2, -0.0), (3, 1e-300)] {
            assert_eq!(column.value(i).to_bits(), f64::to_bits(want));
        }
        assert!(prediction_column(&[0.5, 0.75]).nulls().is_none());
    }

    #[test]
    fn a_slice_of_the_lineage_columns_is_the_columns_of_fewer_rows() {
        let l = Lineage {
            model_name: "churn".into(),
            model_version: 3,
            run_id: "run-1".into(),
            job_name: "daily".into(),
            logical_date: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
            scored_at: DateTime::from_timestamp(1_704_153_600, 0).unwrap(),
        };
        let whole = lineage_columns(&l, 8);
        let few = lineage_columns(&l, 3);
        assert_eq!(whole.len(), 6);
        for (w, f) in whole.iter().zip(&few) {
            assert_eq!(w.len(), 8);
            assert_eq!(w.slice(0, 3).to_data(), f.to_data());
        }
        assert_eq!(few[2].as_string::<i32>().value(2), "run-1");
        assert_eq!(
            few[4]
                .as_primitive::<arrow::datatypes::Date32Type>()
                .value(0),
            19_724
        );
    }
}
