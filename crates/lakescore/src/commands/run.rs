//! `lakescore run JOB --date D`: score one logical date.

use anyhow::Result;
use lakescore_engine::runner::{self, RunOptions, Trigger};

use super::Context;
use crate::cli::RunArgs;
use crate::exit::ExitStatus;
use crate::{progress, render};

pub(crate) async fn run(ctx: &Context, args: RunArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let spec = lakescore_engine::specs::load(&args.job)?;
    let bar = progress::rows(ctx.quiet);
    let opts = RunOptions {
        dry_run: args.dry_run,
        progress: progress::callback(bar.as_ref()),
        ..RunOptions::new(args.date, Trigger::Manual)
    };
    let result = runner::run(&lake, &spec, &opts).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result?;
    let root = lake.root().to_string();
    ctx.printer
        .emit(&report, |out| render::run::run(out, &report, &root))?;
    Ok(ExitStatus::alerts(report.drift_alerts.len()))
}
