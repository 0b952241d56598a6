//! LightGBM text models (`Booster.save_model("m.txt")`, MLflow's `model.lgb`).
//!
//! Semantics follow LightGBM's `Tree::Decision` exactly (see
//! [`super::forest`]): `x <= threshold` in `f64` goes left; each node's
//! missing type (None: NaN is 0; Zero: 0 and NaN take the default side; NaN:
//! NaN takes the default side); a categorical split sends codes in its bitset
//! left, NaN and negative codes right; raw scores are summed in `f64`, divided
//! by the number of iterations for random forests (`average_output`), then
//! the objective's transform (sigmoid, exp, softmax, one sigmoid per class for
//! `multiclassova`).

use std::collections::HashMap;

use super::forest::{self, Forest, Node, Precision, Split};
use super::xgboost::softmax;
use super::{FeatureMatrix, Flavor, Model, ModelError, Predictions};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transform {
    Identity,
    /// `sign(x) · x²` (regression with `sqrt`).
    Square,
    Sigmoid(f64),
    Exp,
    Softmax,
    /// One sigmoid per class, not normalised (`multiclassova`).
    SigmoidEach(f64),
}

#[derive(Debug, Clone)]
pub struct LgbModel {
    features: Vec<String>,
    categorical: Vec<bool>,
    /// Category names per categorical feature, in code order (`pandas_categorical`).
    categories: Vec<Option<Vec<String>>>,
    transform: Transform,
    forest: Forest,
    summary: String,
}

