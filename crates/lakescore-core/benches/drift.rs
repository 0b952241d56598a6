//! Drift benchmark: 20 numeric features, a 200,000-row reference, a 2,000,000-row
//! current window scored in 65,536-row batches, as a run does it.
//!
//! `cargo bench --bench drift` prints the time to profile the reference and the
//! time to compute PSI, KS (statistic and p-value) and null-rate drift over the
//! window (`-- --metrics psi,ks,wasserstein,null_rate` to choose; `-- --threads 2`
//! to count columns on two threads, as a run does on a 2-core machine; `-- --repeat N`
//! to count the window N times and print the fastest). With `-- --write DIR` it also writes the same data to
//! `DIR/reference.npy` and `DIR/current.npy` (one row per feature), so that
//! `python benches/drift_scipy.py DIR` can time scipy's `ks_2samp` plus a numpy PSI
//! on identical inputs. Run both in one session and compare the ratio: absolute
//! times on shared machines are noise.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its figures

use std::time::Instant;

use lakescore_core::drift::profile::{ColumnKind, DEFAULT_BINS, DEFAULT_EXACT_CAP};
use lakescore_core::drift::{
    DriftAccumulator, Metric, MetricKind, ProfileBuilder, ReferenceProfile, Thresholds,
};

const FEATURES: usize = 20;
const REFERENCE_ROWS: usize = 200_000;
const CURRENT_ROWS: usize = 2_000_000;
const BATCH: usize = 65_536;

/// SplitMix64 + Box–Muller: deterministic normal samples.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Feature `f` of `rows` rows; `shift` moves half of the features in the current window.
/// Every 7th feature is rounded to integers (ties), 2% of values are missing.
fn column(rng: &mut Rng, f: usize, rows: usize, shift: bool) -> Vec<f64> {
    let (mu, sigma) = (f as f64, 1.0 + f as f64 / 10.0);
    let (mu, sigma) = if shift && f.is_multiple_of(2) {
        (mu + 0.1 * sigma, sigma * 1.1)
    } else {
        (mu, sigma)
    };
    (0..rows)
        .map(|_| {
            if rng.uniform() < 0.02 {
                return f64::NAN;
            }
            let v = mu + sigma * rng.normal();
            if f.is_multiple_of(7) { v.round() } else { v }
        })
        .collect()
}

/// `columns` as one `.npy` file (float64, one row per feature, NaN for a
/// missing value): numpy reads it with `np.load`, with no Parquet reader here.
fn write(dir: &std::path::Path, name: &str, columns: &[Vec<f64>]) {
    let rows = columns.first().map_or(0, Vec::len);
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {rows}), }}",
        columns.len()
    );
    // Magic, version 1.0, header length; the header ends in '\n' and pads the
    // preamble to a multiple of 64 bytes.
    let unpadded = 10 + dict.len() + 1;
    let header = format!(
        "{dict}{}\n",
        " ".repeat(unpadded.next_multiple_of(64) - unpadded)
    );
    let mut out = Vec::with_capacity(10 + header.len() + columns.len() * rows * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(
        &u16::try_from(header.len())
            .expect("a short header")
            .to_le_bytes(),
    );
    out.extend_from_slice(header.as_bytes());
    for c in columns {
        for v in c {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), out).unwrap();
}

/// One drift computation over the current window.
struct Timed {
    /// Seconds preparing the reference, counting the batches, and in all.
    prepare: f64,
    push: f64,
    total: f64,
    metrics: Vec<Metric>,
}

/// Times one drift computation over the current window.
fn count_window(
    profile: &ReferenceProfile,
    names: &[(String, ColumnKind)],
    current: &[Vec<f64>],
    thresholds: &Thresholds,
    threads: usize,
) -> Timed {
    let start = Instant::now();
    let mut acc = DriftAccumulator::with_threads(
        profile,
        names.iter().map(|(n, _)| n.clone()).collect(),
        thresholds,
        threads,
    );
    let prepare_secs = start.elapsed().as_secs_f64();
    let mut offset = 0;
    while offset < CURRENT_ROWS {
        let end = (offset + BATCH).min(CURRENT_ROWS);
        let batch: Vec<(usize, &[f64])> = current
            .iter()
            .enumerate()
            .map(|(i, c)| (i, &c[offset..end]))
            .collect();
        acc.push_numeric_many(&batch, threads);
        offset = end;
    }
    let push_secs = start.elapsed().as_secs_f64() - prepare_secs;
    let metrics = acc.finish(thresholds);
    let drift_secs = start.elapsed().as_secs_f64();
    Timed {
        prepare: prepare_secs,
        push: push_secs,
        total: drift_secs,
        metrics,
    }
}

