//! `lakescore registry resolve URI`: the version a model reference resolves to.

use anyhow::Result;
use lakescore_core::uri::ModelRef;
use lakescore_engine::registry::{Registry, RegistryError};

use crate::cli::ResolveArgs;
use crate::printer::Printer;

pub(super) async fn resolve(registry: &Registry, p: Printer, a: ResolveArgs) -> Result<()> {
    let r: ModelRef = a.uri.parse().map_err(RegistryError::BadReference)?;
    let v = registry.resolve_at(&r, a.as_of.as_of).await?;
    p.emit(&serde_json::json!({ "uri": a.uri, "version": v }), |out| {
        writeln!(
            out,
            "{} -> {} version {} ({}, {})",
            a.uri, v.record.name, v.record.version, v.stage, v.record.summary
        )
    })?;
    Ok(())
}
