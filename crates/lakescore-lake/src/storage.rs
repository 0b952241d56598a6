//! One storage configuration for every location a process touches: the lake,
//! its tables and objects, and the job's inputs and references.
//!
//! Credentials and endpoints come first from the standard environment and
//! profile chains (`AWS_*`, `AZURE_*`, `GOOGLE_*`), which delta-rs and polars
//! both read; explicit options (`--storage-option KEY=VALUE`,
//! `LAKESCORE_STORAGE_OPTIONS`) come on top and are handed to both, so a table
//! and a Parquet glob in one bucket are reached the same way. Option values
//! are never printed: [`Storage`]'s `Debug` and [`Storage::redacted`] mask
//! every value whose key names a secret.
//!
//! A configuration that cannot keep concurrent writers apart is refused
//! ([`Storage::check`]): lakescore's commits, registry versions and leases all
//! rely on the store's create-if-absent (conditional put).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use url::Url;

use super::{LakeError, Result};

/// Storage options shared by delta-rs and polars. Cheap to clone.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Storage {
    options: Arc<BTreeMap<String, String>>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.masked().map(|(k, v)| (k.to_string(), v)))
            .finish()
    }
}

/// The schemes this build reaches, by store: each needs its cargo feature.
pub const SCHEMES: &[(&str, &str, bool)] = &[
    ("file", "local files", true),
    (
        "s3",
        "Amazon S3 and S3-compatible stores",
        cfg!(feature = "s3"),
    ),
    ("s3a", "Amazon S3 (Hadoop's name)", cfg!(feature = "s3")),
    (
        "az",
        "Azure Blob Storage / ADLS Gen2",
        cfg!(feature = "azure"),
    ),
    (
        "azure",
        "Azure Blob Storage / ADLS Gen2",
        cfg!(feature = "azure"),
    ),
    ("abfs", "ADLS Gen2", cfg!(feature = "azure")),
    ("abfss", "ADLS Gen2", cfg!(feature = "azure")),
    ("adl", "ADLS Gen2", cfg!(feature = "azure")),
    ("gs", "Google Cloud Storage", cfg!(feature = "gcs")),
];

/// Whether this build can open locations with `scheme`.
pub fn scheme_supported(scheme: &str) -> bool {
    SCHEMES.iter().any(|(s, _, on)| *s == scheme && *on)
}

/// The schemes this build supports, for messages (`file, s3, ...`).
pub fn supported_schemes() -> String {
    SCHEMES
        .iter()
        .filter(|(_, _, on)| *on)
        .map(|(s, _, _)| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether an option's value is a secret (never printed, logged or stored).
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "sas",
        "key",
        "credential",
        "signature",
    ]
    .iter()
    .any(|s| key.contains(s))
        && !matches!(key.as_str(), "aws_access_key_id" | "access_key_id")
}

/// Parse one `KEY=VALUE` option (the CLI's `--storage-option`).
pub fn parse_option(text: &str) -> std::result::Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE (for example AWS_REGION=us-east-1)".to_string())?;
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!("{key:?} is not an option name"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Whether a storage option's value is true (`true`, `1`, `yes`, `on`).
fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on"
    )
}

