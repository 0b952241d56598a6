//! The routes (axum on hyper): `POST /invocations` scores; `GET /ping` and
//! `/health` answer 200 once the model is loaded (it is loaded before the
//! port opens); `/version` and `/metadata` say which version serves;
//! `/metrics` is the OpenMetrics text. With a token, `/invocations` and
//! `/metadata` want `Authorization: Bearer TOKEN` and answer 401 without it;
//! the health routes, `/version` and `/metrics` stay open.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt as _;
use tokio::sync::watch;

use crate::inference_log::{Entry, InferenceLog};
use crate::metrics::{Metrics, RequestLabels};
use crate::protocol::{self, Refusal};
use crate::served::Served;

/// The header every scoring response names its model version in.
pub const VERSION_HEADER: &str = "lakescore-model-version";

/// Requests with more rows than this are scored off the async workers.
const INLINE_ROWS: usize = 512;

/// What every handler shares.
pub(crate) struct App {
    pub(crate) served: watch::Receiver<Arc<Served>>,
    pub(crate) log: Option<InferenceLog>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) token: Option<String>,
    pub(crate) max_body: usize,
    pub(crate) reference: String,
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/invocations", post(invocations))
        .route("/ping", get(ping))
        .route("/health", get(ping))
        .route("/version", get(version))
        .route("/metadata", get(metadata))
        .route("/metrics", get(metrics))
        .with_state(app)
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn refuse(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    if refusal.status == 415 {
        // MLflow answers an unsupported content type in plain text.
        return (status, refusal.message.clone()).into_response();
    }
    json(status, &refusal.body())
}

/// Whether `headers` carry the token (compared in constant time).
fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = &app.token else { return true };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> Response {
    let mut response = json(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({
            "error_code": "UNAUTHENTICATED",
            "message": "this server wants a bearer token: Authorization: Bearer TOKEN"
        }),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn count(app: &App, route: &'static str, response: Response) -> Response {
    app.metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

async fn invocations(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = score(&app, &headers, body, started).await;
    app.metrics.latency.observe(started.elapsed().as_secs_f64());
    count(&app, "invocations", response)
}

async fn score(app: &App, headers: &HeaderMap, body: Body, started: Instant) -> Response {
    if !authorized(app, headers) {
        return unauthorized();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let encoding = match protocol::encoding(content_type) {
        Ok(e) => e,
        Err(r) => return refuse(&r),
    };
    let bytes = match read_body(body, app.max_body).await {
        Ok(bytes) => bytes,
        Err(BodyError::Broken) => {
            return refuse(&Refusal::bad_request("the request body could not be read"));
        }
        Err(BodyError::TooLarge) => {
            return refuse(&Refusal {
                status: 413,
                code: "REQUEST_LIMIT_EXCEEDED",
                message: format!(
                    "the request body is larger than the server's limit of {} bytes (--max-body-mb)",
                    app.max_body
                ),
            });
        }
    };
    // The version this request is answered with, whatever happens meanwhile.
    let served = app.served.borrow().clone();
    let parsed = match protocol::parse(&bytes, encoding, &served.inputs) {
        Ok(p) => p,
        Err(r) => return refuse(&r),
    };
    let rows = parsed.matrix.rows;
    let predictions = if rows > INLINE_ROWS {
        tokio::task::block_in_place(|| served.model.predict_all(&parsed.matrix))
    } else {
        served.model.predict_all(&parsed.matrix)
    };
    let body = protocol::response(
        &predictions.prediction,
        &predictions.probabilities,
        &served.inputs.outputs,
    );
    app.metrics.rows_scored.inc_by(rows as u64);
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), ToString::to_string);
    if let Some(log) = &app.log
        && rows > 0
    {
        log.record(Entry::new(
            request_id.clone(),
            chrono::Utc::now(),
            served.clone(),
            parsed.matrix,
            parsed.labels,
            predictions.prediction,
            predictions.probabilities,
            started.elapsed().as_secs_f64() * 1000.0,
        ))
        .await;
    }
    let mut response = json(StatusCode::OK, &body);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&served.version_text) {
        headers.insert(VERSION_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", v);
    }
    response
}

/// The body, up to `limit` bytes. Past the limit the rest is read and
/// dropped (up to as much again, at least 16 MiB) before the 413 goes out, so
/// that a client still sending gets the answer instead of a reset connection
/// (the "lingering close" web servers do).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    let drain = limit.saturating_mul(2).max(limit.saturating_add(16 << 20));
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(BodyError::Broken);
        };
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            buf.extend_from_slice(&chunk);
        } else if seen > drain {
            return Err(BodyError::TooLarge);
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(buf))
}

/// Why a body was not read.
enum BodyError {
    TooLarge,
    /// The client went away or sent a malformed body.
    Broken,
}

async fn ping(State(app): State<Arc<App>>) -> Response {
    count(&app, "ping", (StatusCode::OK, "\n").into_response())
}

/// The server's version as MLflow answers it (a version string, which
/// MLflow's own client returns as it is), naming the model version serving;
/// the version header too.
async fn version(State(app): State<Arc<App>>) -> Response {
    let served = app.served.borrow().clone();
    let mut response = (
        StatusCode::OK,
        format!(
            "lakescore {} ({} version {}, from {})",
            env!("CARGO_PKG_VERSION"),
            served.name,
            served.version,
            app.reference
        ),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&served.version_text) {
        response.headers_mut().insert(VERSION_HEADER, v);
    }
    count(&app, "version", response)
}

async fn metadata(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return count(&app, "metadata", unauthorized());
    }
    let served = app.served.borrow().clone();
    let inputs: Vec<serde_json::Value> = served
        .model
        .signature()
        .into_iter()
        .map(|(name, ty)| serde_json::json!({ "name": name, "type": ty }))
        .collect();
    let mut outputs = vec![serde_json::json!({ "name": "prediction", "type": "double" })];
    outputs.extend(
        served
            .inputs
            .outputs
            .iter()
            .map(|o| serde_json::json!({ "name": o, "type": "double" })),
    );
    let response = json(
        StatusCode::OK,
        &serde_json::json!({
            "model_uri": app.reference,
            "model_name": served.name,
            "model_version": served.version,
            "flavor": served.model.flavor().to_string(),
            "description": served.model.describe(),
            "loaded_at": served.loaded_at.to_rfc3339(),
            "inputs": inputs,
            "outputs": outputs,
            "inference_log": app.log.is_some(),
        }),
    );
    count(&app, "metadata", response)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut response = (StatusCode::OK, app.metrics.encode()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    count(&app, "metrics", response)
}
