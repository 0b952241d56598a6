//! Drift statistics: pure functions over plain slices, ported from numpy 2.4 / scipy 1.17.
//!
//! No IO, no polars, no Delta: callers (see `drift::profile`) turn columns into sorted,
//! NaN-free `f64` slices (numeric features) or aligned count vectors (categorical features)
//! and call these functions. Every function reproduces the named numpy/scipy computation,
//! including its floating-point evaluation order where that matters, and is checked against
//! the committed fixture `fixtures/drift/cases.json` (written by `fixtures/generate_drift.py`).
//!
//! | function | reference |
//! |---|---|
//! | [`quantile_type7`], [`quantile_edges`] | `np.quantile(x, q)` (method `'linear'`, Hyndman–Fan 7), `np.unique` |
//! | [`bin_index`] | `np.searchsorted(edges, x, side='left')` |
//! | [`psi`] | population stability index with floored shares |
//! | [`ks_2samp`], [`ks_pvalue`], [`kstwo_sf`] | `scipy.stats.ks_2samp(a, b)` (two-sided, `method='auto'`), `scipy.stats.kstwo.sf` |
//! | [`wasserstein`] | `scipy.stats.wasserstein_distance(a, b)` |
//! | [`chi2_contingency`] | `scipy.stats.chi2_contingency([ref, cur])` |
//! | [`jensen_shannon`] | `scipy.spatial.distance.jensenshannon(p, q, base=2)` |
//!
//! Conventions shared by the whole module:
//!
//! * "sorted" inputs are ascending and NaN-free; ±inf are allowed (see each function).
//! * An empty sample, or a count vector whose total is 0, gives NaN results (scipy raises).
//! * Count vectors passed together must have the same length (one entry per bin or category);
//!   the functions panic otherwise.

use statrs::distribution::{ChiSquared, ContinuousCDF};

mod dd;
mod kolmogorov;
mod ks;
mod smirnov;
#[cfg(test)]
mod tests;

pub use ks::{KsResult, ks_2samp, ks_from_statistic, ks_pvalue, ks_statistic, kstwo_sf};

/// Default PSI share floor: a share below it is replaced by it before taking logarithms.
pub const PSI_FLOOR: f64 = 1e-4;

/// Default number of PSI bins for numeric features.
pub const PSI_BINS: usize = 10;

/// scipy's `ks_2samp(method='auto')` computes the exact p-value iff `max(n, m) <= MAX_AUTO_N`.
pub const KS_MAX_EXACT_N: usize = 10_000;

// ------------------------------------------------------------------------------------------
// summation

/// numpy's pairwise summation (`np.sum` of a contiguous float64 array of up to 8192 elements):
/// blocks of at most 128 values are summed with 8 interleaved accumulators, longer arrays are
/// split in two halves (rounded to a multiple of 8) recursively.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

// ------------------------------------------------------------------------------------------
// quantiles and PSI

