//! Snapshots of what the scheduler prints (the command-level outputs are
//! snapshotted through the real binary in `tests/it/outputs.rs`).

use chrono::{DateTime, Utc};
use lakescore_core::runs::RunStatus;
use lakescore_engine::scheduler::Event;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn scheduler_events() {
    let fire = t("2024-01-02T02:00:00Z");
    let events = [
        Event::Loaded {
            job: "churn_daily".into(),
            path: "jobs/demo.toml".into(),
            next_fire: Some(fire),
        },
        Event::Invalid {
            path: "jobs/bad.toml".into(),
            error: "invalid job spec".into(),
        },
        Event::Started {
            job: "churn_daily".into(),
            fire,
            date: "2024-01-02".parse().unwrap(),
            attempt: 1,
        },
        Event::Finished {
            job: "churn_daily".into(),
            fire,
            status: RunStatus::Succeeded,
            run_id: Some("r-1".into()),
            error: None,
        },
        Event::Finished {
            job: "churn_daily".into(),
            fire,
            status: RunStatus::Failed,
            run_id: None,
            error: Some("job churn_daily: Delta table t".into()),
        },
        Event::Skipped {
            job: "churn_daily".into(),
            fire,
            reason: "the job is suspended".into(),
        },
        Event::Unloaded {
            job: "churn_daily".into(),
        },
        Event::Stopping,
        Event::Stopped,
    ];
    let mut out = Vec::new();
    for e in &events {
        super::runs::event(&mut out, e, t("2024-01-02T02:00:05Z")).unwrap();
    }
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}
