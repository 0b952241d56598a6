//! One module per subcommand: each turns its arguments into one library call
//! and prints the report it returns (through [`Printer`]).

mod backfill;
mod drift;
mod registry;
mod rerun;
mod run;
mod runs;
mod schedule;
mod schema;
mod status;
mod validate;

use anyhow::Result;
use lakescore_lake::Lake;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::printer::Printer;

/// What every command may need: the lake option, output form, verbosity.
pub(crate) struct Context {
    /// The `--lake` argument (or `LAKESCORE_LAKE`, or the default).
    pub(crate) lake: String,
    pub(crate) printer: Printer,
    pub(crate) quiet: bool,
}

impl Context {
    /// Open the lake the command works on.
    pub(crate) fn open_lake(&self) -> Result<Lake> {
        Ok(Lake::open(&self.lake)?)
    }
}

/// Run the parsed command line.
pub(crate) async fn dispatch(cli: Cli) -> Result<ExitStatus> {
    let ctx = Context {
        lake: cli.lake,
        printer: Printer { json: cli.json },
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Run(args) => run::run(&ctx, args).await,
        Command::Runs(args) => runs::runs(&ctx, args).await,
        Command::Backfill(args) => backfill::backfill(&ctx, args).await,
        Command::Rerun(args) => rerun::rerun(&ctx, args).await,
        Command::Status(args) => status::status(&ctx, args).await,
        Command::Schedule(args) => schedule::schedule(&ctx, args).await,
        Command::Drift(args) => drift::drift(&ctx, args).await,
        Command::Validate(args) => validate::validate(&ctx, args).await,
        Command::Registry(cmd) => registry::registry(&ctx, *cmd).await,
        Command::Schema => schema::schema(&ctx),
    }
}
