//! `lakescore registry settings NAME --require-approval STAGES`.

use anyhow::Result;
use lakescore_core::uri::Stage;
use lakescore_engine::registry::{Annotation, Registry};

use super::actor;
use crate::cli::SettingsArgs;
use crate::printer::Printer;

pub(super) async fn settings(registry: &Registry, p: Printer, a: SettingsArgs) -> Result<()> {
    let stages: Vec<Stage> = a.require_approval.into_iter().collect();
    registry
        .annotate(
            &a.name,
            None,
            Annotation::RequireApproval(stages.clone()),
            &actor(a.actor),
        )
        .await?;
    let name = a.name;
    p.emit(
        &serde_json::json!({ "model": name, "require_approval": stages }),
        |out| {
            if stages.is_empty() {
                writeln!(out, "{name}: no stage requires approval")
            } else {
                let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
                writeln!(
                    out,
                    "{name}: entering {} requires an approved request",
                    names.join(", ")
                )
            }
        },
    )?;
    Ok(())
}
