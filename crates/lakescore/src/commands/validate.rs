//! `lakescore validate SPEC...`: specs, model resolution and inputs.

use anyhow::Result;
use lakescore_engine::registry::Registry;

use super::Context;
use crate::cli::ValidateArgs;
use crate::exit::ExitStatus;
use crate::render;

pub(crate) async fn validate(ctx: &Context, args: ValidateArgs) -> Result<ExitStatus> {
    let registry = if args.no_environment {
        None
    } else {
        Some(Registry::new(ctx.open_lake()?))
    };
    let mut results = Vec::new();
    for path in &args.paths {
        results.push(
            lakescore_engine::runner::validate::validate(path, registry.as_ref(), args.date).await,
        );
    }
    let ok = results.iter().all(|r| r.valid);
    ctx.printer.emit(
        &serde_json::json!({ "valid": ok, "specs": results }),
        |out| render::validate::validation(out, &results),
    )?;
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::BadInput
    })
}
