//! What `validate` prints for people.

use std::io::{self, Write};

use lakescore_engine::runner::validate::Validation;

pub(crate) fn validation(out: &mut dyn Write, results: &[Validation]) -> io::Result<()> {
    for r in results {
        if r.valid {
            let model = r
                .model_version
                .map(|m| format!(", model version {m}"))
                .unwrap_or_default();
            writeln!(
                out,
                "ok      {} (job {}{model})",
                r.path,
                r.job.as_deref().unwrap_or("?")
            )?;
        } else {
            writeln!(out, "invalid {}", r.path)?;
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
                writeln!(out, "  {at}: {key}{}", e.message)?;
            }
        }
        for n in &r.notes {
            writeln!(out, "  note: {n}")?;
        }
    }
    Ok(())
}
