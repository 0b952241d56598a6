//! XGBoost JSON models (`Booster.save_model("m.json")`), gbtree booster.
//!
//! Semantics follow XGBoost's CPU predictor exactly:
//! - inputs are cast to `f32`; a numeric split sends `x < threshold` (in `f32`)
//!   left, everything else right; NaN (missing) follows `default_left`;
//! - the margin starts at the base margin, `link(base_score)` (logit for
//!   logistic objectives, log for poisson/gamma/tweedie, identity otherwise;
//!   `base_score` is stored as `"5E-1"` by XGBoost 1.x/2.x and as `"[5E-1]"` by
//!   3.x), and each tree's leaf value is added in `f32`, in tree order;
//! - the objective's inverse link turns the margin into the prediction.
//!
//! Trees are compiled into one flat node array and evaluated over blocks of
//! rows with the tree loop outside, so a tree's nodes stay in cache while a
//! block of rows walks it.

use serde::Deserialize;
use serde_json::Value;

use super::{FeatureMatrix, Flavor, Model, ModelError};

/// Rows evaluated together against one tree.
const BLOCK_ROWS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Identity,
    Logistic,
    Exp,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Feature index; for a leaf, unused.
    feature: u32,
    /// Split threshold, or the leaf value.
    value: f32,
    /// Index of the left child; `u32::MAX` marks a leaf. Right child is `right`.
    left: u32,
    right: u32,
    default_left: bool,
}

impl Node {
    fn is_leaf(&self) -> bool {
        self.left == u32::MAX
    }
}

#[derive(Debug, Clone)]
pub struct XgbModel {
    features: Vec<String>,
    objective: String,
    link: Link,
    base_margin: f32,
    nodes: Vec<Node>,
    /// Start of each tree in `nodes`.
    roots: Vec<u32>,
}

#[derive(Deserialize)]
struct Document {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    #[serde(default)]
    feature_names: Vec<String>,
    gradient_booster: Value,
    learner_model_param: LearnerModelParam,
    objective: Objective,
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
    default_left: Vec<Value>,
    #[serde(default)]
    split_type: Vec<i64>,
}

/// Parse XGBoost's `base_score`: `"5E-1"` (1.x, 2.x) or `"[5E-1]"` (3.x).
pub fn parse_base_score(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    let values: Vec<&str> = inner
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    match values.as_slice() {
        [one] => one
            .parse::<f64>()
            .map_err(|_| format!("base_score {s:?} is not a number")),
        [] => Err(format!("base_score {s:?} is empty")),
        _ => Err(format!(
            "base_score {s:?} has {} values (multi-output models are not supported yet)",
            values.len()
        )),
    }
}

fn link_for(objective: &str) -> Option<Link> {
    Some(match objective {
        "binary:logistic" | "reg:logistic" => Link::Logistic,
        "reg:squarederror"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "binary:logitraw"
        | "reg:linear" => Link::Identity,
        "count:poisson" | "reg:gamma" | "reg:tweedie" => Link::Exp,
        _ => return None,
    })
}

