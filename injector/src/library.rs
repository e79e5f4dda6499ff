//! Finding `libenvtrack.so`.

use std::path::{Path, PathBuf};

use crate::error::UsageError;

/// The library's file name.
pub const LIBRARY_NAME: &str = "libenvtrack.so";

/// The library to preload: `explicit` if given, else next to this executable
/// (`DIR/libenvtrack.so`, then `DIR/../lib/libenvtrack.so`).
pub fn find_library(explicit: Option<&Path>) -> Result<PathBuf, UsageError> {
    if let Some(path) = explicit {
        return check(path.to_path_buf());
    }
    let exe =
        std::env::current_exe().map_err(|e| UsageError::new(format!("cannot find this executable's path: {e}")))?;
    let dir = exe.parent().unwrap_or(Path::new("/"));
    let candidates = [dir.join(LIBRARY_NAME), dir.join("../lib").join(LIBRARY_NAME)];
    for candidate in &candidates {
        if candidate.is_file() {
            // /proc/self/exe is already a canonical path: the first candidate needs no resolving.
            let resolved = if candidate == &candidates[0] {
                candidate.clone()
            } else {
                candidate.canonicalize().unwrap_or(candidate.clone())
            };
            return check_chars(resolved);
        }
    }
    Err(UsageError::new(format!(
        "{LIBRARY_NAME} not found next to {} (looked in {} and {}); give its path with --lib",
        exe.display(),
        candidates[0].display(),
        candidates[1].display()
    )))
}

fn check(path: PathBuf) -> Result<PathBuf, UsageError> {
    let path = path.canonicalize().map_err(|e| UsageError::new(format!("library {}: {e}", path.display())))?;
    check_chars(path)
}

/// LD_PRELOAD cannot name a path with ':' or a space in it.
fn check_chars(path: PathBuf) -> Result<PathBuf, UsageError> {
    let text = path.as_os_str().as_encoded_bytes();
    if text.iter().any(|&b| b == b':' || b == b' ') {
        return Err(UsageError::new(format!(
            "library {}: LD_PRELOAD cannot name a path containing ':' or a space; install it elsewhere",
            path.display()
        )));
    }
    Ok(path)
}
