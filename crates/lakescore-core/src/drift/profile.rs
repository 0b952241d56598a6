//! Reference profiles: what a model version's reference data looked like. Pure: no IO.
//!
//! A [`ReferenceProfile`] is captured when a model version is registered with
//! `--reference`: for each model input and for the model's own prediction
//! (`__prediction__`), row counts, null rate, min/max/mean/std, the PSI bin
//! edges and counts, and the exact sorted values (up to `exact_cap`, default
//! 1,000,000; beyond it a seeded uniform reservoir sample of that size, flagged
//! `sampled`), which is what an exact two-sample KS test and Wasserstein distance need.
//!
//! Profiles are built by [`super::ProfileBuilder`] and compared with a current
//! window by [`super::DriftAccumulator`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The feature name under which the model's own output is profiled.
pub const PREDICTION: &str = "__prediction__";
/// Exact values kept per feature before sampling.
pub const DEFAULT_EXACT_CAP: usize = 1_000_000;
/// PSI bins (quantiles of the reference).
pub const DEFAULT_BINS: usize = 10;
/// Floor of an empty bin's share in PSI (defined with the statistic).
pub use super::stats::PSI_FLOOR;
pub const FORMAT: &str = "lakescore.profile/v1";

/// Categories kept per categorical column; a column with more is not profiled.
pub const MAX_CATEGORIES: usize = 1000;

/// The reference profile of one model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    pub format: String,
    /// Where the reference data came from.
    pub source: String,
    pub rows: u64,
    pub exact_cap: usize,
    pub bins: usize,
    /// Model inputs, `__prediction__`, and the reference's other columns.
    pub features: BTreeMap<String, ColumnProfile>,
    /// Columns of the reference left out, with the reason.
    #[serde(default)]
    pub skipped: BTreeMap<String, String>,
}

/// How a column is compared: numbers (PSI, KS, Wasserstein) or categories (chi-square, JS, PSI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Numeric,
    Categorical,
}

/// The profile of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ColumnProfile {
    Numeric(NumericProfile),
    Categorical(CategoricalProfile),
}

impl ColumnProfile {
    pub fn kind(&self) -> ColumnKind {
        match self {
            ColumnProfile::Numeric(_) => ColumnKind::Numeric,
            ColumnProfile::Categorical(_) => ColumnKind::Categorical,
        }
    }

    pub fn null_rate(&self) -> f64 {
        match self {
            ColumnProfile::Numeric(n) => n.null_rate,
            ColumnProfile::Categorical(c) => c.null_rate,
        }
    }
}

/// Category frequencies of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Non-null values.
    pub count: u64,
    pub nulls: u64,
    pub null_rate: f64,
    pub categories: BTreeMap<String, u64>,
}

/// Summary and exact values of one numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Values that are neither null nor NaN.
    pub count: u64,
    /// Null or NaN values.
    pub nulls: u64,
    pub null_rate: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation (ddof = 0).
    pub std: Option<f64>,
    /// Inner PSI edges: type-7 quantiles of the reference at 1/bins … (bins-1)/bins, ties merged.
    pub edges: Vec<f64>,
    /// Reference counts per PSI bin `(e[i-1], e[i]]`.
    pub bin_counts: Vec<u64>,
    /// True when `values` is a uniform sample rather than every value.
    pub sampled: bool,
    /// Sorted values (exact up to the cap). Stored apart from the JSON summary.
    #[serde(skip)]
    pub values: Vec<f64>,
}
