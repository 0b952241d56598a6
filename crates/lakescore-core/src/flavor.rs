//! Model flavors lakescore can score, as named in the registry and on the command line.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Model flavors lakescore can score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Xgboost,
    Lightgbm,
    Onnx,
    Linear,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Xgboost => "xgboost",
            Flavor::Lightgbm => "lightgbm",
            Flavor::Onnx => "onnx",
            Flavor::Linear => "linear",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "xgboost" => Ok(Flavor::Xgboost),
            "lightgbm" => Ok(Flavor::Lightgbm),
            "onnx" => Ok(Flavor::Onnx),
            "linear" => Ok(Flavor::Linear),
            other => Err(format!(
                "unknown model flavor {other:?} (expected xgboost, lightgbm, onnx or linear)"
            )),
        }
    }
}

impl Flavor {
    /// Every flavor, in the order help texts list them.
    pub const ALL: [Flavor; 4] = [
        Flavor::Xgboost,
        Flavor::Lightgbm,
        Flavor::Onnx,
        Flavor::Linear,
    ];
}

#[cfg(feature = "clap")]
impl clap::ValueEnum for Flavor {
    fn value_variants<'a>() -> &'a [Self] {
        &Flavor::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}
