//! The tracking hooks: `setenv`, `unsetenv`, `putenv`, `clearenv`.
//!
//! Each calls the real function first and records the change after it
//! returns, so our lock is never held while glibc's environment lock is.
//! These run in the program's ordinary context (glibc's own `setenv`
//! allocates), so they may allocate; they never call into `std`.

use core::ffi::{c_char, c_int};

use envtrack_model::{track_ignoring, Change};

use crate::loaded::{self, Loaded};
use crate::real::call;
use crate::sys::{self, c_bytes};
use crate::table;

/// The change of `name` when its value is `value`, relative to the original
/// base: the inherited change composed with the difference from the
/// inherited value. Allocates nothing (the exec path uses it too).
///
/// A list value made only of envtrack's own elements (LD_PRELOAD holding just
/// this library) counts as absent, so dropping it is no change.
pub fn change_of(loaded: &Loaded, name: &[u8], inherited: Option<Change>, value: Option<&[u8]>) -> Option<Change> {
    if envtrack_model::vars::is_untracked(name) {
        return None;
    }
    let owned = |element: &[u8]| loaded.owns(name, element);
    let sep = loaded.registry.separator(name);
    let only_owned =
        |v: &[u8]| sep.is_some_and(|sep| !v.is_empty() && envtrack_model::list::elements(v, sep).all(owned));
    let inherited_value = loaded.inherited.get(name).filter(|v| !only_owned(v));
    let value = value.filter(|v| !only_owned(v));
    track_ignoring(inherited, inherited_value, value, sep, &owned)
}

/// Records that `name` now has the `NAME=VALUE` string `entry` (null: removed).
fn record(name: &[u8], entry: *const c_char) {
    let Some(loaded) = loaded::get() else { return };
    if name.is_empty() || name.contains(&b'=') {
        return;
    }
    // SAFETY: entry is null or a NAME=VALUE string in the environment.
    let value = (!entry.is_null()).then(|| unsafe { c_bytes(entry) }.get(name.len() + 1..)).flatten();
    let guard = table::WriteGuard::acquire();
    let inherited = table::find(name).and_then(|entry| entry.inherited);
    let change = change_of(loaded, name, inherited, value);
    table::update(&guard, name, inherited, change, entry);
}

/// The `NAME=VALUE` string of `name` in `environ` (null if absent). Looks at
/// the tracked entry's last position first: glibc's setenv replaces an
/// existing variable in place, so this is usually one comparison, not a scan.
pub fn find_in_environ(name: &[u8], tracked: Option<&table::Entry>) -> *const c_char {
    let environ = sys::current_environ();
    if environ.is_null() {
        return core::ptr::null();
    }
    let matches = |entry: *const c_char| {
        // SAFETY: a non-null element of the NULL-terminated environ array.
        !entry.is_null() && envtrack_model::apply::entry_value(unsafe { c_bytes(entry) }, name).is_some()
    };
    if let Some(tracked) = tracked {
        let hint = tracked.hint.load(core::sync::atomic::Ordering::Relaxed);
        // SAFETY: elements up to the NULL are readable; we stop at the first NULL.
        let in_range = (0..=hint).all(|i| !unsafe { *environ.add(i) }.is_null());
        // SAFETY: checked above that index `hint` is before the terminating NULL.
        if in_range && matches(unsafe { *environ.add(hint) }) {
            return unsafe { *environ.add(hint) };
        }
    }
    let mut index = 0;
    loop {
        // SAFETY: walking the NULL-terminated array up to its NULL.
        let entry = unsafe { *environ.add(index) };
        if entry.is_null() {
            return core::ptr::null();
        }
        if matches(entry) {
            if let Some(tracked) = tracked {
                tracked.hint.store(index, core::sync::atomic::Ordering::Relaxed);
            }
            return entry;
        }
        index += 1;
    }
}

/// Records `name` as it now stands in `environ`.
fn record_current(name: &[u8]) {
    record(name, find_in_environ(name, table::find(name)));
}

/// # Safety
/// As `setenv(3)`.
#[no_mangle]
pub unsafe extern "C" fn setenv(name: *const c_char, value: *const c_char, overwrite: c_int) -> c_int {
    let Some(real) = call::SETENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    // SAFETY: the caller's arguments, passed on unchanged.
    let result = unsafe { real(name, value, overwrite) };
    if result == 0 {
        let saved = sys::errno();
        // SAFETY: setenv succeeded, so name is a valid NUL-terminated string. Whatever
        // `overwrite` decided, the variable now stands in environ.
        record_current(unsafe { c_bytes(name) });
        sys::set_errno(saved);
    }
    result
}

/// # Safety
/// As `unsetenv(3)`.
#[no_mangle]
pub unsafe extern "C" fn unsetenv(name: *const c_char) -> c_int {
    let Some(real) = call::UNSETENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    // SAFETY: the caller's argument, passed on unchanged.
    let result = unsafe { real(name) };
    if result == 0 {
        let saved = sys::errno();
        // SAFETY: unsetenv succeeded, so name is a valid NUL-terminated string.
        record(unsafe { c_bytes(name) }, core::ptr::null());
        sys::set_errno(saved);
    }
    result
}

/// # Safety
/// As `putenv(3)`. `putenv("NAME")` without `=` removes NAME.
#[no_mangle]
pub unsafe extern "C" fn putenv(string: *mut c_char) -> c_int {
    let Some(real) = call::PUTENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    // SAFETY: the caller's argument, passed on unchanged.
    let result = unsafe { real(string) };
    if result == 0 {
        let saved = sys::errno();
        // SAFETY: putenv succeeded, so string is a valid NUL-terminated string.
        let entry = unsafe { c_bytes(string) };
        match sys::split_entry(entry) {
            // putenv puts the caller's own string into the environment.
            Some((name, _)) => record(name, string),
            None => record(entry, core::ptr::null()),
        }
        sys::set_errno(saved);
    }
    result
}

/// # Safety
/// As `clearenv(3)`.
#[no_mangle]
pub unsafe extern "C" fn clearenv() -> c_int {
    let Some(real) = call::CLEARENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    // SAFETY: no arguments.
    let result = unsafe { real() };
    if result == 0 {
        let saved = sys::errno();
        if let Some(loaded) = loaded::get() {
            for name in loaded.inherited.names() {
                record(name, core::ptr::null());
            }
            for index in 0..table::len() {
                record(table::entry(index).name, core::ptr::null());
            }
        }
        sys::set_errno(saved);
    }
    result
}
