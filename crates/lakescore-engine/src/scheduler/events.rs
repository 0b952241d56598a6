//! What the scheduler reports as it goes (logs, `schedule --json`, tests).

use chrono::{DateTime, Utc};
use lakescore_core::runs::RunStatus;
use serde::Serialize;

/// What the scheduler did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Loaded {
        job: String,
        path: String,
        next_fire: Option<DateTime<Utc>>,
    },
    Invalid {
        path: String,
        error: String,
    },
    Unloaded {
        job: String,
    },
    Started {
        job: String,
        fire: DateTime<Utc>,
        date: chrono::NaiveDate,
        attempt: u32,
    },
    Finished {
        job: String,
        fire: DateTime<Utc>,
        status: RunStatus,
        run_id: Option<String>,
        error: Option<String>,
    },
    Skipped {
        job: String,
        fire: DateTime<Utc>,
        reason: String,
    },
    /// Scheduled maintenance ended (see `lakescore maintain`).
    Maintained {
        fire: DateTime<Utc>,
        tables: usize,
        files_compacted: usize,
        files_vacuumed: usize,
    },
    Stopping,
    Stopped,
}
