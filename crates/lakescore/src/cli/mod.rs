//! The command line's definition (clap derive): every subcommand, argument and
//! its help. What each subcommand does is in [`crate::commands`]; the
//! examples at the end of each `--help` are in [`examples`].

mod examples;

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use lakescore_core::Flavor;
use lakescore_core::backfill::Rerun;
use lakescore_core::runs::parse_logical_date;
use lakescore_core::uri::Stage;

/// Batch scoring and drift detection on Delta Lake.
#[derive(Debug, Parser)]
#[command(
    name = "lakescore",
    version = env!("LAKESCORE_VERSION"),
    about,
    long_about = None,
    after_help = examples::EXIT_CODES
)]
pub(crate) struct Cli {
    /// Lake root: a local path, file://, or an object store's s3://BUCKET/PATH,
    /// az://CONTAINER/PATH (abfss://), gs://BUCKET/PATH (only `registry register`
    /// creates a local one).
    #[arg(
        long,
        global = true,
        env = "LAKESCORE_LAKE",
        default_value = "./lake",
        value_name = "PATH",
        help_heading = GLOBAL
    )]
    pub(crate) lake: String,
    /// A storage option for the lake, inputs and references (repeatable), on
    /// top of the AWS_*/AZURE_*/GOOGLE_* environment and LAKESCORE_STORAGE_OPTIONS
    /// (KEY=VALUE pairs separated by commas); e.g. AWS_ENDPOINT_URL=http://127.0.0.1:9000.
    /// Values are never printed; prefer the environment for secrets.
    #[arg(
        long = "storage-option",
        global = true,
        value_name = "KEY=VALUE",
        value_parser = lakescore_lake::storage::parse_option,
        help_heading = GLOBAL
    )]
    pub(crate) storage_options: Vec<(String, String)>,
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub(crate) quiet: bool,
    /// Print one JSON object on stdout (the scheduler: one JSON line per event).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) json: bool,
    /// Colour in logs: auto (only on a terminal, and not with NO_COLOR set), always, never.
    #[arg(long, global = true, value_enum, default_value = "auto", value_name = "WHEN", help_heading = GLOBAL)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The heading global options are listed under, in every command's help.
const GLOBAL: &str = "Global options";

