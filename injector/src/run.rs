//! Run mode: `envtrack-inject [DIRECTIVES] -- COMMAND ARGS…` runs COMMAND under
//! the library, with the directives applied and handed on; and the exec that
//! every mode ends with.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use envtrack_model::{vars, Directive, DirectiveSet, Environment, Op, Registry, Snapshot, Target};

use crate::error::UsageError;
use crate::flavor;
use crate::state::{fit_for_exec, inherited_snapshot, put_state};

/// Puts `library` first in LD_PRELOAD (once).
pub fn preload(env: &mut Environment, library: &Path) {
    strip_preload(env);
    let directive = Directive::new(Op::Prepend, b"LD_PRELOAD", library.as_os_str().as_bytes(), b':');
    env.apply(&directive.expect("a checked library path"));
}

/// Removes every libenvtrack.so from LD_PRELOAD (and LD_PRELOAD if nothing is left).
pub fn strip_preload(env: &mut Environment) {
    let Some(value) = env.get(b"LD_PRELOAD").map(<[u8]>::to_vec) else { return };
    let kept: Vec<&[u8]> = value
        .split(|&b| b == b':' || b == b' ')
        .filter(|e| !e.is_empty() && e.rsplit(|&b| b == b'/').next() != Some(b"libenvtrack.so"))
        .collect();
    if kept.is_empty() {
        env.unset(b"LD_PRELOAD");
    } else {
        env.set(b"LD_PRELOAD", &kept.join(&b':'));
    }
}

/// The environment COMMAND starts with: the current one, with `directives`
/// added to the inherited snapshot and applied (job level, then app level for
/// an application), the snapshot handed on, and the library preloaded first.
pub fn prepare_environment(
    mut env: Environment,
    directives: DirectiveSet,
    library: &Path,
    registry: &Registry,
    target: Target,
) -> Result<Environment, UsageError> {
    let mut snapshot = inherited_snapshot(&env)?;
    apply_and_hand_on(&mut env, &mut snapshot, directives, library, registry, target)?;
    Ok(env)
}

/// Adds `directives` to `snapshot` and applies it on `env` for `target`, then
/// hands the result on in `ENVTRACK_STATE` and preloads the library first:
/// what every mode does before it execs a program under the library.
pub fn apply_and_hand_on(
    env: &mut Environment,
    snapshot: &mut Snapshot,
    directives: DirectiveSet,
    library: &Path,
    registry: &Registry,
    target: Target,
) -> Result<(), UsageError> {
    snapshot.directives.extend(directives);
    let mut inherited = snapshot.apply_on(env, registry, target);
    fit_for_exec(env, &mut inherited);
    put_state(env, &inherited);
    env.unset(vars::ENVTRACK.as_bytes());
    preload(env, library);
    Ok(())
}

fn c_string(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes).ok()
}

/// Replaces this process with `command` in exactly `env` (entries in order,
/// byte for byte). The program is looked up in `env`'s PATH, as `env(1)`
/// does. Returns only on failure.
pub fn exec_in(command: &[OsString], env: &Environment) -> std::io::Error {
    exec_as(command, None, env)
}

/// [`exec_in`], with `argv0` (when given) as the program's argv[0].
pub fn exec_as(command: &[OsString], argv0: Option<&OsStr>, env: &Environment) -> std::io::Error {
    let Some(program) = command.first() else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command");
    };
    let Some(path) = flavor::resolve(program, env.get(b"PATH")) else {
        return std::io::Error::from_raw_os_error(libc::ENOENT);
    };
    let first = argv0.unwrap_or(program.as_os_str());
    let args = std::iter::once(first).chain(command[1..].iter().map(OsString::as_os_str));
    let argv: Option<Vec<CString>> = args.map(|a| c_string(a.as_bytes())).collect();
    let envp: Option<Vec<CString>> = env.entries.iter().map(|e| c_string(e)).collect();
    let (Some(argv), Some(envp), Some(path)) = (argv, envp, c_string(path.as_os_str().as_bytes())) else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL byte in an argument");
    };
    let mut argv_pointers: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_pointers.push(std::ptr::null());
    let mut envp_pointers: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_pointers.push(std::ptr::null());
    // The system call itself, not libc's execve: if this process was started
    // with libenvtrack.so preloaded, its hook must not route (again) what the
    // injector has already prepared.
    // SAFETY: NUL-terminated strings in NULL-terminated arrays, alive across the call.
    unsafe { libc::syscall(libc::SYS_execve, path.as_ptr(), argv_pointers.as_ptr(), envp_pointers.as_ptr()) };
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::E2BIG) {
        let bytes: usize = env.entries.iter().map(|e| e.len() + 1).sum();
        let arguments: usize = argv.iter().map(|a| a.as_bytes().len() + 1).sum();
        return std::io::Error::new(
            std::io::ErrorKind::ArgumentListTooLong,
            format!(
                "the arguments and environment are too large for the kernel (E2BIG): {arguments} bytes in {} arguments, {bytes} bytes in {} variables; one string may hold at most 131072 bytes",
                argv.len(),
                env.entries.len()
            ),
        );
    }
    error
}
