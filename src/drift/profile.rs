//! Reference profiles and the one-pass drift accumulator. Pure: no IO.
//!
//! A [`ReferenceProfile`] is captured when a model version is registered with
//! `--reference`: for each model input and for the model's own prediction
//! (`__prediction__`), row counts, null rate, min/max/mean/std, the PSI bin
//! edges and counts, and the exact sorted values (up to `exact_cap`, default
//! 1,000,000; beyond it a seeded uniform reservoir sample of that size, flagged
//! `sampled`), which is what an exact two-sample KS test and Wasserstein distance need.
//!
//! [`DriftAccumulator`] consumes the current window batch by batch (the batches
//! the run already scores, so the input is read once) with memory bounded by the
//! reference, not by the window: PSI counts per bin, and for KS the counts of
//! current values equal to and strictly between consecutive distinct reference
//! values, which is all the exact statistic needs (the reference CDF is constant
//! between its values). Wasserstein keeps the current values up to the same cap
//! (then a reservoir sample).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::stats;

/// The feature name under which the model's own output is profiled.
pub const PREDICTION: &str = "__prediction__";
/// Exact values kept per feature before sampling.
pub const DEFAULT_EXACT_CAP: usize = 1_000_000;
/// PSI bins (quantiles of the reference).
pub const DEFAULT_BINS: usize = 10;
/// Floor of an empty bin's share in PSI.
pub const PSI_FLOOR: f64 = 1e-4;
pub const FORMAT: &str = "lakescore.profile/v1";

/// Categories kept per categorical column; a column with more is not profiled.
pub const MAX_CATEGORIES: usize = 1000;

/// The reference profile of one model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    pub format: String,
    /// Where the reference data came from.
    pub source: String,
    pub rows: u64,
    pub exact_cap: usize,
    pub bins: usize,
    /// Model inputs, `__prediction__`, and the reference's other columns.
    pub features: BTreeMap<String, ColumnProfile>,
    /// Columns of the reference left out, with the reason.
    #[serde(default)]
    pub skipped: BTreeMap<String, String>,
}

/// How a column is compared: numbers (PSI, KS, Wasserstein) or categories (chi-square, JS, PSI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Numeric,
    Categorical,
}

/// The profile of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ColumnProfile {
    Numeric(NumericProfile),
    Categorical(CategoricalProfile),
}

impl ColumnProfile {
    pub fn kind(&self) -> ColumnKind {
        match self {
            ColumnProfile::Numeric(_) => ColumnKind::Numeric,
            ColumnProfile::Categorical(_) => ColumnKind::Categorical,
        }
    }

    pub fn null_rate(&self) -> f64 {
        match self {
            ColumnProfile::Numeric(n) => n.null_rate,
            ColumnProfile::Categorical(c) => c.null_rate,
        }
    }
}

/// Category frequencies of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Non-null values.
    pub count: u64,
    pub nulls: u64,
    pub null_rate: f64,
    pub categories: BTreeMap<String, u64>,
}

/// Summary and exact values of one numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Values that are neither null nor NaN.
    pub count: u64,
    /// Null or NaN values.
    pub nulls: u64,
    pub null_rate: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation (ddof = 0).
    pub std: Option<f64>,
    /// Inner PSI edges: type-7 quantiles of the reference at 1/bins … (bins-1)/bins, ties merged.
    pub edges: Vec<f64>,
    /// Reference counts per PSI bin `(e[i-1], e[i]]`.
    pub bin_counts: Vec<u64>,
    /// True when `values` is a uniform sample rather than every value.
    pub sampled: bool,
    /// Sorted values (exact up to the cap). Stored apart from the JSON summary.
    #[serde(skip)]
    pub values: Vec<f64>,
}

/// A small deterministic PRNG (SplitMix64) for reservoir sampling.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Keeps every value up to `cap`, then a uniform reservoir sample of `cap` (Algorithm R).
#[derive(Debug, Clone)]
struct Reservoir {
    cap: usize,
    seen: u64,
    values: Vec<f64>,
    rng: SplitMix,
}

impl Reservoir {
    fn new(cap: usize, seed: u64) -> Self {
        Self {
            cap,
            seen: 0,
            values: Vec::new(),
            rng: SplitMix(seed),
        }
    }

    fn push(&mut self, v: f64) {
        self.seen += 1;
        if self.values.len() < self.cap {
            self.values.push(v);
        } else {
            let j = self.rng.next() % self.seen;
            if (j as usize) < self.cap {
                self.values[j as usize] = v;
            }
        }
    }

