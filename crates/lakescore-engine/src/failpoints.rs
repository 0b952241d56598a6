//! Named crash points.
//!
//! `crash_point!("run.before_commit")` marks a step where a test can make the
//! process die as `kill -9` would (no destructors, no flush), to prove the lake
//! stays consistent whatever step a crash hits. The points are compiled in only
//! when the `fail` crate's `failpoints` feature is on, which the binary's test
//! build turns on; a test arms one with `FAILPOINTS=run.before_commit=return`.
//! Every point is listed in [`CRASH_POINTS`].

/// Every named crash point, in the order a run, a registration and a registry
/// transition reach them.
pub const CRASH_POINTS: [&str; 12] = [
    "run.after_start_row",
    "run.after_batch",
    "run.before_commit",
    "run.after_commit",
    "run.after_drift",
    "shard.before_manifest",
    "commit.before_commit",
    "commit.after_commit",
    "register.after_artifact",
    "register.after_version_row",
    "registry.before_event_commit",
    "registry.after_event_commit",
];

/// Die at crash point `name`: say where on stderr, then abort.
pub fn crash(name: &str) -> ! {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "lakescore: crash point {name} reached");
    std::process::abort()
}

/// Mark a crash point (see the module doc).
macro_rules! crash_point {
    ($name:literal) => {
        fail::fail_point!($name, |_| $crate::failpoints::crash($name))
    };
}

pub(crate) use crash_point;
