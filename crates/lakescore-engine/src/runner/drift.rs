//! Drift during a run: which reference a job compares with, and feeding each
//! scored batch to the accumulator.

use lakescore_core::drift::{
    ColumnKind, DriftAccumulator, Histogram, Metric, PREDICTION, ReferenceProfile, Thresholds,
};
use lakescore_core::registry::ModelVersionRow;
use lakescore_core::spec::Job;
use lakescore_lake::Lake;
use lakescore_model::Model;
use tokio::task::JoinSet;

use super::{DriftAlert, RunError, drift_table, reference};
use crate::registry::Registry;
use crate::score::{self, ScoreError};

/// The reference profile drift compares with: the spec's `[drift]
/// reference_window` (a window of the job's own output), or its `reference`
/// (profiled now with this model), else the version's registered profile.
pub(crate) async fn job_profile(
    lake: &Lake,
    job: &Job,
    version: &ModelVersionRow,
    model: &dyn Model,
) -> Result<Option<ReferenceProfile>, RunError> {
    match profiled_file(job) {
        Some(reference) => reference::build_profile(lake, reference, model)
            .await
            .map(Some)
            .map_err(|source| RunError::Reference {
                job: job.name.clone(),
                source: Box::new(source),
            }),
        None => stored_profile(lake, job, version).await,
    }
}

/// The reference file a job profiles with its model, when it names one and
/// no window of its own output (which comes first).
fn profiled_file(job: &Job) -> Option<&str> {
    let drift = job.drift.as_ref()?;
    match drift.reference_window {
        Some(_) => None,
        None => drift.reference.as_deref(),
    }
}

/// The reference profile when it does not need the model: a window of the
/// job's output, or the version's registered profile.
async fn stored_profile(
    lake: &Lake,
    job: &Job,
    version: &ModelVersionRow,
) -> Result<Option<ReferenceProfile>, RunError> {
    if let Some((from, to)) = job.drift.as_ref().and_then(|d| d.reference_window) {
        let profile = reference::window_profile(lake, &job.output_table, &job.input.keys, from, to)
            .await
            .map_err(|source| RunError::Reference {
                job: job.name.clone(),
                source: Box::new(source),
            })?;
        if profile.is_none() {
            tracing::warn!(job = %job.name, %from, %to, "the reference window holds no predictions yet: drift is not computed");
        }
        return Ok(profile);
    }
    Registry::new(lake.clone())
        .load_profile(version)
        .await
        .map_err(|source| RunError::Registry {
            job: job.name.clone(),
            source: Box::new(source),
        })
}

/// A reference profile loading on its own task: fetched, checked against
/// its hash and decoded beside the model's load and the input's listing,
/// which it does not need. Dropping it stops the load.
pub(crate) struct ProfileLoad(JoinSet<Result<Option<ReferenceProfile>, RunError>>);

impl ProfileLoad {
    /// Start loading the job's profile, unless it is profiled from a file
    /// with the model (then [`job_profile`] does it, once the model is loaded).
    pub(crate) fn start(lake: &Lake, job: &Job, version: &ModelVersionRow) -> Option<Self> {
        if profiled_file(job).is_some() {
            return None;
        }
        let (lake, job, version) = (lake.clone(), job.clone(), version.clone());
        let mut set = JoinSet::new();
        set.spawn(async move { stored_profile(&lake, &job, &version).await });
        Some(Self(set))
    }

    /// The profile (or why it could not be loaded).
    pub(crate) async fn join(mut self) -> Result<Option<ReferenceProfile>, RunError> {
        match self.0.join_next().await {
            Some(Ok(result)) => result,
            Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            None => unreachable!("the set holds the load"),
        }
    }
}

/// A run's drift accumulator, prepared (a pass over each reference column)
/// on its own thread while the first batch is read and scored: the first
/// batch's counting waits for it.
pub(crate) struct Prepared {
    pending: Option<std::thread::JoinHandle<DriftAccumulator<'static>>>,
    ready: Option<DriftAccumulator<'static>>,
}

impl Prepared {
    /// Prepare `names` of `profile` on another thread.
    pub(crate) fn start(profile: ReferenceProfile, names: Vec<String>, t: Thresholds) -> Self {
        let pending = std::thread::spawn(move || {
            DriftAccumulator::owning(profile, names, &t, drift_threads())
        });
        Self {
            pending: Some(pending),
            ready: None,
        }
    }

    /// The accumulator, once prepared.
    pub(crate) fn get(&mut self) -> &mut DriftAccumulator<'static> {
        if let Some(pending) = self.pending.take() {
            let acc = pending
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            self.ready = Some(acc);
        }
        self.ready.as_mut().expect("joined above")
    }

    /// The accumulator, once prepared.
    pub(crate) fn into_inner(mut self) -> DriftAccumulator<'static> {
        self.get();
        self.ready.expect("joined by get")
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
