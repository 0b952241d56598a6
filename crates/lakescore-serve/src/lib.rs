//! `lakescore serve`: real-time scoring of a registered model over HTTP,
//! speaking MLflow's scoring protocol ([`protocol`]), so clients written for
//! `mlflow models serve` work unchanged.
//!
//! The model comes from the lake's registry and follows it ([`served`]): a
//! promotion, alias move or rollback is loaded in the background and swapped
//! in atomically; each response names its version in the
//! `lakescore-model-version` header. Every scored row is logged to a Delta
//! table in micro-batches ([`inference_log`]), which a job with an
//! incremental Delta input monitors for drift like any batch output.
//! `/metrics` ([`metrics`]) is Prometheus'. On shutdown (SIGTERM) the port
//! closes, in-flight requests finish, the log is flushed, and the call
//! returns.

pub mod http;
pub mod inference_log;
pub mod metrics;
pub mod protocol;
pub mod served;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lakescore_core::uri::ModelRef;
use lakescore_core::{Classify, ErrorClass};
use lakescore_engine::registry::{Registry, RegistryError};
use lakescore_lake::Lake;
use tokio::sync::watch;

pub use inference_log::LogOptions;

use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("loading {reference}")]
    Load {
        reference: String,
        #[source]
        source: RegistryError,
    },
    /// The model has an input or output named like a column of the
    /// inference log.
    #[error(
        "model {model} has a column named {column:?}, which the inference log uses itself; \
         serve it with --no-log or another --log-table layout"
    )]
    LogColumn { model: String, column: String },
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

impl Classify for ServeError {
    /// A model that does not resolve or load is bad input; a port that cannot
    /// be bound, or a server that fails, is a failure.
    fn class(&self) -> ErrorClass {
        match self {
            ServeError::Load { source, .. } => source.class(),
            ServeError::LogColumn { .. } => ErrorClass::BadInput,
            ServeError::Bind { .. } | ServeError::Serve(_) => ErrorClass::Failure,
        }
    }
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub model: ModelRef,
    /// `host:port`; port 0 takes a free one (said in [`Ready`]).
    pub listen: String,
    /// Bearer token the scoring routes want.
    pub token: Option<String>,
    /// The inference log, or none.
    pub log: Option<LogOptions>,
    /// How often the registry is asked whether the reference moved.
    pub poll_every: Duration,
    pub max_body_bytes: usize,
}

/// The server is up: where, and with which version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ready {
    pub address: String,
    pub model_uri: String,
    pub model_name: String,
    pub model_version: i64,
    pub inference_table: Option<String>,
}

/// Serve until `shutdown` completes, then drain and flush.
pub async fn serve(
    lake: Lake,
    options: ServeOptions,
    ready: impl FnOnce(&Ready),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let registry = Registry::new(lake.clone());
    let reference = options.model.to_string();
    let first = served::load(&registry, &options.model)
        .await
        .map_err(|source| ServeError::Load {
            reference: reference.clone(),
            source,
        })?;
    if options.log.is_some()
        && let Some(column) = inference_log::clash(&first.inputs)
    {
        return Err(ServeError::LogColumn {
            model: first.name.clone(),
            column,
        });
    }
    let metrics = Arc::new(Metrics::new());
    metrics.serving(&first.name, first.version);
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.listen.clone(),
            source,
        })?;
    let address: SocketAddr = listener.local_addr().map_err(ServeError::Serve)?;

    let log_options = options.log.clone().map(|mut log| {
        log.table = log.table.replace("{model}", &first.name);
        log
    });
    let (log, flusher) = match log_options.clone() {
        Some(o) => {
            let (log, task) = inference_log::InferenceLog::start(lake.clone(), o, metrics.clone());
            (Some(log), Some(task))
        }
        None => (None, None),
    };
    let info = Ready {
        address: format!("http://{address}"),
        model_uri: reference.clone(),
        model_name: first.name.clone(),
        model_version: first.version,
        inference_table: log_options.map(|o| o.table),
    };
    let (tx, rx) = watch::channel(Arc::new(first));
    let (stop_tx, stop_rx) = watch::channel(false);
    let switch_metrics = metrics.clone();
    let logging = options.log.is_some();
    let follower = tokio::spawn(served::follow(
        registry,
        options.model.clone(),
        tx,
        options.poll_every,
        stop_rx,
        move |next| match inference_log::clash(&next.inputs).filter(|_| logging) {
            Some(column) => Err(format!(
                "it has a column named {column:?}, which the inference log uses itself"
            )),
            None => Ok(()),
        },
        move |next| switch_metrics.serving(&next.name, next.version),
    ));
    let draining = log.clone();
    let app = Arc::new(http::App {
        served: rx.clone(),
        log,
        metrics,
        token: options.token,
        max_body: options.max_body_bytes,
        reference,
    });
    ready(&info);
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests, then flushing the inference log");
        // Requests waiting for room in a full log queue must get it to finish.
        if let Some(log) = draining {
            log.drain();
        }
    };
    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Serve)?;
    // The port is closed and in-flight requests have finished: stop following
    // the registry, then let the log flush what it holds.
    let _ = stop_tx.send(true);
    let _ = follower.await;
    if let Some(flusher) = flusher {
        let _ = flusher.await;
    }
    let last = rx.borrow().clone();
    tracing::info!(
        "stopped; {} version {} was serving",
        last.name,
        last.version
    );
    Ok(())
}
