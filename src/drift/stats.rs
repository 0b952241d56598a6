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
// Kolmogorov–Smirnov

/// Result of [`ks_2samp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// The two-sided statistic D = sup |F_a - F_b|, as scipy reports it: in the exact regime
    /// scipy replaces D by the nearest multiple of 1/lcm(n, m), a rounding-level change.
    pub statistic: f64,
    /// Two-sided p-value, clipped to [0, 1].
    pub p_value: f64,
    /// Whether the p-value comes from the exact null distribution (else from `kstwo.sf`).
    pub exact: bool,
}

/// The two-sample KS statistic of two sorted samples, computed as scipy does:
/// both empirical CDFs (`searchsorted(side='right') / n`) at every pooled value, D = the larger
/// of `max(F_a - F_b)` and `clip(-min(F_a - F_b), 0, 1)`. ±inf are ordinary values (scipy keeps
/// them). NaN if either sample is empty.
pub fn ks_statistic(sorted_a: &[f64], sorted_b: &[f64]) -> f64 {
    let (n1, n2) = (sorted_a.len(), sorted_b.len());
    if n1 == 0 || n2 == 0 {
        return f64::NAN;
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_s = f64::NEG_INFINITY;
    let mut min_s = f64::INFINITY;
    while i < n1 || j < n2 {
        let v = if j >= n2 || (i < n1 && sorted_a[i] <= sorted_b[j]) {
            sorted_a[i]
        } else {
            sorted_b[j]
        };
        while i < n1 && sorted_a[i] <= v {
            i += 1;
        }
        while j < n2 && sorted_b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / f1 - j as f64 / f2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    if min_s > max_s { min_s } else { max_s }
}

/// `scipy.stats.ks_2samp(a, b)` with its defaults (two-sided, `method='auto'`) on two sorted
/// samples. See [`ks_statistic`] for D and [`ks_pvalue`] for the p-value. ±inf are kept, as
/// scipy does. An empty sample (scipy raises) gives NaN statistic and p-value.
pub fn ks_2samp(sorted_a: &[f64], sorted_b: &[f64]) -> KsResult {
    let d = ks_statistic(sorted_a, sorted_b);
    let (statistic, p_value, exact) = ks_pvalue_full(d, sorted_a.len(), sorted_b.len());
    KsResult {
        statistic,
        p_value,
        exact,
    }
}

/// The p-value scipy's `ks_2samp` (two-sided, `method='auto'`) gives for a statistic `d` of
/// samples of sizes `n` and `m`, and whether it is exact.
///
/// If `max(n, m) <= 10000` the exact null distribution is used: `d` is rounded to `h/lcm(n, m)`,
/// then Hodges' lattice-path counts (`_compute_prob_outside_square` when `n == m`, else the
/// "inside" recursion of Viehmann). As in scipy, a result outside [0, 1] (rounding in the
/// `n == m` series for tiny `d`) falls back to the asymptotic path, reported as not exact.
/// Otherwise the p-value is `kstwo.sf(d, round(n*m/(n+m)))` ([`kstwo_sf`]). `d` is clamped to
/// [0, 1]; NaN for an empty sample or NaN `d`.
pub fn ks_pvalue(d: f64, n: usize, m: usize) -> (f64, bool) {
    let (_, p, exact) = ks_pvalue_full(d, n, m);
    (p, exact)
}

/// [`ks_2samp`]'s result for a statistic `d` computed elsewhere (e.g. streamed):
/// the statistic as scipy reports it (rounded to `h/lcm(n, m)` in the exact
/// regime), its p-value, and whether that is exact.
pub fn ks_from_statistic(d: f64, n: usize, m: usize) -> KsResult {
    let (statistic, p_value, exact) = ks_pvalue_full(d, n, m);
    KsResult {
        statistic,
        p_value,
        exact,
    }
}

/// (statistic as scipy reports it, p-value, exact?)
fn ks_pvalue_full(d: f64, n1: usize, n2: usize) -> (f64, f64, bool) {
    if n1 == 0 || n2 == 0 || d.is_nan() {
        return (d, f64::NAN, false);
    }
    // a statistic computed elsewhere may stray from [0, 1] by rounding
    let mut d = d.clamp(0.0, 1.0);
    if n1.max(n2) <= KS_MAX_EXACT_N {
        let g = gcd(n1 as u64, n2 as u64);
        let (success, d_exact, prob) = attempt_exact_2kssamp(n1 as u64, n2 as u64, g, d);
        d = d_exact;
        if success {
            return (d, prob.clamp(0.0, 1.0), true);
        }
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = m * n / (m + n);
    let prob = kstwo_sf(d, en.round_ties_even() as u64);
    (d, prob.clamp(0.0, 1.0), false)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy `_attempt_exact_2kssamp(n1, n2, g, d, 'two-sided')` -> (success, d, prob).
fn attempt_exact_2kssamp(n1: u64, n2: u64, g: u64, d: f64) -> (bool, f64, f64) {
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even();
    let h = if h > 0.0 { h as u64 } else { 0 };
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return (true, d, 1.0);
    }
    let prob = if n1 == n2 {
        compute_prob_outside_square(n1 as i64, h as i64)
    } else {
        compute_outer_prob_inside_method(n1 as i64, n2 as i64, g as i64, h as i64)
    };
    // `not (0 <= prob <= 1)` (also catches NaN)
    if !(0.0..=1.0).contains(&prob) {
        return (false, d, prob);
    }
    (true, d, prob)
}

/// scipy `_compute_prob_outside_square(n, h)`: Pr(D_{n,n} >= h/n), as a Horner-like
/// alternating series.
fn compute_prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = (n as f64 / h as f64).floor() as i64;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy `_compute_outer_prob_inside_method(m, n, g, h)` (pythran): the proportion of lattice
/// paths from (0,0) to (m,n) leaving the band |x/m - y/n| < h/lcm, computed directly as
/// 1 - p with a sliding column window.
fn compute_outer_prob_inside_method(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take((maxj as usize).min(len_a)) {
        *v = 0.0;
    }
    for i in 1..=m {
        let lastminj = minj;
        let lastlen = curlen;
        minj = (((ng * i - h) as f64 / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = ((maxj - minj) as usize).min(len_a);
            let end = ((maxj - minj + (lastlen - curlen)) as usize).min(len_a);
            for v in &mut a[start..end] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

/// `scipy.stats.kstwo.sf(x, n)`: survival function of the two-sided one-sample KS statistic
/// D_n. 1 for `x <= 0.5/n`, 0 for `x >= 1`, NaN for `n == 0` or NaN `x`; otherwise scipy's
/// `_kolmogn(n, x, cdf=False)`, which follows Simard & L'Ecuyer (2011): Ruben–Gambino closed
/// forms at the ends, Durbin's matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion,
/// the Pelz–Good expansion, or twice the one-sided Smirnov tail, depending on n and n·x².
pub fn kstwo_sf(x: f64, n: u64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.5 / n as f64 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    kolmogn(n, x, false)
}

const E128: i32 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128
const SQRT2PI: f64 = 2.506_628_274_631_000_2;
const LOG_2PI: f64 = 1.837_877_066_409_345_3;
const SQRT3: f64 = 1.732_050_807_568_877_2;
const PI_SQUARED: f64 = 9.869_604_401_089_358;
const PI_FOUR: f64 = 97.409_091_034_002_42;
const PI_SIX: f64 = 961.389_193_575_304_3;
const MIN_LOG: f64 = -708.0;
const STIRLING_COEFFS: [f64; 8] = [
    -2.955_065_359_477_124_2e-2,
    6.410_256_410_256_41e-3,
    -1.917_526_917_526_917_6e-3,
    8.417_508_417_508_417e-4,
    -5.952_380_952_380_953e-4,
    7.936_507_936_507_937e-4,
    -2.777_777_777_777_778e-3,
    8.333_333_333_333_333e-2,
];

fn clip_prob(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

fn select_and_clip(cdfprob: f64, sfprob: f64, cdf: bool) -> f64 {
    clip_prob(if cdf { cdfprob } else { sfprob })
}

/// `x * 2^e` with a single rounding (musl's `scalbn`).
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    let p1023 = f64::from_bits(0x7fe0_0000_0000_0000); // 2^1023
    let pm969 = f64::from_bits(0x0360_0000_0000_0000); // 2^-1022 * 2^53 = 2^-969
    if e > 1023 {
        x *= p1023;
        e -= 1023;
        if e > 1023 {
            x *= p1023;
            e -= 1023;
            e = e.min(1023);
        }
    } else if e < -1022 {
        x *= pm969;
        e += 1022 - 53;
        if e < -1022 {
            x *= pm969;
            e += 1022 - 53;
            e = e.max(-1022);
        }
    }
    x * f64::from_bits(((0x3ff + e) as u64) << 52)
}

/// C `frexp`: `(m, e)` with `x = m * 2^e`, `0.5 <= |m| < 1` (`(x, 0)` for 0, inf, NaN).
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    if exp_bits == 0 {
        // subnormal: scale up by 2^64 first
        let (m, e) = frexp(x * f64::from_bits(0x43f0_0000_0000_0000));
        return (m, e - 64);
    }
    let e = exp_bits - 1022;
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, e)
}

/// log(n! / n^n) by Stirling (scipy `_log_nfactorial_div_n_pow_n`).
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    let x = rn / n;
    let mut poly = 0.0;
    for c in STIRLING_COEFFS {
        poly = poly * x + c;
    }
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

/// scipy `_kolmogn(n, x, cdf)`.
fn kolmogn(n: u64, x: f64, cdf: bool) -> f64 {
    if x >= 1.0 {
        return select_and_clip(1.0, 0.0, cdf);
    }
    if x <= 0.0 {
        return select_and_clip(0.0, 1.0, cdf);
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/2n <= x <= 1/n
        if t <= 0.5 {
            return select_and_clip(0.0, 1.0, cdf);
        }
        let prob = if n <= 140 {
            let inv = 1.0 / nf;
            let s = 2.0 * t - 1.0;
            let mut p = 1.0;
            for i in 1..=n {
                p *= (i as f64 * inv) * s;
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return select_and_clip(prob, 1.0 - prob, cdf);
    }
    if t >= nf - 1.0 {
        // Ruben–Gambino
        let prob = 2.0 * (1.0 - x).powf(nf);
        return select_and_clip(1.0 - prob, prob, cdf);
    }
    if x >= 0.5 {
        // exact: 2 * smirnov
        let prob = 2.0 * smirnov_sf(n as i64, x);
        return select_and_clip(1.0 - prob, prob, cdf);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            let prob = kolmogn_dmtw(n, x);
            return select_and_clip(prob, 1.0 - prob, cdf);
        }
        if nxsquared <= 4.0 {
            let prob = kolmogn_pomeranz(n, x);
            return select_and_clip(prob, 1.0 - prob, cdf);
        }
        // Miller approximation of 2*smirnov
        let prob = 2.0 * smirnov_sf(n as i64, x);
        return select_and_clip(1.0 - prob, prob, cdf);
    }
    if !cdf {
        if nxsquared >= 370.0 {
            return 0.0;
        }
        if nxsquared >= 2.2 {
            return clip_prob(2.0 * smirnov_sf(n as i64, x));
        }
    }
    let cdfprob = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw(n, x)
    } else {
        kolmogn_pelz_good(n, x)
    };
    select_and_clip(cdfprob, 1.0 - cdfprob, cdf)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let (brow, crow) = (&b[k * m..(k + 1) * m], &mut c[i * m..(i + 1) * m]);
            for (cv, bv) in crow.iter_mut().zip(brow) {
                *cv += aik * bv;
            }
        }
    }
    c
}

/// Pr(D_n <= d) by Durbin's matrix algorithm as arranged by Marsaglia, Tsang & Wang
/// (scipy `_kolmogn_DMTW`, with its 2^128 rescaling). scipy's rescaled intermediates are
/// `np.longdouble` (x87 80-bit); here they stay `f64`.
fn kolmogn_dmtw(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;

    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powf(j as f64)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powf(m as f64) - 2.0 * h.powf(m as f64);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }

    let mut hpwr = vec![0.0; m * m];
    for i in 0..m {
        hpwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i64 = 0;
    let mut hexpnt: i64 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            for x in hm.iter_mut() {
                *x /= EP128;
            }
            hexpnt += E128 as i64;
        }
        nn /= 2;
    }
    let mut p = hpwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128 as i64;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    clip_prob(p)
}

/// scipy `_pomeranz_compute_j1j2`.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Pr(D_n <= x) by Pomeranz's recursion (scipy `_kolmogn_Pomeranz`).
fn kolmogn_pomeranz(n: u64, x: f64) -> f64 {
    let n = n as i64;
    let t = n as f64 * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i64 = 0;
    let nf = n as f64;
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) =
        (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_over_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m as f64;
    }

    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    let mut conv: Vec<f64> = Vec::with_capacity(2 * npwrs);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let (nj1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // conv = np.convolve(V0[k1 - V0s:k1 - V0s + ln2], pwrs[:ln2]) (slices clipped)
            let start = ((k1 - v0s) as usize).min(npwrs);
            let end = (start + ln2 as usize).min(npwrs);
            let a = &v0[start..end];
            let b = &pwrs[..(ln2 as usize).min(npwrs)];
            conv.clear();
            conv.resize(a.len() + b.len() - 1, 0.0);
            for (p, &av) in a.iter().enumerate() {
                for (q, &bv) in b.iter().enumerate() {
                    conv[p + q] += av * bv;
                }
            }
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1) as usize;
            v1[..conv_len].copy_from_slice(&conv[conv_start..conv_start + conv_len]);
            let vmax = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < vmax && vmax < EM128 {
                for v in v1.iter_mut() {
                    *v *= EP128;
                }
                expnt -= E128 as i64;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(n - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128 as i64;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    clip_prob(ans)
}

/// Pelz–Good approximation of Pr(D_n <= x) (scipy `_kolmogn_PelzGood`).
fn kolmogn_pelz_good(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (zsquared, zthree, zfour, zsix) = (z.powf(2.0), z.powf(3.0), z.powf(4.0), z.powf(6.0));

    let qlog = -PI_SQUARED / 8.0 / zsquared;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();

    let k1a = -zsquared;
    let k1b = PI_SQUARED / 4.0;

    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * PI_SQUARED / 4.0;
    let k2c = PI_FOUR * (1.0 - 2.0 * zsquared) / 16.0;

    let k3d = PI_SIX * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = PI_FOUR * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = PI_SQUARED * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powf(8.0);

    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / std::f64::consts::PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = 2 * k - 1;
        let (msquared, mfour, msix) = ((m * m) as f64, (m * m * m * m) as f64, (m.pow(6)) as f64);
        let qpower = q.powf((8 * k) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * msquared,
            k2a + k2b * msquared + k2c * mfour,
            k3a + k3b * msquared + k3c * mfour + k3d * msix,
        ];
        for (kv, c) in kk.iter_mut().zip(coeffs) {
            *kv *= qpower;
            *kv += c;
        }
    }
    let denoms = [z, 6.0 * zfour, 72.0 * z.powf(7.0), 6480.0 * z.powf(10.0)];
    for (kv, dn) in kk.iter_mut().zip(denoms) {
        *kv *= q;
        *kv *= SQRT2PI;
        *kv /= dn;
    }

    let q = (-PI_SQUARED / 2.0 / zsquared).exp();
    let sqrt3z = SQRT3 * z;
    let mut k2terms = Vec::with_capacity(maxk.max(0) as usize);
    let mut k3terms = Vec::with_capacity(maxk.max(0) as usize);
    for k in (1..=maxk).rev() {
        let ksquared = (k * k) as f64;
        let kspi = std::f64::consts::PI * k as f64;
        let qpwer = q.powf(ksquared);
        k2terms.push(ksquared * qpwer);
        k3terms.push((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer);
    }
    let mut k2extra = pairwise_sum(&k2terms);
    k2extra *= PI_SQUARED * SQRT2PI / (-36.0 * zthree);
    kk[2] += k2extra;
    let mut k3extra = pairwise_sum(&k3terms);
    k3extra *= PI_SQUARED * SQRT2PI / (216.0 * zsix);
    kk[3] += k3extra;
    for (j, kv) in kk.iter_mut().enumerate() {
        *kv /= nf.powf(j as f64 / 2.0);
    }
    0.0 + kk[0] + kk[1] + kk[2] + kk[3]
}

// ---- scipy.special.smirnov (xsf/cephes/kolmogorov.h), in double-double arithmetic ----------

/// The parts of the QD double-double package that `smirnov` uses (xsf `dd_real.h`).
mod dd {
    use std::ops::{Add, Div, Mul, Neg, Sub};

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Dd {
        pub hi: f64,
        pub lo: f64,
    }

    pub const fn dd(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let c = s - a;
        (s, b - c)
    }

    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let c = s - a;
        let d = b - c;
        let e = s - c;
        (s, (a - e) + d)
    }

    fn two_prod(a: f64, b: f64) -> (f64, f64) {
        let p = a * b;
        (p, a.mul_add(b, -p))
    }

    impl Neg for Dd {
        type Output = Dd;
        fn neg(self) -> Dd {
            Dd {
                hi: -self.hi,
                lo: -self.lo,
            }
        }
    }

    impl Add for Dd {
        type Output = Dd;
        fn add(self, rhs: Dd) -> Dd {
            let (s1, s2) = two_sum(self.hi, rhs.hi);
            let (t1, t2) = two_sum(self.lo, rhs.lo);
            let s2 = s2 + t1;
            let (s1, s2) = quick_two_sum(s1, s2);
            let s2 = s2 + t2;
            let (s1, s2) = quick_two_sum(s1, s2);
            Dd { hi: s1, lo: s2 }
        }
    }

    impl Add<f64> for Dd {
        type Output = Dd;
        fn add(self, rhs: f64) -> Dd {
            let (s1, s2) = two_sum(self.hi, rhs);
            let s2 = s2 + self.lo;
            let (s1, s2) = quick_two_sum(s1, s2);
            Dd { hi: s1, lo: s2 }
        }
    }

    impl Sub for Dd {
        type Output = Dd;
        fn sub(self, rhs: Dd) -> Dd {
            self + (-rhs)
        }
    }

    impl Sub<f64> for Dd {
        type Output = Dd;
        fn sub(self, rhs: f64) -> Dd {
            let (s1, s2) = two_sum(self.hi, -rhs);
            let s2 = s2 + self.lo;
            let (s1, s2) = quick_two_sum(s1, s2);
            Dd { hi: s1, lo: s2 }
        }
    }

    impl Mul for Dd {
        type Output = Dd;
        fn mul(self, rhs: Dd) -> Dd {
            let (p1, p2) = two_prod(self.hi, rhs.hi);
            let p2 = p2 + (self.hi * rhs.lo + self.lo * rhs.hi);
            let (p1, p2) = quick_two_sum(p1, p2);
            Dd { hi: p1, lo: p2 }
        }
    }

    impl Mul<f64> for Dd {
        type Output = Dd;
        fn mul(self, rhs: f64) -> Dd {
            let (p1, e1) = two_prod(self.hi, rhs);
            let (p2, e2) = two_prod(self.lo, rhs);
            let (p1, e1) = quick_two_sum(p1, e2 + p2 + e1);
            Dd { hi: p1, lo: e1 }
        }
    }

    impl Mul<Dd> for f64 {
        type Output = Dd;
        fn mul(self, rhs: Dd) -> Dd {
            let (p1, e1) = two_prod(self, rhs.hi);
            let (p2, e2) = two_prod(self, rhs.lo);
            let (p1, e1) = quick_two_sum(p1, e2 + p2 + e1);
            Dd { hi: p1, lo: e1 }
        }
    }

    impl Div for Dd {
        type Output = Dd;
        fn div(self, rhs: Dd) -> Dd {
            let q1 = self.hi / rhs.hi;
            let r = self - rhs * q1;
            let q2 = r.hi / rhs.hi;
            let r = r - rhs * q2;
            let q3 = r.hi / rhs.hi;
            let (q1, q2) = quick_two_sum(q1, q2);
            Dd { hi: q1, lo: q2 } + q3
        }
    }

    impl Div<f64> for Dd {
        type Output = Dd;
        fn div(self, rhs: f64) -> Dd {
            self / dd(rhs)
        }
    }

    impl Div<Dd> for f64 {
        type Output = Dd;
        fn div(self, rhs: Dd) -> Dd {
            dd(self) / rhs
        }
    }

    impl Dd {
        pub fn is_zero(self) -> bool {
            self.hi == 0.0 && self.lo == 0.0
        }

        pub fn floor(self) -> Dd {
            let hi = self.hi.floor();
            if hi == self.hi {
                let lo = self.lo.floor();
                let (hi, lo) = quick_two_sum(hi, lo);
                Dd { hi, lo }
            } else {
                Dd { hi, lo: 0.0 }
            }
        }

        pub fn ldexp(self, e: i64) -> Dd {
            Dd {
                hi: super::ldexp(self.hi, e),
                lo: super::ldexp(self.lo, e),
            }
        }

        /// (b, e) with 0.5 <= |b.hi| < 1 (or == 1 with b.hi*b.lo < 0) and self = b * 2^e.
        pub fn frexp(self) -> (Dd, i32) {
            let (mut man, mut e) = super::frexp(self.hi);
            let mut b1 = super::ldexp(self.lo, -(e as i64));
            if man.abs() == 0.5 && man * b1 < 0.0 {
                man *= 2.0;
                b1 *= 2.0;
                e -= 1;
            }
            (Dd { hi: man, lo: b1 }, e)
        }
    }
}

use dd::{Dd, dd};

const SM_MAX_EXPONENT: i32 = 960;
const SMIRNOV_MAX_COMPUTE_N: i64 = 1_000_000;
const SM_UPPER_MAX_TERMS: i64 = 3;
const SM_UPPERSUM_MIN_N: i64 = 10;
/// xsf `MINLOG` = log(2^-1075).
const CEPHES_MINLOG: f64 = -7.451_332_191_019_412e2;

/// xsf `modNX`: (alpha, floor(n*x), n*x) with n*x computed exactly in double-double.
fn mod_nx(n: i64, x: f64) -> (f64, i64, f64) {
    let nxd = (n as f64) * dd(x);
    let nxfloord = nxd.floor();
    let alphad = nxd - nxfloord;
    let mut alpha = alphad.hi;
    let mut nxfloor = nxfloord.hi as i64;
    if alpha == 1.0 {
        nxfloor += 1;
        alpha = 0.0;
    }
    (alpha, nxfloor, nxd.hi)
}

fn update_binomial(cman: &mut Dd, cexpt: &mut i64, n: i64, j: i64) {
    let rat = dd((n - j) as f64) / ((j as f64) + 1.0);
    let man2 = *cman * rat;
    let (man2, expt) = man2.frexp();
    *cexpt += expt as i64;
    *cman = man2;
}

fn pow_d(a: Dd, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return dd(1.0);
        }
        return 1.0 / pow_d(a, -m);
    }
    if a.is_zero() {
        return dd(0.0);
    }
    let ans = a.hi.powf(m as f64);
    let r = a.lo / a.hi;
    let mf = m as f64;
    let mut adj = mf * r;
    if adj.abs() > 1e-8 {
        if adj.abs() < 1e-4 {
            adj += (mf * r) * ((m - 1) as f64 / 2.0 * r);
        } else {
            adj = (mf * r.ln_1p()).exp_m1();
        }
    }
    dd(ans) + ans * adj
}

