//! One evaluator for every tree ensemble: XGBoost and LightGBM trees compiled
//! into a flat node array, evaluated over blocks of rows (tree loop outside,
//! the block's rows inside, each row's features contiguous), on several
//! threads over disjoint row ranges.
//!
//! Each library's comparison semantics are kept exactly:
//! - XGBoost: inputs rounded to `f32`, `x < threshold` goes left, NaN follows
//!   the node's default; margins accumulate in `f32`.
//! - LightGBM: inputs with |x| <= 1e-35 are 0 (as LightGBM reads rows);
//!   `x <= threshold` in `f64` (stored as `x < next_up(threshold)`),
//!   missing handling by the node's missing type (None: NaN is 0; Zero: 0 and
//!   NaN follow the default; NaN: NaN follows the default); margins in `f64`.
//! - Categorical splits test the category code against a bitset; which side a
//!   member goes to, and where NaN and negative codes go, are per library.

use super::FeatureMatrix;

/// Rows walked together through one tree.
const BLOCK_ROWS: usize = 256;

/// How a node routes its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `x < threshold` left; NaN follows the default.
    NumNanDefault,
    /// NaN counts as 0, then `x < threshold` (LightGBM missing type None).
    NumNanAsZero,
    /// 0 (|x| <= 1e-35) and NaN follow the default, else `x < threshold`
    /// (LightGBM missing type Zero).
    NumZeroDefault,
    /// Category code `x` in the node's set goes left (LightGBM); NaN and
    /// negative codes go right.
    CatMemberLeft,
    /// Category code in the set goes right (XGBoost); NaN follows the default;
    /// a negative code goes left; a fractional code is truncated.
    CatMemberRight,
}

#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// Threshold, or the leaf value for a leaf.
    pub value: f64,
    pub left: u32,
    pub right: u32,
    pub feature: u32,
    pub split: Split,
    pub default_left: bool,
    /// Index into `Forest::cat_sets` for categorical splits.
    pub cat_set: u32,
}

impl Node {
    pub const LEAF: u32 = u32::MAX;

    pub fn leaf(value: f64) -> Node {
        Node {
            value,
            left: Node::LEAF,
            right: Node::LEAF,
            feature: 0,
            split: Split::NumNanDefault,
            default_left: false,
            cat_set: 0,
        }
    }

    fn is_leaf(&self) -> bool {
        self.left == Node::LEAF
    }
}

/// Accumulation precision: the library's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// XGBoost: inputs and margins in `f32`.
    F32,
    /// LightGBM: `f64` throughout; inputs with |x| <= 1e-35f are 0 (LightGBM
    /// keeps only larger values when it reads a row).
    F64,
}

/// A compiled ensemble producing `outputs` margins per row.
#[derive(Debug, Clone)]
pub struct Forest {
    pub nodes: Vec<Node>,
    /// First node of each tree.
    pub roots: Vec<u32>,
    /// Output (class) each tree adds to.
    pub tree_output: Vec<u32>,
    /// Per-tree weight (XGBoost dart); `None` is 1 for every tree.
    pub tree_weight: Option<Vec<f64>>,
    /// Category bitsets (bit `c` set: code `c` is in the set).
    pub cat_sets: Vec<Vec<u32>>,
    pub outputs: usize,
    pub features: usize,
    pub precision: Precision,
    /// Margin before any tree, per output.
    pub base: Vec<f64>,
}

const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

