//! MLflow `MLmodel` descriptors (YAML): parsing never panics, and values
//! lakescore does not use are skipped without being built.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lakescore_model::mlmodel::parse(text);
    }
});
