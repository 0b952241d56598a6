//! The statistics against numpy/scipy fixtures and properties.

use super::ks::*;
use super::smirnov::*;
use super::*;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

/// `fixtures/drift/cases.json`, written by `fixtures/generate_drift.py` (numpy 2.4.6,
/// scipy 1.17.1). Sample values have at most 6 decimals, so serde_json parses them exactly.
fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/drift/cases.json"
        );
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

    #[allow(clippy::print_stderr)] // the worst errors, for whoever runs the test
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
    let v: Vec<f64> = (0..1000).map(|i| f64::from(i).sqrt()).collect();
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
