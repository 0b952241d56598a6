//! `lakescore runs [JOB]`: recent attempts, newest first.

use anyhow::Result;

use super::Context;
use crate::cli::RunsArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn runs(ctx: &Context, args: RunsArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let runs =
        lakescore_engine::runner::runs::recent(&lake, args.job.as_deref(), args.limit).await?;
    ctx.printer
        .emit(&serde_json::json!({ "runs": runs }), |out| {
            render::runs::runs(out, &runs)
        })?;
    Ok(ExitStatus::Success)
}
