//! `lakescore man`: man pages generated from the clap definition
//! (clap_mangen): `lakescore.1` on stdout, or with `--out DIR` one page per
//! command (`lakescore-registry-promote.1`, ...), as git's pages are laid out.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

use crate::cli::{Cli, ManArgs};
use crate::exit::ExitStatus;

pub(crate) fn man(args: &ManArgs) -> Result<ExitStatus> {
    let cmd = Cli::command();
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            write_pages(&cmd, "lakescore", dir)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// The page of `cmd` (named `name`) and of each of its subcommands.
fn write_pages(cmd: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let page = cmd.clone().name(name.to_string());
    let path = dir.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page).render(&mut bytes)?;
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
