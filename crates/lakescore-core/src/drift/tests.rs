//! Tests of profiles and the accumulator against the batch statistics.

use super::builder::bin_reference;
use super::locate::Locator;
use super::profile::{DEFAULT_BINS, DEFAULT_EXACT_CAP, PSI_FLOOR};
use super::sample::{Reservoir, SplitMix};
use super::*;

/// A one-column (`x`) profile of `values`.
pub(super) fn profile_of(values: &[f64]) -> ReferenceProfile {
    let mut b = ProfileBuilder::new(
        vec![("x".into(), ColumnKind::Numeric)],
        DEFAULT_EXACT_CAP,
        DEFAULT_BINS,
    );
    b.push(&[values]);
    b.finish("test")
}

/// Every metric, Wasserstein included.
fn drift_of(reference: &[f64], current: &[f64], batch: usize) -> Vec<Metric> {
    let p = profile_of(reference);
    let t = Thresholds {
        metrics: MetricKind::SELECTABLE.to_vec(),
        ..Thresholds::default()
    };
    let mut acc = DriftAccumulator::new(&p, vec!["x".into()], &t);
    for chunk in current.chunks(batch.max(1)) {
        acc.push(&[chunk]);
    }
    acc.finish(&t)
}

fn get(ms: &[Metric], m: &str) -> Metric {
    ms.iter().find(|x| x.metric.as_str() == m).unwrap().clone()
}

#[test]
fn streaming_ks_equals_the_batch_statistic() {
    let a: Vec<f64> = (0..300).map(|i| f64::from((i * 37) % 101) / 7.0).collect();
    let b: Vec<f64> = (0..211)
        .map(|i| f64::from((i * 53) % 89) / 6.0 + 0.5)
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
    let a: Vec<f64> = (0..1000).map(|i| f64::from(i).sin()).collect();
    let ms = drift_of(&a, &a, 64);
    assert_eq!(get(&ms, "psi").value, Some(0.0));
    assert_eq!(get(&ms, "ks").value, Some(0.0));
    assert!(ms.iter().all(|m| !m.alert));
}

#[test]
fn empty_current_window_gives_null_values_not_a_crash() {
    let a: Vec<f64> = (0..100).map(f64::from).collect();
    let ms = drift_of(&a, &[], 10);
    assert!(ms.iter().all(|m| m.value.is_none() && !m.alert));
    let only_nulls = drift_of(&a, &[f64::NAN; 5], 10);
    assert_eq!(get(&only_nulls, "null_rate").value, Some(1.0));
    assert!(get(&only_nulls, "null_rate").alert);
    assert_eq!(get(&only_nulls, "ks").value, None);
}

