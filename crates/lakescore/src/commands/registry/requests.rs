//! `lakescore registry requests [NAME]`: transition requests.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use crate::cli::RequestsArgs;
use crate::printer::Printer;
use crate::render;

pub(super) async fn requests(registry: &Registry, p: Printer, a: RequestsArgs) -> Result<()> {
    let requests = registry.requests(a.name.as_deref(), a.all).await?;
    p.emit(&serde_json::json!({ "requests": requests }), |out| {
        render::registry::requests(out, &requests)
    })?;
    Ok(())
}
