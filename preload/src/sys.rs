//! Small wrappers over libc for the rest of the library: errno, C strings,
//! `environ`, and the one-line warnings users see. All of it is
//! async-signal-safe: no allocation, no locks.

use core::ffi::{c_char, c_int};

extern "C" {
    static mut environ: *const *const c_char;
}

/// The calling thread's errno.
pub fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(value: c_int) {
    // SAFETY: as in errno().
    unsafe { *libc::__errno_location() = value }
}

/// The process's current environment array (may be null).
pub fn current_environ() -> *const *const c_char {
    // SAFETY: reading the pointer value of the global is what getenv does; programs may
    // assign it at any time, and we read it once per call.
    unsafe { core::ptr::addr_of!(environ).read_volatile() }
}

/// The bytes of a NUL-terminated string, without the NUL.
///
/// # Safety
/// `ptr` must be null or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn c_bytes<'a>(ptr: *const c_char) -> &'a [u8] {
    if ptr.is_null() {
        return &[];
    }
    // SAFETY: the caller guarantees a NUL-terminated string.
    unsafe { core::slice::from_raw_parts(ptr.cast(), libc::strlen(ptr)) }
}

/// Iterates a NULL-terminated array of C strings (`envp`, `argv`) as bytes
/// that live for `'a`.
#[derive(Clone, Copy)]
pub struct CStrArray<'a> {
    at: *const *const c_char,
    strings: core::marker::PhantomData<&'a [u8]>,
}

impl<'a> CStrArray<'a> {
    /// # Safety
    /// `array` must be null or a NULL-terminated array of NUL-terminated
    /// strings, and the array and its strings must stay valid for `'a`.
    pub unsafe fn new(array: *const *const c_char) -> Self {
        CStrArray { at: array, strings: core::marker::PhantomData }
    }
}

impl<'a> Iterator for CStrArray<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at.is_null() {
            return None;
        }
        // SAFETY: `new`'s contract: a NULL-terminated array of valid strings.
        let entry = unsafe { *self.at };
        if entry.is_null() {
            return None;
        }
        // SAFETY: as above; advancing stays within the array up to its NULL.
        self.at = unsafe { self.at.add(1) };
        // SAFETY: each element is a NUL-terminated string (contract of `new`).
        Some(unsafe { c_bytes(entry) })
    }
}

/// Writes `envtrack: ` + the parts + a newline to stderr in one `write`.
/// Never allocates; a message longer than 1 KiB is cut.
pub fn warn(parts: &[&[u8]]) {
    let mut line = [0u8; 1024];
    let mut len = 0;
    for part in [&b"envtrack: "[..]].iter().chain(parts).chain([&b"\n"[..]].iter()) {
        let room = line.len() - len;
        let take = part.len().min(room);
        line[len..len + take].copy_from_slice(&part[..take]);
        len += take;
    }
    if len == line.len() {
        line[len - 1] = b'\n';
    }
    let _ = crate::syscall::write(2, &line[..len]);
}

/// FNV-1a: a small, fast hash for variable names.
pub use envtrack_model::state_env::fnv64 as hash;

pub use crate::syscall::{map, unmap};
