//! What a run reads: the Delta version range (pinned by a rerun, or the
//! incremental range after the job's last successful run) and the checked
//! input plan (files, columns, types), before anything is written.

use std::path::PathBuf;

use chrono::NaiveDate;
use lakescore_core::runs::{days_since_epoch, incremental_range};
use lakescore_core::spec::{InputFormat, InputMode, LoadedSpec};
use lakescore_lake::{Lake, Table, location_to_url};

use super::{Pin, RunError, runs};
use crate::score::{self, InputPlan, ModelInputs, ScoreError};

pub struct Resolved {
    /// `None` when an incremental input has no new rows.
    pub plan: Option<InputPlan>,
    pub input_version: Option<i64>,
    /// Incremental input: the version after which rows were read.
    pub input_start_version: Option<i64>,
}

/// Which Delta versions a run reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct InputRange {
    /// Read this version (else the spec's `version`, else the latest).
    pub version: Option<i64>,
    /// Incremental: only files appended after this version (`Some(None)`: all of them).
    pub after: Option<Option<i64>>,
}

/// The range a run of `date` reads: pinned by a rerun; for an incremental
/// input, the range of the date's last successful run (a rerun scores the same
/// rows), else everything after the job's last successful run.
pub async fn input_range(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
    pin: Option<&Pin>,
) -> Result<InputRange, RunError> {
    let job = &spec.job;
    if job.input.mode != InputMode::Incremental {
        return Ok(InputRange {
            version: pin.and_then(|p| p.input_version),
            after: None,
        });
    }
    if let Some(pin) = pin {
        return Ok(InputRange {
            version: pin.input_version,
            after: Some(pin.input_start_version),
        });
    }
    let runs = runs::read_runs(lake)
        .await
        .map_err(|source| RunError::Lake {
            job: job.name.clone(),
            source,
        })?;
    let (after, version) = incremental_range(&runs, &job.name, days_since_epoch(date));
    Ok(InputRange {
        version,
        after: Some(after),
    })
}

pub async fn resolve_input(
    spec: &LoadedSpec,
    date: NaiveDate,
    inputs: &ModelInputs,
    range: InputRange,
) -> Result<Resolved, RunError> {
    let features = &inputs.features;
    let job = &spec.job;
    let input = job.input.path_for(date);
    let score_err = |source| RunError::Score {
        job: job.name.clone(),
        source,
    };
    let (files, input_version): (Vec<PathBuf>, Option<i64>) = match job.input.format {
        InputFormat::Parquet => (score::expand_glob(&input).map_err(score_err)?, None),
        InputFormat::Delta => {
            let url = location_to_url(&input, None).map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?;
            let table = match range.version.or(job.input.version) {
                None => Table::open(url, None).await,
                Some(v) => Table::open(url, Some(v)).await,
            }
            .map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?
            .ok_or_else(|| RunError::Input {
                job: job.name.clone(),
                input: input.clone(),
                message: "no Delta table there".into(),
            })?;
            let partitions = table.partition_columns().map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?;
            let needed: Vec<&String> = features.iter().chain(&job.input.keys).collect();
            if let Some(p) = partitions.iter().find(|p| needed.contains(p)) {
                return Err(RunError::Input {
                    job: job.name.clone(),
                    input,
                    message: format!(
                        "column {p:?} is a partition column; scoring partition columns is not supported yet"
                    ),
                });
            }
            let files = match range.after {
                None => table.data_files().await,
                Some(after) => table.appended_files_since(after).await,
            }
            .map_err(|source| RunError::Lake {
                job: job.name.clone(),
                source,
            })?;
            if files.is_empty() && range.after.is_some() {
                return Ok(Resolved {
                    plan: None,
                    input_version: Some(table.version()),
                    input_start_version: range.after.flatten(),
                });
            }
            let mut paths = Vec::with_capacity(files.len());
            for f in files {
                match f.local_path() {
                    Some(p) => paths.push(p),
                    None => {
                        return Err(RunError::Input {
                            job: job.name.clone(),
                            input,
                            message: format!(
                                "file {} is not on the local filesystem; remote Delta inputs are not supported yet",
                                f.uri
                            ),
                        });
                    }
                }
            }
            if paths.is_empty() {
                return Err(score_err(ScoreError::NoInput { pattern: input }));
            }
            (paths, Some(table.version()))
        }
    };
    let monitored = job
        .drift
        .as_ref()
        .map(|d| d.columns.clone())
        .unwrap_or_default();
    let plan = InputPlan::inspect(
        &input,
        files,
        &job.input.keys,
        &monitored,
        inputs,
        job.input.batch_rows,
    )
    .map_err(score_err)?;
    Ok(Resolved {
        plan: Some(plan),
        input_version,
        input_start_version: range.after.flatten(),
    })
}