#[test]
fn psi_bins_other_than_the_profiles_are_recomputed_from_its_values() {
    let reference: Vec<f64> = (0..500).map(|i| f64::from((i * 31) % 97)).collect();
    let current: Vec<f64> = (0..300).map(|i| f64::from((i * 17) % 89) + 3.0).collect();
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
fn locator_places_any_float_as_a_binary_search_does() {
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
    // Every magnitude, signed zeros, infinities and ties, as reference and as probes.
    let (reference, probes) = values.split_at_mut(2500);
    reference.sort_unstable_by(f64::total_cmp);
    let mut distinct = reference.to_vec();
    distinct.dedup_by(|a, b| a == b);
    let locator = Locator::new(&distinct);
    for &v in probes.iter().chain(&distinct) {
        assert_eq!(
            locator.lower_bound(&distinct, v),
            distinct.partition_point(|&r| r < v),
            "{v}"
        );
    }
}

#[test]
fn reservoir_keeps_everything_under_the_cap_and_samples_above() {
    let mut r = Reservoir::new(10, 1);
    for i in 0..10 {
        r.push(f64::from(i));
    }
    assert!(!r.sampled());
    for i in 10..1000 {
        r.push(f64::from(i));
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
    let few: Vec<f64> = (0..60).map(|i| f64::from(i % 3)).collect();
    let other: Vec<f64> = (0..60).map(|i| f64::from(i % 2)).collect();
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
    let reference: Vec<f64> = (0..100).map(f64::from).collect();
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
        let r: Vec<f64> = reference.iter().map(|&x| f64::from(x)).collect();
        let c: Vec<f64> = current.iter().map(|&x| f64::from(x)).collect();
        let ms = drift_of(&r, &c, 7);
        proptest::prop_assert!(get(&ms, "psi").value.unwrap() >= 0.0);
        let ks = get(&ms, "ks");
        proptest::prop_assert!((0.0..=1.0).contains(&ks.value.unwrap()));
        proptest::prop_assert!((0.0..=1.0).contains(&ks.p_value.unwrap()));
    }
}

#[test]
fn histograms_hold_the_counts_psi_is_computed_from() {
    let a: Vec<f64> = (0..500).map(|i| f64::from((i * 37) % 101)).collect();
    let mut b: Vec<f64> = (0..300).map(|i| f64::from((i * 53) % 89) + 10.0).collect();
    b.push(f64::NAN);
    let p = profile_of(&a);
    let t = Thresholds::default();
    let mut acc = DriftAccumulator::new(&p, vec!["x".into()], &t);
    acc.push(&[&b]);
    let (metrics, histograms) = acc.finish_with_histograms(&t);
    let h = &histograms[0];
    assert_eq!(h.feature, "x");
    let reference: Vec<u64> = h.bins.iter().map(|b| b.reference).collect();
    let current: Vec<u64> = h.bins.iter().map(|b| b.current).collect();
    assert_eq!(reference.iter().sum::<u64>(), 500);
    assert_eq!(current.iter().sum::<u64>(), 300, "nulls are not binned");
    // The bins are contiguous and open-ended, and PSI follows from them.
    assert_eq!(h.bins[0].lower, None);
    assert_eq!(h.bins.last().unwrap().upper, None);
    for w in h.bins.windows(2) {
        assert_eq!(w[0].upper, w[1].lower);
    }
    let psi = stats::psi(&reference, &current, PSI_FLOOR);
    assert_eq!(Some(psi), get(&metrics, "psi").value);
    // Each current value lies in its bin (right-closed).
    for v in b.iter().filter(|v| !v.is_nan()) {
        let bin = h
            .bins
            .iter()
            .position(|x| x.lower.is_none_or(|l| *v > l) && x.upper.is_none_or(|u| *v <= u))
            .unwrap();
        assert!(h.bins[bin].current > 0);
    }
}

#[test]
fn categorical_histograms_list_reference_categories_then_new_ones() {
    let mut b = ProfileBuilder::new(vec![("c".into(), ColumnKind::Categorical)], 10, 10);
    b.add_rows(5);
    b.push_categorical(0, ["a", "b", "b", "c", "c"].map(Some));
    let p = b.finish("t");
    let t = Thresholds::default();
    let mut acc = DriftAccumulator::new(&p, vec!["c".into()], &t);
    acc.push_categorical(0, [Some("b"), Some("z"), None, Some("a")]);
    let (_, histograms) = acc.finish_with_histograms(&t);
    let bins: Vec<(Option<&str>, u64, u64)> = histograms[0]
        .bins
        .iter()
        .map(|b| (b.category.as_deref(), b.reference, b.current))
        .collect();
    assert_eq!(
        bins,
        [
            (Some("a"), 1, 1),
            (Some("b"), 2, 1),
            (Some("c"), 2, 0),
            (Some("z"), 0, 1)
        ]
    );
    assert!(
        histograms[0]
            .bins
            .iter()
            .all(|b| b.lower.is_none() && b.upper.is_none())
    );
}

#[test]
fn wasserstein_is_asked_for_by_name() {
    let t = Thresholds::default();
    assert!(!t.metrics.contains(&MetricKind::Wasserstein));
    assert!(t.metrics.contains(&MetricKind::Ks) && t.metrics.contains(&MetricKind::Psi));
}

/// PSI counts come from the KS slots, with every edge a slot boundary: they
/// must equal a direct count by "edges below the value", for interpolated
/// edges (between reference values), edges that are reference values, and
/// current values equal to an edge, below the reference and above it.
#[test]
fn psi_counts_from_slots_equal_a_direct_count() {
    // Ten values with gaps: type-7 deciles fall between them (interpolated).
    let reference: Vec<f64> = [0.0, 1.0, 1.0, 4.0, 5.0, 9.0, 9.0, 9.0, 12.0, 20.0]
        .repeat(7)
        .into_iter()
        .collect();
    let mut sorted = reference.clone();
    sorted.sort_by(f64::total_cmp);
    let (edges, ref_bins) = bin_reference(&sorted, 10);
    assert!(edges.iter().any(|e| !sorted.contains(e)), "{edges:?}");
    let mut current: Vec<f64> = vec![-5.0, 0.0, 0.5, 1.0, 2.5, 9.0, 11.0, 20.0, 25.0];
    current.extend(edges.iter().copied());
    current.extend(edges.iter().map(|e| e + 1e-9));
    let p = profile_of(&reference);
    let t = Thresholds::default();
    let mut acc = DriftAccumulator::new(&p, vec!["x".into()], &t);
    acc.push_numeric(0, &current);
    let (metrics, histograms) = acc.finish_with_histograms(&t);
    let mut direct = vec![0u64; edges.len() + 1];
    for v in &current {
        direct[edges.iter().filter(|e| *e < v).count()] += 1;
    }
    let got: Vec<u64> = histograms[0].bins.iter().map(|b| b.current).collect();
    assert_eq!(got, direct);
    let psi = get(&metrics, "psi").value.unwrap();
    assert_eq!(psi, stats::psi(&ref_bins, &direct, PSI_FLOOR));
}
