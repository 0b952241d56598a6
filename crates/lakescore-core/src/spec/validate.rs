//! Stage two: turn a [`RawJobSpec`] into a typed [`Job`], reporting every problem.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::NaiveDate;
use toml::Spanned;

use super::raw::{RawDrift, RawJobSpec};
use super::{Diagnostic, line_col};
use crate::drift::{MetricKind, Thresholds};
use crate::schedule::Schedule;
use crate::uri::ModelRef;

/// Default rows per scoring batch.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;
/// Columns every prediction row carries; keys may not reuse these names.
pub const RESERVED_COLUMNS: [&str; 7] = [
    "prediction",
    "model_name",
    "model_version",
    "run_id",
    "job_name",
    "logical_date",
    "scored_at",
];

/// A validated job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub description: Option<String>,
    /// When the scheduler runs the job (parsed once, here).
    pub schedule: Option<Schedule>,
    pub timezone: chrono_tz::Tz,
    pub model: ModelRef,
    pub input: InputSpec,
    pub output_table: String,
    pub drift: Option<DriftConfig>,
    pub policy: SchedulePolicy,
}

impl Job {
    /// The job's next scheduled fire after `now`: none when it has no
    /// schedule or is suspended.
    pub fn next_fire(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let cron = self.schedule.as_ref().filter(|_| !self.policy.suspend)?;
        crate::schedule::next_fire(cron, self.timezone, now)
    }
}

/// How the scheduler treats a job (Kubernetes CronJob semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulePolicy {
    pub concurrency: Concurrency,
    pub catchup: Catchup,
    pub starting_deadline: Option<chrono::Duration>,
    pub suspend: bool,
    pub retries: u32,
}

