//! polars <-> arrow-rs through the Arrow C Data Interface.
//!
//! The only `unsafe` in lakescore's IO path: the two libraries' C Data
//! Interface structs are reinterpreted, with the reasoning at each use.
#![allow(unsafe_code)]
//!
//! polars has its own arrow implementation (polars-arrow); delta-rs speaks
//! arrow-rs. Both implement the C Data Interface, whose structs have one C ABI
//! layout, so a column crosses by exporting it from one side and importing it on
//! the other, without copying buffers. polars exports with
//! `CompatLevel::oldest()` (LargeUtf8, not Utf8View) so every arrow-rs kernel
//! can read it; [`conform`] then casts to a Delta table's exact types.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, make_array, new_empty_array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use lakescore_core::{Classify, ErrorClass};
use polars::prelude::{CompatLevel, DataFrame, PlSmallStr, Series};

/// Errors crossing between polars and arrow.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("arrow conversion")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("polars conversion")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("column {0} is missing")]
    MissingColumn(String),
    #[error("column {column}")]
    Cast {
        column: String,
        #[source]
        source: arrow::error::ArrowError,
    },
}

impl Classify for BridgeError {
    /// A conversion that fails is deterministic: retrying repeats it.
    fn class(&self) -> ErrorClass {
        ErrorClass::Failure
    }
}

pub type Result<T, E = BridgeError> = std::result::Result<T, E>;

/// Convert one polars column chunk to an arrow-rs array.
fn series_chunk_to_arrow(series: &Series, chunk: usize) -> Result<(Field, ArrayRef)> {
    let array = series.to_arrow(chunk, CompatLevel::oldest());
    let field = series.field().to_arrow(CompatLevel::oldest());
    let c_array = polars_arrow::ffi::export_array_to_c(array);
    let c_schema = polars_arrow::ffi::export_field_to_c(&field);
    // SAFETY: polars-arrow's `ArrowArray`/`ArrowSchema` and arrow-rs'
    // `FFI_ArrowArray`/`FFI_ArrowSchema` are both `#[repr(C)]` definitions of the
    // Arrow C Data Interface structs; ownership (and the release callback) moves
    // to arrow-rs, which calls it exactly once.
    let (c_array, c_schema): (arrow::ffi::FFI_ArrowArray, arrow::ffi::FFI_ArrowSchema) = unsafe {
        (
            std::mem::transmute::<polars_arrow::ffi::ArrowArray, arrow::ffi::FFI_ArrowArray>(
                c_array,
            ),
            std::mem::transmute::<polars_arrow::ffi::ArrowSchema, arrow::ffi::FFI_ArrowSchema>(
                c_schema,
            ),
        )
    };
    // SAFETY: the structs were just produced by a conforming exporter.
    let data = unsafe { arrow::ffi::from_ffi(c_array, &c_schema) }.map_err(BridgeError::from)?;
    let arrow_field = Field::try_from(&c_schema).map_err(BridgeError::from)?;
    Ok((arrow_field, make_array(data)))
}

/// Convert a polars frame into arrow-rs record batches (one per aligned chunk).
pub fn polars_to_arrow(df: &DataFrame) -> Result<Vec<RecordBatch>> {
    let mut df = df.clone();
    df.align_chunks();
    let columns = df.columns();
    let n_chunks = columns
        .first()
        .map_or(0, |c| c.as_materialized_series().n_chunks());
    let mut batches = Vec::with_capacity(n_chunks.max(1));
    if n_chunks == 0 || df.height() == 0 {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| {
                let f = c
                    .as_materialized_series()
                    .field()
                    .to_arrow(CompatLevel::oldest());
                series_chunk_field(&f)
            })
            .collect::<Result<_>>()?;
        let schema = Arc::new(Schema::new(fields));
        batches.push(RecordBatch::new_empty(schema));
        return Ok(batches);
    }
    for chunk in 0..n_chunks {
        let mut fields = Vec::with_capacity(columns.len());
        let mut arrays = Vec::with_capacity(columns.len());
        for column in columns {
            let (field, array) = series_chunk_to_arrow(column.as_materialized_series(), chunk)?;
            fields.push(field);
            arrays.push(array);
        }
        batches.push(
            RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
                .map_err(BridgeError::from)?,
        );
    }
    Ok(batches)
}