/// numpy's default quantile (`method='linear'`, Hyndman–Fan type 7) of a sorted slice.
///
/// Virtual index `(n - 1) * q`, interpolated between its two neighbours with numpy's
/// `_lerp` (`a + (b - a) * t`, or `b - (b - a) * (1 - t)` when `t >= 0.5`). Returns NaN for an
/// empty slice. `q` is expected in `[0, 1]`.
pub fn quantile_type7(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let vi = (n - 1) as f64 * q;
    if vi >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if vi < 0.0 {
        return sorted[0];
    }
    let prev = vi.floor();
    let i = prev as usize;
    let t = vi - prev;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Inner PSI bin edges of a sorted reference sample: the type-7 quantiles at
/// `1/bins, 2/bins, ..., (bins-1)/bins` (`np.quantile(ref, np.arange(1, bins) / bins)`), then
/// sorted and deduplicated (`np.unique`), so tied edges are merged and there may be fewer than
/// `bins - 1` edges.
///
/// **Infinities:** the quantiles are taken over the *finite* values only (leading `-inf` and
/// trailing `+inf` are skipped), so edges are always finite; the infinite values still count,
/// in the first / last bin (see [`bin_index`]). Empty input, a reference without finite
/// values, or `bins < 2` gives no edges (a single bin).
pub fn quantile_edges(sorted_ref: &[f64], bins: usize) -> Vec<f64> {
    let lo = sorted_ref.partition_point(|x| *x == f64::NEG_INFINITY);
    let hi = sorted_ref.partition_point(|x| *x < f64::INFINITY).max(lo);
    let finite = &sorted_ref[lo..hi];
    if finite.is_empty() || bins < 2 {
        return Vec::new();
    }
    let mut edges: Vec<f64> = (1..bins)
        .map(|k| quantile_type7(finite, k as f64 / bins as f64))
        .collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// Bin of `x` for ascending inner edges `e`: right-closed bins `(e[i-1], e[i]]` with outer
/// edges at -inf / +inf, i.e. the number of edges strictly less than `x`
/// (`np.searchsorted(e, x, side='left')`). A value equal to an edge goes to the lower bin;
/// `-inf` goes to bin 0, `+inf` to the last bin, and NaN (sorted last by numpy) to the last
/// bin. There are `inner_edges.len() + 1` bins.
pub fn bin_index(inner_edges: &[f64], x: f64) -> usize {
    if x.is_nan() {
        return inner_edges.len();
    }
    inner_edges.partition_point(|e| *e < x)
}

/// Population stability index of two aligned count vectors (one entry per bin or category).
///
/// Shares are `count / total`, each floored at `floor` (`max(share, floor)`, by convention
/// [`PSI_FLOOR`] = 1e-4, so empty bins contribute finitely); PSI =
/// `Σ (cur - ref) * ln(cur / ref)`, summed like `np.sum`. Always `>= 0`; 0 for identical
/// shares. Returns NaN if either total is 0.
///
/// # Panics
/// If the slices have different lengths.
pub fn psi(ref_counts: &[u64], cur_counts: &[u64], floor: f64) -> f64 {
    assert_eq!(
        ref_counts.len(),
        cur_counts.len(),
        "psi: count vectors differ in length"
    );
    let rt: u64 = ref_counts.iter().sum();
    let ct: u64 = cur_counts.iter().sum();
    if rt == 0 || ct == 0 {
        return f64::NAN;
    }
    let (rt, ct) = (rt as f64, ct as f64);
    let terms: Vec<f64> = ref_counts
        .iter()
        .zip(cur_counts)
        .map(|(&r, &c)| {
            let rs = (r as f64 / rt).max(floor);
            let cs = (c as f64 / ct).max(floor);
            (cs - rs) * (cs / rs).ln()
        })
        .collect();
    pairwise_sum(&terms)
}

// ------------------------------------------------------------------------------------------
// Wasserstein

/// `scipy.stats.wasserstein_distance(a, b)` (unweighted) of two sorted samples: the integral
/// of |F_a - F_b| over the pooled sample, Σ |F_a(x_k) - F_b(x_k)| · (x_{k+1} - x_k) with both
/// empirical CDFs right-continuous (`searchsorted(side='right') / n`). Summed pairwise (scipy
/// uses BLAS `ddot`; the terms are non-negative, so the two agree to a few ulps).
///
/// **Infinities** are kept exactly as scipy does: a gap to ±inf contributes
/// `|F_a - F_b| · inf`, which is `+inf`, or NaN when the CDFs agree there (0 · inf) or for a
/// gap between two infinities (inf - inf). Drop non-finite values first for a finite distance.
/// NaN if either sample is empty (scipy raises).
pub fn wasserstein(sorted_a: &[f64], sorted_b: &[f64]) -> f64 {
    let (na, nb) = (sorted_a.len(), sorted_b.len());
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    let (fa, fb) = (na as f64, nb as f64);
    let total = na + nb;
    let mut terms = Vec::with_capacity(total - 1);
    // merge walk over the pooled sorted values
    let (mut pa, mut pb) = (0usize, 0usize); // merge cursors
    let (mut ca, mut cb) = (0usize, 0usize); // searchsorted(side='right') counts
    let mut prev = f64::NAN;
    for k in 0..total {
        let v = if pb >= nb || (pa < na && sorted_a[pa] <= sorted_b[pb]) {
            pa += 1;
            sorted_a[pa - 1]
        } else {
            pb += 1;
            sorted_b[pb - 1]
        };
        if k > 0 {
            // term for all_values[k-1] = prev, delta = v - prev
            while ca < na && sorted_a[ca] <= prev {
                ca += 1;
            }
            while cb < nb && sorted_b[cb] <= prev {
                cb += 1;
            }
            let u = ca as f64 / fa;
            let w = cb as f64 / fb;
            terms.push((u - w).abs() * (v - prev));
        }
        prev = v;
    }
    pairwise_sum(&terms)
}

// ------------------------------------------------------------------------------------------
// categorical

/// Result of [`chi2_contingency`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chi2Result {
    /// Pearson's chi-square statistic (Yates-corrected when `dof == 1`).
    pub statistic: f64,
    /// `chi2.sf(statistic, dof)`.
    pub p_value: f64,
    /// Degrees of freedom, (categories kept - 1).
    pub dof: usize,
}

/// Upper tail of the chi-square distribution (`scipy.special.chdtrc(dof, x)`), via statrs'
/// regularized upper incomplete gamma function. 1 for `x <= 0`.
pub fn chi2_sf(x: f64, dof: usize) -> f64 {
    if x.is_nan() || dof == 0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(dof as f64) {
        Ok(dist) => dist.sf(x),
        Err(_) => f64::NAN,
    }
}

/// `scipy.stats.chi2_contingency` (defaults: Yates' continuity correction when dof == 1) on the
/// 2 × K table `[ref_counts, cur_counts]`.
///
/// Categories whose two counts are both 0 are dropped first (scipy raises on a zero expected
/// frequency). If fewer than 2 categories remain the result is statistic 0, p-value 1, dof 0
/// (scipy's own answer for a one-column table). If one row is all zero while ≥ 2 categories
/// remain (an empty sample), statistic and p-value are NaN and dof = K - 1.
///
/// # Panics
/// If the slices have different lengths.
pub fn chi2_contingency(ref_counts: &[u64], cur_counts: &[u64]) -> Chi2Result {
    assert_eq!(
        ref_counts.len(),
        cur_counts.len(),
        "chi2_contingency: count vectors differ in length"
    );
    let cols: Vec<(u64, u64)> = ref_counts
        .iter()
        .zip(cur_counts)
        .filter(|(r, c)| **r > 0 || **c > 0)
        .map(|(r, c)| (*r, *c))
        .collect();
    if cols.len() < 2 {
        return Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof: 0,
        };
    }
    let dof = cols.len() - 1;
    let rt: u64 = cols.iter().map(|c| c.0).sum();
    let ct: u64 = cols.iter().map(|c| c.1).sum();
    if rt == 0 || ct == 0 {
        return Chi2Result {
            statistic: f64::NAN,
            p_value: f64::NAN,
            dof,
        };
    }
    let total = (rt + ct) as f64;
    let row_sums = [rt as f64, ct as f64];
    let mut terms = Vec::with_capacity(2 * cols.len());
    for (row, row_sum) in row_sums.iter().enumerate() {
        for &(r, c) in &cols {
            let observed = if row == 0 { r as f64 } else { c as f64 };
            let col_sum = (r + c) as f64;
            let expected = row_sum * col_sum / total;
            let diff = expected - observed;
            let observed = if dof == 1 && diff != 0.0 {
                // Yates: move observed towards expected by at most 0.5 (scipy gh-13875)
                observed + diff.abs().min(0.5) * diff.signum()
            } else {
                observed
            };
            let dev = observed - expected;
            terms.push(dev * dev / expected);
        }
    }
    let statistic = pairwise_sum(&terms);
    Chi2Result {
        statistic,
        p_value: chi2_sf(statistic, dof),
        dof,
    }
}