impl Storage {
    /// Explicit options (on top of the environment's).
    pub fn new(options: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            options: Arc::new(options.into_iter().collect()),
        }
    }

    /// Options from `LAKESCORE_STORAGE_OPTIONS` (`KEY=VALUE` pairs separated by
    /// commas or whitespace), then `explicit` on top.
    pub fn from_env_and(explicit: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut options = BTreeMap::new();
        if let Ok(text) = std::env::var("LAKESCORE_STORAGE_OPTIONS") {
            for pair in text.split([',', ' ', '\n', '\t']).filter(|p| !p.is_empty()) {
                let (k, v) = parse_option(pair).map_err(|reason| LakeError::InvalidStorage {
                    key: "LAKESCORE_STORAGE_OPTIONS".into(),
                    reason,
                })?;
                options.insert(k, v);
            }
        }
        options.extend(explicit);
        Ok(Self {
            options: Arc::new(options),
        })
    }

    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.options
    }

    /// The explicit options as delta-rs takes them.
    pub fn delta_options(&self) -> HashMap<String, String> {
        self.options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The options with every secret value masked, for logs and messages.
    pub fn masked(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(k, v)| {
            let shown = if is_secret(k) { "***" } else { v.as_str() };
            (k.as_str(), shown)
        })
    }

    /// `KEY=VALUE, ...` with secrets masked.
    pub fn redacted(&self) -> String {
        self.masked()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An option by name in any case, else the environment variable
    /// (delta-rs and object_store read both).
    fn setting(&self, key: &str) -> Option<String> {
        self.options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(key.to_ascii_uppercase()).ok())
    }

    /// Refuse a configuration under which concurrent writers of `url` could
    /// overwrite each other's commits: lakescore's commits, registry versions
    /// and leases need the store's create-if-absent.
    pub fn check(&self, url: &Url) -> Result<()> {
        let refuse = |key: &str, reason: &str| {
            Err(LakeError::UnsafeStorage {
                location: url.to_string(),
                key: key.to_string(),
                reason: reason.to_string(),
            })
        };
        if !matches!(url.scheme(), "s3" | "s3a") {
            return Ok(());
        }
        if let Some(p) = self.setting("AWS_S3_LOCKING_PROVIDER")
            && !p.trim().is_empty()
        {
            return refuse(
                "AWS_S3_LOCKING_PROVIDER",
                &format!(
                    "{p:?}: delta-rs 1.x has no locking providers (it logs an error and writes \
                     unlocked); lakescore relies on S3's conditional writes instead: unset it"
                ),
            );
        }
        if self
            .setting("AWS_S3_ALLOW_UNSAFE_RENAME")
            .is_some_and(|v| truthy(&v))
        {
            return refuse(
                "AWS_S3_ALLOW_UNSAFE_RENAME",
                "commits by rename are safe with one writer only, and lakescore's runs, \
                 registry and scheduler write concurrently: unset it (S3 and most \
                 S3-compatible stores support conditional writes)",
            );
        }
        for key in ["AWS_CONDITIONAL_PUT", "CONDITIONAL_PUT"] {
            if let Some(v) = self.setting(key)
                && matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "disabled" | "none" | "false"
                )
            {
                return refuse(
                    key,
                    &format!(
                        "{v:?} turns off conditional writes, which keep concurrent commits \
                         apart: use \"etag\" (the default)"
                    ),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn options_parse_and_secrets_are_masked() {
        assert_eq!(
            parse_option("AWS_REGION=eu-west-1").unwrap(),
            ("AWS_REGION".into(), "eu-west-1".into())
        );
        assert_eq!(
            parse_option("k=a=b").unwrap(),
            ("k".into(), "a=b".into()),
            "the value may hold '='"
        );
        assert!(parse_option("novalue").is_err());
        assert!(parse_option("=x").is_err());
        let s = Storage::new([
            ("AWS_SECRET_ACCESS_KEY".to_string(), "hunter2".to_string()),
            ("AWS_ACCESS_KEY_ID".to_string(), "AKIA".to_string()),
            ("azure_storage_sas_token".to_string(), "sv=x".to_string()),
            ("AWS_REGION".to_string(), "eu-west-1".to_string()),
        ]);
        let shown = format!("{} {:?}", s.redacted(), s);
        assert!(
            !shown.contains("hunter2") && !shown.contains("sv=x"),
            "{shown}"
        );
        assert!(shown.contains("AWS_REGION=eu-west-1") && shown.contains("AKIA"));
    }

    #[test]
    fn unsafe_s3_configurations_are_refused() {
        let s3 = url("s3://bucket/lake");
        let with = |k: &str, v: &str| Storage::new([(k.to_string(), v.to_string())]);
        for (k, v) in [
            ("AWS_S3_LOCKING_PROVIDER", "dynamodb"),
            ("aws_s3_allow_unsafe_rename", "true"),
            ("aws_conditional_put", "disabled"),
        ] {
            let e = with(k, v).check(&s3).unwrap_err();
            assert!(matches!(e, LakeError::UnsafeStorage { .. }), "{e}");
            assert!(e.to_string().contains("s3://bucket/lake"), "{e}");
            assert_eq!(
                lakescore_core::Classify::class(&e),
                lakescore_core::ErrorClass::BadInput
            );
        }
        with("aws_conditional_put", "etag").check(&s3).unwrap();
        with("AWS_S3_LOCKING_PROVIDER", "dynamodb")
            .check(&url("file:///tmp/lake"))
            .unwrap();
    }
}
