//! Models: one module per flavor behind one scoring trait.
//!
//! A model is loaded from its artifact bytes ([`load`]) and scores a
//! column-major [`FeatureMatrix`] of `f64` (missing values are NaN; a
//! categorical input holds its category code) into one prediction per row,
//! plus one probability per class for multiclass models. Each flavor
//! reproduces its training library's arithmetic (XGBoost compares and sums in
//! `f32`, LightGBM in `f64`; see [`forest`]). No IO here.

pub mod forest;
pub mod lightgbm;
pub mod linear;
pub mod mlmodel;
pub mod onnx;
mod ubjson;
pub mod xgboost;

pub use lakescore_core::Flavor;
use lakescore_core::{Classify, ErrorClass};

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

impl Classify for ModelError {
    /// A model that does not parse or uses what lakescore cannot score is bad input.
    fn class(&self) -> ErrorClass {
        ErrorClass::BadInput
    }
}

/// Rows to score, column-major, one column per model feature in the model's order.
#[derive(Debug, Clone, Default)]
pub struct FeatureMatrix {
    pub rows: usize,
    pub columns: Vec<Vec<f64>>,
}

/// A batch's predictions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predictions {
    /// One per row: the prediction, or the predicted class for multiclass models.
    pub prediction: Vec<f64>,
    /// Multiclass models: one column per class (`probabilities[c][row]`); else empty.
    pub probabilities: Vec<Vec<f64>>,
}

/// A loaded model.
pub trait Model: Send + Sync {
    fn flavor(&self) -> Flavor;
    /// Input columns, in the order [`FeatureMatrix::columns`] must follow.
    fn features(&self) -> &[String];
    /// Which inputs are categorical (their matrix column holds category codes).
    fn categorical(&self) -> Vec<bool> {
        vec![false; self.features().len()]
    }
    /// For categorical inputs whose categories the model file records (in code
    /// order), those names: an input string maps to its position.
    fn categories(&self) -> Vec<Option<Vec<String>>> {
        vec![None; self.features().len()]
    }
    /// Number of classes of a multiclass model; 0 for single-output models.
    fn classes(&self) -> usize {
        0
    }
    /// Predictions of every row (NaN where the model gives none, e.g. a linear
    /// model with a missing input, which the output table stores as null).
    fn predict_all(&self, x: &FeatureMatrix) -> Predictions;
    /// The prediction column only.
    fn predict(&self, x: &FeatureMatrix) -> Vec<f64> {
        self.predict_all(x).prediction
    }
    /// A one-line description (objective, trees, link) for listings.
    fn describe(&self) -> String;
    /// The input signature: (column, type) in feature order: `double` for
    /// numeric inputs, `string` for categorical ones.
    fn signature(&self) -> Vec<(String, String)> {
        let cat = self.categorical();
        self.features()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let ty = if cat.get(i).copied().unwrap_or(false) {
                    "string"
                } else {
                    "double"
                };
                (f.clone(), ty.to_string())
            })
            .collect()
    }
    /// Output columns besides `prediction`: `prob_0` … `prob_{k-1}` for k classes.
    fn output_columns(&self) -> Vec<String> {
        (0..self.classes()).map(|c| format!("prob_{c}")).collect()
    }
}

/// The one-line summary of a tree model: `"{head}, {size}[, k classes], n features[ (c categorical)]"`.
pub(crate) fn summary(head: &str, size: &str, outputs: usize, categorical: &[bool]) -> String {
    let classes = if outputs > 1 {
        format!(", {outputs} classes")
    } else {
        String::new()
    };
    let cats = categorical.iter().filter(|c| **c).count();
    let cats = if cats > 0 {
        format!(" ({cats} categorical)")
    } else {
        String::new()
    };
    format!(
        "{head}, {size}{classes}, {} features{cats}",
        categorical.len()
    )
}

/// Multiclass predictions from row-major margins (`k` per row): the class
/// (arg-max of `class_of`'s input) and the probabilities `probabilities` gives.
pub(crate) fn multiclass(
    margins: &[f64],
    k: usize,
    probabilities: impl Fn(&[f64]) -> Vec<f64>,
    argmax_of_probabilities: bool,
) -> Predictions {
    let rows = margins.len() / k.max(1);
    let mut columns = vec![Vec::with_capacity(rows); k];
    let mut prediction = Vec::with_capacity(rows);
    for row in margins.chunks(k) {
        let p = probabilities(row);
        let class = if argmax_of_probabilities {
            xgboost::argmax(&p)
        } else {
            xgboost::argmax(row)
        };
        prediction.push(class as f64);
        for (c, v) in p.into_iter().enumerate() {
            columns[c].push(v);
        }
    }
    Predictions {
        prediction,
        probabilities: columns,
    }
}

/// Load a model of `flavor` from artifact `bytes`; `source_name` is used in errors.
pub fn load(flavor: Flavor, bytes: &[u8], source_name: &str) -> Result<Box<dyn Model>, ModelError> {
    load_named(flavor, bytes, source_name, None)
}

/// [`load`], with the names of the input columns where the artifact cannot
/// carry them (an ONNX model's `[N, k]` input tensor).
pub fn load_named(
    flavor: Flavor,
    bytes: &[u8],
    source_name: &str,
    names: Option<&[String]>,
) -> Result<Box<dyn Model>, ModelError> {
    match flavor {
        Flavor::Onnx => Ok(Box::new(onnx::OnnxModel::from_bytes(
            bytes,
            source_name,
            names,
        )?)),
        Flavor::Xgboost => Ok(Box::new(xgboost::XgbModel::from_bytes(bytes, source_name)?)),
        Flavor::Lightgbm => Ok(Box::new(lightgbm::LgbModel::from_text(bytes, source_name)?)),
        Flavor::Linear => Ok(Box::new(linear::LinearModel::from_json(
            bytes,
            source_name,
        )?)),
    }
}
