//! The inference log: every scored row, appended to a Delta table
//! (`inference/<model>` by default) in micro-batches.
//!
//! A request's rows are queued before its response is sent; a flusher task
//! commits what is queued every `flush_every` or as soon as `flush_rows` rows
//! wait, one Delta commit per batch (a crash loses at most what was queued,
//! never leaves part of a commit). The queue is bounded in rows: when it is
//! full, requests wait for room (backpressure) rather than rows being dropped,
//! so the table holds every answered row unless the process dies; the wait
//! shows in the latency metrics and the queue gauge.
//!
//! Columns: `request_id`, `served_at` (UTC), `model_name`, `model_version`,
//! the model's inputs (doubles; categorical inputs as the names given),
//! `prediction` and the probability columns of a multiclass model (named as
//! in the batch output), `latency_ms`, `status`. A later version with other
//! inputs adds its columns (nullable) to the table.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{DateTime, Utc};
use lakescore_lake::{Lake, LakeError, Table};
use lakescore_model::FeatureMatrix;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::metrics::{Metrics, OutcomeLabels};
use crate::served::Served;

/// The rows of one answered request.
pub struct Entry {
    pub request_id: String,
    pub at: DateTime<Utc>,
    pub served: Arc<Served>,
    pub matrix: FeatureMatrix,
    /// Per feature: the names given for categorical inputs.
    pub labels: Vec<Option<Vec<Option<String>>>>,
    pub prediction: Vec<f64>,
    pub probabilities: Vec<Vec<f64>>,
    pub latency_ms: f64,
    /// The queue's room this entry holds until it is committed.
    permit: Option<OwnedSemaphorePermit>,
}

impl Entry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        request_id: String,
        at: DateTime<Utc>,
        served: Arc<Served>,
        matrix: FeatureMatrix,
        labels: Vec<Option<Vec<Option<String>>>>,
        prediction: Vec<f64>,
        probabilities: Vec<Vec<f64>>,
        latency_ms: f64,
    ) -> Self {
        Entry {
            request_id,
            at,
            served,
            matrix,
            labels,
            prediction,
            probabilities,
            latency_ms,
            permit: None,
        }
    }
}

/// Where and how often the log is written.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The table, relative to the lake (or a URI).
    pub table: String,
    pub flush_rows: usize,
    pub flush_every: Duration,
    /// Rows the queue holds before requests wait.
    pub queue_rows: usize,
}

/// The handle requests log through.
#[derive(Clone)]
pub struct InferenceLog {
    tx: mpsc::UnboundedSender<Entry>,
    room: Arc<Semaphore>,
    queue_rows: usize,
    metrics: Arc<Metrics>,
    draining: Arc<watch::Sender<bool>>,
}

impl InferenceLog {
    /// Start the flusher; it ends (after a last flush) once every handle is
    /// dropped.
    pub fn start(
        lake: Lake,
        options: LogOptions,
        metrics: Arc<Metrics>,
    ) -> (InferenceLog, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(options.queue_rows));
        let (draining, drain_rx) = watch::channel(false);
        let log = InferenceLog {
            tx,
            room,
            queue_rows: options.queue_rows,
            metrics: metrics.clone(),
            draining: Arc::new(draining),
        };
        let flusher = tokio::spawn(flush_loop(lake, options, rx, drain_rx, metrics));
        (log, flusher)
    }

    /// From now on commit whatever arrives at once (the server is shutting
    /// down): requests waiting for room in a full queue then get it, finish,
    /// and the shutdown completes.
    pub fn drain(&self) {
        self.draining.send_replace(true);
    }

    /// Queue a request's rows, waiting while the queue is full.
    pub async fn record(&self, mut entry: Entry) {
        let rows = entry.matrix.rows.clamp(1, self.queue_rows);
        let Ok(permit) = self
            .room
            .clone()
            .acquire_many_owned(u32::try_from(rows).unwrap_or(u32::MAX))
            .await
        else {
            return;
        };
        entry.permit = Some(permit);
        self.metrics.log_queue_rows.inc_by(entry.matrix.rows as i64);
        if self.tx.send(entry).is_err() {
            tracing::error!("the inference log has stopped: a request's rows are not logged");
        }
    }
}

