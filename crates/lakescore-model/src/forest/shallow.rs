//! The AVX-512 kernel for shallow `f32` forests (XGBoost's default depth of
//! 6 or less, numeric splits): 16 rows per vector, four vectors in flight,
//! and no gathers (they cost about two cycles per element on the CPUs this
//! was measured on, more than the scalar walk they would replace).
//!
//! - Each tree is a perfect tree: level `l` holds `2^l` split positions,
//!   position `p`'s children are `2p` and `2p + 1`, and a leaf above the last
//!   level becomes splits that always go left (threshold NaN, NaN left).
//! - A level's split words and thresholds (up to 32) sit in one or two
//!   vector registers: a row's split is a permute by its position.
//! - A row's input for its split is chosen among the level's distinct
//!   features: a compare of the split's feature and a masked load of that
//!   feature's 16 rows from the column-major block.
//! - `x >= t` goes right, NaN to the split's side: `_CMP_GE_OQ` (NaN false)
//!   where NaN goes left, `_CMP_NLT_UQ` (NaN true) where it goes right.
//! - Leaves (up to 64) are permuted from four registers, added to the
//!   margins in `f32` in tree order, as XGBoost and the reference walk do.
//!
//! Chosen at run time on CPUs with AVX-512F; elsewhere (and for deeper or
//! `f64` forests) the reference walk runs. Both give the same bits.

#![allow(unsafe_code)] // SIMD intrinsics and masked loads; offsets bounded by construction (SAFETY notes)

use super::{FEATURE_MASK, Forest, LEAF_BIT, Packed, Precision};
use crate::FeatureMatrix;

/// Trees up to this depth take the kernel.
const MAX_DEPTH: u32 = 6;
/// Rows converted and walked together (a multiple of [`GROUP`]).
const BLOCK: usize = 256;
/// Rows in flight: four vectors of 16.
const GROUP: usize = 64;
/// Where each level's positions start in [`Tree::split`] / [`Tree::threshold`]:
/// levels 0 to 4 are padded to one register (16), level 5 fills two.
const LEVEL_AT: [usize; 6] = [0, 16, 32, 48, 64, 80];
/// The split word's NaN-goes-left bit.
const NAN_LEFT: u32 = 1 << 31;
/// A feature no input has: an always-left split reads nothing.
const NO_FEATURE: u32 = NAN_LEFT - 1;

/// One tree in registers' layout.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Tree {
    /// Per position: feature, plus [`NAN_LEFT`].
    split: [u32; 112],
    threshold: [f32; 112],
    leaves: [f32; 64],
    depth: u32,
    output: u32,
    /// `features[levels[l]..levels[l + 1]]`: the distinct features level `l` reads.
    levels: [u32; 7],
}

/// A forest compiled for the shallow kernel.
#[derive(Debug, Clone)]
pub(super) struct Shallow {
    trees: Vec<Tree>,
    features: Vec<u32>,
    /// Features some split reads (converted into the block).
    used: Vec<usize>,
    weights: Option<Vec<f32>>,
}

impl Shallow {
    /// The shallow layout of `forest`, or `None` unless it is an `f32` forest
    /// of numeric splits with every tree at most [`MAX_DEPTH`] deep.
    pub(super) fn compile(forest: &Forest, packed: &Packed) -> Option<Shallow> {
        if forest.precision != Precision::F32
            || !packed.simple.iter().all(|&s| s)
            || packed.depths.iter().any(|&d| d > MAX_DEPTH)
            || forest.features >= NO_FEATURE as usize
        {
            return None;
        }
        let mut s = Shallow {
            trees: Vec::with_capacity(packed.roots.len()),
            features: Vec::new(),
            used: Vec::new(),
            weights: forest
                .tree_weight
                .as_ref()
                .map(|w| w.iter().map(|&v| v as f32).collect()),
        };
        let mut used = vec![false; forest.features];
        for (t, &root) in packed.roots.iter().enumerate() {
            let mut tree = Tree {
                split: [NO_FEATURE | NAN_LEFT; 112],
                threshold: [f32::NAN; 112],
                leaves: [0.0; 64],
                depth: packed.depths[t],
                output: forest.tree_output[t],
                levels: [0; 7],
            };
            fill(packed, &mut tree, root as usize, 0, 0)?;
            for (l, &at) in LEVEL_AT.iter().enumerate().take(tree.depth as usize) {
                tree.levels[l] = s.features.len() as u32;
                let mut level: Vec<u32> = tree.split[at..at + (1 << l)]
                    .iter()
                    .map(|w| w & !NAN_LEFT)
                    .filter(|&f| f != NO_FEATURE)
                    .collect();
                level.sort_unstable();
                level.dedup();
                for &f in &level {
                    used[f as usize] = true;
                }
                s.features.extend(level);
            }
            for l in tree.depth as usize..7 {
                tree.levels[l] = s.features.len() as u32;
            }
            s.trees.push(tree);
        }
        s.used = (0..forest.features).filter(|&f| used[f]).collect();
        Some(s)
    }

