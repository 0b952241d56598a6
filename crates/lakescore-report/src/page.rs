//! The page: every chart drawn first ([`Page::draw`]), then laid out with
//! maud, which escapes every text it is given (model names, comments and
//! errors come from users).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use lakescore_core::drift::MetricKind;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::charts::{self, Chart, ChartError, DateSpan};
use crate::model::{DriftPoint, HistogramBin, JobReport, Report, Run};

/// The name drift gives the model's output.
const PREDICTION: &str = "__prediction__";

/// Every chart of the page, by where it goes.
pub(crate) struct Page {
    jobs: Vec<JobCharts>,
    registry: Option<Chart>,
}

struct JobCharts {
    rows: Option<Chart>,
    mean: Option<Chart>,
    durations: Option<Chart>,
    versions: Vec<VersionCharts>,
    distributions: Vec<Chart>,
}

/// Drift of one model version of a job.
struct VersionCharts {
    version: i64,
    heatmap: Chart,
    /// Per feature: its PSI and KS charts (where the job computed them).
    features: Vec<(Option<Chart>, Option<Chart>)>,
}

impl Page {
    pub(crate) fn draw(report: &Report) -> Result<Page, ChartError> {
        let span = match (report.from, report.to) {
            (Some(from), Some(to)) => Some(DateSpan::new(from, to)),
            _ => None,
        };
        let mut jobs = Vec::new();
        for job in &report.jobs {
            jobs.push(job_charts(job, &report.runs, span)?);
        }
        let registry = if report.events.is_empty() {
            None
        } else {
            Some(charts::timeline::registry(&report.events)?)
        };
        Ok(Page { jobs, registry })
    }

    pub(crate) fn charts(&self) -> impl Iterator<Item = &Chart> {
        self.jobs
            .iter()
            .flat_map(|j| {
                j.rows
                    .iter()
                    .chain(&j.mean)
                    .chain(&j.durations)
                    .chain(j.versions.iter().flat_map(|v| {
                        std::iter::once(&v.heatmap)
                            .chain(v.features.iter().flat_map(|(p, k)| p.iter().chain(k)))
                    }))
                    .chain(&j.distributions)
            })
            .chain(&self.registry)
    }

    pub(crate) fn html(&self, report: &Report) -> String {
        let title = format!("lakescore report: {}", report.lake);
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="generator" content="lakescore report";
                    title { (title) }
                    style { (PreEscaped(CSS)) }
                }
                body {
                    header {
                        h1 { "lakescore report" }
                        p.meta {
                            "Lake " code { (report.lake) }
                            @if let (Some(from), Some(to)) = (report.from, report.to) {
                                " · logical dates " (from) " to " (to)
                            }
                            " · generated " (time(report.generated_at))
                        }
                        nav {
                            a href="#overview" { "Overview" }
                            @for job in &report.jobs {
                                a href={ "#job-" (job.name) } { (job.name) }
                            }
                            a href="#registry" { "Registry" }
                            a href="#runs" { "Runs" }
                        }
                    }
                    main {
                        (overview(report))
                        @for (job, charts) in report.jobs.iter().zip(&self.jobs) {
                            (job_section(job, charts))
                        }
                        (registry_section(report, self.registry.as_ref()))
                        (runs_section(&report.runs))
                    }
                    footer { "Written by lakescore from the lake's Delta tables (runs, drift_metrics, drift_histograms, the predictions tables, registry/model_events). Every chart's data can be queried with lakescore sql." }
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
        .into_string()
    }
}