impl Forest {
    /// Check the structure: children in range and forward, features in range.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.nodes.len() as u32;
        for (t, &root) in self.roots.iter().enumerate() {
            let end = self.roots.get(t + 1).copied().unwrap_or(n);
            if root >= end {
                return Err(format!("tree {t} has no nodes"));
            }
            for i in root..end {
                let node = &self.nodes[i as usize];
                if node.is_leaf() {
                    continue;
                }
                for child in [node.left, node.right] {
                    if child <= i || child >= end {
                        return Err(format!(
                            "tree {t} node {}: child {} out of range",
                            i - root,
                            child.wrapping_sub(root)
                        ));
                    }
                }
                if node.feature as usize >= self.features {
                    return Err(format!(
                        "tree {t} node {}: split on feature {}, but the model has {} features",
                        i - root,
                        node.feature,
                        self.features
                    ));
                }
                if matches!(node.split, Split::CatMemberLeft | Split::CatMemberRight)
                    && node.cat_set as usize >= self.cat_sets.len()
                {
                    return Err(format!("tree {t} node {}: no category set", i - root));
                }
            }
        }
        if self.tree_output.len() != self.roots.len()
            || self.tree_output.iter().any(|&g| g as usize >= self.outputs)
        {
            return Err("tree outputs do not match the number of outputs".into());
        }
        if self.base.len() != self.outputs {
            return Err("base margins do not match the number of outputs".into());
        }
        Ok(())
    }

    #[inline(always)]
    fn route(&self, node: &Node, x: f64) -> u32 {
        let go_left = match node.split {
            Split::NumNanDefault => {
                if x.is_nan() {
                    node.default_left
                } else {
                    x < node.value
                }
            }
            Split::NumNanAsZero => {
                let x = if x.is_nan() { 0.0 } else { x };
                x < node.value
            }
            Split::NumZeroDefault => {
                if x.is_nan() || x.abs() <= ZERO_THRESHOLD {
                    node.default_left
                } else {
                    x < node.value
                }
            }
            Split::CatMemberLeft => {
                if x.is_nan() || x < 0.0 {
                    false
                } else {
                    self.in_set(node.cat_set, x as u32)
                }
            }
            Split::CatMemberRight => {
                if x.is_nan() {
                    node.default_left
                } else if !(0.0..16_777_216.0).contains(&x) {
                    // XGBoost's invalid categories go left, whatever the default.
                    true
                } else {
                    // Codes are truncated (2.5 is 2); codes past the set are not in it.
                    !self.in_set(node.cat_set, x as u32)
                }
            }
        };
        if go_left { node.left } else { node.right }
    }

    #[inline(always)]
    fn in_set(&self, set: u32, code: u32) -> bool {
        let words = &self.cat_sets[set as usize];
        let w = (code / 32) as usize;
        w < words.len() && words[w] >> (code % 32) & 1 == 1
    }

    #[inline(always)]
    fn leaf(&self, root: u32, row: &[f64]) -> f64 {
        let mut idx = root;
        loop {
            let node = &self.nodes[idx as usize];
            if node.is_leaf() {
                return node.value;
            }
            idx = self.route(node, row[node.feature as usize]);
        }
    }

    /// Margins of every row: `rows × outputs`, row-major.
    pub fn margins(&self, x: &FeatureMatrix, threads: usize) -> Vec<f64> {
        let mut out = vec![0.0; x.rows * self.outputs];
        let threads = threads.max(1).min(x.rows.div_ceil(BLOCK_ROWS).max(1));
        if threads == 1 {
            self.margins_range(x, 0, &mut out);
            return out;
        }
        let per = x.rows.div_ceil(threads).div_ceil(BLOCK_ROWS) * BLOCK_ROWS;
        std::thread::scope(|s| {
            for (i, chunk) in out.chunks_mut(per * self.outputs).enumerate() {
                s.spawn(move || self.margins_range(x, i * per, chunk));
            }
        });
        out
    }

    /// Margins of rows `start..start + out.len() / outputs`.
    fn margins_range(&self, x: &FeatureMatrix, start: usize, out: &mut [f64]) {
        let k = self.outputs;
        let nf = self.features;
        let rows = out.len() / k;
        let mut block = vec![0.0f64; BLOCK_ROWS * nf.max(1)];
        let mut acc32 = vec![0.0f32; BLOCK_ROWS * k];
        let mut acc64 = vec![0.0f64; BLOCK_ROWS * k];
        let mut b = 0;
        while b < rows {
            let n = (rows - b).min(BLOCK_ROWS);
            // Row-major copy of the block (f32-rounded for XGBoost).
            for (f, col) in x.columns.iter().enumerate().take(nf) {
                let src = &col[start + b..start + b + n];
                for (r, &v) in src.iter().enumerate() {
                    block[r * nf + f] = match self.precision {
                        Precision::F32 => v as f32 as f64,
                        // LightGBM reads rows as sparse pairs: |x| <= 1e-35f is dropped, i.e. 0.
                        Precision::F64 if v.abs() <= ZERO_THRESHOLD => 0.0,
                        Precision::F64 => v,
                    };
                }
            }
            match self.precision {
                Precision::F32 => {
                    for r in 0..n {
                        for g in 0..k {
                            acc32[r * k + g] = self.base[g] as f32;
                        }
                    }
                    for (t, &root) in self.roots.iter().enumerate() {
                        let g = self.tree_output[t] as usize;
                        let w = self.tree_weight.as_ref().map(|w| w[t] as f32);
                        for r in 0..n {
                            let leaf = self.leaf(root, &block[r * nf..r * nf + nf]) as f32;
                            acc32[r * k + g] += match w {
                                Some(w) => w * leaf,
                                None => leaf,
                            };
                        }
                    }
                    for (o, a) in out[b * k..(b + n) * k].iter_mut().zip(&acc32[..n * k]) {
                        *o = *a as f64;
                    }
                }
                Precision::F64 => {
                    for r in 0..n {
                        acc64[r * k..r * k + k].copy_from_slice(&self.base);
                    }
                    for (t, &root) in self.roots.iter().enumerate() {
                        let g = self.tree_output[t] as usize;
                        let w = self.tree_weight.as_ref().map_or(1.0, |w| w[t]);
                        for r in 0..n {
                            acc64[r * k + g] += w * self.leaf(root, &block[r * nf..r * nf + nf]);
                        }
                    }
                    out[b * k..(b + n) * k].copy_from_slice(&acc64[..n * k]);
                }
            }
            b += n;
        }
    }
}

