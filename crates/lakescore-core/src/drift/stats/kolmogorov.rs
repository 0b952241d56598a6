//! scipy's `_kolmogn`: the distribution of the two-sided one-sample KS statistic
//! (Simard & L'Ecuyer), with Durbin's matrix, Pomeranz's recursion and the
//! Pelz-Good expansion.

use super::pairwise_sum;
use super::smirnov::smirnov_sf;

pub(super) const E128: i32 = 128;
pub(super) const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
pub(super) const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128
pub(super) const SQRT2PI: f64 = 2.506_628_274_631_000_2;
pub(super) const LOG_2PI: f64 = 1.837_877_066_409_345_3;
pub(super) const SQRT3: f64 = 1.732_050_807_568_877_2;
pub(super) const PI_SQUARED: f64 = 9.869_604_401_089_358;
pub(super) const PI_FOUR: f64 = 97.409_091_034_002_42;
pub(super) const PI_SIX: f64 = 961.389_193_575_304_3;
pub(super) const MIN_LOG: f64 = -708.0;
pub(super) const STIRLING_COEFFS: [f64; 8] = [
    -2.955_065_359_477_124_2e-2,
    6.410_256_410_256_41e-3,
    -1.917_526_917_526_917_6e-3,
    8.417_508_417_508_417e-4,
    -5.952_380_952_380_953e-4,
    7.936_507_936_507_937e-4,
    -2.777_777_777_777_778e-3,
    8.333_333_333_333_333e-2,
];

pub(super) fn clip_prob(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

pub(super) fn select_and_clip(cdfprob: f64, sfprob: f64, cdf: bool) -> f64 {
    clip_prob(if cdf { cdfprob } else { sfprob })
}

/// `x * 2^e` with a single rounding (musl's `scalbn`).
pub(super) fn ldexp(mut x: f64, mut e: i64) -> f64 {
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
pub(super) fn frexp(x: f64) -> (f64, i32) {
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
pub(super) fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    let x = rn / n;
    let mut poly = 0.0;
    for c in STIRLING_COEFFS {
        poly = poly * x + c;
    }
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

/// scipy `_kolmogn(n, x, cdf)`.
pub(super) fn kolmogn(n: u64, x: f64, cdf: bool) -> f64 {
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

pub(super) fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
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
pub(super) fn kolmogn_dmtw(n: u64, d: f64) -> f64 {
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
            for x in &mut hm {
                *x /= EP128;
            }
            hexpnt += i64::from(E128);
        }
        nn /= 2;
    }
    let mut p = hpwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= i64::from(E128);
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    clip_prob(p)
}

/// scipy `_pomeranz_compute_j1j2`.
pub(super) fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
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
pub(super) fn kolmogn_pomeranz(n: u64, x: f64) -> f64 {
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
                for v in &mut v1 {
                    *v *= EP128;
                }
                expnt -= i64::from(E128);
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(n - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += i64::from(E128);
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    clip_prob(ans)
}

/// Pelz–Good approximation of Pr(D_n <= x) (scipy `_kolmogn_PelzGood`).
pub(super) fn kolmogn_pelz_good(n: u64, x: f64) -> f64 {
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
