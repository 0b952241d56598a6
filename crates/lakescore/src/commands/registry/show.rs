//! `lakescore registry show NAME [VERSION]`: a model, or one version in full.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use crate::cli::ShowArgs;
use crate::printer::Printer;
use crate::render;

pub(super) async fn show(registry: &Registry, p: Printer, a: ShowArgs) -> Result<()> {
    match a.version {
        None => {
            let view = registry.model_view(&a.name, a.as_of.as_of).await?;
            p.emit(&view, |out| {
                render::registry::model(out, &view.model, &view.state)
            })?;
        }
        Some(version) => {
            let view = registry
                .version_view(&a.name, version, a.as_of.as_of)
                .await?;
            p.emit(&view, |out| {
                render::registry::show(out, &view.version, view.reference_profile.as_ref())
            })?;
        }
    }
    Ok(())
}
