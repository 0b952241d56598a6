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

mod clock;
mod events;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lakescore_core::Classify;
use lakescore_core::runs::RunStatus;
use lakescore_core::schedule::{self as timing, Decision, Schedule};
use lakescore_core::spec::{Concurrency, LoadedSpec};
use lakescore_lake::Lake;
use lakescore_lake::lease::Acquire;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::runner::{RunError, RunOptions, Trigger};
pub use clock::{Clock, ManualClock, SystemClock};

/// The name scheduled maintenance goes by in the scheduler's events.
pub const MAINTAIN_JOB: &str = "(maintain)";
pub use events::Event;

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
    /// When to maintain the lake's tables (cron, UTC), and how; none by default.
    pub maintain: Option<(Schedule, lakescore_lake::MaintainOptions)>,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            paths: vec![PathBuf::from("jobs")],
            max_running: 4,
            grace: Duration::from_mins(1),
            reload_every: Duration::from_secs(10),
            lease_ttl: Duration::from_mins(2),
            maintain: None,
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
    cron: Schedule,
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
                tracing::error!(%path, %error, "invalid spec skipped");
            }
            Event::Skipped { job, fire, reason } => {
                tracing::warn!(%job, %fire, %reason, "run skipped");
            }
            Event::Finished {
                job, status, error, ..
            } => {
                tracing::info!(%job, %status, error = error.as_deref().unwrap_or(""), "run finished");
            }
            other => tracing::info!(event = ?other, "scheduler"),
        }
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// Run until `controls.shutdown` is notified.
    pub async fn run(self, controls: Controls) -> Result<(), lakescore_lake::LakeError> {
        let this = Arc::new(self);
        let done = Arc::new(Notify::new());
        let mut jobs: BTreeMap<PathBuf, JobSlot> = BTreeMap::new();
        let mut invalid: BTreeMap<PathBuf, String> = BTreeMap::new();
        let mut detached: Vec<Running> = Vec::new();
        this.load(&mut jobs, &mut invalid, &mut detached).await?;
        let mut next_reload = this.clock.now()
            + chrono::Duration::from_std(this.opts.reload_every).unwrap_or_default();
        let maintain_next = |after| {
            this.opts
                .maintain
                .as_ref()
                .and_then(|(cron, _)| timing::next_fire_utc(cron, after))
        };
        let mut next_maintain = maintain_next(this.clock.now());
        let mut maintaining: Option<JoinHandle<()>> = None;
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
            if let Some(fire) = next_maintain.filter(|f| *f <= now) {
                next_maintain = maintain_next(fire);
                if maintaining.as_ref().is_some_and(|h| !h.is_finished()) {
                    this.emit(Event::Skipped {
                        job: MAINTAIN_JOB.into(),
                        fire,
                        reason: "the previous maintenance is still running".into(),
                    });
                } else {
                    maintaining = Some(tokio::spawn(this.clone().maintain(fire, done.clone())));
                }
            }

            let wake = jobs
                .values()
                .filter_map(|s| s.next)
                .chain(next_maintain)
                .chain(std::iter::once(next_reload))
                .min()
                .unwrap_or(next_reload);
            tokio::select! {
                () = this.clock.sleep_until(wake) => {}
                () = done.notified() => {}
                () = controls.reload.notified() => next_reload = this.clock.now(),
                () = controls.shutdown.notified() => break,
            }
            if this.clock.now() >= next_reload {
                this.load(&mut jobs, &mut invalid, &mut detached).await?;
                next_reload = this.clock.now()
                    + chrono::Duration::from_std(this.opts.reload_every).unwrap_or_default();
            }
        }

        this.emit(Event::Stopping);
        if let Some(h) = maintaining {
            let _ = h.await;
        }
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
                    () = &mut grace => expired = true,
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

    /// One scheduled maintenance of every table of the lake.
    async fn maintain(self: Arc<Self>, fire: DateTime<Utc>, done: Arc<Notify>) {
        let Some((_, options)) = &self.opts.maintain else {
            return;
        };
        self.emit(Event::Started {
            job: MAINTAIN_JOB.into(),
            fire,
            date: fire.date_naive(),
            attempt: 0,
        });
        let outcome = crate::maintain::maintain(&self.lake, options, &[]).await;
        let (status, error) = match &outcome {
            Ok(_) => (RunStatus::Succeeded, None),
            Err(e) => (RunStatus::Failed, Some(e.to_string())),
        };
        if let Ok(report) = &outcome {
            self.emit(Event::Maintained {
                fire,
                tables: report.tables.len(),
                files_compacted: report.tables.iter().map(|t| t.files_compacted).sum(),
                files_vacuumed: report.tables.iter().map(|t| t.files_vacuumed.len()).sum(),
            });
        }
        self.emit(Event::Finished {
            job: MAINTAIN_JOB.into(),
            fire,
            status,
            run_id: None,
            error,
        });
        done.notify_one();
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
                        status: RunStatus::Failed,
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
                        .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
                        .unwrap_or_else(|| "unknown panic".into());
                    self.emit(Event::Finished {
                        job: job.clone(),
                        fire,
                        status: RunStatus::Failed,
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
                        status: report.status,
                        run_id: Some(report.run_id.clone()),
                        error: None,
                    });
                    break;
                }
                Err(e)
                    if e.class().is_transient()
                        && attempt < retries
                        && !cancel.load(Ordering::SeqCst) =>
                {
                    let wait = chrono::Duration::seconds(10 << attempt.min(6));
                    tracing::warn!(%job, %fire, attempt, error = %e, "transient failure; retrying in {}s", wait.num_seconds());
                    attempt += 1;
                    self.clock.sleep_until(self.clock.now() + wait).await;
                }
                Err(e) => {
                    let status = match e {
                        RunError::Aborted { .. } => RunStatus::Aborted,
                        _ => RunStatus::Failed,
                    };
                    self.emit(Event::Finished {
                        job: job.clone(),
                        fire,
                        status,
                        run_id: None,
                        error: Some(crate::runner::error_chain(&e)),
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
    ) -> Result<(), lakescore_lake::LakeError> {
        let now = self.clock.now();
        let files = match crate::specs::spec_files(&self.opts.paths) {
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
        let mut runs: Option<Vec<lakescore_core::runs::RunRow>> = None;
        for path in files {
            seen.insert(path.clone(), ());
            let loaded = crate::specs::load(&path);
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
            let Some(cron) = spec.job.schedule.clone() else {
                continue; // not a scheduled job
            };
            if jobs
                .get(&path)
                .is_some_and(|s| s.spec.sha256 == spec.sha256)
            {
                continue;
            }
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
