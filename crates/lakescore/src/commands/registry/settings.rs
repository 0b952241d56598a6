//! `lakescore registry settings NAME [--require-approval STAGES] [--approvers STAGE=IDS]
//! [--allow-self-approval BOOL]`: the model's governance settings, in one commit.

use anyhow::Result;
use lakescore_core::uri::Stage;
use lakescore_engine::registry::{Annotation, Registry};

use super::actor;
use crate::cli::SettingsArgs;
use crate::exit::UsageError;
use crate::printer::Printer;

pub(super) async fn settings(registry: &Registry, p: Printer, a: SettingsArgs) -> Result<()> {
    let mut changes = Vec::new();
    if let Some(stages) = &a.require_approval {
        changes.push(Annotation::RequireApproval(
            stages.iter().copied().collect(),
        ));
    }
    for pair in &a.approvers {
        let (stage, ids) = pair.split_once('=').ok_or_else(|| {
            UsageError(format!(
                "--approvers {pair:?}: expected STAGE=ID,ID (or STAGE= for anyone)"
            ))
        })?;
        let stage: Stage = stage
            .parse()
            .map_err(|e| UsageError(format!("--approvers {pair:?}: {e}")))?;
        let ids = lakescore_core::registry::state::parse_identity_list(ids);
        changes.push(Annotation::Approvers(stage, ids.into_iter().collect()));
    }
    if let Some(allow) = a.allow_self_approval {
        changes.push(Annotation::AllowSelfApproval(allow));
    }
    registry
        .annotate_all(&a.name, None, &changes, &actor(a.actor))
        .await?;
    let state = registry.state().await?;
    let model = state.models.get(&a.name).cloned().unwrap_or_default();
    let name = a.name;
    let stages: Vec<Stage> = model.require_approval.iter().copied().collect();
    p.emit(
        &serde_json::json!({
            "model": name,
            "require_approval": stages,
            "approvers": model.approvers,
            "allow_self_approval": model.allow_self_approval,
        }),
        |out| {
            if stages.is_empty() {
                writeln!(out, "{name}: no stage requires approval")?;
            } else {
                let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
                writeln!(
                    out,
                    "{name}: entering {} requires an approved request",
                    names.join(", ")
                )?;
            }
            for (stage, ids) in &model.approvers {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                writeln!(
                    out,
                    "{name}: requests into {stage} are decided by {}",
                    ids.join(", ")
                )?;
            }
            writeln!(
                out,
                "{name}: a requester {} approve their own request",
                if model.allow_self_approval {
                    "may"
                } else {
                    "may not"
                }
            )
        },
    )?;
    Ok(())
}
