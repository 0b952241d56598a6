//! Backfills, the pure part: which dates of a range run, and when a date ends.
//!
//! Which dates run follows Airflow's reprocessing modes: `none` runs only
//! dates never attempted, `failed` also dates whose latest attempt did not
//! succeed, `all` every date. With `--model-as-of-date`, each date resolves the
//! model as the registry stood at [`end_of_date`] in the job's time zone.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::ErrorClass;
use crate::runs::{RunRow, RunStatus, days_since_epoch};

/// Which already attempted dates a backfill runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Rerun {
    /// Only dates never attempted.
    None,
    /// Also dates whose latest attempt did not succeed.
    Failed,
    /// Every date.
    All,
}

impl Rerun {
    /// The name the command line takes (`--rerun failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rerun::None => "none",
            Rerun::Failed => "failed",
            Rerun::All => "all",
        }
    }
}

/// What a backfill does, or did, with one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillAction {
    /// Planned: the date runs.
    Run,
    /// Planned: the date is skipped (already attempted, by the `rerun` mode).
    Skip,
    /// Ran and succeeded.
    Succeeded,
    /// Ran and failed (the date's `error` says why).
    Failed,
    /// A dry run found the date would fail (its input or model; `error` says why).
    WouldFail,
    /// With `--model-as-of-date`: no version of the model resolved at the end
    /// of that date (not registered yet, or no version in the stage or alias);
    /// the date is left as it was, and `error` says why.
    NoModel,
}

impl BackfillAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BackfillAction::Run => "run",
            BackfillAction::Skip => "skip",
            BackfillAction::Succeeded => "succeeded",
            BackfillAction::Failed => "failed",
            BackfillAction::WouldFail => "would fail",
            BackfillAction::NoModel => "no model",
        }
    }

    /// Whether this date failed, or would fail in a dry run.
    pub fn is_failure(self) -> bool {
        matches!(self, BackfillAction::Failed | BackfillAction::WouldFail)
    }
}

/// One date of a backfill and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct DateOutcome {
    pub date: NaiveDate,
    pub action: BackfillAction,
    /// Status of the latest earlier attempt of that date, if any.
    pub previous: Option<RunStatus>,
    pub model_version: Option<i64>,
    /// The date's run: this backfill's, or for a skipped date the latest
    /// earlier attempt (whose rows and alerts are then shown).
    pub run_id: Option<String>,
    pub rows: Option<usize>,
    pub drift_alerts: usize,
    pub error: Option<String>,
    /// How this date's run failed, if it did (its exit code on its own).
    #[serde(skip)]
    pub failure: Option<ErrorClass>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackfillReport {
    pub job_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rerun: Rerun,
    pub dry_run: bool,
    pub model_as_of_date: bool,
    pub dates: Vec<DateOutcome>,
}

/// What to do with each date (pure): `runs` are the job's recorded attempts.
pub fn plan(
    job_name: &str,
    from: NaiveDate,
    to: NaiveDate,
    runs: &[RunRow],
    rerun: Rerun,
) -> Vec<DateOutcome> {
    let mut out = Vec::new();
    let mut date = from;
    while date <= to {
        let day = days_since_epoch(date);
        let latest = runs
            .iter()
            .filter(|r| r.job_name == job_name && r.logical_date == day)
            .max_by_key(|r| r.started_at);
        let previous = latest.map(|r| r.status);
        let run = match (rerun, previous) {
            (_, None) | (Rerun::All, _) => true,
            (Rerun::Failed, Some(status)) => status != RunStatus::Succeeded,
            (Rerun::None, Some(_)) => false,
        };
        // A skipped date shows what its latest attempt did.
        let kept = latest.filter(|_| !run);
        out.push(DateOutcome {
            date,
            action: if run {
                BackfillAction::Run
            } else {
                BackfillAction::Skip
            },
            previous,
            model_version: kept.and_then(|r| r.model_version),
            run_id: kept.map(|r| r.run_id.clone()),
            rows: kept.map(|r| usize::try_from(r.rows_out).unwrap_or(0)),
            drift_alerts: kept.map_or(0, |r| usize::try_from(r.drift_alerts).unwrap_or(0)),
            error: None,
            failure: None,
        });
        date = date.succ_opt().expect("dates before year 262143");
    }
    out
}

/// The end of `date` in `tz`, as a UTC instant.
pub fn end_of_date(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    let next = date
        .succ_opt()
        .expect("valid date")
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    // The first instant of the next day, minus one microsecond (the earliest
    // mapping when a DST change makes midnight ambiguous or skipped).
    let start_next = tz
        .from_local_datetime(&next)
        .earliest()
        .unwrap_or_else(|| Utc.from_utc_datetime(&next).with_timezone(&tz));
    start_next.with_timezone(&Utc) - chrono::Duration::microseconds(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: NaiveDate, status: &str, started_at: i64) -> RunRow {
        let mut r: RunRow = serde_json::from_value(serde_json::json!({
            "run_id": "r", "job_name": "j", "trigger": "manual", "logical_date": 0,
            "status": status, "started_at": started_at, "finished_at": started_at,
            "duration_ms": 0, "rows_in": 0, "rows_out": 0, "model_uri": "models:/m/1",
            "model_name": null, "model_version": null, "input": "", "input_version": null,
            "output_table": "", "output_version": null, "spec_path": "", "spec_sha256": "",
            "spec_toml": "", "lakescore_version": "0", "error": null, "drift_alerts": 0
        }))
        .unwrap();
        r.logical_date = days_since_epoch(day);
        r
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn modes_follow_airflow_reprocessing() {
        let runs = vec![
            row(d("2024-01-01"), "succeeded", 1),
            row(d("2024-01-02"), "succeeded", 1),
            row(d("2024-01-02"), "failed", 2), // latest attempt failed
            row(d("2024-01-03"), "failed", 1),
            row(d("2024-01-03"), "succeeded", 2),
        ];
        let actions = |mode| {
            plan("j", d("2024-01-01"), d("2024-01-04"), &runs, mode)
                .iter()
                .map(|o| o.action.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(actions(Rerun::None), ["skip", "skip", "skip", "run"]);
        assert_eq!(actions(Rerun::Failed), ["skip", "run", "skip", "run"]);
        assert_eq!(actions(Rerun::All), ["run", "run", "run", "run"]);
        let other_job = plan("k", d("2024-01-01"), d("2024-01-01"), &runs, Rerun::None);
        assert_eq!(other_job[0].action, BackfillAction::Run);
        assert!(plan("j", d("2024-01-02"), d("2024-01-01"), &runs, Rerun::All).is_empty());
    }

    #[test]
    fn end_of_date_is_local_midnight_minus_a_microsecond() {
        let utc = end_of_date(chrono_tz::UTC, d("2024-03-03"));
        assert_eq!(utc.to_rfc3339(), "2024-03-03T23:59:59.999999+00:00");
        let ny = end_of_date(chrono_tz::America::New_York, d("2024-03-09"));
        // DST starts on 2024-03-10 at 02:00; midnight is still EST (UTC-5).
        assert_eq!(ny.to_rfc3339(), "2024-03-10T04:59:59.999999+00:00");
    }
}
