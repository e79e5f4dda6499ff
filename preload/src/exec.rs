//! The exec hooks: `execve`, `execv`, `execvp`, `execvpe`, `execveat`,
//! `fexecve` (and `execl`, `execlp`, `execle` through the C shim, which
//! calls these).
//!
//! Each builds the child environment (see [`childenv`]) and calls the real
//! function with it. Functions without an envp read `environ` at call time
//! and become their envp-taking sibling (`execv` → `execve`, `execvp` →
//! `execvpe`, which searches the caller's PATH as `execvp` does). If the
//! environment cannot be built, the real function runs with the caller's
//! arguments: an exec never fails because of envtrack. errno is kept.

use core::ffi::{c_char, c_int};

use envtrack_model::Decimal;

use crate::childenv::{self, Request};
use crate::loaded::{self, Loaded};
use crate::real::call;
use crate::route;
use crate::sys::{self, CStrArray};

/// Bytes of stack a build may use before it maps memory instead.
pub const STACK_BUFFER: usize = 8 * 1024;

/// A stack buffer aligned for pointers.
#[repr(C, align(8))]
pub struct StackBuffer(pub [u8; STACK_BUFFER]);

/// Which exec function was called, with its own arguments.
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
    /// The real function with the caller's own arguments.
    unsafe fn call_original(self, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
        // SAFETY (all arms): the caller's arguments passed on unchanged to the real function.
        unsafe {
            match self {
                Exec::Execve(path) => execve_real(path, argv, envp),
                Exec::Execv(path) => match call::EXECV() {
                    Some(f) => f(path, argv),
                    None => execve_real(path, argv, sys::current_environ()),
                },
                Exec::Execvp(file) => match call::EXECVP() {
                    Some(f) => f(file, argv),
                    None => missing(),
                },
                Exec::Execvpe(file) => match call::EXECVPE() {
                    Some(f) => f(file, argv, envp),
                    None => missing(),
                },
                Exec::Execveat(dirfd, path, flags) => match call::EXECVEAT() {
                    Some(f) => f(dirfd, path, argv, envp, flags),
                    None => missing(),
                },
                Exec::Fexecve(fd) => match call::FEXECVE() {
                    Some(f) => f(fd, argv, envp),
                    None => missing(),
                },
            }
        }
    }

    /// The real function with a built environment.
    unsafe fn call_with(self, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
        // SAFETY: argv is the caller's, envp our built NULL-terminated array.
        unsafe {
            match self {
                Exec::Execve(path) | Exec::Execv(path) => execve_real(path, argv, envp),
                Exec::Execvp(file) | Exec::Execvpe(file) => match call::EXECVPE() {
                    Some(f) => f(file, argv, envp),
                    None => missing(),
                },
                other => other.call_original(argv, envp),
            }
        }
    }

    /// The program named, for routing.
    fn program(self) -> Option<*const c_char> {
        match self {
            Exec::Execve(p) | Exec::Execv(p) | Exec::Execvp(p) | Exec::Execvpe(p) => Some(p),
            Exec::Execveat(..) | Exec::Fexecve(_) => None,
        }
    }

    fn uses_environ(self) -> bool {
        matches!(self, Exec::Execv(_) | Exec::Execvp(_))
    }
}

fn missing() -> c_int {
    sys::set_errno(libc::ENOSYS);
    -1
}

/// The real execve, or the system call when none can be found.
unsafe fn execve_real(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: arguments passed on unchanged.
    unsafe {
        match call::EXECVE() {
            Some(f) => f(path, argv, envp),
            None => {
                sys::set_errno(crate::syscall::execve(path, argv, envp));
                -1
            }
        }
    }
}

/// The request for a child of `loaded`, routed when the program is a launcher
/// (unless its environment turns envtrack off, which the build decides).
pub fn request_for(
    loaded: &Loaded,
    program: Option<*const c_char>,
    argv: *const *const c_char,
    envp: *const *const c_char,
    envp_is_environ: bool,
) -> Request {
    let route = program.and_then(|program| route::route(loaded, program, argv));
    Request { envp, envp_is_environ, route }
}

/// Says why an exec failed with E2BIG, with the sizes.
pub fn explain_e2big(envp: *const *const c_char) {
    // SAFETY: envp is our built NULL-terminated array.
    let env = unsafe { CStrArray::new(envp) };
    let bytes: usize = env.map(|e| e.len() + 1).sum();
    sys::warn(&[
        b"the environment is too large for the kernel (E2BIG): ",
        Decimal::new(bytes as u64).as_bytes(),
        b" bytes in ",
        Decimal::new(env.count() as u64).as_bytes(),
        b" variables; one string may hold at most 131072 bytes, and arguments and environment together about a quarter of the stack limit (ulimit -s)",
    ]);
}

unsafe fn exec_tracked(exec: Exec, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    let saved = sys::errno();
    let Some(loaded) = loaded::get() else {
        // SAFETY: the caller's own arguments.
        return unsafe { exec.call_original(argv, envp) };
    };
    let request = request_for(loaded, exec.program(), argv, envp, exec.uses_environ());
    let mut stack = StackBuffer([0; STACK_BUFFER]);
    let Some(mut built) = childenv::prepare(loaded, &request, &mut stack.0) else {
        sys::set_errno(saved);
        // SAFETY: the caller's own arguments.
        return unsafe { exec.call_original(argv, envp) };
    };
    sys::set_errno(saved);
    let result = match &request.route {
        // Routed (the build made an argv): our built argv and envp, NULL-terminated; the
        // injector path is NUL-terminated.
        Some(route) if !built.argv.is_null() => unsafe { execve_real(route.injector_path(), built.argv, built.envp) },
        // SAFETY: as above.
        _ => unsafe { exec.call_with(argv, built.envp) },
    };
    let error = sys::errno();
    if error == libc::E2BIG {
        explain_e2big(built.envp);
    }
    built.release();
    sys::set_errno(error);
    result
}

/// # Safety
/// As `execve(2)`.
#[no_mangle]
pub unsafe extern "C" fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_tracked(Exec::Execve(path), argv, envp) }
}

/// # Safety
/// As `execv(3)`.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments; environ is read now.
    unsafe { exec_tracked(Exec::Execv(path), argv, sys::current_environ()) }
}

/// # Safety
/// As `execvp(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments; environ is read now.
    unsafe { exec_tracked(Exec::Execvp(file), argv, sys::current_environ()) }
}

/// # Safety
/// As `execvpe(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_tracked(Exec::Execvpe(file), argv, envp) }
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
    unsafe { exec_tracked(Exec::Execveat(dirfd, path, flags), argv, envp) }
}

/// # Safety
/// As `fexecve(3)`.
#[no_mangle]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: forwarding the caller's arguments.
    unsafe { exec_tracked(Exec::Fexecve(fd), argv, envp) }
}
