//! The inference log of `lakescore serve`: flushed on SIGTERM, whole
//! requests only after `kill -9`, backpressure when its queue is full,
//! categorical codes logged by name, and drift computed on the logged
//! traffic per model version.

use super::*;

/// SIGTERM: the port closes, a request already being received is answered,
/// and the log is flushed before the process exits 0.
#[test]
fn sigterm_finishes_requests_and_flushes_the_log() {
    let env = Env::new();
    env.register_demo();
    let mut server = Server::champion(&env, &["--flush-seconds", "600", "--flush-rows", "1000000"]);
    let (_, columns) = demo_rows(5);
    let (_, _, body) = payloads(&columns).swap_remove(1);
    for i in 0..20 {
        let answer = server.send(
            "POST",
            "/invocations",
            &[
                ("content-type", "application/json"),
                ("x-request-id", &format!("req-{i}")),
            ],
            &body,
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["x-request-id"], format!("req-{i}").as_str());
    }
    // A request whose body is still arriving when SIGTERM comes.
    let address = server.base.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&address).unwrap();
    write!(
        slow,
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nX-Request-Id: in-flight\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    slow.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    slow.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(server.wait(), Some(0));
    // New connections are refused once it stopped.
    assert!(TcpStream::connect(&address).is_err());
    let logged = logged(&env, "request_id");
    assert_eq!(logged.len(), 21, "{logged:?}");
    assert!(logged.values().all(|n| *n == 5));
    assert_eq!(logged["in-flight"], 5);
}

/// `kill -9` while requests flow: what was committed is whole requests only
/// (one commit per flushed batch), the table reads, and a new server
/// appends to it.
#[test]
fn kill_9_loses_at_most_the_unflushed_window() {
    let env = Env::new();
    env.register_demo();
    let server = Server::champion(&env, &["--flush-rows", "40", "--flush-seconds", "0.05"]);
    let (_, columns) = demo_rows(10);
    let (_, _, body) = payloads(&columns).swap_remove(1);
    let mut answered = 0;
    let deadline = Instant::now() + Duration::from_mins(1);
    // Until a few commits have landed, then a few requests more.
    loop {
        assert_eq!(server.post("application/json", &body).status, 200);
        answered += 1;
        let commits = read_table(&env.lake(), "inference/churn").map_or(0, |(v, _)| v);
        if commits >= 3 || Instant::now() > deadline {
            break;
        }
    }
    for _ in 0..5 {
        assert_eq!(server.post("application/json", &body).status, 200);
        answered += 1;
    }
    server.signal("-KILL");
    let mut server = server;
    assert_eq!(server.wait(), None, "killed by a signal");
    let requests = logged(&env, "request_id");
    assert!(
        !requests.is_empty() && requests.len() <= answered,
        "{} of {answered}",
        requests.len()
    );
    assert!(
        requests.values().all(|n| *n == 10),
        "a request split across commits"
    );
    drop(server);
    let after = Server::champion(&env, &["--flush-seconds", "0.05"]);
    assert_eq!(after.post("application/json", &body).status, 200);
    let mut after = after;
    after.stop();
    assert_eq!(logged(&env, "request_id").len(), requests.len() + 1);
}

