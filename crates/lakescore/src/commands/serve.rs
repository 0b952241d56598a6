//! `lakescore serve --model URI`: answer MLflow scoring requests until
//! SIGTERM or Ctrl-C, then finish in-flight requests, flush the inference log
//! and exit 0. When listening it prints one line (one JSON object with
//! `--json`): the address, the model version and the inference table.

use std::time::Duration;

use anyhow::{Context as _, Result};
use lakescore_serve::{LogOptions, ServeOptions};

use super::Context;
use crate::cli::ServeArgs;
use crate::exit::{ExitStatus, UsageError};

/// The environment variable a token may come from (else `--token-file`).
pub(crate) const TOKEN_ENV: &str = "LAKESCORE_SERVE_TOKEN";

pub(crate) async fn serve(ctx: &Context, args: ServeArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let token = match &args.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var(TOKEN_ENV).ok().map(|t| t.trim().to_string()),
    };
    if token.as_deref() == Some("") {
        return Err(UsageError("the serving token is empty".into()).into());
    }
    let seconds = |what: &str, s: f64| {
        if s.is_finite() && s > 0.0 {
            Ok(Duration::from_secs_f64(s))
        } else {
            Err(UsageError(format!(
                "{what} must be a positive number of seconds"
            )))
        }
    };
    let options = ServeOptions {
        model: args.model,
        listen: format!("{}:{}", args.host, args.port),
        token,
        log: (!args.no_log)
            .then(|| -> Result<LogOptions> {
                Ok(LogOptions {
                    table: args.log_table.clone(),
                    flush_rows: usize::try_from(args.flush_rows).unwrap_or(usize::MAX),
                    flush_every: seconds("--flush-seconds", args.flush_seconds)?,
                    queue_rows: usize::try_from(args.queue_rows).unwrap_or(usize::MAX),
                })
            })
            .transpose()?,
        poll_every: seconds("--poll-seconds", args.poll_seconds)?,
        max_body_bytes: args.max_body_mb.saturating_mul(1024 * 1024),
    };
    let printer = ctx.printer;
    lakescore_serve::serve(
        lake,
        options,
        |ready| {
            let _ = printer.emit(ready, |out| {
                writeln!(
                    out,
                    "serving {} (version {}) on {}{}",
                    ready.model_uri,
                    ready.model_version,
                    ready.address,
                    ready
                        .inference_table
                        .as_ref()
                        .map_or_else(String::new, |t| format!(", logging to {t}"))
                )
            });
        },
        shutdown(),
    )
    .await?;
    Ok(ExitStatus::Success)
}

/// SIGTERM (what Kubernetes and systemd send) or Ctrl-C.
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