/// Threads for model evaluation: `LAKESCORE_THREADS`, else every core.
pub fn threads() -> usize {
    std::env::var("LAKESCORE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1)
}

/// Bitset of the given category codes.
pub fn bitset(codes: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut words: Vec<u32> = Vec::new();
    for c in codes {
        let w = (c / 32) as usize;
        if words.len() <= w {
            words.resize(w + 1, 0);
        }
        words[w] |= 1 << (c % 32);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 < 0.5 ? (x1 in {1, 3} ? 1 : 2) : 3  — LightGBM-style categorical.
    fn forest(threads_rows: usize) -> (Forest, FeatureMatrix) {
        let nodes = vec![
            Node {
                value: 0.5,
                left: 1,
                right: 4,
                feature: 0,
                split: Split::NumNanDefault,
                default_left: true,
                cat_set: 0,
            },
            Node {
                value: 0.0,
                left: 2,
                right: 3,
                feature: 1,
                split: Split::CatMemberLeft,
                default_left: false,
                cat_set: 0,
            },
            Node::leaf(1.0),
            Node::leaf(2.0),
            Node::leaf(3.0),
        ];
        let f = Forest {
            nodes,
            roots: vec![0],
            tree_output: vec![0],
            tree_weight: None,
            cat_sets: vec![bitset([1, 3])],
            outputs: 1,
            features: 2,
            precision: Precision::F64,
            base: vec![0.0],
        };
        let x0: Vec<f64> = (0..threads_rows).map(|i| (i % 3) as f64 * 0.4).collect();
        let x1: Vec<f64> = (0..threads_rows).map(|i| (i % 5) as f64).collect();
        (
            f,
            FeatureMatrix {
                rows: threads_rows,
                columns: vec![x0, x1],
            },
        )
    }

    #[test]
    fn routes_numeric_and_categorical_splits() {
        let (f, _) = forest(1);
        f.validate().unwrap();
        let x = FeatureMatrix {
            rows: 5,
            columns: vec![
                vec![0.1, 0.1, 0.9, f64::NAN, 0.1],
                vec![1.0, 2.0, 1.0, 3.0, f64::NAN],
            ],
        };
        assert_eq!(f.margins(&x, 1), vec![1.0, 2.0, 3.0, 1.0, 2.0]);
    }

    #[test]
    fn threads_give_the_same_margins() {
        let (f, x) = forest(10_007);
        assert_eq!(f.margins(&x, 1), f.margins(&x, 2));
        assert_eq!(f.margins(&x, 1), f.margins(&x, 7));
    }

    #[test]
    fn malformed_structures_are_refused() {
        let (mut f, _) = forest(1);
        f.nodes[0].left = 0;
        assert!(f.validate().unwrap_err().contains("out of range"));
        let (mut f, _) = forest(1);
        f.nodes[1].feature = 9;
        assert!(f.validate().unwrap_err().contains("feature 9"));
    }
}