/// The arrow-rs field of a polars-arrow field (through the C schema).
fn series_chunk_field(field: &polars_arrow::datatypes::Field) -> Result<Field> {
    let c_schema = polars_arrow::ffi::export_field_to_c(field);
    // SAFETY: see `series_chunk_to_arrow`.
    let c_schema = unsafe {
        std::mem::transmute::<polars_arrow::ffi::ArrowSchema, arrow::ffi::FFI_ArrowSchema>(c_schema)
    };
    Field::try_from(&c_schema).map_err(BridgeError::from)
}

/// Convert arrow-rs record batches into one polars frame.
pub fn arrow_to_polars(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<DataFrame> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let name = PlSmallStr::from(field.name().as_str());
        let chunks = if batches.is_empty() {
            vec![arrow_array_to_polars(&new_empty_array(field.data_type()))?]
        } else {
            batches
                .iter()
                .map(|b| arrow_array_to_polars(b.column(i)))
                .collect::<Result<Vec<_>>>()?
        };
        columns.push(
            Series::from_arrow_chunks(name, chunks)
                .map_err(BridgeError::from)?
                .into(),
        );
    }
    let height = batches.iter().map(RecordBatch::num_rows).sum();
    DataFrame::new(height, columns).map_err(BridgeError::from)
}

/// Convert one arrow-rs array to a polars-arrow array.
fn arrow_array_to_polars(array: &ArrayRef) -> Result<Box<dyn polars_arrow::array::Array>> {
    let (c_array, c_schema) = arrow::ffi::to_ffi(&array.to_data()).map_err(BridgeError::from)?;
    // SAFETY: the reverse of `series_chunk_to_arrow`; polars-arrow takes ownership.
    let (c_array, c_schema) = unsafe {
        (
            std::mem::transmute::<arrow::ffi::FFI_ArrowArray, polars_arrow::ffi::ArrowArray>(
                c_array,
            ),
            std::mem::transmute::<arrow::ffi::FFI_ArrowSchema, polars_arrow::ffi::ArrowSchema>(
                c_schema,
            ),
        )
    };
    // SAFETY: produced by arrow-rs' conforming exporter just above.
    let field =
        unsafe { polars_arrow::ffi::import_field_from_c(&c_schema) }.map_err(BridgeError::from)?;
    // SAFETY: as above; the array matches the field it was exported with.
    unsafe { polars_arrow::ffi::import_array_from_c(c_array, field.dtype().clone()) }
        .map_err(BridgeError::from)
}

/// The Delta-compatible arrow type for a column coming from polars/Parquet:
/// large and view strings become `Utf8`, unsigned integers widen to the next
/// signed type, timestamps become microseconds (UTC when zoned).
pub fn delta_type(dt: &DataType) -> Option<DataType> {
    Some(match dt {
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Utf8 => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView | DataType::Binary => DataType::Binary,
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => dt.clone(),
        DataType::Float32 | DataType::Float64 | DataType::Boolean | DataType::Date32 => dt.clone(),
        DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, Some(_)) => lakescore_lake::utc_timestamp(),
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Decimal128(p, s) => DataType::Decimal128(*p, *s),
        _ => return None,
    })
}

