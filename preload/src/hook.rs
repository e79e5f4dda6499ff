//! The one sequence every exec and spawn hook runs, so that each defect of
//! the exec path is fixed once:
//!
//! 1. envtrack off, not loaded yet, or the process's credentials changed
//!    since it started (`sudo`, `runuser`, a daemon dropping privileges):
//!    the real function with the caller's arguments — nothing is ever
//!    carried across a change of user;
//! 2. the child environment is built in an [`Arena`] (see [`childenv`]); if
//!    it cannot be, the real function runs with the caller's arguments;
//! 3. the real function runs with the built environment (and, for a routed
//!    launcher, the injector's argv);
//! 4. if the kernel refuses that environment as too large (E2BIG), the real
//!    function runs again with the caller's own arguments — envtrack's
//!    additions must never make an exec fail — and one line says what was
//!    not carried;
//! 5. whatever the arena took is given back on every path (see [`Arena`]),
//!    and errno and the return convention are the real function's.

use core::ffi::{c_char, c_int};

use envtrack_model::Decimal;

use crate::arena::Arena;
use crate::childenv::{self, Request};
use crate::exec::Exec;
use crate::real::SpawnFn;
use crate::sys::{self, CStrArray};
use crate::{loaded, process};

/// Bytes of stack a build may use before it takes a mapping instead. Small:
/// hooks run on threads with 16 KiB stacks and on 8 KiB signal stacks.
pub const STACK_BUFFER: usize = 2 * 1024;

/// A stack buffer aligned for pointers.
#[repr(C, align(8))]
struct StackBuffer([u8; STACK_BUFFER]);

/// A spawn call's own arguments.
#[derive(Clone, Copy)]
pub struct Spawn {
    pub real: SpawnFn,
    pub pid: *mut libc::pid_t,
    pub path: *const c_char,
    pub actions: *const libc::posix_spawn_file_actions_t,
    pub attr: *const libc::posix_spawnattr_t,
    /// posix_spawnp: the real function searches PATH.
    pub search: bool,
}

/// Which function was called, with its own arguments.
#[derive(Clone, Copy)]
pub enum Launch {
    Exec(Exec),
    Spawn(Spawn),
}

impl Launch {
    /// The program named, for routing, and whether the function searches PATH.
    fn program(self) -> Option<(*const c_char, bool)> {
        match self {
            Launch::Exec(exec) => exec.program(),
            Launch::Spawn(spawn) => Some((spawn.path, spawn.search)),
        }
    }

    /// The program's name as the caller gave it, for messages (empty for fexecve/execveat).
    fn program_name<'a>(self) -> &'a [u8] {
        let program = self.program().map_or(core::ptr::null(), |(p, _)| p);
        // SAFETY: the caller's NUL-terminated program name (valid for the hook), or null (empty).
        unsafe { sys::c_bytes(program) }
    }

    /// Runs the real function: `path` and `argv` replace the caller's when
    /// routed. Returns 0 (a spawn that started) or the error number.
    unsafe fn call(self, path: Option<*const c_char>, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
        match self {
            // SAFETY: the caller's arguments, or our NULL-terminated argv/envp and path.
            Launch::Exec(exec) => unsafe { exec.call(path, argv, envp) },
            Launch::Spawn(s) => {
                let path = path.unwrap_or(s.path);
                // SAFETY: the caller's pid, actions and attributes; argv/envp the caller's or ours.
                unsafe { (s.real)(s.pid, path, s.actions, s.attr, argv.cast(), envp.cast()) }
            }
        }
    }
}

