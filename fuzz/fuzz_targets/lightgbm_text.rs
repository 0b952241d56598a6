//! LightGBM artifacts (model.txt): loading never panics, hangs or allocates
//! beyond what the input can hold; a loaded model scores rows of NaN, zeros
//! and extremes.
#![no_main]

use lakescore_core::flavor::Flavor;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(model) = lakescore_model::load(Flavor::Lightgbm, data, "model.txt") {
        let n = model.features().len();
        let rows = [f64::NAN, 0.0, -1e300, 1e300];
        let x = lakescore_model::FeatureMatrix {
            rows: rows.len(),
            columns: vec![rows.to_vec(); n],
        };
        let _ = model.predict_all(&x);
    }
});
