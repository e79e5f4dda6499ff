//! What launchers said they are, remembered so that each is asked once per
//! version: `$XDG_CACHE_HOME/envtrack/launchers` (else `~/.cache/…`), one line
//! per launcher, `TABLE SIZE STAMP RCMD IDENTITY PATH` separated by tabs (`TABLE`
//! `-`: it said nothing recognisable), keyed by the launcher's real path, size,
//! modification and change times and inode (an upgrade or a rebuild changes
//! them). A cache that cannot be read or written is skipped.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::Launcher;
use crate::launch::tables::TableKind;

/// The most launchers remembered (the oldest are forgotten first).
const MOST: usize = 200;

fn cache_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|d| Path::new(d).is_absolute()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|d| Path::new(d).is_absolute())?).join(".cache"),
    };
    Some(base.join("envtrack").join("launchers"))
}

/// `path`'s key: its real path, size, and modification and change times and inode.
fn key(path: &Path) -> Option<(Vec<u8>, String, String)> {
    let real = path.canonicalize().ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    let real = real.as_os_str().as_bytes().to_vec();
    if real.iter().any(|&b| b == b'\t' || b == b'\n') {
        return None;
    }
    // The change time and inode too: `touch -r` can give another file the same size and mtime.
    let stamp = format!(
        "{}.{:09},{}.{:09},{}:{}",
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        meta.dev(),
        meta.ino()
    );
    Some((real, meta.size().to_string(), stamp))
}

/// The cache file's text: a regular file, at most [`MOST`] lines' worth.
fn read_cache(file: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(file).ok()?;
    if !opened.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = Vec::new();
    opened.take(MOST as u64 * 8192).read_to_end(&mut text).ok()?;
    Some(text)
}

/// What `path` said it is, if remembered and its key still matches:
/// `Some(None)` for a launcher that said nothing recognisable (`TABLE` `-`).
pub fn lookup(path: &Path) -> Option<Option<Launcher>> {
    let (real, size, mtime) = key(path)?;
    let text = read_cache(&cache_file()?)?;
    text.split(|&b| b == b'\n').find_map(|line| {
        let fields: Vec<&[u8]> = line.splitn(6, |&b| b == b'\t').collect();
        let [table, line_size, line_mtime, rcmd, identity, line_path] = fields[..] else { return None };
        if line_path != real.as_slice() || line_size != size.as_bytes() || line_mtime != mtime.as_bytes() {
            return None;
        }
        if table == b"-" {
            return Some(None);
        }
        let table = TableKind::named(std::str::from_utf8(table).ok()?)?;
        let rcmd = std::str::from_utf8(rcmd).ok()?;
        Some(Some(Launcher {
            flavor: table.flavor(),
            table,
            identity: String::from_utf8_lossy(identity).into_owned(),
            default_rcmd: (rcmd != "-").then(|| rcmd.to_string()),
        }))
    })
}

/// Remembers `launcher` for `path`: written to a new file that replaces the
/// old one, so that concurrent launches never read half a cache.
pub fn remember(path: &Path, launcher: Option<&Launcher>) {
    let (Some((real, size, mtime)), Some(file)) = (key(path), cache_file()) else { return };
    let Some(dir) = file.parent() else { return };
    if std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).is_err() {
        return;
    }
    let old = read_cache(&file).unwrap_or_default();
    let mut lines: Vec<&[u8]> = old
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && line.rsplit(|&b| b == b'\t').next() != Some(real.as_slice()))
        .collect();
    let skip = lines.len().saturating_sub(MOST - 1);
    lines.drain(..skip);
    let table = launcher.map_or("-", |l| l.table.name());
    let identity = launcher.map_or(String::new(), |l| l.identity.replace(['\t', '\n'], " "));
    let rcmd = launcher.and_then(|l| l.default_rcmd.as_deref()).unwrap_or("-").replace(['\t', '\n'], " ");
    let mut text: Vec<u8> = lines.join(&b'\n');
    if !text.is_empty() {
        text.push(b'\n');
    }
    text.extend_from_slice(format!("{table}\t{size}\t{mtime}\t{rcmd}\t{identity}\t").as_bytes());
    text.extend_from_slice(&real);
    text.push(b'\n');
    let temporary = dir.join(format!("launchers.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut f| f.write_all(&text));
    if written.is_err() || std::fs::rename(&temporary, &file).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}
