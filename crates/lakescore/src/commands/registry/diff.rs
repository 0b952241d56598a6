//! `lakescore registry diff NAME V1 V2`: what changed between two versions.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use crate::cli::DiffArgs;
use crate::printer::Printer;
use crate::render;

pub(super) async fn diff(registry: &Registry, p: Printer, a: DiffArgs) -> Result<()> {
    let d = registry.diff(&a.name, a.from, a.to).await?;
    p.emit(&d, |out| render::registry::diff(out, &d))?;
    Ok(())
}
