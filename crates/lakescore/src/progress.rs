//! Progress on stderr, only when stderr is a terminal and not `--quiet`.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use lakescore_engine::runner::Progress;

/// A spinner with a row count.
pub(crate) fn rows(quiet: bool) -> Option<ProgressBar> {
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

/// A bar over `total` items.
pub(crate) fn count(quiet: bool, total: u64, what: &str) -> Option<ProgressBar> {
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

/// The callback a run reports its progress to.
pub(crate) fn callback(bar: Option<&ProgressBar>) -> Option<Progress> {
    bar.cloned()
        .map(|b| Arc::new(move |n: usize| b.set_position(n as u64)) as Progress)
}