/// Send the demo rows of `date` (every file, 500 rows a request).
fn send_demo_day(server: &Server, date: &str) -> usize {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(repo().join(format!("fixtures/demo/data/{date}")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
    files.sort();
    let features = [
        "tenure_months",
        "monthly_charges",
        "support_calls",
        "contract_months",
        "late_payments",
    ];
    let mut sent = 0;
    for path in files {
        let columns: Vec<(String, Vec<f64>)> = features
            .iter()
            .map(|f| ((*f).to_string(), parquet_column(&path, f)))
            .collect();
        let rows = columns[0].1.len();
        for start in (0..rows).step_by(500) {
            let chunk: Vec<(String, Vec<f64>)> = columns
                .iter()
                .map(|(c, v)| (c.clone(), v[start..(start + 500).min(rows)].to_vec()))
                .collect();
            let (_, _, body) = payloads(&chunk).swap_remove(1);
            assert_eq!(server.post("application/json", &body).status, 200);
        }
        sent += rows;
    }
    sent
}

/// Drift rows of `job`: (model version, feature, metric) -> (value, p-value, n_current).
fn drift_of(env: &Env, job: &str) -> BTreeMap<(i64, String, String), (f64, f64, i64)> {
    let (_, batches) = read_table(&env.lake(), "drift_metrics").unwrap();
    let mut out = BTreeMap::new();
    for b in &batches {
        let text = |name: &str| {
            arrow::compute::cast(
                b.column_by_name(name).unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap()
        };
        let (jobs, features, metrics) = (text("job_name"), text("feature"), text("metric"));
        let (jobs, features, metrics) = (
            jobs.as_string::<i32>(),
            features.as_string::<i32>(),
            metrics.as_string::<i32>(),
        );
        let versions = b
            .column_by_name("model_version")
            .unwrap()
            .as_primitive::<Int64Type>();
        let values = b
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Float64Type>();
        let p = b
            .column_by_name("p_value")
            .unwrap()
            .as_primitive::<Float64Type>();
        let n = b
            .column_by_name("n_current")
            .unwrap()
            .as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if jobs.value(i) != job {
                continue;
            }
            out.insert(
                (
                    versions.value(i),
                    features.value(i).to_string(),
                    metrics.value(i).to_string(),
                ),
                (
                    values.value(i),
                    if p.is_null(i) { f64::NAN } else { p.value(i) },
                    n.value(i),
                ),
            );
        }
    }
    out
}

/// Drift on what was served: a job over the inference log (an incremental
/// Delta input, model_version_column) scores nothing and compares each
/// version's logged rows with that version's reference: the served day
/// gives exactly the batch job's drift on the same rows, and the next run
/// takes only the rows logged since, by the version that answered them.
#[test]
fn drift_on_served_traffic_per_model_version() {
    let env = Env::new();
    env.register_demo_with_reference();
    let mut server = Server::champion(&env, &["--flush-seconds", "0.1"]);
    let served = send_demo_day(&server, "2024-01-02");
    server.stop();
    let spec = env.spec(
        "served",
        &format!(
            "name = \"served\"\n[model]\nuri = \"models:/churn@champion\"\n\
             [input]\nformat = \"delta\"\nmode = \"incremental\"\npath = \"{}\"\n\
             model_version_column = \"model_version\"\n\
             [drift]\nmetrics = [\"psi\", \"ks\"]\n",
            env.lake().join("inference/churn").display()
        ),
    );
    let run = json(
        &env.expect(3, &["--json", "run", &spec, "--date", "2024-01-02"])
            .0,
    );
    assert_eq!(run["rows_in"], served);
    assert_eq!(run["rows"], 0, "nothing scored");
    assert!(
        read_table(&env.lake(), "predictions/served").is_none(),
        "nothing written"
    );

    // The batch job on the same day's rows, with the same version and reference.
    let demo = repo().join("jobs/demo.toml");
    env.expect(3, &["run", demo.to_str().unwrap(), "--date", "2024-01-02"]);
    let (ours, batch) = (drift_of(&env, "served"), drift_of(&env, "churn_daily"));
    assert_eq!(ours.len(), 12, "{ours:?}");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        batch.keys().collect::<Vec<_>>()
    );
    for (key, (value, p, n)) in &ours {
        let (bv, bp, bn) = batch[key];
        assert_eq!((*value, *n), (bv, bn), "{key:?}");
        assert!(
            *p == bp || (p.is_nan() && bp.is_nan()),
            "{key:?}: {p} vs {bp}"
        );
    }

    // Version 2 becomes the champion; the next run compares only what it served.
    env.register_demo_with_reference();
    let mut server = Server::champion(&env, &["--flush-seconds", "0.1"]);
    let served_2 = send_demo_day(&server, "2024-01-01");
    server.stop();
    let run = json(
        &env.expect(0, &["--json", "run", &spec, "--date", "2024-01-03"])
            .0,
    );
    assert_eq!(
        run["rows_in"], served_2,
        "only the rows logged since the last run"
    );
    let versions: BTreeSet<i64> = drift_of(&env, "served").keys().map(|k| k.0).collect();
    assert_eq!(versions, BTreeSet::from([1, 2]));
    let (_, prediction) = drift_of(&env, "served")
        .into_iter()
        .find(|(k, _)| k.0 == 2 && k.1 == "__prediction__")
        .unwrap();
    assert_eq!(prediction.2, served_2 as i64);
}

/// A full log queue holds requests back (backpressure) rather than dropping
/// rows; SIGTERM then commits what waits, the held request is answered, and
/// every row is logged.
#[test]
fn a_full_log_queue_holds_requests_back_until_shutdown_drains_it() {
    let env = Env::new();
    env.register_demo();
    let mut server = Server::champion(
        &env,
        &[
            "--queue-rows",
            "10",
            "--flush-rows",
            "1000000",
            "--flush-seconds",
            "600",
        ],
    );
    let (_, columns) = demo_rows(10);
    let (_, _, body) = payloads(&columns).swap_remove(1);
    assert_eq!(server.post("application/json", &body).status, 200);
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("lakescore_inference_log_queue_rows 10"),
        "{metrics}"
    );
    std::thread::scope(|scope| {
        let held = scope.spawn(|| server.post("application/json", &body).status);
        std::thread::sleep(Duration::from_millis(500));
        assert!(!held.is_finished(), "the queue is full: the request waits");
        server.signal("-TERM");
        assert_eq!(held.join().unwrap(), 200);
    });
    assert_eq!(server.wait(), Some(0));
    let logged = logged(&env, "request_id");
    assert_eq!(logged.len(), 2);
    assert!(logged.values().all(|n| *n == 10));
}

