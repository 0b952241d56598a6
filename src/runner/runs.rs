//! The `runs` table: one row per run attempt, successful or not.

use std::sync::Arc;

use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

pub const RUNS_TABLE: &str = "runs";

/// One run attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: String,
    pub job_name: String,
    /// `manual`, `schedule`, `backfill`, `rerun`.
    pub trigger: String,
    /// Days since 1970-01-01.
    pub logical_date: i32,
    /// `succeeded` or `failed`.
    pub status: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub duration_ms: i64,
    pub rows_in: i64,
    pub rows_out: i64,
    pub model_uri: String,
    pub model_name: Option<String>,
    pub model_version: Option<i64>,
    pub input: String,
    pub input_version: Option<i64>,
    pub output_table: String,
    pub output_version: Option<i64>,
    pub spec_path: String,
    pub spec_sha256: String,
    /// The spec's full text, so a run can be reproduced exactly.
    pub spec_toml: String,
    pub lakescore_version: String,
    pub error: Option<String>,
    /// Drift metrics over their alert threshold.
    pub drift_alerts: i64,
}

pub fn runs_schema() -> SchemaRef {
    let ts = crate::lake::utc_timestamp();
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("job_name", DataType::Utf8, false),
        Field::new("trigger", DataType::Utf8, false),
        Field::new("logical_date", DataType::Date32, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("started_at", ts.clone(), false),
        Field::new("finished_at", ts, false),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new("rows_in", DataType::Int64, false),
        Field::new("rows_out", DataType::Int64, false),
        Field::new("model_uri", DataType::Utf8, false),
        Field::new("model_name", DataType::Utf8, true),
        Field::new("model_version", DataType::Int64, true),
        Field::new("input", DataType::Utf8, false),
        Field::new("input_version", DataType::Int64, true),
        Field::new("output_table", DataType::Utf8, false),
        Field::new("output_version", DataType::Int64, true),
        Field::new("spec_path", DataType::Utf8, false),
        Field::new("spec_sha256", DataType::Utf8, false),
        Field::new("spec_toml", DataType::Utf8, false),
        Field::new("lakescore_version", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
        Field::new("drift_alerts", DataType::Int64, false),
    ]))
}
