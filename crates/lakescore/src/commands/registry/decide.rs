//! `lakescore registry approve|reject ID`: decide a transition request.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use super::actor;
use crate::cli::DecideArgs;
use crate::printer::Printer;

pub(super) async fn decide(
    registry: &Registry,
    p: Printer,
    a: DecideArgs,
    approve: bool,
) -> Result<()> {
    let req = registry
        .decide_request(
            a.request_id,
            approve,
            approve && a.archive_existing,
            a.comment,
            &actor(a.actor),
        )
        .await?;
    p.emit(&req, |out| {
        if approve {
            writeln!(
                out,
                "approved request {}: {} version {} is now in stage {}",
                req.id, req.model_name, req.version, req.stage
            )
        } else {
            writeln!(
                out,
                "rejected request {}: {} version {} stays in {}",
                req.id, req.model_name, req.version, req.stage
            )
        }
    })?;
    Ok(())
}
