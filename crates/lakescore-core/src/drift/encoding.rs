//! The stored form of a reference profile: a JSON summary and the sorted values.

use super::profile::{self, ColumnProfile, ReferenceProfile};
use crate::error::{Classify, ErrorClass};

/// Errors decoding a stored profile.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("reference profile {source_name} is not valid: {message}")]
    BadProfile {
        source_name: String,
        message: String,
    },
}

impl Classify for DriftError {
    /// A stored profile that does not decode was damaged: not worth a retry.
    fn class(&self) -> ErrorClass {
        ErrorClass::BadInput
    }
}

/// Encode a profile as two objects: a JSON summary (human-readable, what
/// `registry show` prints) and the sorted values of every feature as
/// little-endian `f64`, concatenated in the summary's feature order.
pub fn encode_profile(profile: &ReferenceProfile) -> (Vec<u8>, Vec<u8>) {
    let json = serde_json::to_vec_pretty(profile).expect("profile serializes");
    let numeric = || {
        profile.features.values().filter_map(|f| match f {
            ColumnProfile::Numeric(n) => Some(n),
            ColumnProfile::Categorical(_) => None,
        })
    };
    let total: usize = numeric().map(|f| f.values.len()).sum();
    let mut values = Vec::with_capacity(total * 8);
    for feature in numeric() {
        for v in &feature.values {
            values.extend_from_slice(&v.to_le_bytes());
        }
    }
    (json, values)
}

/// Decode what [`encode_profile`] wrote.
pub fn decode_profile(
    json: &[u8],
    values: &[u8],
    source_name: &str,
) -> Result<ReferenceProfile, DriftError> {
    let bad = |message: String| DriftError::BadProfile {
        source_name: source_name.into(),
        message,
    };
    let mut profile: ReferenceProfile =
        serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
    if profile.format != profile::FORMAT {
        return Err(bad(format!(
            "format {:?}, expected {:?}",
            profile.format,
            profile::FORMAT
        )));
    }
    let mut chunks = values.chunks_exact(8);
    for (name, feature) in &mut profile.features {
        let ColumnProfile::Numeric(feature) = feature else {
            continue;
        };
        let n = (feature.count as usize).min(profile.exact_cap);
        feature.values = chunks
            .by_ref()
            .take(n)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        if feature.values.len() != n {
            return Err(bad(format!("values of {name} are truncated")));
        }
    }
    if chunks.next().is_some() || !chunks.remainder().is_empty() {
        return Err(bad("trailing bytes after the last feature's values".into()));
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{ColumnKind, PREDICTION, ProfileBuilder};

    #[test]
    fn profiles_round_trip_through_storage() {
        let mut b = ProfileBuilder::new(
            vec![
                ("a".into(), ColumnKind::Numeric),
                (PREDICTION.into(), ColumnKind::Numeric),
                ("region".into(), ColumnKind::Categorical),
            ],
            1000,
            10,
        );
        let a: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.5).collect();
        let p: Vec<f64> = (0..50)
            .map(|i| {
                if i % 7 == 0 {
                    f64::NAN
                } else {
                    1.0 / (f64::from(i) + 1.0)
                }
            })
            .collect();
        b.add_rows(50);
        b.push_numeric(0, &a);
        b.push_numeric(1, &p);
        b.push_categorical(
            2,
            (0..50).map(|i| (i % 5 != 0).then_some(if i % 2 == 0 { "north" } else { "south" })),
        );
        let profile = b.finish("ref.parquet");
        let (json, values) = encode_profile(&profile);
        let back = decode_profile(&json, &values, "x").unwrap();
        assert_eq!(back, profile);
        assert!(decode_profile(&json, &values[..values.len() - 8], "x").is_err());
    }
}