/// The number after `name` on the command line (`--threads N`), 1 without it.
fn count_option(args: &[String], name: &str) -> usize {
    args.iter().position(|a| a == name).map_or(1, |i| {
        args[i + 1]
            .parse()
            .unwrap_or_else(|_| panic!("{name} takes a number"))
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let write_dir = args
        .iter()
        .position(|a| a == "--write")
        .map(|i| std::path::PathBuf::from(&args[i + 1]));

    let mut rng = Rng(42);
    let reference: Vec<Vec<f64>> = (0..FEATURES)
        .map(|f| column(&mut rng, f, REFERENCE_ROWS, false))
        .collect();
    let current: Vec<Vec<f64>> = (0..FEATURES)
        .map(|f| column(&mut rng, f, CURRENT_ROWS, true))
        .collect();
    if let Some(dir) = &write_dir {
        write(dir, "reference.npy", &reference);
        write(dir, "current.npy", &current);
        eprintln!("wrote {}/reference.npy and current.npy", dir.display());
    }
    let names: Vec<(String, ColumnKind)> = (0..FEATURES)
        .map(|f| (format!("f{f}"), ColumnKind::Numeric))
        .collect();

    let start = Instant::now();
    let mut builder = ProfileBuilder::new(names.clone(), DEFAULT_EXACT_CAP, DEFAULT_BINS);
    builder.add_rows(REFERENCE_ROWS);
    for (i, c) in reference.iter().enumerate() {
        builder.push_numeric(i, c);
    }
    let profile = builder.finish("bench");
    let profile_secs = start.elapsed().as_secs_f64();

    // `--metrics psi,ks,null_rate` by default: what benches/drift_scipy.py computes.
    let metric_names = match args.iter().position(|a| a == "--metrics") {
        Some(i) => args[i + 1].clone(),
        None => "psi,ks,null_rate".to_string(),
    };
    let metrics: Vec<MetricKind> = metric_names
        .split(',')
        .map(|m| m.parse().expect("a drift metric"))
        .collect();
    let thresholds = Thresholds {
        metrics,
        ..Thresholds::default()
    };
    let threads = count_option(&args, "--threads");
    let repeat = count_option(&args, "--repeat");
    // Each repetition counts the whole window again; the fastest is printed,
    // the least disturbed by whatever else shares the machine.
    let best = (0..repeat.max(1))
        .map(|_| count_window(&profile, &names, &current, &thresholds, threads))
        .min_by(|a, b| a.total.total_cmp(&b.total))
        .expect("at least one repetition");
    let Timed {
        prepare: prepare_secs,
        push: push_secs,
        total: drift_secs,
        metrics,
    } = best;
    let alerts = metrics.iter().filter(|m| m.alert).count();
    println!(
        "lakescore drift: {FEATURES} features, reference {REFERENCE_ROWS} rows, current {CURRENT_ROWS} rows in batches of {BATCH}"
    );
    println!("  profile reference: {profile_secs:.3} s");
    println!(
        "  drift ({}), {threads} thread(s): {drift_secs:.3} s ({alerts} alerts; {prepare_secs:.3} s preparing the reference, {push_secs:.3} s counting the batches, {:.3} s computing the metrics)",
        metric_names.replace(',', ", "),
        drift_secs - push_secs - prepare_secs
    );
    for m in metrics
        .iter()
        .filter(|m| m.feature == "f0" || m.feature == "f1")
    {
        println!(
            "    {} {} = {:?} (p {:?})",
            m.feature, m.metric, m.value, m.p_value
        );
    }
}
