//! The object store delta-rs uses for local tables: object_store's
//! `LocalFileSystem`, with a listing from an offset that does not grow with
//! the folder.
//!
//! Every open of a table and every commit lists `_delta_log/` from a version
//! (the last checkpoint, or the snapshot's version). On an object store the
//! server starts the listing there; `LocalFileSystem` walks the whole folder
//! and turns every entry's path into an object path (a URL conversion) before
//! comparing it with the offset. A log holds thousands of commits within its
//! retention, so that walk was the largest cost of a run that grows with the
//! lake's history. Here entry names are compared as bytes first; only the
//! later ones are converted and read for their metadata. Anything this
//! listing does not expect (a subfolder, a name that is not plain ASCII)
//! falls back to `LocalFileSystem`'s own listing, so the result is the same.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use deltalake::logstore::{
    DeltaIOStorageBackend, ObjectStoreFactory, ObjectStoreRef, StorageConfig,
    object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError};
use futures::stream::BoxStream;
use futures::{StreamExt, stream};
use url::Url;

/// Make delta-rs open `file://` tables through [`LocalStore`] (once per process).
pub(crate) fn register() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        object_store_factories().insert(
            Url::parse("file://").expect("a valid URL"),
            Arc::new(LocalFactory),
        );
    });
}

/// Builds a [`LocalStore`] rooted at `/` for a `file://` URL, as delta-rs'
/// default factory builds a `LocalFileSystem`.
struct LocalFactory;

impl ObjectStoreFactory for LocalFactory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, Path)> {
        let path = Path::from_url_path(url.path())
            .map_err(|e| DeltaTableError::InvalidTableLocation(format!("{url}: {e}")))?;
        let mut store: ObjectStoreRef = Arc::new(LocalStore {
            inner: LocalFileSystem::new(),
        });
        if let Some(runtime) = &config.runtime {
            store = Arc::new(DeltaIOStorageBackend::new(store, runtime.clone()));
        }
        Ok((store, path))
    }
}

/// `LocalFileSystem` rooted at `/`, with [`ObjectStore::list_with_offset`]
/// comparing names before converting paths.
#[derive(Debug)]
pub(crate) struct LocalStore {
    inner: LocalFileSystem,
}

impl fmt::Display for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalStore({})", self.inner)
    }
}

/// The entries of `prefix`'s folder after `offset`, when the folder holds
/// plain files only; `None` to fall back to the full walk.
fn list_flat_after(prefix: &Path, offset: &Path) -> Option<Vec<ObjectMeta>> {
    let plain = |s: &str, also: &[u8]| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || also.contains(&b))
    };
    // The object path is the file path only when nothing in it was escaped.
    if !plain(prefix.as_ref(), b"/=") {
        return None;
    }
    // The offset names an entry of this folder (Delta's `_delta_log/<version>`).
    let after = offset
        .as_ref()
        .strip_prefix(prefix.as_ref())
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|name| !name.contains('/'))?;
    let dir = std::path::PathBuf::from(format!("/{prefix}"));
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.ok()?;
        let name = entry.file_name();
        let name = name.to_str()?;
        if !plain(name, b"#") || name.starts_with('.') {
            return None;
        }
        if !entry.file_type().ok()?.is_file() {
            return None;
        }
        // Files being written (`name#N`) are not listed, as `LocalFileSystem` does.
        if name
            .split_once('#')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        // Both paths share `prefix/`, so their order is their names' order:
        // only later entries become object paths.
        if name <= after {
            continue;
        }
        let location = Path::from(format!("{prefix}/{name}"));
        // The file may be gone (a concurrent cleanup): skip it, as a listing would.
        let Ok(meta) = entry.metadata() else { continue };
        found.push(object_meta(&meta, location));
    }
    Some(found)
}

/// What `LocalFileSystem` reports for a file (its ETag scheme included).
fn object_meta(meta: &std::fs::Metadata, location: Path) -> ObjectMeta {
    let modified = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    let mtime = modified
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    let size = meta.len();
    ObjectMeta {
        location,
        last_modified: modified.into(),
        size,
        e_tag: Some(format!("{inode:x}-{mtime:x}-{size:x}")),
        version: None,
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match prefix.and_then(|p| list_flat_after(p, offset)) {
            Some(found) => stream::iter(found.into_iter().map(Ok)).boxed(),
            None => self.inner.list_with_offset(prefix, offset),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    /// Both listings of one folder, sorted, compared field by field.
    async fn both(prefix: &Path, offset: &Path) -> (Vec<ObjectMeta>, Vec<ObjectMeta>) {
        let store = LocalStore {
            inner: LocalFileSystem::new(),
        };
        let mut fast: Vec<ObjectMeta> = store
            .list_with_offset(Some(prefix), offset)
            .try_collect()
            .await
            .unwrap();
        let mut full: Vec<ObjectMeta> = store
            .inner
            .list_with_offset(Some(prefix), offset)
            .try_collect()
            .await
            .unwrap();
        fast.sort_by(|a, b| a.location.cmp(&b.location));
        full.sort_by(|a, b| a.location.cmp(&b.location));
        (fast, full)
    }

    #[tokio::test]
    async fn lists_what_local_file_system_lists() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("_delta_log");
        std::fs::create_dir(&log).unwrap();
        for v in 0..30 {
            std::fs::write(log.join(format!("{v:020}.json")), b"{}").unwrap();
        }
        std::fs::write(log.join("00000000000000000020.checkpoint.parquet"), b"x").unwrap();
        std::fs::write(log.join("_last_checkpoint"), b"{}").unwrap();
        // A file being written is not listed by either.
        std::fs::write(log.join("00000000000000000031.json#1"), b"{").unwrap();
        let prefix = Path::from_absolute_path(&log).unwrap();
        for offset in [
            "00000000000000000000.json",
            "00000000000000000020.json",
            "zzz",
        ] {
            let offset = Path::from(format!("{prefix}/{offset}"));
            let (fast, full) = both(&prefix, &offset).await;
            assert_eq!(fast, full, "after {offset}");
        }
        let offset = Path::from(format!("{prefix}/00000000000000000019.json"));
        assert!(
            list_flat_after(&prefix, &offset).is_some(),
            "the fast path answers"
        );
        let (fast, _) = both(&prefix, &offset).await;
        let names: Vec<_> = fast.iter().filter_map(|m| m.location.filename()).collect();
        assert_eq!(names.len(), 12, "{names:?}");
        assert!(
            names.contains(&"00000000000000000020.checkpoint.parquet"),
            "{names:?}"
        );

        // A subfolder: the full walk answers, and still the same.
        std::fs::create_dir(log.join("_commits")).unwrap();
        std::fs::write(log.join("_commits/00000000000000000030.x.json"), b"{}").unwrap();
        assert!(list_flat_after(&prefix, &offset).is_none());
        let (fast, full) = both(&prefix, &offset).await;
        assert_eq!(fast, full);
        assert!(
            fast.iter()
                .any(|m| m.location.as_ref().contains("_commits"))
        );
    }
}
