//! A run over an input that was scored already (`[input]
//! model_version_column`), such as the inference log of `lakescore serve`:
//! nothing is scored and no predictions are written. The rows are grouped by
//! the model version that scored them, and each version's inputs and logged
//! predictions are compared with that version's own reference profile, as a
//! batch run compares its output. An incremental Delta input gives every
//! logged row to exactly one date, as for batch jobs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lakescore_core::drift::{ColumnKind, DriftAccumulator, PREDICTION, ReferenceProfile};
use lakescore_core::runs::{days_since_epoch, millis};
use lakescore_core::spec::{LoadedSpec, ScoredInput};
use lakescore_core::uri::{ModelRef, ModelSelector};
use lakescore_lake::Lake;
use lakescore_model::Model;
use polars::prelude::{BooleanChunked, NewChunkedArray as _};

use super::{RunError, RunOptions, RunReport, drift, drift_table, input};
use crate::registry::Registry;
use crate::score::{self, FrameStream, InputPlan, ModelInputs, ScoreError};

/// One model version found in the input, with what comparing it needs.
struct Version {
    number: i64,
    name: String,
    model: Box<dyn Model>,
    inputs: ModelInputs,
    profile: ReferenceProfile,
}

pub(crate) async fn execute(
    lake: &Lake,
    spec: &LoadedSpec,
    opts: &RunOptions,
    report: &mut RunReport,
    scored: &ScoredInput,
) -> Result<(), RunError> {
    let job = &spec.job;
    let clock = Instant::now();
    let jname = || job.name.clone();
    let score_err = |source| RunError::Score {
        job: jname(),
        source,
    };
    let registry_err = |source| RunError::Registry {
        job: jname(),
        source: Box::new(source),
    };
    let registry = Registry::new(lake.clone());
    // The reference names the model; its current version gives the columns
    // the input must have.
    let current = registry.load(&job.model).await.map_err(registry_err)?;
    report.model_version = current.version.record.version;
    let current_inputs = ModelInputs::of(current.model.as_ref());
    let range = input::input_range(lake, spec, opts.date, opts.pin.as_ref()).await?;
    let resolved = input::resolve_input(lake, spec, opts.date, &current_inputs, range).await?;
    report.input_version = resolved.input_version;
    report.input_start_version = resolved.input_start_version;
    let Some(mut plan) = resolved.plan else {
        tracing::info!(job = %job.name, "no rows appended to the input since the last run: nothing to compare");
        return Ok(());
    };
    report.input_files = plan.files.len();
    for column in [&scored.version_column, &scored.prediction_column] {
        if !plan.monitored.iter().any(|(c, _)| c == column) {
            plan.monitored.push((column.clone(), ColumnKind::Numeric));
        }
    }

    // Which versions scored these rows, then each one's model and profile.
    let numbers = versions_in(&plan, &scored.version_column).map_err(score_err)?;
    let mut current = Some(current);
    let mut versions = Vec::new();
    for number in numbers {
        // The current version is loaded already.
        let loaded = if let Some(loaded) = current.take_if(|c| c.version.record.version == number) {
            loaded
        } else {
            let reference = ModelRef {
                name: job.model.name.clone(),
                selector: ModelSelector::Version(number),
            };
            registry.load(&reference).await.map_err(registry_err)?
        };
        let profile = registry
            .load_profile(&loaded.version.record)
            .await
            .map_err(registry_err)?;
        if let Some(profile) = profile {
            versions.push(Version {
                number,
                name: loaded.version.record.name.clone(),
                inputs: ModelInputs::of(loaded.model.as_ref()),
                model: loaded.model,
                profile,
            });
        } else {
            tracing::warn!(
                job = %job.name,
                version = number,
                "model version has no reference profile: its rows are not compared"
            );
        }
    }
    if opts.dry_run {
        return Ok(());
    }

    let thresholds = drift::thresholds(job);
    let mut accumulators: Vec<DriftAccumulator<'_>> = versions
        .iter()
        .map(|v| {
            let mut names: Vec<String> = v.model.features().to_vec();
            names.push(PREDICTION.into());
            names.extend(
                plan.monitored
                    .iter()
                    .map(|(c, _)| c.clone())
                    .filter(|c| *c != scored.version_column && *c != scored.prediction_column),
            );
            names.retain(|n| v.profile.features.contains_key(n));
            DriftAccumulator::with_threads(&v.profile, names, &thresholds, drift::drift_threads())
        })
        .collect();

    report.timings.resolve_ms = millis(clock.elapsed());
    let (mut read, mut drift_time) = (Duration::ZERO, Duration::ZERO);
    let mut stream = FrameStream::new(&plan);
    loop {
        let clock = Instant::now();
        let next = tokio::task::block_in_place(|| stream.next());
        read += clock.elapsed();
        let Some(frame) = next else { break };
        let clock = Instant::now();
        let frame = frame.map_err(score_err)?;
        report.rows_in += frame.height();
        let of_row = score::numeric_values(&frame, &scored.version_column).map_err(score_err)?;
        for (v, acc) in versions.iter().zip(accumulators.iter_mut()) {
            let mask = BooleanChunked::from_iter_values(
                "version".into(),
                of_row.iter().map(|x| *x == v.number as f64),
            );
            let rows = frame.filter(&mask).map_err(|source| {
                score_err(ScoreError::Column {
                    column: scored.version_column.clone(),
                    source,
                })
            })?;
            if rows.height() == 0 {
                continue;
            }
            let features = score::model_matrix(&rows, &v.inputs).map_err(score_err)?;
            let predictions =
                score::numeric_values(&rows, &scored.prediction_column).map_err(score_err)?;
            let batch = score::Scored {
                features,
                predictions,
                probabilities: Vec::new(),
                output: None,
                frame: rows,
            };
            drift::track(acc, v.model.as_ref(), &batch).map_err(score_err)?;
        }
        drift_time += clock.elapsed();
    }
    report.timings.read_ms = millis(read);
    let mut commit = Duration::ZERO;

    let lake_err = |source| RunError::Lake {
        job: jname(),
        source,
    };
    for (v, acc) in versions.iter().zip(accumulators) {
        let clock = Instant::now();
        let (metrics, histograms) = acc.finish_with_histograms(&thresholds);
        drift_time += clock.elapsed();
        if metrics.iter().all(|m| m.n_current == 0) {
            continue;
        }
        let ctx = drift_table::DriftContext {
            run_id: &report.run_id,
            job_name: &job.name,
            logical_date: days_since_epoch(opts.date),
            model_name: &v.name,
            model_version: v.number,
        };
        let clock = Instant::now();
        let (written, alerts) = drift::record(lake, &ctx, &metrics, &histograms)
            .await
            .map_err(lake_err)?;
        commit += clock.elapsed();
        report.drift_metrics += written;
        report.drift_alerts.extend(alerts);
    }
    // Logged predictions are compared, not scored or written.
    report.timings.drift_ms = millis(drift_time);
    report.timings.commit_ms = millis(commit);
    Ok(())
}

/// The model versions named in `column` of the input (its nulls aside).
fn versions_in(plan: &InputPlan, column: &str) -> Result<BTreeSet<i64>, ScoreError> {
    let mut only = plan.clone();
    only.keys.clear();
    only.features.clear();
    only.monitored = vec![(column.to_string(), ColumnKind::Numeric)];
    let mut found = BTreeSet::new();
    for frame in FrameStream::new(&only) {
        let values = score::numeric_values(&frame?, column)?;
        found.extend(values.iter().filter(|v| v.is_finite()).map(|v| *v as i64));
    }
    Ok(found)
}
