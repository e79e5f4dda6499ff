//! Run mode: `envtrack-inject [DIRECTIVES] -- COMMAND ARGS…` runs COMMAND under
//! the library, with the directives applied and handed on.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use envtrack_model::{vars, Directive, DirectiveSet, Environment, Op, Registry, Target};

use crate::error::UsageError;
use crate::state::{inherited_snapshot, state_value};

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
    snapshot.directives.extend(directives);
    let inherited = snapshot.apply_on(&mut env, registry, target);
    env.set(vars::STATE.as_bytes(), state_value(&inherited)?.as_bytes());
    env.unset(vars::ENVTRACK.as_bytes());
    env.apply(
        &Directive::new(Op::Prepend, b"LD_PRELOAD", library.as_os_str().as_bytes(), b':')
            .expect("a checked library path"),
    );
    Ok(env)
}

/// Replaces this process with `command` in `env`. Returns only on failure.
pub fn exec(command: &[OsString], env: &Environment) -> std::io::Error {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]).env_clear();
    for (name, value) in env.pairs() {
        cmd.env(OsString::from_vec(name.to_vec()), OsString::from_vec(value.to_vec()));
    }
    cmd.exec()
}
