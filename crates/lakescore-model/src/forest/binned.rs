//! The binned walk, for deep forests of numeric splits (LightGBM's
//! leaf-wise trees): each input is mapped once per row to its bin among the
//! forest's own split points for that feature, and a lane takes the next row
//! as soon as its row reaches a leaf.
//!
//! - A feature's cuts are its splits' distinct thresholds, sorted. An input
//!   `x`'s bin is the number of cuts `<= x`, so `x >= t` (right) exactly when
//!   the bin is at least the node's `q`, one more than the number of cuts
//!   below `t`. NaN takes bin [`NAN_BIN`], above every other, and the node's
//!   default-left bit sends it back left.
//! - Each row's bins are 2 bytes a feature (the reference walk's row is 8),
//!   followed by one slot where the walk leaves the row's leaf: a block of
//!   [`BLOCK_ROWS`] rows fits in L1 beside the tree being walked.
//! - Nodes are 8 bytes: a split (left child from the tree's root, feature,
//!   default-left bit, whether each child is a leaf, `q`) or a leaf's value.
//!   A split knows which children are leaves, so a lane never stands on a
//!   leaf: the step that reaches one records it and takes the next row. The
//!   leaf values are then read from the nodes the walk just brought into
//!   cache.
//! - Why: in LightGBM's trees of 255 leaves (the README's benchmark), rows
//!   reach their leaves after 5.7 steps on average, but eight rows in
//!   lockstep wait for the deepest of them, 12.4 steps. Lanes that take the
//!   next row waste no step; four lanes keep their state in registers (eight
//!   spilled to the stack and were no faster).
//! - For shallow or balanced trees lockstep wastes little and the reference
//!   walk's simpler step wins (XGBoost of depth 6: the binned walk ran at
//!   0.55x), so [`super::Kernel::Auto`] takes this walk for deep forests only.
//!
//! The inputs are rounded as the reference walk rounds them before binning
//! (`f32` for XGBoost, |x| <= 1e-35 to 0 for LightGBM), so both walks compare
//! the same values and give the same bits.

#![allow(unsafe_code)] // unchecked loads in the hot loop; offsets bounded by construction (SAFETY notes)

use super::{DEFAULT_LEFT, FEATURE_MASK, Forest, LEAF_BIT, Packed, Sums};
use crate::FeatureMatrix;

/// Rows binned and walked together.
const BLOCK_ROWS: usize = 512;
/// Rows walked together, each lane taking the next row when its row is done.
const LANES: usize = 4;
/// The bin of NaN.
const NAN_BIN: u16 = u16::MAX;
/// A node's default-left bit, beside its feature.
const NODE_DEFAULT_LEFT: u16 = 1 << 15;
/// The node's left child is a leaf (the right child: the next bit).
const LEFT_LEAF_SHIFT: u16 = 13;
/// The feature's bits in [`Node::feature`].
const FEATURE_BITS: u16 = (1 << LEFT_LEAF_SHIFT) - 1;

/// A split, or a leaf's value: a walk never stands on a leaf (a split
/// knows which of its children are leaves).
#[derive(Clone, Copy)]
#[repr(C)]
union Node {
    split: Split,
    leaf: f64,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: both fields are plain bits.
        write!(f, "{:#018x}", unsafe { self.leaf.to_bits() })
    }
}

#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Split {
    /// Left child (right is `left + 1`), from the tree's root.
    left: u32,
    /// Feature ([`FEATURE_BITS`]), whether the left and right children are
    /// leaves (from [`LEFT_LEAF_SHIFT`]), and [`NODE_DEFAULT_LEFT`].
    feature: u16,
    /// Bins at least this go right.
    q: u16,
}

/// A forest compiled for the binned walk.
#[derive(Debug, Clone)]
pub(super) struct Binned {
    nodes: Vec<Node>,
    /// Where each tree's nodes end.
    ends: Vec<u32>,
    /// Per feature, its sorted distinct thresholds (empty for unused features).
    cuts: Vec<Vec<f64>>,
    /// Features some split reads.
    used: Vec<usize>,
    /// Bins per row: every feature, then the row's leaf in the tree being
    /// walked.
    width: usize,
}

impl Binned {
    /// The binned layout of `forest`, or `None` unless every split is numeric
    /// with NaN to a side, there are fewer than 8,191 features, fewer than
    /// 65,535 cuts per feature and at most 65,536 nodes per tree.
    pub(super) fn compile(forest: &Forest, packed: &Packed) -> Option<Binned> {
        if !packed.simple.iter().all(|&s| s) || forest.features >= usize::from(FEATURE_BITS) {
            return None;
        }
        let mut ends: Vec<u32> = packed.roots.iter().skip(1).copied().collect();
        ends.push(packed.nodes.len() as u32);
        // A row's leaf is kept in 16 bits.
        if packed
            .roots
            .iter()
            .zip(&ends)
            .any(|(&r, &e)| e - r > 1 << 16)
        {
            return None;
        }
        let mut cuts: Vec<Vec<f64>> = vec![Vec::new(); forest.features];
        for n in &packed.nodes {
            if n.meta & LEAF_BIT == 0 && !n.value.is_nan() {
                cuts[(n.meta & FEATURE_MASK) as usize].push(n.value);
            }
        }
        for c in &mut cuts {
            c.sort_by(f64::total_cmp);
            // -0.0 and 0.0 are one cut: they compare equal.
            c.dedup_by(|a, b| a == b);
            if c.len() >= usize::from(NAN_BIN) {
                return None;
            }
        }
        let is_leaf = |i: u32| packed.nodes[i as usize].meta & LEAF_BIT != 0;
        let mut nodes = Vec::with_capacity(packed.nodes.len());
        for (&root, &end) in packed.roots.iter().zip(&ends) {
            for n in &packed.nodes[root as usize..end as usize] {
                if n.meta & LEAF_BIT != 0 {
                    nodes.push(Node { leaf: n.value });
                    continue;
                }
                let f = (n.meta & FEATURE_MASK) as usize;
                // A NaN threshold sends every number left: `q` above their bins.
                let q = if n.value.is_nan() {
                    NAN_BIN
                } else {
                    cuts[f].partition_point(|&c| c < n.value) as u16 + 1
                };
                let flags = if n.meta & DEFAULT_LEFT != 0 {
                    NODE_DEFAULT_LEFT
                } else {
                    0
                } | u16::from(is_leaf(n.left)) << LEFT_LEAF_SHIFT
                    | u16::from(is_leaf(n.left + 1)) << (LEFT_LEAF_SHIFT + 1);
                nodes.push(Node {
                    split: Split {
                        left: n.left - root,
                        feature: f as u16 | flags,
                        q,
                    },
                });
            }
        }
        let used = (0..forest.features)
            .filter(|&f| !cuts[f].is_empty())
            .collect();
        Some(Binned {
            nodes,
            ends,
            cuts,
            used,
            width: forest.features + 1,
        })
    }

