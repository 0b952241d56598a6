//! `lakescore registry history NAME`: the audit log of one model.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use crate::cli::HistoryArgs;
use crate::printer::Printer;
use crate::render;

pub(super) async fn history(registry: &Registry, p: Printer, a: HistoryArgs) -> Result<()> {
    let events = registry.history(&a.name, a.as_of.as_of).await?;
    p.emit(
        &serde_json::json!({ "model": a.name, "events": events }),
        |out| render::registry::history(out, &events),
    )?;
    Ok(())
}