/// When logs on stderr are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub(crate) fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // https://no-color.org: any non-empty NO_COLOR turns colour off.
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Score one logical date of a job into its Delta table (or one shard of
    /// a planned attempt, with --attempt).
    #[command(after_long_help = examples::RUN)]
    Run(RunArgs),
    /// Plan a sharded run: pin the model version and the input once, assign
    /// the input files to N shards, record the plan; prints the attempt id.
    #[command(after_long_help = examples::PLAN)]
    Plan(PlanArgs),
    /// Publish a planned attempt's shards as the date's predictions in one
    /// Delta commit (exit 0, or 3 on a drift alert, as `run`).
    #[command(after_long_help = examples::COMMIT)]
    Commit(CommitArgs),
    /// Recent runs from the `runs` table, newest first.
    #[command(after_long_help = examples::RUNS)]
    Runs(RunsArgs),
    /// Run a job for every logical date of a range, oldest first.
    #[command(after_long_help = examples::BACKFILL)]
    Backfill(BackfillArgs),
    /// Reproduce a past run: its stored spec, model version and input version.
    #[command(after_long_help = examples::RERUN)]
    Rerun(RerunArgs),
    /// Each job's last run, next fire time and current model version.
    #[command(after_long_help = examples::STATUS)]
    Status(StatusArgs),
    /// Run as a scheduler: fire every job of the given specs on its cron schedule.
    #[command(after_long_help = examples::SCHEDULE)]
    Schedule(ScheduleArgs),
    /// Recompute drift for an already scored date, from the output table (no rescoring).
    #[command(after_long_help = examples::DRIFT)]
    Drift(DriftArgs),
    /// Check job specs (and, unless --no-environment, their model and input).
    #[command(after_long_help = examples::VALIDATE)]
    Validate(ValidateArgs),
    /// Run a SQL query over the lake's tables (polars SQL): predictions, runs,
    /// drift_metrics, model_versions, model_events, and any --table.
    #[command(after_long_help = examples::SQL)]
    Sql(SqlArgs),
    /// Write the monitoring report: one self-contained HTML page with charts
    /// of runs, scores, drift and the registry (opens offline).
    #[command(after_long_help = examples::REPORT)]
    Report(ReportArgs),
    /// Serve a registered model over HTTP with MLflow's scoring protocol,
    /// following the registry and logging every scored row to Delta.
    #[command(after_long_help = examples::SERVE)]
    Serve(ServeArgs),
    /// Compact small files, write checkpoints, clean expired log entries and
    /// vacuum unreferenced files in every table of the lake (safe during runs).
    #[command(after_long_help = examples::MAINTAIN)]
    Maintain(MaintainArgs),
    /// The model registry.
    #[command(subcommand)]
    Registry(Box<RegistryCommand>),
    /// Print the JSON Schema of job specs, or of a command's --json output.
    #[command(after_long_help = examples::SCHEMA)]
    Schema(SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_long_help = examples::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Write man pages (lakescore.1 and one per subcommand), generated from this help.
    #[command(after_long_help = examples::MAN)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SqlArgs {
    /// The query (SELECT ...; also SHOW TABLES). Names that are not plain
    /// identifiers are quoted: "predictions/churn_daily".
    pub(crate) query: String,
    /// Another table to query, NAME=URI: a Delta table, or a Parquet file or
    /// glob (repeatable; a lake-relative path or a full path/URI).
    #[arg(long = "table", value_name = "NAME=URI")]
    pub(crate) tables: Vec<String>,
    /// Read the Delta tables as they stood at this time (RFC 3339,
    /// "YYYY-MM-DD HH:MM:SS" UTC, or a date meaning its end).
    #[arg(long = "as-of", value_parser = lakescore_core::uri::parse_as_of)]
    pub(crate) as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Read one table at a Delta version, NAME=VERSION (repeatable; overrides --as-of).
    #[arg(long = "version", value_name = "NAME=VERSION")]
    pub(crate) versions: Vec<String>,
    /// Output format (--json prints one object with the rows instead).
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: SqlFormat,
    /// Write the result to this file instead of stdout (needed for parquet
    /// on a terminal).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// `lakescore sql --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SqlFormat {
    /// Aligned columns.
    Table,
    Csv,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The model: models:/NAME@ALIAS, models:/NAME/STAGE, models:/NAME/VERSION
    /// or models:/NAME/latest. An alias or stage that moves is followed.
    #[arg(long, short = 'm', value_name = "URI")]
    pub(crate) model: lakescore_core::uri::ModelRef,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on (0: any free port, printed when ready).
    #[arg(long, short = 'p', default_value_t = 5000)]
    pub(crate) port: u16,
    /// Threads that answer requests (default: one per core).
    #[arg(long, short = 'w')]
    pub(crate) workers: Option<usize>,
    /// A file holding the bearer token the scoring routes want (or the
    /// environment variable LAKESCORE_SERVE_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// The inference table, relative to the lake ({model} is the model's name).
    #[arg(long, default_value = "inference/{model}", value_name = "TABLE")]
    pub(crate) log_table: String,
    /// Do not log scored rows.
    #[arg(long)]
    pub(crate) no_log: bool,
    /// Commit the inference log once this many rows wait.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) flush_rows: u64,
    /// Commit the inference log at least this often (seconds).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) flush_seconds: f64,
    /// Rows the inference log holds before requests wait for it (below
    /// --flush-rows, a full queue waits for the next --flush-seconds commit).
    #[arg(long, default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) queue_rows: u64,
    /// How often to ask the registry whether the model's alias or stage moved (seconds).
    #[arg(long, default_value_t = 5.0)]
    pub(crate) poll_seconds: f64,
    /// The largest request body accepted, in MiB (413 above).
    #[arg(long, default_value_t = 64)]
    pub(crate) max_body_mb: usize,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The HTML file to write (`-` for stdout). Written whole or not at all.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Only these jobs (repeatable, or several after one --job; default:
    /// every job with runs).
    #[arg(long = "job", value_name = "NAME", num_args = 1..)]
    pub(crate) jobs: Vec<String>,
    /// First logical date shown (default: 89 days before --to).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) from: Option<NaiveDate>,
    /// Last logical date shown (default: the latest date run).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) to: Option<NaiveDate>,
    /// The date whose reference vs current distributions are drawn
    /// (default: the latest date with a drift check).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) date: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// A command whose --json output to describe instead: run, runs,
    /// registry-list, ... (the files of schemas/cli/).
    pub(crate) output: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Folder to write the pages into (default: print lakescore.1 on stdout).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The job spec (TOML).
    pub(crate) job: PathBuf,
    /// Logical date to score (YYYY-MM-DD).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) date: NaiveDate,
    /// Resolve the model and check the input, but write nothing.
    #[arg(long, conflicts_with = "attempt")]
    pub(crate) dry_run: bool,
    /// Score one shard of this planned attempt (from `lakescore plan`): its
    /// files only, uncommitted, with the plan's model version; `lakescore
    /// commit` publishes the shards together.
    #[arg(long, value_name = "ID")]
    pub(crate) attempt: Option<String>,
    /// The shard to score (0 to N-1); in a Kubernetes Indexed Job it comes
    /// from JOB_COMPLETION_INDEX.
    #[arg(
        long,
        env = "JOB_COMPLETION_INDEX",
        requires = "attempt",
        value_name = "I"
    )]
    pub(crate) shard: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The job spec (TOML).
    pub(crate) job: PathBuf,
    /// Logical date to score (YYYY-MM-DD).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) date: NaiveDate,
    /// How many shards (workers) score the date.
    #[arg(long, value_name = "N")]
    pub(crate) shards: usize,
}

