//! The spawn hooks: `posix_spawn`, `posix_spawnp`. Each runs
//! [`hook::launch`] in the calling thread, and returns an error number, not
//! -1, as the real ones do; errno is the caller's.

use core::ffi::{c_char, c_int};

use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};

use crate::hook::{self, Launch, Spawn};
use crate::real::{call, SpawnFn};

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
    // Only posix_spawnp searches PATH (compared by address: the real functions are libc's).
    let search = call::POSIX_SPAWNP().is_some_and(|spawnp| spawnp as usize == real as usize);
    let spawn = Spawn { real, pid, path, actions: file_actions, attr, search };
    // SAFETY: the hooked function's own arguments.
    unsafe { hook::launch(Launch::Spawn(spawn), argv.cast(), envp.cast(), envp_is_environ) }
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
