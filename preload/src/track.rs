//! The tracking hooks: `setenv`, `unsetenv`, `putenv`, `clearenv`.
//!
//! Each holds envtrack's environment lock ([`crate::lock`]) around the real
//! call and the record of what changed, so that an exec on another thread
//! never copies a half-replaced `environ`. glibc's own environment lock is
//! only ever taken inside the real call, so the two are always taken in the
//! same order. These run in the program's ordinary context (glibc's own
//! `setenv` allocates), so they may allocate; they never call into `std`.

use core::ffi::{c_char, c_int};

use envtrack_model::{track_ignoring, Change};

use core::sync::atomic::{AtomicPtr, Ordering};

use crate::loaded::{self, Loaded};
use crate::real::call;
use crate::sys::{self, c_bytes, CStrArray, Key};
use crate::tracked;

/// The change of `name` when its value is `value`, relative to the original
/// base: the inherited change composed with the difference from the
/// inherited value. Allocates nothing (the exec path uses it too).
///
/// A list value made only of envtrack's own elements (LD_PRELOAD holding just
/// this library) counts as absent, so dropping it is no change.
pub fn change_of(loaded: &Loaded, key: Key<'_>, inherited: Option<Change>, value: Option<&[u8]>) -> Option<Change> {
    change_from(loaded, key, inherited, loaded.inherited.get(key), value)
}

/// [`change_of`], given the value the variable was inherited with.
#[inline(always)]
pub fn change_from(
    loaded: &Loaded,
    key: Key<'_>,
    inherited: Option<Change>,
    inherited_value: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Option<Change> {
    let name = key.name;
    let unchanged = inherited_value == value;
    if inherited.is_none() && unchanged {
        return None; // the common case: as inherited, and nothing inherited to carry
    }
    if envtrack_model::vars::is_untracked(name) {
        return None;
    }
    let sep = loaded.registry.separator(name);
    if sep.is_none() && !matches!(inherited, Some(Change::List { .. })) {
        // Not a list (most variables): set or unset, what track_ignoring gives without the
        // list arithmetic.
        return Some(if value.is_some() { Change::Set } else { Change::Unset });
    }
    let owned = |element: &[u8]| loaded.owns(name, element);
    let only_owned =
        |v: &[u8]| sep.is_some_and(|sep| !v.is_empty() && envtrack_model::list::elements(v, sep).all(owned));
    let inherited_value = inherited_value.filter(|v| !only_owned(v));
    let value = value.filter(|v| !only_owned(v));
    track_ignoring(inherited, inherited_value, value, sep, &owned)
}

/// `environ` as the last setenv-family call left it. A program may later
/// replace `environ` with an array of its own (Rust's `env_clear`, `env -i`);
/// libc's array, with the values set through it, stays where it was, and the
/// exec path looks there for tracked values the new array lacks.
pub static LAST_ENVIRON: AtomicPtr<*const c_char> = AtomicPtr::new(core::ptr::null_mut());

/// Records that `name` now has `value` (None: removed). The caller holds
/// the environment lock.
fn record(guard: &crate::lock::Guard, name: &[u8], value: Option<&[u8]>) {
    let Some(loaded) = loaded::get() else { return };
    if name.is_empty() || name.contains(&b'=') {
        return;
    }
    let key = Key::new(name);
    let found = tracked::View::new(loaded).find(key);
    let change = change_of(loaded, key, found.and_then(|t| t.inherited), value);
    tracked::update(guard, loaded, key, found, change);
}

/// The current value of `name` in `environ`.
fn current_value(name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: environ is the process's NULL-terminated environment array.
    let mut env = unsafe { CStrArray::new(sys::current_environ()) };
    env.find_map(|entry| envtrack_model::apply::entry_value(entry, name))
}

/// What every tracking hook does around the real function: `real_call` runs
/// with envtrack's lock held, so an exec never reads a half-replaced
/// `environ`; [`LAST_ENVIRON`] is set to what the call left (once per call, whether or not anything is recorded: a
/// `clearenv` that records nothing still frees libc's array); on success
/// `record_change` records what changed, with `errno` kept as the real call
/// left it.
#[inline(always)]
fn tracked_write(real_call: impl FnOnce() -> c_int, record_change: impl FnOnce(&crate::lock::Guard)) -> c_int {
    let guard = crate::lock::Guard::acquire();
    let result = real_call();
    LAST_ENVIRON.store(sys::current_environ().cast_mut(), Ordering::Release);
    if result == 0 {
        let saved = sys::errno();
        record_change(&guard);
        sys::set_errno(saved);
    }
    result
}

/// # Safety
/// As `setenv(3)`.
#[no_mangle]
pub unsafe extern "C" fn setenv(name: *const c_char, value: *const c_char, overwrite: c_int) -> c_int {
    let Some(real) = call::SETENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    tracked_write(
        // SAFETY: the caller's arguments, passed on unchanged.
        || unsafe { real(name, value, overwrite) },
        |guard| {
            // SAFETY: setenv succeeded, so both are valid NUL-terminated strings.
            let name = unsafe { c_bytes(name) };
            if overwrite != 0 {
                // SAFETY: as above.
                record(guard, name, Some(unsafe { c_bytes(value) }));
            } else {
                // The variable may have been there already, and kept its value.
                record(guard, name, current_value(name));
            }
        },
    )
}

/// # Safety
/// As `unsetenv(3)`.
#[no_mangle]
pub unsafe extern "C" fn unsetenv(name: *const c_char) -> c_int {
    let Some(real) = call::UNSETENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    tracked_write(
        // SAFETY: the caller's argument, passed on unchanged.
        || unsafe { real(name) },
        // SAFETY: unsetenv succeeded, so name is a valid NUL-terminated string.
        |guard| record(guard, unsafe { c_bytes(name) }, None),
    )
}

/// # Safety
/// As `putenv(3)`. `putenv("NAME")` without `=` removes NAME.
#[no_mangle]
pub unsafe extern "C" fn putenv(string: *mut c_char) -> c_int {
    let Some(real) = call::PUTENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    tracked_write(
        // SAFETY: the caller's argument, passed on unchanged.
        || unsafe { real(string) },
        |guard| {
            // SAFETY: putenv succeeded, so string is a valid NUL-terminated string.
            let entry = unsafe { c_bytes(string) };
            match envtrack_model::apply::split_entry(entry) {
                Some((name, value)) => record(guard, name, Some(value)),
                None => record(guard, entry, None),
            }
        },
    )
}

/// # Safety
/// As `clearenv(3)`.
#[no_mangle]
pub unsafe extern "C" fn clearenv() -> c_int {
    let Some(real) = call::CLEARENV() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    tracked_write(
        // SAFETY: no arguments.
        || unsafe { real() },
        |guard| {
            let Some(loaded) = loaded::get() else { return };
            for name in loaded.inherited.names() {
                record(guard, name, None);
            }
            // Ids fixed before: recording may add table entries, which are seen through their names.
            let view = tracked::View::new(loaded);
            for tracked in view.iter() {
                record(guard, tracked.name, None);
            }
        },
    )
}