#[derive(Debug, Args)]
pub(crate) struct CommitArgs {
    /// The job spec (TOML).
    pub(crate) job: PathBuf,
    /// Logical date of the attempt (YYYY-MM-DD).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) date: NaiveDate,
    /// The attempt to publish (printed by `lakescore plan`).
    #[arg(long, value_name = "ID")]
    pub(crate) attempt: String,
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    /// The job spec (TOML).
    pub(crate) job: PathBuf,
    /// First logical date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) from: NaiveDate,
    /// Last logical date, included.
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) to: NaiveDate,
    /// Which already attempted dates run again: none (only dates never
    /// attempted), failed (also dates whose latest attempt failed), all.
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) rerun: Rerun,
    /// List each date, whether it would run and the model version it would use.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Resolve the model as the registry stood at the end of each logical date.
    #[arg(long)]
    pub(crate) model_as_of_date: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RerunArgs {
    /// The run to reproduce: its id, or a unique prefix of at least 4
    /// characters, as git takes commit ids (see `lakescore runs`).
    pub(crate) run_id: String,
}

#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    /// Folders of job specs (`*.toml`) or spec files.
    #[arg(default_value = "jobs")]
    pub(crate) paths: Vec<PathBuf>,
    /// Runs at once, over all jobs (at least 1).
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) max_running: usize,
    /// Seconds running jobs may go on after SIGTERM/SIGINT before they are stopped.
    #[arg(long, default_value_t = 60)]
    pub(crate) grace_seconds: u64,
    /// Also maintain the lake's tables on this cron schedule, in UTC (as
    /// `lakescore maintain` does, with its default retention); e.g. "0 3 * * 0".
    #[arg(long, value_name = "CRON", value_parser = lakescore_core::schedule::Schedule::parse)]
    pub(crate) maintain: Option<lakescore_core::schedule::Schedule>,
    /// Seconds between checks of the spec files for changes (SIGHUP: now; at least 1).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) reload_seconds: u64,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Job spec files or folders of them.
    #[arg(default_value = "jobs")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    /// Only this job's runs.
    pub(crate) job: Option<String>,
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
}

