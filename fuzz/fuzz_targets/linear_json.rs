//! Linear artifacts (model.json): loading never panics, hangs or allocates
//! beyond what the input can hold; a loaded model scores rows of NaN, zeros
//! and extremes.
#![no_main]

use lakescore_core::flavor::Flavor;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lakescore_fuzz::load_and_score(Flavor::Linear, data, "model.json");
});
