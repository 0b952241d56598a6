//! What drift computes: metric kinds, alert thresholds and computed metrics.

use serde::{Deserialize, Serialize};

use super::profile::DEFAULT_BINS;

/// A drift metric, as a spec names it and `drift_metrics.metric` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Population stability index over the reference's quantile bins (numeric) or categories.
    Psi,
    /// Two-sample Kolmogorov-Smirnov statistic and p-value.
    Ks,
    /// Wasserstein-1 distance.
    Wasserstein,
    /// Wasserstein-1 divided by the reference standard deviation (written with `wasserstein`).
    WassersteinNorm,
    /// Chi-square test of a categorical column's frequencies.
    Chi2,
    /// Jensen-Shannon distance (base 2) of a categorical column's frequencies.
    Js,
    /// Change of the null rate (current minus reference).
    NullRate,
}

impl MetricKind {
    /// The metrics a spec may ask for (`wasserstein_norm` comes with `wasserstein`).
    pub const SELECTABLE: [MetricKind; 6] = [
        MetricKind::Psi,
        MetricKind::Ks,
        MetricKind::Wasserstein,
        MetricKind::Chi2,
        MetricKind::Js,
        MetricKind::NullRate,
    ];

    /// The metrics a run computes when its spec names none: every selectable
    /// one but Wasserstein. Wasserstein needs the window's values themselves
    /// (a sample of up to the profile's cap per feature, about 8 MB each) and
    /// a sort of them, where every other metric is exact from counts bounded
    /// by the reference; it costs more than all the others together, so a
    /// spec asks for it by name.
    pub const DEFAULT: [MetricKind; 5] = [
        MetricKind::Psi,
        MetricKind::Ks,
        MetricKind::Chi2,
        MetricKind::Js,
        MetricKind::NullRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Psi => "psi",
            MetricKind::Ks => "ks",
            MetricKind::Wasserstein => "wasserstein",
            MetricKind::WassersteinNorm => "wasserstein_norm",
            MetricKind::Chi2 => "chi2",
            MetricKind::Js => "js",
            MetricKind::NullRate => "null_rate",
        }
    }
}

impl std::fmt::Display for MetricKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for MetricKind {
    type Err = String;
    /// A selectable metric by name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricKind::SELECTABLE
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = MetricKind::SELECTABLE.iter().map(|m| m.as_str()).collect();
                format!(
                    "unknown drift metric {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Per-metric alert thresholds (see the spec's `[drift]` table).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// The metrics to compute (default: every selectable one).
    pub metrics: Vec<MetricKind>,
    /// PSI bins (quantiles of the reference); default 10.
    pub psi_bins: usize,
    pub psi_alert: f64,
    pub ks_pvalue_alert: f64,
    /// Alert when Wasserstein-1 divided by the reference standard deviation exceeds this.
    pub wasserstein_alert: Option<f64>,
    /// Alert when the null rate moves by more than this (absolute).
    pub null_rate_alert: f64,
    /// Alert when the chi-square p-value of a categorical column falls below this.
    pub chi2_pvalue_alert: f64,
    /// Alert when the Jensen–Shannon distance (base 2) of a categorical column exceeds this.
    pub js_alert: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            metrics: MetricKind::DEFAULT.to_vec(),
            psi_bins: DEFAULT_BINS,
            psi_alert: 0.2,
            ks_pvalue_alert: 0.01,
            wasserstein_alert: None,
            null_rate_alert: 0.05,
            chi2_pvalue_alert: 0.01,
            js_alert: 0.1,
        }
    }
}

/// One computed metric.
/// One column's distribution over the bins drift compares: the PSI bins of
/// a numeric column (right-closed, `lower` exclusive and `upper` inclusive,
/// open-ended at both ends), or a categorical column's categories (the
/// reference's, then those seen only now). Nulls are not binned (the
/// null-rate metric covers them). Persisted per run so a report can draw
/// reference against current for any date.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub feature: String,
    pub bins: Vec<HistogramBin>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistogramBin {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub category: Option<String>,
    pub reference: u64,
    pub current: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub feature: String,
    pub metric: MetricKind,
    /// None when the metric cannot be computed (an empty window or reference).
    pub value: Option<f64>,
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
    pub alert: bool,
    pub n_reference: u64,
    pub n_current: u64,
}
