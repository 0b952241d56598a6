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

mod shallow;

use shallow::Shallow;

use super::FeatureMatrix;

/// Rows walked together through one tree.
const BLOCK_ROWS: usize = 128;
/// The most rows a thread takes at a time (a whole number of blocks).
const CHUNK_ROWS: usize = 64 * BLOCK_ROWS;

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
    /// The evaluation layout, built by [`Forest::validate`].
    packed: Packed,
    /// The vector layout, for shallow `f32` forests of numeric splits.
    shallow: Option<Box<Shallow>>,
}

/// The compiled layout: 16-byte nodes, each tree breadth-first with the two
/// children of a node side by side (right = left + 1), leaves pointing at
/// themselves so that every row of a block can take exactly `depth` steps
/// without testing for leaves.
#[derive(Debug, Clone, Default)]
struct Packed {
    nodes: Vec<PackedNode>,
    roots: Vec<u32>,
    depths: Vec<u32>,
    /// Trees whose splits are all numeric with NaN to the default side (every
    /// XGBoost numeric tree, LightGBM's default missing type): the fast path.
    simple: Vec<bool>,
}

#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct PackedNode {
    /// Threshold, leaf value, or (categorical) the category set index in its low bits.
    value: f64,
    /// Left child (right is `left + 1`); a leaf's own index.
    left: u32,
    /// Feature (low 24 bits), split kind (3 bits), default-left bit, leaf bit.
    meta: u32,
}

const FEATURE_MASK: u32 = (1 << 24) - 1;

/// The most trees a forest may have (real models have thousands).
pub const MAX_TREES: usize = 1_000_000;

/// The most outputs (classes) a model may have: a file claiming more is
/// refused before anything is allocated for them.
pub const MAX_OUTPUTS: usize = 100_000;

/// The deepest tree a forest may have (every row walks it to a leaf).
pub const MAX_DEPTH: u32 = 10_000;
const KIND_SHIFT: u32 = 24;
const DEFAULT_LEFT: u32 = 1 << 27;
const LEAF_BIT: u32 = 1 << 28;
/// Rows walked in lockstep through a tree (independent chains of loads).
const LANES: usize = 8;
/// Deeper trees are walked row by row, each row stopping at its leaf.
const LOCKSTEP_MAX_DEPTH: u32 = 12;

fn kind_code(s: Split) -> u32 {
    match s {
        Split::NumNanDefault => 0,
        // `pack` turns NaN-as-zero into NaN-to-a-side before coding it.
        Split::NumNanAsZero => unreachable!("folded into NumNanDefault by pack"),
        Split::NumZeroDefault => 2,
        Split::CatMemberLeft => 3,
        Split::CatMemberRight => 4,
    }
}

const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

impl Forest {
    /// A forest with no trees yet; parsers push nodes, roots and outputs, then
    /// call [`Forest::validate`].
    pub fn new(outputs: usize, features: usize, precision: Precision, base: Vec<f64>) -> Self {
        Forest {
            nodes: Vec::new(),
            roots: Vec::new(),
            tree_output: Vec::new(),
            tree_weight: None,
            cat_sets: Vec::new(),
            outputs,
            features,
            precision,
            base,
            packed: Packed::default(),
            shallow: None,
        }
    }

    /// Check the structure (children in range and forward, features in range),
    /// then build the evaluation layout.
    pub fn validate(&mut self) -> Result<(), String> {
        if self.roots.len() > MAX_TREES {
            return Err(format!(
                "{} trees is more than lakescore supports ({MAX_TREES})",
                self.roots.len()
            ));
        }
        self.check()?;
        if self.features >= FEATURE_MASK as usize {
            return Err(format!(
                "{} features is more than lakescore supports",
                self.features
            ));
        }
        self.packed = self.pack();
        if let Some((t, depth)) = self
            .packed
            .depths
            .iter()
            .enumerate()
            .find(|&(_, &d)| d > MAX_DEPTH)
        {
            return Err(format!(
                "tree {t} is {depth} levels deep; lakescore supports up to {MAX_DEPTH}"
            ));
        }
        self.shallow = Shallow::compile(self, &self.packed).map(Box::new);
        Ok(())
    }