/// `key=value` lines of one block.
fn fields(block: &str) -> HashMap<&str, &str> {
    block
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn list<T: std::str::FromStr>(
    f: &HashMap<&str, &str>,
    key: &str,
    n: usize,
    tree: usize,
) -> Result<Vec<T>, String> {
    let Some(text) = f.get(key) else {
        return if n == 0 {
            Ok(Vec::new())
        } else {
            Err(format!("tree {tree}: no {key}"))
        };
    };
    let v: Result<Vec<T>, _> = text.split_whitespace().map(str::parse).collect();
    let v = v.map_err(|_| format!("tree {tree}: {key} has a value that is not a number"))?;
    if v.len() != n {
        return Err(format!(
            "tree {tree}: {key} has {} values, expected {n}",
            v.len()
        ));
    }
    Ok(v)
}

fn transform_for(objective: &str) -> Option<Transform> {
    let mut parts = objective.split_whitespace();
    let name = parts.next()?;
    let params: HashMap<&str, &str> = parts.filter_map(|p| p.split_once(':')).collect();
    let sigmoid = params
        .get("sigmoid")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let sqrt = objective.split_whitespace().any(|p| p == "sqrt");
    Some(match name {
        "binary" | "cross_entropy" | "xentropy" => Transform::Sigmoid(sigmoid),
        "multiclass" | "softmax" => Transform::Softmax,
        "multiclassova" | "multiclass_ova" | "ova" | "ovr" => Transform::SigmoidEach(sigmoid),
        "poisson" | "gamma" | "tweedie" => Transform::Exp,
        "regression"
        | "regression_l2"
        | "l2"
        | "mean_squared_error"
        | "mse"
        | "regression_l1"
        | "l1"
        | "mean_absolute_error"
        | "mae"
        | "huber"
        | "fair"
        | "quantile"
        | "mape" => {
            if sqrt {
                Transform::Square
            } else {
                Transform::Identity
            }
        }
        "lambdarank" | "rank_xendcg" | "custom" => Transform::Identity,
        _ => return None,
    })
}

/// LightGBM writes `x <= t`; the forest tests `x < t'` with `t'` the next double above `t`.
fn next_up(t: f64) -> f64 {
    if t.is_nan() || t == f64::INFINITY {
        return t;
    }
    if t == 0.0 {
        return f64::from_bits(1);
    }
    let bits = t.to_bits();
    f64::from_bits(if t > 0.0 { bits + 1 } else { bits - 1 })
}

impl LgbModel {
    pub fn from_text(bytes: &[u8], source_name: &str) -> Result<Self, ModelError> {
        let err = |message: String| ModelError::Parse {
            source_name: source_name.to_string(),
            flavor: Flavor::Lightgbm,
            message,
        };
        let unsupported = |what: String| ModelError::Unsupported {
            source_name: source_name.to_string(),
            flavor: Flavor::Lightgbm,
            what,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))?;
        if !text.starts_with("tree\n") && !text.starts_with("tree\r\n") {
            return Err(err(
                "does not start with \"tree\" (not a LightGBM text model)".into(),
            ));
        }
        let end = text
            .find("end of trees")
            .ok_or_else(|| err("no \"end of trees\": the file is truncated".into()))?;
        let mut blocks = text[..end].split("\nTree=");
        let header = fields(blocks.next().unwrap_or_default());
        let get = |k: &str| {
            header
                .get(k)
                .copied()
                .ok_or_else(|| err(format!("no {k} in the header")))
        };
        let num_class: usize = get("num_class")?
            .parse()
            .map_err(|_| err("num_class".into()))?;
        let per_iter: usize = get("num_tree_per_iteration")?
            .parse()
            .map_err(|_| err("num_tree_per_iteration".into()))?;
        let max_feature: usize = get("max_feature_idx")?
            .parse()
            .map_err(|_| err("max_feature_idx".into()))?;
        let objective = get("objective")?.to_string();
        let transform = transform_for(&objective)
            .ok_or_else(|| unsupported(format!("objective {objective:?}")))?;
        let features: Vec<String> = get("feature_names")?
            .split_whitespace()
            .map(String::from)
            .collect();
        if features.len() != max_feature + 1 {
            return Err(err(format!(
                "{} feature names for max_feature_idx {max_feature}",
                features.len()
            )));
        }
        // Categorical features list their categories in feature_infos ("1:0:3"), numeric ones a range.
        let categorical: Vec<bool> = match header.get("feature_infos") {
            Some(infos) => infos
                .split_whitespace()
                .map(|i| !i.starts_with('[') && i != "none")
                .collect(),
            None => vec![false; features.len()],
        };
        if categorical.len() != features.len() {
            return Err(err("feature_infos does not match feature_names".into()));
        }
        let average = text[..end].lines().any(|l| l.trim() == "average_output");
        let outputs = per_iter.max(1);
        if outputs > forest::MAX_OUTPUTS || num_class > forest::MAX_OUTPUTS {
            return Err(err(format!(
                "num_class {num_class} / num_tree_per_iteration {per_iter}: lakescore supports up to {} classes",
                forest::MAX_OUTPUTS
            )));
        }
        if num_class > 1 && num_class != outputs {
            return Err(err(format!(
                "num_class {num_class} with {outputs} trees per iteration"
            )));
        }

        let mut forest = Forest::new(outputs, features.len(), Precision::F64, vec![0.0; outputs]);
        for (t, block) in blocks.enumerate() {
            let f = fields(block);
            let leaves: usize = f
                .get("num_leaves")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| err(format!("tree {t}: no num_leaves")))?;
            if leaves == 0 {
                return Err(err(format!("tree {t}: no leaves")));
            }
            if f.get("is_linear").is_some_and(|v| *v != "0") {
                return Err(unsupported(format!("linear trees (tree {t})")));
            }
            let leaf_value: Vec<f64> = list(&f, "leaf_value", leaves, t).map_err(err)?;
            let base = forest.nodes.len() as u32;
            forest.roots.push(base);
            forest.tree_output.push((t % outputs) as u32);
            if leaves == 1 {
                // A constant tree: one leaf. (Leaf values already include shrinkage.)
                forest.nodes.push(Node::leaf(leaf_value[0]));
                continue;
            }
            let inner = leaves - 1;
            let split_feature: Vec<i64> = list(&f, "split_feature", inner, t).map_err(err)?;
            let threshold: Vec<f64> = list(&f, "threshold", inner, t).map_err(err)?;
            let decision_type: Vec<u8> = list(&f, "decision_type", inner, t).map_err(err)?;
            let left_child: Vec<i64> = list(&f, "left_child", inner, t).map_err(err)?;
            let right_child: Vec<i64> = list(&f, "right_child", inner, t).map_err(err)?;
            let num_cat: usize = f.get("num_cat").and_then(|v| v.parse().ok()).unwrap_or(0);
            let (boundaries, cat_threshold): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
                let b: Vec<usize> = list(&f, "cat_boundaries", num_cat + 1, t).map_err(err)?;
                let n = *b.last().unwrap_or(&0);
                (b, list(&f, "cat_threshold", n, t).map_err(err)?)
            } else {
                (Vec::new(), Vec::new())
            };
            let cat_base = forest.cat_sets.len() as u32;
            for c in 0..num_cat {
                let (a, z) = (boundaries[c], boundaries[c + 1]);
                if a > z || z > cat_threshold.len() {
                    return Err(err(format!("tree {t}: cat_boundaries out of order")));
                }
                forest.cat_sets.push(cat_threshold[a..z].to_vec());
            }
            // Internal node i is at base + i; leaf j at base + inner + j.
            let child = |c: i64| -> u32 {
                if c >= 0 {
                    base + c as u32
                } else {
                    base + inner as u32 + (!c) as u32
                }
            };
            for i in 0..inner {
                let dt = decision_type[i];
                let is_cat = dt & 1 == 1;
                let default_left = dt & 2 == 2;
                let missing = (dt >> 2) & 3;
                let (l, r) = (left_child[i], right_child[i]);
                let in_range = |c: i64| {
                    (c >= 0 && (c as usize) < inner) || (c < 0 && ((!c) as usize) < leaves)
                };
                if !in_range(l) || !in_range(r) {
                    return Err(err(format!("tree {t} node {i}: child out of range")));
                }
                let feature = split_feature[i];
                if feature < 0 {
                    return Err(err(format!("tree {t} node {i}: negative feature")));
                }
                let (split, value, cat_set) = if is_cat {
                    let idx = threshold[i] as usize;
                    if idx >= num_cat {
                        return Err(err(format!(
                            "tree {t} node {i}: category set {idx} out of range"
                        )));
                    }
                    (Split::CatMemberLeft, 0.0, cat_base + idx as u32)
                } else {
                    let split = match missing {
                        0 => Split::NumNanAsZero,
                        1 => Split::NumZeroDefault,
                        _ => Split::NumNanDefault,
                    };
                    (split, next_up(threshold[i]), 0)
                };
                forest.nodes.push(Node {
                    value,
                    left: child(l),
                    right: child(r),
                    feature: feature as u32,
                    split,
                    default_left,
                    cat_set,
                });
            }
            for v in leaf_value {
                forest.nodes.push(Node::leaf(v));
            }
        }
        if forest.roots.is_empty() {
            return Err(err("the model has no trees".into()));
        }
        if average {
            let iterations = forest.roots.len().div_ceil(outputs) as f64;
            forest.tree_weight = Some(vec![1.0 / iterations; forest.roots.len()]);
        }
        forest.validate().map_err(err)?;

        let categories = pandas_categories(&text[end..], &categorical).map_err(err)?;
        let summary = super::summary(
            &format!(
                "lightgbm {}",
                objective.split_whitespace().next().unwrap_or("")
            ),
            &format!("{} trees", forest.roots.len()),
            outputs,
            &categorical,
        );
        Ok(Self {
            features,
            categorical,
            categories,
            transform,
            forest,
            summary,
        })
    }
}

