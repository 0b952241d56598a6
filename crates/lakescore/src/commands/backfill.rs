//! `lakescore backfill JOB --from D --to D`: one run per date, oldest first.

use anyhow::Result;
use lakescore_engine::runner::backfill::{BackfillOptions, backfill as run_backfill};

use super::Context;
use crate::cli::BackfillArgs;
use crate::exit::{ExitStatus, UsageError};
use crate::{progress, render};

pub(crate) async fn backfill(ctx: &Context, args: BackfillArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let spec = lakescore_engine::specs::load(&args.job)?;
    if args.to < args.from {
        return Err(UsageError(format!("--to {} is before --from {}", args.to, args.from)).into());
    }
    let days = (args.to - args.from).num_days().unsigned_abs() + 1;
    let bar = (!args.dry_run)
        .then(|| progress::count(ctx.quiet, days, "dates"))
        .flatten();
    let opts = BackfillOptions {
        from: args.from,
        to: args.to,
        rerun: args.rerun,
        dry_run: args.dry_run,
        model_as_of_date: args.model_as_of_date,
        on_date: progress::callback(bar.as_ref()),
        progress: None,
    };
    let result = run_backfill(&lake, &spec, &opts).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result?;
    ctx.printer
        .emit(&report, |out| render::run::backfill(out, &report))?;
    Ok(ExitStatus::of_backfill(&report))
}
