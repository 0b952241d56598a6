//! `lakescore registry alias NAME VERSION ALIAS`: point an alias at a version.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use super::actor;
use crate::cli::AliasArgs;
use crate::printer::Printer;

pub(super) async fn alias(registry: &Registry, p: Printer, a: AliasArgs) -> Result<()> {
    let (name, version) = (a.target.name, a.target.version);
    registry
        .set_alias(&name, version, &a.alias, a.comment, &actor(a.actor))
        .await?;
    p.emit(
        &serde_json::json!({ "model": name, "version": version, "alias": a.alias }),
        |out| writeln!(out, "{name}@{} now points at version {version}", a.alias),
    )?;
    Ok(())
}
