//! Rows of the two registry tables and their Delta schemas.
//!
//! `registry/model_versions`: one immutable row per model version.
//! `registry/model_events`: one row per change (registered, stage transition,
//! alias, rollback, transition request/approval/rejection, tag, description,
//! owner, setting, comment), with actor, time and comment; `seq` orders them.

use serde::{Deserialize, Serialize};

use super::EventKind;
use crate::Flavor;
use crate::table::TableRow;
use crate::uri::Stage;

pub const VERSIONS_TABLE: &str = "registry/model_versions";
pub const EVENTS_TABLE: &str = "registry/model_events";

/// A registered model version (immutable after insert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionRow {
    pub name: String,
    pub version: i64,
    pub flavor: Flavor,
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
    pub event_type: EventKind,
    pub from_stage: Option<Stage>,
    pub to_stage: Option<Stage>,
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
    /// Who the system says made the change (a Kubernetes service account,
    /// the platform's `LAKESCORE_ACTOR`, or the OS user), beside the claimed
    /// `actor` (`--actor`); none in events written before it was recorded.
    #[serde(default)]
    pub system_actor: Option<String>,
}

impl TableRow for ModelVersionRow {
    const TIMESTAMPS: &'static [&'static str] = &["created_at"];
}

impl TableRow for ModelEventRow {
    const TIMESTAMPS: &'static [&'static str] = &["created_at"];
}
