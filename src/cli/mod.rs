//! The command line: clap definitions, dispatch, output. Glue only.
//!
//! Data goes to stdout (a table for people, or one JSON object with `--json`);
//! logs and progress go to stderr (`RUST_LOG`, `-v`, `-q`). Errors become exit
//! codes in [`exit`], nowhere else.

pub mod exit;
mod output;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::lake::Lake;
use crate::model::Flavor;
use crate::registry::uri::Stage;
use crate::registry::{RegisterRequest, Registry, default_actor};
use crate::runner::{RunOptions, Trigger};
use exit::UsageError;

/// Batch scoring and drift detection on Delta Lake.
#[derive(Debug, Parser)]
#[command(name = "lakescore", version, about, long_about = None)]
pub struct Cli {
    /// Lake root: a local path or a file:// URI.
    #[arg(long, global = true, env = "LAKESCORE_LAKE", default_value = "./lake")]
    pub lake: String,
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score one logical date of a job into its Delta table.
    Run(RunArgs),
    /// Recent runs from the `runs` table, newest first.
    Runs(RunsArgs),
    /// Run a job for every logical date of a range, oldest first.
    Backfill(BackfillArgs),
    /// Reproduce a past run: its stored spec, model version and input version.
    Rerun(RerunArgs),
    /// Each job's last run, next fire time and current model version.
    Status(StatusArgs),
    /// Run as a scheduler: fire every job of the given specs on its cron schedule.
    Schedule(ScheduleArgs),
    /// Recompute drift for an already scored date, from the output table (no rescoring).
    Drift(DriftArgs),
    /// Check job specs (and, unless --no-environment, their model and input).
    Validate(ValidateArgs),
    /// The model registry.
    #[command(subcommand)]
    Registry(Box<RegistryCommand>),
    /// Print the JSON Schema of job specs.
    Schema,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job spec (TOML).
    pub job: PathBuf,
    /// Logical date to score (YYYY-MM-DD).
    #[arg(long)]
    pub date: NaiveDate,
    /// Resolve the model and check the input, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The job spec (TOML).
    pub job: PathBuf,
    /// First logical date (YYYY-MM-DD).
    #[arg(long)]
    pub from: NaiveDate,
    /// Last logical date, included.
    #[arg(long)]
    pub to: NaiveDate,
    /// Which already attempted dates run again: none (only dates never
    /// attempted), failed (also dates whose latest attempt failed), all.
    #[arg(long, value_enum, default_value = "none")]
    pub rerun: crate::runner::backfill::Rerun,
    /// List each date, whether it would run and the model version it would use.
    #[arg(long)]
    pub dry_run: bool,
    /// Resolve the model as the registry stood at the end of each logical date.
    #[arg(long)]
    pub model_as_of_date: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The run to reproduce (see `lakescore runs`).
    pub run_id: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Folders of job specs (`*.toml`) or spec files.
    #[arg(default_value = "jobs")]
    pub paths: Vec<PathBuf>,
    /// Runs at once, over all jobs.
    #[arg(long, default_value_t = 4)]
    pub max_running: usize,
    /// Seconds running jobs may go on after SIGTERM/SIGINT before they are stopped.
    #[arg(long, default_value_t = 60)]
    pub grace_seconds: u64,
    /// Seconds between checks of the spec files for changes (SIGHUP: now).
    #[arg(long, default_value_t = 10)]
    pub reload_seconds: u64,
    /// Print each scheduler event as a JSON line on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Job spec files or folders of them.
    #[arg(default_value = "jobs")]
    pub paths: Vec<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only this job's runs.
    pub job: Option<String>,
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The job spec (TOML).
    pub job: PathBuf,
    /// Logical date whose predictions to check (YYYY-MM-DD).
    #[arg(long)]
    pub date: NaiveDate,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Job spec files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Only check the spec files, not the registry or the input.
    #[arg(long)]
    pub no_environment: bool,
    /// Check the input of this logical date too (default: only when the path has no {{ ds }}).
    #[arg(long)]
    pub date: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
}

