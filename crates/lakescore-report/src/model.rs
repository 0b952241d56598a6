//! What a report shows: plain data, gathered from the lake by the engine
//! (`lakescore_engine::report`) and rendered here without IO, so the page can
//! be tested (and measured) from data made in a test.

use chrono::{DateTime, NaiveDate, Utc};
use lakescore_core::drift::MetricKind;
use lakescore_core::registry::EventKind;
use lakescore_core::runs::{RunStatus, Trigger};
use serde::Serialize;

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The lake's location, as the user named it.
    pub lake: String,
    pub generated_at: DateTime<Utc>,
    /// The logical dates shown (inclusive); `None` when the lake has no runs.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub jobs: Vec<JobReport>,
    /// Registry events of the models the jobs use (every model when no job
    /// ran yet), oldest first.
    pub events: Vec<Event>,
    /// Every attempt of the jobs shown, in the date range, newest first.
    pub runs: Vec<Run>,
}

/// One job's section.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub name: String,
    /// The model reference of the job's latest run (`models:/churn@champion`).
    pub model_uri: String,
    /// The job's schedule (5-field cron) and time zone, from its latest run's spec.
    pub schedule: Option<String>,
    pub next_fire: Option<DateTime<Utc>>,
    pub last_run: Option<Run>,
    /// The alerts of the job's latest drift check: open until a later run of
    /// the job raises none.
    pub open_alerts: Vec<DriftPoint>,
    /// Rows scored and their mean prediction per logical date and model
    /// version, from the job's predictions table.
    pub daily: Vec<DailyScores>,
    /// Promotions, alias moves and rollbacks of the job's models: marked on
    /// the time axes.
    pub markers: Vec<Event>,
    /// Every drift metric of the job's runs in the range (the latest run of
    /// each date).
    pub drift: Vec<DriftPoint>,
    /// The date whose distributions are drawn (`--date`, else the latest
    /// date with histograms).
    pub histogram_date: Option<NaiveDate>,
    pub histograms: Vec<HistogramBin>,
}

/// One run attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub run_id: String,
    pub job_name: String,
    pub logical_date: NaiveDate,
    pub status: RunStatus,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub rows: i64,
    pub model_version: Option<i64>,
    pub drift_alerts: i64,
    pub error: Option<String>,
}

/// Rows and mean prediction of one logical date and model version.
#[derive(Debug, Clone, Serialize)]
pub struct DailyScores {
    pub date: NaiveDate,
    pub model_version: i64,
    pub rows: i64,
    pub mean_prediction: Option<f64>,
}

/// One drift metric of one date, model version and feature.
#[derive(Debug, Clone, Serialize)]
pub struct DriftPoint {
    pub date: NaiveDate,
    pub model_version: i64,
    /// A model input, or `__prediction__`.
    pub feature: String,
    pub metric: MetricKind,
    pub value: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
    pub alert: bool,
}

/// One bin of a feature's reference and current distributions.
#[derive(Debug, Clone, Serialize)]
pub struct HistogramBin {
    pub model_version: i64,
    pub feature: String,
    pub bin: i32,
    /// A numeric bin holds (lower, upper]; `None` at an open end.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub category: Option<String>,
    pub reference: i64,
    pub current: i64,
}

/// One registry event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub model: String,
    pub version: Option<i64>,
    pub kind: EventKind,
    /// What changed, in words (`Staging -> Production`, `@champion`).
    pub detail: String,
    /// The stage or alias the event gives a version (`Production`,
    /// `@champion`), for the markers on a job's time axes.
    pub target: Option<String>,
    pub actor: String,
    pub comment: Option<String>,
}

impl Event {
    /// Whether the event changes which version a reference resolves to
    /// (drawn as a marker on a job's time axes).
    pub fn moves_a_reference(&self) -> bool {
        matches!(
            self.kind,
            EventKind::StageTransition
                | EventKind::AliasSet
                | EventKind::AliasRemoved
                | EventKind::Rollback
        )
    }
}