    fn sampled(&self) -> bool {
        self.seen > self.values.len() as u64
    }

    fn into_sorted(mut self) -> Vec<f64> {
        self.values.sort_by(f64::total_cmp);
        self.values
    }
}

/// Streaming moments and extremes (Welford).
#[derive(Debug, Clone, Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Moments {
    fn push(&mut self, v: f64) {
        if self.n == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n += 1;
        let delta = v - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (v - self.mean);
    }
}

/// One column being profiled.
#[derive(Debug, Clone)]
enum ColumnBuilder {
    Numeric {
        moments: Moments,
        nulls: u64,
        reservoir: Reservoir,
    },
    Categorical {
        counts: BTreeMap<String, u64>,
        nulls: u64,
    },
}

/// Builds a [`ReferenceProfile`] from batches of the reference data.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    names: Vec<String>,
    columns: Vec<ColumnBuilder>,
    rows: u64,
    cap: usize,
    bins: usize,
}

impl ProfileBuilder {
    /// Profile `columns` (name and kind; the model's features, [`PREDICTION`], others).
    pub fn new(columns: Vec<(String, ColumnKind)>, cap: usize, bins: usize) -> Self {
        let cap = cap.max(1);
        let (names, columns) = columns
            .into_iter()
            .enumerate()
            .map(|(i, (name, kind))| {
                let builder = match kind {
                    ColumnKind::Numeric => ColumnBuilder::Numeric {
                        moments: Moments::default(),
                        nulls: 0,
                        reservoir: Reservoir::new(cap, 0x5EED + i as u64),
                    },
                    ColumnKind::Categorical => ColumnBuilder::Categorical {
                        counts: BTreeMap::new(),
                        nulls: 0,
                    },
                };
                (name, builder)
            })
            .unzip();
        Self {
            names,
            columns,
            rows: 0,
            cap,
            bins: bins.max(2),
        }
    }

    /// The profiled names, in the order the `push` methods index them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Count `n` more reference rows (once per batch).
    pub fn add_rows(&mut self, n: usize) {
        self.rows += n as u64;
    }

    /// Add values of numeric column `i` (NaN = missing).
    pub fn push_numeric(&mut self, i: usize, values: &[f64]) {
        if let ColumnBuilder::Numeric {
            moments,
            nulls,
            reservoir,
        } = &mut self.columns[i]
        {
            for &v in values {
                if v.is_nan() {
                    *nulls += 1;
                } else {
                    moments.push(v);
                    reservoir.push(v);
                }
            }
        }
    }

    /// Add values of categorical column `i` (`None` = missing).
    pub fn push_categorical<'a>(
        &mut self,
        i: usize,
        values: impl IntoIterator<Item = Option<&'a str>>,
    ) {
        if let ColumnBuilder::Categorical { counts, nulls } = &mut self.columns[i] {
            for v in values {
                match v {
                    None => *nulls += 1,
                    Some(v) => match counts.get_mut(v) {
                        Some(c) => *c += 1,
                        None => {
                            counts.insert(v.to_string(), 1);
                        }
                    },
                }
            }
        }
    }

    /// Add one batch of numeric columns, `columns[i]` for `names()[i]`.
    pub fn push(&mut self, columns: &[&[f64]]) {
        self.add_rows(columns.first().map(|c| c.len()).unwrap_or(0));
        for (i, values) in columns.iter().enumerate() {
            self.push_numeric(i, values);
        }
    }

    pub fn finish(self, source: &str) -> ReferenceProfile {
        let bins = self.bins;
        let mut features = BTreeMap::new();
        let mut skipped = BTreeMap::new();
        for (name, column) in self.names.into_iter().zip(self.columns) {
            match column {
                ColumnBuilder::Numeric {
                    moments: m,
                    nulls,
                    reservoir,
                } => {
                    features.insert(
                        name,
                        ColumnProfile::Numeric(numeric_profile(m, nulls, reservoir, bins)),
                    );
                }
                ColumnBuilder::Categorical { counts, nulls } => {
                    if counts.len() > MAX_CATEGORIES {
                        skipped.insert(
                            name,
                            format!("more than {MAX_CATEGORIES} distinct values (an identifier?)"),
                        );
                        continue;
                    }
                    let count: u64 = counts.values().sum();
                    let total = count + nulls;
                    features.insert(
                        name,
                        ColumnProfile::Categorical(CategoricalProfile {
                            count,
                            nulls,
                            null_rate: if total == 0 {
                                0.0
                            } else {
                                nulls as f64 / total as f64
                            },
                            categories: counts,
                        }),
                    );
                }
            }
        }
        ReferenceProfile {
            format: FORMAT.into(),
            source: source.into(),
            rows: self.rows,
            exact_cap: self.cap,
            bins,
            features,
            skipped,
        }
    }
}

