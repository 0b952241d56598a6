//! The `drift_metrics` table: one row per (run, model version, feature,
//! metric); and `drift_histograms`: one row per (run, model version, feature,
//! bin), the reference and current counts the metrics were computed from, so
//! any engine (and `lakescore report`) can draw both distributions for a date.

use std::collections::HashMap;

use lakescore_core::drift::{Histogram, Metric, MetricKind};
use lakescore_core::table::TableRow;
use lakescore_lake::{Lake, LakeError, schema_of};
use serde::{Deserialize, Serialize};

pub const DRIFT_TABLE: &str = "drift_metrics";
pub const HISTOGRAMS_TABLE: &str = "drift_histograms";

/// One bin of one feature's distribution in one run (see [`Histogram`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramRow {
    pub run_id: String,
    pub job_name: String,
    /// Days since 1970-01-01.
    pub logical_date: i32,
    pub model_name: String,
    pub model_version: i64,
    pub feature: String,
    /// The bin's position, from 0 (numeric bins ascending).
    pub bin: i32,
    /// A numeric bin holds values in (lower, upper]; null at an open end.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// A categorical bin's category.
    pub category: Option<String>,
    pub reference_count: i64,
    pub current_count: i64,
    pub computed_at: i64,
}

impl TableRow for HistogramRow {
    const TIMESTAMPS: &'static [&'static str] = &["computed_at"];
    const DATES: &'static [&'static str] = &["logical_date"];
}

/// The rows of `histograms` for one run and model version.
pub fn histogram_rows(ctx: &DriftContext<'_>, histograms: &[Histogram]) -> Vec<HistogramRow> {
    let now = chrono::Utc::now().timestamp_micros();
    histograms
        .iter()
        .flat_map(|h| {
            h.bins.iter().enumerate().map(move |(i, b)| HistogramRow {
                run_id: ctx.run_id.into(),
                job_name: ctx.job_name.into(),
                logical_date: ctx.logical_date,
                model_name: ctx.model_name.into(),
                model_version: ctx.model_version,
                feature: h.feature.clone(),
                bin: i32::try_from(i).unwrap_or(i32::MAX),
                lower: b.lower,
                upper: b.upper,
                category: b.category.clone(),
                reference_count: i64::try_from(b.reference).unwrap_or(i64::MAX),
                current_count: i64::try_from(b.current).unwrap_or(i64::MAX),
                computed_at: now,
            })
        })
        .collect()
}

/// Append histogram rows in one commit.
pub async fn append_histograms(lake: &Lake, rows: &[HistogramRow]) -> Result<i64, LakeError> {
    let run_id = rows.first().map(|r| r.run_id.clone()).unwrap_or_default();
    append_run_rows(
        lake,
        HISTOGRAMS_TABLE,
        "lakescore drift histograms: reference and current counts per bin",
        &run_id,
        rows,
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRow {
    pub run_id: String,
    pub job_name: String,
    /// Days since 1970-01-01.
    pub logical_date: i32,
    pub model_name: String,
    pub model_version: i64,
    /// A model input, or `__prediction__` for the model output.
    pub feature: String,
    pub metric: MetricKind,
    pub value: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
    pub alert: bool,
    pub n_reference: i64,
    pub n_current: i64,
    pub computed_at: i64,
}

/// Identifies the run the metrics belong to.
pub struct DriftContext<'a> {
    pub run_id: &'a str,
    pub job_name: &'a str,
    pub logical_date: i32,
    pub model_name: &'a str,
    pub model_version: i64,
}

pub fn rows(ctx: &DriftContext<'_>, metrics: &[Metric]) -> Vec<DriftRow> {
    let now = chrono::Utc::now().timestamp_micros();
    metrics
        .iter()
        .map(|m| DriftRow {
            run_id: ctx.run_id.into(),
            job_name: ctx.job_name.into(),
            logical_date: ctx.logical_date,
            model_name: ctx.model_name.into(),
            model_version: ctx.model_version,
            feature: m.feature.clone(),
            metric: m.metric,
            value: m.value,
            p_value: m.p_value,
            threshold: m.threshold,
            alert: m.alert,
            n_reference: m.n_reference as i64,
            n_current: m.n_current as i64,
            computed_at: now,
        })
        .collect()
}

impl TableRow for DriftRow {
    const TIMESTAMPS: &'static [&'static str] = &["computed_at"];
    const DATES: &'static [&'static str] = &["logical_date"];
}

/// Append metric rows in one commit.
pub async fn append(lake: &Lake, rows: &[DriftRow]) -> Result<i64, LakeError> {
    let run_id = rows.first().map(|r| r.run_id.clone()).unwrap_or_default();
    append_run_rows(lake, DRIFT_TABLE, "lakescore drift metrics", &run_id, rows).await
}

/// Append one run's rows to a drift table (created partitioned by
/// `logical_date` when missing), in one commit naming the run.
async fn append_run_rows<T: TableRow>(
    lake: &Lake,
    table: &str,
    description: &str,
    run_id: &str,
    rows: &[T],
) -> Result<i64, LakeError> {
    let mut table = lake
        .ensure_table(
            table,
            &schema_of::<T>(),
            &["logical_date"],
            &[],
            description,
        )
        .await?;
    let meta = HashMap::from([
        ("lakescore.operation".to_string(), "drift".into()),
        ("lakescore.run_id".to_string(), run_id.into()),
    ]);
    table.append_rows(rows, meta, None).await
}

/// Every drift row.
pub async fn read(lake: &Lake) -> Result<Vec<DriftRow>, LakeError> {
    read_all(lake, DRIFT_TABLE).await
}

/// Every histogram row.
pub async fn read_histograms(lake: &Lake) -> Result<Vec<HistogramRow>, LakeError> {
    read_all(lake, HISTOGRAMS_TABLE).await
}

async fn read_all<T: serde::de::DeserializeOwned>(
    lake: &Lake,
    table: &str,
) -> Result<Vec<T>, LakeError> {
    match lake.open_table(table).await? {
        Some(t) => Ok(t.read_rows::<T>().await?.1),
        None => Ok(Vec::new()),
    }
}