fn pow2(a: f64, b: f64, m: i64) -> f64 {
    pow_d(dd(a) + b, m).hi
}

fn next_power_of_2(x: f64) -> f64 {
    let q = ldexp(x, 1 - 53);
    let mut l = (q + x).abs();
    if l == 0.0 {
        l = x.abs();
    } else {
        let lint = l as i32;
        if lint as f64 == l {
            l = lint as f64;
        }
    }
    l
}

/// a^m as (significand, exponent) (xsf `pow2Scaled_D`).
fn pow2_scaled_d(a: Dd, m: i64) -> (Dd, i64) {
    if m <= 0 {
        if m == 0 {
            return (dd(1.0), 0);
        }
        let (ans, ae1) = pow2_scaled_d(a, -m);
        let (ans, ae2) = (1.0 / ans).frexp();
        return (ans, -ae1 + ae2 as i64);
    }
    let (y, ye) = a.frexp();
    let ye = ye as i64;
    if m == 1 {
        return (y, ye);
    }
    let mut max_expt = SM_MAX_EXPONENT as i64;
    if m as f64 * (y.hi - 1.0) / y.hi < -(SM_MAX_EXPONENT as f64) * std::f64::consts::LN_2 {
        let lg2y = y.hi.ln() / std::f64::consts::LN_2;
        let lg_ans = m as f64 * lg2y;
        if lg_ans <= -(SM_MAX_EXPONENT as f64) {
            max_expt =
                (next_power_of_2(-(SM_MAX_EXPONENT as f64) / lg2y + 1.0) / 2.0) as i32 as i64;
        }
    }
    if m <= max_expt {
        let ans1 = pow_d(y, m);
        let (ans, anse) = ans1.frexp();
        return (ans, anse as i64 + m * ye);
    }
    let q = m / max_expt;
    let r = m % max_expt;
    let (y2r, y2re) = pow2_scaled_d(y, r);
    let (y2m, y2me) = pow2_scaled_d(y, max_expt);
    let (y2mq, mut y2mqe) = pow2_scaled_d(y2m, q);
    let (ans, anse) = (y2r * y2mq).frexp();
    y2mqe += y2me * q;
    let anse = anse as i64 + y2mqe + y2re + m * ye;
    (ans, anse)
}

