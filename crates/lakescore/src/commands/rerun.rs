//! `lakescore rerun RUN_ID`: reproduce a recorded run exactly.

use anyhow::Result;
use lakescore_core::runs::date_from_days;

use super::Context;
use crate::cli::RerunArgs;
use crate::exit::ExitStatus;
use crate::{progress, render};

pub(crate) async fn rerun(ctx: &Context, args: RerunArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let bar = progress::rows(ctx.quiet);
    let result = lakescore_engine::runner::rerun::rerun(
        &lake,
        &args.run_id,
        progress::callback(bar.as_ref()),
    )
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (original, report) = result?;
    let root = lake.root().to_string();
    ctx.printer.emit(&report, |out| {
        writeln!(
            out,
            "rerun of {} ({} for {})",
            original.run_id,
            original.job_name,
            date_from_days(original.logical_date)
        )?;
        render::run::run(out, &report, &root)
    })?;
    Ok(ExitStatus::alerts(report.drift_alerts.len()))
}
