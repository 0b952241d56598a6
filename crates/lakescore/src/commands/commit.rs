//! `lakescore commit JOB --date D --attempt ID`: publish a sharded run.

use anyhow::Result;
use lakescore_engine::runner::shard;

use super::Context;
use crate::cli::CommitArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn commit(ctx: &Context, args: CommitArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let spec = lakescore_engine::specs::load(&args.job)?;
    let report = shard::commit(&lake, &spec, args.date, &args.attempt).await?;
    let root = lake.root().to_string();
    ctx.printer
        .emit(&report, |out| render::run::commit(out, &report, &root))?;
    Ok(ExitStatus::alerts(report.run.drift_alerts.len()))
}
