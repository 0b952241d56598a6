//! What a run reads: the Delta version range (pinned by a rerun, or the
//! incremental range after the job's last successful run) and the checked
//! input plan (files, columns, types), before anything is written.

use chrono::NaiveDate;
use lakescore_core::runs::{days_since_epoch, incremental_range};
use lakescore_core::spec::{InputFormat, InputMode, LoadedSpec};
use lakescore_lake::Lake;

use super::{Pin, RunError, runs};
use crate::score::{self, Files, InputPlan, ModelInputs, ScoreError};

pub struct Resolved {
    /// `None` when an incremental input has no new rows.
    pub plan: Option<InputPlan>,
    pub input_version: Option<i64>,
    /// Incremental input: the version after which rows were read.
    pub input_start_version: Option<i64>,
}

/// Which Delta versions a run reads.
#[derive(Debug, Clone, Default)]
pub struct InputRange {
    /// Read this version (else the spec's `version`, else the latest).
    pub version: Option<i64>,
    /// Incremental: only files appended after this version (`Some(None)`: all of them).
    pub after: Option<Option<i64>>,
    /// Only these of the input's files (a shard's share of a sharded run).
    pub only: Option<Vec<String>>,
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
            only: None,
        });
    }
    if let Some(pin) = pin {
        return Ok(InputRange {
            version: pin.input_version,
            after: Some(pin.input_start_version),
            only: None,
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
        only: None,
    })
}

pub async fn resolve_input(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
    inputs: &ModelInputs,
    range: InputRange,
) -> Result<Resolved, RunError> {
    let job = &spec.job;
    let input = job.input.path_for(date);
    let score_err = |source| RunError::Score {
        job: job.name.clone(),
        source,
    };
    let lake_err = |source| RunError::Lake {
        job: job.name.clone(),
        source,
    };
    let (files, input_version): (Files, Option<i64>) = match job.input.format {
        InputFormat::Parquet => (
            score::expand(&input, lake.storage())
                .await
                .map_err(score_err)?,
            None,
        ),
        InputFormat::Delta => {
            let table = lake
                .open_location(&input, range.version.or(job.input.version))
                .await
                .map_err(lake_err)?
                .ok_or_else(|| RunError::Input {
                    job: job.name.clone(),
                    input: input.clone(),
                    message: "no Delta table there".into(),
                })?;
            let partitions = table.partition_columns().map_err(lake_err)?;
            let filter = job.input.partition_filter_for(date);
            if let Some(column) = filter.keys().find(|c| !partitions.contains(c)) {
                return Err(RunError::Input {
                    job: job.name.clone(),
                    input,
                    message: format!(
                        "partition_filter names {column:?}, which is not a partition column of the table (its partition columns: {})",
                        if partitions.is_empty() {
                            "none".to_string()
                        } else {
                            partitions.join(", ")
                        }
                    ),
                });
            }
            let data: Vec<_> = match range.after {
                None => table.data_files().await,
                Some(after) => table.appended_files_since(after).await,
            }
            .map_err(lake_err)?
            .into_iter()
            .filter(|f| {
                filter
                    .iter()
                    .all(|(c, v)| f.partition_values.get(c).cloned().flatten().as_ref() == Some(v))
            })
            .collect();
            if data.is_empty() && range.after.is_some() {
                return Ok(Resolved {
                    plan: None,
                    input_version: Some(table.version()),
                    input_start_version: range.after.flatten(),
                });
            }
            if data.is_empty() {
                return Err(score_err(ScoreError::NoInput { pattern: input }));
            }
            let types =
                partition_types(&table, &partitions).map_err(|message| RunError::Input {
                    job: job.name.clone(),
                    input: input.clone(),
                    message,
                })?;
            let values = data
                .iter()
                .map(|f| {
                    partitions
                        .iter()
                        .map(|p| f.partition_values.get(p).cloned().flatten())
                        .collect()
                })
                .collect();
            let locations = data
                .iter()
                .map(lakescore_lake::DataFile::location)
                .collect();
            (
                Files::new(locations, lake.storage())
                    .map_err(score_err)?
                    .with_partitions(types, values),
                Some(table.version()),
            )
        }
    };
    let files = match &range.only {
        Some(only) => files.select(only),
        None => files,
    };
    let monitored = job
        .drift
        .as_ref()
        .map(|d| d.columns.clone())
        .unwrap_or_default();
    // polars reads footers with its own runtime, which must not block one of ours.
    let plan = tokio::task::block_in_place(|| {
        InputPlan::inspect(
            &input,
            files,
            &job.input.keys,
            &monitored,
            inputs,
            job.input.batch_rows,
        )
    })
    .map_err(score_err)?;
    Ok(Resolved {
        plan: Some(plan),
        input_version,
        input_start_version: range.after.flatten(),
    })
}

/// The polars type of each partition column, from the table's schema.
fn partition_types(
    table: &lakescore_lake::Table,
    partitions: &[String],
) -> Result<Vec<(String, polars::prelude::DataType)>, String> {
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let schema = table.arrow_schema().map_err(|e| e.to_string())?;
    let empty = crate::bridge::arrow_to_polars(&schema, &[]).map_err(|e| e.to_string())?;
    partitions
        .iter()
        .map(|p| {
            empty
                .schema()
                .get(p.as_str())
                .map(|t| (p.clone(), t.clone()))
                .ok_or_else(|| format!("partition column {p:?} is not in the table's schema"))
        })
        .collect()
}