/// Categorical inputs given as codes are logged by their category names, and
/// a model with an input named like a column of the log is refused (exit 2)
/// unless the log is off.
#[test]
fn the_log_keeps_categorical_codes_and_refuses_clashing_names() {
    let env = Env::new();
    env.register_xgboost(
        "churn",
        "fixtures/flavors/xgboost/categorical_binary_logistic.json",
    );
    env.ok(&["registry", "alias", "churn", "1", "champion"]);
    let mut server = Server::champion(&env, &["--flush-seconds", "0.1"]);
    let body = r#"{"dataframe_records": [{"f0": 0.5, "c0": 2, "f1": 1.5, "c1": 1}, {"f0": 0.1, "c0": null, "f1": 0.2, "c1": 0}]}"#;
    let answer = server.post("application/json", body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop();
    // This model records its category names: code 2 of c0 is logged as its
    // name (as input tables hold it), the missing one as null.
    let names = logged(&env, "c0");
    assert_eq!(names, HashMap::from([("rot".to_string(), 1)]));

    let clash = env.path("clash.json");
    std::fs::write(
        &clash,
        r#"{"format": "lakescore.linear/v1", "features": ["status", "x"], "coefficients": [1.0, 2.0], "intercept": 0.0, "link": "identity"}"#,
    )
    .unwrap();
    env.ok(&[
        "registry",
        "register",
        "clash",
        "--flavor",
        "linear",
        "--artifact",
        clash.to_str().unwrap(),
    ]);
    let (_, err) = env.expect(2, &["serve", "--model", "models:/clash/1", "--port", "0"]);
    assert!(err.contains("has a column named \"status\""), "{err}");
    let server = Server::start(&env, &["--model", "models:/clash/1", "--no-log"]);
    let answer = server.post(
        "application/json",
        r#"{"dataframe_records": [{"status": 1, "x": 2}]}"#,
    );
    assert_eq!(answer.json()["predictions"][0], 5.0);
}