/// `--as-of` for reading the registry as it stood at a time.
#[derive(Debug, Args)]
pub struct AsOf {
    /// Read the registry as it stood at this time (RFC 3339, "YYYY-MM-DD HH:MM:SS"
    /// UTC, or a date meaning its end), through Delta time travel.
    #[arg(long = "as-of", value_parser = crate::registry::uri::parse_as_of)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Register a new version of a model.
    Register {
        name: String,
        #[arg(long, required_unless_present = "mlflow", conflicts_with = "mlflow")]
        flavor: Option<Flavor>,
        /// The model file: XGBoost JSON or UBJSON (`.json`, `.ubj`, MLflow's
        /// `model.xgb`), LightGBM text (`.txt`, MLflow's `model.lgb`), ONNX (`.onnx`),
        /// lakescore linear JSON.
        #[arg(long, required_unless_present = "mlflow", conflicts_with = "mlflow")]
        artifact: Option<PathBuf>,
        /// An MLflow model directory (with its MLmodel file): flavor, data file
        /// and input signature are taken from it.
        #[arg(long)]
        mlflow: Option<PathBuf>,
        /// Input column names, comma-separated, for a model whose file has
        /// none (an ONNX model with one [N, k] input tensor).
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// KEY=VALUE, repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Training metric KEY=NUMBER, repeatable.
        #[arg(long = "metric")]
        metrics: Vec<String>,
        /// Training parameter KEY=VALUE, repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// An MLflow run directory (mlruns/EXPERIMENT/RUN_ID): its metrics and
        /// params are attached (--metric/--param override them).
        #[arg(long)]
        mlflow_run: Option<PathBuf>,
        /// Reference data (Parquet file or glob, or a Delta table) to profile for drift.
        #[arg(long)]
        reference: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A model (its versions, owner, tags, settings, requests) or one version
    /// in full (row, stage, aliases, metrics, comments, reference profile).
    Show {
        name: String,
        version: Option<i64>,
        #[command(flatten)]
        as_of: AsOf,
        #[arg(long)]
        json: bool,
    },
    /// The version a model reference (models:/NAME/STAGE, @ALIAS, ...) resolves to.
    Resolve {
        uri: String,
        #[command(flatten)]
        as_of: AsOf,
        #[arg(long)]
        json: bool,
    },
    /// Move a version to a stage.
    Promote {
        name: String,
        version: i64,
        #[arg(long)]
        stage: Stage,
        /// Move other versions in that stage to Archived.
        #[arg(long)]
        archive_existing: bool,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Ask for a version to move to a stage (approved or rejected by someone else).
    Request {
        name: String,
        version: i64,
        #[arg(long)]
        stage: Stage,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Approve a transition request: the version moves to the requested stage.
    Approve {
        request_id: i64,
        /// Move other versions in that stage to Archived.
        #[arg(long)]
        archive_existing: bool,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject a transition request.
    Reject {
        request_id: i64,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Transition requests (pending only, unless --all).
    Requests {
        name: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Model settings.
    Settings {
        name: String,
        /// Stages (comma-separated, or "none") that a version may enter only
        /// through an approved request.
        #[arg(long, value_parser = crate::registry::state::parse_stage_list)]
        require_approval: std::collections::BTreeSet<Stage>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Set tags on a model, or on one version with --version.
    Tag {
        name: String,
        /// KEY=VALUE pairs.
        #[arg(required = true)]
        tags: Vec<String>,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Delete tags from a model, or from one version with --version.
    Untag {
        name: String,
        #[arg(required = true)]
        keys: Vec<String>,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Set the description of a model, or of one version with --version.
    Describe {
        name: String,
        text: String,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Set the owner of a model.
    Owner {
        name: String,
        owner: String,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Comment on a model, or on one version with --version.
    Comment {
        name: String,
        text: String,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Point an alias at a version.
    Alias {
        name: String,
        version: i64,
        alias: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Give a stage or alias back to the version that held it before.
    Rollback {
        name: String,
        /// Roll back this stage (the current holder moves to Archived).
        #[arg(long, conflicts_with = "alias", required_unless_present = "alias")]
        stage: Option<Stage>,
        /// Roll back this alias.
        #[arg(long)]
        alias: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        actor: Option<String>,
    },
    /// What changed between two versions: flavor, signature, metrics, params,
    /// tags, reference profile.
    Diff {
        name: String,
        from: i64,
        to: i64,
        #[arg(long)]
        json: bool,
    },
    /// List models and versions with their stage and aliases.
    List {
        name: Option<String>,
        #[command(flatten)]
        as_of: AsOf,
        #[arg(long)]
        json: bool,
    },
    /// The audit log of one model: every event with actor, time and comment.
    History {
        name: String,
        #[command(flatten)]
        as_of: AsOf,
        #[arg(long)]
        json: bool,
    },
}

impl clap::ValueEnum for Stage {
    fn value_variants<'a>() -> &'a [Self] {
        &Stage::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let name = match self {
            Stage::None => "none",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        };
        Some(clap::builder::PossibleValue::new(name))
    }
    fn from_str(input: &str, _ignore_case: bool) -> Result<Self, String> {
        input.parse()
    }
}

impl clap::ValueEnum for Flavor {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Flavor::Xgboost,
            Flavor::Lightgbm,
            Flavor::Onnx,
            Flavor::Linear,
        ]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Parse, run, and return the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            exit::exit_code(&e)
        }
    }
}

/// The error and its causes, each once (thiserror messages often repeat their source).
fn render_error(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(&format!("\n  caused by: {text}"));
        }
    }
    out
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lakescore={default}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Schema => {
            print!("{}", crate::spec::json_schema());
            Ok(exit::SUCCESS)
        }
        Command::Run(args) => {
            let lake = Lake::open(&cli.lake)?;
            run(lake, args, cli.quiet).await
        }
        Command::Validate(args) => validate(&cli.lake, args).await,
        Command::Backfill(args) => {
            let lake = Lake::open(&cli.lake)?;
            backfill(lake, args, cli.quiet).await
        }
        Command::Rerun(args) => {
            let lake = Lake::open(&cli.lake)?;
            rerun(lake, args, cli.quiet).await
        }
        Command::Schedule(args) => {
            let lake = Lake::open(&cli.lake)?;
            schedule(lake, args).await
        }
        Command::Status(args) => {
            let lake = Lake::open(&cli.lake)?;
            let report =
                crate::runner::status::status(&lake, &args.paths, chrono::Utc::now()).await?;
            if args.json {
                output::print_json(&serde_json::json!({ "jobs": report }));
            } else {
                output::print_status(&report);
            }
            Ok(exit::SUCCESS)
        }
        Command::Runs(args) => {
            let lake = Lake::open(&cli.lake)?;
            let mut runs = crate::runner::read_runs(&lake).await?;
            runs.retain(|r| args.job.as_ref().is_none_or(|j| *j == r.job_name));
            runs.reverse();
            runs.truncate(args.limit);
            if args.json {
                output::print_json(&serde_json::json!({ "runs": runs }));
            } else {
                output::print_runs(&runs);
            }
            Ok(exit::SUCCESS)
        }
        Command::Drift(args) => {
            let lake = Lake::open(&cli.lake)?;
            let spec = crate::spec::load(&args.job)?;
            let report = crate::runner::drift_cmd::recompute(&lake, &spec, args.date).await?;
            if args.json {
                output::print_json(&report);
            } else {
                output::print_drift(&report, &lake);
            }
            Ok(if report.drift_alerts.is_empty() {
                exit::SUCCESS
            } else {
                exit::DRIFT_ALERT
            })
        }
        Command::Registry(cmd) => {
            let lake = Lake::open(&cli.lake)?;
            registry(lake, *cmd).await
        }
    }
}

async fn run(lake: Lake, args: RunArgs, quiet: bool) -> Result<i32> {
    let spec = crate::spec::load(&args.job)?;
    let bar = output::progress_bar(quiet);
    let progress = bar.clone().map(|b| {
        Arc::new(move |rows: usize| b.set_position(rows as u64)) as crate::runner::Progress
    });
    let opts = RunOptions {
        dry_run: args.dry_run,
        progress,
        ..RunOptions::new(args.date, Trigger::Manual)
    };
    let result = crate::runner::run(&lake, &spec, &opts).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result?;
    if args.json {
        output::print_json(&report);
    } else {
        output::print_run(&report, &lake);
    }
    Ok(if report.drift_alerts.is_empty() {
        exit::SUCCESS
    } else {
        exit::DRIFT_ALERT
    })
}

async fn schedule(lake: Lake, args: ScheduleArgs) -> Result<i32> {
    use crate::scheduler::{Controls, Scheduler, SchedulerOptions, SystemClock};
    use tokio::signal::unix::{SignalKind, signal};
    let opts = SchedulerOptions {
        paths: args.paths,
        max_running: args.max_running.max(1),
        grace: std::time::Duration::from_secs(args.grace_seconds),
        reload_every: std::time::Duration::from_secs(args.reload_seconds.max(1)),
        ..SchedulerOptions::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let json = args.json;
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if json {
                output::print_json(&event);
            } else {
                output::print_event(&event);
            }
        }
    });
    let controls = Controls::default();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let c = controls.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { c.shutdown.notify_one(); }
                _ = int.recv() => { c.shutdown.notify_one(); }
                _ = hup.recv() => { c.reload.notify_one(); continue; }
            }
            break;
        }
    });
    let scheduler = Scheduler::new(lake, Arc::new(SystemClock), opts, Some(tx));
    scheduler.run(controls).await?;
    let _ = printer.await;
    Ok(exit::SUCCESS)
}

async fn backfill(lake: Lake, args: BackfillArgs, quiet: bool) -> Result<i32> {
    use crate::runner::backfill::{BackfillOptions, backfill};
    let spec = crate::spec::load(&args.job)?;
    if args.to < args.from {
        return Err(UsageError(format!("--to {} is before --from {}", args.to, args.from)).into());
    }
    let days = (args.to - args.from).num_days() as u64 + 1;
    let bar = (!args.dry_run)
        .then(|| output::count_bar(quiet, days, "dates"))
        .flatten();
    let on_date = bar.clone().map(|b| {
        Arc::new(move |done: usize| b.set_position(done as u64)) as crate::runner::Progress
    });
    let opts = BackfillOptions {
        from: args.from,
        to: args.to,
        rerun: args.rerun,
        dry_run: args.dry_run,
        model_as_of_date: args.model_as_of_date,
        on_date,
        progress: None,
    };
    let result = backfill(&lake, &spec, &opts, |e| exit::error_code(e)).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result?;
    if args.json {
        output::print_json(&report);
    } else {
        output::print_backfill(&report);
    }
    // The first failed date decides the exit code; else drift alerts give 3.
    let code = report.dates.iter().find_map(|d| d.exit_code).unwrap_or(
        if report.dates.iter().any(|d| d.drift_alerts > 0) {
            exit::DRIFT_ALERT
        } else {
            exit::SUCCESS
        },
    );
    Ok(code)
}

async fn rerun(lake: Lake, args: RerunArgs, quiet: bool) -> Result<i32> {
    let runs = crate::runner::read_runs(&lake).await?;
    let Some(original) = runs.iter().find(|r| r.run_id == args.run_id) else {
        return Err(UsageError(format!(
            "there is no run {:?} in {}runs (see `lakescore runs`)",
            args.run_id,
            lake.root()
        ))
        .into());
    };
    let Some(model_version) = original.model_version else {
        return Err(UsageError(format!(
            "run {} never resolved its model (it failed with: {}); start a new run with `lakescore run`",
            original.run_id,
            original.error.as_deref().unwrap_or("unknown error")
        ))
        .into());
    };
    let spec = crate::spec::from_text(
        std::path::Path::new(&original.spec_path),
        original.spec_toml.clone(),
    )?;
    let date = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + chrono::Duration::days(original.logical_date as i64);
    let bar = output::progress_bar(quiet);
    let progress = bar.clone().map(|b| {
        Arc::new(move |rows: usize| b.set_position(rows as u64)) as crate::runner::Progress
    });
    let opts = RunOptions {
        progress,
        pin: Some(crate::runner::Pin {
            rerun_of: original.run_id.clone(),
            model_version,
            input_version: original.input_version,
            input_start_version: original.input_start_version,
        }),
        ..RunOptions::new(date, Trigger::Rerun)
    };
    let result = crate::runner::run(&lake, &spec, &opts).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = result?;
    if args.json {
        output::print_json(&report);
    } else {
        println!(
            "rerun of {} ({} for {})",
            original.run_id, original.job_name, date
        );
        output::print_run(&report, &lake);
    }
    Ok(if report.drift_alerts.is_empty() {
        exit::SUCCESS
    } else {
        exit::DRIFT_ALERT
    })
}

async fn validate(lake: &str, args: ValidateArgs) -> Result<i32> {
    let mut results = Vec::new();
    let registry = if args.no_environment {
        None
    } else {
        Some(Registry::new(Lake::open(lake)?))
    };
    for path in &args.paths {
        results.push(output::validate_one(path, registry.as_ref(), args.date).await);
    }
    let ok = results.iter().all(|r| r.valid);
    if args.json {
        output::print_json(&serde_json::json!({ "valid": ok, "specs": results }));
    } else {
        output::print_validation(&results);
    }
    Ok(if ok { exit::SUCCESS } else { exit::BAD_INPUT })
}

/// Parse repeated `--FLAG KEY=VALUE` arguments.
fn parse_pairs(flag: &str, pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|t| {
            t.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| UsageError(format!("{flag} {t:?} must be KEY=VALUE")).into())
        })
        .collect()
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