/// ((a+b)/(c+d))^m (xsf `pow4_D`).
fn pow4_d(a: f64, b: f64, c: f64, d: f64, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return dd(1.0);
        }
        return pow4_d(c, d, a, b, -m);
    }
    let aa = dd(a) + b;
    let cc = dd(c) + d;
    if aa.is_zero() {
        return if cc.is_zero() { dd(f64::NAN) } else { dd(0.0) };
    }
    if cc.is_zero() {
        return if aa.hi < 0.0 {
            dd(f64::NEG_INFINITY)
        } else {
            dd(f64::INFINITY)
        };
    }
    pow_d(aa / cc, m)
}

/// A_v(n, x) = Binomial(n,v) * (1-x-v/n)^(n-v) * (x+v/n)^(v-1) (xsf `computeAv`).
fn compute_av(n: i64, x: f64, v: i64, cman: Dd, cexpt: i64) -> Dd {
    let t2x = dd((n - v) as f64) / n as f64 - x;
    let (t2, t2e) = pow2_scaled_d(t2x, n - v);
    let t1x = dd(v as f64) / n as f64 + x;
    let (t1, t1e) = pow2_scaled_d(t1x, v - 1);
    let ans = t1 * t2;
    let ans = ans * cman;
    ans.ldexp(cexpt + t1e + t2e)
}

