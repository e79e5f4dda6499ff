//! `envtrack-inject [DIRECTIVES] -- LAUNCHER ARGS…` for a known launcher:
//! the tracked changes (with their values) and the directives travel to every
//! worker through the launcher's own forwarding; the launcher itself runs
//! with the job-level directives applied and without the library.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use serde_json::json;

use envtrack_model::{vars, DirectiveSet, Registry, Target};

use crate::error::UsageError;
use crate::flavor::{self, Flavor};
use crate::launch::{self, Context};
use crate::run::{exec_as, strip_preload};
use crate::state::{current_environment, inherited_snapshot, oversized_entries, remove_state};
use crate::{log, transport};

pub struct Launch<'a> {
    pub launcher: &'a Path,
    pub flavor: Flavor,
    /// The command as given: argv[0] is the launcher as named.
    pub command: &'a [OsString],
    /// The launcher's argv[0], when it is not `command[0]` (a routed exec's own).
    pub argv0: Option<&'a OsStr>,
    pub directives: DirectiveSet,
    /// `envtrack-inject` as the remote nodes can run it.
    pub remote_injector: &'a OsStr,
}

/// Rewrites and execs. Returns only on failure.
pub fn run(launch: Launch<'_>, registry: &Registry) -> Result<std::io::Error, UsageError> {
    let mut env = current_environment();
    let mut snapshot = inherited_snapshot(&env)?;
    snapshot.directives.extend(launch.directives);
    let mut travelling = snapshot.resolve(|name| env.get(name));
    carry_own_variables(&env, &mut travelling);
    travelling.apply_on(&mut env, registry, Target::Job);
    // Values the kernel would refuse in the launcher's environment travel
    // only in the snapshot (the workers' library restores them).
    for (name, _) in oversized_entries(&env) {
        env.unset(&name);
    }
    remove_state(&mut env);
    strip_preload(&mut env);
    let prefix = if launch.flavor == Flavor::Ssh { transport::SSH_PREFIX } else { transport::PREFIX };
    let carried = transport::encode(&travelling, prefix);
    for (name, value) in &carried {
        env.set(name.as_bytes(), value.as_bytes());
    }
    let names = transport::names(&carried);
    let mut context = Context { remote_injector: launch.remote_injector, transport: &names, env: &mut env };
    let args = launch::rewrite(launch.flavor, &launch.command[1..], &mut context)?;
    let mut command = vec![launch.launcher.as_os_str().to_os_string()];
    command.extend(args);
    log::record(
        "launch",
        launch.launcher.as_os_str().as_encoded_bytes(),
        || json!({"flavor": launch.flavor.name(), "snapshot": log::snapshot_json(&travelling)}),
    );
    Ok(exec_as(&command, launch.argv0, &env))
}

/// envtrack's own settings go with the snapshot, so workers on clean nodes
/// log, redact and route as the launching side asked.
fn carry_own_variables(env: &envtrack_model::Environment, snapshot: &mut envtrack_model::Snapshot) {
    for name in [vars::LOG, vars::LISTS, vars::AUTOWRAP, crate::redact::REDACT_VAR] {
        let name = name.as_bytes();
        if let Some(value) = env.get(name) {
            if !snapshot.tracked.iter().any(|t| t.name == name) {
                snapshot.carry_set(name, value);
            }
        }
    }
}

/// The launcher `program` names, and its flavor, if it is one.
pub fn launcher_of(program: &OsStr) -> Result<Option<(std::path::PathBuf, Flavor)>, UsageError> {
    let name = Path::new(program).file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default();
    let resolved = flavor::resolve(program, std::env::var_os("PATH").as_ref().map(|p| p.as_encoded_bytes()));
    let is_launcher = flavor::is_launcher_name(name)
        || resolved.as_ref().and_then(|p| p.canonicalize().ok()).is_some_and(|real| {
            flavor::is_launcher_name(real.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default())
        });
    if !is_launcher {
        return Ok(None);
    }
    let path = resolved.ok_or_else(|| {
        UsageError::new(format!("launcher {} not found (looked in PATH)", Path::new(program).display()))
    })?;
    let flavor = flavor::detect(&path)?;
    Ok(Some((path, flavor)))
}
