//! The JSON Schema of every command's `--json` output, one document per
//! command, written to `schemas/cli/` (a unit test keeps the files current; an
//! integration test validates each command's real output against its file).
//!
//! Objects are closed (`additionalProperties: false`), so a field added to an
//! output without being documented here fails the tests. Dates and times
//! follow the output rule of [`crate::printer`].

use serde_json::{Value, json};

/// (file stem, the command it documents, schema) for every command with JSON output.
pub(crate) fn all() -> Vec<(&'static str, &'static str, Value)> {
    let version_ref = obj(&[("model", string()), ("version", int())]);
    vec![
        ("run", "lakescore run --json", run_report()),
        ("rerun", "lakescore rerun --json", run_report()),
        (
            "plan",
            "lakescore plan --json",
            obj(&[
                ("attempt", string()),
                ("shards", int()),
                ("model_name", string()),
                ("model_version", int()),
                ("job_name", string()),
                ("logical_date", date()),
                ("input_files", int()),
                ("files_per_shard", array(int())),
            ]),
        ),
        (
            "commit",
            "lakescore commit --json",
            with(
                &run_report(),
                &[
                    ("attempt", string()),
                    ("shards", int()),
                    ("shard_rows", array(int())),
                    ("already_committed", boolean()),
                    ("commit_retries", int()),
                ],
            ),
        ),
        (
            "runs",
            "lakescore runs --json",
            obj(&[("runs", array(run_row()))]),
        ),
        ("backfill", "lakescore backfill --json", backfill()),
        ("maintain", "lakescore maintain --json", maintain()),
        (
            "status",
            "lakescore status --json",
            obj(&[("jobs", array(job_status()))]),
        ),
        (
            "schedule",
            "lakescore schedule --json (one object per line)",
            scheduler_event(),
        ),
        ("drift", "lakescore drift --json", drift()),
        ("validate", "lakescore validate --json", validate()),
        ("sql", "lakescore sql --json", sql()),
        ("report", "lakescore report --json", report()),
        (
            "serve",
            "lakescore serve --json (one line once listening)",
            obj(&[
                ("address", string()),
                ("model_uri", string()),
                ("model_name", string()),
                ("model_version", int()),
                ("inference_table", nullable(string())),
            ]),
        ),
        (
            "registry-register",
            "lakescore registry register --json",
            version_row(false),
        ),
        (
            "registry-show",
            "lakescore registry show --json",
            registry_show(),
        ),
        (
            "registry-resolve",
            "lakescore registry resolve --json",
            obj(&[("uri", string()), ("version", version_row(true))]),
        ),
        (
            "registry-list",
            "lakescore registry list --json",
            obj(&[("versions", array(version_row(true)))]),
        ),
        (
            "registry-history",
            "lakescore registry history --json",
            obj(&[("model", string()), ("events", array(event()))]),
        ),
        (
            "registry-requests",
            "lakescore registry requests --json",
            obj(&[("requests", array(request()))]),
        ),
        (
            "registry-request",
            "lakescore registry request --json",
            obj(&[("request_id", int())]),
        ),
        (
            "registry-approve",
            "lakescore registry approve --json",
            request(),
        ),
        (
            "registry-reject",
            "lakescore registry reject --json",
            request(),
        ),
        (
            "registry-promote",
            "lakescore registry promote --json",
            with(&version_ref, &[("stage", stage())]),
        ),
        (
            "registry-alias",
            "lakescore registry alias --json",
            with(&version_ref, &[("alias", string())]),
        ),
        (
            "registry-rollback",
            "lakescore registry rollback --json",
            obj(&[
                ("model", string()),
                ("target", string()),
                ("from", int()),
                ("to", int()),
            ]),
        ),
        (
            "registry-settings",
            "lakescore registry settings --json",
            settings(),
        ),
        (
            "registry-tag",
            "lakescore registry tag --json",
            obj(&[
                ("model", string()),
                ("version", nullable(int())),
                ("tags", string_map()),
            ]),
        ),
        (
            "registry-untag",
            "lakescore registry untag --json",
            obj(&[
                ("model", string()),
                ("version", nullable(int())),
                ("removed", array(string())),
            ]),
        ),
        (
            "registry-describe",
            "lakescore registry describe --json",
            obj(&[
                ("model", string()),
                ("version", nullable(int())),
                ("description", string()),
            ]),
        ),
        (
            "registry-owner",
            "lakescore registry owner --json",
            obj(&[("model", string()), ("owner", string())]),
        ),
        (
            "registry-comment",
            "lakescore registry comment --json",
            obj(&[
                ("model", string()),
                ("version", nullable(int())),
                ("comment", string()),
            ]),
        ),
        ("registry-diff", "lakescore registry diff --json", diff()),
    ]
}

