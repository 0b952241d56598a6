//! `lakescore schema`: the JSON Schema of job specs.

use std::io::Write as _;

use anyhow::Result;

use super::Context;
use crate::exit::ExitStatus;

pub(crate) fn schema(_ctx: &Context) -> Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    out.write_all(lakescore_core::spec::json_schema().as_bytes())?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
