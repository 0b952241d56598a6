//! `lakescore run JOB --date D [--attempt ID --shard I]`: score one logical
//! date, or one shard of a planned attempt.

use anyhow::Result;
use lakescore_engine::runner::{self, RunOptions, Trigger};

use super::Context;
use crate::cli::RunArgs;
use crate::exit::{ExitStatus, UsageError};
use crate::{progress, render};

pub(crate) async fn run(ctx: &Context, args: RunArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let spec = lakescore_engine::specs::load(&args.job)?;
    let shard = match &args.attempt {
        None => None,
        Some(attempt) => {
            let plan = runner::shard::load_plan(&lake, &spec, args.date, attempt).await?;
            let index = args.shard.ok_or_else(|| {
                UsageError(format!(
                    "--attempt needs --shard I (0 to {}), or JOB_COMPLETION_INDEX set",
                    plan.shards - 1
                ))
            })?;
            if index >= plan.shards {
                return Err(UsageError(format!(
                    "--shard {index}: attempt {attempt} has {} shards (0 to {})",
                    plan.shards,
                    plan.shards - 1
                ))
                .into());
            }
            Some(runner::shard::ShardTask { plan, index })
        }
    };
    let bar = progress::rows(ctx.quiet);
    let opts = RunOptions {
        dry_run: args.dry_run,
        progress: progress::callback(bar.as_ref()),
        shard: shard.clone(),
        ..RunOptions::new(args.date, Trigger::Manual)
    };
    let result = runner::run(&lake, &spec, &opts).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result?;
    if let Some(task) = shard {
        ctx.printer.emit(&report, |out| {
            render::run::shard(out, &report, task.index, task.plan.shards)
        })?;
        return Ok(ExitStatus::Success);
    }
    let root = lake.root().to_string();
    ctx.printer
        .emit(&report, |out| render::run::run(out, &report, &root))?;
    Ok(ExitStatus::alerts(report.drift_alerts.len()))
}
