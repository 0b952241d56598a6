//! `lakescore serve`: the real server on a free port, driven over HTTP.
//! MLflow's scoring-server cases (`tests/pyfunc/test_scoring_server.py` in
//! the MLflow repository) that apply to these flavors, predictions equal to
//! XGBoost's own, the registry followed under load, auth and limits; the
//! inference log in `log`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::*;

mod log;

/// A running server; killed when dropped.
struct Server {
    child: Child,
    base: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn version(&self) -> Option<String> {
        self.headers
            .get("lakescore-model-version")
            .map(|v| v.to_str().unwrap().to_string())
    }
}

impl Server {
    fn start(env: &Env, args: &[&str]) -> Server {
        Self::start_with(env, args, &[])
    }

    /// Serve the demo model's `champion` alias with `args`.
    fn champion(env: &Env, args: &[&str]) -> Server {
        let mut all = vec!["--model", "models:/churn@champion"];
        all.extend_from_slice(args);
        Self::start(env, &all)
    }

    fn start_with(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .args(["--json", "serve", "--port", "0"])
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", env.lake())
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready = json(&line);
        Server {
            child,
            base: ready["address"].as_str().unwrap().to_string(),
            rt: runtime(),
            http: reqwest::Client::new(),
        }
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut request = match method {
                "GET" => self.http.get(&url),
                _ => self.http.post(&url).body(body.to_string()),
            };
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            let response = request.send().await.unwrap();
            Answer {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: response.text().await.unwrap(),
            }
        })
    }

    fn post(&self, content_type: &str, body: &str) -> Answer {
        self.send(
            "POST",
            "/invocations",
            &[("content-type", content_type)],
            body,
        )
    }

    fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], "")
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// SIGTERM, and the server must exit 0.
    fn stop(&mut self) {
        self.signal("-TERM");
        assert_eq!(self.wait(), Some(0), "exits 0 on SIGTERM");
    }

    /// Wait for the process to end; its exit code.
    fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo's first day: (customer ids, feature columns in the model's order).
fn demo_rows(n: usize) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
    let path = std::fs::read_dir(repo().join("fixtures/demo/data/2024-01-01"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let frame = lakescore_engine::score::read_parquet(&path).unwrap();
    let ids = lakescore_engine::score::string_values(&frame, "customer_id").unwrap();
    let ids: Vec<String> = ids.iter().take(n).map(|s| s.unwrap().to_string()).collect();
    let features = [
        "tenure_months",
        "monthly_charges",
        "support_calls",
        "contract_months",
        "late_payments",
    ];
    let columns = features
        .iter()
        .map(|f| {
            let mut values = parquet_column(&path, f);
            values.truncate(n);
            ((*f).to_string(), values)
        })
        .collect();
    (ids, columns)
}

fn number(x: f64) -> serde_json::Value {
    if x.is_nan() {
        serde_json::Value::Null
    } else {
        serde_json::json!(x)
    }
}

/// The same rows in each of MLflow's request forms, and as CSV.
fn payloads(columns: &[(String, Vec<f64>)]) -> Vec<(&'static str, &'static str, String)> {
    let n = columns[0].1.len();
    let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
    let row = |r: usize| -> Vec<serde_json::Value> {
        columns.iter().map(|(_, v)| number(v[r])).collect()
    };
    let record = |r: usize| -> serde_json::Value {
        serde_json::Value::Object(
            columns
                .iter()
                .map(|(c, v)| (c.clone(), number(v[r])))
                .collect(),
        )
    };
    let split = serde_json::json!({"dataframe_split": {
        "columns": names, "index": (0..n).collect::<Vec<_>>(), "data": (0..n).map(row).collect::<Vec<_>>()}});
    let records = serde_json::json!({"dataframe_records": (0..n).map(record).collect::<Vec<_>>()});
    let instances = serde_json::json!({"instances": (0..n).map(record).collect::<Vec<_>>()});
    let inputs = serde_json::json!({"inputs": columns.iter()
        .map(|(c, v)| (c.clone(), serde_json::Value::Array(v.iter().map(|x| number(*x)).collect())))
        .collect::<serde_json::Map<_, _>>()});
    let mut csv = names.join(",") + "\n";
    for r in 0..n {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, v)| {
                if v[r].is_nan() {
                    String::new()
                } else {
                    v[r].to_string()
                }
            })
            .collect();
        csv += &(cells.join(",") + "\n");
    }
    vec![
        ("dataframe_split", "application/json", split.to_string()),
        ("dataframe_records", "application/json", records.to_string()),
        ("instances", "application/json", instances.to_string()),
        ("inputs", "application/json", inputs.to_string()),
        ("csv", "text/csv", csv),
    ]
}

