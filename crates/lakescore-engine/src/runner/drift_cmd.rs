//! `lakescore drift JOB --date D`: drift of an already scored date, without rescoring.
//!
//! The predictions (and the model version of every row) come from the job's
//! output table, read one partition only; the model inputs come from the job's
//! input for that date, read again but never scored. When the date holds rows
//! of several model versions (say a backfill across a promotion), each version
//! is compared with its own reference profile: input rows are attributed to a
//! version through the job's key columns.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use chrono::NaiveDate;
use serde::Serialize;

use lakescore_core::runs::days_since_epoch;

use super::drift::{job_profile, thresholds};
use super::input::{input_range, resolve_input};
use super::{DriftAlert, RunError, drift_table};
use crate::registry::Registry;
use crate::score::{FrameStream, ScoreError};
use lakescore_core::drift::{ColumnKind, DriftAccumulator, Metric, PREDICTION, ReferenceProfile};
use lakescore_core::spec::LoadedSpec;
use lakescore_lake::Lake;

/// What `drift` computed.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// The id under which the metrics were written (`run_id` column).
    pub drift_id: String,
    pub job_name: String,
    pub logical_date: String,
    pub versions: Vec<VersionDrift>,
    pub drift_metrics: usize,
    pub drift_alerts: Vec<DriftAlert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionDrift {
    pub model_name: String,
    pub model_version: i64,
    pub rows: usize,
    /// Why no drift was computed for this version, if it was not.
    pub skipped: Option<String>,
}

/// Output rows of one date, by (model name, version): predictions and row keys.
#[derive(Default)]
struct Scored {
    predictions: Vec<f64>,
    keys: Vec<String>,
}

fn input_err(job: &str, input: &str, message: String) -> RunError {
    RunError::Input {
        job: job.into(),
        input: input.into(),
        message,
    }
}

/// Join key column values of row `i` into one string.
fn row_key(columns: &[arrow::array::ArrayRef], i: usize) -> String {
    let mut key = String::new();
    for c in columns {
        let s = c.as_string::<i32>();
        if s.is_null(i) {
            key.push('\u{0}');
        } else {
            key.push_str(s.value(i));
        }
        key.push('\u{1f}');
    }
    key
}

