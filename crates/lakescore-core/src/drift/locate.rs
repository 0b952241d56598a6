//! Where a current value falls among the reference's distinct values, in a
//! few cache-resident steps and without sorting the batch.
//!
//! A table of buckets, evenly spaced over the bulk of the reference (its
//! 0.1% to 99.9% distinct values; everything beyond lands in the end
//! buckets), records for each bucket the first distinct value that falls in
//! it or later. The bucket of a value is a subtraction, a multiplication and
//! a clamp: monotone in the value, whatever the rounding, so every distinct
//! value in an earlier bucket is smaller and every one in a later bucket is
//! larger. The answer is then a binary search within one bucket (a handful of
//! values). The result is exactly `partition_point(|r| r < v)`.

/// The bucket table of one column's distinct reference values.
#[derive(Debug, Clone)]
pub(crate) struct Locator {
    low: f64,
    scale: f64,
    last: f64,
    /// `first[b]`: the first distinct value whose bucket is `>= b`; one more
    /// entry than buckets (the distinct count).
    first: Vec<u32>,
}

/// Distinct values per bucket the table aims at.
const PER_BUCKET: usize = 4;
/// The table never exceeds this many buckets (256 KiB of `u32`).
const MAX_BUCKETS: usize = 1 << 16;

impl Locator {
    /// The table for `distinct` (ascending, no NaN).
    pub(crate) fn new(distinct: &[f64]) -> Locator {
        let n = distinct.len();
        let buckets = (n / PER_BUCKET).next_power_of_two().clamp(1, MAX_BUCKETS);
        // The finite values are the middle of `distinct`, between its
        // infinities.
        let from = distinct.partition_point(|&v| v == f64::NEG_INFINITY);
        let to = distinct.partition_point(|&v| v < f64::INFINITY);
        let (low, high) = if from == to {
            (0.0, 0.0)
        } else {
            let trim = (to - from) / 1000;
            (distinct[from + trim], distinct[to - 1 - trim])
        };
        let scale = if high > low {
            buckets as f64 / (high - low)
        } else {
            0.0
        };
        let mut locator = Locator {
            low,
            scale,
            last: (buckets - 1) as f64,
            first: vec![n as u32; buckets + 1],
        };
        // `first[b]` is the first value whose bucket is `b` or later.
        let mut next = 0;
        for (j, &v) in distinct.iter().enumerate() {
            let b = locator.bucket(v);
            while next <= b {
                locator.first[next] = j as u32;
                next += 1;
            }
        }
        locator
    }

    /// How many buckets the table has.
    pub(crate) fn buckets(&self) -> usize {
        self.first.len() - 1
    }

    /// The first distinct value whose bucket is `b` or later (the values
    /// of bucket `b` are `first(b)..first(b + 1)`).
    #[inline(always)]
    pub(crate) fn first(&self, b: usize) -> usize {
        self.first[b] as usize
    }

    /// The bucket of `v` (not NaN): monotone in `v`.
    #[inline(always)]
    pub(crate) fn bucket(&self, v: f64) -> usize {
        usize::from(self.bucket16(v))
    }

    /// [`Locator::bucket`] as the `u16` it fits in (at most [`MAX_BUCKETS`]
    /// buckets); NaN gives bucket 0.
    #[inline(always)]
    pub(crate) fn bucket16(&self, v: f64) -> u16 {
        // `max` maps NaN, and the NaN of `inf * 0` (a one-value table), to 0.
        ((v - self.low) * self.scale).max(0.0).min(self.last) as i32 as u16
    }

    /// The first `j` with `distinct[j] >= v` (`v` not NaN): what
    /// `column::count_slots` finds bucket by bucket, tested here against a plain
    /// binary search.
    #[cfg(test)]
    pub(crate) fn lower_bound(&self, distinct: &[f64], v: f64) -> usize {
        let b = self.bucket(v);
        let (lo, hi) = (self.first[b] as usize, self.first[b + 1] as usize);
        lo + distinct[lo..hi].partition_point(|&r| r < v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(distinct: &[f64], probes: &[f64]) {
        let l = Locator::new(distinct);
        for &v in probes.iter().chain(distinct) {
            assert_eq!(
                l.lower_bound(distinct, v),
                distinct.partition_point(|&r| r < v),
                "{v} among {} values",
                distinct.len()
            );
        }
    }

    #[test]
    fn finds_what_a_binary_search_finds() {
        let probes = [
            f64::NEG_INFINITY,
            -1e300,
            -3.5,
            -0.0,
            0.0,
            1e-300,
            0.5,
            2.0,
            7.25,
            1e300,
            f64::INFINITY,
        ];
        check(&[], &probes);
        check(&[1.0], &probes);
        check(&[f64::NEG_INFINITY, 2.0, f64::INFINITY], &probes);
        check(&[f64::NEG_INFINITY, f64::INFINITY], &probes);
        // Ties-heavy (integers), dense, and an outlier stretching the range.
        let ints: Vec<f64> = (-20..20).map(f64::from).collect();
        check(&ints, &probes);
        let dense: Vec<f64> = (0..100_000).map(|i| f64::from(i).sqrt() - 100.0).collect();
        let between: Vec<f64> = dense
            .windows(2)
            .step_by(97)
            .map(|w| f64::midpoint(w[0], w[1]))
            .collect();
        check(&dense, &between);
        let mut outlier = dense.clone();
        outlier.push(1e12);
        check(&outlier, &between);
        // Values one ulp apart around bucket edges.
        let tight: Vec<f64> = (0..5_000)
            .map(|i| 1.0 + f64::from(i) * f64::EPSILON)
            .collect();
        let next: Vec<f64> = tight.iter().map(|v| v + f64::EPSILON / 2.0).collect();
        check(&tight, &next);
    }
}
