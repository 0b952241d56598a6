//! The scheduler against a real temporary lake and the demo model, with a
//! manual clock: time moves only when a test moves it.

use super::*;
use crate::registry::{RegisterRequest, Registry};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    lake: Lake,
    jobs: PathBuf,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::create(dir.path().join("lake").to_str().unwrap()).unwrap();
    let registry = Registry::new(lake.clone());
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    registry
        .register(&RegisterRequest {
            name: "churn".into(),
            flavor: lakescore_model::Flavor::Xgboost,
            artifact: repo.join("fixtures/demo/churn_model.json"),
            description: None,
            tags: Default::default(),
            actor: "t".into(),
            profile: None,
            metrics: Default::default(),
            params: Default::default(),
            signature: None,
            features: None,
        })
        .await
        .unwrap();
    registry
        .set_alias("churn", 1, "champion", None, "t")
        .await
        .unwrap();
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    Fixture {
        _dir: dir,
        lake,
        jobs,
    }
}

impl Fixture {
    fn spec(&self, file: &str, name: &str, extra: &str) {
        let input = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("fixtures/demo/data/{{ ds }}/*.parquet");
        std::fs::write(
            self.jobs.join(file),
            format!(
                "name = \"{name}\"\n{extra}\n[model]\nuri = \"models:/churn@champion\"\n\
                 [input]\nformat = \"parquet\"\npath = \"{}\"\nkeys = [\"customer_id\"]\n",
                input.display()
            ),
        )
        .unwrap();
    }

    fn start(
        &self,
        clock: Arc<ManualClock>,
    ) -> (
        Controls,
        mpsc::UnboundedReceiver<Event>,
        JoinHandle<Result<(), lakescore_lake::LakeError>>,
    ) {
        self.start_with(clock, None)
    }

    fn start_with(
        &self,
        clock: Arc<ManualClock>,
        maintain: Option<&str>,
    ) -> (
        Controls,
        mpsc::UnboundedReceiver<Event>,
        JoinHandle<Result<(), lakescore_lake::LakeError>>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let opts = SchedulerOptions {
            paths: vec![self.jobs.clone()],
            grace: Duration::from_secs(30),
            maintain: maintain.map(|cron| {
                (
                    Schedule::parse(cron).unwrap(),
                    lakescore_lake::MaintainOptions::default(),
                )
            }),
            ..SchedulerOptions::default()
        };
        let scheduler = Scheduler::new(self.lake.clone(), clock, opts, Some(tx));
        let controls = Controls::default();
        let handle = tokio::spawn(scheduler.run(controls.clone()));
        (controls, rx, handle)
    }
}

/// The next event matching `pred` (others are skipped). The timeout only
/// guards against a hang; no test depends on timing.
async fn expect(rx: &mut mpsc::UnboundedReceiver<Event>, pred: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        loop {
            let e = rx.recv().await.expect("scheduler alive");
            if pred(&e) {
                return e;
            }
        }
    };
    tokio::time::timeout(Duration::from_mins(2), wait)
        .await
        .expect("event within the guard timeout")
}

