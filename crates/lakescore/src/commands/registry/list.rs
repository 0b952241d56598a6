//! `lakescore registry list [NAME]`: versions with their stage and aliases.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use crate::cli::ListArgs;
use crate::printer::Printer;
use crate::render;

pub(super) async fn list(registry: &Registry, p: Printer, a: ListArgs) -> Result<()> {
    let versions = registry.list(a.name.as_deref(), a.as_of.as_of).await?;
    p.emit(&serde_json::json!({ "versions": versions }), |out| {
        render::registry::versions(out, &versions)
    })?;
    Ok(())
}
