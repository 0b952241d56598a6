//! `lakescore rerun RUN_ID`: reproduce a recorded run exactly: its stored spec
//! text, the model version it used, the Delta input version (and incremental
//! range) it read.

use std::path::Path;

use lakescore_core::runs::{RunLookup, RunRow, date_from_days};
use lakescore_core::spec::{SpecError, from_text};
use lakescore_core::{Classify, ErrorClass};
use lakescore_lake::{Lake, LakeError};

use super::{Pin, Progress, RunError, RunOptions, RunReport, Trigger, read_runs};

/// Why a run cannot be reproduced.
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    #[error("there is no run {run_id:?} in {lake}runs{hint} (see `lakescore runs`)")]
    NoSuchRun {
        run_id: String,
        lake: String,
        hint: String,
    },
    #[error(
        "run id prefix {prefix:?} is ambiguous: it begins {}; give more characters",
        candidates.join(", ")
    )]
    AmbiguousRun {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error(
        "run {run_id} never resolved its model (it failed with: {error}); start a new run with `lakescore run`"
    )]
    NeverResolved { run_id: String, error: String },
    #[error("the spec stored with run {run_id}")]
    Spec {
        run_id: String,
        #[source]
        source: SpecError,
    },
    #[error("cannot read the runs table")]
    Runs(#[source] LakeError),
    #[error("rerun of {run_id}")]
    Run {
        run_id: String,
        #[source]
        source: RunError,
    },
}

impl Classify for RerunError {
    fn class(&self) -> ErrorClass {
        match self {
            RerunError::NoSuchRun { .. }
            | RerunError::AmbiguousRun { .. }
            | RerunError::NeverResolved { .. } => ErrorClass::BadInput,
            RerunError::Spec { source, .. } => source.class(),
            RerunError::Runs(e) => e.class(),
            RerunError::Run { source, .. } => source.class(),
        }
    }
}

/// Run `run_id` (or a unique prefix of it) again with what it used; returns the original attempt and the new run.
pub async fn rerun(
    lake: &Lake,
    run_id: &str,
    progress: Option<Progress>,
) -> Result<(RunRow, RunReport), RerunError> {
    let runs = read_runs(lake).await.map_err(RerunError::Runs)?;
    // The run `run_id` names: its id or a unique prefix.
    let original = match lakescore_core::runs::find_run(&runs, run_id) {
        Ok(i) => runs.into_iter().nth(i).expect("an index into runs"),
        Err(RunLookup::None { hint }) => {
            return Err(RerunError::NoSuchRun {
                run_id: run_id.to_string(),
                lake: lake.root().to_string(),
                hint,
            });
        }
        Err(RunLookup::Ambiguous(candidates)) => {
            return Err(RerunError::AmbiguousRun {
                prefix: run_id.to_string(),
                candidates,
            });
        }
    };
    let Some(model_version) = original.model_version else {
        return Err(RerunError::NeverResolved {
            run_id: original.run_id.clone(),
            error: original
                .error
                .clone()
                .unwrap_or_else(|| "unknown error".into()),
        });
    };
    let spec = from_text(Path::new(&original.spec_path), original.spec_toml.clone()).map_err(
        |source| RerunError::Spec {
            run_id: original.run_id.clone(),
            source,
        },
    )?;
    let opts = RunOptions {
        progress,
        pin: Some(Pin {
            rerun_of: original.run_id.clone(),
            model_version,
            input_version: original.input_version,
            input_start_version: original.input_start_version,
        }),
        ..RunOptions::new(date_from_days(original.logical_date), Trigger::Rerun)
    };
    let report = super::run(lake, &spec, &opts)
        .await
        .map_err(|source| RerunError::Run {
            run_id: original.run_id.clone(),
            source,
        })?;
    Ok((original, report))
}