async fn stop(
    controls: Controls,
    mut rx: mpsc::UnboundedReceiver<Event>,
    handle: JoinHandle<Result<(), lakescore_lake::LakeError>>,
) {
    controls.shutdown.notify_one();
    expect(&mut rx, |e| *e == Event::Stopped).await;
    handle.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_due_every_minute_runs_at_its_fire_time_then_stops_cleanly() {
    let f = fixture().await;
    f.spec("churn.toml", "churn_minutely", "schedule = \"* * * * *\"");
    let clock = ManualClock::new(t("2024-01-01T23:59:30Z"));
    let (controls, mut rx, handle) = f.start(clock.clone());
    let loaded = expect(&mut rx, |e| matches!(e, Event::Loaded { .. })).await;
    assert_eq!(
        loaded,
        Event::Loaded {
            job: "churn_minutely".into(),
            path: f.jobs.join("churn.toml").display().to_string(),
            next_fire: Some(t("2024-01-02T00:00:00Z")),
        }
    );
    clock.set(t("2024-01-02T00:00:01Z"));
    let started = expect(&mut rx, |e| matches!(e, Event::Started { .. })).await;
    assert!(matches!(started, Event::Started { date, .. } if date.to_string() == "2024-01-02"));
    let finished = expect(&mut rx, |e| matches!(e, Event::Finished { .. })).await;
    let Event::Finished { status, fire, .. } = finished else {
        unreachable!()
    };
    assert_eq!(
        (status.as_str(), fire),
        ("succeeded", t("2024-01-02T00:00:00Z"))
    );
    stop(controls, rx, handle).await;

    let runs = crate::runner::read_runs(&f.lake).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, Trigger::Schedule);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(
        runs[0].scheduled_at,
        Some(t("2024-01-02T00:00:00Z").timestamp_micros())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_skips_a_fire_while_another_process_runs_the_job() {
    let f = fixture().await;
    f.spec("churn.toml", "churn_daily", "schedule = \"0 0 * * *\"");
    let Acquire::Acquired(_held) = f
        .lake
        .try_lease("job-churn_daily", Duration::from_mins(10), "other-host:1")
        .await
        .unwrap()
    else {
        panic!("lease free");
    };
    let clock = ManualClock::new(t("2024-01-01T23:00:00Z"));
    let (controls, mut rx, handle) = f.start(clock.clone());
    expect(&mut rx, |e| matches!(e, Event::Loaded { .. })).await;
    clock.set(t("2024-01-02T00:00:00Z"));
    let skipped = expect(&mut rx, |e| matches!(e, Event::Skipped { .. })).await;
    assert!(
        matches!(&skipped, Event::Skipped { reason, .. } if reason.contains("other-host:1")),
        "{skipped:?}"
    );
    stop(controls, rx, handle).await;
    assert!(crate::runner::read_runs(&f.lake).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_are_skipped_and_new_specs_load_on_reload() {
    let f = fixture().await;
    f.spec("a.toml", "job_a", "schedule = \"0 0 * * *\"");
    f.spec("bad.toml", "bad", "schedule = \"61 * * * *\"");
    let clock = ManualClock::new(t("2024-01-01T12:00:00Z"));
    let (controls, mut rx, handle) = f.start(clock.clone());
    // Specs load in file order: a.toml, then bad.toml.
    expect(
        &mut rx,
        |e| matches!(e, Event::Loaded { job, .. } if job == "job_a"),
    )
    .await;
    let invalid = expect(&mut rx, |e| matches!(e, Event::Invalid { .. })).await;
    assert!(
        matches!(&invalid, Event::Invalid { path, error } if path.ends_with("bad.toml") && error.contains("schedule")),
        "{invalid:?}"
    );

    f.spec(
        "b.toml",
        "job_b",
        "schedule = \"0 0 * * *\"\nsuspend = true",
    );
    controls.reload.notify_one();
    expect(
        &mut rx,
        |e| matches!(e, Event::Loaded { job, .. } if job == "job_b"),
    )
    .await;
    clock.set(t("2024-01-02T00:00:00Z"));
    // job_a runs; suspended job_b is skipped.
    let skipped = expect(&mut rx, |e| matches!(e, Event::Skipped { .. })).await;
    assert!(
        matches!(&skipped, Event::Skipped { job, reason, .. } if job == "job_b" && reason.contains("suspended"))
    );
    expect(&mut rx, |e| matches!(e, Event::Finished { job, status, .. } if job == "job_a" && *status == RunStatus::Succeeded)).await;
    stop(controls, rx, handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catchup_runs_the_latest_missed_fire_at_start_up() {
    let f = fixture().await;
    f.spec(
        "churn.toml",
        "churn_daily",
        "schedule = \"0 0 * * *\"\ncatchup = \"latest\"\nstarting_deadline_seconds = 7200",
    );
    // 30 minutes after the midnight fire, with no scheduler running then.
    let clock = ManualClock::new(t("2024-01-02T00:30:00Z"));
    let (controls, mut rx, handle) = f.start(clock.clone());
    let finished = expect(&mut rx, |e| matches!(e, Event::Finished { .. })).await;
    assert!(
        matches!(&finished, Event::Finished { fire, status, .. }
        if *fire == t("2024-01-02T00:00:00Z") && *status == RunStatus::Succeeded),
        "{finished:?}"
    );
    stop(controls, rx, handle).await;

    // A restart does not run that fire again: the runs table knows it was scheduled.
    let (controls, mut rx, handle) = f.start(clock.clone());
    expect(&mut rx, |e| matches!(e, Event::Loaded { .. })).await;
    stop(controls, rx, handle).await;
    assert_eq!(crate::runner::read_runs(&f.lake).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_runs_on_its_own_schedule_between_runs() {
    let f = fixture().await;
    f.spec("churn.toml", "churn_daily", "schedule = \"0 0 * * *\"");
    let clock = ManualClock::new(t("2024-01-01T23:00:00Z"));
    let (controls, mut rx, handle) = f.start_with(clock.clone(), Some("30 0 * * *"));
    expect(&mut rx, |e| matches!(e, Event::Loaded { .. })).await;
    clock.set(t("2024-01-02T00:00:00Z"));
    let is_run_end = |e: &Event| matches!(e, Event::Finished { job, .. } if job == "churn_daily");
    expect(&mut rx, is_run_end).await;
    clock.set(t("2024-01-02T00:40:00Z"));
    let maintained = expect(&mut rx, |e| {
        matches!(e, Event::Maintained { .. })
            || matches!(e, Event::Finished { job, .. } if job == MAINTAIN_JOB)
    })
    .await;
    let Event::Maintained {
        fire,
        tables,
        files_compacted,
        ..
    } = maintained
    else {
        panic!("maintenance failed: {maintained:?}");
    };
    assert_eq!(fire, t("2024-01-02T00:30:00Z"));
    assert_eq!(tables, 4, "the registry's two tables, runs and predictions");
    assert_eq!(
        files_compacted, 2,
        "the registration's and the alias's event files"
    );
    let is_maintain_end =
        |e: &Event| matches!(e, Event::Finished { job, .. } if job == MAINTAIN_JOB);
    let finished = expect(&mut rx, is_maintain_end).await;
    assert!(
        matches!(
            finished,
            Event::Finished {
                status: RunStatus::Succeeded,
                ..
            }
        ),
        "{finished:?}"
    );
    stop(controls, rx, handle).await;
    let runs = crate::runner::read_runs(&f.lake).await.unwrap();
    assert_eq!(runs.len(), 1, "maintenance is not a run; the run is kept");
}