/// Runs `launch` with a tracked environment; 0 or the error number (exec
/// hooks turn it into -1 and errno, spawn hooks return it). errno is the
/// caller's on return.
///
/// # Safety
/// The arguments are the hooked function's: `argv` and `envp` null or
/// NULL-terminated arrays of strings.
pub unsafe fn launch(
    launch: Launch,
    argv: *const *const c_char,
    envp: *const *const c_char,
    envp_is_environ: bool,
) -> c_int {
    let saved = sys::errno();
    let original = || {
        sys::set_errno(saved);
        // SAFETY: the caller's own arguments.
        let error = unsafe { launch.call(None, argv, envp) };
        sys::set_errno(saved);
        error
    };
    let Some(loaded) = loaded::get() else { return original() };
    if process::credentials_now() != loaded.credentials {
        return original(); // a change of user: never carry anything across it
    }
    let request = Request { envp, envp_is_environ, program: launch.program(), argv };
    let mut stack = StackBuffer([0; STACK_BUFFER]);
    let mut arena = Arena::new(&mut stack.0);
    let Some(built) = childenv::prepare(loaded, &request, &mut arena) else {
        drop(arena);
        // No memory for the build, or a child sharing our memory that cannot lend its
        // clear_child_tid to a pool slot: as without envtrack.
        let name = launch.program_name();
        sys::warn(&[
            name,
            b": no memory for building the child's environment here; started without envtrack's additions",
        ]);
        return original();
    };
    sys::set_errno(saved);
    let path = (!built.path.is_null()).then_some(built.path);
    let argv_used = if built.argv.is_null() { argv } else { built.argv };
    // SAFETY: argv the caller's or our routed one, envp ours: NULL-terminated arrays.
    let error = unsafe { launch.call(path, argv_used, built.envp) };
    sys::set_errno(saved);
    // The injector looked runnable (route.rs) but the kernel would not run it (a missing ELF
    // interpreter, no permission): the launcher runs as the caller asked, tracked, after one
    // line, the build redone without routing. Only where the error can be the exec's alone:
    // a spawn's file actions and attributes have run (and may have failed) by then.
    let retry = match launch {
        Launch::Exec(_) => true,
        Launch::Spawn(s) => s.actions.is_null() && s.attr.is_null(),
    };
    let (error, built_envp) = match path {
        Some(injector) if error != libc::E2BIG && retry => {
            // SAFETY: the injector's NUL-terminated path, in the arena (still held).
            let injector = unsafe { sys::c_bytes(injector) };
            sys::warn(&[
                b"cannot route ",
                launch.program_name(),
                b" through envtrack-inject: ",
                injector,
                b" does not run (error ",
                Decimal::new(error as u64).as_bytes(),
                b"); running it without",
            ]);
            drop(arena);
            arena = Arena::new(&mut stack.0);
            let unrouted = Request { program: None, ..request };
            let Some(built) = childenv::prepare(loaded, &unrouted, &mut arena) else { return original() };
            sys::set_errno(saved);
            // SAFETY: the caller's argv, our NULL-terminated envp.
            let error = unsafe { launch.call(None, argv, built.envp) };
            sys::set_errno(saved);
            (error, built.envp)
        }
        _ => (error, built.envp),
    };
    if error != libc::E2BIG {
        return error;
    }
    let added = size_of_env(built_envp);
    drop(arena);
    // The kernel refused the environment envtrack built: run as without envtrack. The line
    // is written first (a successful exec does not return), when the caller's own
    // arguments fit; when they do not, the retry fails as it would have without envtrack.
    let name = launch.program_name();
    let fits = fits_exec(name, argv, envp);
    if fits {
        sys::warn(&[
            name,
            b": with envtrack's additions the environment is too large for the kernel (E2BIG, ",
            Decimal::new(added.0 as u64).as_bytes(),
            b" bytes); started without them, so this child carries no tracked changes, directives or envtrack",
        ]);
    }
    let error = original();
    if error == libc::E2BIG {
        explain_e2big(envp);
    }
    error
}

/// Whether exec would take these arguments and environment, by the
/// kernel's rule: no string of 128 KiB or more, and strings plus pointers
/// within a quarter of the stack limit (at least 128 KiB, at most 6 MiB).
/// A program found through PATH has a longer name than `file`: an estimate.
fn fits_exec(file: &[u8], argv: *const *const c_char, envp: *const *const c_char) -> bool {
    const MAX_STRING: usize = envtrack_model::vars::MAX_STRING;
    let quarter = crate::syscall::stack_limit().map_or(usize::MAX, |l| usize::try_from(l / 4).unwrap_or(usize::MAX));
    let limit = quarter.clamp(MAX_STRING, 6 << 20);
    let mut total = file.len() + 1;
    let mut count = 0usize;
    for array in [argv, envp] {
        // SAFETY: the caller's NULL-terminated arrays of strings (or null).
        for string in unsafe { CStrArray::new(array) } {
            if string.len() + 1 > MAX_STRING {
                return false;
            }
            total += string.len() + 1;
            count += 1;
        }
    }
    total + count.max(1) * core::mem::size_of::<*const c_char>() <= limit
}

/// Bytes and entries of an environment.
fn size_of_env(envp: *const *const c_char) -> (usize, usize) {
    // SAFETY: envp is null or a NULL-terminated array of strings.
    let env = unsafe { CStrArray::new(envp) };
    env.fold((0, 0), |(bytes, count), e| (bytes + e.len() + 1, count + 1))
}

/// Says why an exec failed with E2BIG, with the sizes.
fn explain_e2big(envp: *const *const c_char) {
    let (bytes, count) = size_of_env(envp);
    sys::warn(&[
        b"the environment is too large for the kernel (E2BIG): ",
        Decimal::new(bytes as u64).as_bytes(),
        b" bytes in ",
        Decimal::new(count as u64).as_bytes(),
        b" variables; one string may hold at most 131072 bytes, and arguments and environment together about a quarter of the stack limit (ulimit -s)",
    ]);
}
