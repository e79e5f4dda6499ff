//! Reading what a user names as input: a file, or `-` for standard input.

use std::io::Read;
use std::path::Path;

use crate::error::UsageError;

/// The most envtrack reads from one input (a snapshot, a base environment):
/// far above any environment (the kernel passes a few MiB at most), and a
/// bound for what never ends (`/dev/zero`, a stream).
pub const MOST: u64 = 256 << 20;

/// The bytes of `source` (`-`: standard input), at most [`MOST`]; an error
/// naming `source` otherwise.
pub fn read_source(source: &Path) -> Result<Vec<u8>, UsageError> {
    let shown = if source.as_os_str() == "-" { "standard input".to_string() } else { source.display().to_string() };
    let mut bytes = Vec::new();
    let read = if source.as_os_str() == "-" {
        std::io::stdin().lock().take(MOST + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(source).and_then(|file| file.take(MOST + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| UsageError::new(format!("{shown}: {e}")))?;
    if bytes.len() as u64 > MOST {
        return Err(UsageError::new(format!("{shown}: longer than {} MiB; not read", MOST >> 20)));
    }
    Ok(bytes)
}
