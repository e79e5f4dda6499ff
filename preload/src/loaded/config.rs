//! The directive file (`ENVTRACK_CONFIG`), read by the root of a tree.

use alloc::vec::Vec;

use envtrack_model::json::parse_directive_file;
use envtrack_model::{Decimal, DirectiveSet, Level, Registry};

use crate::sys;

/// The largest directive file read (a directive file is a few KiB).
const MAX_FILE: usize = 16 << 20;

/// Why a file was not read: an errno, or a reason of ours.
enum ReadError {
    Errno(i32),
    NotRegular,
    TooLarge,
}

/// Reads a regular file of at most [`MAX_FILE`] bytes. A FIFO, a device
/// (`/dev/zero`), a directory or a socket is refused without reading or
/// blocking: this runs in every tracked program's constructor, before `main`.
fn read_file(path: &[u8]) -> Result<Vec<u8>, ReadError> {
    let path_z = super::nul_terminated(path);
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY;
    let fd = crate::syscall::open(path_z.as_ptr().cast(), flags, 0).map_err(ReadError::Errno)?;
    let result = read_regular(fd);
    crate::syscall::close(fd);
    result
}

fn read_regular(fd: i32) -> Result<Vec<u8>, ReadError> {
    let status = crate::syscall::fstat(fd).map_err(ReadError::Errno)?;
    if status.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(ReadError::NotRegular);
    }
    let size = usize::try_from(status.st_size).unwrap_or(usize::MAX);
    if size > MAX_FILE {
        return Err(ReadError::TooLarge);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(size + 1).map_err(|_| ReadError::TooLarge)?;
    let mut chunk = [0u8; 4096];
    loop {
        match crate::syscall::read(fd, &mut chunk) {
            Err(libc::EINTR) => continue,
            Err(error) => return Err(ReadError::Errno(error)),
            Ok(0) => return Ok(out),
            Ok(n) if out.len() + n > MAX_FILE => return Err(ReadError::TooLarge),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
}

fn warn_errno(what: &[&[u8]], error: i32) {
    // SAFETY: strerror returns a valid string for any errno value.
    let text = unsafe { sys::c_bytes(libc::strerror(error)) };
    let mut parts: Vec<&[u8]> = what.to_vec();
    parts.push(b": ");
    parts.push(text);
    parts.push(b"; its directives are ignored");
    sys::warn(&parts);
}

pub(super) fn load_config(path: &[u8], registry: &mut Registry, directives: &mut DirectiveSet) {
    let text = match read_file(path) {
        Ok(text) => text,
        Err(ReadError::Errno(error)) => return warn_errno(&[b"ENVTRACK_CONFIG ", path], error),
        Err(ReadError::NotRegular) => {
            return sys::warn(&[b"ENVTRACK_CONFIG ", path, b": not a regular file; its directives are ignored"])
        }
        Err(ReadError::TooLarge) => {
            return sys::warn(&[b"ENVTRACK_CONFIG ", path, b": larger than 16 MiB; its directives are ignored"])
        }
    };
    match parse_directive_file(&text, registry) {
        Err(error) => {
            let line = Decimal::new(error.at.line as u64);
            let column = Decimal::new(error.at.column as u64);
            sys::warn(&[
                b"ENVTRACK_CONFIG ",
                path,
                b": ",
                error.path.as_bytes(),
                if error.path.is_empty() { b"" } else { b" " },
                b"(line ",
                line.as_bytes(),
                b", column ",
                column.as_bytes(),
                b"): ",
                error.message.as_bytes(),
                b"; its directives are ignored",
            ])
        }
        Ok(file) => {
            for level in [Level::Job, Level::App] {
                for directive in file.directives.level(level) {
                    if !directives.level(level).contains(directive) {
                        directives.level_mut(level).push(directive.clone());
                    }
                }
            }
        }
    }
}
