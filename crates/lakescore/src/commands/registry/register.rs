//! `lakescore registry register NAME ...`: a new version.

use std::collections::BTreeMap;

use anyhow::Result;
use lakescore_engine::registry::{RegisterCommand, RegisterSource, Registry};

use super::{actor, parse_pairs};
use crate::cli::RegisterArgs;
use crate::exit::UsageError;
use crate::printer::Printer;

pub(super) async fn register(registry: &Registry, p: Printer, a: RegisterArgs) -> Result<()> {
    let source = match (a.mlflow, a.flavor, a.artifact) {
        (Some(dir), _, _) => RegisterSource::Mlflow(dir),
        (None, Some(flavor), Some(path)) => RegisterSource::Artifact { flavor, path },
        _ => return Err(UsageError("give --flavor and --artifact, or --mlflow DIR".into()).into()),
    };
    let row = registry
        .register_from(RegisterCommand {
            name: a.name,
            source,
            features: a.features,
            description: a.description,
            tags: parse_pairs("--tag", &a.tags)?,
            metrics: parse_metrics(&a.metrics)?,
            params: parse_pairs("--param", &a.params)?,
            mlflow_run: a.mlflow_run,
            reference: a.reference,
            actor: actor(a.actor),
        })
        .await?;
    p.emit(&row, |out| {
        writeln!(
            out,
            "registered {} version {} ({})",
            row.name, row.version, row.summary
        )?;
        writeln!(
            out,
            "  artifact {} sha256 {}",
            row.artifact_path, row.artifact_sha256
        )
    })?;
    Ok(())
}

fn parse_metrics(pairs: &[String]) -> Result<BTreeMap<String, f64>> {
    parse_pairs("--metric", pairs)?
        .into_iter()
        .map(|(k, v)| match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok((k, x)),
            _ => Err(UsageError(format!(
                "--metric {k}={v:?}: the value must be a finite number"
            ))
            .into()),
        })
        .collect()
}
