//! The one-pass drift accumulator.
//!
//! [`DriftAccumulator`] consumes the current window batch by batch (the batches
//! the run already scores, so the input is read once) with memory bounded by the
//! reference, not by the window: PSI counts per bin, and for KS the counts of
//! current values equal to and strictly between consecutive distinct reference
//! values, which is all the exact statistic needs (the reference CDF is constant
//! between its values). Wasserstein keeps the current values up to the same cap
//! (then a reservoir sample). How a numeric column counts a batch is
//! [`super::column`]'s; here the columns are tracked, spread over threads and
//! turned into metrics.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::column::ColumnDrift;
use super::metric::{Histogram, HistogramBin, Metric, MetricKind, Thresholds};
use super::profile::{
    CategoricalProfile, ColumnKind, ColumnProfile, NumericProfile, PSI_FLOOR, ReferenceProfile,
};
use super::stats;
use crate::parallel::map_parallel;

/// The current window of one categorical column.
#[derive(Debug, Clone, Default)]
pub(super) struct CategoryDrift {
    pub(super) counts: BTreeMap<String, u64>,
    pub(super) nulls: u64,
}

impl CategoryDrift {
    fn count(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[derive(Debug, Clone)]
pub(super) enum Tracked {
    Numeric(Box<ColumnDrift>),
    Categorical(CategoryDrift),
}

/// Accumulates the current window of every profiled column and computes drift.
pub struct DriftAccumulator<'p> {
    profile: Cow<'p, ReferenceProfile>,
    pub(super) names: Vec<String>,
    pub(super) columns: Vec<Tracked>,
    /// Threads that prepare the columns and compute their metrics.
    threads: usize,
}

impl<'p> DriftAccumulator<'p> {
    /// Track `names` (which must all be in the profile). Current values are kept
    /// (up to the profile's cap) only when `t` asks for Wasserstein distances.
    pub fn new(profile: &'p ReferenceProfile, names: Vec<String>, t: &Thresholds) -> Self {
        Self::with_threads(profile, names, t, 1)
    }

    /// [`DriftAccumulator::new`], preparing the columns (each a pass over
    /// its reference values) on up to `threads` threads.
    pub fn with_threads(
        profile: &'p ReferenceProfile,
        names: Vec<String>,
        t: &Thresholds,
        threads: usize,
    ) -> Self {
        let columns = prepare(profile, &names, t, threads);
        Self {
            profile: Cow::Borrowed(profile),
            names,
            columns,
            threads,
        }
    }

    /// [`DriftAccumulator::with_threads`] over a profile it owns. Once a
    /// numeric column's reference values are in its table of distinct
    /// values, the profile's copy is freed, unless Wasserstein (which reads
    /// them) is wanted: at 200,000 reference values, 1.6 MB per column that
    /// a run would otherwise hold twice.
    pub fn owning(
        mut profile: ReferenceProfile,
        names: Vec<String>,
        t: &Thresholds,
        threads: usize,
    ) -> DriftAccumulator<'static> {
        let columns = prepare(&profile, &names, t, threads);
        if !wants(t, MetricKind::Wasserstein) {
            for name in &names {
                if let Some(ColumnProfile::Numeric(p)) = profile.features.get_mut(name) {
                    p.values = Vec::new();
                }
            }
        }
        DriftAccumulator {
            profile: Cow::Owned(profile),
            names,
            columns,
            threads,
        }
    }

    /// The names tracked, in the order the `push` methods index them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The kind of tracked column `i`.
    pub fn kind(&self, i: usize) -> ColumnKind {
        self.profile.features[&self.names[i]].kind()
    }

    /// Add values of numeric column `i` (NaN = missing).
    pub fn push_numeric(&mut self, i: usize, values: &[f64]) {
        if let Tracked::Numeric(column) = &mut self.columns[i] {
            column.push(values);
        }
    }

