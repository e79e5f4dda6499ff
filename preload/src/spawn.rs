//! The spawn hooks: `posix_spawn`, `posix_spawnp`. The child environment is
//! built in the calling thread, then the real function runs with it. They
//! return an error number, not -1, as the real ones do.

use core::ffi::{c_char, c_int};

use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};

use crate::childenv;
use crate::exec::{explain_e2big, request_for, StackBuffer, STACK_BUFFER};
use crate::loaded;
use crate::real::{call, SpawnFn};
use crate::sys;

/// Spawns through `real` with a tracked environment. `envp_is_environ` is
/// true for our own `system`/`popen`, which pass `environ`.
///
/// # Safety
/// As `posix_spawn(3)`.
#[allow(clippy::too_many_arguments)] // posix_spawn's six, plus which real function and how envp came
pub unsafe fn spawn_tracked(
    real: Option<SpawnFn>,
    pid: *mut pid_t,
    path: *const c_char,
    file_actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
    envp_is_environ: bool,
) -> c_int {
    let Some(real) = real else { return libc::ENOSYS };
    let saved = sys::errno();
    let Some(loaded) = loaded::get() else {
        // SAFETY: the caller's own arguments.
        return unsafe { real(pid, path, file_actions, attr, argv, envp) };
    };
    let request = request_for(loaded, Some(path), argv.cast(), envp.cast(), envp_is_environ);
    let mut stack = StackBuffer([0; STACK_BUFFER]);
    let Some(mut built) = childenv::prepare(loaded, &request, &mut stack.0) else {
        sys::set_errno(saved);
        // SAFETY: the caller's own arguments.
        return unsafe { real(pid, path, file_actions, attr, argv, envp) };
    };
    sys::set_errno(saved);
    let (path, argv) = match &request.route {
        Some(route) if !built.argv.is_null() => (route.injector_path(), built.argv),
        _ => (path, argv.cast()),
    };
    // SAFETY: the caller's pid, actions and attributes; our NULL-terminated argv/envp.
    let result = unsafe { real(pid, path, file_actions, attr, argv.cast(), built.envp.cast()) };
    if result == libc::E2BIG {
        explain_e2big(built.envp);
    }
    if result == 0 {
        built.release_memory(); // the child reads any spilled state file and removes it
    } else {
        built.release();
    }
    sys::set_errno(saved);
    result
}

/// # Safety
/// As `posix_spawn(3)`.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut pid_t,
    path: *const c_char,
    file_actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { spawn_tracked(call::POSIX_SPAWN(), pid, path, file_actions, attr, argv, envp, false) }
}

/// # Safety
/// As `posix_spawnp(3)`.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut pid_t,
    file: *const c_char,
    file_actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { spawn_tracked(call::POSIX_SPAWNP(), pid, file, file_actions, attr, argv, envp, false) }
}