/// MLflow's `test_scoring_server_successfully_evaluates_correct_dataframes_*`
/// and the TF-serving forms: every form gives XGBoost's own predictions.
#[test]
fn every_request_form_gives_the_libraries_predictions() {
    let env = Env::new();
    env.register_demo();
    let server = Server::champion(&env, &["--no-log"]);
    let (ids, columns) = demo_rows(40);
    let expected = expected_demo("2024-01-01");
    for (form, content_type, body) in payloads(&columns) {
        let answer = server.post(content_type, &body);
        assert_eq!(answer.status, 200, "{form}: {}", answer.body);
        assert_eq!(answer.version().as_deref(), Some("1"), "{form}");
        let predictions = answer.json()["predictions"].as_array().unwrap().clone();
        assert_eq!(predictions.len(), ids.len(), "{form}");
        for (id, p) in ids.iter().zip(&predictions) {
            let (got, want) = (p.as_f64().unwrap(), expected[id]);
            assert!((got - want).abs() <= 1e-6, "{form} {id}: {got} vs {want}");
        }
    }
    // `params` beside the data is accepted (MLflow passes it to the model).
    let with_params = r#"{"dataframe_split": {"columns": ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"], "data": [[1, 2, 3, 4, 5]]}, "params": {"x": 1}}"#;
    assert_eq!(server.post("application/json", with_params).status, 200);
    assert_eq!(
        server
            .post("application/json; charset=UTF-8", with_params)
            .status,
        200
    );
}