/// PSI edges (type-7 quantiles of the finite values, ties merged) and counts per bin.
fn bin_reference(sorted_values: &[f64], bins: usize) -> (Vec<f64>, Vec<u64>) {
    let finite: Vec<f64> = sorted_values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let edges = stats::quantile_edges(&finite, bins);
    let mut counts = vec![0u64; edges.len() + 1];
    for &v in sorted_values {
        counts[stats::bin_index(&edges, v)] += 1;
    }
    (edges, counts)
}

fn numeric_profile(m: Moments, nulls: u64, reservoir: Reservoir, bins: usize) -> NumericProfile {
    let sampled = reservoir.sampled();
    let values = reservoir.into_sorted();
    let (edges, bin_counts) = bin_reference(&values, bins);
    let total = m.n + nulls;
    let has = m.n > 0;
    // With every value at hand, summarize from the sorted values (numpy's
    // pairwise summation): the profile then does not depend on row order.
    let (mean, std) = if has && !sampled {
        let n = values.len() as f64;
        let mean = stats::pairwise_sum(&values) / n;
        let squares: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
        (mean, (stats::pairwise_sum(&squares) / n).sqrt())
    } else {
        (m.mean, (m.m2 / m.n.max(1) as f64).sqrt())
    };
    NumericProfile {
        count: m.n,
        nulls,
        null_rate: if total == 0 {
            0.0
        } else {
            nulls as f64 / total as f64
        },
        min: has.then_some(m.min),
        max: has.then_some(m.max),
        mean: has.then_some(mean),
        std: has.then_some(std),
        edges,
        bin_counts,
        sampled,
        values,
    }
}

/// Per-metric alert thresholds (see the spec's `[drift]` table).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub metrics: Vec<String>,
    /// PSI bins (quantiles of the reference); default 10.
    pub psi_bins: usize,
    pub psi_alert: f64,
    pub ks_pvalue_alert: f64,
    /// Alert when Wasserstein-1 divided by the reference standard deviation exceeds this.
    pub wasserstein_alert: Option<f64>,
    /// Alert when the null rate moves by more than this (absolute).
    pub null_rate_alert: f64,
    /// Alert when the chi-square p-value of a categorical column falls below this.
    pub chi2_pvalue_alert: f64,
    /// Alert when the Jensen–Shannon distance (base 2) of a categorical column exceeds this.
    pub js_alert: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            metrics: ["psi", "ks", "wasserstein", "chi2", "js", "null_rate"]
                .map(String::from)
                .to_vec(),
            psi_bins: DEFAULT_BINS,
            psi_alert: 0.2,
            ks_pvalue_alert: 0.01,
            wasserstein_alert: None,
            null_rate_alert: 0.05,
            chi2_pvalue_alert: 0.01,
            js_alert: 0.1,
        }
    }
}

/// One computed metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub feature: String,
    /// `psi`, `ks`, `wasserstein`, `wasserstein_norm`, `chi2`, `js`, `null_rate`.
    pub metric: String,
    /// None when the metric cannot be computed (an empty window or reference).
    pub value: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
    pub alert: bool,
    pub n_reference: u64,
    pub n_current: u64,
}

/// The bits of `v` as a `u64` that sorts like [`f64::total_cmp`].
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Radix digit width: 11 bits, so 6 passes cover 64 bits and a digit's counts
/// (2,048 of them) stay in L1.
const RADIX_BITS: u32 = 11;

/// Sort `values` in [`f64::total_cmp`] order with an LSD radix sort over the
/// order-preserving bit keys (skipping digits every key shares): several times
/// faster than a comparison sort on batch-sized inputs.
fn radix_sort(values: &mut [f64], keys: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    const BUCKETS: usize = 1 << RADIX_BITS;
    const MASK: u64 = (1 << RADIX_BITS) - 1;
    if values.len() < 256 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    keys.clear();
    keys.extend(values.iter().map(|&v| order_key(v)));
    tmp.clear();
    tmp.resize(keys.len(), 0);
    let mut counts = vec![0usize; BUCKETS];
    let mut shift = 0;
    while shift < 64 {
        counts.fill(0);
        for &k in keys.iter() {
            counts[((k >> shift) & MASK) as usize] += 1;
        }
        if !counts.contains(&keys.len()) {
            let mut sum = 0;
            for c in counts.iter_mut() {
                let n = *c;
                *c = sum;
                sum += n;
            }
            for &k in keys.iter() {
                let d = ((k >> shift) & MASK) as usize;
                tmp[counts[d]] = k;
                counts[d] += 1;
            }
            std::mem::swap(keys, tmp);
        }
        shift += RADIX_BITS;
    }
    for (v, &k) in values.iter_mut().zip(keys.iter()) {
        *v = from_order_key(k);
    }
}

