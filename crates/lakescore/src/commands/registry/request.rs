//! `lakescore registry request NAME VERSION --stage S`: ask for a transition.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use super::actor;
use crate::cli::RequestArgs;
use crate::printer::Printer;

pub(super) async fn request(registry: &Registry, p: Printer, a: RequestArgs) -> Result<()> {
    let (name, version) = (a.target.name, a.target.version);
    let id = registry
        .request_transition(&name, version, a.stage, a.comment, &actor(a.actor))
        .await?;
    p.emit(&serde_json::json!({ "request_id": id }), |out| {
        writeln!(
            out,
            "request {id}: {name} version {version} to {} (approve with \
             `lakescore registry approve {id}`)",
            a.stage
        )
    })?;
    Ok(())
}
