//! The `lakescore` binary: parse the command line, run one library call per
//! subcommand ([`commands`]), print its report ([`printer`], [`render`]) and
//! exit with the code its outcome or error class gives ([`exit`]).

mod cli;
mod commands;
mod exit;
mod printer;
mod progress;
mod render;
mod schemas;

use std::io::{IsTerminal as _, Write as _};

use clap::{CommandFactory as _, FromArgMatches as _};

use crate::exit::ExitStatus;

/// jemalloc, as polars' own builds and uv use: glibc malloc's growing mmap
/// threshold let peak memory creep up with input size on long runs, while
/// jemalloc keeps it flat (see the memory figures in README.md).
#[cfg(all(unix, not(target_os = "macos")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it starts: freed pages are returned to
/// the system after about 200 ms instead of 10 s, by jemalloc's own
/// background thread, so that a run's batches reuse memory instead of each
/// adding to the peak (the 20-feature job of the README peaked about 70 MB
/// lower), while the threads that score never pay for the purging.
/// `_RJEM_MALLOC_CONF` in the environment still overrides them.
#[cfg(all(unix, not(target_os = "macos")))]
#[allow(unsafe_code, non_upper_case_globals)]
// SAFETY: jemalloc reads this symbol, a pointer to a NUL-terminated string
// that lives as long as the process, as its `malloc_conf` (the `_rjem_`
// prefix is tikv-jemalloc-sys's); nothing else defines or writes it.
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: &[u8; 42] = b"background_thread:true,dirty_decay_ms:200\0";

#[allow(clippy::exit)] // the one place the process ends
fn main() {
    // Crash points (`FAILPOINTS=name=return`): only a test build has them, so
    // only a test build reads the variable.
    let _failpoints = fail::has_failpoints().then(fail::FailScenario::setup);
    let matches = cli::Cli::command().get_matches();
    let lake_origin = commands::LakeOrigin::of(matches.value_source("lake"));
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_tracing(
        cli.verbose,
        cli.quiet,
        cli.color.enabled(std::io::stderr().is_terminal()),
    );
    let ctx = commands::Context {
        lake: cli.lake,
        lake_origin,
        storage_options: cli.storage_options,
        printer: printer::Printer { json: cli.json },
        quiet: cli.quiet,
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let cli::Command::Serve(args) = &cli.command
        && let Some(workers) = args.workers
    {
        runtime.worker_threads(workers.max(1));
    }
    let status = match runtime.enable_all().build() {
        Err(e) => {
            report(&anyhow::Error::new(e).context("cannot start the async runtime"));
            ExitStatus::Failure
        }
        Ok(runtime) => match runtime.block_on(commands::dispatch(&ctx, cli.command)) {
            Ok(status) => status,
            // Output closed under us (`| head`): end quietly, as ripgrep does.
            Err(e) if exit::is_broken_pipe(&e) => ExitStatus::Success,
            Err(e) => {
                report(&e);
                if let Some(note) = ctx.lake_note(&e) {
                    let _ = writeln!(std::io::stderr(), "note: {note}");
                }
                exit::status(&e)
            }
        },
    };
    std::process::exit(status.code());
}

/// Print an error and its causes on stderr.
fn report(e: &anyhow::Error) {
    let _ = writeln!(std::io::stderr(), "error: {}", exit::render(e));
}

fn init_tracing(verbose: u8, quiet: bool, color: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let directives = [
        "lakescore",
        "lakescore_core",
        "lakescore_model",
        "lakescore_lake",
        "lakescore_engine",
    ]
    .map(|c| format!("{c}={level}"))
    .join(",");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}
