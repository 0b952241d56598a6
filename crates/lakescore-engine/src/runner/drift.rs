//! Drift during a run: which reference a job compares with, and feeding each
//! scored batch to the accumulator.

use lakescore_core::drift::{
    ColumnKind, DriftAccumulator, Histogram, Metric, PREDICTION, ReferenceProfile, Thresholds,
};
use lakescore_core::registry::ModelVersionRow;
use lakescore_core::spec::Job;
use lakescore_lake::Lake;
use lakescore_model::Model;

use super::{DriftAlert, RunError, drift_table, reference};
use crate::registry::Registry;
use crate::score::{self, ScoreError};

/// The reference profile drift compares with: the spec's `[drift]
/// reference_window` (a window of the job's own output), or its `reference`
/// (profiled now with this model), else the version's registered profile.
pub(crate) async fn job_profile(
    lake: &Lake,
    registry: &Registry,
    job: &Job,
    version: &ModelVersionRow,
    model: &dyn Model,
) -> Result<Option<ReferenceProfile>, RunError> {
    let reference_err = |source| RunError::Reference {
        job: job.name.clone(),
        source: Box::new(source),
    };
    if let Some((from, to)) = job.drift.as_ref().and_then(|d| d.reference_window) {
        let profile = reference::window_profile(lake, &job.output_table, &job.input.keys, from, to)
            .await
            .map_err(reference_err)?;
        if profile.is_none() {
            tracing::warn!(job = %job.name, %from, %to, "the reference window holds no predictions yet: drift is not computed");
        }
        return Ok(profile);
    }
    match job.drift.as_ref().and_then(|d| d.reference.as_deref()) {
        Some(reference) => reference::build_profile(registry.lake(), reference, model)
            .await
            .map(Some)
            .map_err(|source| RunError::Reference {
                job: job.name.clone(),
                source: Box::new(source),
            }),
        None => registry
            .load_profile(version)
            .await
            .map_err(|source| RunError::Registry {
                job: job.name.clone(),
                source: Box::new(source),
            }),
    }
}

/// Feed one scored batch to the drift accumulator: model inputs from the
/// feature matrix, the prediction, and monitored columns from the input batch.
pub(crate) fn track(
    acc: &mut DriftAccumulator<'_>,
    model: &dyn Model,
    scored: &score::Scored,
) -> Result<(), ScoreError> {
    // Model inputs and the prediction are already f64 columns: count them in
    // parallel; monitored input columns are extracted from the batch first.
    let mut extracted: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut direct: Vec<(usize, &[f64])> = Vec::new();
    for i in 0..acc.names().len() {
        let name = &acc.names()[i];
        if name == PREDICTION {
            direct.push((i, &scored.predictions));
        } else if let Some(f) = model.features().iter().position(|f| f == name) {
            direct.push((i, &scored.features.columns[f]));
        } else {
            match acc.kind(i) {
                ColumnKind::Numeric => {
                    extracted.push((i, score::numeric_values(&scored.frame, name)?));
                }
                ColumnKind::Categorical => {
                    let values = score::string_values(&scored.frame, name)?;
                    acc.push_categorical(i, values.iter());
                }
            }
        }
    }
    direct.extend(extracted.iter().map(|(i, v)| (*i, v.as_slice())));
    acc.push_numeric_many(&direct, drift_threads());
    Ok(())
}

/// Write one model version's drift of a run (the metrics, then the bin
/// counts behind them); the number of metric rows and the alerts.
pub(crate) async fn record(
    lake: &Lake,
    ctx: &drift_table::DriftContext<'_>,
    metrics: &[Metric],
    histograms: &[Histogram],
) -> Result<(usize, Vec<DriftAlert>), lakescore_lake::LakeError> {
    let rows = drift_table::rows(ctx, metrics);
    drift_table::append(lake, &rows).await?;
    let bins = drift_table::histogram_rows(ctx, histograms);
    if !bins.is_empty() {
        drift_table::append_histograms(lake, &bins).await?;
    }
    let alerts = metrics
        .iter()
        .filter(|m| m.alert)
        .map(|m| DriftAlert {
            feature: m.feature.clone(),
            metric: m.metric,
            value: m.value,
            p_value: m.p_value,
            threshold: m.threshold,
        })
        .collect();
    Ok((rows.len(), alerts))
}

/// Threads for drift counting: the machine's parallelism (`LAKESCORE_DRIFT_THREADS` overrides).
pub fn drift_threads() -> usize {
    std::env::var("LAKESCORE_DRIFT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(std::num::NonZero::get)
        })
        .unwrap_or(1)
        .max(1)
}

/// Alert thresholds of a job: its `[drift]` table, or the defaults.
pub fn thresholds(job: &Job) -> Thresholds {
    job.drift
        .as_ref()
        .map(|d| d.thresholds.clone())
        .unwrap_or_default()
}
