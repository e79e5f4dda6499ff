//! Launcher routing: a tracked program that execs `mpirun`, `srun`, … is
//! routed through `envtrack-inject -- PROGRAM ARGS…`, which rewrites the
//! launch so that remote workers get the snapshot.
//!
//! Only a launcher that exists is routed: an exec of one that is not there
//! fails with ENOENT exactly as it would have (programs fall back on that;
//! Python's subprocess tries the next PATH candidate). The injector is handed
//! the path the exec would have run, found the way glibc's `execvp` finds it.

use core::ffi::c_char;

use envtrack_model::apply::entry_value;
use envtrack_model::vars::is_default_launcher;
use envtrack_model::{Sink, SliceSink};

use crate::loaded::{Autowrap, Loaded};
use crate::sys::{self, CStrArray};

/// The longest path routing handles (a longer one is run as it is).
const PATH_MAX: usize = 1024;

/// Where a routed exec's paths are kept: in the build's arena (not on the
/// caller's stack, which may be a small thread's or a signal stack).
pub struct RouteBuf<'m> {
    injector: &'m mut [u8],
    program: &'m mut [u8],
    /// The launcher was found by a PATH search (`execvp` of a bare name).
    searched: bool,
}

impl<'m> RouteBuf<'m> {
    /// Two path buffers carved from the arena.
    pub fn carve(carve: &mut crate::childenv::Carve<'m>) -> Result<RouteBuf<'m>, crate::childenv::Short> {
        let injector = carve.take_zeroed::<u8>(PATH_MAX)?;
        Ok(RouteBuf { injector, program: carve.take_zeroed::<u8>(PATH_MAX)?, searched: false })
    }

    /// The injector's NUL-terminated path.
    pub fn injector_path(&self) -> *const c_char {
        self.injector.as_ptr().cast()
    }

    /// The launcher's NUL-terminated path.
    pub fn program_path(&self) -> *const c_char {
        self.program.as_ptr().cast()
    }

    /// Whether the launcher was found by a PATH search: the injector then goes on
    /// searching, as execvp does, when the one found cannot be executed.
    pub fn searched(&self) -> bool {
        self.searched
    }
}

/// Whether `program` is one the configuration routes (by its file name).
pub fn wants(loaded: &Loaded, program: *const c_char) -> bool {
    // SAFETY: program is the caller's NUL-terminated path or file name.
    let path = unsafe { sys::c_bytes(program) };
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    !name.is_empty()
        && match &loaded.autowrap {
            Autowrap::Off => false,
            Autowrap::Default => is_default_launcher(name),
            Autowrap::Names(names) => names.contains(&name),
        }
}

/// Whether an exec of `program` — one [`wants`] routes — is routed: the
/// launcher is where the exec would find it, and so is the injector. If so,
/// `buf` holds both paths.
/// `search`: the function searches PATH (`execvp`, `posix_spawnp`), whose
/// value is read from `environ` (`environ`'s copy), as glibc does.
pub fn route(
    loaded: &Loaded,
    program: *const c_char,
    search: bool,
    environ: *const *const c_char,
    buf: &mut RouteBuf<'_>,
) -> bool {
    // SAFETY: program is the caller's NUL-terminated path or file name.
    let path = unsafe { sys::c_bytes(program) };
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    if !find_program(path, search, environ, buf.program) {
        return false;
    }
    buf.searched = search && !path.contains(&b'/');
    // A script whose interpreter is gone (a venv moved away) fails to exec with ENOENT, and
    // execvp (and Python) go on to the next one in PATH: routed, the failure would be hidden.
    if interpreter_missing(buf.program.as_ptr().cast()) {
        return false;
    }
    // The first candidate that is there stays in the buffer (its path is NUL-terminated).
    let mut candidates = (0..).map_while(|candidate| {
        loaded.injector_path(candidate, buf.injector).map(|path| runs_here(path.as_ptr().cast()))
    });
    if candidates.any(|there| there) {
        return true;
    }
    let Some(injector) = loaded.injector_path(0, buf.injector) else { return false };
    let elsewhere: &[u8] = if loaded.injector.is_some() { b"" } else { b" (nor in ../bin from there)" };
    sys::warn(&[
        b"cannot route ",
        name,
        b" through envtrack-inject: not found at ",
        injector.get(..injector.len().saturating_sub(1)).unwrap_or_default(),
        elsewhere,
        b" (set ENVTRACK_INJECT); running it without",
    ]);
    false
}

/// Reads the start of the file at `path` (NUL-terminated) into `head`; the
/// bytes read (none if it cannot be read). A stack buffer: no allocation, no
/// lock (this may run in a vfork child).
fn read_head(path: *const c_char, head: &mut [u8]) -> &[u8] {
    let Ok(fd) = crate::syscall::open(path, libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK, 0) else {
        return &[];
    };
    let read = crate::syscall::read(fd, head).unwrap_or(0);
    crate::syscall::close(fd);
    &head[..read]
}

/// The most of a file's start [`read_head`] reads for a `#!` line.
const HEAD: usize = 255;

/// Whether the file at `path` (NUL-terminated) is a script (`#!`) whose
/// interpreter is not an executable file.
fn interpreter_missing(path: *const c_char) -> bool {
    let mut head = [0u8; HEAD];
    script_interpreter_missing(read_head(path, &mut head))
}

/// Whether `head`, a file's start, is a `#!` line naming an interpreter that
/// is not an executable file.
fn script_interpreter_missing(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(b"#!") else { return false };
    let rest = &rest[rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count()..];
    let end = rest.iter().position(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0)).unwrap_or(rest.len());
    if end == 0 || (end == rest.len() && head.len() == HEAD) {
        return false; // no interpreter named, or a line longer than the buffer: let the kernel decide
    }
    let mut interpreter = [0u8; HEAD + 1];
    interpreter[..end].copy_from_slice(&rest[..end]);
    !crate::syscall::is_executable_file(interpreter.as_ptr().cast())
}

