//! One numeric column's current window, counted against its reference: the
//! counts per reference slot (strictly between, or equal to, each distinct
//! reference value) that give exact KS and PSI, batch by batch, with memory
//! bounded by the reference.

use super::builder::bin_reference;
use super::locate::Locator;
use super::profile::NumericProfile;
use super::sample::Reservoir;

/// The current window of one numeric column, compared against its reference.
#[derive(Debug, Clone)]
pub(super) struct ColumnDrift {
    /// Distinct reference values, ascending.
    distinct: Vec<f64>,
    /// Reference count of values <= distinct[j] (cumulative); `u32`, as a
    /// profile keeps at most `exact_cap` values (1,000,000).
    ref_cum: Vec<u32>,
    /// Current counts: [below distinct[0], equal to distinct[0], between 0 and 1, equal to 1, …, above last].
    pub(super) gaps: Counts,
    /// PSI inner edges and the reference's counts per bin (the profile's, or
    /// recomputed from its values for another bin count).
    pub(super) edges: Vec<f64>,
    pub(super) ref_bins: Vec<u64>,
    pub(super) count: u64,
    pub(super) nulls: u64,
    /// Current values kept for Wasserstein (only when that metric is wanted).
    pub(super) retained: Option<Reservoir>,
    /// Finds a value's place among `distinct`.
    locator: Locator,
}

/// The distinct values of `values` (ascending) and their cumulative counts,
/// with every PSI edge that is not a reference value added as a point holding
/// no reference value (its cumulative count is the previous one's). No slot
/// then straddles an edge, so PSI counts follow from the slot counts, and the
/// KS statistic is unchanged: the reference CDF is flat across the added
/// point, and the largest difference is still found at the data points,
/// which all remain. One pass, into vectors with room for the [`PAD`].
fn distinct_with_edges(values: &[f64], edges: &[f64]) -> (Vec<f64>, Vec<u32>) {
    assert!(
        u32::try_from(values.len()).is_ok(),
        "a reference profile keeps at most exact_cap values per column"
    );
    let mut d: Vec<f64> = Vec::with_capacity(values.len() + edges.len() + PAD);
    let mut c: Vec<u32> = Vec::with_capacity(values.len() + edges.len());
    let add_edge = |x: f64, d: &mut Vec<f64>, c: &mut Vec<u32>| {
        if d.last() != Some(&x) {
            c.push(c.last().copied().unwrap_or(0));
            d.push(x);
        }
    };
    let mut e = 0;
    for (i, &v) in values.iter().enumerate() {
        if d.last() == Some(&v) {
            *c.last_mut().expect("non-empty") = i as u32 + 1;
            continue;
        }
        while e < edges.len() && edges[e] <= v {
            if edges[e] < v {
                add_edge(edges[e], &mut d, &mut c);
            }
            e += 1;
        }
        d.push(v);
        c.push(i as u32 + 1);
    }
    for &x in &edges[e..] {
        add_edge(x, &mut d, &mut c);
    }
    (d, c)
}

/// Per-batch buffers of a counting thread (one set per thread, not per
/// column): group boundaries, each value's bucket, and the values and their
/// buckets grouped by group of buckets.
#[derive(Debug, Default)]
struct Scratch {
    starts: Vec<u32>,
    of: Vec<u16>,
    grouped: Vec<f64>,
    grouped_of: Vec<u16>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Values are grouped by runs of `2^GROUP_SHIFT` buckets: a quarter of the
/// group counters (64 KiB at most) to count and scatter through than one per
/// bucket, measured 1.25x faster; runs of 2 or 8 buckets were no faster than
/// 4, runs of 64 slower than one bucket (their counts are then incremented
/// in no order).
const GROUP_SHIFT: u32 = 2;

/// `distinct` is followed by this many NaN, so that eight values can be
/// compared from any position without a bounds check: a NaN is neither below
/// nor equal to any value, so the padding is never counted, even against an
/// infinity.
const PAD: usize = 8;

impl ColumnDrift {
    pub(super) fn new(
        profile: &NumericProfile,
        cap: usize,
        seed: u64,
        retain: bool,
        bins: usize,
    ) -> Self {
        let (edges, ref_bins) = if profile.edges.len() + 1 == bins || profile.count == 0 {
            (profile.edges.clone(), profile.bin_counts.clone())
        } else {
            bin_reference(&profile.values, bins)
        };
        let (mut distinct, ref_cum) = distinct_with_edges(&profile.values, &edges);
        let gaps = Counts::Narrow(vec![0; 2 * distinct.len() + 1]);
        let locator = Locator::new(&distinct);
        distinct.extend([f64::NAN; PAD]);
        Self {
            ref_cum,
            gaps,
            edges,
            ref_bins,
            count: 0,
            nulls: 0,
            retained: retain.then(|| Reservoir::new(cap.max(1), seed)),
            locator,
            distinct,
        }
    }