fn job_charts(
    job: &JobReport,
    runs: &[Run],
    span: Option<DateSpan>,
) -> Result<JobCharts, ChartError> {
    let markers: Vec<(f64, String)> = job
        .markers
        .iter()
        .map(|e| (charts::day_of(e.at), charts::marker_label(e)))
        .collect();
    let (rows, mean) = match span {
        Some(span) => (
            Some(charts::scores::rows(&job.name, &job.daily, span, &markers)?),
            Some(charts::scores::mean(&job.name, &job.daily, span, &markers)?),
        ),
        None => (None, None),
    };
    let attempts: Vec<&Run> = runs.iter().filter(|r| r.job_name == job.name).collect();
    let durations = if attempts.is_empty() {
        None
    } else {
        Some(charts::runs::durations(&job.name, &attempts, &markers)?)
    };
    let mut versions = Vec::new();
    if let Some(span) = span {
        for (version, points) in by_version(&job.drift) {
            let features = features(points.iter().map(|p| p.feature.as_str()));
            let psi: Vec<&DriftPoint> = points
                .iter()
                .copied()
                .filter(|p| p.metric == MetricKind::Psi)
                .collect();
            let heatmap = charts::drift::heatmap(version, &features, &psi, span)?;
            let mut per_feature = Vec::new();
            for feature in &features {
                let of = |metric: MetricKind| -> Vec<&DriftPoint> {
                    let mut v: Vec<&DriftPoint> = points
                        .iter()
                        .copied()
                        .filter(|p| p.metric == metric && p.feature == *feature)
                        .collect();
                    v.sort_by_key(|p| p.date);
                    v
                };
                let (p, k) = (of(MetricKind::Psi), of(MetricKind::Ks));
                per_feature.push((
                    (!p.is_empty())
                        .then(|| charts::drift::psi(feature, version, &p, span))
                        .transpose()?,
                    (!k.is_empty())
                        .then(|| charts::drift::ks(feature, version, &k, span))
                        .transpose()?,
                ));
            }
            versions.push(VersionCharts {
                version,
                heatmap,
                features: per_feature,
            });
        }
    }
    let mut distributions = Vec::new();
    let mut bins: BTreeMap<(i64, String), Vec<&HistogramBin>> = BTreeMap::new();
    for b in &job.histograms {
        bins.entry((b.model_version, b.feature.clone()))
            .or_default()
            .push(b);
    }
    let order = features(job.histograms.iter().map(|b| b.feature.as_str()));
    let mut keys: Vec<&(i64, String)> = bins.keys().collect();
    keys.sort_by_key(|(v, f)| (*v, order.iter().position(|o| o == f)));
    for key in keys {
        let mut of = bins[key].clone();
        of.sort_by_key(|b| b.bin);
        distributions.push(charts::distributions::histogram(&key.1, key.0, &of)?);
    }
    Ok(JobCharts {
        rows,
        mean,
        durations,
        versions,
        distributions,
    })
}

/// Drift points by model version.
fn by_version(points: &[DriftPoint]) -> BTreeMap<i64, Vec<&DriftPoint>> {
    let mut out: BTreeMap<i64, Vec<&DriftPoint>> = BTreeMap::new();
    for p in points {
        out.entry(p.model_version).or_default().push(p);
    }
    out
}

/// Feature names in the page's order: the model's output first, then the
/// inputs by name.
fn features<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: BTreeSet<&str> = names.collect();
    let mut out: Vec<String> = set
        .iter()
        .filter(|f| **f == PREDICTION)
        .map(ToString::to_string)
        .collect();
    out.extend(
        set.iter()
            .filter(|f| **f != PREDICTION)
            .map(ToString::to_string),
    );
    out
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn status_badge(run: &Run) -> Markup {
    let (class, text) = match run.status.as_str() {
        "succeeded" if run.drift_alerts > 0 => ("warn", "drift alert".to_string()),
        "succeeded" => ("ok", "succeeded".to_string()),
        "failed" => ("bad", "failed".to_string()),
        other => ("muted", other.replace('_', " ")),
    };
    html! { span class={ "badge " (class) } { (text) } }
}

fn alert_text(p: &DriftPoint) -> String {
    let value = match p.metric {
        MetricKind::Ks | MetricKind::Chi2 => p.p_value.map(|v| format!("p = {v:.2e}")),
        _ => p.value.map(|v| format!("{v:.3}")),
    };
    let threshold = p.threshold.map(|t| match p.metric {
        MetricKind::Ks | MetricKind::Chi2 => format!(" < {t}"),
        _ => format!(" > {t}"),
    });
    format!(
        "{} {} {}{}",
        p.feature,
        p.metric,
        value.unwrap_or_default(),
        threshold.unwrap_or_default()
    )
}

