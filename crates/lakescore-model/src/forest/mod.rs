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

mod binned;
mod shallow;

use std::sync::OnceLock;

use binned::Binned;
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
    /// The binned layout, for forests of numeric splits: built by
    /// [`Forest::validate`] for deep forests (which [`Kernel::Auto`] walks
    /// with it), on first use for the others (only [`Kernel::Binned`] asks).
    binned: OnceLock<Option<Box<Binned>>>,
    /// Whether [`Kernel::Auto`] takes the binned walk: the trees are more
    /// than [`LOCKSTEP_MAX_DEPTH`] levels deep on average (leaf-wise), and
    /// lanes in lockstep would mostly wait for the deepest row.
    deep: bool,
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
/// Deeper trees are walked until every lane reaches a leaf, and forests of
/// deeper trees on average take the binned walk.
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
            binned: OnceLock::new(),
            deep: false,
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
        let depths: u64 = self.packed.depths.iter().map(|&d| u64::from(d)).sum();
        self.deep = depths > u64::from(LOCKSTEP_MAX_DEPTH) * self.packed.depths.len() as u64;
        self.binned = OnceLock::new();
        if self.deep {
            self.binned();
        }
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

    /// The binned layout, built on first use; `None` unless every split is
    /// numeric (see [`Binned::compile`]).
    fn binned(&self) -> Option<&Binned> {
        self.binned
            .get_or_init(|| Binned::compile(self, &self.packed).map(Box::new))
            .as_deref()
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
        if (kernel == Kernel::Binned || kernel == Kernel::Auto && self.deep)
            && let Some(b) = self.binned()
        {
            b.margins_range(self, x, start, out);
            return;
        }
        let k = self.outputs;
        let nf = self.features;
        let rows = out.len() / k;
        let mut block = vec![0.0f64; BLOCK_ROWS * nf.max(1)];
        let mut sums = Sums::new(BLOCK_ROWS, k);
        let mut b = 0;
        while b < rows {
            let n = (rows - b).min(BLOCK_ROWS);
            // Row-major copy of the block (f32-rounded for XGBoost).
            for (f, col) in x.columns.iter().enumerate().take(nf) {
                let src = &col[start + b..start + b + n];
                for (r, &v) in src.iter().enumerate() {
                    block[r * nf + f] = self.precision.input(v);
                }
            }
            self.add_trees(n, &mut out[b * k..(b + n) * k], &mut sums, |t, leaves| {
                self.tree_leaves(t, &block, nf, n, leaves);
            });
            b += n;
        }
    }

    /// The margins of a block's `n` rows into `out` (`n × outputs`, row-major):
    /// `tree_leaves(t, leaves)` gives tree `t`'s leaf value for each row,
    /// added in tree order in the library's precision.
    fn add_trees(
        &self,
        n: usize,
        out: &mut [f64],
        sums: &mut Sums,
        mut tree_leaves: impl FnMut(usize, &mut [f64]),
    ) {
        let k = self.outputs;
        let leaves = &mut sums.leaves[..n];
        match self.precision {
            Precision::F32 => {
                let acc = &mut sums.acc32[..n * k];
                for (a, g) in acc.iter_mut().zip((0..k).cycle()) {
                    *a = self.base[g] as f32;
                }
                for t in 0..self.roots.len() {
                    let g = self.tree_output[t] as usize;
                    let w = self.tree_weight.as_ref().map(|w| w[t] as f32);
                    tree_leaves(t, leaves);
                    for (r, &leaf) in leaves.iter().enumerate() {
                        let leaf = leaf as f32;
                        acc[r * k + g] += match w {
                            Some(w) => w * leaf,
                            None => leaf,
                        };
                    }
                }
                for (o, a) in out.iter_mut().zip(acc.iter()) {
                    *o = f64::from(*a);
                }
            }
            Precision::F64 => {
                for r in 0..n {
                    out[r * k..r * k + k].copy_from_slice(&self.base);
                }
                for t in 0..self.roots.len() {
                    let g = self.tree_output[t] as usize;
                    tree_leaves(t, leaves);
                    match &self.tree_weight {
                        None => {
                            for (r, &leaf) in leaves.iter().enumerate() {
                                out[r * k + g] += leaf;
                            }
                        }
                        Some(w) => {
                            for (r, &leaf) in leaves.iter().enumerate() {
                                out[r * k + g] += w[t] * leaf;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A thread's buffers for [`Forest::add_trees`].
struct Sums {
    acc32: Vec<f32>,
    leaves: Vec<f64>,
}

impl Sums {
    fn new(rows: usize, outputs: usize) -> Sums {
        Sums {
            acc32: vec![0.0; rows * outputs],
            leaves: vec![0.0; rows],
        }
    }
}

impl Precision {
    /// Input `v` as the library compares it: rounded to `f32` (XGBoost), or
    /// 0 where |v| <= 1e-35 (LightGBM reads rows as sparse pairs and drops
    /// such values).
    #[inline(always)]
    fn input(self, v: f64) -> f64 {
        match self {
            Precision::F32 => f64::from(v as f32),
            Precision::F64 if v.abs() <= ZERO_THRESHOLD => 0.0,
            Precision::F64 => v,
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
    /// applies, the binned walk for deep forests of numeric splits (trees
    /// more than 12 levels deep on average, as LightGBM's of 255 leaves
    /// are), else the reference walk.
    Auto,
    /// The portable walk over 16-byte nodes, which every forest can take and
    /// every other kernel is tested against.
    Reference,
    /// The binned walk where the forest has one (numeric splits), else the
    /// reference walk. [`Kernel::Auto`] takes it for deep forests.
    Binned,
}

impl Kernel {
    /// `LAKESCORE_FOREST_KERNEL` (`auto`, `binned` or `reference`), else
    /// [`Kernel::Auto`]: how benchmarks and bug reports pick a kernel.
    pub fn from_env() -> Kernel {
        match std::env::var("LAKESCORE_FOREST_KERNEL").as_deref() {
            Ok("reference") => Kernel::Reference,
            Ok("binned") => Kernel::Binned,
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
mod tests;
