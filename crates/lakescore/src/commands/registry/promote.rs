//! `lakescore registry promote NAME VERSION --stage S`: a stage transition.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use super::actor;
use crate::cli::PromoteArgs;
use crate::printer::Printer;

pub(super) async fn promote(registry: &Registry, p: Printer, a: PromoteArgs) -> Result<()> {
    let (name, version) = (a.target.name, a.target.version);
    registry
        .promote(
            &name,
            version,
            a.stage,
            a.archive_existing,
            a.comment,
            &actor(a.actor),
        )
        .await?;
    p.emit(
        &serde_json::json!({ "model": name, "version": version, "stage": a.stage }),
        |out| writeln!(out, "{name} version {version} is now in stage {}", a.stage),
    )?;
    Ok(())
}