/// The file text of one schema (what `schemas/cli/NAME.schema.json` holds).
pub(crate) fn document(name: &str, command: &str, schema: &Value) -> String {
    let mut doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("https://lakescore.dev/schemas/cli/{name}.schema.json"),
        "title": command,
    });
    let map = doc.as_object_mut().expect("an object");
    for (k, v) in schema.as_object().expect("schemas are objects") {
        map.insert(k.clone(), v.clone());
    }
    let mut text = serde_json::to_string_pretty(&doc).expect("schemas serialize");
    text.push('\n');
    text
}

fn maintain() -> Value {
    let table = obj(&[
        ("table", string()),
        ("version_before", int()),
        ("version_after", int()),
        ("files_before", int()),
        ("files_compacted", int()),
        ("files_written", int()),
        ("compaction_skipped", nullable(string())),
        ("checkpoint_version", nullable(int())),
        ("log_entries_removed", int()),
        ("files_vacuumed", array(string())),
    ]);
    obj(&[
        ("lake", string()),
        ("dry_run", boolean()),
        ("retention_hours", int()),
        ("tables", array(table)),
    ])
}

fn string() -> Value {
    json!({ "type": "string" })
}
fn int() -> Value {
    json!({ "type": "integer" })
}
fn number() -> Value {
    json!({ "type": "number" })
}
fn boolean() -> Value {
    json!({ "type": "boolean" })
}
fn timestamp() -> Value {
    json!({ "type": "string", "format": "date-time" })
}
fn date() -> Value {
    json!({ "type": "string", "format": "date", "pattern": "^\\d{4}-\\d{2}-\\d{2}$" })
}
fn any_object() -> Value {
    json!({ "type": "object" })
}
fn string_map() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "string" } })
}
fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}
fn nullable(v: Value) -> Value {
    json!({ "anyOf": [v, { "type": "null" }] })
}
fn one_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}
fn stage() -> Value {
    one_of(&["None", "Staging", "Production", "Archived"])
}
fn run_status() -> Value {
    one_of(&[
        "running",
        "succeeded",
        "failed",
        "aborted",
        "interrupted",
        "dry_run",
    ])
}
fn trigger() -> Value {
    one_of(&["manual", "schedule", "backfill", "rerun"])
}