#[derive(Debug, Args)]
pub(crate) struct MaintainArgs {
    /// Only these tables, as paths in the lake (runs, predictions/churn_daily, ...); all when none.
    pub(crate) tables: Vec<String>,
    /// Report what would be compacted and vacuumed; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Delete files no current version needs only once they are this many
    /// hours old (Delta's default, 7 days); time travel within it keeps working.
    #[arg(long, default_value_t = 168)]
    pub(crate) retention_hours: u32,
    /// Allow --retention-hours below a table's delta.deletedFileRetentionDuration
    /// (unsafe while readers or writers that started earlier still run).
    #[arg(long)]
    pub(crate) allow_short_retention: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    /// The job spec (TOML).
    pub(crate) job: PathBuf,
    /// Logical date whose predictions to check (YYYY-MM-DD).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) date: NaiveDate,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Job spec files.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Only check the spec files, not the registry or the input.
    #[arg(long)]
    pub(crate) no_environment: bool,
    /// Check the input of this logical date too (default: only when the path has no {{ ds }}).
    #[arg(long, value_parser = parse_logical_date)]
    pub(crate) date: Option<NaiveDate>,
}

/// `--as-of` for reading the registry as it stood at a time.
#[derive(Debug, Args)]
pub(crate) struct AsOf {
    /// Read the registry as it stood at this time (RFC 3339, "YYYY-MM-DD HH:MM:SS"
    /// UTC, or a date meaning its end), through Delta time travel.
    #[arg(long = "as-of", value_parser = lakescore_core::uri::parse_as_of)]
    pub(crate) as_of: Option<chrono::DateTime<chrono::Utc>>,
}

/// Who makes a registry change, for the audit log.
#[derive(Debug, Args)]
pub(crate) struct Actor {
    /// Who makes the change (default: $LAKESCORE_ACTOR, else the user name).
    #[arg(long)]
    pub(crate) actor: Option<String>,
}