    /// Margins of rows `start..start + out.len() / outputs`. Call only where
    /// [`available`] is true.
    pub(super) fn margins_range(
        &self,
        forest: &Forest,
        x: &FeatureMatrix,
        start: usize,
        out: &mut [f64],
    ) {
        assert!(available(), "the shallow kernel needs AVX-512F");
        let k = forest.outputs;
        let rows = out.len() / k;
        let mut block = vec![0.0f32; BLOCK * forest.features];
        let mut acc = vec![0.0f32; BLOCK * k];
        let mut b = 0;
        while b < rows {
            let n = (rows - b).min(BLOCK);
            for &f in &self.used {
                let col = &mut block[f * BLOCK..f * BLOCK + n];
                for (c, &v) in col.iter_mut().zip(&x.columns[f][start + b..start + b + n]) {
                    *c = v as f32;
                }
            }
            for g in 0..k {
                acc[g * BLOCK..(g + 1) * BLOCK].fill(forest.base[g] as f32);
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512F is present (asserted above); `block` holds
            // `BLOCK` rows of every feature and `acc` `BLOCK` rows of every
            // output, and `n.next_multiple_of(GROUP) <= BLOCK`.
            unsafe {
                x86::add_trees(self, &block, n.next_multiple_of(GROUP), &mut acc);
            }
            for r in 0..n {
                for g in 0..k {
                    out[(b + r) * k + g] = f64::from(acc[g * BLOCK + r]);
                }
            }
            b += n;
        }
    }
}

/// Perfect-tree position `pos` at `level` takes packed node `src`.
fn fill(packed: &Packed, tree: &mut Tree, src: usize, level: u32, pos: usize) -> Option<()> {
    let node = packed.nodes[src];
    let leaf = node.meta & LEAF_BIT != 0;
    if level == tree.depth {
        tree.leaves[pos] = node.value as f32;
        return Some(());
    }
    let at = LEVEL_AT[level as usize] + pos;
    let (left, right) = if leaf {
        (src, src)
    } else {
        let t = node.value as f32;
        // XGBoost's thresholds are `f32`; anything else is not this kernel's.
        if f64::from(t) != node.value {
            return None;
        }
        let nan_left = node.meta & super::DEFAULT_LEFT != 0;
        tree.split[at] = (node.meta & FEATURE_MASK) | if nan_left { NAN_LEFT } else { 0 };
        tree.threshold[at] = t;
        (node.left as usize, node.left as usize + 1)
    };
    fill(packed, tree, left, level + 1, 2 * pos)?;
    fill(packed, tree, right, level + 1, 2 * pos + 1)
}

/// Whether this CPU runs the kernel.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m512, __m512i, _CMP_GE_OQ, _CMP_NLT_UQ, _mm512_add_epi32, _mm512_add_ps,
        _mm512_and_si512, _mm512_cmp_ps_mask, _mm512_cmpeq_epi32_mask, _mm512_loadu_ps,
        _mm512_loadu_si512, _mm512_mask_add_epi32, _mm512_mask_blend_ps, _mm512_mask_loadu_ps,
        _mm512_mul_ps, _mm512_permutex2var_epi32, _mm512_permutex2var_ps, _mm512_permutexvar_epi32,
        _mm512_permutexvar_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_setzero_si512, _mm512_storeu_ps, _mm512_test_epi32_mask,
    };

    use super::{BLOCK, GROUP, LEVEL_AT, NAN_LEFT, NO_FEATURE, Shallow};

    const V: usize = GROUP / 16;

    /// Adds every tree's leaves to `acc` (`outputs × BLOCK`, column-major) for
    /// the first `rows` rows (a multiple of [`GROUP`]) of `block` (`features ×
    /// BLOCK`, column-major `f32`).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_trees(s: &Shallow, block: &[f32], rows: usize, acc: &mut [f32]) {
        assert!(rows.is_multiple_of(GROUP) && rows <= BLOCK);
        let one = _mm512_set1_epi32(1);
        let feature_bits = _mm512_set1_epi32(NO_FEATURE as i32);
        let nan_left_bit = _mm512_set1_epi32(NAN_LEFT as i32);
        let bit5 = _mm512_set1_epi32(32);
        for (t, tree) in s.trees.iter().enumerate() {
            let out = &mut acc[tree.output as usize * BLOCK..][..BLOCK];
            // Unaligned loads below; `Tree` is 64-byte aligned anyway.
            #[allow(clippy::cast_ptr_alignment)]
            let split = tree.split.as_ptr().cast::<__m512i>();
            let threshold = tree.threshold.as_ptr();
            // SAFETY (loads from `split`, `threshold`, `leaves`): `Tree` holds
            // 112 positions and 64 leaves; every offset below is a multiple of
            // 16 within them.
            let leaves: [__m512; 4] = std::array::from_fn(|i| unsafe {
                _mm512_loadu_ps(tree.leaves.as_ptr().add(16 * i))
            });
            let mut r = 0;
            while r < rows {
                let mut idx = [_mm512_setzero_si512(); V];
                for (l, &at) in LEVEL_AT.iter().enumerate().take(tree.depth as usize) {
                    let (words, thresholds): ([__m512i; V], [__m512; V]) = unsafe {
                        if l < 5 {
                            let w = _mm512_loadu_si512(split.add(at / 16));
                            let th = _mm512_loadu_ps(threshold.add(at));
                            (
                                std::array::from_fn(|v| _mm512_permutexvar_epi32(idx[v], w)),
                                std::array::from_fn(|v| _mm512_permutexvar_ps(idx[v], th)),
                            )
                        } else {
                            let (w0, w1) = (
                                _mm512_loadu_si512(split.add(at / 16)),
                                _mm512_loadu_si512(split.add(at / 16 + 1)),
                            );
                            let (t0, t1) = (
                                _mm512_loadu_ps(threshold.add(at)),
                                _mm512_loadu_ps(threshold.add(at + 16)),
                            );
                            (
                                std::array::from_fn(|v| _mm512_permutex2var_epi32(w0, idx[v], w1)),
                                std::array::from_fn(|v| _mm512_permutex2var_ps(t0, idx[v], t1)),
                            )
                        }
                    };
                    let feature: [__m512i; V] =
                        std::array::from_fn(|v| _mm512_and_si512(words[v], feature_bits));
                    let mut x = [_mm512_setzero_ps(); V];
                    let level = &s.features[tree.levels[l] as usize..tree.levels[l + 1] as usize];
                    for &f in level {
                        let fv = _mm512_set1_epi32(f as i32);
                        let col = &block[f as usize * BLOCK + r..][..GROUP];
                        for v in 0..V {
                            let k = _mm512_cmpeq_epi32_mask(feature[v], fv);
                            // SAFETY: `col` holds GROUP = 16 * V values.
                            x[v] =
                                unsafe { _mm512_mask_loadu_ps(x[v], k, col.as_ptr().add(16 * v)) };
                        }
                    }
                    for v in 0..V {
                        let nan_left = _mm512_test_epi32_mask(words[v], nan_left_bit);
                        let ge = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x[v], thresholds[v]);
                        let nlt = _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(x[v], thresholds[v]);
                        let right = (nan_left & ge) | (!nan_left & nlt);
                        let twice = _mm512_add_epi32(idx[v], idx[v]);
                        idx[v] = _mm512_mask_add_epi32(twice, right, twice, one);
                    }
                }
                for (v, idx) in idx.iter().enumerate() {
                    let low = _mm512_permutex2var_ps(leaves[0], *idx, leaves[1]);
                    let high = _mm512_permutex2var_ps(leaves[2], *idx, leaves[3]);
                    let leaf = _mm512_mask_blend_ps(_mm512_test_epi32_mask(*idx, bit5), low, high);
                    let leaf = match &s.weights {
                        Some(w) => _mm512_mul_ps(_mm512_set1_ps(w[t]), leaf),
                        None => leaf,
                    };
                    let o = &mut out[r + 16 * v..][..16];
                    // SAFETY: `o` holds 16 values.
                    unsafe {
                        _mm512_storeu_ps(
                            o.as_mut_ptr(),
                            _mm512_add_ps(_mm512_loadu_ps(o.as_ptr()), leaf),
                        );
                    }
                }
                r += GROUP;
            }
        }
    }
}
