//! `lakescore drift JOB --date D`: drift of a scored date, without rescoring.

use anyhow::Result;

use super::Context;
use crate::cli::DriftArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn drift(ctx: &Context, args: DriftArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let spec = lakescore_engine::specs::load(&args.job)?;
    let report = lakescore_engine::runner::drift_cmd::recompute(&lake, &spec, args.date).await?;
    let root = lake.root().to_string();
    ctx.printer
        .emit(&report, |out| render::run::drift(out, &report, &root))?;
    Ok(ExitStatus::alerts(report.drift_alerts.len()))
}