/// `scipy.special.smirnov(n, x)`: Pr(D_n^+ >= x), the one-sided KS survival function
/// (xsf `_smirnov`, Birnbaum–Tingey sum in double-double; the pdf part is not computed).
fn smirnov_sf(n: i64, x: f64) -> f64 {
    if !(n > 0 && (0.0..=1.0).contains(&x)) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let (alpha, nxfl, _nx) = mod_nx(n, x);
    let mut n1mxfl = n - nxfl - if alpha == 0.0 { 0 } else { 1 };
    let mut n1mxceil = n - nxfl;
    if alpha == 0.0 {
        n1mxfl -= 1;
        n1mxceil += 1;
    }
    // x <= 1/n
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let t = pow2(1.0, x, n - 1);
        let cdf = x * t;
        return 1.0 - cdf;
    }
    // sf underflows
    if (-2 * n) as f64 * x * x < CEPHES_MINLOG {
        return 0.0;
    }
    // x >= 1 - 1/n
    if nxfl >= n - 1 {
        return pow2(1.0, -x, n);
    }
    if n > SMIRNOV_MAX_COMPUTE_N {
        let logp = -(6.0 * n as f64 * x + 1.0).powf(2.0) / 18.0 / n as f64;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 - (-logp.exp_m1())
        };
    }
    let n_upper_terms = n - n1mxceil + 1;
    let use_upper_sum = (n_upper_terms <= 1 && x < 0.5)
        || (n >= SM_UPPERSUM_MIN_N
            && n_upper_terms <= SM_UPPER_MAX_TERMS
            && x <= 0.5 / (n as f64).sqrt());

    let (start, step, n_terms) = if use_upper_sum {
        (n, -1i64, n - n1mxceil + 1)
    } else {
        (0, 1i64, n1mxfl + 1)
    };
    let vmid = n / 2;
    let mut cman = dd(1.0);
    let mut cexpt: i64 = 0;
    let first = if use_upper_sum {
        pow4_d(1.0, x, 1.0, 0.0, n - 1)
    } else {
        pow4_d(1.0, -x, 1.0, 0.0, n) / x
    };
    let mut aj_sum = dd(0.0) + first;
    update_binomial(&mut cman, &mut cexpt, n, 0);
    let mut j = 1;
    while j < n_terms {
        let v = start + j * step;
        let aj = compute_av(n, x, v, cman, cexpt);
        if aj.hi.is_finite() && !aj.is_zero() {
            aj_sum = aj_sum + aj;
        }
        if !aj.is_zero() {
            if ((4 * (n_terms - j)) as f64 * aj.hi.abs()) < (f64::EPSILON * aj_sum.hi)
                && j != n_terms - 1
            {
                break;
            }
        } else if j > vmid {
            break;
        }
        update_binomial(&mut cman, &mut cexpt, n, j);
        j += 1;
    }
    let prob = (x * aj_sum).hi;
    let sf = if step < 0 { 1.0 - prob } else { prob };
    sf.clamp(0.0, 1.0)
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
        let m = (p + q) / 2.0;
        left.push(rel_entr(p, m));
        right.push(rel_entr(q, m));
    }
    let mut js = pairwise_sum(&left) + pairwise_sum(&right);
    js /= 2.0f64.ln();
    (js / 2.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;
    use std::sync::OnceLock;

    /// `fixtures/drift/cases.json`, written by `fixtures/generate_drift.py` (numpy 2.4.6,
    /// scipy 1.17.1). Sample values have at most 6 decimals, so serde_json parses them exactly.
    fn fixture() -> &'static Value {
        static FIXTURE: OnceLock<Value> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/drift/cases.json");
            let text = std::fs::read_to_string(path).expect("read fixtures/drift/cases.json");
            serde_json::from_str(&text).expect("parse fixtures/drift/cases.json")
        })
    }

    /// A float of the fixture: sample values are JSON numbers (short decimals, exact for
    /// serde_json); every other float is a string holding its round-trip decimal, parsed
    /// exactly by `str::parse` ("NaN", "Infinity", "-Infinity" included).
    fn num(v: &Value) -> f64 {
        match v {
            Value::Number(n) => n.as_f64().expect("f64"),
            Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a float: {s}")),
            other => panic!("not a float: {other}"),
        }
    }

    fn nums(v: &Value) -> Vec<f64> {
        v.as_array().expect("array").iter().map(num).collect()
    }

    fn counts(v: &Value) -> Vec<u64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|c| c.as_u64().expect("count"))
            .collect()
    }

    fn sorted_sample(id: &str) -> Vec<f64> {
        let mut v = nums(&fixture()["samples"][id]);
        v.sort_by(f64::total_cmp);
        v
    }

    fn rows(key: &str) -> &'static Vec<Value> {
        fixture()[key].as_array().expect("array")
    }

    /// Relative error (absolute below 1e-300); 0 when both are NaN or equal (incl. infinities).
    fn rel_err(actual: f64, expected: f64) -> f64 {
        if (actual.is_nan() && expected.is_nan()) || actual == expected {
            return 0.0;
        }
        (actual - expected).abs() / expected.abs().max(1e-300)
    }

    fn abs_err(actual: f64, expected: f64) -> f64 {
        if (actual.is_nan() && expected.is_nan()) || actual == expected {
            return 0.0;
        }
        (actual - expected).abs()
    }

    #[derive(Default)]
    struct Worst(Vec<(&'static str, f64, String)>);

    impl Worst {
        fn track(&mut self, metric: &'static str, err: f64, what: impl FnOnce() -> String) {
            let err = if err.is_nan() { f64::INFINITY } else { err };
            match self.0.iter_mut().find(|w| w.0 == metric) {
                Some(w) if w.1 >= err => {}
                Some(w) => *w = (metric, err, what()),
                None => self.0.push((metric, err, what())),
            }
        }

        fn report(&self) {
            for (metric, err, what) in &self.0 {
                eprintln!("worst {metric}: {err:.3e} ({what})");
            }
        }

        fn get(&self, metric: &str) -> f64 {
            self.0.iter().find(|w| w.0 == metric).map_or(0.0, |w| w.1)
        }
    }

    const KS_STAT_ABS: f64 = 1e-12;
    const KS_P_EXACT_ABS: f64 = 1e-9;
    const KS_P_ASYMP_ABS: f64 = 1e-4;
    const REL: f64 = 1e-9;

    #[test]
    fn numeric_cases_match_scipy() {
        let mut worst = Worst::default();
        let mut n_asymp = 0;
        for case in rows("numeric") {
            let name = case["name"].as_str().unwrap().to_string();
            let a = sorted_sample(case["ref"].as_str().unwrap());
            let b = sorted_sample(case["cur"].as_str().unwrap());

            let ks = ks_2samp(&a, &b);
            let exp = &case["ks"];
            assert_eq!(ks.exact, exp["exact"].as_bool().unwrap(), "{name}: exact");
            let e = abs_err(ks.statistic, num(&exp["statistic"]));
            worst.track("ks statistic (abs)", e, || name.clone());
            assert!(e <= KS_STAT_ABS, "{name}: KS statistic {ks:?} vs {exp}");
            let e = abs_err(ks.p_value, num(&exp["p_value"]));
            if ks.exact {
                worst.track("ks p exact (abs)", e, || name.clone());
                assert!(e <= KS_P_EXACT_ABS, "{name}: KS p {ks:?} vs {exp}");
            } else {
                n_asymp += 1;
                worst.track("ks p asymptotic (abs)", e, || name.clone());
                assert!(e <= KS_P_ASYMP_ABS, "{name}: KS p {ks:?} vs {exp}");
            }
            // ks_pvalue on the raw statistic gives the same answer
            let (p, exact) = ks_pvalue(ks_statistic(&a, &b), a.len(), b.len());
            assert_eq!((p, exact), (ks.p_value, ks.exact), "{name}: ks_pvalue");

            let w = wasserstein(&a, &b);
            let e = rel_err(w, num(&case["wasserstein"]));
            worst.track("wasserstein (rel)", e, || name.clone());
            assert!(
                e <= REL,
                "{name}: wasserstein {w} vs {}",
                case["wasserstein"]
            );

            let psi_exp = &case["psi"];
            let bins = psi_exp["bins"].as_u64().unwrap() as usize;
            let edges = quantile_edges(&a, bins);
            let exp_edges = nums(&psi_exp["edges"]);
            assert_eq!(edges.len(), exp_edges.len(), "{name}: edges {edges:?}");
            for (x, y) in edges.iter().zip(&exp_edges) {
                worst.track("psi edges (rel)", rel_err(*x, *y), || name.clone());
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{name}: edges {edges:?} vs {exp_edges:?}"
                );
            }
            let mut rc = vec![0u64; edges.len() + 1];
            let mut cc = vec![0u64; edges.len() + 1];
            for &x in &a {
                rc[bin_index(&edges, x)] += 1;
            }
            for &x in &b {
                cc[bin_index(&edges, x)] += 1;
            }
            assert_eq!(rc, counts(&psi_exp["ref_counts"]), "{name}: ref counts");
            assert_eq!(cc, counts(&psi_exp["cur_counts"]), "{name}: cur counts");
            let v = psi(&rc, &cc, num(&psi_exp["floor"]));
            let e = rel_err(v, num(&psi_exp["value"]));
            worst.track("psi numeric (rel)", e, || name.clone());
            assert!(e <= REL, "{name}: psi {v} vs {}", psi_exp["value"]);
        }
        assert!(
            n_asymp >= 5,
            "the fixture must exercise the asymptotic regime"
        );
        worst.report();
    }

    #[test]
    fn ks_pvalue_grid_matches_scipy() {
        let mut worst = Worst::default();
        for row in rows("ks_pvalue") {
            let d = num(&row["d"]);
            let n = row["n"].as_u64().unwrap() as usize;
            let m = row["m"].as_u64().unwrap() as usize;
            let what = || format!("d={d:e} n={n} m={m}");
            let (stat, p, exact) = ks_pvalue_full(d, n, m);
            assert_eq!(ks_pvalue(d, n, m), (p, exact));
            assert_eq!(exact, row["exact"].as_bool().unwrap(), "{}", what());
            assert!(
                abs_err(stat, num(&row["statistic"])) <= KS_STAT_ABS,
                "{}",
                what()
            );
            let e = abs_err(p, num(&row["p_value"]));
            if exact {
                worst.track("grid ks p exact (abs)", e, what);
                assert!(e <= KS_P_EXACT_ABS, "{}: {p} vs {}", what(), row["p_value"]);
            } else {
                worst.track("grid ks p asymptotic (abs)", e, what);
                assert!(e <= KS_P_ASYMP_ABS, "{}: {p} vs {}", what(), row["p_value"]);
            }
        }
        worst.report();
        // what we actually achieve, well inside the 1e-4 the asymptotic regime is allowed
        assert!(worst.get("grid ks p asymptotic (abs)") <= 1e-9);
    }

    #[test]
    fn kstwo_sf_grid_matches_scipy() {
        let mut worst = Worst::default();
        for row in rows("kstwo_sf") {
            let n = row["n"].as_u64().unwrap();
            let x = num(&row["x"]);
            let expected = num(&row["sf"]);
            let sf = kstwo_sf(x, n);
            let what = || format!("n={n} x={x:e}: {sf:e} vs {expected:e}");
            worst.track("kstwo.sf (abs)", abs_err(sf, expected), what);
            if expected > 1e-280 {
                worst.track("kstwo.sf (rel)", rel_err(sf, expected), what);
            }
            assert!(abs_err(sf, expected) <= 1e-9, "{}", what());
        }
        worst.report();
    }

    #[test]
    fn categorical_cases_match_scipy() {
        let mut worst = Worst::default();
        for case in rows("categorical") {
            let name = case["name"].as_str().unwrap().to_string();
            let rc = counts(&case["ref_counts"]);
            let cc = counts(&case["cur_counts"]);
            let chi = chi2_contingency(&rc, &cc);
            let exp = &case["chi2"];
            assert_eq!(chi.dof as u64, exp["dof"].as_u64().unwrap(), "{name}: dof");
            let e = rel_err(chi.statistic, num(&exp["statistic"]));
            worst.track("chi2 statistic (rel)", e, || name.clone());
            assert!(e <= REL, "{name}: {chi:?} vs {exp}");
            let e = rel_err(chi.p_value, num(&exp["p_value"]));
            worst.track("chi2 p-value (rel)", e, || name.clone());
            assert!(e <= REL, "{name}: {chi:?} vs {exp}");

            let js = jensen_shannon(&rc, &cc);
            let e = rel_err(js, num(&case["jensen_shannon"]));
            worst.track("jensen-shannon (rel)", e, || name.clone());
            assert!(e <= REL, "{name}: js {js} vs {}", case["jensen_shannon"]);

            let v = psi(&rc, &cc, PSI_FLOOR);
            let e = rel_err(v, num(&case["psi"]));
            worst.track("psi categorical (rel)", e, || name.clone());
            assert!(e <= REL, "{name}: psi {v} vs {}", case["psi"]);
        }
        worst.report();
    }

    #[test]
    fn chi2_sf_grid_matches_scipy() {
        let mut worst = Worst::default();
        for row in rows("chi2_sf") {
            let df = row["df"].as_u64().unwrap() as usize;
            let x = num(&row["x"]);
            let expected = num(&row["sf"]);
            let sf = chi2_sf(x, df);
            let what = || format!("df={df} x={x:e}: {sf:e} vs {expected:e}");
            let e = if expected > 1e-290 {
                rel_err(sf, expected)
            } else {
                abs_err(sf, expected)
            };
            worst.track("chi2.sf (rel)", e, what);
            assert!(e <= REL, "{}", what());
        }
        worst.report();
    }

    // ---- conventions and edge cases

    #[test]
    fn quantile_type7_matches_numpy_examples() {
        // np.quantile([1, 2, 3, 4], [0, .1, .25, .5, .9, 1]) = [1, 1.3, 1.75, 2.5, 3.7, 4]
        let x = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f64> = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
            .iter()
            .map(|&q| quantile_type7(&x, q))
            .collect();
        let want = [1.0, 1.3, 1.75, 2.5, 3.7, 4.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
        assert_eq!(quantile_type7(&[7.0], 0.3), 7.0);
        assert!(quantile_type7(&[], 0.5).is_nan());
    }

    #[test]
    fn quantile_edges_conventions() {
        assert!(quantile_edges(&[], 10).is_empty());
        assert!(quantile_edges(&[1.0, 2.0], 1).is_empty());
        assert_eq!(quantile_edges(&[3.0; 50], 10), vec![3.0]);
        // only finite values count; infinities never become edges
        let x = [
            f64::NEG_INFINITY,
            1.0,
            2.0,
            3.0,
            4.0,
            5.0,
            f64::INFINITY,
            f64::INFINITY,
        ];
        let e = quantile_edges(&x, 4);
        assert_eq!(e, vec![2.0, 3.0, 4.0]);
        assert!(quantile_edges(&[f64::NEG_INFINITY, f64::INFINITY], 10).is_empty());
        // ties merged
        let x = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0];
        assert_eq!(
            quantile_edges(&x, 10),
            vec![1.0, 1.2000000000000002, 2.0999999999999996]
        );
    }

    #[test]
    fn bin_index_is_right_closed() {
        let e = [1.0, 2.0, 3.0];
        assert_eq!(bin_index(&e, 0.5), 0);
        assert_eq!(bin_index(&e, 1.0), 0);
        assert_eq!(bin_index(&e, 1.5), 1);
        assert_eq!(bin_index(&e, 3.0), 2);
        assert_eq!(bin_index(&e, 3.5), 3);
        assert_eq!(bin_index(&e, f64::NEG_INFINITY), 0);
        assert_eq!(bin_index(&e, f64::INFINITY), 3);
        assert_eq!(bin_index(&e, f64::NAN), 3);
        assert_eq!(bin_index(&[], 42.0), 0);
    }

    #[test]
    fn empty_inputs_give_nan() {
        assert!(psi(&[0, 0], &[1, 2], PSI_FLOOR).is_nan());
        assert!(psi(&[], &[], PSI_FLOOR).is_nan());
        let ks = ks_2samp(&[], &[1.0]);
        assert!(ks.statistic.is_nan() && ks.p_value.is_nan() && !ks.exact);
        assert!(ks_pvalue(0.5, 0, 10).0.is_nan());
        assert!(ks_pvalue(f64::NAN, 10, 10).0.is_nan());
        assert!(wasserstein(&[1.0], &[]).is_nan());
        assert!(jensen_shannon(&[0, 0], &[1, 1]).is_nan());
        assert!(kstwo_sf(0.3, 0).is_nan());
    }

    #[test]
    fn chi2_degenerate_tables() {
        let one = Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof: 0,
        };
        assert_eq!(chi2_contingency(&[5, 0, 0], &[7, 0, 0]), one);
        assert_eq!(chi2_contingency(&[], &[]), one);
        assert_eq!(chi2_contingency(&[0], &[0]), one);
        // an empty row with >= 2 categories left: scipy raises (zero expected counts)
        let r = chi2_contingency(&[0, 0, 0], &[3, 4, 0]);
        assert!(r.statistic.is_nan() && r.p_value.is_nan());
        assert_eq!(r.dof, 1);
        // columns that are zero in both rows do not change the result
        let a = chi2_contingency(&[10, 20, 30], &[12, 18, 40]);
        let b = chi2_contingency(&[10, 0, 20, 30, 0], &[12, 0, 18, 40, 0]);
        assert_eq!(a, b);
    }

    #[test]
    fn infinities_follow_scipy() {
        // scipy.stats.ks_2samp([-inf, 0, 1, 2, inf], [0.5, 1.5, inf]) -> D 0.4, p 0.857142857...
        let ks = ks_2samp(
            &[f64::NEG_INFINITY, 0.0, 1.0, 2.0, f64::INFINITY],
            &[0.5, 1.5, f64::INFINITY],
        );
        assert!((ks.statistic - 0.4).abs() < 1e-15);
        assert!((ks.p_value - 0.8571428571428572).abs() < 1e-15);
        // wasserstein_distance([0, inf], [0, 1]) = inf; ([0, 1, inf], [0, 2, inf]) = nan
        assert_eq!(
            wasserstein(&[0.0, f64::INFINITY], &[0.0, 1.0]),
            f64::INFINITY
        );
        assert!(wasserstein(&[0.0, 1.0, f64::INFINITY], &[0.0, 2.0, f64::INFINITY]).is_nan());
    }

    #[test]
    fn ks_pvalue_regimes() {
        // exact up to 10000, asymptotic above
        assert!(ks_pvalue(0.05, 10_000, 9_000).1);
        assert!(!ks_pvalue(0.05, 10_001, 9_000).1);
        // tiny D with n == m: scipy's series gives 2P > 1 and falls back to kstwo (p = 1)
        assert_eq!(ks_pvalue(0.001, 1000, 1000), (1.0, false));
        assert_eq!(ks_pvalue(0.0, 5, 7), (1.0, true));
    }

    #[test]
    fn smirnov_closed_forms() {
        // smirnov(1, x) = 1 - x; smirnov(n, x) = (1 - x)^n for x >= 1 - 1/n (scipy's values)
        assert_eq!(smirnov_sf(1, 0.3), 0.7);
        assert!((smirnov_sf(5, 0.9) - 9.999_999_999_999_989e-6).abs() < 1e-20);
        assert_eq!(smirnov_sf(5, 0.0), 1.0);
        assert_eq!(smirnov_sf(5, 1.0), 0.0);
        // scipy.special.smirnov(10, 0.3) = 0.1354635556 (Birnbaum–Tingey sum)
        assert!((smirnov_sf(10, 0.3) - 0.135_463_555_6).abs() < 1e-15);
    }

    #[test]
    fn pairwise_sum_blocks() {
        let v: Vec<f64> = (0..1000).map(|i| (i as f64).sqrt()).collect();
        let naive: f64 = v.iter().sum();
        assert!((pairwise_sum(&v) - naive).abs() < 1e-9);
        assert_eq!(pairwise_sum(&[]), 0.0);
        assert_eq!(pairwise_sum(&v[..9]), v[..9].iter().sum::<f64>());
    }

    // ---- properties

    fn sorted(mut v: Vec<f64>) -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        v
    }

    fn sample() -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            prop::collection::vec(-1e3f64..1e3, 1..120),
            prop::collection::vec((0i32..6).prop_map(f64::from), 1..120),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn psi_nonnegative_and_zero_on_identical(a in sample(), b in sample()) {
            let (a, b) = (sorted(a), sorted(b));
            let edges = quantile_edges(&a, PSI_BINS);
            prop_assert!(edges.windows(2).all(|w| w[0] < w[1]));
            let count = |x: &[f64]| {
                let mut c = vec![0u64; edges.len() + 1];
                for &v in x {
                    c[bin_index(&edges, v)] += 1;
                }
                c
            };
            let (rc, cc) = (count(&a), count(&b));
            let v = psi(&rc, &cc, PSI_FLOOR);
            prop_assert!(v >= 0.0, "psi {v}");
            prop_assert_eq!(psi(&rc, &rc, PSI_FLOOR), 0.0);
        }

        #[test]
        fn ks_in_unit_interval_and_order_free(a in sample(), b in sample()) {
            let r = ks_2samp(&sorted(a.clone()), &sorted(b.clone()));
            prop_assert!((0.0..=1.0).contains(&r.statistic), "{r:?}");
            prop_assert!((0.0..=1.0).contains(&r.p_value), "{r:?}");
            // any input order, sorted inside: same result; swapping the samples too
            let mut ra = a.clone();
            ra.reverse();
            let mut rb = b.clone();
            rb.rotate_left(b.len() / 2);
            prop_assert_eq!(ks_2samp(&sorted(ra.clone()), &sorted(rb.clone())), r);
            prop_assert_eq!(ks_2samp(&sorted(rb), &sorted(ra)), r);
            let same = ks_2samp(&sorted(a.clone()), &sorted(a));
            prop_assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
        }

        #[test]
        fn ks_pvalue_in_unit_interval(
            d in 0.0f64..=1.0,
            n in 1usize..400,
            m in prop_oneof![1usize..400, 10_001usize..200_000],
        ) {
            let (p, _) = ks_pvalue(d, n, m);
            prop_assert!((0.0..=1.0).contains(&p), "d={d} n={n} m={m} p={p}");
        }

        #[test]
        fn wasserstein_symmetric_and_order_free(a in sample(), b in sample()) {
            let w = wasserstein(&sorted(a.clone()), &sorted(b.clone()));
            prop_assert!(w >= 0.0);
            let w2 = wasserstein(&sorted(b), &sorted(a.clone()));
            prop_assert!((w - w2).abs() <= 1e-12 * w.max(1.0));
            prop_assert_eq!(wasserstein(&sorted(a.clone()), &sorted(a)), 0.0);
        }

        #[test]
        fn categorical_metrics_bounded(
            pairs in prop::collection::vec((0u64..50, 0u64..50), 1..12),
        ) {
            let (rc, cc): (Vec<u64>, Vec<u64>) = pairs.into_iter().unzip();
            let js = jensen_shannon(&rc, &cc);
            let chi = chi2_contingency(&rc, &cc);
            if rc.iter().sum::<u64>() > 0 && cc.iter().sum::<u64>() > 0 {
                prop_assert!((0.0..=1.0 + 1e-12).contains(&js), "js {js}");
                prop_assert!(chi.statistic >= 0.0 && (0.0..=1.0).contains(&chi.p_value));
                prop_assert_eq!(jensen_shannon(&rc, &rc), 0.0);
                prop_assert!(psi(&rc, &cc, PSI_FLOOR) >= 0.0);
            } else {
                prop_assert!(js.is_nan());
            }
        }
    }
}
