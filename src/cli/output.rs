//! What the CLI prints: tables for people, JSON for machines, progress on stderr.

use std::io::IsTerminal;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::lake::Lake;
use crate::registry::Registry;
use crate::registry::diff::VersionDiff;
use crate::registry::records::ModelEventRow;
use crate::registry::state::{ModelState, RequestStatus, TransitionRequest, VersionState};
use crate::runner::RunReport;
use crate::spec::InputFormat;

pub fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string(value).expect("serializable output")
    );
}

/// A spinner with a row count, only when stderr is a terminal and not `--quiet`.
pub fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} scoring {human_pos} rows ({per_sec}) {elapsed}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// A bar over `total` items, only when stderr is a terminal and not `--quiet`.
pub fn count_bar(quiet: bool, total: u64, what: &str) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {what} {{elapsed}} (eta {{eta}})"
        ))
        .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    Some(bar)
}

pub fn print_backfill(r: &crate::runner::backfill::BackfillReport) {
    let verb = if r.dry_run {
        "would backfill"
    } else {
        "backfill of"
    };
    println!(
        "{verb} {} from {} to {} (rerun {:?})",
        r.job_name, r.from, r.to, r.rerun
    );
    println!(
        "  {:<10} {:<10} {:<10} {:>7} {:>9} {:>6}  RUN / ERROR",
        "DATE", "ACTION", "BEFORE", "MODEL", "ROWS", "ALERTS"
    );
    for d in &r.dates {
        let model = d
            .model_version
            .map(|v| format!("v{v}"))
            .unwrap_or("-".into());
        let rows = d.rows.map(|n| n.to_string()).unwrap_or("-".into());
        let tail = d
            .error
            .as_deref()
            .map(|e| e.lines().next().unwrap_or_default().to_string())
            .or_else(|| d.run_id.clone())
            .unwrap_or_default();
        println!(
            "  {:<10} {:<10} {:<10} {:>7} {:>9} {:>6}  {tail}",
            d.date,
            d.action,
            d.previous.as_deref().unwrap_or("-"),
            model,
            rows,
            d.drift_alerts
        );
    }
    let ran = r.dates.iter().filter(|d| d.run_id.is_some()).count();
    let failed = r.dates.iter().filter(|d| d.action == "failed").count();
    let skipped = r.dates.iter().filter(|d| d.action == "skip").count();
    if !r.dry_run {
        println!("  {ran} run(s) succeeded, {failed} failed, {skipped} date(s) skipped");
    }
}

pub fn print_event(e: &crate::scheduler::Event) {
    use crate::scheduler::Event;
    let line = match e {
        Event::Loaded {
            job,
            path,
            next_fire,
        } => format!(
            "loaded {job} from {path}; next fire {}",
            next_fire.map(|t| t.to_rfc3339()).unwrap_or("-".into())
        ),
        Event::Invalid { path, error } => format!("skipped invalid spec {path}: {error}"),
        Event::Unloaded { job } => format!("unloaded {job}"),
        Event::Started {
            job,
            fire,
            date,
            attempt,
        } => format!(
            "started {job} for {date} (fire {}){}",
            fire.to_rfc3339(),
            if *attempt > 0 {
                format!(", retry {attempt}")
            } else {
                String::new()
            }
        ),
        Event::Finished {
            job,
            fire,
            status,
            run_id,
            error,
        } => format!(
            "{job} (fire {}) {status}{}",
            fire.to_rfc3339(),
            error
                .as_deref()
                .map(|e| format!(": {e}"))
                .or_else(|| run_id.as_deref().map(|r| format!(" (run {r})")))
                .unwrap_or_default()
        ),
        Event::Skipped { job, fire, reason } => {
            format!("skipped {job} (fire {}): {reason}", fire.to_rfc3339())
        }
        Event::Stopping => "stopping: no new runs; waiting for running jobs".into(),
        Event::Stopped => "stopped".into(),
    };
    println!("{} {line}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"));
}

pub fn print_status(jobs: &[crate::runner::status::JobStatus]) {
    println!(
        "{:<20} {:<14} {:<25} {:<30} {:<8} NOTE",
        "JOB", "SCHEDULE", "NEXT FIRE (UTC)", "LAST RUN", "MODEL"
    );
    for j in jobs {
        let last = j
            .last_run
            .as_ref()
            .map(|l| format!("{} {} ({})", l.logical_date, l.status, l.trigger))
            .unwrap_or("-".into());
        let next = if j.suspended {
            "suspended".to_string()
        } else {
            j.next_fire
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or("-".into())
        };
        let model = j
            .model_version
            .map(|v| format!("v{v}"))
            .unwrap_or("-".into());
        println!(
            "{:<20} {:<14} {:<25} {:<30} {:<8} {}",
            j.job_name.as_deref().unwrap_or("?"),
            j.schedule.as_deref().unwrap_or("-"),
            next,
            last,
            model,
            j.error.as_deref().unwrap_or(&j.path)
        );
    }
}

