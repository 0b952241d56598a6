//! lakescore's engine: everything that runs, over the pure core and the lake.
//!
//! [`specs`] reads job spec files; [`score`] is the batch pipeline (polars
//! scans in bounded batches, the model, output rows with lineage) and
//! [`bridge`] hands its frames to arrow; [`registry`] reads and writes the
//! registry tables; [`runner`] runs a job for one date and records it, and
//! holds backfills, reruns, drift recomputation, validation and status;
//! [`scheduler`] is the cron daemon; [`sql`] runs SQL over the lake's tables;
//! [`report`] gathers the monitoring page from them; [`maintain`] compacts,
//! checkpoints and vacuums the lake's tables.
//! Every error enum here answers
//! [`lakescore_core::Classify`], which the binary turns into exit codes and the
//! scheduler into retries.

pub mod bridge;
pub mod failpoints;
pub mod maintain;
pub mod registry;
pub mod report;
pub mod runner;
pub mod scheduler;
pub mod score;
pub mod specs;
pub mod sql;
