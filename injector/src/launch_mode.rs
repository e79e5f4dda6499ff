//! `envtrack-inject [DIRECTIVES] -- LAUNCHER ARGS…` for a known launcher:
//! the tracked changes (with their values) and the directives travel to every
//! worker through the launcher's own forwarding; the launcher itself runs
//! with the job-level directives applied and without the library.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use serde_json::json;

use envtrack_model::{vars, DirectiveSet, Environment, Registry, Snapshot, Target};

use crate::error::UsageError;
use crate::flavor::{self, Launcher};
use crate::launch::{self, Context};
use crate::run::{exec_as, strip_preload};
use crate::state::current_environment;
use crate::state::{inherited_snapshot, oversized_entries, remove_state};
use crate::{log, transport};

pub struct Launch<'a> {
    pub launcher: &'a Path,
    /// What the launcher is.
    pub identified: Launcher,
    /// The command as given: argv[0] is the launcher as named.
    pub command: &'a [OsString],
    /// The launcher's argv[0], when it is not `command[0]` (a routed exec's own).
    pub argv0: Option<&'a OsStr>,
    pub directives: DirectiveSet,
    /// `envtrack-inject` as the remote nodes can run it.
    pub remote_injector: &'a OsStr,
}

/// The launch, rewritten: the command and the environment to exec it in.
pub struct Prepared {
    pub command: Vec<OsString>,
    pub env: Environment,
}

/// Rewrites the launch; nothing is run.
pub fn prepare(launch: Launch<'_>, registry: &Registry) -> Result<Prepared, UsageError> {
    let mut env = current_environment();
    let explicit = launch::explicitly_set(&launch.identified, &launch.command[1..], &env);
    let travelling = travelling(&env, launch.directives, &explicit.global)?;
    travelling.apply_on(&mut env, registry, Target::Job);
    // Values the kernel would refuse in the launcher's environment travel
    // only in the snapshot (the workers' library restores them).
    for (name, _) in oversized_entries(&env) {
        env.unset(&name);
    }
    remove_state(&mut env);
    strip_preload(&mut env);
    let flavor = launch.identified.flavor;
    let prefix = if flavor.sends_through_ssh() { transport::SSH_PREFIX } else { transport::PREFIX };
    let carried = transport::encode(&travelling, prefix);
    for (name, value) in &carried {
        env.set(name.as_bytes(), value.as_bytes());
    }
    let names = transport::names(&carried);
    let mut context = Context {
        remote_injector: launch.remote_injector,
        transport: &names,
        env: &mut env,
        keep: &explicit.per_context,
    };
    let args = launch::rewrite(&launch.identified, &launch.command[1..], &mut context)?;
    let mut command = vec![launch.launcher.as_os_str().to_os_string()];
    command.extend(args);
    log::record(
        "launch",
        launch.launcher.as_os_str().as_encoded_bytes(),
        || json!({"flavor": flavor.name(), "launcher": launch.identified.identity, "snapshot": log::snapshot_json(&travelling)}),
    );
    Ok(Prepared { command, env })
}

/// What travels to the workers of a launch from a process with environment
/// `env`: its inherited snapshot with `directives` added, every value
/// carried, envtrack's own settings along, and none of the changes to the
/// names the launch's command line sets for every worker (`explicit`).
pub fn travelling(env: &Environment, directives: DirectiveSet, explicit: &[Vec<u8>]) -> Result<Snapshot, UsageError> {
    let mut snapshot = inherited_snapshot(env)?;
    snapshot.directives.extend(directives);
    let mut travelling = snapshot.resolve(|name| env.get(name));
    travelling.tracked.retain(|tracked| !explicit.contains(&tracked.name));
    carry_own_variables(env, &mut travelling);
    Ok(travelling)
}

/// A launch the library routed that envtrack cannot carry: the launcher runs
/// exactly as the program asked (in the environment the library gave it,
/// with the library preloaded again, as it would have been without routing),
/// after one line that says what is not carried. Returns only on failure.
pub fn run_as_asked(
    command: &[OsString],
    argv0: Option<&OsStr>,
    searched: bool,
    problem: &UsageError,
) -> std::io::Error {
    let mut env = current_environment();
    if let Ok(library) = crate::library::find_library(None) {
        crate::run::preload(&mut env, &library);
    }
    let name = Path::new(argv0.unwrap_or(command[0].as_os_str())).display().to_string();
    // A wrapper that runs the real launcher (by exec, or as its child) with arguments of its own
    // is the same launch: reported once, by the first envtrack-inject in the chain.
    // SAFETY: getpid and getppid have no preconditions.
    let (own, parent) = unsafe { (libc::getpid(), libc::getppid()) };
    let reported = env
        .get(vars::UNCARRIED.as_bytes())
        .is_some_and(|by| by == own.to_string().as_bytes() || by == parent.to_string().as_bytes());
    env.set(vars::UNCARRIED.as_bytes(), own.to_string().as_bytes());
    if !reported {
        crate::error::say(format_args!(
            "envtrack: {problem}; {name} runs as the program asked, and envtrack does not carry the tracked changes through it to other nodes (to carry them: `envtrack-inject export -o FILE` here, `envtrack-inject apply --snapshot FILE -- PROGRAM` there)"
        ));
    }
    log::record("launch-not-carried", command[0].as_encoded_bytes(), || json!({"problem": problem.message}));
    let error = exec_as(command, argv0, &env);
    // As the program's execvp does: a launcher it found in PATH that cannot be executed (a
    // script whose interpreter is gone, a venv moved away) gives way to the next one of that name.
    let skippable = matches!(error.raw_os_error(), Some(libc::ENOENT | libc::EACCES | libc::ENOEXEC));
    let failed = Path::new(&command[0]);
    let (Some(name), true) = (failed.file_name(), skippable && searched) else { return error };
    let later = flavor::in_path(name, env.get(b"PATH")).skip_while(|candidate| candidate != failed).skip(1);
    for candidate in later.filter(|candidate| candidate.is_file()) {
        let mut again = command.to_vec();
        again[0] = candidate.into_os_string();
        let _ = exec_as(&again, argv0, &env);
    }
    error
}

/// envtrack's own settings go with the snapshot, so workers on clean nodes
/// log, redact and route as the launching side asked.
fn carry_own_variables(env: &Environment, snapshot: &mut Snapshot) {
    for name in [vars::LOG, vars::LISTS, vars::AUTOWRAP, crate::redact::REDACT_VAR] {
        let name = name.as_bytes();
        if let Some(value) = env.get(name) {
            if !snapshot.tracked.iter().any(|t| t.name == name) {
                snapshot.carry_set(name, value);
            }
        }
    }
}

/// The launcher `program` names (found through PATH), if it is one.
pub fn launcher_path(program: &OsStr) -> Result<Option<std::path::PathBuf>, UsageError> {
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
    Ok(Some(path))
}