    /// Margins of rows `start..start + out.len() / outputs`.
    pub(super) fn margins_range(
        &self,
        forest: &Forest,
        x: &FeatureMatrix,
        start: usize,
        out: &mut [f64],
    ) {
        let k = forest.outputs;
        let rows = out.len() / k;
        let w = self.width;
        let slot = w - 1;
        // Unused features stay bin 0; one row past the block for lanes
        // that have no row left.
        let mut block = vec![0u16; (BLOCK_ROWS + 1) * w];
        let mut sums = Sums::new(BLOCK_ROWS, k);
        let mut b = 0;
        while b < rows {
            let n = (rows - b).min(BLOCK_ROWS);
            for &f in &self.used {
                let cuts = &self.cuts[f];
                for (r, &v) in x.columns[f][start + b..start + b + n].iter().enumerate() {
                    let v = forest.precision.input(v);
                    block[r * w + f] = if v.is_nan() {
                        NAN_BIN
                    } else {
                        cuts.partition_point(|&c| c <= v) as u16
                    };
                }
            }
            forest.add_trees(n, &mut out[b * k..(b + n) * k], &mut sums, |t, leaves| {
                let root = forest.packed.roots[t];
                let tree = &self.nodes[root as usize..self.ends[t] as usize];
                if forest.packed.nodes[root as usize].meta & LEAF_BIT != 0 {
                    // SAFETY: a leaf holds its value.
                    leaves.fill(unsafe { tree[0].leaf });
                    return;
                }
                walk(tree, &mut block, w, n);
                for (r, leaf) in leaves.iter_mut().enumerate() {
                    // SAFETY: the walk left each row's leaf, which holds its value.
                    *leaf = unsafe { tree[usize::from(block[r * w + slot])].leaf };
                }
            });
            b += n;
        }
    }
}

/// Walks the tree whose nodes are `tree` for the first `rows` rows of
/// `block` (`w` wide, at least `rows + 1` rows) and leaves each row's leaf,
/// from the root, in the row's last slot. `LANES` rows step together; a lane
/// takes the next row as soon as its row reaches a leaf, and once none is
/// left, the row past the last (whose leaf is ignored).
#[inline(always)]
fn walk(tree: &[Node], block: &mut [u16], w: usize, rows: usize) {
    assert!(block.len() > rows * w && w >= 1);
    let slot = w - 1;
    let end = rows * w;
    let mut base: [usize; LANES] = std::array::from_fn(|l| (l * w).min(end));
    let mut idx = [0u32; LANES];
    // One step of lane `l`: its next node, and whether that is a leaf (the
    // row's leaf is then in its slot).
    let mut step = |l: usize, base: &[usize; LANES], idx: &[u32; LANES]| {
        // SAFETY: `idx[l]` is always a split (the root, or a child that is
        // not a leaf), `compile` made every child index point within its tree
        // and every feature < `w - 1`, and `base[l] <= end < block.len() -
        // slot`.
        let n = unsafe { tree.get_unchecked(idx[l] as usize).split };
        let f = usize::from(n.feature & FEATURE_BITS);
        let bin = unsafe { *block.get_unchecked(base[l] + f) };
        let nan_left = u16::from(bin == NAN_BIN) & (n.feature >> 15);
        let right = u16::from(bin >= n.q) ^ nan_left;
        let next = n.left + u32::from(right);
        unsafe { *block.get_unchecked_mut(base[l] + slot) = next as u16 };
        (next, (n.feature >> (LEFT_LEAF_SHIFT + right)) & 1 != 0)
    };
    let mut next_base = LANES * w;
    while next_base < end {
        for l in 0..LANES {
            let (next, leaf) = step(l, &base, &idx);
            base[l] = if leaf { next_base.min(end) } else { base[l] };
            idx[l] = if leaf { 0 } else { next };
            next_base += if leaf { w } else { 0 };
        }
    }
    // No row left to take: lanes finish theirs and move to the row past
    // the last.
    let mut live: u32 = (0..LANES).map(|l| u32::from(base[l] < end) << l).sum();
    while live != 0 {
        for l in 0..LANES {
            let (next, leaf) = step(l, &base, &idx);
            base[l] = if leaf { end } else { base[l] };
            idx[l] = if leaf { 0 } else { next };
            live &= !(u32::from(leaf) << l);
        }
    }
}