    fn pack(&self) -> Packed {
        let mut p = Packed::default();
        let n = self.nodes.len() as u32;
        for (t, &root) in self.roots.iter().enumerate() {
            let _end = self.roots.get(t + 1).copied().unwrap_or(n);
            let base = p.nodes.len() as u32;
            p.roots.push(base);
            // Breadth-first: (source node, slot, depth).
            let mut queue = std::collections::VecDeque::from([(root, base, 0u32)]);
            p.nodes.push(PackedNode {
                value: 0.0,
                left: 0,
                meta: 0,
            });
            let mut depth = 0;
            let mut simple = true;
            while let Some((src, slot, d)) = queue.pop_front() {
                let node = &self.nodes[src as usize];
                if node.is_leaf() {
                    p.nodes[slot as usize] = PackedNode {
                        value: node.value,
                        left: slot,
                        meta: LEAF_BIT,
                    };
                    continue;
                }
                depth = depth.max(d + 1);
                simple &= matches!(node.split, Split::NumNanDefault | Split::NumNanAsZero);
                let left = p.nodes.len() as u32;
                p.nodes.push(PackedNode {
                    value: 0.0,
                    left: 0,
                    meta: 0,
                });
                p.nodes.push(PackedNode {
                    value: 0.0,
                    left: 0,
                    meta: 0,
                });
                queue.push_back((node.left, left, d + 1));
                queue.push_back((node.right, left + 1, d + 1));
                let categorical =
                    matches!(node.split, Split::CatMemberLeft | Split::CatMemberRight);
                // NaN-as-zero is NaN-to-a-side: the side 0 takes at this node.
                let (split, default_left) = match node.split {
                    Split::NumNanAsZero => (Split::NumNanDefault, 0.0 < node.value),
                    other => (other, node.default_left),
                };
                p.nodes[slot as usize] = PackedNode {
                    value: if categorical {
                        f64::from_bits(u64::from(node.cat_set))
                    } else {
                        node.value
                    },
                    left,
                    meta: node.feature
                        | kind_code(split) << KIND_SHIFT
                        | if default_left { DEFAULT_LEFT } else { 0 },
                };
            }
            p.depths.push(depth);
            p.simple.push(simple);
        }
        p
    }