async fn flush_loop(
    lake: Lake,
    options: LogOptions,
    mut rx: mpsc::UnboundedReceiver<Entry>,
    mut draining: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    let mut pending: Vec<Entry> = Vec::new();
    let mut rows = 0;
    // The table stays open between flushes: opening it replays its log,
    // which grows with every commit.
    let mut open: Option<Table> = None;
    let mut ticker = tokio::time::interval(options.flush_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let closed = tokio::select! {
            entry = rx.recv() => match entry {
                Some(entry) => {
                    rows += entry.matrix.rows;
                    pending.push(entry);
                    if rows < options.flush_rows && !*draining.borrow() {
                        continue;
                    }
                    false
                }
                None => true,
            },
            _ = ticker.tick() => false,
            Ok(()) = draining.changed() => false,
        };
        if !pending.is_empty() {
            let batch = std::mem::take(&mut pending);
            flush(&lake, &options.table, &mut open, batch, &metrics).await;
            rows = 0;
        }
        if closed {
            return;
        }
    }
}

/// Commit `entries` as one append (retried on transient errors).
async fn flush(
    lake: &Lake,
    table: &str,
    open: &mut Option<Table>,
    entries: Vec<Entry>,
    metrics: &Metrics,
) {
    let rows: usize = entries.iter().map(|e| e.matrix.rows).sum();
    let mut delay = Duration::from_millis(100);
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match append(lake, table, open, &entries).await {
            Ok(()) => break "committed",
            Err(e) if attempt < 5 && lakescore_core::Classify::class(&e).is_transient() => {
                tracing::warn!("inference log: {e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!("inference log: {rows} rows not written to {table}: {e}");
                break "failed";
            }
        }
    };
    if outcome == "committed" {
        metrics.log_commits.inc();
    }
    metrics
        .log_rows
        .get_or_create(&OutcomeLabels { outcome })
        .inc_by(rows as u64);
    metrics.log_queue_rows.dec_by(rows as i64);
    // Dropping the entries gives their room back to the queue.
    drop(entries);
}

/// Why a flush failed.
#[derive(Debug, thiserror::Error)]
enum LogError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("building the rows")]
    Batch(#[from] arrow::error::ArrowError),
}

impl lakescore_core::Classify for LogError {
    fn class(&self) -> lakescore_core::ErrorClass {
        match self {
            LogError::Lake(e) => e.class(),
            LogError::Batch(_) => lakescore_core::ErrorClass::Failure,
        }
    }
}

async fn append(
    lake: &Lake,
    table: &str,
    open: &mut Option<Table>,
    entries: &[Entry],
) -> Result<(), LogError> {
    let wanted = schema_for(entries);
    // (Re)open the table when it is not open yet, or when these rows bring
    // columns it lacks (a version with other inputs): `ensure` adds them.
    let known = open
        .as_ref()
        .and_then(|t| t.arrow_schema().ok())
        .is_some_and(|have| {
            wanted
                .fields()
                .iter()
                .all(|f| have.field_with_name(f.name()).is_ok())
        });
    let t = match open.as_mut().filter(|_| known) {
        Some(t) => t,
        None => open.insert(
            lake.ensure_table(
                table,
                &wanted,
                &[],
                &["served_at", "model_version"],
                "lakescore inference log: every row served, with its model version",
            )
            .await?,
        ),
    };
    let schema = t.arrow_schema()?;
    let batch = batch(&schema, entries)?;
    let meta = HashMap::from([(
        "lakescore.operation".to_string(),
        serde_json::Value::from("inference_log"),
    )]);
    t.append(vec![batch], meta, None, None).await?;
    Ok(())
}

/// The log's own columns besides the model's inputs and outputs.
const OWN: [&str; 7] = [
    "request_id",
    "served_at",
    "model_name",
    "model_version",
    "prediction",
    "latency_ms",
    "status",
];

/// Whether input `i` is categorical with names the model records.
fn named(inputs: &lakescore_engine::score::ModelInputs, i: usize) -> bool {
    inputs.categorical.get(i).copied().unwrap_or(false)
        && inputs.categories.get(i).is_some_and(Option::is_some)
}

/// A model input or output named like one of the log's own columns (the log
/// could not hold both).
pub fn clash(inputs: &lakescore_engine::score::ModelInputs) -> Option<String> {
    inputs
        .features
        .iter()
        .chain(&inputs.outputs)
        .find(|c| OWN.contains(&c.as_str()))
        .cloned()
}

