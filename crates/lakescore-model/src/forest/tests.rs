//! The forest's tests: routing, structure checks, and every kernel against
//! the reference walk on random forests.

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
        // LightGBM's leaf-wise trees: deep and unbalanced.
        (8, 18, 1, Precision::F64, false),
        (9, 14, 3, Precision::F64, true),
        (10, 16, 1, Precision::F32, false),
    ] {
        let mut f = random_forest(seed, 40, depth, outputs, precision);
        // A tree that is a single leaf (XGBoost writes them).
        f.roots.push(f.nodes.len() as u32);
        f.tree_output.push(0);
        f.nodes.push(Node::leaf(0.75));
        if weighted {
            f.tree_weight = Some((0..41).map(|t| 0.5 + f64::from(t) / 64.0).collect());
        }
        // Thresholds are `f32` values, as XGBoost's are; a few are -0.0, an
        // infinity, or (beyond the vector kernel, which refuses them) NaN.
        let vectorized = depth <= 6 && precision == Precision::F32 && shallow::available();
        for (i, n) in f.nodes.iter_mut().enumerate() {
            n.value = match i % 53 {
                7 if n.value == 0.0 => -0.0,
                11 => f64::INFINITY,
                13 => f64::NEG_INFINITY,
                17 if !vectorized => f64::NAN,
                _ => f64::from(n.value as f32),
            };
        }
        f.validate().unwrap();
        assert!(f.binned().is_some(), "seed {seed}: every split is numeric");
        assert_eq!(f.deep, depth >= 14, "seed {seed}: depth {depth}");
        assert_eq!(f.is_vectorized(), vectorized, "seed {seed}");
        // Block edges: a partial vector, a partial block, several blocks.
        for rows in [1, 3, 17, 300, 1000, 1100] {
            let x = random_rows(seed * 31 + rows as u64, rows);
            let want = f.margins_with(&x, 1, Kernel::Reference);
            for (kernel, threads) in [
                (Kernel::Auto, 1),
                (Kernel::Auto, 3),
                (Kernel::Binned, 1),
                (Kernel::Binned, 3),
            ] {
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

/// A tree of more than 65,536 nodes does not fit the binned walk's 16-bit
/// leaves: such a forest takes the reference walk.
#[test]
fn huge_trees_take_the_reference_walk() {
    let mut f = Forest::new(1, 2, Precision::F64, vec![0.0]);
    f.roots.push(0);
    f.tree_output.push(0);
    // A perfect tree of 2^16 leaves: 131,071 nodes.
    let leaves = 1u32 << 16;
    for i in 0..leaves - 1 {
        f.nodes.push(Node {
            value: f64::from(i % 7),
            left: 2 * i + 1,
            right: 2 * i + 2,
            feature: i % 2,
            split: Split::NumNanDefault,
            default_left: true,
            cat_set: 0,
        });
    }
    for i in 0..leaves {
        f.nodes.push(Node::leaf(f64::from(i)));
    }
    f.validate().unwrap();
    assert!(f.binned().is_none());
    let x = random_rows(5, 50);
    let x = FeatureMatrix {
        rows: 50,
        columns: x.columns[..2].to_vec(),
    };
    assert_eq!(
        f.margins_with(&x, 1, Kernel::Binned),
        f.margins_with(&x, 1, Kernel::Reference)
    );
}

#[test]
fn categorical_forests_keep_the_reference_layout() {
    let (f, x) = forest(100);
    assert!(!f.is_vectorized());
    assert!(f.binned().is_none());
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