    fn check(&self) -> Result<(), String> {
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

    /// One step from packed node `i` for input row `row`: the next node.
    #[inline(always)]
    fn step(&self, i: u32, row: &[f64]) -> u32 {
        let n = self.packed.nodes[i as usize];
        let meta = n.meta;
        // Leaves point at themselves: step 0.
        let live = u32::from((meta & LEAF_BIT) == 0);
        let x = row[(meta & FEATURE_MASK) as usize];
        let dl = u32::from((meta & DEFAULT_LEFT) != 0);
        let right: u32 = match (meta >> KIND_SHIFT) & 7 {
            0 => {
                // x < t left; NaN to the default side.
                let nan = u32::from(x.is_nan());
                (1 - u32::from(x < n.value)) * (1 - nan) + nan * (1 - dl)
            }
            2 => {
                if x.is_nan() || x.abs() <= ZERO_THRESHOLD {
                    1 - dl
                } else {
                    1 - u32::from(x < n.value)
                }
            }
            3 => {
                // LightGBM: members left; NaN and negative codes right.
                if x.is_nan() || x < 0.0 {
                    1
                } else {
                    1 - u32::from(self.in_set(n.value.to_bits() as u32, x as u32))
                }
            }
            _ => {
                // XGBoost: members right; NaN to the default; invalid codes left.
                if x.is_nan() {
                    1 - dl
                } else if !(0.0..16_777_216.0).contains(&x) {
                    0
                } else {
                    u32::from(self.in_set(n.value.to_bits() as u32, x as u32))
                }
            }
        };
        n.left + (right & live)
    }

    #[inline(always)]
    fn in_set(&self, set: u32, code: u32) -> bool {
        let words = &self.cat_sets[set as usize];
        let w = (code / 32) as usize;
        w < words.len() && words[w] >> (code % 32) & 1 == 1
    }

    /// Leaf values of tree `t` for the rows of `block` (row-major, `nf` wide).
    /// Shallow trees: `LANES` rows in lockstep, each taking exactly the tree's
    /// depth in steps (no leaf test, independent loads in flight). Deep,
    /// unbalanced trees (LightGBM's leaf-wise growth): each row stops at its leaf.
    #[inline(always)]
    fn tree_leaves(&self, t: usize, block: &[f64], nf: usize, rows: usize, out: &mut [f64]) {
        let root = self.packed.roots[t];
        let depth = self.packed.depths[t];
        if self.packed.simple[t] {
            if depth > LOCKSTEP_MAX_DEPTH {
                lockstep_simple::<true>(&self.packed.nodes, root, depth, block, nf, rows, out);
            } else {
                lockstep_simple::<false>(&self.packed.nodes, root, depth, block, nf, rows, out);
            }
            return;
        }
        if depth > LOCKSTEP_MAX_DEPTH {
            for (r, o) in out.iter_mut().enumerate().take(rows) {
                let row = &block[r * nf..r * nf + nf];
                let mut i = root;
                loop {
                    let next = self.step(i, row);
                    if next == i {
                        break;
                    }
                    i = next;
                }
                *o = self.packed.nodes[i as usize].value;
            }
            return;
        }
        let mut r = 0;
        while r < rows {
            let lanes = (rows - r).min(LANES);
            let mut idx = [root; LANES];
            for _ in 0..depth {
                for (l, i) in idx.iter_mut().enumerate().take(lanes) {
                    let row = &block[(r + l) * nf..(r + l) * nf + nf];
                    *i = self.step(*i, row);
                }
            }
            for l in 0..lanes {
                out[r + l] = self.packed.nodes[idx[l] as usize].value;
            }
            r += lanes;
        }
    }

    /// Margins of every row: `rows × outputs`, row-major.
    pub fn margins(&self, x: &FeatureMatrix, threads: usize) -> Vec<f64> {
        self.margins_with(x, threads, Kernel::from_env())
    }

    /// Whether [`Kernel::Auto`] runs this forest on the vector kernel (a
    /// shallow `f32` forest of numeric splits, on a CPU with AVX-512F).
    pub fn is_vectorized(&self) -> bool {
        self.shallow.is_some() && shallow::available()
    }

    /// [`Forest::margins`] with a chosen kernel (tests and benchmarks compare them).
    ///
    /// Rows are handed out in chunks (about four per thread, at most
    /// [`CHUNK_ROWS`]) to whichever thread is free, the calling thread being
    /// one of them ([`lakescore_core::parallel::map_parallel`]): in a run the
    /// cores are shared with drift counting, decoding and writing, and a
    /// fixed half each left one core idle whenever the other half's thread
    /// was descheduled.
    pub fn margins_with(&self, x: &FeatureMatrix, threads: usize, kernel: Kernel) -> Vec<f64> {
        let mut out = vec![0.0; x.rows * self.outputs];
        let threads = threads.max(1).min(x.rows.div_ceil(BLOCK_ROWS).max(1));
        if threads == 1 {
            self.margins_range(x, kernel, 0, &mut out);
            return out;
        }
        // About four chunks per thread (whole blocks), at most CHUNK_ROWS.
        let chunk_rows = (x.rows.div_ceil(4 * threads).div_ceil(BLOCK_ROWS) * BLOCK_ROWS)
            .clamp(BLOCK_ROWS, CHUNK_ROWS);
        lakescore_core::parallel::map_parallel(
            out.chunks_mut(chunk_rows * self.outputs)
                .enumerate()
                .collect(),
            threads,
            |(i, chunk)| self.margins_range(x, kernel, i * chunk_rows, chunk),
        );
        out
    }

    /// Margins of rows `start..start + out.len() / outputs`.
    fn margins_range(&self, x: &FeatureMatrix, kernel: Kernel, start: usize, out: &mut [f64]) {
        if let (Some(s), Kernel::Auto) = (&self.shallow, kernel)
            && shallow::available()
        {
            s.margins_range(self, x, start, out);
            return;
        }
        let k = self.outputs;
        let nf = self.features;
        let rows = out.len() / k;
        let mut block = vec![0.0f64; BLOCK_ROWS * nf.max(1)];
        let mut acc32 = vec![0.0f32; BLOCK_ROWS * k];
        let mut acc64 = vec![0.0f64; BLOCK_ROWS * k];
        let mut leaves = vec![0.0f64; BLOCK_ROWS];
        let mut b = 0;
        while b < rows {
            let n = (rows - b).min(BLOCK_ROWS);
            // Row-major copy of the block (f32-rounded for XGBoost).
            for (f, col) in x.columns.iter().enumerate().take(nf) {
                let src = &col[start + b..start + b + n];
                for (r, &v) in src.iter().enumerate() {
                    block[r * nf + f] = match self.precision {
                        Precision::F32 => f64::from(v as f32),
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
                    for t in 0..self.roots.len() {
                        let g = self.tree_output[t] as usize;
                        let w = self.tree_weight.as_ref().map(|w| w[t] as f32);
                        self.tree_leaves(t, &block, nf, n, &mut leaves);
                        for r in 0..n {
                            let leaf = leaves[r] as f32;
                            acc32[r * k + g] += match w {
                                Some(w) => w * leaf,
                                None => leaf,
                            };
                        }
                    }
                    for (o, a) in out[b * k..(b + n) * k].iter_mut().zip(&acc32[..n * k]) {
                        *o = f64::from(*a);
                    }
                }
                Precision::F64 => {
                    for r in 0..n {
                        acc64[r * k..r * k + k].copy_from_slice(&self.base);
                    }
                    for t in 0..self.roots.len() {
                        let g = self.tree_output[t] as usize;
                        self.tree_leaves(t, &block, nf, n, &mut leaves);
                        match &self.tree_weight {
                            None => {
                                for r in 0..n {
                                    acc64[r * k + g] += leaves[r];
                                }
                            }
                            Some(w) => {
                                for r in 0..n {
                                    acc64[r * k + g] += w[t] * leaves[r];
                                }
                            }
                        }
                    }
                    out[b * k..(b + n) * k].copy_from_slice(&acc64[..n * k]);
                }
            }
            b += n;
        }
    }
}

/// The fast path: `LANES` rows at a time step together through a tree of
/// numeric splits (`x < t` left, NaN to the default side); leaves point at
/// themselves and mask their step. Shallow trees take exactly `depth` steps;
/// deep ones (`UNTIL_LEAVES`) stop once every lane is at a leaf. A short last
/// group repeats its last row.
#[inline(always)]
#[allow(unsafe_code)] // unchecked loads in the hot loop; bounds validated when the forest is built
fn lockstep_simple<const UNTIL_LEAVES: bool>(
    nodes: &[PackedNode],
    root: u32,
    depth: u32,
    block: &[f64],
    nf: usize,
    rows: usize,
    out: &mut [f64],
) {
    assert!(rows > 0 && block.len() >= rows * nf && out.len() >= rows);
    let mut r = 0;
    while r < rows {
        let mut base = [0usize; LANES];
        for (l, b) in base.iter_mut().enumerate() {
            *b = (r + l).min(rows - 1) * nf;
        }
        let mut idx = [root; LANES];
        for _ in 0..depth {
            let mut moving = 0u32;
            for l in 0..LANES {
                // SAFETY: `validate` checked every child index (within its tree)
                // and feature (< nf); `base[l] + feature < rows * nf <= block.len()`.
                let n = unsafe { *nodes.get_unchecked(idx[l] as usize) };
                let x = unsafe { *block.get_unchecked(base[l] + (n.meta & FEATURE_MASK) as usize) };
                let live = u32::from((n.meta & LEAF_BIT) == 0);
                let right = if x.is_nan() {
                    u32::from((n.meta & DEFAULT_LEFT) == 0)
                } else {
                    u32::from(x >= n.value)
                };
                idx[l] = n.left + (right & live);
                moving |= live;
            }
            if UNTIL_LEAVES && moving == 0 {
                break;
            }
        }
        for l in 0..LANES.min(rows - r) {
            out[r + l] = nodes[idx[l] as usize].value;
        }
        r += LANES;
    }
}

/// Which kernel walks the trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// The fastest this CPU runs for the forest: the vector kernel where it
    /// applies, else the reference walk.
    Auto,
    /// The portable walk over 16-byte nodes, which every forest can take and
    /// every other kernel is tested against.
    Reference,
}

impl Kernel {
    /// `LAKESCORE_FOREST_KERNEL` (`auto` or `reference`), else
    /// [`Kernel::Auto`]: how benchmarks and bug reports pick a kernel.
    pub fn from_env() -> Kernel {
        match std::env::var("LAKESCORE_FOREST_KERNEL").as_deref() {
            Ok("reference") => Kernel::Reference,
            _ => Kernel::Auto,
        }
    }
}

/// Threads for model evaluation: `LAKESCORE_THREADS`, else every core.
pub fn threads() -> usize {
    std::env::var("LAKESCORE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(std::num::NonZero::get)
        })
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
        let mut f = Forest::new(1, 2, Precision::F64, vec![0.0]);
        f.nodes = nodes;
        f.roots = vec![0];
        f.tree_output = vec![0];
        f.cat_sets = vec![bitset([1, 3])];
        f.validate().unwrap();
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
    fn too_many_trees_or_too_deep_a_tree_is_refused() {
        let split = |i: u32| Node {
            value: 0.5,
            left: i + 1,
            right: i + 2,
            feature: 0,
            split: Split::NumNanDefault,
            default_left: true,
            cat_set: 0,
        };
        // A chain one level deeper than the limit: split, leaf, split, leaf, ...
        let mut chain = Forest::new(1, 1, Precision::F64, vec![0.0]);
        for level in 0..=MAX_DEPTH {
            let i = 2 * level;
            chain.nodes.push(split(i));
            chain.nodes.push(Node::leaf(1.0));
            chain.nodes[i as usize].left = i + 1;
            chain.nodes[i as usize].right = i + 2;
        }
        chain.nodes.push(Node::leaf(2.0));
        chain.roots = vec![0];
        chain.tree_output = vec![0];
        let err = chain.validate().unwrap_err();
        assert!(err.contains("levels deep"), "{err}");

        let mut many = Forest::new(1, 1, Precision::F64, vec![0.0]);
        many.nodes = vec![Node::leaf(0.0); MAX_TREES + 1];
        many.roots = (0..=MAX_TREES as u32).collect();
        many.tree_output = vec![0; MAX_TREES + 1];
        let err = many.validate().unwrap_err();
        assert!(err.contains("trees is more than"), "{err}");
    }

