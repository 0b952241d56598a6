//! `lakescore registry rollback NAME --stage S | --alias A`.

use anyhow::Result;
use lakescore_engine::registry::{Registry, RollbackTarget};

use super::actor;
use crate::cli::RollbackArgs;
use crate::exit::UsageError;
use crate::printer::Printer;

pub(super) async fn rollback(registry: &Registry, p: Printer, a: RollbackArgs) -> Result<()> {
    let target = match (a.stage, a.alias) {
        (Some(stage), _) => RollbackTarget::Stage(stage),
        (None, Some(alias)) => RollbackTarget::Alias(alias),
        (None, None) => return Err(UsageError("give --stage or --alias".into()).into()),
    };
    let (from, to) = registry
        .rollback(&a.name, &target, a.comment, &actor(a.actor))
        .await?;
    let what = match &target {
        RollbackTarget::Stage(s) => format!("stage {s}"),
        RollbackTarget::Alias(alias) => format!("@{alias}"),
    };
    let name = a.name;
    p.emit(
        &serde_json::json!({ "model": name, "target": what, "from": from, "to": to }),
        |out| {
            writeln!(
                out,
                "{name} {what} rolled back from version {from} to version {to}"
            )
        },
    )?;
    Ok(())
}
