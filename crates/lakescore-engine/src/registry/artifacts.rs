//! Artifacts and reference profiles in the lake, content-addressed and
//! hash-checked on every load.

use lakescore_core::drift::{self, ReferenceProfile};
use lakescore_core::hash::{sha256_hex, sha256_hex_parts};
use lakescore_core::registry::ModelVersionRow;
use lakescore_model::{self as model, Model};

use super::{Registry, RegistryError, Result};

impl Registry {
    /// Load the artifact of a version row, checking its hash.
    pub async fn load_version(&self, row: &ModelVersionRow) -> Result<Box<dyn Model>> {
        let bytes = self.lake.get_object(&row.artifact_path).await?;
        let found = sha256_hex(&bytes);
        if found != row.artifact_sha256 {
            return Err(RegistryError::Tampered {
                what: "artifact",
                name: row.name.clone(),
                version: row.version,
                path: format!("{}{}", self.lake.root(), row.artifact_path),
                expected: row.artifact_sha256.clone(),
                found,
            });
        }
        let flavor = row.flavor;
        let source = format!("{}{}", self.lake.root(), row.artifact_path);
        Ok(model::load_named(
            flavor,
            &bytes,
            &source,
            Some(&row.features),
        )?)
    }

    /// Store `profile` for model `name`: its folder and content hash.
    pub(crate) async fn store_profile(
        &self,
        name: &str,
        profile: &ReferenceProfile,
    ) -> Result<(String, String)> {
        let (json, values) = drift::encode_profile(profile);
        let sha = profile_sha(&json, &values);
        let dir = format!("registry/profiles/{name}/{sha}");
        self.lake
            .put_object(&format!("{dir}/profile.json"), json)
            .await?;
        self.lake
            .put_object(&format!("{dir}/values.bin"), values)
            .await?;
        Ok((dir, sha))
    }

    /// The reference profile of a version (checked against its hash), if it has one.
    pub async fn load_profile(&self, row: &ModelVersionRow) -> Result<Option<ReferenceProfile>> {
        let (Some(dir), Some(expected)) = (&row.profile_path, &row.profile_sha256) else {
            return Ok(None);
        };
        let json = self.lake.get_object(&format!("{dir}/profile.json")).await?;
        let values = self.lake.get_object(&format!("{dir}/values.bin")).await?;
        let path = format!("{}{dir}", self.lake.root());
        // Hashed beside the decoding (each a pass over tens of MB); the
        // decoded profile is used only if the hash matches.
        let (found, decoded) = std::thread::scope(|s| {
            let hashing = s.spawn(|| profile_sha(&json, &values));
            let decoded = drift::decode_profile(&json, &values, &path);
            (hashing.join().expect("hashing does not panic"), decoded)
        });
        if &found != expected {
            return Err(RegistryError::Tampered {
                what: "reference profile",
                name: row.name.clone(),
                version: row.version,
                path,
                expected: expected.clone(),
                found,
            });
        }
        Ok(Some(decoded?))
    }
}

/// The content hash of a stored profile: SHA-256 over the summary, then the values.
fn profile_sha(json: &[u8], values: &[u8]) -> String {
    sha256_hex_parts(&[json, values])
}
