//! XGBoost models: `Booster.save_model("m.json")`, `"m.ubj"` (UBJSON) and
//! MLflow's `model.xgb`, with the `gbtree`, `dart` and `gblinear` boosters.
//!
//! Semantics follow XGBoost's CPU predictor exactly (see [`super::forest`]):
//! inputs are cast to `f32`; a numeric split sends `x < threshold` left, NaN
//! follows `default_left`; a categorical split sends codes in its set right,
//! negative codes left; margins start at `link(base_score)` (`"5E-1"` of 1.x and
//! 2.x, `"[5E-1]"` or one value per class of 3.x) and add each tree's leaf in
//! `f32`, times its weight for `dart`; the objective's inverse link gives the
//! prediction (sigmoid, exp, softmax, or the arg-max class for `multi:softmax`).

use serde::Deserialize;

use super::forest::{self, Forest, Node, Precision, Split};
use super::{FeatureMatrix, Flavor, Model, ModelError, Predictions};

/// What turns margins into predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    Identity,
    Sigmoid,
    Exp,
    Hinge,
    Softmax,
    /// `multi:softmax`: the arg-max class (probabilities still softmax).
    SoftmaxClass,
}

#[derive(Debug, Clone)]
enum Booster {
    /// Boxed: a forest's header is large beside the linear booster's.
    Trees(Box<Forest>),
    /// `gblinear`: weight of feature `f` for output `g` at `f * outputs + g`.
    Linear {
        weights: Vec<f32>,
        bias: Vec<f32>,
        base: Vec<f32>,
    },
}

#[derive(Debug, Clone)]
pub struct XgbModel {
    features: Vec<String>,
    categorical: Vec<bool>,
    /// Category names recorded by XGBoost 3 (`model.cats.enc`), in code order.
    categories: Vec<Option<Vec<String>>>,
    transform: Transform,
    booster: Booster,
    outputs: usize,
    summary: String,
}

/// The parts of a saved model lakescore reads, deserialized straight from
/// the file's bytes (unknown fields, such as each tree's gain and hessian
/// arrays, are skipped unparsed): several times faster than building a
/// generic JSON tree first, on the path of every run's start.
#[derive(Deserialize)]
struct Document {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    #[serde(default)]
    feature_names: Vec<String>,
    #[serde(default)]
    feature_types: Vec<String>,
    gradient_booster: GradientBooster,
    learner_model_param: LearnerModelParam,
    objective: Objective,
}