/// Whether the file at `path` (NUL-terminated) looks like a program the
/// kernel will run here: executable, and a 64-bit x86 ELF file or a script
/// whose interpreter is there. (A spawn cannot be retried after the fact:
/// its file actions have run by then. See `hook::launch`.)
fn runs_here(path: *const c_char) -> bool {
    if !crate::syscall::is_executable_file(path) {
        return false;
    }
    const ELFCLASS64: u8 = 2;
    const EM_X86_64: u16 = 62;
    let mut head = [0u8; HEAD];
    let head = read_head(path, &mut head);
    match head {
        [0x7f, b'E', b'L', b'F', ..] => {
            head.len() >= 20 && head[4] == ELFCLASS64 && u16::from_le_bytes([head[18], head[19]]) == EM_X86_64
        }
        [b'#', b'!', ..] => !script_interpreter_missing(head),
        _ => false,
    }
}

/// Finds the file an exec of `path` would run, into `out` (NUL-terminated).
fn find_program(path: &[u8], search: bool, environ: *const *const c_char, out: &mut [u8]) -> bool {
    if path.contains(&b'/') || !search {
        return candidate(&[path], out);
    }
    // SAFETY: environ is our NULL-terminated copy, whose strings libc never frees.
    let mut env = unsafe { CStrArray::new(environ) };
    let search_path = env.find_map(|e| entry_value(e, b"PATH")).unwrap_or(b"/bin:/usr/bin");
    search_path.split(|&b| b == b':').any(|dir| {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        candidate(&[dir, b"/", path], out)
    })
}

/// Whether the path made of `parts` is an executable regular file; it is
/// left in `out`, NUL-terminated.
fn candidate(parts: &[&[u8]], out: &mut [u8]) -> bool {
    let mut sink = SliceSink::new(out);
    let written = parts.iter().try_for_each(|part| sink.put(part)).and_then(|()| sink.put_byte(0));
    written.is_ok() && crate::syscall::is_executable_file(out.as_ptr().cast())
}