/// Cast `batch`'s columns to `schema` (same names, in `schema`'s order).
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = batch
            .column_by_name(field.name())
            .ok_or_else(|| BridgeError::MissingColumn(field.name().clone()))?;
        let column = if column.data_type() == field.data_type() {
            column.clone()
        } else {
            cast(column, field.data_type()).map_err(|source| BridgeError::Cast {
                column: field.name().clone(),
                source,
            })?
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(BridgeError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use polars::df;

    fn sample() -> DataFrame {
        df! {
            "s" => [Some("a"), None, Some("héllo ✓"), Some("")],
            "i" => [Some(1i64), Some(-2), None, Some(i64::MAX)],
            "f" => [Some(1.5f64), Some(f64::NAN), None, Some(-0.0)],
            "b" => [Some(true), None, Some(false), Some(true)],
        }
        .unwrap()
    }

    #[test]
    fn polars_to_arrow_keeps_values_and_nulls() {
        let batches = polars_to_arrow(&sample()).unwrap();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        let target = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
        ]));
        let b = conform(b, &target).unwrap();
        let s = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(s.value(0), "a");
        assert!(s.is_null(1));
        assert_eq!(s.value(2), "héllo ✓");
        assert_eq!(s.value(3), "");
        let i = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(i.value(3), i64::MAX);
        assert!(i.is_null(2));
        let f = b.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(f.value(1).is_nan());
        assert!(f.is_null(2));
        let bo = b.column(3).as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(bo.is_null(1));
        assert!(!bo.value(2));
    }

    #[test]
    fn round_trip_through_arrow_is_identity() {
        let df = sample();
        let batches = polars_to_arrow(&df).unwrap();
        let back = arrow_to_polars(&batches[0].schema(), &batches).unwrap();
        // NaN != NaN, so compare the parts that are comparable plus the NaN position.
        assert_eq!(back.height(), 4);
        assert!(
            back.column("s")
                .unwrap()
                .equals_missing(df.column("s").unwrap())
        );
        assert!(
            back.column("i")
                .unwrap()
                .equals_missing(df.column("i").unwrap())
        );
        assert!(
            back.column("b")
                .unwrap()
                .equals_missing(df.column("b").unwrap())
        );
        let f = back.column("f").unwrap().f64().unwrap();
        assert_eq!(f.get(0), Some(1.5));
        assert!(f.get(1).unwrap().is_nan());
        assert_eq!(f.get(2), None);
    }

    #[test]
    fn many_chunks_become_many_batches() {
        let mut a = sample();
        a.vstack_mut(&sample()).unwrap();
        a.vstack_mut(&sample()).unwrap();
        let batches = polars_to_arrow(&a).unwrap();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 12);
        let back = arrow_to_polars(&batches[0].schema(), &batches).unwrap();
        assert!(
            back.column("s")
                .unwrap()
                .equals_missing(a.column("s").unwrap())
        );
    }

    #[test]
    fn empty_frames_keep_their_schema() {
        let df = sample().head(Some(0));
        let batches = polars_to_arrow(&df).unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].num_rows(), 0);
        assert_eq!(batches[0].schema().fields().len(), 4);
        let back = arrow_to_polars(&batches[0].schema(), &batches).unwrap();
        assert_eq!(back.height(), 0);
        assert_eq!(back.width(), 4);
    }

    #[test]
    fn dates_and_timestamps_cross_both_ways() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Date32Array::from(vec![Some(19723), None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_704_067_200_123_456), None])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        let df = arrow_to_polars(&schema, std::slice::from_ref(&batch)).unwrap();
        assert_eq!(
            df.column("d").unwrap().dtype(),
            &polars::prelude::DataType::Date
        );
        let again = polars_to_arrow(&df).unwrap();
        let again = conform(&again[0], &schema).unwrap();
        assert_eq!(again, batch);
    }

    proptest::proptest! {
        #[test]
        fn any_frame_survives_the_round_trip(
            ints in proptest::collection::vec(proptest::option::of(proptest::num::i64::ANY), 0..50),
            seed in proptest::num::u64::ANY,
        ) {
            let n = ints.len();
            let strings: Vec<Option<String>> = (0..n)
                .map(|i| (seed.rotate_left(i as u32) % 3 != 0).then(|| format!("v{}-é-{}", i, seed % 97)))
                .collect();
            let floats: Vec<Option<f64>> = (0..n)
                .map(|i| (i % 4 != 1).then_some((seed as f64).sqrt() * i as f64))
                .collect();
            let df = df! { "i" => ints, "s" => strings, "f" => floats }.unwrap();
            let batches = polars_to_arrow(&df).unwrap();
            let back = arrow_to_polars(&batches[0].schema(), &batches).unwrap();
            proptest::prop_assert!(back.equals_missing(&df));
        }
    }

    #[test]
    fn delta_types_are_what_delta_accepts() {
        assert_eq!(delta_type(&DataType::LargeUtf8), Some(DataType::Utf8));
        assert_eq!(delta_type(&DataType::UInt32), Some(DataType::Int64));
        assert_eq!(
            delta_type(&DataType::Timestamp(
                TimeUnit::Nanosecond,
                Some("Europe/Paris".into())
            )),
            Some(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            ))
        );
        assert_eq!(delta_type(&DataType::UInt64), None);
    }
}
