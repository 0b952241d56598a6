//! Models: one module per flavor behind one scoring trait.
//!
//! A model is loaded from its artifact bytes ([`load`]) and scores a
//! column-major [`FeatureMatrix`] of `f64` (missing values are NaN) into one
//! `f64` per row. Each flavor reproduces its training library's arithmetic
//! (XGBoost compares and sums in `f32`; linear models work in `f64`). No IO here.

#[cfg(test)]
mod conformance;
pub mod linear;
pub mod xgboost;

use std::fmt;
use std::str::FromStr;

/// Model flavors lakescore can score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    Xgboost,
    Linear,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Xgboost => "xgboost",
            Flavor::Linear => "linear",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "xgboost" => Ok(Flavor::Xgboost),
            "linear" => Ok(Flavor::Linear),
            other => Err(format!(
                "unknown model flavor {other:?} (expected xgboost or linear)"
            )),
        }
    }
}

/// Errors loading a model artifact. `source` names the artifact (path or lake URI).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model artifact {source_name} is not a valid {flavor} model: {message}")]
    Parse {
        source_name: String,
        flavor: Flavor,
        message: String,
    },
    #[error("model artifact {source_name}: {flavor} {what} is not supported yet")]
    Unsupported {
        source_name: String,
        flavor: Flavor,
        what: String,
    },
}

/// Rows to score, column-major, one column per model feature in the model's order.
#[derive(Debug, Clone, Default)]
pub struct FeatureMatrix {
    pub rows: usize,
    pub columns: Vec<Vec<f64>>,
}

/// A loaded model.
pub trait Model: Send + Sync {
    fn flavor(&self) -> Flavor;
    /// Input columns, in the order [`FeatureMatrix::columns`] must follow.
    fn features(&self) -> &[String];
    /// One prediction per row; NaN where the model gives none (e.g. a linear
    /// model with a missing input), which the output table stores as null.
    fn predict(&self, x: &FeatureMatrix) -> Vec<f64>;
    /// A one-line description (objective, trees, link) for listings.
    fn describe(&self) -> String;
    /// The input signature: (column, type) in feature order. Every flavor so
    /// far reads numbers, which it takes as `double`.
    fn signature(&self) -> Vec<(String, String)> {
        self.features()
            .iter()
            .map(|f| (f.clone(), "double".to_string()))
            .collect()
    }
}

/// Load a model of `flavor` from artifact `bytes`; `source_name` is used in errors.
pub fn load(flavor: Flavor, bytes: &[u8], source_name: &str) -> Result<Box<dyn Model>, ModelError> {
    match flavor {
        Flavor::Xgboost => Ok(Box::new(xgboost::XgbModel::from_json(bytes, source_name)?)),
        Flavor::Linear => Ok(Box::new(linear::LinearModel::from_json(
            bytes,
            source_name,
        )?)),
    }
}
