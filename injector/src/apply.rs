//! `envtrack-inject apply`: on a worker's node, before its program starts.
//! The snapshot (from a launcher's forwarding, a file, standard input, or the
//! local state) and the directives are applied against this node's own
//! environment, then the program is exec'd under the library with tracking
//! active.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::json;

use envtrack_model::json::parse_snapshot_json;
use envtrack_model::{vars, DirectiveSet, Environment, Registry, Snapshot, Target};

use crate::error::UsageError;
use crate::run::{apply_and_hand_on, exec_as, exec_in};
use crate::state::{current_environment, inherited_snapshot};
use crate::{log, transport};

/// Reads a snapshot from a file or `-` (standard input): the exported JSON
/// format, or the encoded one (`ET1;…`).
pub fn read_snapshot(source: &Path, registry: &Registry) -> Result<Snapshot, UsageError> {
    let shown = source.display();
    let bytes = crate::input::read_source(source)?;
    if bytes.starts_with(envtrack_model::codec::MAGIC) {
        return Snapshot::decode(&bytes).map_err(|e| UsageError::new(format!("{shown}: {e}")));
    }
    parse_snapshot_json(&bytes, registry).map_err(|e| UsageError::new(format!("{shown}: {e}")))
}

/// The snapshot to apply on `env`: `source`'s, else the one the launcher
/// forwarded, else the one `env` inherited. The launcher's transport variables
/// are taken out of `env`.
fn snapshot_to_apply(
    env: &mut Environment,
    source: Option<&Path>,
    registry: &Registry,
) -> Result<Snapshot, UsageError> {
    let carried = transport::take(env)?;
    transport::discard(env); // parts without their count: nothing to apply, nothing to hand on
    match (source, carried) {
        (Some(source), _) => read_snapshot(source, registry),
        (None, Some(carried)) => Ok(carried),
        (None, None) => inherited_snapshot(env),
    }
}

/// The environment the program starts with, and what was applied.
pub fn prepare(
    mut env: Environment,
    source: Option<&Path>,
    keep: &[Vec<u8>],
    directives: DirectiveSet,
    library: &Path,
    registry: &Registry,
) -> Result<(Environment, Snapshot), UsageError> {
    let snapshot = snapshot_to_apply(&mut env, source, registry)?;
    prepare_snapshot(env, snapshot, keep, directives, library, registry)
}

/// [`prepare`] with the snapshot given: applied on `env` for a worker, and
/// handed on with the library preloaded.
pub fn prepare_snapshot(
    mut env: Environment,
    mut snapshot: Snapshot,
    keep: &[Vec<u8>],
    directives: DirectiveSet,
    library: &Path,
    registry: &Registry,
) -> Result<(Environment, Snapshot), UsageError> {
    // Names the launcher's command line set for this worker: its value stands.
    snapshot.tracked.retain(|tracked| !keep.contains(&tracked.name));
    apply_and_hand_on(&mut env, &mut snapshot, directives, library, registry, Target::App)?;
    Ok((env, snapshot))
}

/// [`prepare`] without tracking: the snapshot and the directives applied on
/// `env`, envtrack's state and library taken out.
fn values_only(
    mut env: Environment,
    source: Option<&Path>,
    directives: DirectiveSet,
    registry: &Registry,
) -> Result<(Environment, Snapshot), UsageError> {
    let snapshot = snapshot_to_apply(&mut env, source, registry)?;
    Ok(values_of_snapshot(env, snapshot, directives, registry))
}

/// [`values_only`] with the snapshot given.
pub fn values_of_snapshot(
    mut env: Environment,
    mut snapshot: Snapshot,
    directives: DirectiveSet,
    registry: &Registry,
) -> (Environment, Snapshot) {
    snapshot.directives.extend(directives);
    let applied = snapshot.apply_on(&mut env, registry, Target::App);
    crate::state::remove_state(&mut env);
    crate::run::strip_preload(&mut env);
    (env, applied)
}

