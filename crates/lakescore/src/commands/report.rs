//! `lakescore report --out FILE`: gather the monitoring page from the lake,
//! render it, then write it whole (a temporary file renamed into place, so a
//! failure leaves no half-written page).

use std::io::Write as _;

use anyhow::{Context as _, Result};
use lakescore_engine::report::{self, ReportRequest};

use super::Context;
use crate::cli::ReportArgs;
use crate::exit::{ExitStatus, UsageError};
use crate::render;

pub(crate) async fn report(ctx: &Context, args: ReportArgs) -> Result<ExitStatus> {
    let to_stdout = args.out.as_os_str() == "-";
    if to_stdout && ctx.printer.json {
        return Err(UsageError("--json prints a summary on stdout: give --out FILE".into()).into());
    }
    let lake = ctx.open_lake()?;
    let request = ReportRequest {
        jobs: args.jobs,
        from: args.from,
        to: args.to,
        date: args.date,
    };
    let (rendered, summary) = report::report(&lake, &request, chrono::Utc::now()).await?;
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(rendered.html.as_bytes())?;
        out.flush()?;
        return Ok(ExitStatus::Success);
    }
    write_whole(&args.out, rendered.html.as_bytes())?;
    let path = args.out.clone();
    let value = serde_json::json!({
        "path": std::path::absolute(&path).unwrap_or_else(|_| path.clone()),
        "report": summary,
    });
    ctx.printer
        .emit(&value, |out| render::report::summary(out, &path, &summary))?;
    Ok(ExitStatus::Success)
}

/// Write `bytes` to `path` through a temporary file in the same folder.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // A temporary file is private (0600); the page is a document to share.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