fn group_output(
    job: &str,
    table: &str,
    batches: &[RecordBatch],
    keys: &[String],
) -> Result<BTreeMap<(String, i64), Scored>, RunError> {
    let mut groups: BTreeMap<(String, i64), Scored> = BTreeMap::new();
    for b in batches {
        let col = |name: &str| {
            b.column_by_name(name).cloned().ok_or_else(|| {
                input_err(job, table, format!("output table has no column {name:?}"))
            })
        };
        let names = col("model_name")?;
        let names = names.as_string::<i32>();
        let versions = col("model_version")?;
        let versions = versions.as_primitive::<Int64Type>();
        let predictions = col("prediction")?;
        let predictions = predictions.as_primitive::<Float64Type>();
        let key_columns = keys
            .iter()
            .map(|k| {
                let c = col(k)?;
                cast(&c, &DataType::Utf8)
                    .map_err(|e| input_err(job, table, format!("key {k}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for i in 0..b.num_rows() {
            let g = groups
                .entry((names.value(i).to_string(), versions.value(i)))
                .or_default();
            g.predictions.push(if predictions.is_null(i) {
                f64::NAN
            } else {
                predictions.value(i)
            });
            if !key_columns.is_empty() {
                g.keys.push(row_key(&key_columns, i));
            }
        }
    }
    Ok(groups)
}

/// Recompute and record drift for `date` of `spec`'s job.
pub async fn recompute(
    lake: &Lake,
    spec: &LoadedSpec,
    date: NaiveDate,
) -> Result<DriftReport, RunError> {
    let job = &spec.job;
    let lake_err = |source| RunError::Lake {
        job: job.name.clone(),
        source,
    };
    let ds = date.to_string();
    let table = lake
        .open_table(&job.output_table)
        .await
        .map_err(lake_err)?
        .ok_or_else(|| {
            input_err(
                &job.name,
                &job.output_table,
                "no output table: run the job first".into(),
            )
        })?;
    let read = table
        .read_partition("logical_date", &ds)
        .await
        .map_err(lake_err)?;
    let groups = group_output(&job.name, table.uri(), &read.batches, &job.input.keys)?;
    if groups.is_empty() {
        return Err(input_err(
            &job.name,
            table.uri(),
            format!("no predictions for {ds}: run the job for that date first"),
        ));
    }
    if groups.len() > 1 && job.input.keys.is_empty() {
        return Err(input_err(
            &job.name,
            table.uri(),
            format!(
                "{ds} holds predictions of {} model versions; without [input] keys, input rows cannot be attributed to a version",
                groups.len()
            ),
        ));
    }

    // Each version's profile and features (from its registry row: no model is loaded).
    let registry = Registry::new(lake.clone());
    let state = registry
        .state()
        .await
        .map_err(|source| RunError::Registry {
            job: job.name.clone(),
            source: Box::new(source),
        })?;
    let mut versions = Vec::new();
    let mut profiles: Vec<Option<(ReferenceProfile, Vec<String>)>> = Vec::new();
    for ((name, version), scored) in &groups {
        let row = state
            .models
            .get(name)
            .and_then(|m| m.versions.get(version))
            .map(|v| v.record.clone());
        let (loaded, skipped) = match row {
            None => (None, Some("version not in the registry".to_string())),
            Some(row) => {
                let profile =
                    if job.drift.as_ref().is_some_and(|d| d.reference.is_some()) {
                        // The spec's reference is profiled with this version's own model.
                        let model = registry.load_version(&row).await.map_err(|source| {
                            RunError::Registry {
                                job: job.name.clone(),
                                source: Box::new(source),
                            }
                        })?;
                        job_profile(lake, job, &row, model.as_ref()).await?
                    } else {
                        registry
                            .load_profile(&row)
                            .await
                            .map_err(|source| RunError::Registry {
                                job: job.name.clone(),
                                source: Box::new(source),
                            })?
                    };
                match profile {
                    None => (None, Some("no reference profile".to_string())),
                    Some(p) => (Some((p, row.features.clone())), None),
                }
            }
        };
        versions.push(VersionDrift {
            model_name: name.clone(),
            model_version: *version,
            rows: scored.predictions.len(),
            skipped,
        });
        profiles.push(loaded);
    }

    // The input columns any version needs.
    let mut features: Vec<String> = Vec::new();
    for (_, f) in profiles.iter().flatten() {
        for name in f {
            if !features.contains(name) {
                features.push(name.clone());
            }
        }
    }
    let t = thresholds(job);
    let monitored = job
        .drift
        .as_ref()
        .map(|d| d.columns.clone())
        .unwrap_or_default();
    let mut accumulators: Vec<Option<DriftAccumulator<'_>>> = profiles
        .iter()
        .map(|p| {
            p.as_ref().map(|(profile, version_features)| {
                let mut names = version_features.clone();
                names.push(PREDICTION.into());
                names.extend(monitored.iter().cloned());
                names.extend(
                    job.input
                        .keys
                        .iter()
                        .filter(|k| !names.contains(k))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                names.retain(|n| profile.features.contains_key(n));
                DriftAccumulator::with_threads(profile, names, &t, super::drift::drift_threads())
            })
        })
        .collect();

    if accumulators.iter().any(Option::is_some) {
        let range = input_range(lake, spec, date, None).await?;
        let plan = resolve_input(
            lake,
            spec,
            date,
            &crate::score::ModelInputs::numeric(&features),
            range,
        )
        .await?
        .plan
        .ok_or_else(|| RunError::Input {
            job: job.name.clone(),
            input: job.input.path_for(date),
            message: "the run of this date read no rows (an empty increment)".into(),
        })?;
        // Which version each input row belongs to (by key) when there are several.
        let owner: HashMap<&str, usize> = if groups.len() > 1 {
            groups
                .values()
                .enumerate()
                .flat_map(|(g, s)| s.keys.iter().map(move |k| (k.as_str(), g)))
                .collect()
        } else {
            HashMap::new()
        };
        let score_err = |source: ScoreError| RunError::Score {
            job: job.name.clone(),
            source,
        };
        for frame in FrameStream::new(&plan) {
            let frame = frame.map_err(score_err)?;
            let rows_of: Vec<Vec<usize>> = if groups.len() > 1 {
                let keys = job
                    .input
                    .keys
                    .iter()
                    .map(|k| {
                        let s = crate::score::string_values(&frame, k).map_err(score_err)?;
                        Ok(s.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>())
                    })
                    .collect::<Result<Vec<_>, RunError>>()?;
                let mut rows_of = vec![Vec::new(); groups.len()];
                for i in 0..frame.height() {
                    let mut key = String::new();
                    for k in &keys {
                        match &k[i] {
                            None => key.push('\u{0}'),
                            Some(v) => key.push_str(v),
                        }
                        key.push('\u{1f}');
                    }
                    if let Some(&g) = owner.get(key.as_str()) {
                        rows_of[g].push(i);
                    }
                }
                rows_of
            } else {
                vec![(0..frame.height()).collect()]
            };
            for (g, acc) in accumulators.iter_mut().enumerate() {
                let Some(acc) = acc else { continue };
                push_rows(acc, &frame, &rows_of[g]).map_err(score_err)?;
            }
        }
    }

    // Predictions come from the output table, not from a model.
    let drift_id = format!("drift-{}", uuid::Uuid::new_v4());
    let mut rows = Vec::new();
    let mut bins = Vec::new();
    let mut alerts = Vec::new();
    for (((name, version), scored), acc) in groups.iter().zip(accumulators) {
        let Some(mut acc) = acc else { continue };
        if let Some(i) = acc.names().iter().position(|n| n == PREDICTION) {
            acc.push_numeric(i, &scored.predictions);
        }
        let (metrics, histograms): (Vec<Metric>, _) = acc.finish_with_histograms(&t);
        alerts.extend(metrics.iter().filter(|m| m.alert).map(|m| DriftAlert {
            feature: m.feature.clone(),
            metric: m.metric,
            value: m.value,
            p_value: m.p_value,
            threshold: m.threshold,
        }));
        let ctx = drift_table::DriftContext {
            run_id: &drift_id,
            job_name: &job.name,
            logical_date: days_since_epoch(date),
            model_name: name,
            model_version: *version,
        };
        rows.extend(drift_table::rows(&ctx, &metrics));
        bins.extend(drift_table::histogram_rows(&ctx, &histograms));
    }
    if !rows.is_empty() {
        drift_table::append(lake, &rows).await.map_err(lake_err)?;
    }
    if !bins.is_empty() {
        drift_table::append_histograms(lake, &bins)
            .await
            .map_err(lake_err)?;
    }
    Ok(DriftReport {
        drift_id,
        job_name: job.name.clone(),
        logical_date: ds,
        versions,
        drift_metrics: rows.len(),
        drift_alerts: alerts,
    })
}

/// Feed rows `rows` of `frame` to `acc` (every tracked column but the prediction).
fn push_rows(
    acc: &mut DriftAccumulator<'_>,
    frame: &polars::prelude::DataFrame,
    rows: &[usize],
) -> Result<(), ScoreError> {
    let all = rows.len() == frame.height();
    for i in 0..acc.names().len() {
        let name = acc.names()[i].clone();
        if name == PREDICTION {
            continue;
        }
        match acc.kind(i) {
            ColumnKind::Numeric => {
                let values = crate::score::numeric_values(frame, &name)?;
                if all {
                    acc.push_numeric(i, &values);
                } else {
                    let picked: Vec<f64> = rows.iter().map(|&r| values[r]).collect();
                    acc.push_numeric(i, &picked);
                }
            }
            ColumnKind::Categorical => {
                let values = crate::score::string_values(frame, &name)?;
                if all {
                    acc.push_categorical(i, values.iter());
                } else {
                    acc.push_categorical(i, rows.iter().map(|&r| values.get(r)));
                }
            }
        }
    }
    Ok(())
}
