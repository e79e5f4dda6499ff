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
    /// Whether the caller's envp is `environ` or libc's own array: then the
    /// copy is used, never the array another thread's setenv may free.
    pub envp_is_libc: bool,
}

impl EnvironSnapshot {
    /// Copies the pointers into `carve`; `Err` when it is too small.
    pub fn take(carve: &mut Carve<'_>, envp: *const *const c_char) -> Result<EnvironSnapshot, Short> {
        // A holder that never finishes (a thread a raw clone left behind): copy anyway,
        // as libc's own execv would read environ.
        let guard = Guard::acquire_within(100_000);
        let live = sys::current_environ();
        let last = crate::track::LAST_ENVIRON.load(Ordering::Acquire).cast_const();
        let last = if last == live || guard.is_none() { core::ptr::null() } else { last };
        // Only the arrays libc made (the current one, or its own one still in place beside a
        // program's replacement) are libc's. An array libc replaced and freed is not: its block
        // may already be the caller's own envp again (malloc hands it back).
        let envp_is_libc = !envp.is_null() && (envp == live || envp == last);
        // SAFETY: each is null or a NULL-terminated array nobody frees while we hold the lock.
        let (live_count, last_count) = unsafe { (CStrArray::new(live).count(), CStrArray::new(last).count()) };
        let target = carve.take(live_count + 1 + last_count + 1, core::ptr::null::<c_char>())?;
        let (live_copy, last_copy) = target.split_at_mut(live_count + 1);
        // SAFETY: as above; each copy holds count + 1 pointers.
        unsafe {
            copy_pointers(live, live_copy);
            copy_pointers(last, last_copy);
        }
        drop(guard);
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
