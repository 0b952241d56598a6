//! ONNX models (scikit-learn exported with skl2onnx, or any ONNX graph) run by
//! tract, a pure-Rust runtime.
//!
//! Inputs: one float tensor `[N, k]` whose columns are named at registration
//! (an MLflow column signature, or `--features`), or one `[N, 1]`/`[N]` input
//! per column, named by the graph. Outputs: a regression output (the first
//! float output), or a classifier's `probabilities` `[N, C]` (export with
//! `zipmap=False`): the probability of class 1 for two classes, else the
//! arg-max class and one probability column per class. An operator tract does
//! not implement is refused when the model is loaded, naming it.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::{FeatureMatrix, Flavor, Model, ModelError, Predictions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One `[N, k]` float tensor.
    Matrix,
    /// One `[N, 1]` (or `[N]`) float tensor per column.
    Columns { rank: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Regression(usize),
    /// `probabilities` output index and number of classes.
    Classifier(usize, usize),
}

pub struct OnnxModel {
    features: Vec<String>,
    plan: Arc<TypedRunnableModel>,
    layout: Layout,
    output: Output,
    summary: String,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("features", &self.features)
            .field("layout", &self.layout)
            .field("output", &self.output)
            .finish()
    }
}

impl OnnxModel {
    /// Load `bytes`; `names` name the columns of a single `[N, k]` input.
    pub fn from_bytes(
        bytes: &[u8],
        source_name: &str,
        names: Option<&[String]>,
    ) -> Result<Self, ModelError> {
        let err = |message: String| ModelError::Parse {
            source_name: source_name.to_string(),
            flavor: Flavor::Onnx,
            message,
        };
        let unsupported = |what: String| ModelError::Unsupported {
            source_name: source_name.to_string(),
            flavor: Flavor::Onnx,
            what,
        };
        let onnx = onnx();
        let proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| err(format!("{e:#}")))?;
        let metadata_names: Option<Vec<String>> = proto
            .metadata_props
            .iter()
            .find(|p| p.key == "feature_names")
            .map(|p| p.value.split(',').map(|s| s.trim().to_string()).collect());
        let mut model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| err(format!("{e:#}")))?;
        let missing: Vec<String> = model
            .nodes()
            .iter()
            .filter_map(|n| {
                let name = n.op.name();
                name.strip_prefix("Unimplemented(")
                    .and_then(|r| r.strip_suffix(')'))
                    .map(String::from)
            })
            .collect();
        if !missing.is_empty() {
            return Err(unsupported(format!(
                "operator {} (tract, lakescore's ONNX runtime, does not implement it; \
                 for a StandardScaler export with skl2onnx's options={{StandardScaler: {{\"div\": \"div\"}}}})",
                missing.join(", ")
            )));
        }
        let inputs = model.inputs.len();
        let input_names: Vec<String> = model
            .inputs
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let n = model.sym("N");
        let (layout, features) = if inputs == 1 {
            // [N, k]: k from the declared shape.
            let fact = model
                .input_fact(0)
                .map_err(|e| err(format!("{e:#}")))?
                .clone();
            let k = fact
                .shape
                .dims()
                .nth(1)
                .and_then(tract_onnx::tract_hir::infer::Factoid::concretize)
                .and_then(|d| d.to_i64().ok())
                .ok_or_else(|| err("the input is not a [N, k] tensor with a known k".into()))?
                as usize;
            let features = match names.map(<[String]>::to_vec).or(metadata_names) {
                Some(f) if f.len() == k => f,
                Some(f) => {
                    return Err(err(format!(
                        "{} column names given for an input of {k} columns",
                        f.len()
                    )));
                }
                None if k == 1 => vec![input_names[0].clone()],
                None => {
                    return Err(err(format!(
                        "the input tensor has {k} columns but no names: register it from an MLflow \
                         directory with a column signature, or name them with --features"
                    )));
                }
            };
            model
                .set_input_fact(0, f32::fact([TDim::from(n.clone()), TDim::from(k)]).into())
                .map_err(|e| err(format!("{e:#}")))?;
            (Layout::Matrix, features)
        } else {
            for i in 0..inputs {
                model
                    .set_input_fact(i, f32::fact([TDim::from(n.clone()), TDim::from(1)]).into())
                    .map_err(|e| err(format!("{e:#}")))?;
            }
            (Layout::Columns { rank: 2 }, input_names)
        };
        let typed = model.into_optimized().map_err(|e| err(format!("{e:#}")))?;
        // Output names as the graph declares them (optimization renames nodes, keeps the order).
        let declared: Vec<String> = proto
            .graph
            .as_ref()
            .map(|g| g.output.iter().map(|o| o.name.clone()).collect())
            .unwrap_or_default();
        let outputs: Vec<(String, TypedFact)> = typed
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let name = declared.get(i).cloned().unwrap_or_default();
                (
                    name,
                    typed
                        .outlet_fact(*o)
                        .cloned()
                        .unwrap_or_else(|_| f32::fact([0usize])),
                )
            })
            .collect();
        let output = if let Some(i) = outputs.iter().position(|(name, f)| {
            name.contains("probabilities") && f.datum_type == f32::datum_type()
        }) {
            let classes = outputs[i]
                .1
                .shape
                .dims()
                .get(1)
                .and_then(|d| d.to_i64().ok())
                .ok_or_else(|| err("the probabilities output has no known class count".into()))?;
            Output::Classifier(i, classes as usize)
        } else {
            let i = outputs
                .iter()
                .position(|(_, f)| {
                    f.datum_type == f32::datum_type() || f.datum_type == f64::datum_type()
                })
                .ok_or_else(|| err("no float output".into()))?;
            // One value per row: [N] or [N, 1].
            let per_row = outputs[i]
                .1
                .shape
                .dims()
                .iter()
                .skip(1)
                .all(|d| d.to_i64().ok() == Some(1));
            if !per_row {
                return Err(err(format!(
                    "output {:?} has shape {:?}: expected one value per row, or a classifier's \
                     \"probabilities\" (export with zipmap=False)",
                    outputs[i].0, outputs[i].1.shape
                )));
            }
            Output::Regression(i)
        };
        let plan = typed.into_runnable().map_err(|e| err(format!("{e:#}")))?;
        let ops: std::collections::BTreeSet<String> = proto
            .graph
            .as_ref()
            .map(|g| g.node.iter().map(|n| n.op_type.clone()).collect())
            .unwrap_or_default();
        let summary = format!(
            "onnx {}, {} features ({})",
            match output {
                Output::Regression(_) => "regression".to_string(),
                Output::Classifier(_, c) => format!("classifier, {c} classes"),
            },
            features.len(),
            ops.into_iter().collect::<Vec<_>>().join(", ")
        );
        Ok(OnnxModel {
            features,
            plan,
            layout,
            output,
            summary,
        })
    }

    fn run(&self, x: &FeatureMatrix) -> TractResult<TVec<TValue>> {
        let rows = x.rows;
        let inputs: TVec<TValue> = match self.layout {
            Layout::Matrix => {
                let k = x.columns.len();
                let mut data = Vec::with_capacity(rows * k);
                for r in 0..rows {
                    for c in &x.columns {
                        data.push(c[r] as f32);
                    }
                }
                tvec!(
                    tract_ndarray::Array2::from_shape_vec((rows, k), data)?
                        .into_tensor()
                        .into()
                )
            }
            Layout::Columns { .. } => x
                .columns
                .iter()
                .map(|c| {
                    let v: Vec<f32> = c.iter().map(|v| *v as f32).collect();
                    tract_ndarray::Array2::from_shape_vec((rows, 1), v)
                        .map(|a| a.into_tensor().into())
                        .map_err(Into::into)
                })
                .collect::<TractResult<_>>()?,
        };
        self.plan.run(inputs)
    }
}

