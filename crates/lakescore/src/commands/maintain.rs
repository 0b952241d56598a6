//! `lakescore maintain [TABLE...]`: compact, checkpoint, clean and vacuum the lake's tables.

use anyhow::Result;
use lakescore_lake::MaintainOptions;

use super::Context;
use crate::cli::MaintainArgs;
use crate::exit::{ExitStatus, UsageError};
use crate::render;

/// Delta's default `delta.deletedFileRetentionDuration`: 7 days.
const DELTA_RETENTION_HOURS: u32 = 168;

pub(crate) async fn maintain(ctx: &Context, args: MaintainArgs) -> Result<ExitStatus> {
    if args.retention_hours < DELTA_RETENTION_HOURS && !args.allow_short_retention {
        return Err(UsageError(format!(
            "--retention-hours {} is below the {DELTA_RETENTION_HOURS} hours Delta keeps removed \
             files by default (delta.deletedFileRetentionDuration): runs, readers of older \
             versions and uploads in flight may still need them; add --allow-short-retention \
             to vacuum sooner anyway",
            args.retention_hours
        ))
        .into());
    }
    let lake = ctx.open_lake()?;
    let options = MaintainOptions {
        dry_run: args.dry_run,
        retention: chrono::Duration::hours(i64::from(args.retention_hours)),
        allow_short_retention: args.allow_short_retention,
        ..MaintainOptions::default()
    };
    let report = lakescore_engine::maintain::maintain(&lake, &options, &args.tables).await?;
    ctx.printer
        .emit(&report, |out| render::maintain::maintain(out, &report))?;
    Ok(ExitStatus::Success)
}
