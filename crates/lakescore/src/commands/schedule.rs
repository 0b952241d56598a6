//! `lakescore schedule [DIR...]`: the cron daemon, until SIGTERM or SIGINT
//! (SIGHUP reloads the specs).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use lakescore_engine::scheduler::{Controls, Scheduler, SchedulerOptions, SystemClock};
use tokio::signal::unix::{SignalKind, signal};

use super::Context;
use crate::cli::ScheduleArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn schedule(ctx: &Context, args: ScheduleArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let opts = SchedulerOptions {
        paths: args.paths,
        max_running: args.max_running,
        grace: Duration::from_secs(args.grace_seconds),
        reload_every: Duration::from_secs(args.reload_seconds),
        maintain: args
            .maintain
            .map(|cron| (cron, lakescore_lake::MaintainOptions::default())),
        ..SchedulerOptions::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = ctx.printer;
    let printing = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let now = chrono::Utc::now();
            if printer
                .emit(&event, |out| render::runs::event(out, &event, now))
                .is_err()
            {
                break; // stdout closed: keep scheduling, stop printing
            }
        }
    });
    let controls = Controls::default();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let c = controls.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { c.shutdown.notify_one(); }
                _ = int.recv() => { c.shutdown.notify_one(); }
                _ = hup.recv() => { c.reload.notify_one(); continue; }
            }
            break;
        }
    });
    let scheduler = Scheduler::new(lake, Arc::new(SystemClock), opts, Some(tx));
    scheduler.run(controls).await?;
    let _ = printing.await;
    Ok(ExitStatus::Success)
}