impl Default for SchedulePolicy {
    fn default() -> Self {
        SchedulePolicy {
            concurrency: Concurrency::Forbid,
            catchup: Catchup::None,
            starting_deadline: None,
            suspend: false,
            retries: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Concurrency {
    Forbid,
    Allow,
    Replace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Catchup {
    None,
    Latest,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    Parquet,
    Delta,
}

/// How much of a Delta input a run scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    Full,
    Incremental,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub format: InputFormat,
    pub mode: InputMode,
    pub path: String,
    pub version: Option<i64>,
    /// Delta only: partition column -> value template (`{{ ds }}` allowed).
    pub partition_filter: BTreeMap<String, String>,
    pub keys: Vec<String>,
    pub batch_rows: usize,
    /// An input scored already (an inference log): drift only, per version.
    pub scored: Option<ScoredInput>,
}

/// Where an input that was scored already keeps each row's model version and
/// prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredInput {
    pub version_column: String,
    pub prediction_column: String,
}

impl InputSpec {
    /// The input path for a logical date (`{{ ds }}` substituted).
    pub fn path_for(&self, date: NaiveDate) -> String {
        render_ds(&self.path, date)
    }

    /// The partition filter for a logical date (`{{ ds }}` substituted).
    pub fn partition_filter_for(&self, date: NaiveDate) -> BTreeMap<String, String> {
        self.partition_filter
            .iter()
            .map(|(k, v)| (k.clone(), render_ds(v, date)))
            .collect()
    }
}

/// Replace `{{ ds }}` (any inner spacing) with the date as YYYY-MM-DD.
pub fn render_ds(template: &str, date: NaiveDate) -> String {
    let ds = date.format("%Y-%m-%d").to_string();
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        out.push_str(&rest[..start]);
        if inner == "ds" {
            out.push_str(&ds);
        } else {
            out.push_str(&rest[start..start + end + 2]);
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriftConfig {
    /// Metrics, bins and alert thresholds.
    pub thresholds: Thresholds,
    /// Input columns monitored besides the model's inputs and prediction.
    pub columns: Vec<String>,
    /// A reference to profile at each run instead of the version's stored profile.
    pub reference: Option<String>,
    /// A window of the job's own earlier output to compare with instead.
    pub reference_window: Option<(NaiveDate, NaiveDate)>,
}

struct Collector<'a> {
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Collector<'_> {
    /// A `[drift]` number, if given; out of `ok`'s range it is reported as
    /// "`name` must be `rule`".
    fn number(
        &mut self,
        value: &Option<Spanned<f64>>,
        name: &str,
        ok: impl Fn(f64) -> bool,
        rule: &str,
    ) -> Option<f64> {
        let v = value.as_ref()?;
        if !ok(*v.get_ref()) {
            self.error(
                v.span(),
                &format!("drift.{name}"),
                format!("{name} must be {rule}"),
            );
        }
        Some(*v.get_ref())
    }

    fn error(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.diagnostics.push(Diagnostic {
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        });
    }
}

pub(super) fn validate(raw: RawJobSpec, text: &str) -> Result<Job, Vec<Diagnostic>> {
    let mut c = Collector {
        text,
        diagnostics: Vec::new(),
    };

    let name = raw.name.get_ref().clone();
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
        c.error(
            raw.name.span(),
            "name",
            format!("job name {name:?} must be non-empty letters, digits, '_' or '-'"),
        );
    }

    let schedule = raw
        .schedule
        .as_ref()
        .and_then(|s| match Schedule::parse(s.get_ref()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                c.error(s.span(), "schedule", e);
                None
            }
        });

    let timezone = match &raw.timezone {
        None => chrono_tz::UTC,
        Some(tz) => tz.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            c.error(
                tz.span(),
                "timezone",
                format!("unknown time zone {:?} (expected an IANA name such as \"UTC\" or \"Europe/Paris\")", tz.get_ref()),
            );
            chrono_tz::UTC
        }),
    };

    let model = match raw.model.uri.get_ref().parse::<ModelRef>() {
        Ok(m) => Some(m),
        Err(e) => {
            c.error(raw.model.uri.span(), "model.uri", e);
            None
        }
    };

    let format = match raw.input.format.get_ref().as_str() {
        "parquet" => Some(InputFormat::Parquet),
        "delta" => Some(InputFormat::Delta),
        other => {
            c.error(
                raw.input.format.span(),
                "input.format",
                format!("unknown input format {other:?} (expected \"parquet\" or \"delta\")"),
            );
            None
        }
    };
    let mode = match raw
        .input
        .mode
        .as_ref()
        .map(|m| (m.get_ref().as_str(), m.span()))
    {
        None | Some(("full", _)) => InputMode::Full,
        Some(("incremental", span)) => {
            if format != Some(InputFormat::Delta) {
                c.error(
                    span.clone(),
                    "input.mode",
                    "mode = \"incremental\" needs format = \"delta\" (it follows the table's commits)",
                );
            }
            if let Some(v) = &raw.input.version {
                c.error(
                    v.span(),
                    "input.version",
                    "an incremental input reads up to the latest version; remove `version`",
                );
            }
            InputMode::Incremental
        }
        Some((other, span)) => {
            c.error(
                span,
                "input.mode",
                format!("unknown input mode {other:?} (expected \"full\" or \"incremental\")"),
            );
            InputMode::Full
        }
    };
    let path = raw.input.path.get_ref().clone();
    if path.trim().is_empty() {
        c.error(raw.input.path.span(), "input.path", "input path is empty");
    }
    if let Err(e) = check_template(&path) {
        c.error(raw.input.path.span(), "input.path", e);
    }
    if let Some(v) = &raw.input.version {
        if format == Some(InputFormat::Parquet) {
            c.error(
                v.span(),
                "input.version",
                "a version applies only to format = \"delta\"",
            );
        } else if *v.get_ref() < 0 {
            c.error(v.span(), "input.version", "a Delta version is 0 or more");
        }
    }
    let partition_filter = match &raw.input.partition_filter {
        None => BTreeMap::new(),
        Some(f) => {
            if format == Some(InputFormat::Parquet) {
                c.error(
                    f.span(),
                    "input.partition_filter",
                    "a partition filter applies only to format = \"delta\" (a Parquet glob selects files itself)",
                );
            }
            for (column, value) in f.get_ref() {
                if column.trim().is_empty() {
                    c.error(f.span(), "input.partition_filter", "a column name is empty");
                }
                if let Err(e) = check_template(value) {
                    c.error(f.span(), "input.partition_filter", e);
                }
            }
            f.get_ref().clone()
        }
    };
    let keys = raw
        .input
        .keys
        .as_ref()
        .map(|k| k.get_ref().clone())
        .unwrap_or_default();
    if let Some(spanned) = &raw.input.keys {
        check_keys(&mut c, spanned);
    }
    let batch_rows = match &raw.input.batch_rows {
        None => DEFAULT_BATCH_ROWS,
        Some(b) => {
            let v = *b.get_ref();
            if !(1..=10_000_000).contains(&v) {
                c.error(
                    b.span(),
                    "input.batch_rows",
                    format!("batch_rows {v} must be between 1 and 10000000"),
                );
            }
            v.clamp(1, 10_000_000) as usize
        }
    };

    let column = |c: &mut Collector<'_>, spanned: &Spanned<String>, key: &str| {
        let name = spanned.get_ref().trim().to_string();
        if name.is_empty() {
            c.error(spanned.span(), key, format!("{key} is empty"));
        }
        name
    };
    let scored = match (
        &raw.input.model_version_column,
        &raw.input.prediction_column,
    ) {
        (Some(v), p) => Some(ScoredInput {
            version_column: column(&mut c, v, "input.model_version_column"),
            prediction_column: p.as_ref().map_or_else(
                || "prediction".to_string(),
                |p| column(&mut c, p, "input.prediction_column"),
            ),
        }),
        (None, Some(p)) => {
            c.error(
                p.span(),
                "input.prediction_column",
                "prediction_column goes with model_version_column (an input scored already)",
            );
            None
        }
        (None, None) => None,
    };

    let output_table = match raw.output.as_ref().and_then(|o| o.table.as_ref()) {
        Some(t) if t.get_ref().trim().is_empty() => {
            c.error(t.span(), "output.table", "output table is empty");
            String::new()
        }
        Some(t) => t.get_ref().clone(),
        None => format!("predictions/{name}"),
    };

    let drift = raw.drift.as_ref().map(|d| validate_drift(&mut c, d));
    let policy = validate_policy(&mut c, &raw);

    if !c.diagnostics.is_empty() {
        c.diagnostics.sort_by_key(|d| (d.line, d.column));
        return Err(c.diagnostics);
    }
    Ok(Job {
        name,
        description: raw.description,
        schedule,
        timezone,
        model: model.expect("checked above"),
        input: InputSpec {
            format: format.expect("checked above"),
            mode,
            path,
            version: raw.input.version.map(Spanned::into_inner),
            partition_filter,
            keys,
            batch_rows,
            scored,
        },
        output_table,
        drift,
        policy,
    })
}

