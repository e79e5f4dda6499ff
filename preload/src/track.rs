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
use crate::sys::{self, c_bytes, CStrArray};
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

/// Records that `name` now has `value` (None: removed).
fn record(name: &[u8], value: Option<&[u8]>) {
    let Some(loaded) = loaded::get() else { return };
    if name.is_empty() || name.contains(&b'=') {
        return;
    }
    let guard = table::WriteGuard::acquire();
    let inherited = table::find(name).and_then(|entry| entry.inherited);
    let change = change_of(loaded, name, inherited, value);
    table::update(&guard, name, inherited, change);
}

/// The current value of `name` in the environment.
fn current_value(name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: environ is the process's NULL-terminated environment array.
    let mut env = unsafe { CStrArray::new(sys::current_environ()) };
    env.find_map(|entry| envtrack_model::apply::entry_value(entry, name))
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
        // SAFETY: setenv succeeded, so both are valid NUL-terminated strings.
        let name = unsafe { c_bytes(name) };
        if overwrite != 0 {
            // SAFETY: as above.
            record(name, Some(unsafe { c_bytes(value) }));
        } else {
            record(name, current_value(name));
        }
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
        record(unsafe { c_bytes(name) }, None);
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
            Some((name, value)) => record(name, Some(value)),
            None => record(entry, None),
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
                record(name, None);
            }
            for index in 0..table::len() {
                record(table::entry(index).name, None);
            }
        }
        sys::set_errno(saved);
    }
    result
}
