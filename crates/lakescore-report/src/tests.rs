//! The page from data made here: its size at 90 days x 20 features, that it
//! needs nothing from a network, that user text is escaped, and which charts
//! it holds.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use lakescore_core::drift::MetricKind;
use lakescore_core::registry::EventKind;
use lakescore_core::runs::{RunStatus, Trigger};

use super::*;

fn day(i: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(i)
}

/// A job scored for `days` dates with drift on `features` features (PSI and
/// KS), histograms of 10 bins for its last date, a promotion half way.
fn report(days: i64, features: usize) -> Report {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 2, 0, 0).unwrap();
    let version = |d: i64| if d < days / 2 { 1 } else { 2 };
    let names: Vec<String> = (0..features).map(|f| format!("feature_{f:02}")).collect();
    let mut drift = Vec::new();
    for d in 0..days {
        for (f, name) in names.iter().enumerate() {
            let psi = ((d as f64) * 0.01 + f as f64 * 0.003) % 0.3;
            drift.push(DriftPoint {
                date: day(d),
                model_version: version(d),
                feature: name.clone(),
                metric: MetricKind::Psi,
                value: Some(psi),
                p_value: None,
                threshold: Some(0.2),
                alert: psi > 0.2,
            });
            let p = 10f64.powf(-((d + f as i64) % 9) as f64);
            drift.push(DriftPoint {
                date: day(d),
                model_version: version(d),
                feature: name.clone(),
                metric: MetricKind::Ks,
                value: Some(0.05),
                p_value: Some(p),
                threshold: Some(0.01),
                alert: p < 0.01,
            });
        }
    }
    let histograms = names
        .iter()
        .flat_map(|name| {
            (0..10).map(move |b| HistogramBin {
                model_version: 2,
                feature: name.clone(),
                bin: b,
                lower: (b > 0).then(|| f64::from(b)),
                upper: (b < 9).then(|| f64::from(b + 1)),
                category: None,
                reference: 100,
                current: 80 + i64::from(b) * 5,
            })
        })
        .collect();
    let runs: Vec<Run> = (0..days)
        .rev()
        .map(|d| Run {
            run_id: format!("run-{d:04}"),
            job_name: "churn_daily".into(),
            logical_date: day(d),
            status: if d == 3 {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            },
            trigger: Trigger::Schedule,
            started_at: start + Duration::days(d + 1),
            duration_ms: 1200 + d * 10,
            rows: 10_000,
            model_version: Some(version(d)),
            drift_alerts: i64::from(d % 7 == 0),
            error: (d == 3).then(|| "input <missing> & gone".to_string()),
        })
        .collect();
    let promotion = Event {
        at: start + Duration::days(days / 2),
        model: "churn".into(),
        version: Some(2),
        kind: EventKind::StageTransition,
        detail: "Staging -> Production".into(),
        target: Some("Production".into()),
        actor: "alice".into(),
        comment: Some("<script>alert(1)</script>".into()),
    };
    let registered = Event {
        at: start,
        model: "churn".into(),
        version: Some(1),
        kind: EventKind::Registered,
        detail: String::new(),
        target: None,
        actor: "alice".into(),
        comment: None,
    };
    Report {
        lake: "file:///tmp/lake".into(),
        generated_at: start + Duration::days(days + 1),
        from: Some(day(0)),
        to: Some(day(days - 1)),
        jobs: vec![JobReport {
            name: "churn_daily".into(),
            model_uri: "models:/churn@champion".into(),
            schedule: Some("0 2 * * * (UTC)".into()),
            next_fire: Some(start + Duration::days(days + 1)),
            last_run: runs.first().cloned(),
            open_alerts: drift.iter().filter(|p| p.alert).take(2).cloned().collect(),
            daily: (0..days)
                .map(|d| DailyScores {
                    date: day(d),
                    model_version: version(d),
                    rows: 10_000,
                    mean_prediction: Some(0.2 + d as f64 * 0.001),
                })
                .collect(),
            markers: vec![promotion.clone()],
            drift,
            histogram_date: Some(day(days - 1)),
            histograms,
        }],
        events: vec![registered, promotion],
        runs,
    }
}

#[test]
fn ninety_days_of_twenty_features_fit_in_five_megabytes() {
    let rendered = render(&report(90, 20)).unwrap();
    let bytes = rendered.html.len();
    assert!(bytes < 5_000_000, "the page has {bytes} bytes");
    // Two model versions x 20 features x (PSI, KS), a heat map per version,
    // 20 histograms, the job's three charts and the registry timeline.
    assert_eq!(rendered.charts["psi"], 40);
    assert_eq!(rendered.charts["ks"], 40);
    assert_eq!(rendered.charts["heatmap"], 2);
    assert_eq!(rendered.charts["histogram"], 20);
    assert_eq!(rendered.charts["scores-rows"], 1);
    assert_eq!(rendered.charts["scores-mean"], 1);
    assert_eq!(rendered.charts["run-durations"], 1);
    assert_eq!(rendered.charts["registry-timeline"], 1);
    let in_page = rendered.html.matches("<svg class=\"chart\"").count();
    assert_eq!(in_page, rendered.charts.values().sum::<usize>());
}

/// `LAKESCORE_REPORT_SAMPLE=FILE cargo test -p lakescore-report` writes the
/// 90-day sample page, to look at in a browser.
#[test]
fn sample_page() {
    if let Some(path) = std::env::var_os("LAKESCORE_REPORT_SAMPLE") {
        std::fs::write(path, render(&report(90, 20)).unwrap().html).unwrap();
    }
}

#[test]
fn the_page_needs_no_network() {
    let html = render(&report(10, 3)).unwrap().html;
    for needle in ["<link", "src=", "@import", "url(", "https://", "<iframe"] {
        assert!(!html.contains(needle), "the page holds {needle:?}");
    }
    // The only address is SVG's namespace, which browsers never fetch.
    let addresses = html.matches("http://").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(addresses, namespaces);
}

#[test]
fn user_text_is_escaped() {
    let html = render(&report(10, 3)).unwrap().html;
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("input &lt;missing&gt; &amp; gone"));
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn alerts_show_in_the_overview_and_as_red_points() {
    let html = render(&report(10, 3)).unwrap().html;
    assert!(
        html.contains("<ul class=\"alerts\">"),
        "open alerts are listed"
    );
    assert!(
        html.contains("ks p = 1.00e-3 &lt; 0.01"),
        "with value and threshold"
    );
    // Alerting points are drawn in the alert colour (rgb(214,39,40) as hex).
    assert!(html.to_lowercase().contains("#d62728"));
}

#[test]
fn an_empty_lake_gives_a_page_that_says_so() {
    let empty = Report {
        lake: "file:///tmp/lake".into(),
        generated_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        from: None,
        to: None,
        jobs: Vec::new(),
        events: Vec::new(),
        runs: Vec::new(),
    };
    let rendered = render(&empty).unwrap();
    assert!(rendered.charts.is_empty());
    assert!(rendered.html.contains("No runs in this lake yet"));
}

#[test]
fn the_outline_of_the_page() {
    // Headings and chart titles in order: the page's structure, without the
    // SVG coordinates.
    let html = render(&report(4, 2)).unwrap().html;
    let mut outline = Vec::new();
    for part in html.split('<').skip(1) {
        for tag in ["h1>", "h2>", "h3>", "title>"] {
            if let Some(text) = part.strip_prefix(tag) {
                outline.push(format!("{}: {text}", &tag[..tag.len() - 1]));
            }
        }
    }
    insta::assert_snapshot!(outline.join("\n"));
}