/// `gbtree` (`model`), `dart` (an inner `gbtree` and `weight_drop`) or
/// `gblinear` (`model.weights`).
#[derive(Deserialize)]
struct GradientBooster {
    #[serde(default)]
    name: String,
    #[serde(default)]
    model: Option<BoosterModel>,
    #[serde(default)]
    gbtree: Option<Box<GradientBooster>>,
    #[serde(default)]
    weight_drop: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct BoosterModel {
    #[serde(default)]
    trees: Option<Vec<TreeJson>>,
    #[serde(default)]
    tree_info: Option<Vec<i64>>,
    #[serde(default)]
    weights: Option<Vec<f32>>,
    #[serde(default)]
    cats: Option<Cats>,
}

/// The categories XGBoost 3.1 and later record (3.0 and earlier write none).
#[derive(Deserialize)]
struct Cats {
    #[serde(default)]
    enc: Option<Vec<CategoryEncoding>>,
}

/// One feature's recorded categories. Names are UTF-8 bytes stored as
/// signed bytes in `values`, cut at `offsets` (both empty for a feature
/// without categories). Categories that are numbers (a pandas categorical of
/// integers or floats) come as `type` and `values` without `offsets`: kept
/// raw here (their element type varies) so that they can be refused by name.
#[derive(Deserialize)]
struct CategoryEncoding {
    #[serde(default)]
    offsets: Option<Vec<usize>>,
    #[serde(default)]
    values: serde_json::Value,
}

#[derive(Deserialize)]
struct LearnerModelParam {
    base_score: String,
    #[serde(default)]
    num_class: Option<String>,
    #[serde(default)]
    num_feature: Option<String>,
    #[serde(default)]
    num_target: Option<String>,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct TreeJson {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<i64>,
    split_conditions: Vec<f32>,
    default_left: Vec<Flag>,
    #[serde(default)]
    split_type: Vec<i64>,
    #[serde(default)]
    categories: Vec<i64>,
    #[serde(default)]
    categories_nodes: Vec<i64>,
    #[serde(default)]
    categories_segments: Vec<i64>,
    #[serde(default)]
    categories_sizes: Vec<i64>,
}

/// `default_left`: `true`/`false`, or `1`/`0` (older versions, UBJSON).
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Flag;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean or an integer")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Flag, E> {
                Ok(Flag(v == 1))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Flag, E> {
                Ok(Flag(v == 1))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Parse XGBoost's `base_score`: `"5E-1"` (1.x, 2.x) or `"[5E-1]"` / `"[a,b,c]"` (3.x).
pub fn parse_base_score(s: &str) -> Result<Vec<f64>, String> {
    let t = s.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    let values: Result<Vec<f64>, _> = inner
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::parse::<f64>)
        .collect();
    match values {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(format!("base_score {s:?} is empty")),
        Err(_) => Err(format!("base_score {s:?} is not a number")),
    }
}

/// Turns `base_score` into the base margin.
type ToMargin = fn(f64) -> Result<f64, String>;

/// The inverse link and the base-score-to-margin function of an objective.
fn transform_for(objective: &str) -> Option<(Transform, ToMargin)> {
    fn logit(p: f64) -> Result<f64, String> {
        if p > 0.0 && p < 1.0 {
            Ok(f64::from(-((1.0 / p as f32) - 1.0).ln()))
        } else {
            Err(format!("base_score {p} must be in (0, 1)"))
        }
    }
    fn ln(p: f64) -> Result<f64, String> {
        if p > 0.0 {
            Ok(f64::from((p as f32).ln()))
        } else {
            Err(format!("base_score {p} must be positive"))
        }
    }
    fn id(p: f64) -> Result<f64, String> {
        Ok(p)
    }
    Some(match objective {
        "binary:logistic" | "reg:logistic" => (Transform::Sigmoid, logit),
        // XGBoost 3 starts logitraw margins at base_score itself.
        "binary:logitraw" => (Transform::Identity, id),
        "binary:hinge" => (Transform::Hinge, id),
        "reg:squarederror"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "reg:linear" => (Transform::Identity, id),
        "count:poisson" | "reg:gamma" | "reg:tweedie" => (Transform::Exp, ln),
        "multi:softprob" => (Transform::Softmax, id),
        "multi:softmax" => (Transform::SoftmaxClass, id),
        o if o.starts_with("rank:") => (Transform::Identity, id),
        _ => return None,
    })
}

/// JSON or UBJSON, by the first bytes.
fn document(bytes: &[u8]) -> Result<Document, String> {
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let json = match first {
        Some(i) if bytes[i] == b'{' => bytes[i + 1..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_none_or(|b| *b == b'"' || *b == b'}'),
        _ => false,
    };
    if json {
        serde_json::from_slice(bytes).map_err(|e| {
            located(
                &mut serde_json::Deserializer::from_slice(bytes),
                e.to_string(),
            )
        })
    } else if bytes.first() == Some(&b'{') {
        let value = super::ubjson::parse(bytes).map_err(|e| format!("UBJSON: {e}"))?;
        Document::deserialize(&value).map_err(|e| located(&value, e.to_string()))
    } else {
        Err("neither JSON nor UBJSON (does not start with '{')".into())
    }
}

/// A document that did not deserialize (with error `plain`), read again
/// through `de` tracking where it fails, so that the error names the place
/// (`learner.gradient_booster.model.trees[3].default_left[2]: ...`) without
/// slowing down every good load; `plain` when the second read passes (the
/// first failed after the document, on trailing characters).
fn located<'de, D: serde::Deserializer<'de>>(de: D, plain: String) -> String {
    match serde_path_to_error::deserialize::<_, Document>(de) {
        Err(e) => e.to_string(),
        Ok(_) => plain,
    }
}

fn number(param: &Option<String>, default: &str, what: &str) -> Result<i64, String> {
    param
        .as_deref()
        .unwrap_or(default)
        .parse()
        .map_err(|_| format!("{what} is not a number"))
}

impl XgbModel {
    /// Load a JSON or UBJSON model.
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<Self, ModelError> {
        let err = |message: String| ModelError::Parse {
            source_name: source_name.to_string(),
            flavor: Flavor::Xgboost,
            message,
        };
        let unsupported = |what: String| ModelError::Unsupported {
            source_name: source_name.to_string(),
            flavor: Flavor::Xgboost,
            what,
        };
        let learner = document(bytes).map_err(err)?.learner;
        let objective = learner.objective.name.clone();
        let (transform, to_margin) = transform_for(&objective)
            .ok_or_else(|| unsupported(format!("objective {objective:?}")))?;
        let p = &learner.learner_model_param;
        let num_class = number(&p.num_class, "0", "num_class").map_err(err)?;
        let num_target = number(&p.num_target, "1", "num_target").map_err(err)?;
        if num_target > 1 {
            return Err(unsupported(format!("multi-target ({num_target} targets)")));
        }
        let num_feature = number(&p.num_feature, "0", "num_feature").map_err(err)? as usize;
        let outputs = num_class.max(1) as usize;
        if outputs > forest::MAX_OUTPUTS {
            return Err(err(format!(
                "num_class {num_class}: lakescore supports up to {} classes",
                forest::MAX_OUTPUTS
            )));
        }
        let multiclass = matches!(transform, Transform::Softmax | Transform::SoftmaxClass);
        if multiclass != (outputs > 1) {
            return Err(err(format!(
                "objective {objective} with num_class {num_class}"
            )));
        }
        let scores = parse_base_score(&p.base_score).map_err(err)?;
        let base: Vec<f64> = match scores.len() {
            1 => vec![scores[0]; outputs],
            n if n == outputs => scores,
            n => {
                return Err(err(format!(
                    "base_score has {n} values for {outputs} outputs"
                )));
            }
        }
        .into_iter()
        .map(|b| to_margin(b).map(|m| f64::from(m as f32)))
        .collect::<Result<_, _>>()
        .map_err(|m| err(format!("{m} for {objective}")))?;

        let features = if learner.feature_names.is_empty() {
            (0..num_feature).map(|i| format!("f{i}")).collect()
        } else {
            learner.feature_names
        };
        if num_feature != 0 && features.len() != num_feature {
            return Err(err(format!(
                "{} feature names for num_feature {num_feature}",
                features.len()
            )));
        }
        let categorical: Vec<bool> = (0..features.len())
            .map(|i| learner.feature_types.get(i).is_some_and(|t| t == "c"))
            .collect();

        let gb = learner.gradient_booster;
        let tree_model = if gb.name == "dart" {
            gb.gbtree.as_ref().and_then(|inner| inner.model.as_ref())
        } else {
            gb.model.as_ref()
        };
        let categories = match tree_model.and_then(|m| m.cats.as_ref()?.enc.as_ref()) {
            Some(enc) => recorded_categories(enc, features.len()).map_err(err)?,
            None => vec![None; features.len()],
        };
        let (booster, kind) = match gb.name.as_str() {
            "gbtree" => (
                Booster::Trees(Box::new(
                    trees(&gb, &features, outputs, base.clone(), None).map_err(err)?,
                )),
                "trees",
            ),
            "dart" => {
                let inner = gb
                    .gbtree
                    .as_deref()
                    .ok_or_else(|| err("dart without \"gbtree\"".into()))?;
                let weights = gb.weight_drop.unwrap_or_default();
                (
                    Booster::Trees(Box::new(
                        trees(inner, &features, outputs, base.clone(), Some(weights))
                            .map_err(err)?,
                    )),
                    "dart trees",
                )
            }
            "gblinear" => {
                let w = gb
                    .model
                    .as_ref()
                    .and_then(|m| m.weights.as_ref())
                    .ok_or_else(|| err("gblinear without model.weights".into()))?;
                let nf = features.len();
                if w.len() != (nf + 1) * outputs {
                    return Err(err(format!(
                        "gblinear has {} weights, expected ({nf} features + 1) x {outputs}",
                        w.len()
                    )));
                }
                (
                    Booster::Linear {
                        bias: w[nf * outputs..].to_vec(),
                        weights: w[..nf * outputs].to_vec(),
                        base: base.iter().map(|b| *b as f32).collect(),
                    },
                    "linear",
                )
            }
            other => return Err(unsupported(format!("booster {other:?}"))),
        };
        let size = match &booster {
            Booster::Trees(f) => format!("{} {kind}", f.roots.len()),
            Booster::Linear { .. } => kind.to_string(),
        };
        let summary = super::summary(
            &format!("xgboost {objective}"),
            &size,
            outputs,
            &categorical,
        );
        Ok(Self {
            features,
            categorical,
            categories,
            transform,
            booster,
            outputs,
            summary,
        })
    }

    /// Margins, `rows × outputs` row-major.
    fn margins(&self, x: &FeatureMatrix) -> Vec<f64> {
        match &self.booster {
            Booster::Trees(f) => f.margins(x, forest::threads()),
            Booster::Linear {
                weights,
                bias,
                base,
            } => {
                let k = self.outputs;
                let mut out = vec![0.0; x.rows * k];
                for row in 0..x.rows {
                    for g in 0..k {
                        let mut m = base[g] + bias[g];
                        for (f, col) in x.columns.iter().enumerate() {
                            let v = col[row];
                            if !v.is_nan() {
                                m += v as f32 * weights[f * k + g];
                            }
                        }
                        out[row * k + g] = f64::from(m);
                    }
                }
                out
            }
        }
    }
}

/// The category names of each feature (`cats.enc[f]`: UTF-8 bytes, stored as
/// signed bytes, cut at `offsets`); `None` for features without categories.
fn recorded_categories(
    list: &[CategoryEncoding],
    n: usize,
) -> Result<Vec<Option<Vec<String>>>, String> {
    if list.is_empty() {
        return Ok(vec![None; n]); // no categorical features
    }
    if list.len() != n {
        return Err(format!(
            "cats.enc has {} entries for {n} features",
            list.len()
        ));
    }
    list.iter()
        .enumerate()
        .map(|(f, e)| {
            let Some(offsets) = &e.offsets else {
                return Err(format!(
                    "cats.enc[{f}]: the feature's categories are numbers, not strings; \
                     lakescore reads categories recorded as strings only"
                ));
            };
            if offsets.is_empty() {
                return Ok(None);
            }
            let values = Vec::<i64>::deserialize(&e.values)
                .map_err(|err| format!("cats.enc[{f}].values: {err}"))?;
            let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
            let names = offsets
                .windows(2)
                .map(|w| {
                    let part = bytes
                        .get(w[0]..w[1])
                        .ok_or(format!("cats.enc[{f}]: offsets out of range"))?;
                    String::from_utf8(part.to_vec())
                        .map_err(|_| format!("cats.enc[{f}]: a category is not UTF-8"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(names))
        })
        .collect()
}

/// Compile a `gbtree` model object into a forest.
fn trees(
    gb: &GradientBooster,
    features: &[String],
    outputs: usize,
    base: Vec<f64>,
    weights: Option<Vec<f64>>,
) -> Result<Forest, String> {
    let model = gb.model.as_ref().ok_or("no gradient_booster.model")?;
    let trees = model.trees.as_deref().ok_or("no model.trees")?;
    let tree_info = match &model.tree_info {
        Some(info) => info.clone(),
        None => vec![0; trees.len()],
    };
    if tree_info.len() != trees.len() {
        return Err(format!(
            "{} trees but {} tree_info entries",
            trees.len(),
            tree_info.len()
        ));
    }
    if let Some(w) = &weights
        && w.len() != trees.len()
    {
        return Err(format!(
            "{} trees but {} dart weights",
            trees.len(),
            w.len()
        ));
    }
    let mut forest = Forest::new(outputs, features.len(), Precision::F32, base);
    forest.tree_weight = weights;
    for (t, tree) in trees.iter().enumerate() {
        let n = tree.left_children.len();
        let lens = [
            tree.right_children.len(),
            tree.split_indices.len(),
            tree.split_conditions.len(),
            tree.default_left.len(),
        ];
        if n == 0 || lens.iter().any(|&l| l != n) {
            return Err(format!("tree {t}: node arrays have different lengths"));
        }
        if !tree.split_type.is_empty() && tree.split_type.len() != n {
            return Err(format!("tree {t}: split_type has the wrong length"));
        }
        let group = tree_info[t];
        if group < 0 || group as usize >= outputs {
            return Err(format!("tree {t}: output group {group} out of range"));
        }
        // Category sets of this tree's categorical nodes.
        let mut node_cats = std::collections::HashMap::new();
        for (k, &node) in tree.categories_nodes.iter().enumerate() {
            let (Some(&seg), Some(&size)) = (
                tree.categories_segments.get(k),
                tree.categories_sizes.get(k),
            ) else {
                return Err(format!(
                    "tree {t}: categories arrays have different lengths"
                ));
            };
            let codes = tree
                .categories
                .get(seg.max(0) as usize..(seg + size).max(0) as usize)
                .ok_or(format!("tree {t}: category segment out of range"))?;
            forest
                .cat_sets
                .push(forest::bitset(codes.iter().map(|&c| c.max(0) as u32)));
            node_cats.insert(node, (forest.cat_sets.len() - 1) as u32);
        }
        let base_idx = forest.nodes.len() as u32;
        forest.roots.push(base_idx);
        forest.tree_output.push(group as u32);
        for i in 0..n {
            let (l, r) = (tree.left_children[i], tree.right_children[i]);
            let value = f64::from(tree.split_conditions[i]);
            if l == -1 {
                forest.nodes.push(Node::leaf(value));
                continue;
            }
            let ok = |c: i64| c > 0 && (c as usize) < n;
            if !ok(l) || !ok(r) {
                return Err(format!("tree {t} node {i}: child index out of range"));
            }
            let f = tree.split_indices[i];
            if f < 0 || f as usize >= features.len() {
                return Err(format!(
                    "tree {t} node {i}: split on feature {f}, but the model has {} features",
                    features.len()
                ));
            }
            let default_left = tree.default_left[i].0;
            let categorical = tree.split_type.get(i).copied().unwrap_or(0) == 1;
            let cat_set = if categorical {
                *node_cats.get(&(i as i64)).ok_or(format!(
                    "tree {t} node {i}: categorical split without categories"
                ))?
            } else {
                0
            };
            forest.nodes.push(Node {
                value,
                left: base_idx + l as u32,
                right: base_idx + r as u32,
                feature: f as u32,
                split: if categorical {
                    Split::CatMemberRight
                } else {
                    Split::NumNanDefault
                },
                default_left,
                cat_set,
            });
        }
    }
    forest.validate()?;
    Ok(forest)
}

/// XGBoost's sigmoid, in `f32`: `1 / (exp(min(-m, 88.7)) + 1)`.
fn sigmoid(m: f64) -> f64 {
    let m = m as f32;
    f64::from(1.0f32 / ((-m).min(88.7).exp() + 1.0))
}

/// XGBoost's softmax: `f32` exponentials of `m - max`, summed in `f64`,
/// divided in `f32`.
fn softmax_f32(m: &[f64]) -> Vec<f64> {
    let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max) as f32;
    let e: Vec<f32> = m.iter().map(|v| (*v as f32 - max).exp()).collect();
    let sum = e.iter().map(|v| f64::from(*v)).sum::<f64>() as f32;
    e.into_iter().map(|v| f64::from(v / sum)).collect()
}

/// Softmax of one row's margins in `f64` (max subtracted), as LightGBM computes it.
pub(crate) fn softmax(m: &[f64]) -> Vec<f64> {
    let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = m.iter().map(|v| (v - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Index of the largest value (the first on ties, as `argmax`).
pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

impl Model for XgbModel {
    fn flavor(&self) -> Flavor {
        Flavor::Xgboost
    }

    fn features(&self) -> &[String] {
        &self.features
    }

    fn categorical(&self) -> Vec<bool> {
        self.categorical.clone()
    }

    fn categories(&self) -> Vec<Option<Vec<String>>> {
        self.categories.clone()
    }

    fn classes(&self) -> usize {
        if self.outputs > 1 { self.outputs } else { 0 }
    }

    fn predict_all(&self, x: &FeatureMatrix) -> Predictions {
        let margins = self.margins(x);
        let k = self.outputs;
        if k == 1 {
            let prediction = margins
                .into_iter()
                .map(|m| match self.transform {
                    Transform::Identity => m,
                    Transform::Sigmoid => sigmoid(m),
                    Transform::Exp => f64::from((m as f32).exp()),
                    Transform::Hinge => {
                        if m > 0.0 {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Transform::Softmax | Transform::SoftmaxClass => m,
                })
                .collect();
            return Predictions {
                prediction,
                probabilities: Vec::new(),
            };
        }
        super::multiclass(&margins, k, softmax_f32, false)
    }

    fn describe(&self) -> String {
        self.summary.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_score_forms_of_every_version() {
        assert_eq!(parse_base_score("5E-1").unwrap(), vec![0.5]);
        assert_eq!(parse_base_score("[4.99E-1]").unwrap(), vec![0.499]);
        assert_eq!(
            parse_base_score(" [1.2369148E1] ").unwrap(),
            vec![12.369148]
        );
        assert_eq!(parse_base_score("[1E0,2E0]").unwrap(), vec![1.0, 2.0]);
        assert!(parse_base_score("abc").is_err());
        assert!(parse_base_score("[]").is_err());
    }

    #[test]
    fn truncated_models_are_rejected() {
        let full = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/xgboost/binary_logistic.json"
        ))
        .unwrap();
        assert!(XgbModel::from_bytes(&full, "m").is_ok());
        let cut = &full[..full.len() / 2];
        let e = XgbModel::from_bytes(cut, "m.json").unwrap_err();
        assert!(e.to_string().contains("m.json"), "{e}");
        assert!(XgbModel::from_bytes(b"garbage", "g.ubj").is_err());
    }

    /// A one-split regression tree whose NaN branch is `default_left`,
    /// written as XGBoost versions write it.
    fn stump(default_left: &str) -> String {
        format!(
            r#"{{"learner": {{"feature_names": ["a"], "feature_types": ["float"],
              "gradient_booster": {{"name": "gbtree", "model": {{"tree_info": [0], "trees": [{{
                "left_children": [1, -1, -1], "right_children": [2, -1, -1],
                "split_indices": [0, 0, 0], "split_conditions": [0.5, 1.0, 2.0],
                "default_left": [{default_left}, 0, 0], "loss_changes": [1.0, 0.0, 0.0]}}]}}}},
              "learner_model_param": {{"base_score": "5E-1", "num_class": "0", "num_feature": "1"}},
              "objective": {{"name": "reg:squarederror"}}}}, "version": [2, 1, 0]}}"#
        )
    }

    #[test]
    fn default_left_is_a_boolean_or_an_integer() {
        let nan = FeatureMatrix {
            rows: 1,
            columns: vec![vec![f64::NAN]],
        };
        for (flag, want) in [("true", 1.5), ("1", 1.5), ("false", 2.5), ("0", 2.5)] {
            let m = XgbModel::from_bytes(stump(flag).as_bytes(), "m.json").unwrap();
            assert_eq!(m.predict(&nan), [want], "default_left {flag}");
        }
        let e = XgbModel::from_bytes(stump("\"yes\"").as_bytes(), "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("learner.gradient_booster.model.trees[0].default_left[0]: ")
                && e.contains("a boolean or an integer"),
            "{e}"
        );
        let e = XgbModel::from_bytes(br#"{"version": [2, 1, 0]}"#, "m.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("learner"), "{e}");
    }

    /// XGBoost 3.1 records categories that are numbers as `type` and
    /// `values` without `offsets`: refused by name (codes would need its
    /// recoding), whether the numbers are integers or floats.
    #[test]
    fn numeric_recorded_categories_are_refused() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/flavors/xgboost/categorical_binary_logistic.json"
        );
        let full: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert!(XgbModel::from_bytes(full.to_string().as_bytes(), "m.json").is_ok());
        for values in [
            serde_json::json!([10, 20, 30]),
            serde_json::json!([0.5, 1.5]),
        ] {
            let mut doc = full.clone();
            doc["learner"]["gradient_booster"]["model"]["cats"]["enc"][1] =
                serde_json::json!({"type": 1, "values": values});
            let e = XgbModel::from_bytes(doc.to_string().as_bytes(), "m.json")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("cats.enc[1]") && e.contains("categories are numbers"),
                "{e}"
            );
        }
    }

    /// A model claiming billions of classes is refused before anything is
    /// allocated for them (as the fuzzer found for LightGBM).
    #[test]
    fn a_huge_class_count_is_refused_before_allocating() {
        let full = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/xgboost/binary_logistic.json"
        ))
        .unwrap();
        let huge = full.replacen("\"num_class\":\"0\"", "\"num_class\":\"65236453245\"", 1);
        assert_ne!(huge, full, "the fixture names num_class");
        let e = XgbModel::from_bytes(huge.as_bytes(), "m.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("up to 100000 classes"), "{e}");
    }
}
