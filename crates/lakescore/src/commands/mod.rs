//! One module per subcommand: each turns its arguments into one library call
//! and prints the report it returns (through [`Printer`]).

mod backfill;
mod commit;
mod completions;
mod drift;
mod maintain;
mod man;
mod plan;
mod registry;
mod report;
mod rerun;
mod run;
mod runs;
mod schedule;
mod schema;
mod serve;
mod sql;
mod status;
mod validate;

use anyhow::Result;
use lakescore_lake::{Lake, LakeError};

use crate::cli::Command;
use crate::exit::{ExitStatus, UsageError};
use crate::printer::Printer;

/// What every command may need: the lake option, output form, verbosity.
pub(crate) struct Context {
    /// The `--lake` argument (or `LAKESCORE_LAKE`, or the default).
    pub(crate) lake: String,
    /// How `lake` was chosen, for messages about it.
    pub(crate) lake_origin: LakeOrigin,
    /// `--storage-option` pairs (on top of the environment's).
    pub(crate) storage_options: Vec<(String, String)>,
    pub(crate) printer: Printer,
    pub(crate) quiet: bool,
}

/// Where the lake location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LakeOrigin {
    Flag,
    Env,
    Default,
}

impl LakeOrigin {
    /// From clap's record of where `--lake` got its value.
    pub(crate) fn of(source: Option<clap::parser::ValueSource>) -> Self {
        match source {
            Some(clap::parser::ValueSource::CommandLine) => LakeOrigin::Flag,
            Some(clap::parser::ValueSource::EnvVariable) => LakeOrigin::Env,
            _ => LakeOrigin::Default,
        }
    }
}

impl Context {
    /// Open the existing lake the command works on; a missing lake is an
    /// error that says where it looked and how that place was chosen.
    pub(crate) fn open_lake(&self) -> Result<Lake> {
        Lake::open_with(&self.lake, self.storage()?).map_err(|e| self.explain(e))
    }

    /// Open the lake, creating it when missing (only `registry register` does).
    pub(crate) fn create_lake(&self) -> Result<Lake> {
        Lake::create_with(&self.lake, self.storage()?).map_err(|e| self.explain(e))
    }

    /// The storage configuration: `LAKESCORE_STORAGE_OPTIONS`, then `--storage-option`.
    fn storage(&self) -> Result<lakescore_lake::Storage> {
        Ok(lakescore_lake::Storage::from_env_and(
            self.storage_options.iter().cloned(),
        )?)
    }

    /// How the lake was chosen, as a phrase.
    pub(crate) fn lake_choice(&self) -> String {
        match self.lake_origin {
            LakeOrigin::Flag => format!("--lake {}", self.lake),
            LakeOrigin::Env => format!("LAKESCORE_LAKE={}", self.lake),
            LakeOrigin::Default => format!(
                "the default {}, relative to the current directory; choose another \
                 with --lake or LAKESCORE_LAKE",
                self.lake
            ),
        }
    }

    /// Context for an error that concerns the lake's content (a model not
    /// found, a table unreadable): which lake it was, and why that one.
    pub(crate) fn lake_note(&self, err: &anyhow::Error) -> Option<String> {
        let concerns_lake = err
            .chain()
            .any(|e| e.is::<lakescore_engine::registry::RegistryError>() || e.is::<LakeError>());
        let root = self.open_lake().ok()?;
        concerns_lake.then(|| format!("lake {} (from {})", root.root(), self.lake_choice()))
    }

    fn explain(&self, e: LakeError) -> anyhow::Error {
        match e {
            LakeError::NoLake { location } => UsageError(format!(
                "no lake at {location} (from {}); a lake is created by its first \
                 `lakescore registry register`",
                self.lake_choice()
            ))
            .into(),
            other => other.into(),
        }
    }
}

/// Run the parsed command line.
pub(crate) async fn dispatch(ctx: &Context, command: Command) -> Result<ExitStatus> {
    match command {
        Command::Run(args) => run::run(ctx, args).await,
        Command::Plan(args) => plan::plan(ctx, args).await,
        Command::Commit(args) => commit::commit(ctx, args).await,
        Command::Runs(args) => runs::runs(ctx, args).await,
        Command::Maintain(args) => maintain::maintain(ctx, args).await,
        Command::Backfill(args) => backfill::backfill(ctx, args).await,
        Command::Rerun(args) => rerun::rerun(ctx, args).await,
        Command::Status(args) => status::status(ctx, args).await,
        Command::Schedule(args) => schedule::schedule(ctx, args).await,
        Command::Drift(args) => drift::drift(ctx, args).await,
        Command::Validate(args) => validate::validate(ctx, args).await,
        Command::Sql(args) => sql::sql(ctx, args).await,
        Command::Report(args) => report::report(ctx, args).await,
        Command::Serve(args) => serve::serve(ctx, args).await,
        Command::Registry(cmd) => registry::registry(ctx, *cmd).await,
        Command::Schema(args) => schema::schema(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => man::man(&args),
    }
}