    /// Add values of categorical column `i` (`None` = missing).
    pub fn push_categorical<'a>(
        &mut self,
        i: usize,
        values: impl IntoIterator<Item = Option<&'a str>>,
    ) {
        if let Tracked::Categorical(c) = &mut self.columns[i] {
            for v in values {
                match v {
                    None => c.nulls += 1,
                    Some(v) => match c.counts.get_mut(v) {
                        Some(n) => *n += 1,
                        None => {
                            c.counts.insert(v.to_string(), 1);
                        }
                    },
                }
            }
        }
    }

    /// Add one batch of numeric columns: `columns[i]` holds `names()[i]`.
    pub fn push(&mut self, columns: &[&[f64]]) {
        let all: Vec<(usize, &[f64])> = columns.iter().copied().enumerate().collect();
        self.push_numeric_many(&all, 1);
    }

    /// Add values of several numeric columns `(index, values)` at once, spread
    /// over up to `threads` threads (columns are independent).
    pub fn push_numeric_many(&mut self, columns: &[(usize, &[f64])], threads: usize) {
        let mut work: Vec<(&mut ColumnDrift, &[f64])> = Vec::with_capacity(columns.len());
        let mut slots: Vec<Option<&mut Tracked>> = self.columns.iter_mut().map(Some).collect();
        for &(i, values) in columns {
            if let Some(Tracked::Numeric(column)) = slots[i].take() {
                work.push((column.as_mut(), values));
            }
        }
        // Columns differ in cost (a column of few distinct values counts
        // faster), so each thread takes the next column as it finishes one.
        map_parallel(work, threads, |(column, values)| column.push(values));
    }

    /// Compute every metric named in `t.metrics` for every column.
    pub fn finish(self, t: &Thresholds) -> Vec<Metric> {
        self.finish_with_histograms(t).0
    }

    /// The metrics, and each column's reference and current counts per bin
    /// or category (what the metrics were computed from).
    pub fn finish_with_histograms(self, t: &Thresholds) -> (Vec<Metric>, Vec<Histogram>) {
        // Columns on the accumulator's threads (each a pass over its
        // reference values), in order.
        let profile = &self.profile;
        let per_column = map_parallel(
            self.names.iter().zip(self.columns).collect(),
            self.threads,
            |(name, column)| {
                let mut out = Vec::new();
                let histogram = match (&profile.features[name], column) {
                    (ColumnProfile::Numeric(reference), Tracked::Numeric(column)) => {
                        let current = column.psi_counts();
                        numeric_metrics(name, reference, &column, &current, t, &mut out);
                        numeric_histogram(name, &column, &current)
                    }
                    (ColumnProfile::Categorical(reference), Tracked::Categorical(column)) => {
                        categorical_metrics(name, reference, &column, t, &mut out);
                        categorical_histogram(name, reference, &column)
                    }
                    _ => unreachable!("tracked columns follow their profile's kind"),
                };
                (out, histogram)
            },
        );
        let mut out = Vec::new();
        let mut histograms = Vec::with_capacity(per_column.len());
        for (metrics, histogram) in per_column {
            out.extend(metrics);
            histograms.push(histogram);
        }
        (out, histograms)
    }
}

/// Each tracked column's counting state (a pass over its reference values
/// for a numeric column), on up to `threads` threads.
fn prepare(
    profile: &ReferenceProfile,
    names: &[String],
    t: &Thresholds,
    threads: usize,
) -> Vec<Tracked> {
    let retain = wants(t, MetricKind::Wasserstein);
    map_parallel(
        names.iter().enumerate().collect(),
        threads,
        |(i, n)| match &profile.features[n] {
            ColumnProfile::Numeric(p) => Tracked::Numeric(Box::new(ColumnDrift::new(
                p,
                profile.exact_cap,
                0xD81F + i as u64,
                retain,
                t.psi_bins,
            ))),
            ColumnProfile::Categorical(_) => Tracked::Categorical(CategoryDrift::default()),
        },
    )
}

/// Builds [`Metric`]s of one column.
struct MetricSink<'a> {
    name: &'a str,
    n_reference: u64,
    n_current: u64,
    out: &'a mut Vec<Metric>,
}

impl MetricSink<'_> {
    fn push(
        &mut self,
        metric: MetricKind,
        value: Option<f64>,
        p_value: Option<f64>,
        threshold: Option<f64>,
        alert: bool,
    ) {
        self.out.push(Metric {
            feature: self.name.to_string(),
            metric,
            value: value.filter(|v| !v.is_nan()),
            p_value: p_value.filter(|v| !v.is_nan()),
            threshold,
            alert,
            n_reference: self.n_reference,
            n_current: self.n_current,
        });
    }

    fn null_rate(&mut self, t: &Thresholds, nulls: u64, reference_rate: f64) {
        let total = self.n_current + nulls;
        let value = (total > 0).then(|| nulls as f64 / total as f64 - reference_rate);
        let alert = value.is_some_and(|v| v.abs() > t.null_rate_alert);
        self.push(
            MetricKind::NullRate,
            value,
            None,
            Some(t.null_rate_alert),
            alert,
        );
    }
}

fn wants(t: &Thresholds, metric: MetricKind) -> bool {
    t.metrics.contains(&metric)
}

