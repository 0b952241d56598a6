//! `registry diff NAME V1 V2`: what changed between two versions of a model
//! (flavor, signature, metrics, parameters, tags, reference profile). Pure:
//! the caller loads the versions and their profiles.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::rows::ModelVersionRow;
use super::state::VersionState;
use crate::drift::ReferenceProfile;
use crate::drift::profile::ColumnProfile;

/// Everything that differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionDiff {
    pub name: String,
    pub from: i64,
    pub to: i64,
    /// Flavor, summary, artifact, stage, description: (field, from, to).
    pub fields: Vec<Change>,
    pub signature: SignatureDiff,
    pub metrics: Vec<Change>,
    pub params: Vec<Change>,
    pub tags: Vec<Change>,
    /// Per profiled column; empty when neither version has a reference profile.
    pub profile: Vec<ProfileChange>,
}

/// One changed value; `None` where a side does not have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub key: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SignatureDiff {
    pub added: Vec<Column>,
    pub removed: Vec<Column>,
    /// (column, from type, to type).
    pub retyped: Vec<Change>,
    /// Same columns, another order (the models read inputs by name, so this is informational).
    pub reordered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// A reference-profile column summarised on each side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileChange {
    pub column: String,
    pub from: Option<ColumnSummary>,
    pub to: Option<ColumnSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSummary {
    pub count: u64,
    pub null_rate: f64,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// Number of categories (categorical columns).
    pub categories: Option<usize>,
}

impl VersionDiff {
    /// True when the two versions are the same in everything compared.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.signature == SignatureDiff::default()
            && self.metrics.is_empty()
            && self.params.is_empty()
            && self.tags.is_empty()
            && self.profile.iter().all(|p| p.from == p.to)
    }
}

/// The signature of a version: its `signature` column, or its features as doubles.
pub fn signature_of(row: &ModelVersionRow) -> Vec<Column> {
    row.signature
        .as_deref()
        .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(s).ok())
        .map_or_else(
            || {
                row.features
                    .iter()
                    .map(|f| Column {
                        name: f.clone(),
                        ty: "double".into(),
                    })
                    .collect()
            },
            |items| {
                items
                    .iter()
                    .map(|i| Column {
                        name: i["name"].as_str().unwrap_or_default().to_string(),
                        ty: i["type"].as_str().unwrap_or("double").to_string(),
                    })
                    .collect()
            },
        )
}

/// Compare `a` (older) with `b`.
pub fn diff(
    a: &VersionState,
    a_profile: Option<&ReferenceProfile>,
    b: &VersionState,
    b_profile: Option<&ReferenceProfile>,
) -> VersionDiff {
    let (ra, rb) = (&a.record, &b.record);
    let mut fields = Vec::new();
    let mut field = |key: &str, x: Option<String>, y: Option<String>| {
        if x != y {
            fields.push(Change {
                key: key.into(),
                from: x,
                to: y,
            });
        }
    };
    field(
        "flavor",
        Some(ra.flavor.to_string()),
        Some(rb.flavor.to_string()),
    );
    field(
        "summary",
        Some(ra.summary.clone()),
        Some(rb.summary.clone()),
    );
    field(
        "artifact_sha256",
        Some(ra.artifact_sha256.clone()),
        Some(rb.artifact_sha256.clone()),
    );
    field(
        "stage",
        Some(a.stage.to_string()),
        Some(b.stage.to_string()),
    );
    field(
        "description",
        ra.description.clone(),
        rb.description.clone(),
    );
    field(
        "reference",
        a_profile.map(|p| format!("{} rows from {}", p.rows, p.source)),
        b_profile.map(|p| format!("{} rows from {}", p.rows, p.source)),
    );

    VersionDiff {
        name: ra.name.clone(),
        from: ra.version,
        to: rb.version,
        fields,
        signature: signature_diff(&signature_of(ra), &signature_of(rb)),
        metrics: map_changes(
            &json_map(ra.metrics.as_deref()),
            &json_map(rb.metrics.as_deref()),
        ),
        params: map_changes(
            &json_map(ra.params.as_deref()),
            &json_map(rb.params.as_deref()),
        ),
        tags: map_changes(&a.tags(), &b.tags()),
        profile: profile_changes(a_profile, b_profile),
    }
}

