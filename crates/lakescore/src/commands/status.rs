//! `lakescore status [DIR]`: each job's schedule, last run and model version.

use anyhow::Result;

use super::Context;
use crate::cli::StatusArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn status(ctx: &Context, args: StatusArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let jobs =
        lakescore_engine::runner::status::status(&lake, &args.paths, chrono::Utc::now()).await?;
    ctx.printer
        .emit(&serde_json::json!({ "jobs": jobs }), |out| {
            render::runs::status(out, &jobs)
        })?;
    Ok(ExitStatus::Success)
}
