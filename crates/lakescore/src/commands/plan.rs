//! `lakescore plan JOB --date D --shards N`: plan a sharded run.

use anyhow::Result;
use lakescore_engine::runner::{Trigger, shard};

use super::Context;
use crate::cli::PlanArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn plan(ctx: &Context, args: PlanArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let spec = lakescore_engine::specs::load(&args.job)?;
    let report = shard::plan(&lake, &spec, args.date, args.shards, Trigger::Manual).await?;
    ctx.printer
        .emit(&report, |out| render::run::plan(out, &report))?;
    Ok(ExitStatus::Success)
}
