//! Lexical path normalization, for locations that may not exist yet (a lake
//! before its first write, a spec's input before its date).

use std::path::{Component, Path, PathBuf};

/// `a/./b/../c` as `a/c`, without touching the filesystem (so no symlinks
/// are followed, and nothing needs to exist); `..` at the root stays at it.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_resolved_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), PathBuf::from("/x"));
    }
}