/// MLflow's error cases: malformed JSON, a body that is not a dictionary,
/// no or two format keys, orientations swapped, index and data lengths,
/// missing or non-numeric columns, an empty CSV: 400 with its error body;
/// another content type or charset: 415.
#[test]
fn bad_requests_are_answered_as_mlflow_answers_them() {
    let env = Env::new();
    env.register_demo();
    let server = Server::start(&env, &["--model", "models:/churn/production", "--no-log"]);
    let cols = r#"["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]"#;
    for (case, content_type, body, says) in [
        (
            "invalid json",
            "application/json",
            "not,json".to_string(),
            "Failed to parse input from JSON",
        ),
        (
            "not a dictionary",
            "application/json",
            "[1, 2, 3]".into(),
            "with exactly one of the input fields",
        ),
        (
            "no format key",
            "application/json",
            r#"{"not": "a serialized dataframe"}"#.into(),
            "exactly one of the input fields",
        ),
        (
            "two format keys",
            "application/json",
            format!(
                r#"{{"dataframe_split": {{"columns": {cols}, "data": [[1,2,3,4,5]]}}, "instances": [[1,2,3,4,5]]}}"#
            ),
            "exactly one of the input fields",
        ),
        (
            "records sent as split",
            "application/json",
            r#"{"dataframe_split": [{"tenure_months": 1}]}"#.into(),
            "Dataframe split format must be a dictionary. Got list.",
        ),
        (
            "split sent as records",
            "application/json",
            format!(r#"{{"dataframe_records": {{"columns": {cols}, "data": [[1,2,3,4,5]]}}}}"#),
            "Dataframe records format must be a list of records. Got dictionary.",
        ),
        (
            "index length",
            "application/json",
            format!(
                r#"{{"dataframe_split": {{"columns": {cols}, "index": [0, 1, 2], "data": [[1,2,3,4,5], [1,2,3,4,5]]}}}}"#
            ),
            "does not match length of index",
        ),
        (
            "row length",
            "application/json",
            format!(r#"{{"dataframe_split": {{"columns": {cols}, "data": [[1,2,3]]}}}}"#),
            "5 columns passed, passed data had 3 columns",
        ),
        (
            "missing column",
            "application/json",
            r#"{"dataframe_records": [{"tenure_months": 1}]}"#.into(),
            "Model is missing inputs ['monthly_charges', 'support_calls', 'contract_months', 'late_payments']",
        ),
        (
            "non-numeric column",
            "application/json",
            format!(r#"{{"dataframe_split": {{"columns": {cols}, "data": [["x",2,3,4,5]]}}}}"#),
            "Incompatible input types for column tenure_months",
        ),
        (
            "column lengths",
            "application/json",
            r#"{"inputs": {"tenure_months": [1, 2], "monthly_charges": [1]}}"#.into(),
            "are not the same",
        ),
        (
            "empty csv",
            "text/csv",
            String::new(),
            "No columns to parse",
        ),
    ] {
        let answer = server.post(content_type, &body);
        assert_eq!(answer.status, 400, "{case}: {}", answer.body);
        let error = answer.json();
        assert_eq!(error["error_code"], "BAD_REQUEST", "{case}");
        assert!(
            error.get("stack_trace").is_some(),
            "{case}: MLflow's error body"
        );
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{case}: {message}");
    }
    for content_type in [
        "text/plain",
        "application/octet-stream",
        "application/json; charset=UTF-16",
        "application/json; format=pandas-split",
    ] {
        let answer = server.post(content_type, "{}");
        assert_eq!(answer.status, 415, "{content_type}: {}", answer.body);
    }
    // The health routes.
    for path in ["/ping", "/health"] {
        let answer = server.get(path);
        assert_eq!((answer.status, answer.body.as_str()), (200, "\n"), "{path}");
    }
    // /version as MLflow's client reads it (text), naming the serving version.
    let version = server.get("/version");
    assert!(
        version.body.starts_with("lakescore ") && version.body.contains("churn version 1"),
        "{}",
        version.body
    );
    assert_eq!(version.version().as_deref(), Some("1"));
    let metadata = server.get("/metadata").json();
    assert_eq!(metadata["model_version"], 1);
    assert_eq!(metadata["model_uri"], "models:/churn/Production");
    assert_eq!(server.get("/nope").status, 404);
}

#[test]
fn a_multiclass_model_answers_the_class_and_its_probabilities() {
    let env = Env::new();
    env.register_xgboost("iris", "fixtures/flavors/xgboost/multi_softprob.json");
    let server = Server::start(&env, &["--model", "models:/iris/1", "--no-log"]);
    let data = repo().join("fixtures/flavors/data/xgb_multi_softprob.parquet");
    let features: Vec<String> = (0..6).map(|i| format!("f{i}")).collect();
    let columns: Vec<(String, Vec<f64>)> = features
        .iter()
        .map(|f| (f.clone(), parquet_column(&data, f)))
        .collect();
    let (_, _, records) = payloads(&columns).swap_remove(1);
    let answer = server.post("application/json", &records);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let predictions = answer.json()["predictions"].as_array().unwrap().clone();
    let class = parquet_column(&data, "expected_class");
    assert_eq!(predictions.len(), class.len());
    for (r, p) in predictions.iter().enumerate() {
        assert_eq!(p["prediction"].as_f64().unwrap(), class[r], "row {r}");
        for c in 0..3 {
            let want = parquet_column(&data, &format!("expected_prob_{c}"))[r];
            let got = p[format!("prob_{c}")].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-6,
                "row {r} class {c}: {got} vs {want}"
            );
        }
    }
    let metadata = server.get("/metadata").json();
    assert_eq!(metadata["outputs"].as_array().unwrap().len(), 4);
    assert_eq!(metadata["inputs"][0]["name"], "f0");
}

/// With a token, scoring routes answer 401 without it; health, version and
/// metrics stay open.
#[test]
fn a_token_guards_the_scoring_routes() {
    let env = Env::new();
    env.register_demo();
    let token = env.path("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let server = Server::champion(&env, &["--no-log", "--token-file", token.to_str().unwrap()]);
    let body = r#"{"dataframe_split": {"columns": ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"], "data": [[1, 2, 3, 4, 5]]}}"#;
    let json_type = ("content-type", "application/json");
    let none = server.send("POST", "/invocations", &[json_type], body);
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error_code"], "UNAUTHENTICATED");
    assert!(none.headers.contains_key("www-authenticate"));
    let wrong = server.send(
        "POST",
        "/invocations",
        &[json_type, ("authorization", "Bearer s3cre")],
        body,
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(server.get("/metadata").status, 401);
    let right = server.send(
        "POST",
        "/invocations",
        &[json_type, ("authorization", "Bearer s3cret")],
        body,
    );
    assert_eq!(right.status, 200, "{}", right.body);
    for open in ["/ping", "/health", "/version", "/metrics"] {
        assert_eq!(server.get(open).status, 200, "{open}");
    }
    drop(server);
    // The environment variable works as the file does.
    let server = Server::start_with(
        &env,
        &["--model", "models:/churn@champion", "--no-log"],
        &[("LAKESCORE_SERVE_TOKEN", "t0ken")],
    );
    let none = server.send("POST", "/invocations", &[json_type], body);
    assert_eq!(none.status, 401);
}

#[test]
fn a_body_over_the_limit_is_refused() {
    let env = Env::new();
    env.register_demo();
    let server = Server::champion(&env, &["--no-log", "--max-body-mb", "1"]);
    let big = format!(
        r#"{{"instances": [{}]}}"#,
        vec!["[1,2,3,4,5]"; 200_000].join(",")
    );
    let answer = server.post("application/json", &big);
    assert_eq!(
        answer.status,
        413,
        "{}",
        &answer.body[..answer.body.len().min(200)]
    );
    assert_eq!(answer.json()["error_code"], "REQUEST_LIMIT_EXCEEDED");
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains(r#"lakescore_requests_total{route="invocations",status="413"} 1"#),
        "{metrics}"
    );
}

/// An alias moved while requests flow: the server switches to the new
/// version without a failed request, versions only move forward, and the
/// inference log holds every request with the version that answered it.
#[test]
fn the_server_follows_the_registry_under_load() {
    let env = Env::new();
    env.register_demo();
    let server = Server::champion(&env, &["--poll-seconds", "0.2", "--flush-seconds", "0.2"]);
    let (_, columns) = demo_rows(3);
    let (_, _, body) = payloads(&columns).swap_remove(0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let answer = server.post("application/json", &body);
                assert_eq!(answer.status, 200, "{}", answer.body);
                seen.push(answer.version().unwrap());
            }
            seen
        });
        std::thread::sleep(Duration::from_millis(300));
        env.register_xgboost("churn", "fixtures/demo/churn_model.json");
        env.ok(&["registry", "alias", "churn", "2", "champion"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.get("/version").version().as_deref() != Some("2") {
            assert!(Instant::now() < deadline, "the server never switched");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        load.join().unwrap()
    });
    let first_two = seen
        .iter()
        .position(|v| v == "2")
        .expect("answers from version 2");
    assert!(first_two > 0, "answers from version 1 first");
    assert!(
        seen[first_two..].iter().all(|v| v == "2"),
        "versions only move forward"
    );
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains(r#"lakescore_serving_model_version{model="churn"} 2"#),
        "{metrics}"
    );
    // Every answered row reaches the log, with its version.
    let mut server = server;
    server.stop();
    let by_version = logged(&env, "model_version");
    for version in ["1", "2"] {
        let answered = seen.iter().filter(|v| *v == version).count() * 3;
        assert_eq!(
            by_version.get(version).copied().unwrap_or(0),
            answered,
            "v{version}"
        );
    }
}

/// How many rows of the inference log hold each value of `column`.
fn logged(env: &Env, column: &str) -> HashMap<String, usize> {
    let (_, batches) = read_table(&env.lake(), "inference/churn").unwrap();
    let mut out = HashMap::new();
    for b in &batches {
        let values = arrow::compute::cast(
            b.column_by_name(column).unwrap(),
            &arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        for v in values.as_string::<i32>().iter().flatten() {
            *out.entry(v.to_string()).or_insert(0) += 1;
        }
    }
    out
}