impl Model for OnnxModel {
    fn flavor(&self) -> Flavor {
        Flavor::Onnx
    }

    fn features(&self) -> &[String] {
        &self.features
    }

    fn classes(&self) -> usize {
        match self.output {
            Output::Classifier(_, c) if c > 2 => c,
            _ => 0,
        }
    }

    fn predict_all(&self, x: &FeatureMatrix) -> Predictions {
        if x.rows == 0 {
            return Predictions::default();
        }
        let outputs = match self.run(x) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "onnx model failed on a batch");
                return Predictions {
                    prediction: vec![f64::NAN; x.rows],
                    probabilities: vec![vec![f64::NAN; x.rows]; self.classes()],
                };
            }
        };
        let as_f64 = |t: &TValue| -> Vec<f64> {
            t.cast_to::<f64>()
                .ok()
                .and_then(|c| {
                    c.to_plain_array_view::<f64>()
                        .ok()
                        .map(|v| v.iter().copied().collect())
                })
                .unwrap_or_default()
        };
        match self.output {
            Output::Regression(i) => Predictions {
                prediction: as_f64(&outputs[i]),
                probabilities: Vec::new(),
            },
            Output::Classifier(i, c) => {
                let p = as_f64(&outputs[i]);
                if c == 2 {
                    Predictions {
                        prediction: p.chunks(2).map(|r| r[1]).collect(),
                        probabilities: Vec::new(),
                    }
                } else {
                    super::multiclass(&p, c, <[f64]>::to_vec, true)
                }
            }
        }
    }

    fn describe(&self) -> String {
        self.summary.clone()
    }
}