fn validate_policy(c: &mut Collector<'_>, raw: &RawJobSpec) -> SchedulePolicy {
    let mut policy = SchedulePolicy::default();
    if let Some(v) = &raw.concurrency {
        match v.get_ref().as_str() {
            "forbid" => policy.concurrency = Concurrency::Forbid,
            "allow" => policy.concurrency = Concurrency::Allow,
            "replace" => policy.concurrency = Concurrency::Replace,
            other => c.error(
                v.span(),
                "concurrency",
                format!(
                    "unknown concurrency {other:?} (expected \"forbid\", \"allow\" or \"replace\")"
                ),
            ),
        }
    }
    if let Some(v) = &raw.catchup {
        match v.get_ref().as_str() {
            "none" => policy.catchup = Catchup::None,
            "latest" => policy.catchup = Catchup::Latest,
            "all" => policy.catchup = Catchup::All,
            other => c.error(
                v.span(),
                "catchup",
                format!("unknown catchup {other:?} (expected \"none\", \"latest\" or \"all\")"),
            ),
        }
    }
    if let Some(v) = &raw.starting_deadline_seconds {
        if *v.get_ref() <= 0 {
            c.error(
                v.span(),
                "starting_deadline_seconds",
                "must be a positive number of seconds",
            );
        } else {
            policy.starting_deadline = Some(chrono::Duration::seconds(*v.get_ref()));
        }
    }
    if let Some(v) = &raw.retries {
        match u32::try_from(*v.get_ref()) {
            Ok(n) if n <= 10 => policy.retries = n,
            _ => c.error(v.span(), "retries", "retries must be from 0 to 10"),
        }
    }
    policy.suspend = raw.suspend.unwrap_or(false);
    if raw.schedule.is_none() {
        let set: Vec<(&str, Range<usize>)> = [
            ("concurrency", raw.concurrency.as_ref().map(Spanned::span)),
            ("catchup", raw.catchup.as_ref().map(Spanned::span)),
            (
                "starting_deadline_seconds",
                raw.starting_deadline_seconds.as_ref().map(Spanned::span),
            ),
        ]
        .into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
        for (key, span) in set {
            c.error(
                span,
                key,
                format!("{key} applies to scheduled jobs: add a `schedule`"),
            );
        }
    }
    policy
}

