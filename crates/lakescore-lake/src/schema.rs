//! Delta schemas derived from row types.
//!
//! A lakescore table's schema is the serde trace of its row type
//! ([`lakescore_core::table::TableRow`]): field names and order from the
//! struct, nullability from `Option`, and the columns the row type declares as
//! timestamps or dates typed so. Strings are `Utf8` and lists `List` with a
//! non-null `element` item, as Delta's own arrow conversion reads them back,
//! so a table's schema read from its log equals the derived one.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use lakescore_core::table::TableRow;
use serde_arrow::schema::{SchemaLike, TracingOptions};

/// The Delta schema of the table whose rows are `T`.
///
/// # Panics
/// When `T` cannot be traced by serde (a bug in the row type, caught by tests).
pub fn schema_of<T: TableRow>() -> SchemaRef {
    let options = TracingOptions::default()
        .enums_without_data_as_strings(true)
        .strings_as_large_utf8(false)
        .sequence_as_large_list(false);
    let fields = Vec::<FieldRef>::from_type::<T>(options)
        .unwrap_or_else(|e| panic!("row type {} traces: {e}", std::any::type_name::<T>()));
    let fields: Vec<Field> = fields
        .iter()
        .map(|f| {
            let ty = if T::TIMESTAMPS.contains(&f.name().as_str()) {
                crate::utc_timestamp()
            } else if T::DATES.contains(&f.name().as_str()) {
                DataType::Date32
            } else {
                delta_type(f.data_type())
            };
            Field::new(f.name(), ty, f.is_nullable())
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The type Delta stores for a traced type: dictionary-encoded and large
/// strings are strings; list items are named `element`.
fn delta_type(ty: &DataType) -> DataType {
    match ty {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Dictionary(_, value) => delta_type(value),
        DataType::List(item) | DataType::LargeList(item) => DataType::List(Arc::new(Field::new(
            "element",
            delta_type(item.data_type()),
            item.is_nullable(),
        ))),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Row {
        name: String,
        tags: Vec<String>,
        at: i64,
        day: i32,
        note: Option<String>,
        kind: Kind,
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        A,
    }

    impl TableRow for Row {
        const TIMESTAMPS: &'static [&'static str] = &["at"];
        const DATES: &'static [&'static str] = &["day"];
    }

    #[test]
    fn row_types_trace_to_delta_types() {
        let schema = schema_of::<Row>();
        let expected = Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("element", DataType::Utf8, false))),
                false,
            ),
            Field::new("at", crate::utc_timestamp(), false),
            Field::new("day", DataType::Date32, false),
            Field::new("note", DataType::Utf8, true),
            Field::new("kind", DataType::Utf8, false),
        ]);
        assert_eq!(*schema, expected);
    }
}