/// A model and one of its versions.
#[derive(Debug, Args)]
pub(crate) struct NameVersion {
    /// The registered model's name.
    pub(crate) name: String,
    /// The version number.
    pub(crate) version: i64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Register a new version of a model.
    #[command(after_long_help = examples::REGISTER)]
    Register(RegisterArgs),
    /// A model (its versions, owner, tags, settings, requests) or one version
    /// in full (row, stage, aliases, metrics, comments, reference profile).
    #[command(after_long_help = examples::SHOW)]
    Show(ShowArgs),
    /// The version a model reference (models:/NAME/STAGE, @ALIAS, ...) resolves to.
    #[command(after_long_help = examples::RESOLVE)]
    Resolve(ResolveArgs),
    /// Move a version to a stage.
    #[command(after_long_help = examples::PROMOTE)]
    Promote(PromoteArgs),
    /// Ask for a version to move to a stage (approved or rejected by someone else).
    #[command(after_long_help = examples::REQUEST)]
    Request(RequestArgs),
    /// Approve a transition request: the version moves to the requested stage.
    #[command(after_long_help = examples::APPROVE)]
    Approve(DecideArgs),
    /// Reject a transition request.
    #[command(after_long_help = examples::REJECT)]
    Reject(DecideArgs),
    /// Transition requests (pending only, unless --all).
    #[command(after_long_help = examples::REQUESTS)]
    Requests(RequestsArgs),
    /// Model settings.
    #[command(after_long_help = examples::SETTINGS)]
    Settings(SettingsArgs),
    /// Set tags on a model, or on one version with --version.
    #[command(after_long_help = examples::TAG)]
    Tag(TagArgs),
    /// Delete tags from a model, or from one version with --version.
    #[command(after_long_help = examples::UNTAG)]
    Untag(UntagArgs),
    /// Set the description of a model, or of one version with --version.
    #[command(after_long_help = examples::DESCRIBE)]
    Describe(TextArgs),
    /// Set the owner of a model.
    #[command(after_long_help = examples::OWNER)]
    Owner(OwnerArgs),
    /// Comment on a model, or on one version with --version.
    #[command(after_long_help = examples::COMMENT)]
    Comment(TextArgs),
    /// Point an alias at a version.
    #[command(after_long_help = examples::ALIAS)]
    Alias(AliasArgs),
    /// Give a stage or alias back to the version that held it before.
    #[command(after_long_help = examples::ROLLBACK)]
    Rollback(RollbackArgs),
    /// What changed between two versions: flavor, signature, metrics, params,
    /// tags, reference profile.
    #[command(after_long_help = examples::DIFF)]
    Diff(DiffArgs),
    /// List models and versions with their stage and aliases.
    #[command(after_long_help = examples::LIST)]
    List(ListArgs),
    /// The audit log of one model: every event with actor, time and comment.
    #[command(after_long_help = examples::HISTORY)]
    History(HistoryArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The model's name (letters, digits, `_`, `-`, `.`).
    pub(crate) name: String,
    /// The model's flavor.
    #[arg(long, required_unless_present = "mlflow", conflicts_with = "mlflow")]
    pub(crate) flavor: Option<Flavor>,
    /// The model file: XGBoost JSON or UBJSON (`.json`, `.ubj`, MLflow's
    /// `model.xgb`), LightGBM text (`.txt`, MLflow's `model.lgb`), ONNX (`.onnx`),
    /// lakescore linear JSON.
    #[arg(long, required_unless_present = "mlflow", conflicts_with = "mlflow")]
    pub(crate) artifact: Option<PathBuf>,
    /// An MLflow model directory (with its MLmodel file): flavor, data file
    /// and input signature are taken from it.
    #[arg(long)]
    pub(crate) mlflow: Option<PathBuf>,
    /// Input column names, comma-separated, for a model whose file has
    /// none (an ONNX model with one [N, k] input tensor).
    #[arg(long, value_delimiter = ',')]
    pub(crate) features: Vec<String>,
    /// A description of the version.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// KEY=VALUE, repeatable.
    #[arg(long = "tag")]
    pub(crate) tags: Vec<String>,
    /// Training metric KEY=NUMBER, repeatable.
    #[arg(long = "metric")]
    pub(crate) metrics: Vec<String>,
    /// Training parameter KEY=VALUE, repeatable.
    #[arg(long = "param")]
    pub(crate) params: Vec<String>,
    /// An MLflow run directory (mlruns/EXPERIMENT/RUN_ID): its metrics and
    /// params are attached (--metric/--param override them).
    #[arg(long)]
    pub(crate) mlflow_run: Option<PathBuf>,
    /// Reference data (Parquet file or glob, or a Delta table) to profile for drift.
    #[arg(long)]
    pub(crate) reference: Option<String>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// One version to show in full (default: the model and its versions).
    pub(crate) version: Option<i64>,
    #[command(flatten)]
    pub(crate) as_of: AsOf,
}

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// A model URI: models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/latest.
    pub(crate) uri: String,
    #[command(flatten)]
    pub(crate) as_of: AsOf,
}

#[derive(Debug, Args)]
pub(crate) struct PromoteArgs {
    #[command(flatten)]
    pub(crate) target: NameVersion,
    /// The stage to move the version to.
    #[arg(long)]
    pub(crate) stage: Stage,
    /// Move other versions in that stage to Archived.
    #[arg(long)]
    pub(crate) archive_existing: bool,
    /// Why, for the audit log.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    pub(crate) target: NameVersion,
    /// The stage the version should move to.
    #[arg(long)]
    pub(crate) stage: Stage,
    /// Why, for the audit log.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// The request's id (see `lakescore registry requests`).
    pub(crate) request_id: i64,
    /// Move other versions in that stage to Archived (approvals only).
    #[arg(long)]
    pub(crate) archive_existing: bool,
    /// Why, for the audit log.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct RequestsArgs {
    /// Only this model's requests.
    pub(crate) name: Option<String>,
    /// Decided requests too.
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("setting").required(true).multiple(true)
    .args(["require_approval", "approvers", "allow_self_approval"])))]
