//! `lakescore report`: the page written from a real lake; what it gathered
//! checked against the tables as delta-rs reads them; requests that are
//! refused write nothing. (CI opens the demo's page in headless Chromium:
//! `.ci/report_browser.py`.)

use std::collections::BTreeSet;

use lakescore_engine::report::{ReportRequest, gather};

use super::*;

/// The drift rows delta-rs reads from `drift_metrics` or `drift_histograms`,
/// as (run id, logical date as text, one column as text) per row.
fn drift_column(lake: &Path, table: &str, column: &str) -> Vec<(String, String, String)> {
    let (_, batches) = read_table(lake, table).unwrap();
    let text = |b: &RecordBatch, name: &str| {
        let array = arrow::compute::cast(
            b.column_by_name(name).unwrap(),
            &arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let strings = array.as_string::<i32>();
        (0..strings.len())
            .map(|i| {
                if strings.is_valid(i) {
                    strings.value(i).to_string()
                } else {
                    String::new()
                }
            })
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    for b in &batches {
        let (runs, dates, values) = (text(b, "run_id"), text(b, "logical_date"), text(b, column));
        for i in 0..b.num_rows() {
            out.push((runs[i].clone(), dates[i].clone(), values[i].clone()));
        }
    }
    out
}

#[test]
fn the_demo_report_holds_every_part() {
    let env = demo_lake();
    let out = env.path("report.html");
    let summary = json(&env.ok(&["--json", "report", "--out", out.to_str().unwrap()]));
    let report = &summary["report"];
    assert_eq!(report["jobs"], serde_json::json!(["churn_daily"]));
    assert_eq!(report["from"], "2024-01-01");
    assert_eq!(report["to"], "2024-01-02");
    assert_eq!(report["runs"], 2);
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(report["bytes"].as_u64().unwrap() as usize, html.len());

    // Six monitored columns (five features and the prediction) with PSI and
    // KS each, their distributions, a heat map, the job's three charts and
    // the registry timeline: each an SVG element in the page.
    let charts = report["charts"].as_object().unwrap();
    for (kind, n) in [
        ("psi", 6),
        ("ks", 6),
        ("histogram", 6),
        ("heatmap", 1),
        ("scores-rows", 1),
        ("scores-mean", 1),
        ("run-durations", 1),
        ("registry-timeline", 1),
    ] {
        assert_eq!(charts[kind], n, "{kind}: {charts:?}");
        let in_page = html.matches(&format!("data-chart=\"{kind}\"")).count();
        assert_eq!(in_page, n, "{kind} in the page");
    }
    for section in ["overview", "job-churn_daily", "registry", "runs"] {
        assert!(html.contains(&format!("id=\"{section}\"")), "{section}");
    }

    // The open alerts are the second date's alerting metrics, as the
    // drift_metrics table holds them.
    let alerting: BTreeSet<String> = drift_column(&env.lake(), "drift_metrics", "alert")
        .into_iter()
        .zip(drift_column(&env.lake(), "drift_metrics", "feature"))
        .filter(|((_, date, alert), _)| date == "2024-01-02" && alert == "true")
        .map(|(_, (_, _, feature))| feature)
        .collect();
    assert!(alerting.contains("monthly_charges"), "{alerting:?}");
    let overview = &html[html.find("id=\"overview\"").unwrap()..html.find("id=\"job-").unwrap()];
    for feature in &alerting {
        assert!(
            overview.contains(&format!("<li>{feature} ks p = ")),
            "{feature}: {overview}"
        );
    }
    // Nothing is fetched: no scripts, styles or images from elsewhere.
    for needle in ["<link", "src=", "https://", "url("] {
        assert!(!html.contains(needle), "{needle}");
    }
    // Readable by others, as a file a person shares (not a temp file's 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    // Written whole: no temporary file left beside it.
    let beside: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

/// What the page shows is what the tables hold: rows and mean prediction per
/// day from the predictions table, the latest attempt's drift per date (a
/// rerun replaces the first attempt's), histograms whose counts add up to the
/// metrics' sample sizes, and the registry's events.
#[test]
fn what_the_page_shows_agrees_with_the_tables() {
    let env = demo_lake();
    let spec = repo().join("jobs/demo.toml");
    env.expect(3, &["run", spec.to_str().unwrap(), "--date", "2024-01-02"]);
    let lake = Lake::open(env.lake().to_str().unwrap()).unwrap();
    let report = runtime()
        .block_on(gather(&lake, &ReportRequest::default(), chrono::Utc::now()))
        .unwrap();
    let job = &report.jobs[0];

    let expected = predictions_by_day(&env.lake());
    assert_eq!(job.daily.len(), expected.len());
    for (day, ((date, version), (n, sum))) in job.daily.iter().zip(&expected) {
        assert_eq!(day.date.to_string(), *date);
        assert_eq!(day.model_version, *version);
        assert_eq!(day.rows, *n as i64);
        let mean = day.mean_prediction.unwrap();
        assert!((mean - sum / *n as f64).abs() < 1e-12, "{mean}");
    }

    // Two attempts of the second date: the page shows the later one only.
    let runs = read_runs(&env.lake());
    let second: Vec<&RunRow> = runs
        .iter()
        .filter(|r| r.logical_date == lakescore_core::runs::days_since_epoch(job.daily[1].date))
        .collect();
    assert_eq!(second.len(), 2);
    let latest = &second.iter().max_by_key(|r| r.started_at).unwrap().run_id;
    let in_table = drift_column(&env.lake(), "drift_metrics", "metric");
    let of_latest = in_table.iter().filter(|(run, _, _)| run == latest).count();
    let of_first_date = in_table
        .iter()
        .filter(|(_, date, _)| date == "2024-01-01")
        .count();
    assert_eq!(job.drift.len(), of_latest + of_first_date);
    assert!(of_latest > 0 && in_table.len() > job.drift.len());
    assert_eq!(report.runs.len(), 3, "every attempt is in the runs table");

    // The distributions are the latest date's, and their counts add up to
    // the sample sizes its metrics were computed from.
    assert_eq!(job.histogram_date, Some(job.daily[1].date));
    for point in job.drift.iter().filter(|p| {
        p.date == job.daily[1].date && p.metric == lakescore_core::drift::MetricKind::Psi
    }) {
        let bins: Vec<_> = job
            .histograms
            .iter()
            .filter(|b| b.feature == point.feature)
            .collect();
        assert!(!bins.is_empty(), "{}", point.feature);
        let current: i64 = bins.iter().map(|b| b.current).sum();
        let n_current = drift_column(&env.lake(), "drift_metrics", "n_current")
            .into_iter()
            .zip(drift_column(&env.lake(), "drift_metrics", "feature"))
            .find(|((run, _, _), (_, _, f))| run == latest && *f == point.feature)
            .map(|((_, _, n), _)| n.parse::<i64>().unwrap())
            .unwrap();
        assert_eq!(current, n_current, "{}", point.feature);
    }

    let kinds: Vec<&str> = report.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["registered", "alias_set", "stage_transition"]);
    assert_eq!(
        job.markers.len(),
        2,
        "the alias and the promotion are marked"
    );
    assert!(job.next_fire.is_some(), "the demo job is scheduled daily");
}

#[test]
fn refused_requests_write_nothing() {
    let env = demo_lake();
    let out = env.path("report.html");
    let out = out.to_str().unwrap();
    let (_, err) = env.expect(2, &["report", "--out", out, "--job", "churn_daly"]);
    assert!(
        err.contains("no job \"churn_daly\" has runs in this lake (did you mean \"churn_daily\"?)"),
        "{err}"
    );
    let (_, err) = env.expect(
        2,
        &[
            "report",
            "--out",
            out,
            "--from",
            "2024-02-01",
            "--to",
            "2024-01-01",
        ],
    );
    assert!(
        err.contains("--from 2024-02-01 is after --to 2024-01-01"),
        "{err}"
    );
    let (_, err) = env.expect(2, &["report", "--json", "--out", "-"]);
    assert!(err.contains("--json prints a summary"), "{err}");
    assert!(!Path::new(out).exists());

    let elsewhere = Env::new();
    let (_, err) = elsewhere.expect(2, &["report", "--out", out]);
    assert!(err.contains("no lake at"), "{err}");
    assert!(!elsewhere.lake().exists() && !Path::new(out).exists());
}

#[test]
fn a_lake_without_runs_gets_a_page_with_its_registry() {
    let env = Env::new();
    env.register_demo();
    let html = env.ok(&["report", "--out", "-"]);
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..40]);
    assert!(html.contains("No runs in this lake yet"));
    assert!(html.contains("data-chart=\"registry-timeline\""));
    assert_eq!(html.matches("data-chart=").count(), 1);
}

#[test]
fn one_job_and_a_chosen_date() {
    let env = demo_lake();
    let out = env.path("first.html");
    let summary = json(&env.ok(&[
        "--json",
        "report",
        "--job",
        "churn_daily",
        "--to",
        "2024-01-01",
        "--date",
        "2024-01-01",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(summary["report"]["from"], "2024-01-01");
    assert_eq!(summary["report"]["to"], "2024-01-01");
    assert_eq!(summary["report"]["runs"], 1);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Distributions on 2024-01-01"));
    assert!(
        !html.contains("2024-01-02</td>"),
        "the second date is outside the range"
    );
}