/// Applies and execs. Returns only on failure.
pub fn run(
    source: Option<&Path>,
    keep: &[Vec<u8>],
    directives: DirectiveSet,
    library: &Path,
    registry: &Registry,
    command: &[OsString],
) -> Result<std::io::Error, UsageError> {
    let (env, applied) = prepare(current_environment(), source, keep, directives, library, registry)?;
    let program = command.first().map(|p| p.as_bytes().to_vec()).unwrap_or_default();
    // The snapshot may have brought the log directory (and what to redact) to this node.
    for name in [vars::LOG, crate::redact::REDACT_VAR] {
        if let Some(value) = env.get(name.as_bytes()) {
            std::env::set_var(name, std::ffi::OsStr::from_bytes(value));
        }
    }
    log::record("apply", &program, || json!({"applied": log::snapshot_json(&applied)}));
    Ok(exec_worker(command, &env))
}

/// `--print-env`: the environment a command would get, written to standard
/// output, each `NAME=VALUE` ended by a NUL byte. For a program that starts
/// the worker itself (a Dask nanny), with nothing exec'd here.
/// `on`: apply on the environment in that file (as `export --base` reads it)
/// instead of this process's.
/// `library` None (`--untracked`): the values alone, with no state handed on
/// and no library preloaded, for workers envtrack does not track.
pub fn print_env(
    source: Option<&Path>,
    on: Option<&Path>,
    directives: DirectiveSet,
    library: Option<&Path>,
    registry: &Registry,
) -> Result<(), UsageError> {
    use std::io::Write;
    if source.is_some_and(|s| s.as_os_str() == "-") && on.is_some_and(|o| o.as_os_str() == "-") {
        return Err(UsageError::new("--snapshot - and --on - cannot both read standard input"));
    }
    let base = match on {
        Some(file) => crate::since::read_base(file)?,
        None => current_environment(),
    };
    let (env, applied) = match library {
        Some(library) => prepare(base, source, &[], directives, library, registry)?,
        None => values_only(base, source, directives, registry)?,
    };
    log::record("apply", b"--print-env", || json!({"applied": log::snapshot_json(&applied)}));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    env.entries
        .iter()
        .try_for_each(|entry| out.write_all(entry).and_then(|()| out.write_all(b"\0")))
        .and_then(|()| out.flush())
        .map_err(|e| UsageError::new(format!("standard output: {e}")))
}

/// Execs a worker's program as its launcher would have: a bare name is looked
/// up in PATH and then, as Open MPI does, in the working directory (its
/// argv[0] stays the name).
fn exec_worker(command: &[OsString], env: &Environment) -> std::io::Error {
    let error = exec_in(command, env);
    let name = &command[0];
    if error.raw_os_error() != Some(libc::ENOENT) || name.as_bytes().contains(&b'/') {
        return error;
    }
    let mut here = command.to_vec();
    here[0] = OsString::from("./");
    here[0].push(name);
    if crate::flavor::resolve(&here[0], None).is_none() {
        return error;
    }
    exec_as(&here, Some(name), env)
}

/// The worker's program, run as it would have been without envtrack (the
/// launcher's transport variables removed), after one line naming `problem`.
pub fn run_without(command: &[OsString], problem: &UsageError) -> std::io::Error {
    let mut env = current_environment();
    transport::discard(&mut env);
    // Every rank meets the same problem: the first says it.
    let rank = [b"OMPI_COMM_WORLD_RANK".as_slice(), b"PMI_RANK", b"PMIX_RANK", b"SLURM_PROCID"]
        .iter()
        .find_map(|name| env.get(name));
    if rank.is_none_or(|rank| rank == b"0") {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        crate::error::say(format_args!(
            "envtrack: on {}: {problem}; {} runs without the tracked changes",
            host.trim(),
            Path::new(&command[0]).display()
        ));
    }
    exec_worker(command, &env)
}

/// For launch mode's wrapper (`apply --carried --`): an error when the
/// launcher did not forward envtrack's variables to this worker (an
/// `--export` or `-genvlist` it read otherwise, a filter of its own).
pub fn expect_transport(carried: bool) -> Result<(), UsageError> {
    if carried && !transport::present() {
        return Err(UsageError::new(format!(
            "the launcher did not pass envtrack's variables ({}_PARTS, …) to this worker",
            transport::PREFIX
        )));
    }
    Ok(())
}
