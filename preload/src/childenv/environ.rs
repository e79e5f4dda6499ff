//! A copy of `environ`'s pointers, taken once per build under the
//! environment lock, so that no concurrent setenv frees an array while the
//! build reads it (libc frees replaced arrays, never the strings).

use core::ffi::c_char;
use core::sync::atomic::Ordering;

use super::carve::{Carve, Short};
use crate::lock::Guard;
use crate::sys::{self, CStrArray};

/// The copy, NULL-terminated, in the build's arena.
pub struct EnvironSnapshot {
    /// The copy of `environ`.
    pub pointers: *const *const c_char,
    /// The copy of libc's own array when the program replaced `environ` with
    /// one of its own since the last setenv-family call (null otherwise): it
    /// holds the values set through setenv.
    pub last: *const *const c_char,
    /// Whether the caller's envp is `environ` or libc's array beside a
    /// program's replacement: then the copy is used, never the array another
    /// thread's setenv may free.
    pub envp_is_libc: bool,
}

/// What [`copy_callers`] found at the caller's envp.
pub enum Callers {
    /// A NULL-terminated array whose every pointer leads to readable memory:
    /// its pointers, copied into the arena (so later changes to the caller's
    /// array cannot change the build between its two passes).
    Copied(*const *const c_char),
    /// Pointers that lead nowhere: freed memory. The caller read `environ`
    /// before another thread's setenv replaced and freed it, and meant "the
    /// environment": the copy of `environ` stands for it.
    Stale,
    /// The kernel would not let us look (process_vm_readv refused): the
    /// caller's array is read as it is.
    Unprobed,
}

/// How many pointers are read, or probed, at a time.
const BATCH: usize = 256;

/// Copies the caller's envp without ever faulting: the pointers with
/// process_vm_readv, then one byte of each string (a batch of iovecs per
/// system call), so that freed memory is recognised instead of read. A
/// program's own array — even one malloc placed where a freed environment
/// array was — is its own; libc's stale array is not, because the allocator
/// overwrote its first words when it was freed.
pub fn copy_callers(carve: &mut Carve<'_>, envp: *const *const c_char) -> Result<Callers, Short> {
    let pointer = core::mem::size_of::<*const c_char>();
    let first = carve.take_unwritten::<*const c_char>(BATCH)?;
    let start = first.as_mut_ptr();
    let mut count = 0;
    let mut chunk: &mut [*const c_char] = first;
    loop {
        // SAFETY: the chunk is plain pointer data in our arena; filling it as bytes is sound.
        let bytes =
            unsafe { core::slice::from_raw_parts_mut(chunk.as_mut_ptr().cast::<u8>(), core::mem::size_of_val(chunk)) };
        let source = envp.wrapping_add(count).cast::<u8>();
        let read = match crate::syscall::read_own_memory(source, bytes) {
            Ok(read) => read / pointer,
            Err(libc::EFAULT) => return Ok(Callers::Stale),
            Err(_) => return Ok(Callers::Unprobed),
        };
        if let Some(end) = chunk.get(..read).and_then(|c| c.iter().position(|p| p.is_null())) {
            count += end;
            break;
        }
        if read < chunk.len() {
            return Ok(Callers::Stale); // the array runs into unreadable memory before its NULL
        }
        count += chunk.len();
        // The next chunk follows this one in the arena (same type, no padding).
        chunk = carve.take_unwritten::<*const c_char>(BATCH)?;
    }
    // SAFETY: `count` pointers and the NULL after them were written contiguously from `start`.
    let copy = unsafe { core::slice::from_raw_parts(start.cast_const(), count + 1) };
    let probes = carve.take(BATCH, libc::iovec { iov_base: core::ptr::null_mut(), iov_len: 1 })?;
    let mut sink = [0u8; BATCH];
    for batch in copy[..count].chunks(BATCH) {
        for (probe, &string) in probes.iter_mut().zip(batch) {
            probe.iov_base = string.cast_mut().cast();
        }
        match crate::syscall::read_own_scattered(&probes[..batch.len()], &mut sink[..batch.len()]) {
            Ok(read) if read == batch.len() => {}
            Ok(_) | Err(libc::EFAULT) => return Ok(Callers::Stale),
            Err(_) => return Ok(Callers::Unprobed),
        }
    }
    Ok(Callers::Copied(copy.as_ptr()))
}

impl EnvironSnapshot {
    /// Copies the pointers into `carve`; `Err` when it is too small.
    pub fn take(carve: &mut Carve<'_>, envp: *const *const c_char) -> Result<EnvironSnapshot, Short> {
        // A signal handler of the program that calls setenv must not run in the middle of the
        // copy: under the lock its thread holds, glibc's setenv would free the array being
        // copied. It runs after (held back for the copy only; async-signal-safe: two system calls).
        let deferred = crate::syscall::SignalsDeferred::new();
        // A holder that never finishes (a thread a raw clone left behind): copy anyway,
        // as libc's own execv would read environ.
        let guard = Guard::acquire_within(100_000);
        let live = sys::current_environ();
        let last = crate::track::LAST_ENVIRON.load(Ordering::Acquire).cast_const();
        let last = if last == live || guard.is_none() { core::ptr::null() } else { last };
        let envp_is_libc = !envp.is_null() && (envp == live || envp == last);
        // SAFETY: each is null or a NULL-terminated array nobody frees while we hold the lock.
        let (live_count, last_count) =
            unsafe { (CStrArray::new(live).count_unmeasured(), CStrArray::new(last).count_unmeasured()) };
        let target = carve.take_unwritten::<*const c_char>(live_count + 1 + last_count + 1)?;
        let (live_copy, last_copy) = target.split_at_mut(live_count + 1);
        // SAFETY: as above; each copy holds count + 1 pointers.
        unsafe {
            copy_pointers(live, live_copy);
            copy_pointers(last, last_copy);
        }
        drop(guard);
        drop(deferred);
        let last = if last.is_null() { core::ptr::null() } else { last_copy.as_ptr() };
        Ok(EnvironSnapshot { pointers: live_copy.as_ptr(), last, envp_is_libc })
    }
}

/// Copies the NULL-terminated `source` into `target` (at most its length
/// less one), then a NULL.
///
/// # Safety
/// `source` must be null or NULL-terminated.
unsafe fn copy_pointers(source: *const *const c_char, target: &mut [*const c_char]) {
    let mut index = 0;
    while index + 1 < target.len() && !source.is_null() {
        // SAFETY: index is below the count taken under the lock, inside the array.
        let entry = unsafe { *source.add(index) };
        if entry.is_null() {
            break;
        }
        target[index] = entry;
        index += 1;
    }
    if let Some(end) = target.get_mut(index) {
        *end = core::ptr::null();
    }
}