fn micros_to_string(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| us.to_string())
}

pub fn print_run(r: &RunReport, lake: &Lake) {
    if r.dry_run {
        println!(
            "dry run of {} for {}: would score {} input file(s) from {} with {} version {} into {}",
            r.job_name,
            r.logical_date,
            r.input_files,
            r.input,
            r.model_name,
            r.model_version,
            r.output_table
        );
        return;
    }
    println!(
        "{} {} for {}: scored {} rows with {} version {} (run {})",
        r.job_name, r.status, r.logical_date, r.rows, r.model_name, r.model_version, r.run_id
    );
    println!(
        "  wrote {} (Delta version {}, {} file(s) added, {} replaced) in {} ms",
        r.output_table,
        r.output_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        r.files_added,
        r.files_removed,
        r.duration_ms
    );
    println!("  run recorded in {}runs", lake.root());
    if r.drift_metrics > 0 {
        println!(
            "  drift: {} metrics in {}drift_metrics, {} alert(s)",
            r.drift_metrics,
            lake.root(),
            r.drift_alerts.len()
        );
        print_alerts(&r.drift_alerts);
    }
}

pub fn print_drift(r: &crate::runner::drift_cmd::DriftReport, lake: &Lake) {
    println!(
        "{} drift for {} ({})",
        r.job_name, r.logical_date, r.drift_id
    );
    for v in &r.versions {
        match &v.skipped {
            None => println!(
                "  {} version {}: {} rows compared with its reference",
                v.model_name, v.model_version, v.rows
            ),
            Some(why) => println!(
                "  {} version {}: {} rows, skipped: {why}",
                v.model_name, v.model_version, v.rows
            ),
        }
    }
    println!(
        "  {} metrics in {}drift_metrics, {} alert(s)",
        r.drift_metrics,
        lake.root(),
        r.drift_alerts.len()
    );
    print_alerts(&r.drift_alerts);
}

