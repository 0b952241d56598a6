//! Run records: one row of the `runs` table per attempt, with typed status and
//! trigger, and the pure decisions made from them (which killed attempts read
//! as interrupted, which Delta range an incremental run reads).

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::table::TableRow;

pub const RUNS_TABLE: &str = "runs";

/// How a run was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Manual,
    Schedule,
    Backfill,
    Rerun,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::Backfill => "backfill",
            Trigger::Rerun => "rerun",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished (or killed: see [`RunStatus::Interrupted`]).
    Running,
    Succeeded,
    Failed,
    /// Stopped cooperatively before its commit (scheduler shutdown or `replace`); nothing written.
    Aborted,
    /// As read back: a `running` row that a later attempt of the same job and date superseded.
    Interrupted,
    /// `run --dry-run`: nothing was written (never stored).
    DryRun,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Interrupted => "interrupted",
            RunStatus::DryRun => "dry_run",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A logical date as the command line takes it: exactly `YYYY-MM-DD`
/// (`2024-1-1`, `01-01-2024` and `2024/01/01` are refused, naming the format).
pub fn parse_logical_date(text: &str) -> Result<NaiveDate, String> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(format!(
            "{text:?} is not a date in the form YYYY-MM-DD (for example 2024-01-31)"
        ));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a calendar date (YYYY-MM-DD)"))
}

/// Days since 1970-01-01, as Delta stores a date.
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// The date `days` after 1970-01-01.
pub fn date_from_days(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(i64::from(days))
}

/// One run attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: String,
    pub job_name: String,
    pub trigger: Trigger,
    /// Days since 1970-01-01.
    pub logical_date: i32,
    pub status: RunStatus,
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
    /// The fire time a scheduled run was started for (microseconds, UTC).
    #[serde(default)]
    pub scheduled_at: Option<i64>,
    /// The run this one reproduces (`rerun`).
    #[serde(default)]
    pub rerun_of: Option<String>,
    /// Incremental Delta input: rows committed after this version (exclusive)
    /// up to `input_version` were scored.
    #[serde(default)]
    pub input_start_version: Option<i64>,
    /// Where the attempt ran (host name and process id).
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub pid: Option<i64>,
    /// Where the attempt's time went, in milliseconds (see [`PhaseTimings`]);
    /// null for attempts that did not get that far, or that lakescore
    /// versions before these columns recorded.
    #[serde(default)]
    pub resolve_ms: Option<i64>,
    #[serde(default)]
    pub read_ms: Option<i64>,
    #[serde(default)]
    pub score_ms: Option<i64>,
    #[serde(default)]
    pub drift_ms: Option<i64>,
    #[serde(default)]
    pub write_ms: Option<i64>,
    #[serde(default)]
    pub commit_ms: Option<i64>,
    /// Input rows per second of the whole attempt.
    #[serde(default)]
    pub rows_per_second: Option<f64>,
    /// A sharded run (`plan`, `run --shard`, `commit`): how many shards
    /// scored it; null for a run in one process.
    #[serde(default)]
    pub shards: Option<i64>,
}

/// Where a run's time went, phase by phase (milliseconds). Reading, scoring
/// and drift are counted on the run's own thread, where it waited for them;
/// writing happens on another thread while the next batch is scored, so
/// `write_ms` overlaps the others and the phases can add up to more than the
/// run's duration (by as much as the overlap saved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseTimings {
    /// Resolving the model version and the input, loading the model and its
    /// reference profile, opening the output table.
    pub resolve_ms: i64,
    /// Waiting for input batches (reading and decoding Parquet).
    pub read_ms: i64,
    /// Building feature matrices and evaluating the model.
    pub score_ms: i64,
    /// Counting drift on each batch and computing the metrics.
    pub drift_ms: i64,
    /// Encoding and writing prediction files (not yet visible), on the
    /// writer thread.
    pub write_ms: i64,
    /// The Delta commits: predictions, then drift metrics.
    pub commit_ms: i64,
}

impl PhaseTimings {
    /// Record these timings and the throughput on `row`.
    pub fn record(&self, row: &mut RunRow, rows_per_second: Option<f64>) {
        row.resolve_ms = Some(self.resolve_ms);
        row.read_ms = Some(self.read_ms);
        row.score_ms = Some(self.score_ms);
        row.drift_ms = Some(self.drift_ms);
        row.write_ms = Some(self.write_ms);
        row.commit_ms = Some(self.commit_ms);
        row.rows_per_second = rows_per_second;
    }
}

/// Milliseconds of a duration, as the runs table records them.
pub fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl TableRow for RunRow {
    const TIMESTAMPS: &'static [&'static str] = &["started_at", "finished_at", "scheduled_at"];
    const DATES: &'static [&'static str] = &["logical_date"];
}

/// Mark `running` rows that a later attempt of the same job and date
/// superseded as interrupted (`runs` sorted by start).
pub fn mark_interrupted(runs: &mut [RunRow]) {
    let mut latest: HashMap<(String, i32), i64> = HashMap::new();
    for r in runs.iter() {
        let e = latest
            .entry((r.job_name.clone(), r.logical_date))
            .or_insert(r.started_at);
        *e = (*e).max(r.started_at);
    }
    for r in runs.iter_mut() {
        if r.status == RunStatus::Running
            && latest[&(r.job_name.clone(), r.logical_date)] > r.started_at
        {
            r.status = RunStatus::Interrupted;
        }
    }
}

