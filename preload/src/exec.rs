//! The exec hooks: `execve`, `execv`, `execvp`, `execvpe`, `execveat`,
//! `fexecve` (and `execl`, `execlp`, `execle` through the C shim, which
//! calls these). Each runs [`hook::launch`].
//!
//! Functions without an envp read `environ` at call time and, with a built
//! environment, become their envp-taking sibling (`execv` → `execve`,
//! `execvp` → `execvpe`, which searches the caller's PATH as `execvp` does).

use core::ffi::{c_char, c_int};

use crate::hook::{self, Launch};
use crate::real::call;
use crate::sys;

/// Which exec function was called, with its own arguments (but argv and envp).
#[derive(Clone, Copy)]
pub enum Exec {
    Execve(*const c_char),
    Execv(*const c_char),
    Execvp(*const c_char),
    Execvpe(*const c_char),
    Execveat(c_int, *const c_char, c_int),
    Fexecve(c_int),
}

impl Exec {
    /// Runs the real function (`path` replaces the program when routed);
    /// returns the error number (an exec that returns has failed).
    ///
    /// # Safety
    /// As the function's own: argv and envp null or NULL-terminated.
    pub unsafe fn call(
        self,
        path: Option<*const c_char>,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> c_int {
        if let Some(path) = path {
            // SAFETY: our NUL-terminated path and NULL-terminated argv/envp.
            return unsafe { execve_real(path, argv, envp) };
        }
        let environ = sys::current_environ();
        // SAFETY (all arms): the caller's arguments or our NULL-terminated envp passed on.
        let result = unsafe {
            match self {
                Exec::Execve(path) => return execve_real(path, argv, envp),
                // With the caller's own environ, the caller's own function; else its envp sibling.
                Exec::Execv(path) if envp == environ => match call::EXECV() {
                    Some(f) => f(path, argv),
                    None => return execve_real(path, argv, envp),
                },
                Exec::Execv(path) => return execve_real(path, argv, envp),
                Exec::Execvp(file) if envp == environ => match call::EXECVP() {
                    Some(f) => f(file, argv),
                    None => return libc::ENOSYS,
                },
                Exec::Execvp(file) | Exec::Execvpe(file) => match call::EXECVPE() {
                    Some(f) => f(file, argv, envp),
                    None => return libc::ENOSYS,
                },
                // No execveat in a C library before glibc 2.34: the system call, as its wrapper is.
                Exec::Execveat(dirfd, path, flags) => match call::EXECVEAT() {
                    Some(f) => f(dirfd, path, argv, envp, flags),
                    None => return crate::syscall::execveat(dirfd, path, argv, envp, flags),
                },
                Exec::Fexecve(fd) => match call::FEXECVE() {
                    Some(f) => f(fd, argv, envp),
                    None => return libc::ENOSYS,
                },
            }
        };
        let _ = result; // exec returned: it failed, with errno
        sys::errno()
    }

    /// The program named, for routing, and whether the function searches PATH.
    pub fn program(self) -> Option<(*const c_char, bool)> {
        match self {
            Exec::Execve(p) | Exec::Execv(p) => Some((p, false)),
            Exec::Execvp(p) | Exec::Execvpe(p) => Some((p, true)),
            Exec::Execveat(..) | Exec::Fexecve(_) => None,
        }
    }
}

/// The real execve, or the system call when none can be found; the errno.
unsafe fn execve_real(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    match call::EXECVE() {
        Some(f) => {
            // SAFETY: arguments passed on unchanged.
            unsafe { f(path, argv, envp) };
            sys::errno()
        }
        None => crate::syscall::execve(path, argv, envp),
    }
}

/// Runs the hook sequence and turns its error number into exec's -1 and errno.
unsafe fn exec_hooked(exec: Exec, argv: *const *const c_char, envp: *const *const c_char, uses_environ: bool) -> c_int {
    // SAFETY: the hooked function's own arguments.
    let error = unsafe { hook::launch(Launch::Exec(exec), argv, envp, uses_environ) };
    sys::set_errno(error);
    -1
}

/// # Safety
/// As `execve(2)`.
#[no_mangle]
pub unsafe extern "C" fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_hooked(Exec::Execve(path), argv, envp, false) }
}

/// # Safety
/// As `execv(3)`.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments; environ is read now.
    unsafe { exec_hooked(Exec::Execv(path), argv, sys::current_environ(), true) }
}

/// # Safety
/// As `execvp(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments; environ is read now.
    unsafe { exec_hooked(Exec::Execvp(file), argv, sys::current_environ(), true) }
}

/// # Safety
/// As `execvpe(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_hooked(Exec::Execvpe(file), argv, envp, false) }
}

/// # Safety
/// As `execveat(2)`.
#[no_mangle]
pub unsafe extern "C" fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_hooked(Exec::Execveat(dirfd, path, flags), argv, envp, false) }
}

/// # Safety
/// As `fexecve(3)`.
#[no_mangle]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_hooked(Exec::Fexecve(fd), argv, envp, false) }
}