/// scipy.special.rel_entr.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// `scipy.spatial.distance.jensenshannon(p, q, base=2)` of two aligned count vectors: both
/// are normalized to sum 1, JS divergence = (KL(p‖m) + KL(q‖m)) / 2 with m = (p + q)/2 in
/// bits, and the result is its square root (the Jensen–Shannon *distance*, in [0, 1]).
/// Categories that are 0 in both contribute nothing. NaN if either total is 0.
///
/// # Panics
/// If the slices have different lengths.
pub fn jensen_shannon(p_counts: &[u64], q_counts: &[u64]) -> f64 {
    assert_eq!(
        p_counts.len(),
        q_counts.len(),
        "jensen_shannon: count vectors differ in length"
    );
    let pt: u64 = p_counts.iter().sum();
    let qt: u64 = q_counts.iter().sum();
    if pt == 0 || qt == 0 {
        return f64::NAN;
    }
    let (pt, qt) = (pt as f64, qt as f64);
    let mut left = Vec::with_capacity(p_counts.len());
    let mut right = Vec::with_capacity(p_counts.len());
    for (&pc, &qc) in p_counts.iter().zip(q_counts) {
        let p = pc as f64 / pt;
        let q = qc as f64 / qt;
        let m = f64::midpoint(p, q);
        left.push(rel_entr(p, m));
        right.push(rel_entr(q, m));
    }
    let mut js = pairwise_sum(&left) + pairwise_sum(&right);
    js /= 2.0f64.ln();
    (js / 2.0).sqrt()
}
