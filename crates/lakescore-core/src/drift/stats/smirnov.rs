//! scipy.special.smirnov (xsf/cephes `kolmogorov.h`): the one-sided KS survival
//! function, in double-double arithmetic.

use super::dd::{Dd, dd};
use super::kolmogorov::ldexp;

pub(super) const SM_MAX_EXPONENT: i32 = 960;
pub(super) const SMIRNOV_MAX_COMPUTE_N: i64 = 1_000_000;
pub(super) const SM_UPPER_MAX_TERMS: i64 = 3;
pub(super) const SM_UPPERSUM_MIN_N: i64 = 10;
/// xsf `MINLOG` = log(2^-1075).
pub(super) const CEPHES_MINLOG: f64 = -7.451_332_191_019_412e2;

/// xsf `modNX`: (alpha, floor(n*x), n*x) with n*x computed exactly in double-double.
pub(super) fn mod_nx(n: i64, x: f64) -> (f64, i64, f64) {
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

pub(super) fn update_binomial(cman: &mut Dd, cexpt: &mut i64, n: i64, j: i64) {
    let rat = dd((n - j) as f64) / ((j as f64) + 1.0);
    let man2 = *cman * rat;
    let (man2, expt) = man2.frexp();
    *cexpt += i64::from(expt);
    *cman = man2;
}

pub(super) fn pow_d(a: Dd, m: i64) -> Dd {
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

pub(super) fn pow2(a: f64, b: f64, m: i64) -> f64 {
    pow_d(dd(a) + b, m).hi
}

pub(super) fn next_power_of_2(x: f64) -> f64 {
    let q = ldexp(x, 1 - 53);
    let mut l = (q + x).abs();
    if l == 0.0 {
        l = x.abs();
    } else {
        let lint = l as i32;
        if f64::from(lint) == l {
            l = f64::from(lint);
        }
    }
    l
}

/// a^m as (significand, exponent) (xsf `pow2Scaled_D`).
pub(super) fn pow2_scaled_d(a: Dd, m: i64) -> (Dd, i64) {
    if m <= 0 {
        if m == 0 {
            return (dd(1.0), 0);
        }
        let (ans, ae1) = pow2_scaled_d(a, -m);
        let (ans, ae2) = (1.0 / ans).frexp();
        return (ans, -ae1 + i64::from(ae2));
    }
    let (y, ye) = a.frexp();
    let ye = i64::from(ye);
    if m == 1 {
        return (y, ye);
    }
    let mut max_expt = i64::from(SM_MAX_EXPONENT);
    if m as f64 * (y.hi - 1.0) / y.hi < -f64::from(SM_MAX_EXPONENT) * std::f64::consts::LN_2 {
        let lg2y = y.hi.ln() / std::f64::consts::LN_2;
        let lg_ans = m as f64 * lg2y;
        if lg_ans <= -f64::from(SM_MAX_EXPONENT) {
            max_expt =
                i64::from((next_power_of_2(-f64::from(SM_MAX_EXPONENT) / lg2y + 1.0) / 2.0) as i32);
        }
    }
    if m <= max_expt {
        let ans1 = pow_d(y, m);
        let (ans, anse) = ans1.frexp();
        return (ans, i64::from(anse) + m * ye);
    }
    let q = m / max_expt;
    let r = m % max_expt;
    let (y2r, y2re) = pow2_scaled_d(y, r);
    let (y2m, y2me) = pow2_scaled_d(y, max_expt);
    let (y2mq, mut y2mqe) = pow2_scaled_d(y2m, q);
    let (ans, anse) = (y2r * y2mq).frexp();
    y2mqe += y2me * q;
    let anse = i64::from(anse) + y2mqe + y2re + m * ye;
    (ans, anse)
}

/// ((a+b)/(c+d))^m (xsf `pow4_D`).
pub(super) fn pow4_d(a: f64, b: f64, c: f64, d: f64, m: i64) -> Dd {
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
pub(super) fn compute_av(n: i64, x: f64, v: i64, cman: Dd, cexpt: i64) -> Dd {
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
pub(super) fn smirnov_sf(n: i64, x: f64) -> f64 {
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
    let mut n1mxfl = n - nxfl - i64::from(alpha != 0.0);
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
