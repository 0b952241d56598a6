//! Rows of the two registry tables and their Delta schemas.
//!
//! `registry/model_versions`: one immutable row per model version.
//! `registry/model_events`: one row per change (registered, stage transition,
//! alias, rollback, transition request/approval/rejection, tag, description,
//! owner, setting, comment), with actor, time and comment; `seq` orders them.

use std::sync::Arc;

use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

pub const VERSIONS_TABLE: &str = "registry/model_versions";
pub const EVENTS_TABLE: &str = "registry/model_events";

/// A registered model version (immutable after insert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionRow {
    pub name: String,
    pub version: i64,
    pub flavor: String,
    /// Artifact location relative to the lake root.
    pub artifact_path: String,
    pub artifact_sha256: String,
    pub artifact_bytes: i64,
    /// Where the artifact was registered from.
    pub source: String,
    /// Input columns the model reads, in order.
    pub features: Vec<String>,
    /// One line: objective, trees, link.
    pub summary: String,
    pub description: Option<String>,
    /// Tags as a JSON object text.
    pub tags: String,
    /// Microseconds since the Unix epoch, UTC.
    pub created_at: i64,
    pub created_by: String,
    pub lakescore_version: String,
    /// Reference profile location (a folder under the lake root), if captured.
    pub profile_path: Option<String>,
    /// SHA-256 of the profile's summary followed by its values.
    pub profile_sha256: Option<String>,
    /// Training metrics, a JSON object of numbers (`--metric`, or an MLflow run's).
    #[serde(default)]
    pub metrics: Option<String>,
    /// Training parameters, a JSON object of strings.
    #[serde(default)]
    pub params: Option<String>,
    /// Input signature: a JSON array of `{"name", "type"}`, in the model's order.
    #[serde(default)]
    pub signature: Option<String>,
    /// Columns the model writes to prediction tables: a JSON array of
    /// `{"name", "type"}` (`prediction`, then `prob_<class>` for multiclass models).
    #[serde(default)]
    pub output_columns: Option<String>,
}

/// A registry change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEventRow {
    /// Total order of events across the registry (assigned under optimistic concurrency).
    pub seq: i64,
    pub event_id: String,
    pub model_name: String,
    pub version: Option<i64>,
    /// One of the `EV_*` names in [`super::state`].
    pub event_type: String,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub alias: Option<String>,
    pub actor: String,
    pub comment: Option<String>,
    pub created_at: i64,
    /// The transition request an event opens or decides (its `seq` when opened).
    #[serde(default)]
    pub request_id: Option<i64>,
    /// Tag or setting name.
    #[serde(default)]
    pub key: Option<String>,
    /// Tag, setting, description or owner value.
    #[serde(default)]
    pub value: Option<String>,
}

pub fn versions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("version", DataType::Int64, false),
        Field::new("flavor", DataType::Utf8, false),
        Field::new("artifact_path", DataType::Utf8, false),
        Field::new("artifact_sha256", DataType::Utf8, false),
        Field::new("artifact_bytes", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new(
            "features",
            DataType::List(Arc::new(Field::new("element", DataType::Utf8, false))),
            false,
        ),
        Field::new("summary", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, true),
        Field::new("tags", DataType::Utf8, false),
        Field::new("created_at", crate::lake::utc_timestamp(), false),
        Field::new("created_by", DataType::Utf8, false),
        Field::new("lakescore_version", DataType::Utf8, false),
        Field::new("profile_path", DataType::Utf8, true),
        Field::new("profile_sha256", DataType::Utf8, true),
        // Added in 0.2 (existing tables gain them on first write; old rows read null).
        Field::new("metrics", DataType::Utf8, true),
        Field::new("params", DataType::Utf8, true),
        Field::new("signature", DataType::Utf8, true),
        Field::new("output_columns", DataType::Utf8, true),
    ]))
}

pub fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::Int64, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("model_name", DataType::Utf8, false),
        Field::new("version", DataType::Int64, true),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("from_stage", DataType::Utf8, true),
        Field::new("to_stage", DataType::Utf8, true),
        Field::new("alias", DataType::Utf8, true),
        Field::new("actor", DataType::Utf8, false),
        Field::new("comment", DataType::Utf8, true),
        Field::new("created_at", crate::lake::utc_timestamp(), false),
        // Added in 0.2.
        Field::new("request_id", DataType::Int64, true),
        Field::new("key", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
    ]))
}