/// The columns these entries need (the served versions' inputs and outputs).
fn schema_for(entries: &[Entry]) -> Schema {
    let mut fields = vec![
        Field::new(OWN[0], DataType::Utf8, true),
        Field::new(OWN[1], lakescore_lake::utc_timestamp(), true),
        Field::new(OWN[2], DataType::Utf8, true),
        Field::new(OWN[3], DataType::Int64, true),
    ];
    let mut seen: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    let mut push = |fields: &mut Vec<Field>, name: &str, ty: DataType| {
        if !seen.iter().any(|s| s == name) {
            seen.push(name.to_string());
            fields.push(Field::new(name, ty, true));
        }
    };
    let mut versions: Vec<&Served> = Vec::new();
    for e in entries {
        if !versions.iter().any(|v| v.version == e.served.version) {
            versions.push(&e.served);
        }
    }
    for served in &versions {
        for (i, f) in served.inputs.features.iter().enumerate() {
            // Categorical inputs are logged by name where the model records
            // the names (as input tables hold them), else as their codes.
            let ty = if named(&served.inputs, i) {
                DataType::Utf8
            } else {
                DataType::Float64
            };
            push(&mut fields, f, ty);
        }
    }
    push(&mut fields, "prediction", DataType::Float64);
    for served in &versions {
        for o in &served.inputs.outputs {
            push(&mut fields, o, DataType::Float64);
        }
    }
    push(&mut fields, "latency_ms", DataType::Float64);
    push(&mut fields, "status", DataType::Utf8);
    Schema::new(fields)
}

/// One batch in the table's schema (a column these entries lack is null).
fn batch(schema: &Arc<Schema>, entries: &[Entry]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let per_row = |f: &dyn Fn(&Entry, usize) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            entries
                .iter()
                .flat_map(|e| (0..e.matrix.rows).map(move |r| f(e, r))),
        ))
    };
    let text_per_row = |f: &dyn Fn(&Entry, usize) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from_iter(
            entries
                .iter()
                .flat_map(|e| (0..e.matrix.rows).map(move |r| f(e, r))),
        ))
    };
    let finite = |x: f64| (!x.is_nan()).then_some(x);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let column: ArrayRef = match name {
            "request_id" => text_per_row(&|e, _| Some(e.request_id.clone())),
            "served_at" => Arc::new(
                TimestampMicrosecondArray::from_iter(
                    entries
                        .iter()
                        .flat_map(|e| (0..e.matrix.rows).map(|_| Some(e.at.timestamp_micros()))),
                )
                .with_timezone("UTC"),
            ),
            "model_name" => text_per_row(&|e, _| Some(e.served.name.clone())),
            "model_version" => {
                Arc::new(Int64Array::from_iter(entries.iter().flat_map(|e| {
                    (0..e.matrix.rows).map(|_| Some(e.served.version))
                })))
            }
            "prediction" => per_row(&|e, r| e.prediction.get(r).copied().and_then(finite)),
            "latency_ms" => per_row(&|e, _| Some(e.latency_ms)),
            "status" => text_per_row(&|_, _| Some("ok".into())),
            _ => match field.data_type() {
                DataType::Utf8 => text_per_row(&|e, r| {
                    let i = e.served.inputs.features.iter().position(|f| f == name)?;
                    let given = e.labels.get(i).and_then(Option::as_ref);
                    if let Some(label) = given.and_then(|l| l.get(r).cloned().flatten()) {
                        return Some(label);
                    }
                    // Given as a code: logged as the code's category name.
                    let code = *e.matrix.columns.get(i)?.get(r)?;
                    let names = e.served.inputs.categories.get(i)?.as_ref()?;
                    (code.is_finite() && code >= 0.0)
                        .then(|| names.get(code as usize).cloned())
                        .flatten()
                }),
                _ => per_row(&|e, r| {
                    if let Some(i) = e.served.inputs.features.iter().position(|f| f == name) {
                        return e.matrix.columns.get(i)?.get(r).copied().and_then(finite);
                    }
                    let o = e.served.inputs.outputs.iter().position(|o| o == name)?;
                    e.probabilities.get(o)?.get(r).copied().and_then(finite)
                }),
            },
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns)
}
