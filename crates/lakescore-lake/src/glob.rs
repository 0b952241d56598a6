//! Globs over object-store keys: what a job's `format = "parquet"` input
//! or reference matches on `s3://`, `az://` or `gs://`. The store is listed
//! once from the longest literal prefix of the pattern, and every key is
//! matched as a local glob would match a path (`*` and `?` stop at `/`).

use super::{LakeError, Result, Storage, object_store_at};
use deltalake::logstore::object_store::path::Path as ObjectPath;
use futures::TryStreamExt as _;

/// The characters that start a glob.
const GLOB_CHARS: &[char] = &['*', '?', '['];

/// Every object matching `pattern` (`SCHEME://BUCKET/KEY-GLOB`), as full URIs, sorted.
pub async fn list_matching(pattern: &str, storage: &Storage) -> Result<Vec<String>> {
    let invalid = |reason: String| LakeError::InvalidLocation {
        location: pattern.to_string(),
        reason,
    };
    let (scheme, rest) = pattern
        .split_once("://")
        .ok_or_else(|| invalid("not a URI".into()))?;
    let (bucket, key_glob) = rest.split_once('/').unwrap_or((rest, ""));
    let root = super::location_to_url(&format!("{scheme}://{bucket}/"), None)?;
    storage.check(&root)?;
    let matcher = glob::Pattern::new(key_glob).map_err(|e| invalid(e.to_string()))?;
    let literal_end = key_glob.find(GLOB_CHARS).unwrap_or(key_glob.len());
    // List from the last folder before the first glob character.
    let prefix = key_glob[..literal_end]
        .rfind('/')
        .map_or("", |i| &key_glob[..i]);
    let store = object_store_at(&root, storage)?;
    let listed: Vec<_> = store
        .list(
            (!prefix.is_empty())
                .then(|| ObjectPath::from(prefix))
                .as_ref(),
        )
        .try_collect()
        .await
        .map_err(|source| LakeError::Object {
            lake: root.to_string(),
            path: prefix.to_string(),
            source: Box::new(source),
        })?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut found: Vec<String> = listed
        .into_iter()
        .map(|meta| meta.location.to_string())
        .filter(|key| matcher.matches_with(key, options))
        .map(|key| format!("{scheme}://{bucket}/{key}"))
        .collect();
    found.sort();
    Ok(found)
}
