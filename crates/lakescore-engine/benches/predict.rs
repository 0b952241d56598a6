//! Prediction benchmark: lakescore's forest evaluator against the libraries'
//! own predict, on the same models and rows.
//!
//! `python benches/predict_python.py make DIR` trains the two benchmark models
//! (XGBoost: 200 trees of depth 6, binary, 20 features; LightGBM: 500 trees of
//! 255 leaves) and writes 1,000,000 scoring rows; `python
//! benches/predict_python.py time DIR` times XGBoost's `inplace_predict` and
//! LightGBM's `predict` at 1 and 2 threads. `cargo bench --bench predict -- DIR`
//! times lakescore on the same files (after checking its predictions against
//! the libraries' on the first 10,000 rows) and prints the same JSON lines.
//! Run both in one session and compare rows per second: absolute times on
//! shared machines are noise.
//!
//! Options: `--threads 1,2` (default), `--repeat N` (default 5; the median is
//! reported), `--kernels auto,reference` (default `auto`: the forest
//! kernels to time, as `LAKESCORE_FOREST_KERNEL` picks them), `--models
//! xgb_200x6,lgb_500x255` (default both).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its figures

use std::path::PathBuf;
use std::time::Instant;

use lakescore_engine::score::{feature_matrix, numeric_values, read_parquet};
use lakescore_model::{Flavor, load};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir = None;
    let mut threads = vec![1usize, 2];
    let mut repeat = 5usize;
    let mut kernels = vec!["auto".to_string()];
    let mut models: Option<Vec<String>> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                threads = args
                    .next()
                    .expect("--threads N,M")
                    .split(',')
                    .map(|t| t.parse().expect("a thread count"))
                    .collect();
            }
            "--kernels" => {
                kernels = args
                    .next()
                    .expect("--kernels auto,reference")
                    .split(',')
                    .map(String::from)
                    .collect();
            }
            "--models" => {
                models = Some(
                    args.next()
                        .expect("--models xgb_200x6,lgb_500x255")
                        .split(',')
                        .map(String::from)
                        .collect(),
                );
            }
            "--repeat" => repeat = args.next().expect("--repeat N").parse().expect("a number"),
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let Some(dir) = dir else {
        eprintln!(
            "usage: cargo bench --bench predict -- DIR [--threads 1,2] [--repeat 5] [--kernels auto]\n\
             (make DIR first: python benches/predict_python.py make DIR)"
        );
        return;
    };
    let frame = read_parquet(&dir.join("score.parquet")).expect("DIR/score.parquet");
    let expected = read_parquet(&dir.join("expected.parquet")).expect("DIR/expected.parquet");
    for (flavor, file, name, column) in [
        (Flavor::Xgboost, "xgb_200x6.json", "xgb_200x6", "xgb"),
        (Flavor::Lightgbm, "lgb_500x255.txt", "lgb_500x255", "lgb"),
    ] {
        if models
            .as_ref()
            .is_some_and(|m| !m.iter().any(|m| m == name))
        {
            continue;
        }
        let bytes = std::fs::read(dir.join(file)).expect("model file");
        let model = load(flavor, &bytes, file).expect("model loads");
        let x = feature_matrix(&frame, model.features()).expect("features");
        let want = numeric_values(&expected, column).expect("expected column");
        let head = lakescore_model::FeatureMatrix {
            rows: want.len(),
            columns: x.columns.iter().map(|c| c[..want.len()].to_vec()).collect(),
        };
        for (kernel, &t) in kernels
            .iter()
            .flat_map(|k| threads.iter().map(move |t| (k, t)))
        {
            // SAFETY: single-threaded here; the evaluator reads them at each call.
            #[allow(unsafe_code)]
            unsafe {
                std::env::set_var("LAKESCORE_THREADS", t.to_string());
                std::env::set_var("LAKESCORE_FOREST_KERNEL", kernel);
            };
            // Same predictions as the library, first, with this kernel.
            let worst = model
                .predict(&head)
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0.0, f64::max);
            assert!(
                worst <= 1e-6,
                "{name} ({kernel}): differs from the library by {worst}"
            );
            let _ = model.predict(&x); // warm-up
            let mut times: Vec<f64> = (0..repeat)
                .map(|_| {
                    let start = Instant::now();
                    let p = model.predict(&x);
                    let s = start.elapsed().as_secs_f64();
                    assert_eq!(p.len(), x.rows);
                    s
                })
                .collect();
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "{{\"library\": \"lakescore\", \"model\": \"{name}\", \"kernel\": \"{kernel}\", \"threads\": {t}, \"rows\": {}, \"seconds_median\": {median:.4}, \"rows_per_second\": {:.0}, \"max_abs_diff_first_10k\": {worst:e}}}",
                x.rows,
                x.rows as f64 / median
            );
        }
    }
}
