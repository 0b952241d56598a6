//! `lakescore registry describe|owner|comment`: free-text metadata, one event each.

use anyhow::Result;
use lakescore_engine::registry::{Annotation, Registry};

use super::{actor, on_what};
use crate::cli::{OwnerArgs, TextArgs};
use crate::printer::Printer;

pub(super) async fn describe(registry: &Registry, p: Printer, a: TextArgs) -> Result<()> {
    registry
        .annotate(
            &a.name,
            a.version,
            Annotation::Description(a.text.clone()),
            &actor(a.actor),
        )
        .await?;
    p.emit(
        &serde_json::json!({ "model": a.name, "version": a.version, "description": a.text }),
        |out| writeln!(out, "described {}", on_what(&a.name, a.version)),
    )?;
    Ok(())
}

pub(super) async fn owner(registry: &Registry, p: Printer, a: OwnerArgs) -> Result<()> {
    registry
        .annotate(
            &a.name,
            None,
            Annotation::Owner(a.owner.clone()),
            &actor(a.actor),
        )
        .await?;
    p.emit(
        &serde_json::json!({ "model": a.name, "owner": a.owner }),
        |out| writeln!(out, "{} is owned by {}", a.name, a.owner),
    )?;
    Ok(())
}

pub(super) async fn comment(registry: &Registry, p: Printer, a: TextArgs) -> Result<()> {
    registry
        .annotate(
            &a.name,
            a.version,
            Annotation::Comment(a.text.clone()),
            &actor(a.actor),
        )
        .await?;
    p.emit(
        &serde_json::json!({ "model": a.name, "version": a.version, "comment": a.text }),
        |out| writeln!(out, "commented on {}", on_what(&a.name, a.version)),
    )?;
    Ok(())
}
