//! Stage one: the spec exactly as written, unknown keys rejected.
//!
//! Values that stage two checks keep their byte span (`toml::Spanned`) so that
//! every diagnostic can point at a line and column. These types are also the
//! source of the JSON Schema; doc comments become schema descriptions.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// A lakescore job: score one input per logical date with one model, into one Delta table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJobSpec {
    /// Job name: letters, digits, `_` and `-`. Recorded on every prediction and run.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Free text shown by `validate` and `runs`.
    #[serde(default)]
    pub description: Option<String>,
    /// When `schedule` runs the job: a 5-field Unix cron expression
    /// (`minute hour day-of-month month day-of-week`) or `@daily`, `@hourly`, ...
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub schedule: Option<Spanned<String>>,
    /// IANA time zone of the schedule (default `UTC`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timezone: Option<Spanned<String>>,
    /// When a fire time comes while the job is still running: `forbid` (skip the
    /// new run; the default), `allow` (run both), `replace` (stop the running one).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub concurrency: Option<Spanned<String>>,
    /// Fire times missed while the scheduler was down: `none` (skip them; the
    /// default), `latest` (run the most recent), `all` (run each, oldest first),
    /// within `starting_deadline_seconds`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub catchup: Option<Spanned<String>>,
    /// A run that cannot start within this many seconds of its fire time is
    /// skipped; also bounds how far back `catchup` looks (default: no deadline;
    /// catchup then looks back to the job's last scheduled run).
    #[serde(default)]
    #[schemars(with = "Option<i64>")]
    pub starting_deadline_seconds: Option<Spanned<i64>>,
    /// `true` stops the scheduler from starting new runs of this job.
    #[serde(default)]
    pub suspend: Option<bool>,
    /// Times the scheduler retries a run that failed on a transient (storage)
    /// error, with exponential backoff; bad input is never retried (default 2).
    #[serde(default)]
    #[schemars(with = "Option<i64>")]
    pub retries: Option<Spanned<i64>>,
    /// Which model scores the input.
    pub model: RawModel,
    /// What is scored.
    pub input: RawInput,
    /// Where predictions go (default table `predictions/<name>`).
    #[serde(default)]
    pub output: Option<RawOutput>,
    /// Drift checks run after scoring.
    #[serde(default)]
    pub drift: Option<RawDrift>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// MLflow-style model URI: `models:/NAME/VERSION`, `models:/NAME/STAGE`,
    /// `models:/NAME@ALIAS` or `models:/NAME/latest`. Resolved once, at run start.
    #[schemars(with = "String")]
    pub uri: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// `parquet` (files matched by a glob) or `delta` (a Delta table).
    #[schemars(with = "String")]
    pub format: Spanned<String>,
    /// Parquet: a path or glob, `{{ ds }}` replaced by the logical date
    /// (YYYY-MM-DD). Delta: the table's path or URI. Relative paths are taken
    /// from the current directory.
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    /// Delta only: `full` (score the whole table; the default) or
    /// `incremental` (score only rows appended since the job's last successful
    /// run; a rerun of a date scores the same rows again).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mode: Option<Spanned<String>>,
    /// Delta only: read this table version instead of the latest.
    #[serde(default)]
    #[schemars(with = "Option<i64>")]
    pub version: Option<Spanned<i64>>,
    /// Delta only: read only the files whose partition values are these
    /// (column = value as the Delta log writes it, `{{ ds }}` replaced by the
    /// logical date), e.g. `{ event_date = "{{ ds }}" }`: a table partitioned
    /// by day is read one day at a time, without opening other days' files.
    #[serde(default)]
    #[schemars(with = "Option<std::collections::BTreeMap<String, String>>")]
    pub partition_filter: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    /// Columns copied from the input to every prediction row (e.g. the entity id).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub keys: Option<Spanned<Vec<String>>>,
    /// Rows scored per batch; memory is bounded by this, not by the input size (default 65536).
    #[serde(default)]
    #[schemars(with = "Option<i64>")]
    pub batch_rows: Option<Spanned<i64>>,
    /// An input that was scored already, such as the inference log of
    /// `lakescore serve`: the column holding each row's model version. The run
    /// then scores nothing and writes no predictions: it computes drift per
    /// model version of the job's model, each version against its own
    /// reference profile, from the logged inputs and predictions.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub model_version_column: Option<Spanned<String>>,
    /// With `model_version_column`: the column holding each row's prediction
    /// (default `prediction`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub prediction_column: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Output Delta table, relative to the lake or a full URI.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub table: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDrift {
    /// Metrics to compute: any of `psi`, `ks`, `wasserstein`, `null_rate` (numeric
    /// inputs and the prediction), `chi2`, `js` (categorical inputs).
    /// Default: all of them.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub metrics: Option<Spanned<Vec<String>>>,
    /// PSI bins: quantiles of the reference (default 10, from 2 to 100).
    #[serde(default)]
    #[schemars(with = "Option<i64>")]
    pub psi_bins: Option<Spanned<i64>>,
    /// Alert when PSI exceeds this (default 0.2).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub psi_alert: Option<Spanned<f64>>,
    /// Alert when the KS p-value falls below this (default 0.01).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub ks_pvalue_alert: Option<Spanned<f64>>,
    /// Alert when Wasserstein-1 divided by the reference standard deviation exceeds this (default: no alert).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub wasserstein_alert: Option<Spanned<f64>>,
    /// Alert when the null rate moves by more than this, absolute (default 0.05).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub null_rate_alert: Option<Spanned<f64>>,
    /// Alert when a categorical column's chi-square p-value falls below this (default 0.01).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub chi2_pvalue_alert: Option<Spanned<f64>>,
    /// Alert when a categorical column's Jensen-Shannon distance (base 2) exceeds this (default 0.1).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub js_alert: Option<Spanned<f64>>,
    /// Compare with this data instead of the model version's registered reference
    /// profile: a Parquet file or glob, or a Delta table (profiled at each run).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub reference: Option<Spanned<String>>,
    /// Compare with a fixed window of this job's own earlier output instead
    /// (the prediction and the key columns; the output holds no model inputs).
    #[serde(default)]
    pub reference_window: Option<RawWindow>,
    /// Input columns to monitor besides the model's inputs and prediction
    /// (e.g. a segment such as `region`); they must be in the reference profile.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub columns: Option<Spanned<Vec<String>>>,
}

/// A window of logical dates, both ends included.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// First logical date (YYYY-MM-DD).
    #[schemars(with = "String")]
    pub from: Spanned<String>,
    /// Last logical date (YYYY-MM-DD).
    #[schemars(with = "String")]
    pub to: Spanned<String>,
}