    /// Several chunks, the last one partial, over fewer and more threads.
    #[test]
    fn threads_give_the_same_margins() {
        let (f, x) = forest(3 * CHUNK_ROWS + 1_007);
        assert_eq!(f.margins(&x, 1), f.margins(&x, 2));
        assert_eq!(f.margins(&x, 1), f.margins(&x, 7));
    }

    /// A random forest of numeric splits: `trees` trees of up to `depth`
    /// levels (random early leaves), thresholds drawn from a small grid so
    /// that inputs hit them exactly, random NaN sides, `outputs` classes.
    fn random_forest(
        seed: u64,
        trees: usize,
        depth: u32,
        outputs: usize,
        precision: Precision,
    ) -> Forest {
        let mut rng = Rng(seed);
        let features = 7;
        let mut f = Forest::new(outputs, features, precision, vec![0.25; outputs]);
        fn grow(f: &mut Forest, rng: &mut Rng, level: u32, depth: u32) -> u32 {
            let at = f.nodes.len() as u32;
            if level == depth || (level > 0 && rng.below(5) == 0) {
                f.nodes.push(Node::leaf(rng.grid() * 0.37));
                return at;
            }
            f.nodes.push(Node::leaf(0.0));
            let split = if rng.below(4) == 0 {
                Split::NumNanAsZero
            } else {
                Split::NumNanDefault
            };
            let left = grow(f, rng, level + 1, depth);
            let right = grow(f, rng, level + 1, depth);
            f.nodes[at as usize] = Node {
                value: rng.grid(),
                left,
                right,
                feature: rng.below(7) as u32,
                split,
                default_left: rng.below(2) == 0,
                cat_set: 0,
            };
            at
        }
        for t in 0..trees {
            f.roots.push(f.nodes.len() as u32);
            f.tree_output.push((t % outputs) as u32);
            grow(&mut f, &mut rng, 0, depth);
        }
        f
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// A value on a grid of quarters in [-3, 3), sometimes nudged off it.
        fn grid(&mut self) -> f64 {
            let v = self.below(24) as f64 / 4.0 - 3.0;
            if self.below(6) == 0 { v + 1e-9 } else { v }
        }
    }