fn overview(report: &Report) -> Markup {
    html! {
        section #overview {
            h2 { "Overview" }
            @if report.jobs.is_empty() {
                p.empty { "No runs in this lake yet: run a job (lakescore run JOB.toml --date D), then write the report again." }
            } @else {
                table.overview {
                    thead { tr {
                        th { "Job" } th { "Last run" } th { "Status" } th { "Model version" }
                        th { "Rows" } th { "Took" } th { "Open drift alerts" } th { "Next scheduled run" }
                    } }
                    tbody {
                        @for job in &report.jobs {
                            tr {
                                td { a href={ "#job-" (job.name) } { (job.name) } br; small { (job.model_uri) } }
                                @if let Some(run) = &job.last_run {
                                    td { (run.logical_date) br; small { (time(run.started_at)) } }
                                    td { (status_badge(run)) }
                                    td { @if let Some(v) = run.model_version { span.version { "v" (v) } } @else { "-" } }
                                    td.num { (run.rows) }
                                    td.num { (seconds(run.duration_ms)) }
                                } @else {
                                    td { "-" } td { "-" } td { "-" } td { "-" } td { "-" }
                                }
                                td {
                                    @if job.open_alerts.is_empty() { span.badge.ok { "none" } }
                                    @else {
                                        ul.alerts { @for a in &job.open_alerts { li { (alert_text(a)) } } }
                                    }
                                }
                                td {
                                    @if let Some(next) = job.next_fire { (time(next)) br; small { (job.schedule.as_deref().unwrap_or("")) } }
                                    @else { "not scheduled" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn job_section(job: &JobReport, charts: &JobCharts) -> Markup {
    let chart = |c: &Chart| PreEscaped(c.html());
    html! {
        section.job id={ "job-" (job.name) } {
            h2 { "Job " (job.name) }
            p.meta { "Model " code { (job.model_uri) }
                @if let Some(s) = &job.schedule { " · schedule " code { (s) } } }
            h3 { "Scores and runs" }
            p.hint { "Vertical lines mark promotions, alias moves and rollbacks of the job's model, at the time they happened." }
            div.grid.wide {
                @if let Some(c) = &charts.rows { (chart(c)) }
                @if let Some(c) = &charts.mean { (chart(c)) }
                @if let Some(c) = &charts.durations { (chart(c)) }
            }
            @for v in &charts.versions {
                h3 { "Drift · model version " (v.version) }
                p.hint { "PSI (alert above the dashed line) and the KS p-value (alert below it) per feature and date; red points alerted. The heat map shades PSI against its threshold; outlined cells alerted." }
                div.heatmap { (chart(&v.heatmap)) }
                div.grid {
                    @for (psi, ks) in &v.features {
                        @if let Some(c) = psi { (chart(c)) }
                        @if let Some(c) = ks { (chart(c)) }
                    }
                }
            }
            @if !charts.distributions.is_empty() {
                h3 { "Distributions on " (job.histogram_date.map(|d| d.to_string()).unwrap_or_default()) }
                p.hint { "Share of the reference and of the date's rows in each PSI bin (numeric: labelled by the bin's upper edge) or category." }
                div.grid { @for c in &charts.distributions { (chart(c)) } }
            }
        }
    }
}

fn registry_section(report: &Report, timeline: Option<&Chart>) -> Markup {
    html! {
        section #registry {
            h2 { "Registry timeline" }
            @if let Some(c) = timeline { div.heatmap { (PreEscaped(c.html())) } }
            @if report.events.is_empty() {
                p.empty { "No registry events." }
            } @else {
                table.events.sortable {
                    thead { tr { th { "Time" } th { "Model" } th { "Version" } th { "Event" } th { "Change" } th { "Actor" } th { "Comment" } } }
                    tbody {
                        @for e in report.events.iter().rev() {
                            tr {
                                td data-v=(e.at.timestamp()) { (time(e.at)) }
                                td { (e.model) }
                                td.num { @if let Some(v) = e.version { (v) } }
                                td { (e.kind.as_str().replace('_', " ")) }
                                td { (e.detail) }
                                td { (e.actor) }
                                td { (e.comment.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn runs_section(runs: &[Run]) -> Markup {
    html! {
        section #runs {
            h2 { "Runs" }
            p.controls {
                input #runs-filter type="search" placeholder="Filter: job, date, status, version, error…" aria-label="Filter runs";
                " " span #runs-count { (runs.len()) " runs" }
                " · click a column to sort"
            }
            table #runs-table .sortable {
                thead { tr {
                    th { "Started (UTC)" } th { "Job" } th { "Logical date" } th { "Status" } th { "Trigger" }
                    th { "Model version" } th { "Rows" } th { "Took (s)" } th { "Alerts" } th { "Run id" } th { "Error" }
                } }
                tbody {
                    @for r in runs {
                        tr {
                            td data-v=(r.started_at.timestamp_micros()) { (time(r.started_at)) }
                            td { (r.job_name) }
                            td { (r.logical_date) }
                            td data-v=(r.status.as_str()) { (status_badge(r)) }
                            td { (r.trigger.as_str()) }
                            td.num { @if let Some(v) = r.model_version { (v) } }
                            td.num { (r.rows) }
                            td.num data-v=(r.duration_ms) { (format!("{:.1}", r.duration_ms as f64 / 1000.0)) }
                            td.num { (r.drift_alerts) }
                            td { code { (r.run_id) } }
                            td.error { (r.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

const CSS: &str = r#"
:root { --fg: #1f2933; --muted: #6b7785; --line: #e3e6ea; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #14213d; color: #fff; padding: 16px 28px 10px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { margin: 0 0 8px; color: #cfd8e3; }
header code { color: #fff; }
nav a { color: #fca311; margin-right: 16px; text-decoration: none; font-weight: 600; }
main { padding: 8px 28px 28px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px 18px; margin: 16px 0; }
h2 { font-size: 18px; margin: 4px 0 10px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .hint, small { color: var(--muted); }
.hint { margin: 0 0 8px; font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-dir="asc"]::after { content: " ▲"; }
table.sortable th[data-dir="desc"]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { color: #b42318; max-width: 420px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.ok { background: #dcfce7; color: #166534; }
.badge.warn { background: #ffedd5; color: #9a3412; }
.badge.bad { background: #fee2e2; color: #991b1b; }
.badge.muted { background: #eceff3; color: #4b5563; }
.version { font-weight: 600; }
ul.alerts { margin: 0; padding-left: 16px; color: #9a3412; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 8px; }
.grid.wide { grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); }
svg.chart { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.heatmap svg.chart { width: auto; max-width: 100%; }
.controls input { width: 340px; padding: 5px 8px; border: 1px solid #c8ced6; border-radius: 6px; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; }
"#;

/// Sorting by a column (numbers as numbers, `data-v` when a cell has one) and
/// the runs filter. No library: a few lines that need no network.
const SCRIPT: &str = r##"
(function () {
  function key(cell) { return cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim(); }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      th.addEventListener("click", function () {
        var asc = th.dataset.dir !== "asc";
        Array.prototype.forEach.call(heads, function (h) { delete h.dataset.dir; });
        th.dataset.dir = asc ? "asc" : "desc";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[i]), y = key(b.cells[i]);
          var nx = Number(x), ny = Number(y);
          var c = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var filter = document.getElementById("runs-filter");
  var table = document.getElementById("runs-table");
  var count = document.getElementById("runs-count");
  if (filter && table) {
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
        row.hidden = !keep;
        if (keep) { shown += 1; }
      });
      count.textContent = shown + " of " + table.tBodies[0].rows.length + " runs";
    });
    // A link can carry the filter: report.html#q=failed
    if (location.hash.indexOf("#q=") === 0) {
      filter.value = decodeURIComponent(location.hash.slice(3));
      filter.dispatchEvent(new Event("input"));
    }
  }
})();
"##;