async fn registry(lake: Lake, cmd: RegistryCommand) -> Result<i32> {
    use crate::registry::Annotation;
    let registry = Registry::new(lake);
    let actor_or_default = |actor: Option<String>| actor.unwrap_or_else(default_actor);
    match cmd {
        RegistryCommand::Register {
            name,
            flavor,
            artifact,
            mlflow,
            features,
            description,
            tags,
            metrics,
            params,
            mlflow_run,
            reference,
            actor,
            json,
        } => {
            let mut tags = parse_pairs("--tag", &tags)?;
            let (flavor, artifact, signature) = match (&mlflow, flavor, artifact) {
                (Some(dir), _, _) => {
                    let m = crate::registry::mlflow::read_model_dir(dir)?;
                    if let Some(run) = &m.run_id {
                        tags.entry("mlflow.run_id".into()).or_insert(run.clone());
                    }
                    if let Some(v) = &m.mlflow_version {
                        tags.entry("mlflow.version".into()).or_insert(v.clone());
                    }
                    (m.flavor, m.artifact, m.signature)
                }
                (None, Some(f), Some(a)) => (f, a, None),
                _ => {
                    return Err(
                        UsageError("give --flavor and --artifact, or --mlflow DIR".into()).into(),
                    );
                }
            };
            let (mut run_metrics, mut run_params) = match &mlflow_run {
                Some(dir) => {
                    let run = crate::registry::mlflow::read_run(dir)?;
                    (run.metrics, run.params)
                }
                None => Default::default(),
            };
            run_metrics.extend(parse_metrics(&metrics)?);
            run_params.extend(parse_pairs("--param", &params)?);
            let mut req = RegisterRequest {
                name,
                flavor,
                artifact,
                description,
                tags,
                actor: actor_or_default(actor),
                profile: None,
                metrics: run_metrics,
                params: run_params,
                signature,
                features: (!features.is_empty()).then_some(features),
            };
            if let Some(path) = &reference {
                let (_, model) = req.load_model()?;
                req.profile =
                    Some(crate::runner::reference::build_profile(path, model.as_ref()).await?);
            }
            let row = registry.register(&req).await?;
            if json {
                output::print_json(&row);
            } else {
                println!(
                    "registered {} version {} ({})",
                    row.name, row.version, row.summary
                );
                println!(
                    "  artifact {} sha256 {}",
                    row.artifact_path, row.artifact_sha256
                );
            }
        }
        RegistryCommand::Promote {
            name,
            version,
            stage,
            archive_existing,
            comment,
            actor,
        } => {
            registry
                .promote(
                    &name,
                    version,
                    stage,
                    archive_existing,
                    comment,
                    &actor_or_default(actor),
                )
                .await?;
            println!("{name} version {version} is now in stage {stage}");
        }
        RegistryCommand::Request {
            name,
            version,
            stage,
            comment,
            actor,
            json,
        } => {
            let id = registry
                .request_transition(&name, version, stage, comment, &actor_or_default(actor))
                .await?;
            if json {
                output::print_json(&serde_json::json!({ "request_id": id }));
            } else {
                println!(
                    "request {id}: {name} version {version} to {stage} (approve with \
                     `lakescore registry approve {id}`)"
                );
            }
        }
        RegistryCommand::Approve {
            request_id,
            archive_existing,
            comment,
            actor,
            json,
        } => {
            let req = registry
                .decide_request(
                    request_id,
                    true,
                    archive_existing,
                    comment,
                    &actor_or_default(actor),
                )
                .await?;
            if json {
                output::print_json(&req);
            } else {
                println!(
                    "approved request {}: {} version {} is now in stage {}",
                    req.id, req.model_name, req.version, req.stage
                );
            }
        }
        RegistryCommand::Reject {
            request_id,
            comment,
            actor,
            json,
        } => {
            let req = registry
                .decide_request(request_id, false, false, comment, &actor_or_default(actor))
                .await?;
            if json {
                output::print_json(&req);
            } else {
                println!(
                    "rejected request {}: {} version {} stays in {}",
                    req.id, req.model_name, req.version, req.stage
                );
            }
        }
        RegistryCommand::Requests { name, all, json } => {
            let state = registry.state().await?;
            if let Some(n) = &name {
                known_model(&state, n)?;
            }
            let requests: Vec<_> = state
                .models
                .iter()
                .filter(|(n, _)| name.as_ref().is_none_or(|want| want == *n))
                .flat_map(|(_, m)| m.requests.values())
                .filter(|r| all || r.status == crate::registry::state::RequestStatus::Pending)
                .collect();
            if json {
                output::print_json(&serde_json::json!({ "requests": requests }));
            } else {
                output::print_requests(&requests);
            }
        }
        RegistryCommand::Settings {
            name,
            require_approval,
            actor,
        } => {
            let stages: Vec<Stage> = require_approval.into_iter().collect();
            registry
                .annotate(
                    &name,
                    None,
                    Annotation::RequireApproval(stages.clone()),
                    &actor_or_default(actor),
                )
                .await?;
            if stages.is_empty() {
                println!("{name}: no stage requires approval");
            } else {
                let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
                println!(
                    "{name}: entering {} requires an approved request",
                    names.join(", ")
                );
            }
        }
        RegistryCommand::Tag {
            name,
            tags,
            version,
            actor,
        } => {
            let actor = actor_or_default(actor);
            for (key, value) in parse_pairs("tag", &tags)? {
                registry
                    .annotate(&name, version, Annotation::SetTag { key, value }, &actor)
                    .await?;
            }
            println!("tagged {}", on_what(&name, version));
        }
        RegistryCommand::Untag {
            name,
            keys,
            version,
            actor,
        } => {
            let actor = actor_or_default(actor);
            for key in keys {
                registry
                    .annotate(&name, version, Annotation::DeleteTag { key }, &actor)
                    .await?;
            }
            println!("removed tags from {}", on_what(&name, version));
        }
        RegistryCommand::Describe {
            name,
            text,
            version,
            actor,
        } => {
            registry
                .annotate(
                    &name,
                    version,
                    Annotation::Description(text),
                    &actor_or_default(actor),
                )
                .await?;
            println!("described {}", on_what(&name, version));
        }
        RegistryCommand::Owner { name, owner, actor } => {
            registry
                .annotate(
                    &name,
                    None,
                    Annotation::Owner(owner.clone()),
                    &actor_or_default(actor),
                )
                .await?;
            println!("{name} is owned by {owner}");
        }
        RegistryCommand::Comment {
            name,
            text,
            version,
            actor,
        } => {
            registry
                .annotate(
                    &name,
                    version,
                    Annotation::Comment(text),
                    &actor_or_default(actor),
                )
                .await?;
            println!("commented on {}", on_what(&name, version));
        }
        RegistryCommand::Alias {
            name,
            version,
            alias,
            comment,
            actor,
        } => {
            registry
                .set_alias(&name, version, &alias, comment, &actor_or_default(actor))
                .await?;
            println!("{name}@{alias} now points at version {version}");
        }
        RegistryCommand::Rollback {
            name,
            stage,
            alias,
            comment,
            actor,
        } => {
            let target = match (stage, alias) {
                (Some(stage), _) => crate::registry::RollbackTarget::Stage(stage),
                (None, Some(alias)) => crate::registry::RollbackTarget::Alias(alias),
                (None, None) => return Err(UsageError("give --stage or --alias".into()).into()),
            };
            let (from, to) = registry
                .rollback(&name, &target, comment, &actor_or_default(actor))
                .await?;
            let what = match &target {
                crate::registry::RollbackTarget::Stage(s) => format!("stage {s}"),
                crate::registry::RollbackTarget::Alias(a) => format!("@{a}"),
            };
            println!("{name} {what} rolled back from version {from} to version {to}");
        }
        RegistryCommand::Show {
            name,
            version,
            as_of,
            json,
        } => {
            let state = registry.state_at(as_of.as_of).await?;
            let model = known_model(&state, &name)?;
            match version {
                None => {
                    if json {
                        output::print_json(&serde_json::json!({ "model": name, "state": model }));
                    } else {
                        output::print_model(&name, model);
                    }
                }
                Some(version) => {
                    let r = crate::registry::uri::ModelRef {
                        name: name.clone(),
                        selector: crate::registry::uri::ModelSelector::Version(version),
                    };
                    let v = crate::registry::resolve_in(&state, &r)?;
                    let profile = registry.load_profile(&v.record).await?;
                    if json {
                        output::print_json(
                            &serde_json::json!({ "version": v, "reference_profile": profile }),
                        );
                    } else {
                        output::print_show(v, profile.as_ref());
                    }
                }
            }
        }
        RegistryCommand::Resolve { uri, as_of, json } => {
            let r: crate::registry::uri::ModelRef = uri
                .parse()
                .map_err(crate::registry::RegistryError::BadReference)?;
            let v = registry.resolve_at(&r, as_of.as_of).await?;
            if json {
                output::print_json(&serde_json::json!({ "uri": uri, "version": v }));
            } else {
                println!(
                    "{uri} -> {} version {} ({}, {})",
                    v.record.name, v.record.version, v.stage, v.record.summary
                );
            }
        }
        RegistryCommand::Diff {
            name,
            from,
            to,
            json,
        } => {
            let state = registry.state().await?;
            let pick = |version| {
                crate::registry::resolve_in(
                    &state,
                    &crate::registry::uri::ModelRef {
                        name: name.clone(),
                        selector: crate::registry::uri::ModelSelector::Version(version),
                    },
                )
            };
            let (a, b) = (pick(from)?, pick(to)?);
            let pa = registry.load_profile(&a.record).await?;
            let pb = registry.load_profile(&b.record).await?;
            let d = crate::registry::diff::diff(a, pa.as_ref(), b, pb.as_ref());
            if json {
                output::print_json(&d);
            } else {
                output::print_diff(&d);
            }
        }
        RegistryCommand::List { name, as_of, json } => {
            let state = registry.state_at(as_of.as_of).await?;
            if let Some(n) = &name {
                known_model(&state, n)?;
            }
            let versions: Vec<_> = state
                .models
                .iter()
                .filter(|(n, _)| name.as_ref().is_none_or(|want| want == *n))
                .flat_map(|(_, m)| m.versions.values())
                .collect();
            if json {
                output::print_json(&serde_json::json!({ "versions": versions }));
            } else {
                output::print_versions(&versions);
            }
        }
        RegistryCommand::History { name, as_of, json } => {
            let events = registry.history(&name, as_of.as_of).await?;
            if json {
                output::print_json(&serde_json::json!({ "model": name, "events": events }));
            } else {
                output::print_history(&events);
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// The model `name`, or an error naming it.
fn known_model<'a>(
    state: &'a crate::registry::state::RegistryState,
    name: &str,
) -> Result<&'a crate::registry::state::ModelState> {
    state
        .models
        .get(name)
        .ok_or_else(|| crate::registry::RegistryError::UnknownModel { name: name.into() }.into())
}

fn on_what(name: &str, version: Option<i64>) -> String {
    match version {
        Some(v) => format!("{name} version {v}"),
        None => format!("model {name}"),
    }
}
