//! Reading job spec files: one file, or the `*.toml` files of folders.

use std::path::{Path, PathBuf};

use lakescore_core::spec::{LoadedSpec, SpecError, from_text};

/// Read, parse and validate the spec at `path`. The path is made absolute
/// first, so the spec's relative paths resolve against its own folder (and a
/// run records where its spec was).
pub fn load(path: &Path) -> Result<LoadedSpec, SpecError> {
    let read_err = |source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    };
    let path = std::path::absolute(path).map_err(read_err)?;
    let text = std::fs::read_to_string(&path).map_err(read_err)?;
    from_text(&path, text)
}

/// The spec files named by `paths`: files as given, folders as their `*.toml`
/// files (sorted, not recursive).
pub fn spec_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SpecError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| SpecError::Read {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}
