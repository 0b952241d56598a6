//! Where command output goes: data on stdout, as one JSON object (`--json`)
//! or as text for people; logs and progress go to stderr elsewhere.
//!
//! JSON output follows one rule for every command, whatever the table a value
//! came from: a field named `at` or `*_at` holding microseconds since the epoch is
//! written as an RFC 3339 UTC timestamp, `logical_date` as `YYYY-MM-DD`, and
//! text columns that hold JSON (`tags`, `metrics`, `params`, `signature`,
//! `output_columns`) as the JSON they hold.

use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, SecondsFormat};
use serde::Serialize;
use serde_json::Value;

/// Text columns whose content is JSON.
const JSON_TEXT: &[&str] = &["tags", "metrics", "params", "signature", "output_columns"];

/// Prints a command's result in the chosen form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) json: bool,
}

impl Printer {
    /// Print `value` as one JSON line with `--json`, else what `human` writes
    /// (a long-running command calls it once per event).
    pub(crate) fn emit<T: Serialize + ?Sized>(
        self,
        value: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        if self.json {
            let value = for_output(serde_json::to_value(value).map_err(io::Error::other)?);
            // `From` keeps an IO error's kind, so a closed pipe stays a broken pipe.
            serde_json::to_writer(&mut out, &value).map_err(io::Error::from)?;
            writeln!(out)?;
        } else {
            human(&mut out)?;
        }
        out.flush()
    }
}

/// Apply the output rule (module doc) to every field, at any depth.
pub(crate) fn for_output(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(for_output).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, v)| {
                    let v = field(&key, v);
                    (key, v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn field(key: &str, value: Value) -> Value {
    match value {
        Value::Number(n) if key == "at" || key.ends_with("_at") => n
            .as_i64()
            .and_then(DateTime::from_timestamp_micros)
            .map_or(Value::Number(n), |t| {
                Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
            }),
        Value::Number(n) if key == "logical_date" => n
            .as_i64()
            .and_then(|d| i32::try_from(d).ok())
            .and_then(NaiveDate::from_epoch_days)
            .map_or(Value::Number(n), |d| Value::String(d.to_string())),
        Value::String(text) if JSON_TEXT.contains(&key) => serde_json::from_str(&text)
            .ok()
            .filter(|v: &Value| v.is_object() || v.is_array())
            .unwrap_or(Value::String(text)),
        other => for_output(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_dates_and_json_text_are_written_as_such() {
        let v = serde_json::json!({
            "runs": [{
                "started_at": 1_704_067_200_000_001_i64,
                "scheduled_at": null,
                "logical_date": 19723,
                "duration_ms": 5,
                "tags": "{\"team\":\"growth\"}",
                "signature": "[{\"name\":\"x\",\"type\":\"double\"}]",
                "description": "{not json}",
            }],
            "next_fire": "2026-12-03T02:00:00Z",
        });
        let out = for_output(v);
        let run = &out["runs"][0];
        assert_eq!(run["started_at"], "2024-01-01T00:00:00.000001Z");
        assert_eq!(run["scheduled_at"], Value::Null);
        assert_eq!(run["logical_date"], "2024-01-01");
        assert_eq!(run["duration_ms"], 5);
        assert_eq!(run["tags"]["team"], "growth");
        assert_eq!(run["signature"][0]["name"], "x");
        assert_eq!(run["description"], "{not json}");
        assert_eq!(out["next_fire"], "2026-12-03T02:00:00Z");
    }
}
