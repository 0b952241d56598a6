//! `lakescore schedule DIR`: the long-lived scheduler.
//!
//! It loads every spec in the folders it is given, computes each job's next
//! fire time ([`timing`]), and runs due jobs with logical date = the fire
//! time's date in the job's time zone, trigger `schedule`. Per job:
//! concurrency (`forbid` by default, backed by a lease in the lake so that a job
//! never overlaps itself across processes), catchup of fire times missed while
//! no scheduler ran, a starting deadline, `suspend`, and retries of transient
//! failures with backoff. A global limit bounds the runs at once.
//!
//! Specs are reloaded when they change (polled) or on request (SIGHUP); an
//! invalid spec is reported and skipped. On shutdown nothing new starts,
//! running jobs get a grace period, then are stopped before their commit.
//!
//! Time comes from a [`Clock`]: the system clock in production, a
//! [`ManualClock`] in tests, which therefore never sleep.

pub mod timing;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::lake::Lake;
use crate::lake::lease::Acquire;
use crate::runner::{RunOptions, Trigger};
use crate::spec::{Concurrency, LoadedSpec};
use timing::Decision;

/// Where the scheduler gets the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Resolve once the clock reads `deadline` or later.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let wait = (deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock moved by hand (tests): sleepers wake when it passes their deadline.
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(ManualClock {
            now: watch::Sender::new(start),
        })
    }
    pub fn set(&self, t: DateTime<Utc>) {
        self.now.send_replace(t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            let _ = rx.wait_for(|t| *t >= deadline).await;
        })
    }
}

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
        status: String,
        run_id: Option<String>,
        error: Option<String>,
    },
    Skipped {
        job: String,
        fire: DateTime<Utc>,
        reason: String,
    },
    Stopping,
    Stopped,
}

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Spec files or folders of them.
    pub paths: Vec<PathBuf>,
    /// Runs at once, over all jobs.
    pub max_running: usize,
    /// How long running jobs may go on after a shutdown request.
    pub grace: Duration,
    /// How often specs are checked for changes.
    pub reload_every: Duration,
    /// Lease time to live; renewed at a third of it while a run goes on.
    pub lease_ttl: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            paths: vec![PathBuf::from("jobs")],
            max_running: 4,
            grace: Duration::from_secs(60),
            reload_every: Duration::from_secs(10),
            lease_ttl: Duration::from_secs(120),
        }
    }
}

/// Ways to poke a running scheduler.
#[derive(Clone, Default)]
pub struct Controls {
    /// Reload specs now (SIGHUP).
    pub reload: Arc<Notify>,
    /// Stop: start nothing new, let running jobs finish within the grace period.
    pub shutdown: Arc<Notify>,
}

struct Running {
    cancel: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

struct JobSlot {
    spec: LoadedSpec,
    cron: croner::Cron,
    next: Option<DateTime<Utc>>,
    pending: VecDeque<DateTime<Utc>>,
    running: Vec<Running>,
}

pub struct Scheduler {
    lake: Lake,
    clock: Arc<dyn Clock>,
    opts: SchedulerOptions,
    events: Option<mpsc::UnboundedSender<Event>>,
    owner: String,
}

impl Scheduler {
    pub fn new(
        lake: Lake,
        clock: Arc<dyn Clock>,
        opts: SchedulerOptions,
        events: Option<mpsc::UnboundedSender<Event>>,
    ) -> Self {
        let owner = format!(
            "{}:{}:{}",
            crate::runner::runs::host_name(),
            std::process::id(),
            &uuid::Uuid::new_v4().to_string()[..8]
        );
        Scheduler {
            lake,
            clock,
            opts,
            events,
            owner,
        }
    }

