//! `lakescore completions SHELL`: a completion script generated from the
//! clap definition (clap_complete), so it never falls behind the commands.

use std::io::Write as _;

use anyhow::Result;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::ExitStatus;

pub(crate) fn completions(args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut cmd = Cli::command();
    // Generated into memory first: clap_complete panics on a write error,
    // and a closed pipe (`| head`) must end quietly.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "lakescore", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
