//! A drift accumulator's counts as data: what a shard of a sharded run
//! records in its manifest, and what the commit adds up. KS counts per
//! reference slot, PSI bins (which follow from them) and category counts are
//! sums, so the merged result equals the single-process one exactly.
//! Wasserstein needs the window's values (a sample), which do not merge
//! exactly: a sharded run refuses it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::accumulator::{DriftAccumulator, Tracked};

/// The counts of every tracked column, in the accumulator's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccumulatorState {
    pub names: Vec<String>,
    pub columns: Vec<ColumnState>,
}

/// One column's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnState {
    Numeric {
        count: u64,
        nulls: u64,
        /// Slot count of the reference's value gaps (`2 * distinct + 1`).
        slots: usize,
        /// Every slot's count as LEB128 varints, base64: about one byte per
        /// slot (a 200,000-value reference gives 400,001 slots), where JSON
        /// pairs would take ten.
        counts: String,
    },
    Categorical {
        counts: BTreeMap<String, u64>,
        nulls: u64,
    },
}

/// Why two accumulators' counts cannot be added.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("drift counts do not match this run's profile: {0}")]
pub struct MergeError(pub String);

impl DriftAccumulator<'_> {
    /// The counts so far, as data.
    pub fn state(&self) -> AccumulatorState {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                Tracked::Numeric(d) => {
                    let slots = d.slot_count();
                    let mut bytes = Vec::with_capacity(slots);
                    for s in 0..slots {
                        put_varint(&mut bytes, d.gaps.get(s));
                    }
                    ColumnState::Numeric {
                        count: d.count,
                        nulls: d.nulls,
                        slots,
                        counts: BASE64.encode(bytes),
                    }
                }
                Tracked::Categorical(c) => ColumnState::Categorical {
                    counts: c.counts.clone(),
                    nulls: c.nulls,
                },
            })
            .collect();
        AccumulatorState {
            names: self.names.clone(),
            columns,
        }
    }

    /// Add another accumulator's counts (another shard of the same run, with
    /// the same profile and columns).
    pub fn merge(&mut self, other: &AccumulatorState) -> Result<(), MergeError> {
        if other.names != self.names {
            return Err(MergeError(format!(
                "columns {:?}, expected {:?}",
                other.names, self.names
            )));
        }
        for (name, (mine, theirs)) in self
            .names
            .iter()
            .zip(self.columns.iter_mut().zip(&other.columns))
        {
            match (mine, theirs) {
                (
                    Tracked::Numeric(d),
                    ColumnState::Numeric {
                        count,
                        nulls,
                        slots,
                        counts,
                    },
                ) => {
                    if *slots != d.slot_count() {
                        return Err(MergeError(format!(
                            "{name}: {slots} reference slots, expected {}",
                            d.slot_count()
                        )));
                    }
                    let bytes = BASE64
                        .decode(counts)
                        .map_err(|e| MergeError(format!("{name}: counts: {e}")))?;
                    let mut at = 0;
                    let mut decoded = Vec::with_capacity(*slots);
                    while at < bytes.len() {
                        decoded.push(get_varint(&bytes, &mut at).ok_or_else(|| {
                            MergeError(format!("{name}: counts end inside a number"))
                        })?);
                    }
                    if decoded.len() != *slots || decoded.iter().sum::<u64>() != *count {
                        return Err(MergeError(format!(
                            "{name}: {} counts adding up to {}, expected {slots} adding up to {count}",
                            decoded.len(),
                            decoded.iter().sum::<u64>()
                        )));
                    }
                    d.count += count;
                    d.nulls += nulls;
                    d.gaps.fit(d.count);
                    for (slot, n) in decoded.into_iter().enumerate() {
                        if n > 0 {
                            d.gaps.add_n(slot, n);
                        }
                    }
                }
                (Tracked::Categorical(c), ColumnState::Categorical { counts, nulls }) => {
                    c.nulls += nulls;
                    for (k, n) in counts {
                        *c.counts.entry(k.clone()).or_insert(0) += n;
                    }
                }
                _ => {
                    return Err(MergeError(format!(
                        "{name}: numeric and categorical counts"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Append `v` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read one unsigned LEB128 varint at `*at`; `None` when it is cut short or too long.
fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{ColumnKind, MetricKind, ProfileBuilder, Thresholds};
    use proptest::prelude::*;

    proptest! {
        /// Counts merged from any split of the rows give exactly the metrics
        /// and histograms of one accumulator over all rows.
        #[test]
        fn merged_shards_equal_one_process(
            reference in proptest::collection::vec(-50i32..50, 1..300),
            current in proptest::collection::vec(prop_oneof![(-60i32..60).prop_map(Some), Just(None)], 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..5),
        ) {
            let mut b = ProfileBuilder::new(
                vec![("x".into(), ColumnKind::Numeric), ("c".into(), ColumnKind::Categorical)],
                100,
                10,
            );
            let refs: Vec<f64> = reference.iter().map(|&v| f64::from(v) / 4.0).collect();
            let labels: Vec<String> = reference.iter().map(|v| format!("k{}", v.rem_euclid(7))).collect();
            b.add_rows(refs.len());
            b.push_numeric(0, &refs);
            b.push_categorical(1, labels.iter().map(|s| Some(s.as_str())));
            let profile = b.finish("test");
            let t = Thresholds {
                metrics: vec![MetricKind::Psi, MetricKind::Ks, MetricKind::Chi2],
                ..Thresholds::default()
            };
            let names = vec!["x".to_string(), "c".to_string()];
            let values: Vec<f64> = current.iter().map(|v| v.map_or(f64::NAN, |v| f64::from(v) / 4.0)).collect();
            let cats: Vec<Option<String>> = current.iter().map(|v| v.map(|v| format!("k{}", v.rem_euclid(9)))).collect();
            let push = |acc: &mut DriftAccumulator<'_>, from: usize, to: usize| {
                acc.push_numeric(0, &values[from..to]);
                acc.push_categorical(1, cats[from..to].iter().map(Option::as_deref));
            };
            let mut whole = DriftAccumulator::new(&profile, names.clone(), &t);
            push(&mut whole, 0, values.len());

            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(values.len())).collect();
            bounds.push(0);
            bounds.push(values.len());
            bounds.sort_unstable();
            let mut merged = DriftAccumulator::new(&profile, names.clone(), &t);
            for w in bounds.windows(2) {
                let mut shard = DriftAccumulator::new(&profile, names.clone(), &t);
                push(&mut shard, w[0], w[1]);
                // Through JSON, as a manifest carries it.
                let state: AccumulatorState =
                    serde_json::from_str(&serde_json::to_string(&shard.state()).unwrap()).unwrap();
                merged.merge(&state).unwrap();
            }
            prop_assert_eq!(merged.state(), whole.state());
            let (m1, h1) = merged.finish_with_histograms(&t);
            let (m2, h2) = whole.finish_with_histograms(&t);
            prop_assert_eq!(format!("{m1:?}"), format!("{m2:?}"));
            prop_assert_eq!(h1, h2);
        }
    }

    #[test]
    fn counts_of_another_profile_are_refused() {
        let mut b = ProfileBuilder::new(vec![("x".into(), ColumnKind::Numeric)], 100, 10);
        b.add_rows(3);
        b.push_numeric(0, &[1.0, 2.0, 3.0]);
        let p = b.finish("a");
        let t = Thresholds::default();
        let mut acc = DriftAccumulator::new(&p, vec!["x".into()], &t);
        let mut other = acc.state();
        other.names = vec!["y".into()];
        assert!(acc.merge(&other).is_err());
        let mut other = acc.state();
        if let ColumnState::Numeric { slots, .. } = &mut other.columns[0] {
            *slots += 2;
        }
        assert!(acc.merge(&other).unwrap_err().0.contains("reference slots"));
        // Counts cut short, or not adding up to the count, are refused.
        let mut other = acc.state();
        if let ColumnState::Numeric { counts, count, .. } = &mut other.columns[0] {
            *counts = BASE64.encode([0x80u8]);
            *count = 1;
        }
        assert!(acc.merge(&other).is_err());
    }

    #[test]
    fn varints_round_trip() {
        let values = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let mut bytes = Vec::new();
        for v in values {
            put_varint(&mut bytes, v);
        }
        let mut at = 0;
        let back: Vec<u64> =
            std::iter::from_fn(|| (at < bytes.len()).then(|| get_varint(&bytes, &mut at).unwrap()))
                .collect();
        assert_eq!(back, values);
    }
}