    /// The distinct reference values (with the PSI edges), ascending.
    fn distinct(&self) -> &[f64] {
        &self.distinct[..self.distinct.len() - PAD]
    }

    /// How many count slots the column has (`2 * distinct + 1`).
    pub(super) fn slot_count(&self) -> usize {
        2 * self.distinct().len() + 1
    }

    /// Count one batch of values (NaN = missing).
    pub(super) fn push(&mut self, values: &[f64]) {
        SCRATCH.with_borrow_mut(|scratch| {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("popcnt")
            {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has the features `push_avx2` is compiled for.
                unsafe {
                    self.push_avx2(values, scratch);
                }
                return;
            }
            self.push_portable(values, scratch);
        });
    }

    /// [`ColumnDrift::push_with`] for any CPU, out of line: inlined into
    /// `push`, beside the AVX2 build, it was compiled 1.24x slower.
    #[inline(never)]
    fn push_portable(&mut self, values: &[f64], scratch: &mut Scratch) {
        self.push_with(values, scratch);
    }

    /// [`ColumnDrift::push_with`] compiled for AVX2: the eight comparisons
    /// of a window in two instructions and one population count, where the
    /// portable build takes four and a multiply-and-shift count. Counting
    /// measured 1.08x faster on one thread and 1.25x on two
    /// (`cargo bench --bench drift -- --repeat 5`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn push_avx2(&mut self, values: &[f64], scratch: &mut Scratch) {
        self.push_with(values, scratch);
    }

    /// Count one batch. The values are first grouped by runs of four
    /// buckets of the reference's [`Locator`] table (one counting-sort pass,
    /// bucket order being value order), so that the searches among the
    /// distinct values and the count increments then move forward through
    /// memory, as a merge would, instead of jumping around megabytes (within
    /// a run of four they stay within a few cache lines). Within its
    /// bucket, a value's place among the distinct values is the bucket's
    /// first distinct value plus how many of the next eight are below it (no
    /// branch; the next eight again in the rare bucket that holds more).
    #[inline(always)]
    fn push_with(&mut self, values: &[f64], scratch: &mut Scratch) {
        let shift = GROUP_SHIFT.min(self.locator.buckets().trailing_zeros());
        let groups = self.locator.buckets() >> shift;
        let Scratch {
            starts,
            of,
            grouped,
            grouped_of,
        } = scratch;
        // In arrival order, so the sample does not depend on batching.
        if let Some(r) = &mut self.retained {
            for &v in values.iter().filter(|v| !v.is_nan()) {
                r.push(v);
            }
        }
        // Each value's bucket, and how many values each group of buckets
        // holds, with no branch: a NaN (bucket 0) counts nowhere.
        starts.clear();
        starts.resize(groups + 1, 0);
        of.clear();
        of.resize(values.len(), 0);
        let mut nulls = 0;
        for (&v, b) in values.iter().zip(of.iter_mut()) {
            let bucket = self.locator.bucket16(v);
            let nan = v.is_nan();
            nulls += usize::from(nan);
            starts[usize::from(bucket >> shift) + 1] += u32::from(!nan);
            *b = bucket;
        }
        let counted = values.len() - nulls;
        self.nulls += nulls as u64;
        self.count += counted as u64;
        self.gaps.fit(self.count);
        for g in 0..groups {
            starts[g + 1] += starts[g];
        }
        grouped.clear();
        grouped.resize(counted, 0.0);
        grouped_of.clear();
        grouped_of.resize(counted, 0);
        for (&v, &b) in values.iter().zip(of.iter()) {
            if v.is_nan() {
                continue;
            }
            // Read once: the stores below could alias it for all the
            // compiler knows.
            let g = usize::from(b >> shift);
            let at = starts[g];
            grouped[at as usize] = v;
            grouped_of[at as usize] = b;
            starts[g] = at + 1;
        }
        let (locator, distinct) = (&self.locator, &self.distinct);
        match &mut self.gaps {
            Counts::Narrow(c) => count_slots(locator, distinct, grouped, grouped_of, c),
            Counts::Wide(c) => count_slots(locator, distinct, grouped, grouped_of, c),
        }
    }