/// The current window of one numeric column, compared against its reference.
#[derive(Debug, Clone)]
struct ColumnDrift {
    /// Distinct reference values, ascending.
    distinct: Vec<f64>,
    /// Reference count of values <= distinct[j] (cumulative).
    ref_cum: Vec<u64>,
    /// Current counts: [below distinct[0], equal to distinct[0], between 0 and 1, equal to 1, …, above last].
    gaps: Vec<u64>,
    /// PSI inner edges and the reference's counts per bin (the profile's, or
    /// recomputed from its values for another bin count).
    edges: Vec<f64>,
    ref_bins: Vec<u64>,
    psi_counts: Vec<u64>,
    count: u64,
    nulls: u64,
    /// Current values kept for Wasserstein (only when that metric is wanted).
    retained: Option<Reservoir>,
    /// The non-missing values of the batch being pushed, sorted.
    scratch: Vec<f64>,
    /// Radix-sort buffers.
    keys: Vec<u64>,
    keys_tmp: Vec<u64>,
}

impl ColumnDrift {
    fn new(profile: &NumericProfile, cap: usize, seed: u64, retain: bool, bins: usize) -> Self {
        let (edges, ref_bins) = if profile.edges.len() + 1 == bins || profile.count == 0 {
            (profile.edges.clone(), profile.bin_counts.clone())
        } else {
            bin_reference(&profile.values, bins)
        };
        let mut distinct: Vec<f64> = Vec::new();
        let mut ref_cum: Vec<u64> = Vec::new();
        for (i, &v) in profile.values.iter().enumerate() {
            if distinct.last() == Some(&v) {
                *ref_cum.last_mut().expect("non-empty") = i as u64 + 1;
            } else {
                distinct.push(v);
                ref_cum.push(i as u64 + 1);
            }
        }
        let gaps = vec![0; 2 * distinct.len() + 1];
        Self {
            distinct,
            ref_cum,
            gaps,
            psi_counts: vec![0; edges.len() + 1],
            edges,
            ref_bins,
            count: 0,
            nulls: 0,
            retained: retain.then(|| Reservoir::new(cap.max(1), seed)),
            scratch: Vec::new(),
            keys: Vec::new(),
            keys_tmp: Vec::new(),
        }
    }

    /// Count one batch. The batch is sorted first, so that the PSI bin and the
    /// reference position of each value are found by walking forward (a
    /// galloping search from the previous position) rather than by a binary
    /// search over the whole reference per value: the walk stays in cache.
    fn push(&mut self, values: &[f64]) {
        let edges = &self.edges;
        self.scratch.clear();
        for &v in values {
            if v.is_nan() {
                self.nulls += 1;
            } else {
                self.scratch.push(v);
                // In arrival order, so the sample does not depend on batching.
                if let Some(r) = &mut self.retained {
                    r.push(v);
                }
            }
        }
        self.count += self.scratch.len() as u64;
        radix_sort(&mut self.scratch, &mut self.keys, &mut self.keys_tmp);
        let mut bin = 0;
        let n = self.distinct.len();
        // A batch much smaller than the reference gallops from value to value; a
        // large one merges (one predictable comparison per step through both).
        let gallop = self.scratch.len() * 16 < n;
        let mut j = 0;
        for &v in &self.scratch {
            // PSI: bins are right-closed, so a value's bin is the number of edges below it.
            while bin < edges.len() && edges[bin] < v {
                bin += 1;
            }
            self.psi_counts[bin] += 1;
            // First j with distinct[j] >= v (values come in ascending order).
            if gallop {
                let mut step = 1;
                while j + step < n && self.distinct[j + step] < v {
                    step *= 2;
                }
                let hi = (j + step + 1).min(n);
                j += self.distinct[j..hi].partition_point(|r| *r < v);
            } else {
                while j < n && self.distinct[j] < v {
                    j += 1;
                }
            }
            // Slot 2j+1 = equal to distinct[j]; slot 2j = strictly below distinct[j] (and above j-1).
            let slot = if j < n && self.distinct[j] == v {
                2 * j + 1
            } else {
                2 * j
            };
            self.gaps[slot] += 1;
        }
    }

