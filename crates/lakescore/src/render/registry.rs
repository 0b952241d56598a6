//! What the `registry` commands print for people.

use std::io::{self, Write};

use lakescore_core::drift::ReferenceProfile;
use lakescore_core::drift::profile::ColumnProfile;
use lakescore_core::registry::diff::VersionDiff;
use lakescore_core::registry::state::{ModelState, RequestStatus, TransitionRequest, VersionState};
use lakescore_core::registry::{EventKind, ModelEventRow};

use super::{fmt_opt, micros_to_string};

pub(crate) fn show(
    out: &mut dyn Write,
    v: &VersionState,
    profile: Option<&ReferenceProfile>,
) -> io::Result<()> {
    let r = &v.record;
    writeln!(out, "{} version {} ({})", r.name, r.version, r.summary)?;
    writeln!(out, "  stage     {}", v.stage)?;
    writeln!(
        out,
        "  aliases   {}",
        if v.aliases.is_empty() {
            "-".into()
        } else {
            v.aliases.join(", ")
        }
    )?;
    writeln!(out, "  flavor    {}", r.flavor)?;
    writeln!(out, "  features  {}", r.features.join(", "))?;
    writeln!(
        out,
        "  artifact  {} (sha256 {})",
        r.artifact_path, r.artifact_sha256
    )?;
    writeln!(
        out,
        "  created   {} by {}",
        micros_to_string(r.created_at),
        r.created_by
    )?;
    if let Some(d) = &r.description {
        writeln!(out, "  about     {d}")?;
    }
    writeln!(out, "  tags      {}", r.tags)?;
    if let Some(m) = &r.metrics {
        writeln!(out, "  metrics   {m}")?;
    }
    if let Some(p) = &r.params {
        writeln!(out, "  params    {p}")?;
    }
    for c in &v.comments {
        writeln!(
            out,
            "  comment   {} {}: {}",
            micros_to_string(c.at),
            c.actor,
            c.text
        )?;
    }
    match profile {
        None => writeln!(
            out,
            "  reference profile: none (register with --reference to enable drift checks)"
        )?,
        Some(p) => {
            writeln!(
                out,
                "  reference profile: {} rows from {}",
                p.rows, p.source
            )?;
            writeln!(
                out,
                "    {:<20} {:>10} {:>9} {:>12} {:>12} {:>12} {:>12}",
                "FEATURE", "COUNT", "NULLS", "MIN", "MEAN", "STD", "MAX"
            )?;
            for (name, f) in &p.features {
                match f {
                    ColumnProfile::Numeric(f) => writeln!(
                        out,
                        "    {:<20} {:>10} {:>8.2}% {:>12} {:>12} {:>12} {:>12}{}",
                        name,
                        f.count,
                        f.null_rate * 100.0,
                        fmt_opt(f.min),
                        fmt_opt(f.mean),
                        fmt_opt(f.std),
                        fmt_opt(f.max),
                        if f.sampled { " (sampled)" } else { "" }
                    )?,
                    ColumnProfile::Categorical(c) => {
                        let mut top: Vec<(&String, &u64)> = c.categories.iter().collect();
                        top.sort_by(|a, b| b.1.cmp(a.1));
                        let shown: Vec<String> = top
                            .iter()
                            .take(4)
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        writeln!(
                            out,
                            "    {:<20} {:>10} {:>8.2}% {} categories: {}{}",
                            name,
                            c.count,
                            c.null_rate * 100.0,
                            c.categories.len(),
                            shown.join(", "),
                            if top.len() > 4 { ", ..." } else { "" }
                        )?;
                    }
                }
            }
            for (name, why) in &p.skipped {
                writeln!(out, "    {name:<20} not profiled: {why}")?;
            }
        }
    }
    Ok(())
}

pub(crate) fn versions(out: &mut dyn Write, versions: &[VersionState]) -> io::Result<()> {
    writeln!(
        out,
        "{:<20} {:>7}  {:<10} {:<20} {:<8} {:<23} SUMMARY",
        "NAME", "VERSION", "STAGE", "ALIASES", "FLAVOR", "CREATED"
    )?;
    for v in versions {
        let r = &v.record;
        writeln!(
            out,
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
        )?;
    }
    Ok(())
}

