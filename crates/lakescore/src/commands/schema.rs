//! `lakescore schema [OUTPUT]`: the JSON Schema of job specs, or of one
//! command's `--json` output (the documents of `schemas/`).

use std::io::Write as _;

use anyhow::Result;

use crate::cli::SchemaArgs;
use crate::exit::{ExitStatus, UsageError};
use crate::schemas;

pub(crate) fn schema(args: &SchemaArgs) -> Result<ExitStatus> {
    let text = match &args.output {
        None => lakescore_core::spec::json_schema(),
        Some(want) => {
            let all = schemas::all();
            let Some((name, command, schema)) = all.iter().find(|(n, _, _)| n == want) else {
                let names: Vec<&str> = all.iter().map(|(n, _, _)| *n).collect();
                return Err(UsageError(format!(
                    "no output schema {want:?}{}; there are: {}",
                    lakescore_core::suggest::hint(want, names.iter().copied()),
                    names.join(", ")
                ))
                .into());
            };
            schemas::document(name, command, schema)
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