    /// The exact two-sample KS statistic, computed as scipy does: the largest
    /// |F_ref - F_cur| over all data points, CDFs right-continuous.
    fn ks_statistic(&self) -> f64 {
        let n = *self.ref_cum.last().unwrap_or(&0) as f64;
        let m = self.count as f64;
        let mut cur: u64 = self.gaps[0];
        // Before the first reference value the reference CDF is 0.
        let mut d: f64 = cur as f64 / m;
        for j in 0..self.distinct.len() {
            let fr = self.ref_cum[j] as f64 / n;
            cur += self.gaps[2 * j + 1];
            d = d.max((fr - cur as f64 / m).abs());
            // The last current value before the next reference value.
            let between = self.gaps[2 * j + 2];
            if between > 0 {
                cur += between;
                d = d.max((fr - cur as f64 / m).abs());
            }
        }
        d
    }
}

/// The current window of one categorical column.
#[derive(Debug, Clone, Default)]
struct CategoryDrift {
    counts: BTreeMap<String, u64>,
    nulls: u64,
}

impl CategoryDrift {
    fn count(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[derive(Debug, Clone)]
enum Tracked {
    Numeric(Box<ColumnDrift>),
    Categorical(CategoryDrift),
}

/// Accumulates the current window of every profiled column and computes drift.
pub struct DriftAccumulator<'p> {
    profile: &'p ReferenceProfile,
    names: Vec<String>,
    columns: Vec<Tracked>,
}

impl<'p> DriftAccumulator<'p> {
    /// Track `names` (which must all be in the profile). Current values are kept
    /// (up to the profile's cap) only when `t` asks for Wasserstein distances.
    pub fn new(profile: &'p ReferenceProfile, names: Vec<String>, t: &Thresholds) -> Self {
        let retain = wants(t, "wasserstein");
        let columns = names
            .iter()
            .enumerate()
            .map(|(i, n)| match &profile.features[n] {
                ColumnProfile::Numeric(p) => Tracked::Numeric(Box::new(ColumnDrift::new(
                    p,
                    profile.exact_cap,
                    0xD81F + i as u64,
                    retain,
                    t.psi_bins,
                ))),
                ColumnProfile::Categorical(_) => Tracked::Categorical(CategoryDrift::default()),
            })
            .collect();
        Self {
            profile,
            names,
            columns,
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
        let threads = threads.clamp(1, work.len().max(1));
        if threads == 1 {
            for (column, values) in work {
                column.push(values);
            }
            return;
        }
        let per = work.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut rest = work;
            while !rest.is_empty() {
                let chunk: Vec<_> = rest.drain(..per.min(rest.len())).collect();
                scope.spawn(move || {
                    for (column, values) in chunk {
                        column.push(values);
                    }
                });
            }
        });
    }