pub(crate) struct SettingsArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// Stages (comma-separated, or "none") that a version may enter only
    /// through an approved request.
    #[arg(long, value_parser = lakescore_core::registry::state::parse_stage_list)]
    pub(crate) require_approval: Option<std::collections::BTreeSet<Stage>>,
    /// Who may approve or reject requests into a stage: STAGE=ID,ID (system
    /// identities: a Kubernetes service account, $LAKESCORE_ACTOR set by the
    /// platform, or an OS user); STAGE= lets anyone again (repeatable).
    #[arg(long, value_name = "STAGE=IDS")]
    pub(crate) approvers: Vec<String>,
    /// Whether a requester may approve their own request (default false).
    #[arg(long, value_name = "BOOL")]
    pub(crate) allow_self_approval: Option<bool>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct TagArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// KEY=VALUE pairs.
    #[arg(required = true)]
    pub(crate) tags: Vec<String>,
    /// Tag this version instead of the model.
    #[arg(long)]
    pub(crate) version: Option<i64>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct UntagArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// Tag keys to delete.
    #[arg(required = true)]
    pub(crate) keys: Vec<String>,
    /// Untag this version instead of the model.
    #[arg(long)]
    pub(crate) version: Option<i64>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct TextArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// The text.
    pub(crate) text: String,
    /// Apply to this version instead of the model.
    #[arg(long)]
    pub(crate) version: Option<i64>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct OwnerArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// Who owns the model.
    pub(crate) owner: String,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct AliasArgs {
    #[command(flatten)]
    pub(crate) target: NameVersion,
    /// The alias (as in models:/NAME@ALIAS).
    pub(crate) alias: String,
    /// Why, for the audit log.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// Roll back this stage (the current holder moves to Archived).
    #[arg(long, conflicts_with = "alias", required_unless_present = "alias")]
    pub(crate) stage: Option<Stage>,
    /// Roll back this alias.
    #[arg(long)]
    pub(crate) alias: Option<String>,
    /// Why, for the audit log.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    #[command(flatten)]
    pub(crate) actor: Actor,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The registered model's name.
    pub(crate) name: String,
    /// The version compared from.
    pub(crate) from: i64,
    /// The version compared to.
    pub(crate) to: i64,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this model's versions.
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) as_of: AsOf,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// The registered model's name.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) as_of: AsOf,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every command: (path, command), depth first.
    fn all(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.to_string(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            all(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `--help` of every command describes every argument, has examples
    /// (leaf commands), and the top level lists the exit codes.
    #[test]
    fn every_argument_has_help_and_every_command_examples() {
        let mut commands = Vec::new();
        all(&Cli::command(), "lakescore", &mut commands);
        let mut missing = Vec::new();
        for (path, cmd) in &commands {
            if cmd.get_about().is_none() && path != "lakescore" {
                missing.push(format!("{path}: no about"));
            }
            for arg in cmd.get_arguments() {
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path}: {}", arg.get_id()));
                }
            }
            let leaf = cmd.get_subcommands().next().is_none();
            let examples = cmd
                .get_after_long_help()
                .is_some_and(|h| h.to_string().contains("Examples:"));
            if leaf && path != "lakescore help" && !path.starts_with("lakescore help ") && !examples
            {
                missing.push(format!("{path}: no examples in the long help"));
            }
        }
        assert!(
            missing.is_empty(),
            "help is missing:\n{}",
            missing.join("\n")
        );
        let top = Cli::command().render_long_help().to_string();
        assert!(top.contains("Exit codes:") && top.contains("3  "), "{top}");
    }
}
