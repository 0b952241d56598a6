//! `/metrics`: requests by route and status, request latency, rows scored,
//! the serving version and the inference log's queue, in the OpenMetrics
//! text format Prometheus scrapes (the `prometheus-client` crate, the
//! Prometheus project's own).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Histogram,
    pub rows_scored: Counter,
    pub serving_version: Family<ModelLabels, Gauge>,
    pub log_queue_rows: Gauge,
    pub log_rows: Family<OutcomeLabels, Counter>,
    pub log_commits: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lakescore");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        // 50 µs to about 1.6 s.
        let latency = Histogram::new(exponential_buckets(0.00005, 2.0, 16));
        registry.register(
            "request_duration_seconds",
            "Time to answer a scoring request",
            latency.clone(),
        );
        let rows_scored = Counter::default();
        registry.register("rows_scored", "Rows scored", rows_scored.clone());
        let serving_version = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "serving_model_version",
            "The model version answering requests",
            serving_version.clone(),
        );
        let log_queue_rows = Gauge::default();
        registry.register(
            "inference_log_queue_rows",
            "Scored rows waiting to be committed to the inference table",
            log_queue_rows.clone(),
        );
        let log_rows = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "inference_log_rows",
            "Rows of the inference log, by outcome (committed, failed)",
            log_rows.clone(),
        );
        let log_commits = Counter::default();
        registry.register(
            "inference_log_commits",
            "Delta commits to the inference table",
            log_commits.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rows_scored,
            serving_version,
            log_queue_rows,
            log_rows,
            log_commits,
        }
    }

    /// Record which model version answers requests.
    pub fn serving(&self, model: &str, version: i64) {
        self.serving_version
            .get_or_create(&ModelLabels {
                model: model.to_string(),
            })
            .set(version);
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