    /// Current counts per PSI bin, from the slot counts: bins are
    /// right-closed, so a value's bin is the number of edges below it, and
    /// since every edge is one of `distinct`, the values of slots `2j` (just
    /// below `distinct[j]`) and `2j + 1` (equal to it) share the bin
    /// "edges below `distinct[j]`"; values above the last are in the last bin.
    pub(super) fn psi_counts(&self) -> Vec<u64> {
        let mut counts = vec![0; self.edges.len() + 1];
        let mut below = 0;
        for (j, &d) in self.distinct().iter().enumerate() {
            while below < self.edges.len() && self.edges[below] < d {
                below += 1;
            }
            counts[below] += self.gaps.get(2 * j) + self.gaps.get(2 * j + 1);
        }
        counts[self.edges.len()] += self.gaps.get(2 * self.distinct().len());
        counts
    }

    /// The exact two-sample KS statistic, computed as scipy does: the largest
    /// |F_ref - F_cur| over all data points, CDFs right-continuous.
    pub(super) fn ks_statistic(&self) -> f64 {
        let n = f64::from(*self.ref_cum.last().unwrap_or(&0));
        let m = self.count as f64;
        let mut cur: u64 = self.gaps.get(0);
        // Before the first reference value the reference CDF is 0.
        let mut d: f64 = cur as f64 / m;
        for j in 0..self.distinct().len() {
            let fr = f64::from(self.ref_cum[j]) / n;
            cur += self.gaps.get(2 * j + 1);
            d = d.max((fr - cur as f64 / m).abs());
            // The last current value before the next reference value.
            let between = self.gaps.get(2 * j + 2);
            if between > 0 {
                cur += between;
                d = d.max((fr - cur as f64 / m).abs());
            }
        }
        d
    }
}

/// Add each of `values` (none NaN; `buckets` holds their buckets, ascending)
/// to its slot: `2j` when it lies strictly between `distinct[j - 1]` and
/// `distinct[j]`, `2j + 1` when it equals `distinct[j]` (`distinct` padded
/// with [`PAD`] NaN). `j` is `partition_point(|r| r < v)`: every
/// distinct value of an earlier bucket is below `v` and every one of a later
/// bucket above it, so counting from the bucket's first value on finds it.
#[inline(always)]
fn count_slots<C: Copy + From<u8> + std::ops::AddAssign>(
    locator: &Locator,
    distinct: &[f64],
    values: &[f64],
    buckets: &[u16],
    slots: &mut [C],
) {
    for (&v, &b) in values.iter().zip(buckets) {
        let mut j = locator.first(usize::from(b));
        loop {
            let window: &[f64; PAD] = distinct[j..j + PAD].try_into().expect("padded");
            let below: usize = window.iter().map(|&r| usize::from(r < v)).sum();
            j += below;
            if below < PAD {
                break;
            }
        }
        let slot = 2 * j + usize::from(distinct[j] == v);
        slots[slot] += C::from(1);
    }
}

/// Current counts per reference slot: `u32` (half the memory of the largest
/// per-column array) until the column's count could overflow one, then `u64`.
#[derive(Debug, Clone)]
pub(super) enum Counts {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Counts {
    /// Widen if `total` values may have been counted in one slot.
    pub(super) fn fit(&mut self, total: u64) {
        if let Counts::Narrow(c) = self
            && total > u64::from(u32::MAX)
        {
            *self = Counts::Wide(c.iter().map(|&v| u64::from(v)).collect());
        }
    }

    /// Add `n` to one slot (merging another shard's counts).
    pub(super) fn add_n(&mut self, slot: usize, n: u64) {
        match self {
            Counts::Narrow(c) => {
                c[slot] = u32::try_from(u64::from(c[slot]) + n)
                    .expect("fit widens before a count could overflow");
            }
            Counts::Wide(c) => c[slot] += n,
        }
    }

    pub(super) fn get(&self, slot: usize) -> u64 {
        match self {
            Counts::Narrow(c) => u64::from(c[slot]),
            Counts::Wide(c) => c[slot],
        }
    }
}

#[cfg(test)]
mod counts_tests {
    use super::Counts;