fn check_template(path: &str) -> Result<(), String> {
    let mut rest = path;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            return Err("unclosed \"{{\" in input path".into());
        };
        let inner = rest[start + 2..start + end].trim();
        if inner != "ds" {
            return Err(format!(
                "unknown template variable {{{{ {inner} }}}} (only {{{{ ds }}}} is defined)"
            ));
        }
        rest = &rest[start + end + 2..];
    }
    Ok(())
}

fn check_keys(c: &mut Collector<'_>, keys: &Spanned<Vec<String>>) {
    let mut seen = std::collections::HashSet::new();
    for key in keys.get_ref() {
        if key.is_empty() {
            c.error(keys.span(), "input.keys", "a key column name is empty");
        } else if RESERVED_COLUMNS.contains(&key.as_str()) {
            c.error(
                keys.span(),
                "input.keys",
                format!("key column {key:?} collides with the output column of the same name"),
            );
        } else if !seen.insert(key.as_str()) {
            c.error(
                keys.span(),
                "input.keys",
                format!("key column {key:?} is listed twice"),
            );
        }
    }
}

fn validate_drift(c: &mut Collector<'_>, d: &RawDrift) -> DriftConfig {
    let defaults = Thresholds::default();
    let metrics = match &d.metrics {
        None => defaults.metrics.clone(),
        Some(m) => {
            let mut kinds = Vec::new();
            for metric in m.get_ref() {
                match metric.parse::<MetricKind>() {
                    Ok(kind) => kinds.push(kind),
                    Err(e) => c.error(m.span(), "drift.metrics", e),
                }
            }
            kinds
        }
    };
    let positive = |x: f64| x.is_finite() && x > 0.0;
    // A p-value threshold of 0 never alerts (no p-value is below it).
    let p_threshold = |x: f64| (0.0..1.0).contains(&x);
    let half_open_unit = |x: f64| x > 0.0 && x <= 1.0;
    let psi_alert = c
        .number(&d.psi_alert, "psi_alert", positive, "a positive number")
        .unwrap_or(defaults.psi_alert);
    let ks_pvalue_alert = c
        .number(
            &d.ks_pvalue_alert,
            "ks_pvalue_alert",
            p_threshold,
            "in [0, 1) (0 never alerts)",
        )
        .unwrap_or(defaults.ks_pvalue_alert);
    let wasserstein_alert = c.number(
        &d.wasserstein_alert,
        "wasserstein_alert",
        positive,
        "a positive number",
    );
    let null_rate_alert = c
        .number(
            &d.null_rate_alert,
            "null_rate_alert",
            half_open_unit,
            "in (0, 1]",
        )
        .unwrap_or(defaults.null_rate_alert);
    let chi2_pvalue_alert = c
        .number(
            &d.chi2_pvalue_alert,
            "chi2_pvalue_alert",
            p_threshold,
            "in [0, 1) (0 never alerts)",
        )
        .unwrap_or(defaults.chi2_pvalue_alert);
    let js_alert = c
        .number(&d.js_alert, "js_alert", half_open_unit, "in (0, 1]")
        .unwrap_or(defaults.js_alert);
    let columns = d
        .columns
        .as_ref()
        .map(|c| c.get_ref().clone())
        .unwrap_or_default();
    let date = |c: &mut Collector<'_>, v: &Spanned<String>, key: &str| {
        NaiveDate::parse_from_str(v.get_ref(), "%Y-%m-%d")
            .map_err(|_| {
                c.error(
                    v.span(),
                    key,
                    format!("{:?} is not a date (YYYY-MM-DD)", v.get_ref()),
                );
            })
            .ok()
    };
    let reference_window = match &d.reference_window {
        None => None,
        Some(w) => {
            let from = date(c, &w.from, "drift.reference_window.from");
            let to = date(c, &w.to, "drift.reference_window.to");
            match (from, to) {
                (Some(f), Some(t)) if f > t => {
                    c.error(w.from.span(), "drift.reference_window", "from is after to");
                    None
                }
                (Some(f), Some(t)) => Some((f, t)),
                _ => None,
            }
        }
    };
    if let (Some(r), Some(_)) = (&d.reference, &d.reference_window) {
        c.error(
            r.span(),
            "drift.reference",
            "give reference or reference_window, not both",
        );
    }
    let psi_bins = match &d.psi_bins {
        None => defaults.psi_bins,
        Some(b) => {
            if !(2..=100).contains(b.get_ref()) {
                c.error(
                    b.span(),
                    "drift.psi_bins",
                    "psi_bins must be between 2 and 100",
                );
            }
            (*b.get_ref()).clamp(2, 100) as usize
        }
    };
    DriftConfig {
        thresholds: Thresholds {
            metrics,
            psi_bins,
            psi_alert,
            ks_pvalue_alert,
            wasserstein_alert,
            null_rate_alert,
            chi2_pvalue_alert,
            js_alert,
        },
        columns,
        reference: d.reference.as_ref().map(|r| r.get_ref().clone()),
        reference_window,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const GOOD: &str = r#"
name = "churn_daily"
schedule = "0 2 * * *"

[model]
uri = "models:/churn@champion"

[input]
format = "parquet"
path = "data/{{ ds }}/*.parquet"
keys = ["customer_id"]
"#;

    #[test]
    fn a_good_spec_validates_with_defaults() {
        let job = parse(GOOD).unwrap();
        assert_eq!(job.name, "churn_daily");
        assert_eq!(job.output_table, "predictions/churn_daily");
        assert_eq!(job.input.batch_rows, DEFAULT_BATCH_ROWS);
        assert_eq!(job.timezone, chrono_tz::UTC);
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        assert_eq!(job.input.path_for(date), "data/2024-01-02/*.parquet");
    }

    #[test]
    fn every_error_is_reported_with_its_position() {
        let text = r#"name = "bad name"
schedule = "0 2 * *"
timezone = "Mars/Olympus"

[model]
uri = "churn@champion"

[input]
format = "csv"
path = "x/{{ dt }}"
keys = ["prediction", "id", "id"]
batch_rows = 0
"#;
        let errs = parse(text).unwrap_err();
        let rendered: Vec<String> = errs
            .iter()
            .map(|d| format!("{}:{}: {d}", d.line, d.column))
            .collect();
        insta::assert_snapshot!(rendered.join("\n"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_position() {
        let text = GOOD.replace("[input]", "[input]\nformt = \"parquet\"");
        let errs = parse(&text).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].message.contains("unknown field `formt`"),
            "{}",
            errs[0].message
        );
        assert_eq!((errs[0].line, errs[0].column), (9, 1));
    }

    #[test]
    fn malformed_toml_is_located() {
        let errs = parse("name = \"x\"\n[model\nuri = 1\n").unwrap_err();
        assert_eq!(errs[0].line, 2);
    }

    #[test]
    fn drift_thresholds_are_range_checked() {
        let text = format!(
            "{GOOD}[drift]\npsi_alert = -1.0\nks_pvalue_alert = 1.5\nwasserstein_alert = 0.0\nnull_rate_alert = 2.0\nchi2_pvalue_alert = -0.1\njs_alert = 1.5\n"
        );
        let messages: Vec<String> = parse(&text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "drift.psi_alert: psi_alert must be a positive number",
                "drift.ks_pvalue_alert: ks_pvalue_alert must be in [0, 1) (0 never alerts)",
                "drift.wasserstein_alert: wasserstein_alert must be a positive number",
                "drift.null_rate_alert: null_rate_alert must be in (0, 1]",
                "drift.chi2_pvalue_alert: chi2_pvalue_alert must be in [0, 1) (0 never alerts)",
                "drift.js_alert: js_alert must be in (0, 1]",
            ]
        );
        let ok = parse(&format!("{GOOD}[drift]\nks_pvalue_alert = 0.05\n")).unwrap();
        let t = &ok.drift.unwrap().thresholds;
        assert_eq!(
            (t.ks_pvalue_alert, t.psi_alert, t.wasserstein_alert),
            (0.05, 0.2, None)
        );
        // 0 turns a p-value alert off.
        let off = parse(&format!("{GOOD}[drift]\nks_pvalue_alert = 0\n")).unwrap();
        assert_eq!(off.drift.unwrap().thresholds.ks_pvalue_alert, 0.0);
    }

    #[test]
    fn scheduling_keys_and_input_mode_are_checked() {
        let text = r#"
name = "j"
concurrency = "sometimes"
catchup = "everything"
starting_deadline_seconds = 0
retries = 11
[model]
uri = "models:/m/1"
[input]
format = "parquet"
mode = "incremental"
path = "x.parquet"
"#;
        let messages: Vec<String> = parse(text)
            .unwrap_err()
            .iter()
            .map(|d| format!("{}:{} {d}", d.line, d.column))
            .collect();
        assert_eq!(
            messages,
            [
                "3:15 concurrency: unknown concurrency \"sometimes\" (expected \"forbid\", \"allow\" or \"replace\")",
                "3:15 concurrency: concurrency applies to scheduled jobs: add a `schedule`",
                "4:11 catchup: unknown catchup \"everything\" (expected \"none\", \"latest\" or \"all\")",
                "4:11 catchup: catchup applies to scheduled jobs: add a `schedule`",
                "5:29 starting_deadline_seconds: must be a positive number of seconds",
                "5:29 starting_deadline_seconds: starting_deadline_seconds applies to scheduled jobs: add a `schedule`",
                "6:11 retries: retries must be from 0 to 10",
                "11:8 input.mode: mode = \"incremental\" needs format = \"delta\" (it follows the table's commits)",
            ]
        );
        let scheduled = GOOD.replace(
            "schedule = \"0 2 * * *\"",
            "schedule = \"0 2 * * *\"\nconcurrency = \"replace\"\ncatchup = \"all\"\n\
             starting_deadline_seconds = 600\nsuspend = true",
        );
        let ok = parse(&scheduled).unwrap();
        assert_eq!(ok.policy.concurrency, Concurrency::Replace);
        assert_eq!(ok.policy.catchup, Catchup::All);
        assert_eq!(
            ok.policy.starting_deadline,
            Some(chrono::Duration::seconds(600))
        );
        assert!(ok.policy.suspend);
        assert_eq!(ok.input.mode, InputMode::Full);
    }

    #[test]
    fn ds_template_renders_with_any_spacing() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        assert_eq!(
            render_ds("a/{{ds}}/{{  ds }}.parquet", d),
            "a/2024-03-09/2024-03-09.parquet"
        );
    }
}
