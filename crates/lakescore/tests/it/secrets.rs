//! Secrets never leak: storage credentials in the environment and the serve
//! token are planted, a full session runs with debug logging, and every
//! output, log line, log entry and table row of the lake is searched for them.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;

use super::*;

const SECRET: &str = "planted-Secret-7f3a9c2e";

/// Environment variables that hold credentials, each set to a variant of the secret.
fn planted_env() -> Vec<(String, String)> {
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "GOOGLE_SERVICE_ACCOUNT_KEY",
        "LAKESCORE_SERVE_TOKEN",
    ]
    .iter()
    .map(|k| (k.to_string(), format!("{SECRET}-{k}")))
    .collect()
}

#[test]
fn planted_secrets_appear_in_no_output_log_or_table() {
    let env = Env::new();
    let vars = planted_env();
    let mut outputs = String::new();
    let mut session = |args: &[&str], codes: &[i32]| {
        let out = Command::new(BIN)
            .arg("-vv")
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", env.lake())
            .env("RUST_LOG", "debug")
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert!(
            codes.contains(&out.status.code().unwrap_or(-1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push_str(&String::from_utf8_lossy(&out.stdout));
        outputs.push_str(&String::from_utf8_lossy(&out.stderr));
    };
    let artifact = repo().join("fixtures/demo/churn_model.json");
    let reference = repo().join("fixtures/demo/reference.parquet");
    session(
        &[
            "registry",
            "register",
            "churn",
            "--flavor",
            "xgboost",
            "--artifact",
            artifact.to_str().unwrap(),
            "--reference",
            reference.to_str().unwrap(),
        ],
        &[0],
    );
    session(&["registry", "alias", "churn", "1", "champion"], &[0]);
    let spec = repo().join("jobs/demo.toml");
    let spec = spec.to_str().unwrap();
    session(&["run", spec, "--date", "2024-01-01"], &[0]);
    session(&["--json", "run", spec, "--date", "2024-01-02"], &[3]);
    session(&["--json", "runs"], &[0]);
    session(&["--json", "sql", "SELECT * FROM runs"], &[0]);
    session(&["maintain"], &[0]);

    // The server with a token file, logging scored rows, at debug level.
    let token = env.path("token");
    std::fs::write(&token, format!("{SECRET}-file\n")).unwrap();
    let mut server = Command::new(BIN)
        .args([
            "-vv",
            "--json",
            "serve",
            "--port",
            "0",
            "--model",
            "models:/churn@champion",
        ])
        .args(["--token-file", token.to_str().unwrap(), "--flush-rows", "1"])
        .current_dir(repo())
        .env("LAKESCORE_LAKE", env.lake())
        .env("RUST_LOG", "debug")
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        // A file, not a pipe: debug logging would fill a pipe nobody reads yet.
        .stderr(std::fs::File::create(env.path("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    outputs.push_str(&ready);
    let address = json(&ready)["address"].as_str().unwrap().to_string();
    let body = r#"{"dataframe_split": {"columns": ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"], "data": [[1, 2, 3, 4, 5]]}}"#;
    let http = reqwest::Client::new();
    for (bearer, status) in [
        (format!("{SECRET}-file"), 200),
        (format!("{SECRET}-wrong"), 401),
    ] {
        let (got, text) = runtime().block_on(async {
            let answer = http
                .post(format!("{address}/invocations"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {bearer}"))
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        });
        assert_eq!(got, status, "{text}");
        outputs.push_str(&text);
    }
    // SIGTERM: the server drains and commits the inference log, then exits.
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    rest.push_str(&std::fs::read_to_string(env.path("serve.log")).unwrap());
    outputs.push_str(&rest);
    assert!(outputs.contains("DEBUG"), "debug logging was on");

    // Every output and log line.
    assert!(!outputs.contains(SECRET), "a secret was printed or logged");
    // Every file of the lake as bytes (log entries, checkpoints, profiles, leases)...
    let mut tables = 0;
    for file in walk(&env.lake()).into_iter().filter(|p| p.is_file()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{} holds a secret",
            file.display()
        );
        if file.ends_with("_delta_log/00000000000000000000.json") {
            tables += 1;
        }
    }
    // ...and every row of every table, decoded (Parquet pages are compressed).
    runtime().block_on(async {
        let lake = Lake::open(env.lake().to_str().unwrap()).unwrap();
        let all = lake.tables().await.unwrap();
        assert_eq!(all.len(), tables);
        assert!(all.contains(&"inference/churn".to_string()), "{all:?}");
        for rel in all {
            let table = lake.open_table(&rel).await.unwrap().unwrap();
            let options = arrow::util::display::FormatOptions::default();
            for batch in table.read_all().await.unwrap().batches {
                for column in batch.columns() {
                    let cells =
                        arrow::util::display::ArrayFormatter::try_new(column, &options).unwrap();
                    for i in 0..batch.num_rows() {
                        let cell = cells.value(i).to_string();
                        assert!(!cell.contains(SECRET), "table {rel} holds a secret: {cell}");
                    }
                }
            }
        }
    });
}