    #[test]
    fn counts_widen_before_a_slot_could_overflow() {
        let mut c = Counts::Narrow(vec![0; 3]);
        c.add_n(1, 1);
        c.add_n(1, 1);
        c.fit(u64::from(u32::MAX));
        assert!(matches!(c, Counts::Narrow(_)));
        c.fit(u64::from(u32::MAX) + 1);
        assert!(matches!(c, Counts::Wide(_)));
        assert_eq!((c.get(0), c.get(1), c.get(2)), (0, 2, 0));
        c.add_n(2, 1);
        assert_eq!(c.get(2), 1);
    }
}

#[cfg(test)]
mod slot_tests {
    use super::super::profile::{ColumnProfile, DEFAULT_BINS, DEFAULT_EXACT_CAP};
    use super::super::sample::SplitMix;
    use super::super::tests::profile_of;
    use super::ColumnDrift;

    /// A column counting against a profile of `reference`.
    fn column_of(reference: &[f64]) -> ColumnDrift {
        let profile = profile_of(reference);
        let ColumnProfile::Numeric(p) = &profile.features["x"] else {
            unreachable!()
        };
        ColumnDrift::new(p, DEFAULT_EXACT_CAP, 1, false, DEFAULT_BINS)
    }

    /// Every slot's count.
    fn slots(column: &ColumnDrift) -> Vec<u64> {
        (0..column.slot_count())
            .map(|s| column.gaps.get(s))
            .collect()
    }

    /// The bucket-grouped, eight-at-a-time placement equals a binary search
    /// per value, on a reference large enough for a full bucket table and
    /// skewed enough that buckets hold more than eight distinct values; with
    /// ties, infinities and values equal to, between and beyond the
    /// reference's.
    #[test]
    fn slots_equal_a_binary_search_per_value() {
        let mut rng = SplitMix(7);
        let mut uniform = || (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let mut reference: Vec<f64> = (0..300_000)
            .map(|i| match i % 10 {
                0 => (uniform() * 50.0).round(),
                // Dense near 0: a bucket there holds hundreds of values.
                1..=3 => uniform().powi(8),
                _ => uniform() * 100.0 - 25.0,
            })
            .collect();
        reference.extend([f64::NEG_INFINITY, f64::INFINITY, 1e300, -1e300]);
        let mut column = column_of(&reference);
        assert_eq!(column.locator.buckets(), 1 << 16, "a full bucket table");
        let distinct = column.distinct().to_vec();
        let mut current: Vec<f64> = (0..200_000)
            .map(|i| match i % 8 {
                0 => distinct[(uniform() * distinct.len() as f64) as usize],
                1 => uniform().powi(8),
                2 => f64::NAN,
                3 => uniform() * 400.0 - 200.0,
                _ => uniform() * 100.0 - 25.0,
            })
            .collect();
        current.extend([f64::NEG_INFINITY, f64::INFINITY, 0.0, -0.0, 1e308, -1e308]);
        // The build this CPU runs (AVX2 on most x86-64), and the portable one.
        let mut portable = column.clone();
        let mut scratch = super::Scratch::default();
        for batch in current.chunks(65_536) {
            column.push(batch);
            portable.push_portable(batch, &mut scratch);
        }
        let n = distinct.len();
        let mut expected = vec![0u64; 2 * n + 1];
        for &v in current.iter().filter(|v| !v.is_nan()) {
            let j = distinct.partition_point(|&r| r < v);
            expected[2 * j + usize::from(j < n && distinct[j] == v)] += 1;
        }
        assert_eq!(slots(&column), expected);
        assert_eq!(column.nulls, 25_000);
        assert_eq!(slots(&portable), expected);
    }

    /// Infinities in the current window of a reference without them land in
    /// the open-ended gaps, never on the padding after the last value.
    #[test]
    fn infinities_beyond_a_finite_reference_count_in_the_end_gaps() {
        let reference = [1.0, 2.0, 2.0, 3.0];
        let mut column = column_of(&reference);
        let distinct = column.distinct().to_vec();
        let n = distinct.len();
        column.push(&[f64::INFINITY, f64::NEG_INFINITY, 2.0, f64::NAN, 3.0, 1e300]);
        let slot = |v: f64| 2 * distinct.partition_point(|&r| r < v);
        assert_eq!(column.gaps.get(2 * n), 2, "+inf and 1e300 above the last");
        assert_eq!(column.gaps.get(0), 1, "-inf below the first");
        assert_eq!(column.gaps.get(slot(2.0) + 1), 1, "2 equal to a value");
        assert_eq!(column.gaps.get(slot(3.0) + 1), 1, "3 equal to the last");
        assert_eq!((column.count, column.nulls), (5, 1));
    }
}
