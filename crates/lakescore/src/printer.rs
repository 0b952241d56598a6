//! Where command output goes: data on stdout, as one JSON object (`--json`)
//! or as text for people; logs and progress go to stderr elsewhere.

use std::io::{self, Write};

use serde::Serialize;

/// Prints a command's result in the chosen form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) json: bool,
}

impl Printer {
    /// Print `value` as one JSON line with `--json`, else what `human` writes
    /// (a long-running command calls it once per event).
    pub(crate) fn emit<T: Serialize + ?Sized>(
        self,
        value: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        if self.json {
            serde_json::to_writer(&mut out, value).map_err(io::Error::other)?;
            writeln!(out)?;
        } else {
            human(&mut out)?;
        }
        out.flush()
    }
}
