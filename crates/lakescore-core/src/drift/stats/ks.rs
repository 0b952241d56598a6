//! The two-sample Kolmogorov-Smirnov test: statistic, scipy's exact and
//! asymptotic p-values, and the `kstwo` survival function.

use super::KS_MAX_EXACT_N;
use super::kolmogorov::kolmogn;

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
pub(super) fn ks_pvalue_full(d: f64, n1: usize, n2: usize) -> (f64, f64, bool) {
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

pub(super) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy `_attempt_exact_2kssamp(n1, n2, g, d, 'two-sided')` -> (success, d, prob).
pub(super) fn attempt_exact_2kssamp(n1: u64, n2: u64, g: u64, d: f64) -> (bool, f64, f64) {
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
pub(super) fn compute_prob_outside_square(n: i64, h: i64) -> f64 {
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
pub(super) fn compute_outer_prob_inside_method(m: i64, n: i64, g: i64, h: i64) -> f64 {
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