/// A closed object whose every listed field is required.
fn obj(fields: &[(&str, Value)]) -> Value {
    let props: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    let required: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// `base` (an [`obj`]) with more fields.
fn with(base: &Value, more: &[(&str, Value)]) -> Value {
    let mut fields: Vec<(String, Value)> = base["properties"]
        .as_object()
        .expect("an obj")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    fields.extend(more.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
    let refs: Vec<(&str, Value)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    obj(&refs)
}

fn columns() -> Value {
    array(obj(&[("name", string()), ("type", string())]))
}

fn comment() -> Value {
    obj(&[("actor", string()), ("at", timestamp()), ("text", string())])
}

/// A `model_versions` row; with `state`, also its stage, aliases and comments.
fn version_row(state: bool) -> Value {
    let row = obj(&[
        ("name", string()),
        ("version", int()),
        ("flavor", one_of(&["xgboost", "lightgbm", "onnx", "linear"])),
        ("artifact_path", string()),
        ("artifact_sha256", string()),
        ("artifact_bytes", int()),
        ("source", string()),
        ("features", array(string())),
        ("summary", string()),
        ("description", nullable(string())),
        ("tags", string_map()),
        ("created_at", timestamp()),
        ("created_by", string()),
        ("lakescore_version", string()),
        ("profile_path", nullable(string())),
        ("profile_sha256", nullable(string())),
        (
            "metrics",
            nullable(json!({ "type": "object", "additionalProperties": { "type": "number" } })),
        ),
        ("params", nullable(string_map())),
        ("signature", nullable(columns())),
        ("output_columns", nullable(columns())),
    ]);
    if state {
        with(
            &row,
            &[
                ("stage", stage()),
                ("aliases", array(string())),
                ("comments", array(comment())),
            ],
        )
    } else {
        row
    }
}

fn request() -> Value {
    obj(&[
        ("id", int()),
        ("model_name", string()),
        ("version", int()),
        ("stage", stage()),
        ("status", one_of(&["pending", "approved", "rejected"])),
        ("requested_by", string()),
        ("requested_by_system", nullable(string())),
        ("requested_at", timestamp()),
        ("comment", nullable(string())),
        ("decided_by", nullable(string())),
        ("decided_by_system", nullable(string())),
        ("decided_at", nullable(timestamp())),
        ("decision_comment", nullable(string())),
    ])
}

fn event() -> Value {
    obj(&[
        ("event_id", string()),
        ("seq", int()),
        ("model_name", string()),
        ("version", nullable(int())),
        ("event_type", string()),
        ("from_stage", nullable(stage())),
        ("to_stage", nullable(stage())),
        ("alias", nullable(string())),
        ("key", nullable(string())),
        ("value", nullable(string())),
        ("request_id", nullable(int())),
        ("actor", string()),
        ("system_actor", nullable(string())),
        ("comment", nullable(string())),
        ("created_at", timestamp()),
    ])
}

/// Per stage, the identities that may decide its requests.
fn approvers() -> Value {
    json!({ "type": "object", "additionalProperties": array(string()) })
}

fn settings() -> Value {
    obj(&[
        ("model", string()),
        ("require_approval", array(stage())),
        ("approvers", approvers()),
        ("allow_self_approval", boolean()),
    ])
}

fn registry_show() -> Value {
    let model = obj(&[
        ("model", string()),
        (
            "state",
            obj(&[
                (
                    "versions",
                    json!({ "type": "object", "additionalProperties": version_row(true) }),
                ),
                (
                    "aliases",
                    json!({ "type": "object", "additionalProperties": { "type": "integer" } }),
                ),
                ("description", nullable(string())),
                ("owner", nullable(string())),
                ("tags", string_map()),
                ("comments", array(comment())),
                ("require_approval", array(stage())),
                ("approvers", approvers()),
                ("allow_self_approval", boolean()),
                (
                    "requests",
                    json!({ "type": "object", "additionalProperties": request() }),
                ),
            ]),
        ),
    ]);
    let version = obj(&[
        ("version", version_row(true)),
        ("reference_profile", nullable(any_object())),
    ]);
    json!({
        "description": "`registry show NAME`: the model; `registry show NAME VERSION`: one version and its reference profile.",
        "oneOf": [model, version],
    })
}

fn alert() -> Value {
    obj(&[
        ("feature", string()),
        ("metric", string()),
        ("value", nullable(number())),
        ("p_value", nullable(number())),
        ("threshold", nullable(number())),
    ])
}

fn run_report() -> Value {
    obj(&[
        ("run_id", string()),
        ("status", run_status()),
        ("job_name", string()),
        ("logical_date", date()),
        ("dry_run", boolean()),
        ("model_uri", string()),
        ("model_name", string()),
        ("model_version", int()),
        ("input", string()),
        ("input_files", int()),
        ("input_version", nullable(int())),
        ("input_start_version", nullable(int())),
        ("rows_in", int()),
        ("rows", int()),
        ("output_table", string()),
        ("output_version", nullable(int())),
        ("files_added", int()),
        ("files_removed", int()),
        ("duration_ms", int()),
        ("drift_metrics", int()),
        ("drift_alerts", array(alert())),
        (
            "timings",
            obj(&[
                ("resolve_ms", int()),
                ("read_ms", int()),
                ("score_ms", int()),
                ("drift_ms", int()),
                ("write_ms", int()),
                ("commit_ms", int()),
            ]),
        ),
        ("rows_per_second", nullable(number())),
    ])
}

fn run_row() -> Value {
    obj(&[
        ("run_id", string()),
        ("job_name", string()),
        ("trigger", trigger()),
        ("logical_date", date()),
        ("status", run_status()),
        ("started_at", timestamp()),
        ("finished_at", timestamp()),
        ("duration_ms", int()),
        ("rows_in", int()),
        ("rows_out", int()),
        ("model_uri", string()),
        ("model_name", nullable(string())),
        ("model_version", nullable(int())),
        ("input", string()),
        ("input_version", nullable(int())),
        ("input_start_version", nullable(int())),
        ("output_table", string()),
        ("output_version", nullable(int())),
        ("spec_path", string()),
        ("spec_sha256", string()),
        ("spec_toml", string()),
        ("lakescore_version", string()),
        ("error", nullable(string())),
        ("drift_alerts", int()),
        ("scheduled_at", nullable(timestamp())),
        ("rerun_of", nullable(string())),
        ("host", nullable(string())),
        ("pid", nullable(int())),
        ("resolve_ms", nullable(int())),
        ("read_ms", nullable(int())),
        ("score_ms", nullable(int())),
        ("drift_ms", nullable(int())),
        ("write_ms", nullable(int())),
        ("commit_ms", nullable(int())),
        ("rows_per_second", nullable(number())),
        ("shards", nullable(int())),
    ])
}

fn backfill() -> Value {
    obj(&[
        ("job_name", string()),
        ("from", date()),
        ("to", date()),
        ("rerun", one_of(&["none", "failed", "all"])),
        ("dry_run", boolean()),
        ("model_as_of_date", boolean()),
        (
            "dates",
            array(obj(&[
                ("date", date()),
                (
                    "action",
                    one_of(&[
                        "run",
                        "skip",
                        "succeeded",
                        "failed",
                        "would_fail",
                        "no_model",
                    ]),
                ),
                ("previous", nullable(run_status())),
                ("model_version", nullable(int())),
                ("run_id", nullable(string())),
                ("rows", nullable(int())),
                ("drift_alerts", int()),
                ("error", nullable(string())),
            ])),
        ),
    ])
}

fn job_status() -> Value {
    obj(&[
        ("path", string()),
        ("job_name", nullable(string())),
        ("schedule", nullable(string())),
        ("timezone", nullable(string())),
        ("suspended", boolean()),
        ("next_fire", nullable(timestamp())),
        ("model_uri", nullable(string())),
        ("model_version", nullable(int())),
        (
            "last_run",
            nullable(obj(&[
                ("run_id", string()),
                ("logical_date", date()),
                ("status", run_status()),
                ("trigger", trigger()),
                ("started_at", timestamp()),
                ("model_version", nullable(int())),
                ("rows", int()),
                ("duration_ms", int()),
                ("drift_alerts", int()),
            ])),
        ),
        ("error", nullable(string())),
    ])
}

fn scheduler_event() -> Value {
    let event = |name: &str, fields: &[(&str, Value)]| {
        let mut all = vec![("event", json!({ "const": name }))];
        all.extend(fields.iter().cloned());
        obj(&all)
    };
    json!({ "oneOf": [
        event("loaded", &[("job", string()), ("path", string()), ("next_fire", nullable(timestamp()))]),
        event("invalid", &[("path", string()), ("error", string())]),
        event("unloaded", &[("job", string())]),
        event("started", &[("job", string()), ("fire", timestamp()), ("date", date()), ("attempt", int())]),
        event("finished", &[("job", string()), ("fire", timestamp()), ("status", run_status()), ("run_id", nullable(string())), ("error", nullable(string()))]),
        event("skipped", &[("job", string()), ("fire", timestamp()), ("reason", string())]),
        event("maintained", &[("fire", timestamp()), ("tables", int()), ("files_compacted", int()), ("files_vacuumed", int())]),
        event("stopping", &[]),
        event("stopped", &[]),
    ]})
}

fn drift() -> Value {
    obj(&[
        ("drift_id", string()),
        ("job_name", string()),
        ("logical_date", date()),
        (
            "versions",
            array(obj(&[
                ("model_name", string()),
                ("model_version", int()),
                ("rows", int()),
                ("skipped", nullable(string())),
            ])),
        ),
        ("drift_metrics", int()),
        ("drift_alerts", array(alert())),
    ])
}

fn validate() -> Value {
    // A spec problem has its position; a model or input problem may not.
    let diagnostic: Value = obj(&[
        ("line", nullable(int())),
        ("column", nullable(int())),
        ("key", nullable(string())),
        ("message", string()),
    ]);
    obj(&[
        ("valid", boolean()),
        (
            "specs",
            array(obj(&[
                ("path", string()),
                ("job", nullable(string())),
                ("valid", boolean()),
                ("errors", array(diagnostic.clone())),
                ("notes", array(string())),
                ("model_version", nullable(int())),
            ])),
        ),
    ])
}

fn sql() -> Value {
    obj(&[
        (
            "columns",
            array(obj(&[("name", string()), ("type", string())])),
        ),
        ("rows", array(any_object())),
        ("row_count", int()),
        (
            "tables",
            array(obj(&[
                ("name", string()),
                ("uri", string()),
                ("version", nullable(int())),
                ("columns", array(string())),
            ])),
        ),
    ])
}

fn report() -> Value {
    obj(&[
        ("path", string()),
        (
            "report",
            obj(&[
                ("jobs", array(string())),
                ("from", nullable(date())),
                ("to", nullable(date())),
                ("runs", int()),
                ("registry_events", int()),
                (
                    "charts",
                    json!({ "type": "object", "additionalProperties": { "type": "integer" } }),
                ),
                ("bytes", int()),
            ]),
        ),
    ])
}

fn diff() -> Value {
    let change = obj(&[
        ("key", string()),
        ("from", nullable(string())),
        ("to", nullable(string())),
    ]);
    let summary = nullable(obj(&[
        ("count", int()),
        ("null_rate", number()),
        ("mean", nullable(number())),
        ("std", nullable(number())),
        ("categories", nullable(int())),
    ]));
    let column = obj(&[("name", string()), ("ty", string())]);
    obj(&[
        ("name", string()),
        ("from", int()),
        ("to", int()),
        ("fields", array(change.clone())),
        (
            "signature",
            obj(&[
                ("added", array(column.clone())),
                ("removed", array(column)),
                ("retyped", array(any_object())),
                ("reordered", boolean()),
            ]),
        ),
        ("metrics", array(change.clone())),
        ("params", array(change.clone())),
        ("tags", array(change)),
        (
            "profile",
            array(obj(&[
                ("column", string()),
                ("from", summary.clone()),
                ("to", summary),
            ])),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn schemas_in_repo_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/cli");
        let update = std::env::var_os("LAKESCORE_UPDATE_SCHEMA").is_some();
        if update {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut stale = Vec::new();
        for (name, command, schema) in all() {
            let path = dir.join(format!("{name}.schema.json"));
            let text = document(name, command, &schema);
            if update {
                std::fs::write(&path, &text).unwrap();
            }
            if std::fs::read_to_string(&path).unwrap_or_default() != text {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "schemas/cli is stale ({stale:?}): run `LAKESCORE_UPDATE_SCHEMA=1 cargo test -p lakescore schemas_in_repo_are_current`"
        );
    }

    /// Every command that prints JSON has a schema, named after its path.
    #[test]
    fn every_command_with_json_output_has_a_schema() {
        fn leaves(cmd: &clap::Command, prefix: &str, out: &mut BTreeSet<String>) {
            for sub in cmd.get_subcommands() {
                let name = if prefix.is_empty() {
                    sub.get_name().to_string()
                } else {
                    format!("{prefix}-{}", sub.get_name())
                };
                if sub.get_subcommands().next().is_some() {
                    leaves(sub, &name, out);
                } else {
                    out.insert(name);
                }
            }
        }
        let mut commands = BTreeSet::new();
        leaves(&crate::cli::Cli::command(), "", &mut commands);
        // These print a document of their own format, not JSON output.
        for own_format in ["schema", "completions", "man", "help"] {
            commands.remove(own_format);
        }
        commands.retain(|c| !c.starts_with("help") && !c.ends_with("-help"));
        let documented: BTreeSet<String> = all().iter().map(|(n, _, _)| (*n).to_string()).collect();
        assert_eq!(commands, documented);
    }
}
