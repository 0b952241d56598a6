//! lakescore: batch scoring and drift detection on Delta Lake.
//!
//! Layers, bottom up (see ARCHITECTURE.md): [`spec`] (job specs, no IO but
//! the file), [`model`] (flavors behind one trait, no IO), [`registry`] (model
//! references, the event fold, registry operations), [`score`] (the batch
//! pipeline), [`lake`] (the only code that talks to Delta), [`runner`] (a run
//! of a job, backfills and the runs table), [`scheduler`] (the cron daemon),
//! [`cli`] (clap, output, exit codes).

pub mod cli;
pub mod drift;
pub mod lake;
pub mod model;
pub mod registry;
pub mod runner;
pub mod scheduler;
pub mod score;
pub mod spec;