    /// Compute every metric named in `t.metrics` for every column.
    pub fn finish(self, t: &Thresholds) -> Vec<Metric> {
        let mut out = Vec::new();
        for (name, column) in self.names.iter().zip(self.columns) {
            match (&self.profile.features[name], column) {
                (ColumnProfile::Numeric(reference), Tracked::Numeric(column)) => {
                    numeric_metrics(name, reference, &column, t, &mut out)
                }
                (ColumnProfile::Categorical(reference), Tracked::Categorical(column)) => {
                    categorical_metrics(name, reference, &column, t, &mut out)
                }
                _ => unreachable!("tracked columns follow their profile's kind"),
            }
        }
        out
    }
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
        metric: &str,
        value: Option<f64>,
        p_value: Option<f64>,
        threshold: Option<f64>,
        alert: bool,
    ) {
        self.out.push(Metric {
            feature: self.name.to_string(),
            metric: metric.into(),
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
        self.push("null_rate", value, None, Some(t.null_rate_alert), alert);
    }
}

fn wants(t: &Thresholds, metric: &str) -> bool {
    t.metrics.iter().any(|x| x == metric)
}

fn numeric_metrics(
    name: &str,
    reference: &NumericProfile,
    column: &ColumnDrift,
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
    if wants(t, "psi") {
        let value = both.then(|| stats::psi(&column.ref_bins, &column.psi_counts, PSI_FLOOR));
        let alert = value.is_some_and(|v| v > t.psi_alert);
        sink.push("psi", value, None, Some(t.psi_alert), alert);
    }
    if wants(t, "ks") {
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
        sink.push("ks", d, p, Some(t.ks_pvalue_alert), alert);
    }
    if let (true, Some(retained)) = (wants(t, "wasserstein"), &column.retained) {
        let current = retained.clone().into_sorted();
        let w = both.then(|| stats::wasserstein(&reference.values, &current));
        sink.push("wasserstein", w, None, None, false);
        let norm = w.and_then(|w| reference.std.filter(|s| *s > 0.0).map(|s| w / s));
        let alert = matches!((norm, t.wasserstein_alert), (Some(v), Some(th)) if v > th);
        sink.push("wasserstein_norm", norm, None, t.wasserstein_alert, alert);
    }
    if wants(t, "null_rate") {
        sink.null_rate(t, column.nulls, reference.null_rate);
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
    if wants(t, "psi") {
        let value = both.then(|| stats::psi(&r, &c, PSI_FLOOR));
        let alert = value.is_some_and(|v| v > t.psi_alert);
        sink.push("psi", value, None, Some(t.psi_alert), alert);
    }
    if wants(t, "chi2") {
        let result = both.then(|| stats::chi2_contingency(&r, &c));
        let p = result.as_ref().map(|x| x.p_value);
        let alert = p.is_some_and(|p| p < t.chi2_pvalue_alert);
        sink.push(
            "chi2",
            result.map(|x| x.statistic),
            p,
            Some(t.chi2_pvalue_alert),
            alert,
        );
    }
    if wants(t, "js") {
        let value = both.then(|| stats::jensen_shannon(&r, &c));
        let alert = value.is_some_and(|v| v > t.js_alert);
        sink.push("js", value, None, Some(t.js_alert), alert);
    }
    if wants(t, "null_rate") {
        sink.null_rate(t, column.nulls, reference.null_rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_of(values: &[f64]) -> ReferenceProfile {
        let mut b = ProfileBuilder::new(
            vec![("x".into(), ColumnKind::Numeric)],
            DEFAULT_EXACT_CAP,
            DEFAULT_BINS,
        );
        b.push(&[values]);
        b.finish("test")
    }

    fn drift_of(reference: &[f64], current: &[f64], batch: usize) -> Vec<Metric> {
        let p = profile_of(reference);
        let mut acc = DriftAccumulator::new(&p, vec!["x".into()], &Thresholds::default());
        for chunk in current.chunks(batch.max(1)) {
            acc.push(&[chunk]);
        }
        acc.finish(&Thresholds::default())
    }

    fn get(ms: &[Metric], m: &str) -> Metric {
        ms.iter().find(|x| x.metric == m).unwrap().clone()
    }

    #[test]
    fn streaming_ks_equals_the_batch_statistic() {
        let a: Vec<f64> = (0..300).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        let b: Vec<f64> = (0..211)
            .map(|i| ((i * 53) % 89) as f64 / 6.0 + 0.5)
            .collect();
        let ms = drift_of(&a, &b, 17);
        let mut sa = a.clone();
        sa.sort_by(f64::total_cmp);
        let mut sb = b.clone();
        sb.sort_by(f64::total_cmp);
        let batch = stats::ks_2samp(&sa, &sb);
        let ks = get(&ms, "ks");
        assert_eq!(ks.value.unwrap(), batch.statistic);
        assert_eq!(ks.p_value.unwrap(), batch.p_value);
        let w = get(&ms, "wasserstein").value.unwrap();
        assert!((w - stats::wasserstein(&sa, &sb)).abs() < 1e-12);
    }

    #[test]
    fn identical_windows_do_not_drift() {
        let a: Vec<f64> = (0..1000).map(|i| (i as f64).sin()).collect();
        let ms = drift_of(&a, &a, 64);
        assert_eq!(get(&ms, "psi").value, Some(0.0));
        assert_eq!(get(&ms, "ks").value, Some(0.0));
        assert!(ms.iter().all(|m| !m.alert));
    }

    #[test]
    fn empty_current_window_gives_null_values_not_a_crash() {
        let a: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let ms = drift_of(&a, &[], 10);
        assert!(ms.iter().all(|m| m.value.is_none() && !m.alert));
        let only_nulls = drift_of(&a, &[f64::NAN; 5], 10);
        assert_eq!(get(&only_nulls, "null_rate").value, Some(1.0));
        assert!(get(&only_nulls, "null_rate").alert);
        assert_eq!(get(&only_nulls, "ks").value, None);
    }

    #[test]
    fn psi_bins_other_than_the_profiles_are_recomputed_from_its_values() {
        let reference: Vec<f64> = (0..500).map(|i| ((i * 31) % 97) as f64).collect();
        let current: Vec<f64> = (0..300).map(|i| ((i * 17) % 89) as f64 + 3.0).collect();
        let p = profile_of(&reference);
        let t = Thresholds {
            psi_bins: 5,
            ..Thresholds::default()
        };
        let mut acc = DriftAccumulator::new(&p, vec!["x".into()], &t);
        acc.push_numeric(0, &current);
        let psi = get(&acc.finish(&t), "psi").value.unwrap();
        let mut sorted = reference.clone();
        sorted.sort_by(f64::total_cmp);
        let (edges, ref_bins) = bin_reference(&sorted, 5);
        assert_eq!(edges.len(), 4);
        let mut cur_bins = vec![0u64; 5];
        for &v in &current {
            cur_bins[stats::bin_index(&edges, v)] += 1;
        }
        assert_eq!(psi, stats::psi(&ref_bins, &cur_bins, PSI_FLOOR));
    }

    #[test]
    fn radix_sort_orders_like_total_cmp() {
        let mut rng = SplitMix(9);
        let mut values: Vec<f64> = (0..5000)
            .map(|i| match i % 9 {
                0 => -0.0,
                1 => 0.0,
                2 => f64::INFINITY,
                3 => f64::NEG_INFINITY,
                4 => (rng.next() % 7) as f64,
                _ => {
                    f64::from_bits(rng.next() >> 2)
                        * if rng.next().is_multiple_of(2) {
                            1.0
                        } else {
                            -1.0
                        }
                }
            })
            .filter(|v| !v.is_nan())
            .collect();
        let mut expected = values.clone();
        expected.sort_unstable_by(f64::total_cmp);
        radix_sort(&mut values, &mut Vec::new(), &mut Vec::new());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&values), bits(&expected));
    }

    #[test]
    fn reservoir_keeps_everything_under_the_cap_and_samples_above() {
        let mut r = Reservoir::new(10, 1);
        for i in 0..10 {
            r.push(i as f64);
        }
        assert!(!r.sampled());
        for i in 10..1000 {
            r.push(i as f64);
        }
        assert!(r.sampled());
        let v = r.into_sorted();
        assert_eq!(v.len(), 10);
        assert!(v.iter().any(|&x| x >= 10.0));
    }

    #[test]
    fn profile_summaries() {
        let p = profile_of(&[1.0, 2.0, f64::NAN, 3.0, 4.0]);
        let ColumnProfile::Numeric(x) = &p.features["x"] else {
            panic!("numeric")
        };
        assert_eq!((x.count, x.nulls), (4, 1));
        assert_eq!(x.null_rate, 0.2);
        assert_eq!((x.min, x.max, x.mean), (Some(1.0), Some(4.0), Some(2.5)));
        assert!((x.std.unwrap() - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(x.bin_counts.iter().sum::<u64>(), 4);
    }

    fn categorical(reference: &[&str], current: &[Option<&str>]) -> Vec<Metric> {
        let mut b = ProfileBuilder::new(vec![("c".into(), ColumnKind::Categorical)], 10, 10);
        b.add_rows(reference.len());
        b.push_categorical(0, reference.iter().map(|s| Some(*s)));
        let p = b.finish("t");
        let mut acc = DriftAccumulator::new(&p, vec!["c".into()], &Thresholds::default());
        acc.push_categorical(0, current.iter().copied());
        acc.finish(&Thresholds::default())
    }

    #[test]
    fn categorical_drift_counts_unseen_categories_as_their_own_bin() {
        let reference: Vec<&str> = (0..400).map(|i| ["a", "b", "c", "d"][i % 4]).collect();
        let same: Vec<Option<&str>> = reference.iter().map(|s| Some(*s)).collect();
        let ms = categorical(&reference, &same);
        assert_eq!(get(&ms, "psi").value, Some(0.0));
        assert_eq!(get(&ms, "js").value, Some(0.0));
        assert!(get(&ms, "chi2").p_value.unwrap() > 0.99);
        assert!(ms.iter().all(|m| !m.alert));

        // A mix change plus a category the reference never saw, plus nulls.
        let mut shifted: Vec<Option<&str>> = (0..300)
            .map(|i| Some(if i % 3 == 0 { "b" } else { "a" }))
            .collect();
        shifted.extend(std::iter::repeat_n(Some("zzz"), 60));
        shifted.extend(std::iter::repeat_n(None, 40));
        let ms = categorical(&reference, &shifted);
        let (r, c) = (vec![100u64, 100, 100, 100, 0], vec![200u64, 100, 0, 0, 60]);
        assert_eq!(get(&ms, "psi").value, Some(stats::psi(&r, &c, PSI_FLOOR)));
        assert_eq!(get(&ms, "js").value, Some(stats::jensen_shannon(&r, &c)));
        let chi = stats::chi2_contingency(&r, &c);
        assert_eq!(get(&ms, "chi2").value, Some(chi.statistic));
        assert!(get(&ms, "chi2").alert && get(&ms, "js").alert && get(&ms, "psi").alert);
        assert_eq!(get(&ms, "null_rate").value, Some(0.1));
        assert_eq!(get(&ms, "chi2").n_current, 360);
    }

    #[test]
    fn constant_and_low_cardinality_references() {
        let constant = vec![3.0; 50];
        let ms = drift_of(&constant, &constant, 8);
        assert_eq!(get(&ms, "psi").value, Some(0.0));
        assert_eq!(get(&ms, "ks").value, Some(0.0));
        assert_eq!(
            get(&ms, "wasserstein_norm").value,
            None,
            "std 0: no normalized distance"
        );
        let few: Vec<f64> = (0..60).map(|i| (i % 3) as f64).collect();
        let other: Vec<f64> = (0..60).map(|i| (i % 2) as f64).collect();
        let ms = drift_of(&few, &other, 5);
        let mut a = few.clone();
        a.sort_by(f64::total_cmp);
        let mut b = other.clone();
        b.sort_by(f64::total_cmp);
        assert_eq!(
            get(&ms, "ks").value,
            Some(stats::ks_2samp(&a, &b).statistic)
        );
        let one = drift_of(&few, &[1.0], 1);
        assert_eq!(get(&one, "ks").n_current, 1);
        assert!(get(&one, "ks").value.is_some());
    }

    #[test]
    fn all_null_and_infinite_values() {
        let reference: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let ms = drift_of(&reference, &[f64::NAN; 20], 3);
        assert_eq!(get(&ms, "null_rate").value, Some(1.0));
        assert!(get(&ms, "psi").value.is_none());
        let with_inf: Vec<f64> = reference
            .iter()
            .map(|&v| if v > 95.0 { f64::INFINITY } else { v })
            .collect();
        let ms = drift_of(&reference, &with_inf, 10);
        let ks = get(&ms, "ks").value.unwrap();
        assert!((ks - 0.04).abs() < 1e-12, "{ks}");
        assert!(get(&ms, "psi").value.unwrap() < 1e-12);
    }

    proptest::proptest! {
        #[test]
        fn metrics_do_not_depend_on_batch_size_or_row_order(
            reference in proptest::collection::vec(-1e3f64..1e3, 1..200),
            current in proptest::collection::vec(-1e3f64..1e3, 1..200),
            batch in 1usize..50,
        ) {
            let one = drift_of(&reference, &current, current.len());
            let many = drift_of(&reference, &current, batch);
            proptest::prop_assert_eq!(&one, &many);
            // Row order does not matter either (the reference's nor the window's).
            let mut shuffled = current.clone();
            shuffled.reverse();
            shuffled.rotate_left(batch % current.len().max(1));
            let mut reference_reversed = reference.clone();
            reference_reversed.reverse();
            let reordered = drift_of(&reference_reversed, &shuffled, batch);
            proptest::prop_assert_eq!(&one, &reordered);
        }

        #[test]
        fn psi_is_non_negative_and_ks_in_unit_interval(
            reference in proptest::collection::vec(-50i32..50, 1..200),
            current in proptest::collection::vec(-50i32..50, 1..200),
        ) {
            let r: Vec<f64> = reference.iter().map(|&x| x as f64).collect();
            let c: Vec<f64> = current.iter().map(|&x| x as f64).collect();
            let ms = drift_of(&r, &c, 7);
            proptest::prop_assert!(get(&ms, "psi").value.unwrap() >= 0.0);
            let ks = get(&ms, "ks");
            proptest::prop_assert!((0.0..=1.0).contains(&ks.value.unwrap()));
            proptest::prop_assert!((0.0..=1.0).contains(&ks.p_value.unwrap()));
        }
    }
}