/// `psi_counts`: the column's current counts per PSI bin.
fn numeric_metrics(
    name: &str,
    reference: &NumericProfile,
    column: &ColumnDrift,
    psi_counts: &[u64],
    t: &Thresholds,
    out: &mut Vec<Metric>,
) {
    let mut sink = MetricSink {
        name,
        n_reference: reference.count,
        n_current: column.count,
        out,
    };
    let both = reference.count > 0 && column.count > 0;
    if wants(t, MetricKind::Psi) {
        let value = both.then(|| stats::psi(&column.ref_bins, psi_counts, PSI_FLOOR));
        let alert = value.is_some_and(|v| v > t.psi_alert);
        sink.push(MetricKind::Psi, value, None, Some(t.psi_alert), alert);
    }
    if wants(t, MetricKind::Ks) {
        let (d, p) = if both {
            let ks = stats::ks_from_statistic(
                column.ks_statistic(),
                reference.count as usize,
                column.count as usize,
            );
            (Some(ks.statistic), Some(ks.p_value))
        } else {
            (None, None)
        };
        let alert = p.is_some_and(|p| p < t.ks_pvalue_alert);
        sink.push(MetricKind::Ks, d, p, Some(t.ks_pvalue_alert), alert);
    }
    if let (true, Some(retained)) = (wants(t, MetricKind::Wasserstein), &column.retained) {
        let current = retained.clone().into_sorted();
        let w = both.then(|| stats::wasserstein(&reference.values, &current));
        sink.push(MetricKind::Wasserstein, w, None, None, false);
        let norm = w.and_then(|w| reference.std.filter(|s| *s > 0.0).map(|s| w / s));
        let alert = matches!((norm, t.wasserstein_alert), (Some(v), Some(th)) if v > th);
        sink.push(
            MetricKind::WassersteinNorm,
            norm,
            None,
            t.wasserstein_alert,
            alert,
        );
    }
    if wants(t, MetricKind::NullRate) {
        sink.null_rate(t, column.nulls, reference.null_rate);
    }
}

/// A numeric column's PSI bins: bin `i` holds values in `(edges[i-1], edges[i]]`.
fn numeric_histogram(name: &str, column: &ColumnDrift, current: &[u64]) -> Histogram {
    let edges = &column.edges;
    let bins = (0..=edges.len())
        .map(|i| HistogramBin {
            lower: i.checked_sub(1).map(|j| edges[j]),
            upper: edges.get(i).copied(),
            category: None,
            reference: column.ref_bins.get(i).copied().unwrap_or(0),
            current: current[i],
        })
        .collect();
    Histogram {
        feature: name.to_string(),
        bins,
    }
}

/// A categorical column's categories: the reference's in order, then new ones.
fn categorical_histogram(
    name: &str,
    reference: &CategoricalProfile,
    current: &CategoryDrift,
) -> Histogram {
    let (r, c) = aligned_counts(reference, current);
    let names = reference.categories.keys().chain(
        current
            .counts
            .keys()
            .filter(|k| !reference.categories.contains_key(*k)),
    );
    let bins = names
        .zip(r.iter().zip(&c))
        .map(|(category, (reference, current))| HistogramBin {
            lower: None,
            upper: None,
            category: Some(category.clone()),
            reference: *reference,
            current: *current,
        })
        .collect();
    Histogram {
        feature: name.to_string(),
        bins,
    }
}

/// Reference and current counts over the union of categories: the reference's
/// categories in order, then categories seen only in the current window.
fn aligned_counts(reference: &CategoricalProfile, current: &CategoryDrift) -> (Vec<u64>, Vec<u64>) {
    let mut r = Vec::with_capacity(reference.categories.len() + 1);
    let mut c = Vec::with_capacity(reference.categories.len() + 1);
    for (category, n) in &reference.categories {
        r.push(*n);
        c.push(current.counts.get(category).copied().unwrap_or(0));
    }
    for (category, n) in &current.counts {
        if !reference.categories.contains_key(category) {
            r.push(0);
            c.push(*n);
        }
    }
    (r, c)
}

fn categorical_metrics(
    name: &str,
    reference: &CategoricalProfile,
    column: &CategoryDrift,
    t: &Thresholds,
    out: &mut Vec<Metric>,
) {
    let n_current = column.count();
    let mut sink = MetricSink {
        name,
        n_reference: reference.count,
        n_current,
        out,
    };
    let both = reference.count > 0 && n_current > 0;
    let (r, c) = aligned_counts(reference, column);
    if wants(t, MetricKind::Psi) {
        let value = both.then(|| stats::psi(&r, &c, PSI_FLOOR));
        let alert = value.is_some_and(|v| v > t.psi_alert);
        sink.push(MetricKind::Psi, value, None, Some(t.psi_alert), alert);
    }
    if wants(t, MetricKind::Chi2) {
        let result = both.then(|| stats::chi2_contingency(&r, &c));
        let p = result.as_ref().map(|x| x.p_value);
        let alert = p.is_some_and(|p| p < t.chi2_pvalue_alert);
        sink.push(
            MetricKind::Chi2,
            result.map(|x| x.statistic),
            p,
            Some(t.chi2_pvalue_alert),
            alert,
        );
    }
    if wants(t, MetricKind::Js) {
        let value = both.then(|| stats::jensen_shannon(&r, &c));
        let alert = value.is_some_and(|v| v > t.js_alert);
        sink.push(MetricKind::Js, value, None, Some(t.js_alert), alert);
    }
    if wants(t, MetricKind::NullRate) {
        sink.null_rate(t, column.nulls, reference.null_rate);
    }
}