    fn emit(&self, e: Event) {
        match &e {
            Event::Invalid { path, error } => {
                tracing::error!(%path, %error, "invalid spec skipped")
            }
            Event::Skipped { job, fire, reason } => {
                tracing::warn!(%job, %fire, %reason, "run skipped")
            }
            Event::Finished {
                job, status, error, ..
            } => {
                tracing::info!(%job, %status, error = error.as_deref().unwrap_or(""), "run finished")
            }
            other => tracing::info!(event = ?other, "scheduler"),
        }
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// Run until `controls.shutdown` is notified.
    pub async fn run(self, controls: Controls) -> Result<(), crate::lake::LakeError> {
        let this = Arc::new(self);
        let done = Arc::new(Notify::new());
        let mut jobs: BTreeMap<PathBuf, JobSlot> = BTreeMap::new();
        let mut invalid: BTreeMap<PathBuf, String> = BTreeMap::new();
        let mut detached: Vec<Running> = Vec::new();
        this.load(&mut jobs, &mut invalid, &mut detached).await?;
        let mut next_reload = this.clock.now()
            + chrono::Duration::from_std(this.opts.reload_every).unwrap_or_default();
        loop {
            let now = this.clock.now();
            for slot in jobs.values_mut() {
                slot.running.retain(|r| !r.handle.is_finished());
                let tz = slot.spec.job.timezone;
                while let Some(fire) = slot.next.filter(|f| *f <= now) {
                    slot.pending.push_back(fire);
                    slot.next = timing::next_fire(&slot.cron, tz, fire);
                }
            }
            detached.retain(|r| !r.handle.is_finished());
            this.start_due(&mut jobs, &detached, now, &done);

            let wake = jobs
                .values()
                .filter_map(|s| s.next)
                .chain(std::iter::once(next_reload))
                .min()
                .unwrap_or(next_reload);
            tokio::select! {
                _ = this.clock.sleep_until(wake) => {}
                _ = done.notified() => {}
                _ = controls.reload.notified() => next_reload = this.clock.now(),
                _ = controls.shutdown.notified() => break,
            }
            if this.clock.now() >= next_reload {
                this.load(&mut jobs, &mut invalid, &mut detached).await?;
                next_reload = this.clock.now()
                    + chrono::Duration::from_std(this.opts.reload_every).unwrap_or_default();
            }
        }

        this.emit(Event::Stopping);
        let mut all: Vec<Running> = jobs.into_values().flat_map(|s| s.running).collect();
        all.append(&mut detached);
        let grace = tokio::time::sleep(this.opts.grace);
        tokio::pin!(grace);
        let mut left = Vec::new();
        let mut expired = false;
        for mut r in all {
            if !expired {
                tokio::select! {
                    _ = &mut r.handle => continue,
                    _ = &mut grace => expired = true,
                }
            }
            left.push(r);
        }
        // Past the grace period: stop what is left before its commit.
        for r in &left {
            r.cancel.store(true, Ordering::SeqCst);
        }
        for r in left {
            let _ = r.handle.await;
        }
        this.emit(Event::Stopped);
        Ok(())
    }

    /// Decide and start the pending fires of every job.
    fn start_due(
        self: &Arc<Self>,
        jobs: &mut BTreeMap<PathBuf, JobSlot>,
        detached: &[Running],
        now: DateTime<Utc>,
        done: &Arc<Notify>,
    ) {
        let mut total: usize =
            jobs.values().map(|s| s.running.len()).sum::<usize>() + detached.len();
        for slot in jobs.values_mut() {
            while let Some(&fire) = slot.pending.front() {
                let slots = self.opts.max_running.saturating_sub(total);
                let decision = timing::decide(
                    &slot.spec.job.policy,
                    fire,
                    now,
                    slot.running.len(),
                    false,
                    slots,
                );
                match decision {
                    Decision::Wait => break,
                    Decision::Skip(reason) => {
                        slot.pending.pop_front();
                        self.emit(Event::Skipped {
                            job: slot.spec.job.name.clone(),
                            fire,
                            reason,
                        });
                    }
                    Decision::Start | Decision::Replace => {
                        slot.pending.pop_front();
                        let mut before = Vec::new();
                        if decision == Decision::Replace {
                            for r in slot.running.drain(..) {
                                r.cancel.store(true, Ordering::SeqCst);
                                before.push(r.handle);
                            }
                        }
                        let cancel = Arc::new(AtomicBool::new(false));
                        let handle = tokio::spawn(self.clone().run_one(
                            slot.spec.clone(),
                            fire,
                            cancel.clone(),
                            before,
                            done.clone(),
                        ));
                        slot.running.push(Running { cancel, handle });
                        total += 1;
                    }
                }
            }
        }
    }

    /// One scheduled run: lease, attempts with backoff, release.
    async fn run_one(
        self: Arc<Self>,
        spec: LoadedSpec,
        fire: DateTime<Utc>,
        cancel: Arc<AtomicBool>,
        before: Vec<JoinHandle<()>>,
        done: Arc<Notify>,
    ) {
        for h in before {
            let _ = h.await;
        }
        let job = spec.job.name.clone();
        let date = timing::logical_date(fire, spec.job.timezone);
        let exclusive = spec.job.policy.concurrency != Concurrency::Allow;
        let lease = if exclusive {
            match self
                .lake
                .try_lease(&format!("job-{job}"), self.opts.lease_ttl, &self.owner)
                .await
            {
                Ok(Acquire::Acquired(l)) => Some(l),
                Ok(Acquire::HeldBy(h)) => {
                    self.emit(Event::Skipped {
                        job,
                        fire,
                        reason: format!(
                            "another process ({}) is running the job (concurrency = forbid)",
                            h.owner
                        ),
                    });
                    done.notify_one();
                    return;
                }
                Err(e) => {
                    self.emit(Event::Finished {
                        job,
                        fire,
                        status: crate::runner::runs::FAILED.into(),
                        run_id: None,
                        error: Some(format!("cannot take the job's lease: {e}")),
                    });
                    done.notify_one();
                    return;
                }
            }
        } else {
            None
        };
        let lease = Arc::new(tokio::sync::Mutex::new(lease));
        let renewer = {
            let lease = lease.clone();
            let ttl = self.opts.lease_ttl;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    if let Some(l) = lease.lock().await.as_mut()
                        && let Err(e) = l.renew(ttl).await
                    {
                        tracing::warn!(error = %e, "could not renew a job lease");
                    }
                }
            })
        };