/// The Delta range `(after, version)` an incremental run of `day` reads: the
/// range of that date's last successful run (a rerun scores the same rows), else
/// everything after the job's last successfully read version, up to the latest
/// (`None`). Every appended row thus belongs to exactly one date.
pub fn incremental_range(runs: &[RunRow], job: &str, day: i32) -> (Option<i64>, Option<i64>) {
    let done = || {
        runs.iter().filter(move |r| {
            r.job_name == job && r.status == RunStatus::Succeeded && r.input_version.is_some()
        })
    };
    if let Some(same) = done()
        .filter(|r| r.logical_date == day)
        .max_by_key(|r| r.started_at)
    {
        return (same.input_start_version, same.input_version);
    }
    (done().filter_map(|r| r.input_version).max(), None)
}

/// Shortest run id prefix taken (as git takes abbreviated commit ids).
pub const MIN_RUN_ID_PREFIX: usize = 4;

/// Why no single run matches an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunLookup {
    /// No run; `hint` is a "did you mean" (or empty).
    None { hint: String },
    /// A prefix shared by several runs (up to five of them).
    Ambiguous(Vec<String>),
}

/// The index in `runs` of the run `id` names: its full id, or a unique prefix
/// of at least [`MIN_RUN_ID_PREFIX`] characters.
pub fn find_run(runs: &[RunRow], id: &str) -> Result<usize, RunLookup> {
    if let Some(i) = runs.iter().position(|r| r.run_id == id) {
        return Ok(i);
    }
    let mut ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let matching: Vec<&str> = if id.len() >= MIN_RUN_ID_PREFIX {
        ids.iter().copied().filter(|r| r.starts_with(id)).collect()
    } else {
        Vec::new()
    };
    match matching.as_slice() {
        [one] => Ok(runs
            .iter()
            .position(|r| r.run_id == *one)
            .expect("a listed id")),
        [] => Err(RunLookup::None {
            // Compare like with like: the typed text with ids cut to its length.
            hint: crate::suggest::hint(id, ids.iter().filter_map(|r| r.get(..id.len()))),
        }),
        many => Err(RunLookup::Ambiguous(
            many.iter().take(5).map(|s| (*s).to_string()).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        day: i32,
        status: RunStatus,
        started_at: i64,
        range: (Option<i64>, Option<i64>),
    ) -> RunRow {
        let mut r: RunRow = serde_json::from_value(serde_json::json!({
            "run_id": format!("r{started_at}"), "job_name": "j", "trigger": "schedule",
            "logical_date": day, "status": status.as_str(), "started_at": started_at,
            "finished_at": started_at, "duration_ms": 0, "rows_in": 0, "rows_out": 0,
            "model_uri": "models:/m/1", "model_name": null, "model_version": null, "input": "",
            "input_version": null, "output_table": "", "output_version": null, "spec_path": "",
            "spec_sha256": "", "spec_toml": "", "lakescore_version": "0", "error": null,
            "drift_alerts": 0
        }))
        .unwrap();
        (r.input_start_version, r.input_version) = range;
        r
    }

    #[test]
    fn runs_are_found_by_id_or_unique_prefix() {
        let mut runs = vec![
            run(1, RunStatus::Succeeded, 1, (None, None)),
            run(1, RunStatus::Succeeded, 2, (None, None)),
        ];
        runs[0].run_id = "9e885da5-98d9".into();
        runs[1].run_id = "9e8f1c00-0000".into();
        assert_eq!(find_run(&runs, "9e8f1c00-0000"), Ok(1));
        assert_eq!(find_run(&runs, "9e88"), Ok(0));
        assert_eq!(
            find_run(&runs, "9e8"),
            Err(RunLookup::None {
                hint: String::new()
            }),
            "shorter than the minimum prefix"
        );
        runs[1].run_id = "9e885daf-0000".into();
        assert_eq!(
            find_run(&runs, "9e885da"),
            Err(RunLookup::Ambiguous(vec![
                "9e885da5-98d9".into(),
                "9e885daf-0000".into()
            ]))
        );
        assert_eq!(
            find_run(&runs, "9e885d95"),
            Err(RunLookup::None {
                hint: " (did you mean \"9e885da5\"?)".into()
            })
        );
    }

    #[test]
    fn logical_dates_are_strictly_yyyy_mm_dd() {
        assert_eq!(
            parse_logical_date("2024-01-31").unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()
        );
        for bad in ["2024-1-1", "01-01-2024", "2024/01/01", "2024-01-01x", ""] {
            let e = parse_logical_date(bad).unwrap_err();
            assert!(e.contains("YYYY-MM-DD"), "{bad}: {e}");
        }
        assert!(
            parse_logical_date("2024-02-30")
                .unwrap_err()
                .contains("not a calendar date")
        );
    }

    #[test]
    fn incremental_ranges_give_each_version_to_one_date() {
        // Nothing succeeded yet: everything up to the latest.
        assert_eq!(incremental_range(&[], "j", 1), (None, None));
        let runs = vec![
            run(1, RunStatus::Succeeded, 1, (None, Some(3))),
            run(2, RunStatus::Failed, 2, (Some(3), Some(5))), // a failed attempt does not count
            run(2, RunStatus::Running, 3, (None, None)),      // nor a killed one
        ];
        assert_eq!(incremental_range(&runs, "j", 2), (Some(3), None));
        // A rerun of day 1 reads day 1's range again.
        assert_eq!(incremental_range(&runs, "j", 1), (None, Some(3)));
        assert_eq!(incremental_range(&runs, "other", 2), (None, None));
    }

    #[test]
    fn running_rows_superseded_by_a_later_attempt_read_as_interrupted() {
        let mut runs = vec![
            run(1, RunStatus::Running, 1, (None, None)),
            run(1, RunStatus::Succeeded, 2, (None, None)),
            run(2, RunStatus::Running, 3, (None, None)),
        ];
        mark_interrupted(&mut runs);
        let statuses: Vec<RunStatus> = runs.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                RunStatus::Interrupted,
                RunStatus::Succeeded,
                RunStatus::Running
            ]
        );
    }
}
