//! What the model fuzz targets share: load an artifact of one flavor and,
//! when it loads, score rows of NaN, zeros and extremes with it.

use lakescore_core::flavor::Flavor;

/// Load `data` as a `flavor` artifact named `name`; score a few rows if it loads.
pub fn load_and_score(flavor: Flavor, data: &[u8], name: &str) {
    if let Ok(model) = lakescore_model::load(flavor, data, name) {
        let n = model.features().len();
        let rows = [f64::NAN, 0.0, -1e300, 1e300];
        let x = lakescore_model::FeatureMatrix {
            rows: rows.len(),
            columns: vec![rows.to_vec(); n],
        };
        let _ = model.predict_all(&x);
    }
}