        let retries = spec.job.policy.retries;
        let mut attempt = 0;
        loop {
            self.emit(Event::Started {
                job: job.clone(),
                fire,
                date,
                attempt,
            });
            let opts = RunOptions {
                scheduled_at: Some(fire),
                cancel: Some(cancel.clone()),
                ..RunOptions::new(date, Trigger::Schedule)
            };
            // A panic in a run is that run's failure, not the scheduler's.
            let result = match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                crate::runner::run(&self.lake, &spec, &opts),
            ))
            .await
            {
                Ok(r) => r,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    self.emit(Event::Finished {
                        job: job.clone(),
                        fire,
                        status: crate::runner::runs::FAILED.into(),
                        run_id: None,
                        error: Some(format!("the run panicked: {what}")),
                    });
                    break;
                }
            };
            match result {
                Ok(report) => {
                    self.emit(Event::Finished {
                        job: job.clone(),
                        fire,
                        status: report.status.clone(),
                        run_id: Some(report.run_id.clone()),
                        error: None,
                    });
                    break;
                }
                Err(e)
                    if e.is_transient() && attempt < retries && !cancel.load(Ordering::SeqCst) =>
                {
                    let wait = chrono::Duration::seconds(10 << attempt.min(6));
                    tracing::warn!(%job, %fire, attempt, error = %e, "transient failure; retrying in {}s", wait.num_seconds());
                    attempt += 1;
                    self.clock.sleep_until(self.clock.now() + wait).await;
                }
                Err(e) => {
                    let status = match e {
                        crate::runner::RunError::Aborted { .. } => crate::runner::runs::ABORTED,
                        _ => crate::runner::runs::FAILED,
                    };
                    self.emit(Event::Finished {
                        job: job.clone(),
                        fire,
                        status: status.into(),
                        run_id: None,
                        error: Some(e.to_string()),
                    });
                    break;
                }
            }
        }
        renewer.abort();
        if let Some(l) = lease.lock().await.take()
            && let Err(e) = l.release().await
        {
            tracing::warn!(error = %e, "could not release a job lease");
        }
        done.notify_one();
    }

    /// (Re)load the specs: new and changed jobs get their next fire time (new
    /// ones also their catchup fires); removed or invalid ones stop firing.
    async fn load(
        &self,
        jobs: &mut BTreeMap<PathBuf, JobSlot>,
        invalid: &mut BTreeMap<PathBuf, String>,
        detached: &mut Vec<Running>,
    ) -> Result<(), crate::lake::LakeError> {
        let now = self.clock.now();
        let files = match crate::spec::spec_files(&self.opts.paths) {
            Ok(f) => f,
            Err(e) => {
                self.emit(Event::Invalid {
                    path: self
                        .opts
                        .paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    error: e.to_string(),
                });
                return Ok(());
            }
        };
        let mut seen: BTreeMap<PathBuf, ()> = BTreeMap::new();
        let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut runs: Option<Vec<crate::runner::runs::RunRow>> = None;
        for path in files {
            seen.insert(path.clone(), ());
            let loaded = crate::spec::load(&path);
            let spec = match loaded {
                Ok(spec) => spec,
                Err(e) => {
                    let text = e.to_string();
                    if invalid.get(&path) != Some(&text) {
                        self.emit(Event::Invalid {
                            path: path.display().to_string(),
                            error: text.clone(),
                        });
                        invalid.insert(path.clone(), text);
                    }
                    if let Some(old) = jobs.remove(&path) {
                        self.emit(Event::Unloaded {
                            job: old.spec.job.name,
                        });
                        detached.extend(old.running);
                    }
                    continue;
                }
            };
            invalid.remove(&path);
            if let Some(other) = names.insert(spec.job.name.clone(), path.clone()) {
                let error = format!(
                    "job name {:?} is also used by {}; job names must be unique",
                    spec.job.name,
                    other.display()
                );
                self.emit(Event::Invalid {
                    path: path.display().to_string(),
                    error,
                });
                continue;
            }
            let Some(schedule) = spec.job.schedule.clone() else {
                continue; // not a scheduled job
            };
            if jobs
                .get(&path)
                .is_some_and(|s| s.spec.sha256 == spec.sha256)
            {
                continue;
            }
            let cron = match crate::spec::parse_cron(&schedule) {
                Ok(c) => c,
                Err(error) => {
                    self.emit(Event::Invalid {
                        path: path.display().to_string(),
                        error,
                    });
                    continue;
                }
            };
            let tz = spec.job.timezone;
            let mut slot = JobSlot {
                next: timing::next_fire(&cron, tz, now),
                cron,
                pending: VecDeque::new(),
                running: Vec::new(),
                spec,
            };
            if let Some(old) = jobs.remove(&path) {
                slot.running = old.running; // a changed spec keeps its runs going
            } else {
                if runs.is_none() {
                    runs = Some(crate::runner::read_runs(&self.lake).await?);
                }
                let last = runs
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .filter(|r| r.job_name == slot.spec.job.name)
                    .filter_map(|r| r.scheduled_at)
                    .max()
                    .and_then(DateTime::from_timestamp_micros);
                slot.pending.extend(timing::catchup_fires(
                    &slot.cron,
                    tz,
                    &slot.spec.job.policy,
                    last,
                    now,
                ));
            }
            self.emit(Event::Loaded {
                job: slot.spec.job.name.clone(),
                path: path.display().to_string(),
                next_fire: slot.next,
            });
            jobs.insert(path, slot);
        }
        let gone: Vec<PathBuf> = jobs
            .keys()
            .filter(|p| !seen.contains_key(*p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(old) = jobs.remove(&path) {
                self.emit(Event::Unloaded {
                    job: old.spec.job.name,
                });
                detached.extend(old.running);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
        let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
        let registry = Registry::new(lake.clone());
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        registry
            .register(&RegisterRequest {
                name: "churn".into(),
                flavor: crate::model::Flavor::Xgboost,
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
            let input = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
            JoinHandle<Result<(), crate::lake::LakeError>>,
        ) {
            let (tx, rx) = mpsc::unbounded_channel();
            let opts = SchedulerOptions {
                paths: vec![self.jobs.clone()],
                grace: Duration::from_secs(30),
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
    async fn expect(
        rx: &mut mpsc::UnboundedReceiver<Event>,
        pred: impl Fn(&Event) -> bool,
    ) -> Event {
        let wait = async {
            loop {
                let e = rx.recv().await.expect("scheduler alive");
                if pred(&e) {
                    return e;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(120), wait)
            .await
            .expect("event within the guard timeout")
    }

    async fn stop(
        controls: Controls,
        mut rx: mpsc::UnboundedReceiver<Event>,
        handle: JoinHandle<Result<(), crate::lake::LakeError>>,
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
        assert_eq!(runs[0].trigger, "schedule");
        assert_eq!(runs[0].status, "succeeded");
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
            .try_lease("job-churn_daily", Duration::from_secs(600), "other-host:1")
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
        expect(&mut rx, |e| matches!(e, Event::Finished { job, status, .. } if job == "job_a" && status == "succeeded")).await;
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
            if *fire == t("2024-01-02T00:00:00Z") && status == "succeeded"),
            "{finished:?}"
        );
        stop(controls, rx, handle).await;

        // A restart does not run that fire again: the runs table knows it was scheduled.
        let (controls, mut rx, handle) = f.start(clock.clone());
        expect(&mut rx, |e| matches!(e, Event::Loaded { .. })).await;
        stop(controls, rx, handle).await;
        assert_eq!(crate::runner::read_runs(&f.lake).await.unwrap().len(), 1);
    }
}