impl XgbModel {
    pub fn from_json(bytes: &[u8], source_name: &str) -> Result<Self, ModelError> {
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
        let doc: Document = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        let learner = doc.learner;
        let objective = learner.objective.name.clone();
        let link =
            link_for(&objective).ok_or_else(|| unsupported(format!("objective {objective:?}")))?;
        let num_class: i64 = learner
            .learner_model_param
            .num_class
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| err("num_class is not a number".into()))?;
        if num_class > 1 {
            return Err(unsupported(format!("multiclass ({num_class} classes)")));
        }
        let num_target: i64 = learner
            .learner_model_param
            .num_target
            .as_deref()
            .unwrap_or("1")
            .parse()
            .map_err(|_| err("num_target is not a number".into()))?;
        if num_target > 1 {
            return Err(unsupported(format!("multi-target ({num_target} targets)")));
        }
        let num_feature: usize = learner
            .learner_model_param
            .num_feature
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| err("num_feature is not a number".into()))?;
        let base_score = parse_base_score(&learner.learner_model_param.base_score).map_err(err)?;
        let base_margin = match link {
            Link::Identity => base_score,
            Link::Logistic => {
                if !(base_score > 0.0 && base_score < 1.0) {
                    return Err(err(format!(
                        "base_score {base_score} must be in (0, 1) for {objective}"
                    )));
                }
                -(1.0 / base_score - 1.0).ln()
            }
            Link::Exp => {
                if base_score <= 0.0 {
                    return Err(err(format!(
                        "base_score {base_score} must be positive for {objective}"
                    )));
                }
                base_score.ln()
            }
        } as f32;

        let booster = &learner.gradient_booster;
        let booster_name = booster.get("name").and_then(Value::as_str).unwrap_or("");
        if booster_name != "gbtree" {
            return Err(unsupported(format!("booster {booster_name:?}")));
        }
        let trees_json = booster
            .pointer("/model/trees")
            .ok_or_else(|| err("no gradient_booster.model.trees".into()))?;
        let trees: Vec<TreeJson> =
            serde_json::from_value(trees_json.clone()).map_err(|e| err(format!("trees: {e}")))?;

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

        let mut nodes = Vec::new();
        let mut roots = Vec::with_capacity(trees.len());
        for (t, tree) in trees.iter().enumerate() {
            let n = tree.left_children.len();
            let lens = [
                tree.right_children.len(),
                tree.split_indices.len(),
                tree.split_conditions.len(),
                tree.default_left.len(),
            ];
            if n == 0 || lens.iter().any(|&l| l != n) {
                return Err(err(format!("tree {t}: node arrays have different lengths")));
            }
            if tree.split_type.iter().any(|&s| s != 0) {
                return Err(unsupported(format!("categorical splits (tree {t})")));
            }
            let base = nodes.len() as u32;
            roots.push(base);
            for i in 0..n {
                let (l, r) = (tree.left_children[i], tree.right_children[i]);
                let leaf = l == -1;
                if !leaf {
                    let ok = |c: i64| c > 0 && (c as usize) < n;
                    if !ok(l) || !ok(r) {
                        return Err(err(format!("tree {t} node {i}: child index out of range")));
                    }
                    let f = tree.split_indices[i];
                    if f < 0 || (f as usize) >= features.len() {
                        return Err(err(format!(
                            "tree {t} node {i}: split on feature {f}, but the model has {} features",
                            features.len()
                        )));
                    }
                }
                let default_left = match &tree.default_left[i] {
                    Value::Bool(b) => *b,
                    Value::Number(x) => x.as_i64() == Some(1),
                    other => return Err(err(format!("tree {t}: default_left value {other}"))),
                };
                nodes.push(Node {
                    feature: tree.split_indices[i].max(0) as u32,
                    value: tree.split_conditions[i],
                    left: if leaf { u32::MAX } else { base + l as u32 },
                    right: if leaf { u32::MAX } else { base + r as u32 },
                    default_left,
                });
            }
        }
        // Children must point forward (no cycles): XGBoost writes nodes so.
        for (t, &root) in roots.iter().enumerate() {
            let end = roots.get(t + 1).copied().unwrap_or(nodes.len() as u32);
            for idx in root..end {
                let node = nodes[idx as usize];
                if !node.is_leaf() && (node.left <= idx || node.right <= idx) {
                    return Err(err(format!(
                        "tree {t}: node {} has a backward child",
                        idx - root
                    )));
                }
            }
        }
        Ok(Self {
            features,
            objective,
            link,
            base_margin,
            nodes,
            roots,
        })
    }

    fn leaf_value(&self, root: u32, x: &FeatureMatrix, row: usize) -> f32 {
        let mut idx = root as usize;
        loop {
            let node = &self.nodes[idx];
            if node.is_leaf() {
                return node.value;
            }
            let v = x.columns[node.feature as usize][row];
            let go_left = if v.is_nan() {
                node.default_left
            } else {
                (v as f32) < node.value
            };
            idx = if go_left { node.left } else { node.right } as usize;
        }
    }
}

impl Model for XgbModel {
    fn flavor(&self) -> Flavor {
        Flavor::Xgboost
    }

    fn features(&self) -> &[String] {
        &self.features
    }

    fn predict(&self, x: &FeatureMatrix) -> Vec<f64> {
        let mut margins = vec![self.base_margin; x.rows];
        let mut start = 0;
        while start < x.rows {
            let end = (start + BLOCK_ROWS).min(x.rows);
            for &root in &self.roots {
                for (row, m) in margins[start..end].iter_mut().enumerate() {
                    *m += self.leaf_value(root, x, start + row);
                }
            }
            start = end;
        }
        margins
            .into_iter()
            .map(|m| {
                let p = match self.link {
                    Link::Identity => m,
                    Link::Logistic => 1.0 / (1.0 + (-m).exp()),
                    Link::Exp => m.exp(),
                };
                p as f64
            })
            .collect()
    }

    fn describe(&self) -> String {
        format!(
            "xgboost {}, {} trees, {} features",
            self.objective,
            self.roots.len(),
            self.features.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_score_forms_of_every_version() {
        assert_eq!(parse_base_score("5E-1").unwrap(), 0.5);
        assert_eq!(parse_base_score("[4.99E-1]").unwrap(), 0.499);
        assert_eq!(parse_base_score(" [1.2369148E1] ").unwrap(), 12.369148);
        assert!(parse_base_score("[1E0,2E0]").is_err());
        assert!(parse_base_score("abc").is_err());
    }

    #[test]
    fn truncated_models_are_rejected() {
        let full = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/xgboost/binary_logistic.json"
        ))
        .unwrap();
        assert!(XgbModel::from_json(&full, "m").is_ok());
        let cut = &full[..full.len() / 2];
        let e = XgbModel::from_json(cut, "m.json").unwrap_err();
        assert!(e.to_string().contains("m.json"), "{e}");
    }
}
