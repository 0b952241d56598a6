//! Building a [`ReferenceProfile`] from batches of reference data.

use std::collections::BTreeMap;

use super::profile::{
    CategoricalProfile, ColumnKind, ColumnProfile, FORMAT, MAX_CATEGORIES, NumericProfile,
    ReferenceProfile,
};
use super::sample::{Moments, Reservoir};
use super::stats;

/// One column being profiled.
#[derive(Debug, Clone)]
enum ColumnBuilder {
    Numeric {
        moments: Moments,
        nulls: u64,
        reservoir: Reservoir,
    },
    Categorical {
        counts: BTreeMap<String, u64>,
        nulls: u64,
    },
}

/// Builds a [`ReferenceProfile`] from batches of the reference data.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    names: Vec<String>,
    columns: Vec<ColumnBuilder>,
    rows: u64,
    cap: usize,
    bins: usize,
}

impl ProfileBuilder {
    /// Profile `columns` (name and kind; the model's features, [`PREDICTION`], others).
    pub fn new(columns: Vec<(String, ColumnKind)>, cap: usize, bins: usize) -> Self {
        let cap = cap.max(1);
        let (names, columns) = columns
            .into_iter()
            .enumerate()
            .map(|(i, (name, kind))| {
                let builder = match kind {
                    ColumnKind::Numeric => ColumnBuilder::Numeric {
                        moments: Moments::default(),
                        nulls: 0,
                        reservoir: Reservoir::new(cap, 0x5EED + i as u64),
                    },
                    ColumnKind::Categorical => ColumnBuilder::Categorical {
                        counts: BTreeMap::new(),
                        nulls: 0,
                    },
                };
                (name, builder)
            })
            .unzip();
        Self {
            names,
            columns,
            rows: 0,
            cap,
            bins: bins.max(2),
        }
    }

    /// The profiled names, in the order the `push` methods index them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Count `n` more reference rows (once per batch).
    pub fn add_rows(&mut self, n: usize) {
        self.rows += n as u64;
    }

    /// Add values of numeric column `i` (NaN = missing).
    pub fn push_numeric(&mut self, i: usize, values: &[f64]) {
        if let ColumnBuilder::Numeric {
            moments,
            nulls,
            reservoir,
        } = &mut self.columns[i]
        {
            for &v in values {
                if v.is_nan() {
                    *nulls += 1;
                } else {
                    moments.push(v);
                    reservoir.push(v);
                }
            }
        }
    }

    /// Add values of categorical column `i` (`None` = missing).
    pub fn push_categorical<'a>(
        &mut self,
        i: usize,
        values: impl IntoIterator<Item = Option<&'a str>>,
    ) {
        if let ColumnBuilder::Categorical { counts, nulls } = &mut self.columns[i] {
            for v in values {
                match v {
                    None => *nulls += 1,
                    Some(v) => match counts.get_mut(v) {
                        Some(c) => *c += 1,
                        None => {
                            counts.insert(v.to_string(), 1);
                        }
                    },
                }
            }
        }
    }

    /// Add one batch of numeric columns, `columns[i]` for `names()[i]`.
    pub fn push(&mut self, columns: &[&[f64]]) {
        self.add_rows(columns.first().map_or(0, |c| c.len()));
        for (i, values) in columns.iter().enumerate() {
            self.push_numeric(i, values);
        }
    }

    pub fn finish(self, source: &str) -> ReferenceProfile {
        let bins = self.bins;
        let mut features = BTreeMap::new();
        let mut skipped = BTreeMap::new();
        for (name, column) in self.names.into_iter().zip(self.columns) {
            match column {
                ColumnBuilder::Numeric {
                    moments: m,
                    nulls,
                    reservoir,
                } => {
                    features.insert(
                        name,
                        ColumnProfile::Numeric(numeric_profile(m, nulls, reservoir, bins)),
                    );
                }
                ColumnBuilder::Categorical { counts, nulls } => {
                    if counts.len() > MAX_CATEGORIES {
                        skipped.insert(
                            name,
                            format!("more than {MAX_CATEGORIES} distinct values (an identifier?)"),
                        );
                        continue;
                    }
                    let count: u64 = counts.values().sum();
                    let total = count + nulls;
                    features.insert(
                        name,
                        ColumnProfile::Categorical(CategoricalProfile {
                            count,
                            nulls,
                            null_rate: if total == 0 {
                                0.0
                            } else {
                                nulls as f64 / total as f64
                            },
                            categories: counts,
                        }),
                    );
                }
            }
        }
        ReferenceProfile {
            format: FORMAT.into(),
            source: source.into(),
            rows: self.rows,
            exact_cap: self.cap,
            bins,
            features,
            skipped,
        }
    }
}

/// PSI edges (type-7 quantiles of the finite values, ties merged) and counts per bin.
pub(crate) fn bin_reference(sorted_values: &[f64], bins: usize) -> (Vec<f64>, Vec<u64>) {
    let finite: Vec<f64> = sorted_values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let edges = stats::quantile_edges(&finite, bins);
    let mut counts = vec![0u64; edges.len() + 1];
    for &v in sorted_values {
        counts[stats::bin_index(&edges, v)] += 1;
    }
    (edges, counts)
}

fn numeric_profile(m: Moments, nulls: u64, reservoir: Reservoir, bins: usize) -> NumericProfile {
    let sampled = reservoir.sampled();
    let values = reservoir.into_sorted();
    let (edges, bin_counts) = bin_reference(&values, bins);
    let total = m.n + nulls;
    let has = m.n > 0;
    // With every value at hand, summarize from the sorted values (numpy's
    // pairwise summation): the profile then does not depend on row order.
    let (mean, std) = if has && !sampled {
        let n = values.len() as f64;
        let mean = stats::pairwise_sum(&values) / n;
        let squares: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
        (mean, (stats::pairwise_sum(&squares) / n).sqrt())
    } else {
        (m.mean, (m.m2 / m.n.max(1) as f64).sqrt())
    };
    NumericProfile {
        count: m.n,
        nulls,
        null_rate: if total == 0 {
            0.0
        } else {
            nulls as f64 / total as f64
        },
        min: has.then_some(m.min),
        max: has.then_some(m.max),
        mean: has.then_some(mean),
        std: has.then_some(std),
        edges,
        bin_counts,
        sampled,
        values,
    }
}