fn signature_diff(a: &[Column], b: &[Column]) -> SignatureDiff {
    let types = |cols: &[Column]| -> BTreeMap<String, String> {
        cols.iter()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect()
    };
    let (ta, tb) = (types(a), types(b));
    let added = b
        .iter()
        .filter(|c| !ta.contains_key(&c.name))
        .cloned()
        .collect();
    let removed = a
        .iter()
        .filter(|c| !tb.contains_key(&c.name))
        .cloned()
        .collect();
    let retyped = a
        .iter()
        .filter_map(|c| {
            let other = tb.get(&c.name)?;
            (other != &c.ty).then(|| Change {
                key: c.name.clone(),
                from: Some(c.ty.clone()),
                to: Some(other.clone()),
            })
        })
        .collect();
    let common_a: Vec<&str> = a
        .iter()
        .filter(|c| tb.contains_key(&c.name))
        .map(|c| c.name.as_str())
        .collect();
    let common_b: Vec<&str> = b
        .iter()
        .filter(|c| ta.contains_key(&c.name))
        .map(|c| c.name.as_str())
        .collect();
    SignatureDiff {
        added,
        removed,
        retyped,
        reordered: common_a != common_b,
    }
}

/// A JSON object's values as text (numbers in their shortest form).
fn json_map(text: Option<&str>) -> BTreeMap<String, String> {
    let Some(text) = text else {
        return BTreeMap::new();
    };
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn map_changes(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<Change> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change {
            key: k.clone(),
            from: a.get(k).cloned(),
            to: b.get(k).cloned(),
        })
        .collect()
}

fn summary(c: &ColumnProfile) -> ColumnSummary {
    match c {
        ColumnProfile::Numeric(n) => ColumnSummary {
            count: n.count,
            null_rate: n.null_rate,
            mean: n.mean,
            std: n.std,
            categories: None,
        },
        ColumnProfile::Categorical(c) => ColumnSummary {
            count: c.count,
            null_rate: c.null_rate,
            mean: None,
            std: None,
            categories: Some(c.categories.len()),
        },
    }
}

fn profile_changes(
    a: Option<&ReferenceProfile>,
    b: Option<&ReferenceProfile>,
) -> Vec<ProfileChange> {
    let columns: BTreeSet<&String> = a
        .iter()
        .flat_map(|p| p.features.keys())
        .chain(b.iter().flat_map(|p| p.features.keys()))
        .collect();
    columns
        .into_iter()
        .map(|column| ProfileChange {
            column: column.clone(),
            from: a.and_then(|p| p.features.get(column)).map(summary),
            to: b.and_then(|p| p.features.get(column)).map(summary),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::Stage;

    fn version(v: i64, signature: &str, metrics: Option<&str>, tags: &str) -> VersionState {
        VersionState {
            record: ModelVersionRow {
                name: "m".into(),
                version: v,
                flavor: crate::Flavor::Xgboost,
                artifact_path: String::new(),
                artifact_sha256: format!("sha{v}"),
                artifact_bytes: 0,
                source: String::new(),
                features: vec![],
                summary: "s".into(),
                description: None,
                tags: tags.into(),
                created_at: 0,
                created_by: "t".into(),
                lakescore_version: "0".into(),
                profile_path: None,
                profile_sha256: None,
                metrics: metrics.map(Into::into),
                params: None,
                signature: Some(signature.into()),
                output_columns: None,
            },
            stage: Stage::None,
            aliases: vec![],
            comments: vec![],
        }
    }

    #[test]
    fn reports_columns_added_removed_retyped_and_metric_changes() {
        let a = version(
            1,
            r#"[{"name":"x","type":"double"},{"name":"y","type":"double"},{"name":"z","type":"double"}]"#,
            Some(r#"{"auc":0.81,"loss":0.4}"#),
            r#"{"team":"risk"}"#,
        );
        let b = version(
            2,
            r#"[{"name":"y","type":"double"},{"name":"x","type":"long"},{"name":"w","type":"double"}]"#,
            Some(r#"{"auc":0.86}"#),
            r#"{"team":"risk","reviewed":"yes"}"#,
        );
        let d = diff(&a, None, &b, None);
        assert_eq!(
            d.signature.added,
            vec![Column {
                name: "w".into(),
                ty: "double".into()
            }]
        );
        assert_eq!(
            d.signature.removed,
            vec![Column {
                name: "z".into(),
                ty: "double".into()
            }]
        );
        assert_eq!(d.signature.retyped.len(), 1);
        assert_eq!(d.signature.retyped[0].key, "x");
        assert!(d.signature.reordered);
        assert_eq!(
            d.metrics,
            vec![
                Change {
                    key: "auc".into(),
                    from: Some("0.81".into()),
                    to: Some("0.86".into())
                },
                Change {
                    key: "loss".into(),
                    from: Some("0.4".into()),
                    to: None
                },
            ]
        );
        assert_eq!(d.tags.len(), 1);
        assert_eq!(
            d.fields.len(),
            1,
            "only the artifact differs: {:?}",
            d.fields
        );
        assert!(!d.is_empty());
        assert!(diff(&a, None, &a, None).is_empty());
    }
}