/// The `pandas_categorical:[[...], ...]` line: categories of each categorical
/// feature, in feature order, as pandas coded them at training.
fn pandas_categories(tail: &str, categorical: &[bool]) -> Result<Vec<Option<Vec<String>>>, String> {
    let mut out = vec![None; categorical.len()];
    let Some(line) = tail
        .lines()
        .find_map(|l| l.strip_prefix("pandas_categorical:"))
    else {
        return Ok(out);
    };
    let lists: Option<Vec<Vec<serde_json::Value>>> =
        serde_json::from_str(line.trim()).map_err(|e| format!("pandas_categorical: {e}"))?;
    let Some(lists) = lists else { return Ok(out) };
    let cat_features: Vec<usize> = (0..categorical.len()).filter(|&i| categorical[i]).collect();
    if lists.len() > cat_features.len() {
        return Err(format!(
            "pandas_categorical has {} lists for {} categorical features",
            lists.len(),
            cat_features.len()
        ));
    }
    for (values, &f) in lists.iter().zip(&cat_features) {
        out[f] = Some(
            values
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        );
    }
    Ok(out)
}

fn sigmoid(k: f64, m: f64) -> f64 {
    1.0 / (1.0 + (-k * m).exp())
}

impl Model for LgbModel {
    fn flavor(&self) -> Flavor {
        Flavor::Lightgbm
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
        if self.forest.outputs > 1 {
            self.forest.outputs
        } else {
            0
        }
    }

    fn predict_all(&self, x: &FeatureMatrix) -> Predictions {
        let margins = self.forest.margins(x, forest::threads());
        let k = self.forest.outputs;
        if k == 1 {
            let prediction = margins
                .into_iter()
                .map(|m| match self.transform {
                    Transform::Identity | Transform::Softmax => m,
                    Transform::Square => m.signum() * m * m,
                    Transform::Sigmoid(s) | Transform::SigmoidEach(s) => sigmoid(s, m),
                    Transform::Exp => m.exp(),
                })
                .collect();
            return Predictions {
                prediction,
                probabilities: Vec::new(),
            };
        }
        let transform = self.transform;
        super::multiclass(
            &margins,
            k,
            |row| match transform {
                Transform::SigmoidEach(s) => row.iter().map(|m| sigmoid(s, *m)).collect(),
                _ => softmax(row),
            },
            true,
        )
    }

    fn describe(&self) -> String {
        self.summary.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_up_turns_less_or_equal_into_less_than() {
        for t in [0.5, -0.5, 0.0, 1e-35, -3.25, 1e300] {
            let u = next_up(t);
            assert!(t < u, "{t}");
            // Between t and next_up(t) there is no double: x <= t exactly when x < u.
            assert_eq!(f64::from_bits(u.to_bits()), u);
            assert!(t <= t && t < u);
        }
    }

    #[test]
    fn malformed_text_is_refused() {
        let e = LgbModel::from_text(b"{\"learner\":{}}", "m.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.txt") && e.contains("not a LightGBM"), "{e}");
        let e = LgbModel::from_text(b"tree\nversion=v4\n", "m.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    /// Found by the fuzzer: a header claiming billions of trees per iteration
    /// made the loader allocate that many outputs.
    #[test]
    fn a_huge_class_count_is_refused_before_allocating() {
        let text =
            include_bytes!("../../../fuzz/regressions/lightgbm_text/huge-num-tree-per-iteration");
        let e = LgbModel::from_text(text, "m.txt").unwrap_err().to_string();
        assert!(e.contains("up to 100000 classes"), "{e}");
    }
}
