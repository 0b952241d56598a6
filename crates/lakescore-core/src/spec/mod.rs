//! Job specs: TOML files that declare what to score, with which model, where.
//!
//! Two stages, as in vector and uv: [`raw`] deserializes the file with unknown
//! keys rejected (serde `deny_unknown_fields`), keeping each value's position;
//! [`validate`] turns the raw spec into a typed [`Job`], collecting *every*
//! problem with its line and column rather than stopping at the first. The JSON
//! Schema in `schemas/job.schema.json` is generated from the raw types
//! ([`json_schema`]). No IO here: the engine reads spec files and hands their text to
//! [`from_text`].

pub mod raw;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Classify, ErrorClass};

pub use raw::RawJobSpec;
pub use validate::{
    Catchup, Concurrency, DriftConfig, InputFormat, InputMode, InputSpec, Job, SchedulePolicy,
    ScoredInput,
};

/// One problem in a spec, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    /// The dotted key the problem concerns (`model.uri`), or empty for syntax errors.
    pub key: String,
    pub message: String,
}

/// Errors from reading and validating a job spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read job spec {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(path, diagnostics))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

impl Classify for SpecError {
    /// A spec that cannot be read or does not validate is bad input.
    fn class(&self) -> ErrorClass {
        ErrorClass::BadInput
    }
}

fn render(path: &Path, diagnostics: &[Diagnostic]) -> String {
    let mut out = format!(
        "invalid job spec {} ({} error{})",
        path.display(),
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    );
    for d in diagnostics {
        out.push_str(&format!(
            "\n  {}:{}:{}: {d}",
            path.display(),
            d.line,
            d.column
        ));
    }
    out
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Line and column (1-based) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A loaded spec: its path, text, SHA-256 and the validated job.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
    pub job: Job,
}

/// Parse and validate spec `text` said to come from `path` (e.g. a spec stored with a run).
///
/// When `path` is absolute, relative local paths in the spec (`input.path`,
/// `drift.reference`) are taken against the spec file's folder, as docker
/// compose and kustomize do, so a job runs the same from any working
/// directory (cron, systemd). URIs and absolute paths stay as written.
pub fn from_text(path: &Path, text: String) -> Result<LoadedSpec, SpecError> {
    let mut job = parse(&text).map_err(|diagnostics| SpecError::Invalid {
        path: path.to_path_buf(),
        diagnostics,
    })?;
    if let Some(dir) = path.parent().filter(|_| path.is_absolute()) {
        job.input.path = against(dir, &job.input.path);
        if let Some(drift) = job.drift.as_mut()
            && let Some(reference) = drift.reference.as_mut()
        {
            *reference = against(dir, reference);
        }
    }
    Ok(LoadedSpec {
        path: path.to_path_buf(),
        sha256: crate::hash::sha256_hex(text.as_bytes()),
        text,
        job,
    })
}

/// `location` taken against `dir` when it is a relative local path (not a URI).
fn against(dir: &Path, location: &str) -> String {
    let is_uri = location.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if is_uri || Path::new(location).is_absolute() {
        return location.to_string();
    }
    // Lexically, as the spec's folder may be given as `a/b/../jobs`.
    crate::path::normalize(&dir.join(location))
        .display()
        .to_string()
}

/// The largest job spec accepted (specs are a few hundred bytes; this bounds
/// what parsing one can cost).
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// Parse and validate spec text, returning every problem found.
pub fn parse(text: &str) -> Result<Job, Vec<Diagnostic>> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(vec![Diagnostic {
            line: 1,
            column: 1,
            key: String::new(),
            message: format!(
                "the spec is {} bytes; job specs are limited to {MAX_SPEC_BYTES} bytes",
                text.len()
            ),
        }]);
    }
    let raw: RawJobSpec = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        vec![Diagnostic {
            line,
            column,
            key: String::new(),
            message: e.message().trim().to_string(),
        }]
    })?;
    validate::validate(raw, text)
}

/// The JSON Schema of job specs, as checked in under `schemas/`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawJobSpec);
    let mut out = serde_json::to_string_pretty(&schema).expect("schema serializes");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_over_the_size_limit_is_refused_before_parsing() {
        let text = format!("name = \"j\"\n# {}\n", "x".repeat(MAX_SPEC_BYTES));
        let errors = parse(&text).unwrap_err();
        assert!(errors[0].message.contains("limited to"), "{errors:?}");
    }

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 8), (2, 3));
    }

    #[test]
    fn relative_paths_resolve_against_the_spec_folder() {
        let text = "name = \"j\"\n[model]\nuri = \"models:/m/1\"\n[input]\nformat = \"parquet\"\n\
                    path = \"../data/{{ ds }}/*.parquet\"\n[drift]\nreference = \"./ref.parquet\"\n";
        let spec = from_text(Path::new("/srv/lake/jobs/j.toml"), text.into()).unwrap();
        assert_eq!(spec.job.input.path, "/srv/lake/data/{{ ds }}/*.parquet");
        let drift = spec.job.drift.unwrap();
        assert_eq!(
            drift.reference.as_deref(),
            Some("/srv/lake/jobs/ref.parquet")
        );
        // URIs and absolute paths stay; a spec known only by a relative path
        // (an old run's record) keeps its paths as written.
        assert_eq!(against(Path::new("/x"), "file:///d/t"), "file:///d/t");
        assert_eq!(against(Path::new("/x"), "/abs/t"), "/abs/t");
        let old = from_text(Path::new("jobs/j.toml"), text.into()).unwrap();
        assert_eq!(old.job.input.path, "../data/{{ ds }}/*.parquet");
    }

    #[test]
    fn schema_in_repo_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/job.schema.json");
        let current = json_schema();
        if std::env::var_os("LAKESCORE_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == current,
            "schemas/job.schema.json is stale: run `LAKESCORE_UPDATE_SCHEMA=1 cargo test schema_in_repo_is_current` \
             (or `lakescore schema > schemas/job.schema.json`)"
        );
    }
}
