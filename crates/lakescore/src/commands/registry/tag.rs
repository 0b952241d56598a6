//! `lakescore registry tag|untag NAME ...`: tags on a model or a version.

use anyhow::Result;
use lakescore_engine::registry::{Annotation, Registry};

use super::{actor, on_what, parse_pairs};
use crate::cli::{TagArgs, UntagArgs};
use crate::printer::Printer;

pub(super) async fn tag(registry: &Registry, p: Printer, a: TagArgs) -> Result<()> {
    let who = actor(a.actor);
    let tags = parse_pairs("tag", &a.tags)?;
    for (key, value) in tags.clone() {
        registry
            .annotate(&a.name, a.version, Annotation::SetTag { key, value }, &who)
            .await?;
    }
    p.emit(
        &serde_json::json!({ "model": a.name, "version": a.version, "tags": tags }),
        |out| writeln!(out, "tagged {}", on_what(&a.name, a.version)),
    )?;
    Ok(())
}

pub(super) async fn untag(registry: &Registry, p: Printer, a: UntagArgs) -> Result<()> {
    let who = actor(a.actor);
    for key in a.keys.clone() {
        registry
            .annotate(&a.name, a.version, Annotation::DeleteTag { key }, &who)
            .await?;
    }
    p.emit(
        &serde_json::json!({ "model": a.name, "version": a.version, "removed": a.keys }),
        |out| writeln!(out, "removed tags from {}", on_what(&a.name, a.version)),
    )?;
    Ok(())
}