    fn random_rows(seed: u64, rows: usize) -> FeatureMatrix {
        let mut rng = Rng(seed);
        let columns = (0..7)
            .map(|_| {
                (0..rows)
                    .map(|_| match rng.below(20) {
                        0 => f64::NAN,
                        1 => 0.0,
                        2 => -0.0,
                        3 => 1e-36,
                        4 => f64::INFINITY,
                        _ => rng.grid(),
                    })
                    .collect()
            })
            .collect();
        FeatureMatrix { rows, columns }
    }

    #[test]
    fn every_kernel_gives_the_reference_bits() {
        for (seed, depth, outputs, precision, weighted) in [
            (1, 6, 1, Precision::F32, false),
            (2, 3, 3, Precision::F32, true),
            (3, 5, 1, Precision::F32, false),
            (4, 1, 2, Precision::F32, false),
            (5, 6, 1, Precision::F32, true),
            (6, 7, 1, Precision::F32, false),
            (7, 6, 1, Precision::F64, false),
        ] {
            let mut f = random_forest(seed, 40, depth, outputs, precision);
            // A tree that is a single leaf (XGBoost writes them).
            f.roots.push(f.nodes.len() as u32);
            f.tree_output.push(0);
            f.nodes.push(Node::leaf(0.75));
            if weighted {
                f.tree_weight = Some((0..41).map(|t| 0.5 + f64::from(t) / 64.0).collect());
            }
            // Thresholds are `f32` values, as XGBoost's are.
            for n in &mut f.nodes {
                n.value = f64::from(n.value as f32);
            }
            f.validate().unwrap();
            let vectorized = depth <= 6 && precision == Precision::F32 && shallow::available();
            assert_eq!(f.is_vectorized(), vectorized, "seed {seed}");
            // Block edges: a partial vector, a partial block, several blocks.
            for rows in [1, 17, 300, 1000] {
                let x = random_rows(seed * 31 + rows as u64, rows);
                let want = f.margins_with(&x, 1, Kernel::Reference);
                for (kernel, threads) in [(Kernel::Auto, 1), (Kernel::Auto, 3)] {
                    let got = f.margins_with(&x, threads, kernel);
                    let same = want
                        .iter()
                        .zip(&got)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(
                        same,
                        "seed {seed} rows {rows} {kernel:?} x{threads}: differs"
                    );
                }
            }
        }
    }

    #[test]
    fn categorical_forests_keep_the_reference_layout() {
        let (f, x) = forest(100);
        assert!(!f.is_vectorized());
        assert_eq!(
            f.margins_with(&x, 1, Kernel::Auto),
            f.margins_with(&x, 1, Kernel::Reference)
        );
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