fn print_alerts(alerts: &[crate::runner::DriftAlert]) {
    for a in alerts {
        println!(
            "    ALERT {} {} = {} (p = {}, threshold {})",
            a.feature,
            a.metric,
            fmt_opt(a.value),
            fmt_opt(a.p_value),
            fmt_opt(a.threshold)
        );
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
}

pub fn print_show(v: &VersionState, profile: Option<&crate::drift::ReferenceProfile>) {
    let r = &v.record;
    println!("{} version {} ({})", r.name, r.version, r.summary);
    println!("  stage     {}", v.stage);
    println!(
        "  aliases   {}",
        if v.aliases.is_empty() {
            "-".into()
        } else {
            v.aliases.join(", ")
        }
    );
    println!("  flavor    {}", r.flavor);
    println!("  features  {}", r.features.join(", "));
    println!(
        "  artifact  {} (sha256 {})",
        r.artifact_path, r.artifact_sha256
    );
    println!(
        "  created   {} by {}",
        micros_to_string(r.created_at),
        r.created_by
    );
    if let Some(d) = &r.description {
        println!("  about     {d}");
    }
    println!("  tags      {}", r.tags);
    if let Some(m) = &r.metrics {
        println!("  metrics   {m}");
    }
    if let Some(p) = &r.params {
        println!("  params    {p}");
    }
    for c in &v.comments {
        println!(
            "  comment   {} {}: {}",
            micros_to_string(c.at),
            c.actor,
            c.text
        );
    }
    match profile {
        None => {
            println!("  reference profile: none (register with --reference to enable drift checks)")
        }
        Some(p) => {
            println!("  reference profile: {} rows from {}", p.rows, p.source);
            println!(
                "    {:<20} {:>10} {:>9} {:>12} {:>12} {:>12} {:>12}",
                "FEATURE", "COUNT", "NULLS", "MIN", "MEAN", "STD", "MAX"
            );
            for (name, f) in &p.features {
                match f {
                    crate::drift::profile::ColumnProfile::Numeric(f) => println!(
                        "    {:<20} {:>10} {:>8.2}% {:>12} {:>12} {:>12} {:>12}{}",
                        name,
                        f.count,
                        f.null_rate * 100.0,
                        fmt_opt(f.min),
                        fmt_opt(f.mean),
                        fmt_opt(f.std),
                        fmt_opt(f.max),
                        if f.sampled { " (sampled)" } else { "" }
                    ),
                    crate::drift::profile::ColumnProfile::Categorical(c) => {
                        let mut top: Vec<(&String, &u64)> = c.categories.iter().collect();
                        top.sort_by(|a, b| b.1.cmp(a.1));
                        let shown: Vec<String> = top
                            .iter()
                            .take(4)
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        println!(
                            "    {:<20} {:>10} {:>8.2}% {} categories: {}{}",
                            name,
                            c.count,
                            c.null_rate * 100.0,
                            c.categories.len(),
                            shown.join(", "),
                            if top.len() > 4 { ", ..." } else { "" }
                        );
                    }
                }
            }
            for (name, why) in &p.skipped {
                println!("    {name:<20} not profiled: {why}");
            }
        }
    }
}

pub fn print_versions(versions: &[&VersionState]) {
    println!(
        "{:<20} {:>7}  {:<10} {:<20} {:<8} {:<23} SUMMARY",
        "NAME", "VERSION", "STAGE", "ALIASES", "FLAVOR", "CREATED"
    );
    for v in versions {
        let r = &v.record;
        println!(
            "{:<20} {:>7}  {:<10} {:<20} {:<8} {:<23} {}",
            r.name,
            r.version,
            v.stage.as_str(),
            if v.aliases.is_empty() {
                "-".to_string()
            } else {
                v.aliases.join(",")
            },
            r.flavor,
            micros_to_string(r.created_at),
            r.summary
        );
    }
}

pub fn print_runs(runs: &[crate::runner::runs::RunRow]) {
    println!(
        "{:<23} {:<20} {:<10} {:<11} {:<8} {:<12} {:>9} {:>6} {:>8}  RUN / ERROR",
        "STARTED", "JOB", "DATE", "STATUS", "TRIGGER", "MODEL", "ROWS", "ALERTS", "SECONDS"
    );
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    for r in runs {
        let date = epoch + chrono::Duration::days(r.logical_date as i64);
        let model = match (&r.model_name, r.model_version) {
            (Some(n), Some(v)) => format!("{n} v{v}"),
            _ => "-".into(),
        };
        let tail = match &r.error {
            None => r.run_id.clone(),
            Some(e) => {
                let line = e.lines().next().unwrap_or_default();
                let short: String = line.chars().take(80).collect();
                if short.len() < line.len() {
                    format!("{short}…")
                } else {
                    short
                }
            }
        };
        println!(
            "{:<23} {:<20} {:<10} {:<11} {:<8} {:<12} {:>9} {:>6} {:>8.1}  {tail}",
            micros_to_string(r.started_at),
            r.job_name,
            date,
            r.status,
            r.trigger,
            model,
            r.rows_out,
            r.drift_alerts,
            r.duration_ms as f64 / 1000.0
        );
    }
}

pub fn print_history(events: &[ModelEventRow]) {
    println!("{:<5} {:<23} {:<12} EVENT", "SEQ", "TIME", "ACTOR");
    for e in events {
        let comment = e
            .comment
            .as_deref()
            .filter(|_| e.event_type != "comment")
            .map(|c| format!(" — {c}"))
            .unwrap_or_default();
        println!(
            "{:<5} {:<23} {:<12} {}{comment}",
            e.seq,
            micros_to_string(e.created_at),
            e.actor,
            describe_event(e)
        );
    }
}

/// One event as a sentence.
fn describe_event(e: &ModelEventRow) -> String {
    let v = e.version.unwrap_or_default();
    let on = match e.version {
        Some(v) => format!("version {v}"),
        None => "the model".to_string(),
    };
    let stage = e.to_stage.as_deref().unwrap_or("?");
    let key = e.key.as_deref().unwrap_or("?");
    let value = e.value.as_deref().unwrap_or("");
    let request = e.request_id.unwrap_or_default();
    match e.event_type.as_str() {
        "registered" => format!("registered version {v}"),
        "stage_transition" => format!(
            "moved version {v} from {} to {stage}",
            e.from_stage.as_deref().unwrap_or("?")
        ),
        "alias_set" => format!(
            "set alias @{} -> version {v}",
            e.alias.as_deref().unwrap_or("?")
        ),
        "alias_removed" => format!("removed alias @{}", e.alias.as_deref().unwrap_or("?")),
        "rollback" => match (&e.to_stage, &e.alias) {
            (Some(stage), _) => format!("rolled back {stage} to version {v}"),
            (None, Some(alias)) => format!("rolled back @{alias} to version {v}"),
            _ => "rollback".into(),
        },
        "transition_requested" => format!("requested version {v} -> {stage} (request {request})"),
        "transition_approved" => format!("approved request {request} (version {v} -> {stage})"),
        "transition_rejected" => format!("rejected request {request} (version {v} -> {stage})"),
        "tag_set" => format!("tagged {on}: {key}={value}"),
        "tag_deleted" => format!("removed tag {key} from {on}"),
        "description_set" => format!("described {on}: {value}"),
        "owner_set" => format!("set owner to {value}"),
        "setting_set" => format!(
            "set {key} = {}",
            if value.is_empty() { "none" } else { value }
        ),
        "comment" => format!(
            "commented on {on}: {}",
            e.comment.as_deref().unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

pub fn print_requests(requests: &[&TransitionRequest]) {
    println!(
        "{:<6} {:<20} {:>7}  {:<10} {:<9} {:<12} {:<23} COMMENT",
        "ID", "MODEL", "VERSION", "STAGE", "STATUS", "BY", "REQUESTED"
    );
    for r in requests {
        let status = match r.status {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        };
        println!(
            "{:<6} {:<20} {:>7}  {:<10} {:<9} {:<12} {:<23} {}",
            r.id,
            r.model_name,
            r.version,
            r.stage.as_str(),
            status,
            r.requested_by,
            micros_to_string(r.requested_at),
            r.comment.as_deref().unwrap_or("-")
        );
    }
}

/// `registry show NAME`: the model, then its versions.
pub fn print_model(name: &str, m: &ModelState) {
    println!("model {name}");
    println!("  owner        {}", m.owner.as_deref().unwrap_or("-"));
    println!("  description  {}", m.description.as_deref().unwrap_or("-"));
    let tags: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "  tags         {}",
        if tags.is_empty() {
            "-".into()
        } else {
            tags.join(", ")
        }
    );
    let gated: Vec<&str> = m.require_approval.iter().map(|s| s.as_str()).collect();
    println!(
        "  approval     {}",
        if gated.is_empty() {
            "not required".to_string()
        } else {
            format!("required for {}", gated.join(", "))
        }
    );
    let pending = m
        .requests
        .values()
        .filter(|r| r.status == RequestStatus::Pending)
        .count();
    println!("  requests     {pending} pending");
    for c in &m.comments {
        println!(
            "  comment      {} {}: {}",
            micros_to_string(c.at),
            c.actor,
            c.text
        );
    }
    println!();
    let versions: Vec<&VersionState> = m.versions.values().collect();
    print_versions(&versions);
}

pub fn print_diff(d: &VersionDiff) {
    println!("{} version {} -> version {}", d.name, d.from, d.to);
    if d.is_empty() {
        println!("  no differences");
        return;
    }
    let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
    for c in &d.fields {
        println!("  {:<16} {} -> {}", c.key, show(&c.from), show(&c.to));
    }
    let sig = &d.signature;
    for c in &sig.added {
        println!("  signature        + {} ({})", c.name, c.ty);
    }
    for c in &sig.removed {
        println!("  signature        - {} ({})", c.name, c.ty);
    }
    for c in &sig.retyped {
        println!(
            "  signature        ~ {}: {} -> {}",
            c.key,
            show(&c.from),
            show(&c.to)
        );
    }
    if sig.reordered {
        println!("  signature        columns reordered");
    }
    for (what, changes) in [
        ("metric", &d.metrics),
        ("param", &d.params),
        ("tag", &d.tags),
    ] {
        for c in changes.iter() {
            println!(
                "  {what:<7} {:<8} {} -> {}",
                c.key,
                show(&c.from),
                show(&c.to)
            );
        }
    }
    let changed: Vec<_> = d.profile.iter().filter(|p| p.from != p.to).collect();
    if !changed.is_empty() {
        println!(
            "  reference profile: {:<18} {:>22} {:>22} {:>16}",
            "COLUMN", "MEAN", "STD", "NULLS"
        );
        let pair = |a: Option<f64>, b: Option<f64>| format!("{} -> {}", fmt_opt(a), fmt_opt(b));
        for p in changed {
            let (a, b) = (p.from.as_ref(), p.to.as_ref());
            println!(
                "                     {:<18} {:>22} {:>22} {:>16}",
                p.column,
                pair(a.and_then(|x| x.mean), b.and_then(|x| x.mean)),
                pair(a.and_then(|x| x.std), b.and_then(|x| x.std)),
                format!(
                    "{} -> {}",
                    a.map(|x| format!("{:.2}%", x.null_rate * 100.0))
                        .unwrap_or("-".into()),
                    b.map(|x| format!("{:.2}%", x.null_rate * 100.0))
                        .unwrap_or("-".into())
                )
            );
        }
    }
}

/// A version's signature as (column, type) pairs.
fn signature_pairs(row: &crate::registry::records::ModelVersionRow) -> Vec<(String, String)> {
    crate::registry::diff::signature_of(row)
        .into_iter()
        .map(|c| (c.name, c.ty))
        .collect()
}

/// The outcome of validating one spec.
#[derive(Debug, Serialize)]
pub struct Validation {
    pub path: String,
    pub valid: bool,
    pub job: Option<String>,
    pub model_version: Option<i64>,
    pub errors: Vec<ValidationError>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ValidationError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

fn plain_error(message: String) -> ValidationError {
    ValidationError {
        line: None,
        column: None,
        key: None,
        message,
    }
}

pub async fn validate_one(
    path: &Path,
    registry: Option<&Registry>,
    date: Option<NaiveDate>,
) -> Validation {
    let mut v = Validation {
        path: path.display().to_string(),
        valid: false,
        job: None,
        model_version: None,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let spec = match crate::spec::load(path) {
        Ok(s) => s,
        Err(crate::spec::SpecError::Invalid { diagnostics, .. }) => {
            v.errors = diagnostics
                .into_iter()
                .map(|d| ValidationError {
                    line: Some(d.line),
                    column: Some(d.column),
                    key: (!d.key.is_empty()).then_some(d.key),
                    message: d.message,
                })
                .collect();
            return v;
        }
        Err(e) => {
            v.errors.push(plain_error(e.to_string()));
            return v;
        }
    };
    v.job = Some(spec.job.name.clone());
    if let Some(registry) = registry {
        match registry.load(&spec.job.model).await {
            Err(e) => v.errors.push(ValidationError {
                key: Some("model.uri".into()),
                ..plain_error(e.to_string())
            }),
            Ok(resolved) => {
                v.model_version = Some(resolved.version.record.version);
                let templated = spec.job.input.path.contains("{{");
                match (spec.job.input.format.clone(), date) {
                    (InputFormat::Parquet, Some(_)) | (InputFormat::Parquet, None)
                        if date.is_some() || !templated =>
                    {
                        let d = date.unwrap_or_else(|| chrono::Utc::now().date_naive());
                        let pattern = spec.job.input.path_for(d);
                        let checked = crate::score::expand_glob(&pattern).and_then(|files| {
                            crate::score::InputPlan::inspect(
                                &pattern,
                                files,
                                &spec.job.input.keys,
                                &spec
                                    .job
                                    .drift
                                    .as_ref()
                                    .map(|d| d.columns.clone())
                                    .unwrap_or_default(),
                                &crate::score::ModelInputs::of(resolved.model.as_ref()),
                                spec.job.input.batch_rows,
                            )
                        });
                        let checked = checked.and_then(|plan| {
                            // The version's signature (an MLflow model's, or the model's own).
                            let signature = signature_pairs(&resolved.version.record);
                            let codes_ok: Vec<String> = plan
                                .inputs
                                .features
                                .iter()
                                .zip(&plan.inputs.categorical)
                                .filter(|(_, c)| **c)
                                .map(|(f, _)| f.clone())
                                .collect();
                            plan.files.iter().try_for_each(|f| {
                                crate::score::check_signature(f, &signature, &codes_ok)
                            })
                        });
                        if let Err(e) = checked {
                            v.errors.push(ValidationError {
                                key: Some("input.path".into()),
                                ..plain_error(e.to_string())
                            });
                        }
                    }
                    (InputFormat::Parquet, _) => v.notes.push(
                        "input not checked: the path depends on {{ ds }}; pass --date to check it"
                            .into(),
                    ),
                    (InputFormat::Delta, _) => v
                        .notes
                        .push("Delta input columns are checked when the job runs".into()),
                }
            }
        }
    }
    v.valid = v.errors.is_empty();
    v
}

pub fn print_validation(results: &[Validation]) {
    for r in results {
        if r.valid {
            let model = r
                .model_version
                .map(|m| format!(", model version {m}"))
                .unwrap_or_default();
            println!(
                "ok      {} (job {}{model})",
                r.path,
                r.job.as_deref().unwrap_or("?")
            );
        } else {
            println!("invalid {}", r.path);
            for e in &r.errors {
                let at = match (e.line, e.column) {
                    (Some(l), Some(c)) => format!("{}:{l}:{c}", r.path),
                    _ => r.path.clone(),
                };
                let key = e
                    .key
                    .as_deref()
                    .map(|k| format!("{k}: "))
                    .unwrap_or_default();
                println!("  {at}: {key}{}", e.message);
            }
        }
        for n in &r.notes {
            println!("  note: {n}");
        }
    }
}