pub(crate) fn history(out: &mut dyn Write, events: &[ModelEventRow]) -> io::Result<()> {
    writeln!(out, "{:<5} {:<23} {:<12} EVENT", "SEQ", "TIME", "ACTOR")?;
    for e in events {
        let comment = e
            .comment
            .as_deref()
            .filter(|_| e.event_type != EventKind::Comment)
            .map(|c| format!(" — {c}"))
            .unwrap_or_default();
        // The claimed actor differs from who the system says ran it: show both.
        let system = e
            .system_actor
            .as_deref()
            .filter(|s| *s != e.actor)
            .map(|s| format!(" [as {s}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<5} {:<23} {:<12} {}{comment}{system}",
            e.seq,
            micros_to_string(e.created_at),
            e.actor,
            describe_event(e)
        )?;
    }
    Ok(())
}

pub(crate) fn requests(out: &mut dyn Write, requests: &[TransitionRequest]) -> io::Result<()> {
    writeln!(
        out,
        "{:<6} {:<20} {:>7}  {:<10} {:<9} {:<12} {:<23} COMMENT",
        "ID", "MODEL", "VERSION", "STAGE", "STATUS", "BY", "REQUESTED"
    )?;
    for r in requests {
        let status = match r.status {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        };
        writeln!(
            out,
            "{:<6} {:<20} {:>7}  {:<10} {:<9} {:<12} {:<23} {}",
            r.id,
            r.model_name,
            r.version,
            r.stage.as_str(),
            status,
            r.requested_by,
            micros_to_string(r.requested_at),
            r.comment.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

/// A version's tags column (JSON text) as `k=v, ...`, if it has any.
fn version_tags(json: &str) -> Option<String> {
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(json).ok()?;
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

pub(crate) fn model(out: &mut dyn Write, name: &str, m: &ModelState) -> io::Result<()> {
    writeln!(out, "model {name}")?;
    writeln!(out, "  owner        {}", m.owner.as_deref().unwrap_or("-"))?;
    // `register --description/--tag` describe the version, as MLflow's
    // register_model does; with nothing set on the model itself, say what
    // its latest version carries instead of a bare "-".
    let latest = m.versions.values().next_back().map(|v| &v.record);
    let from_latest = |what: Option<String>| match (what, latest) {
        (Some(text), Some(v)) if !text.is_empty() => {
            format!("- (version {}: {text})", v.version)
        }
        _ => "-".to_string(),
    };
    let description = m
        .description
        .clone()
        .unwrap_or_else(|| from_latest(latest.and_then(|v| v.description.clone())));
    writeln!(out, "  description  {description}")?;
    let tags: Vec<String> = m.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let tags = if tags.is_empty() {
        from_latest(latest.and_then(|v| version_tags(&v.tags)))
    } else {
        tags.join(", ")
    };
    writeln!(out, "  tags         {tags}")?;
    let gated: Vec<&str> = m.require_approval.iter().map(|s| s.as_str()).collect();
    writeln!(
        out,
        "  approval     {}",
        if gated.is_empty() {
            "not required".to_string()
        } else {
            format!("required for {}", gated.join(", "))
        }
    )?;
    for (stage, ids) in &m.approvers {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        writeln!(out, "  approvers    {stage}: {}", ids.join(", "))?;
    }
    if m.allow_self_approval {
        writeln!(out, "  self-approval allowed")?;
    }
    let pending = m
        .requests
        .values()
        .filter(|r| r.status == RequestStatus::Pending)
        .count();
    writeln!(out, "  requests     {pending} pending")?;
    for c in &m.comments {
        writeln!(
            out,
            "  comment      {} {}: {}",
            micros_to_string(c.at),
            c.actor,
            c.text
        )?;
    }
    writeln!(out)?;
    let all: Vec<VersionState> = m.versions.values().cloned().collect();
    versions(out, &all)?;
    Ok(())
}

pub(crate) fn diff(out: &mut dyn Write, d: &VersionDiff) -> io::Result<()> {
    writeln!(out, "{} version {} -> version {}", d.name, d.from, d.to)?;
    if d.is_empty() {
        writeln!(out, "  no differences")?;
        return Ok(());
    }
    let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
    for c in &d.fields {
        writeln!(out, "  {:<16} {} -> {}", c.key, show(&c.from), show(&c.to))?;
    }
    let sig = &d.signature;
    for c in &sig.added {
        writeln!(out, "  signature        + {} ({})", c.name, c.ty)?;
    }
    for c in &sig.removed {
        writeln!(out, "  signature        - {} ({})", c.name, c.ty)?;
    }
    for c in &sig.retyped {
        writeln!(
            out,
            "  signature        ~ {}: {} -> {}",
            c.key,
            show(&c.from),
            show(&c.to)
        )?;
    }
    if sig.reordered {
        writeln!(out, "  signature        columns reordered")?;
    }
    for (what, changes) in [
        ("metric", &d.metrics),
        ("param", &d.params),
        ("tag", &d.tags),
    ] {
        for c in changes {
            writeln!(
                out,
                "  {what:<7} {:<8} {} -> {}",
                c.key,
                show(&c.from),
                show(&c.to)
            )?;
        }
    }
    let changed: Vec<_> = d.profile.iter().filter(|p| p.from != p.to).collect();
    if !changed.is_empty() {
        writeln!(
            out,
            "  reference profile: {:<18} {:>18} {:>26} {:>22} {:>16}",
            "COLUMN", "VALUES", "MEAN / CATEGORIES", "STD", "NULLS"
        )?;
        let pair = |a: Option<String>, b: Option<String>| {
            format!(
                "{} -> {}",
                a.unwrap_or_else(|| "-".into()),
                b.unwrap_or_else(|| "-".into())
            )
        };
        let num = |x: Option<f64>| x.map(|v| fmt_opt(Some(v)));
        // A categorical column has no mean: its number of categories is shown there.
        let centre = |x: &lakescore_core::registry::diff::ColumnSummary| {
            x.categories
                .map_or_else(|| num(x.mean), |n| Some(format!("{n} cat.")))
        };
        for p in changed {
            let (a, b) = (p.from.as_ref(), p.to.as_ref());
            writeln!(
                out,
                "                     {:<18} {:>18} {:>26} {:>22} {:>16}",
                p.column,
                pair(
                    a.map(|x| x.count.to_string()),
                    b.map(|x| x.count.to_string())
                ),
                pair(a.and_then(centre), b.and_then(centre)),
                pair(a.and_then(|x| num(x.std)), b.and_then(|x| num(x.std))),
                pair(
                    a.map(|x| format!("{:.2}%", x.null_rate * 100.0)),
                    b.map(|x| format!("{:.2}%", x.null_rate * 100.0))
                )
            )?;
        }
    }
    Ok(())
}

fn describe_event(e: &ModelEventRow) -> String {
    let v = e.version.unwrap_or_default();
    let on = match e.version {
        Some(v) => format!("version {v}"),
        None => "the model".to_string(),
    };
    let stage = e.to_stage.map_or("?", |s| s.as_str());
    let key = e.key.as_deref().unwrap_or("?");
    let value = e.value.as_deref().unwrap_or("");
    let request = e.request_id.unwrap_or_default();
    match &e.event_type {
        EventKind::Registered => format!("registered version {v}"),
        EventKind::StageTransition => format!(
            "moved version {v} from {} to {stage}",
            e.from_stage.map_or("?", |s| s.as_str())
        ),
        EventKind::AliasSet => format!(
            "set alias @{} -> version {v}",
            e.alias.as_deref().unwrap_or("?")
        ),
        EventKind::AliasRemoved => format!("removed alias @{}", e.alias.as_deref().unwrap_or("?")),
        EventKind::Rollback => match (&e.to_stage, &e.alias) {
            (Some(stage), _) => format!("rolled back {stage} to version {v}"),
            (None, Some(alias)) => format!("rolled back @{alias} to version {v}"),
            _ => "rollback".into(),
        },
        EventKind::TransitionRequested => {
            format!("requested version {v} -> {stage} (request {request})")
        }
        EventKind::TransitionApproved => {
            format!("approved request {request} (version {v} -> {stage})")
        }
        EventKind::TransitionRejected => {
            format!("rejected request {request} (version {v} -> {stage})")
        }
        EventKind::TagSet => format!("tagged {on}: {key}={value}"),
        EventKind::TagDeleted => format!("removed tag {key} from {on}"),
        EventKind::DescriptionSet => format!("described {on}: {value}"),
        EventKind::OwnerSet => format!("set owner to {value}"),
        EventKind::SettingSet => format!(
            "set {key} = {}",
            if value.is_empty() { "none" } else { value }
        ),
        EventKind::Comment => format!(
            "commented on {on}: {}",
            e.comment.as_deref().unwrap_or_default()
        ),
        EventKind::Other(other) => other.clone(),
    }
}
