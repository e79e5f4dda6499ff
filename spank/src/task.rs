//! The task side: in each task's process (a batch script's too), just before
//! slurmstepd execs it, the snapshot the submitting side sent is applied on
//! the task's environment as `envtrack-inject apply` applies it on a worker's:
//! list changes extend the node's own values, the library goes first in
//! `LD_PRELOAD` and the state is handed on, so tracking goes on in the task.

use std::path::Path;

use envtrack_inject::apply::{prepare_snapshot, values_of_snapshot};
use envtrack_inject::error::UsageError;
use envtrack_inject::slurm_plugin::{self, ACTIVE_VAR, SNAPSHOT_OPTION};
use envtrack_model::{vars, DirectiveSet, Environment, Registry, Snapshot};

use crate::ffi::{self, Spank};
use crate::settings::{self, Carry};

pub fn apply(spank: Spank) {
    let Some(entries) = ffi::job_env(spank) else { return };
    let before = Environment::from_entries(entries);
    let mut env = before.clone();
    // The variable the submitting side set: sbatch's way to a batch script whose job
    // environment Slurm filtered (`--export=NONE` keeps `SLURM_*` names only). Never the program's.
    let variable = slurm_plugin::submit_variable(SNAPSHOT_OPTION);
    let submitted = env.get(variable.as_bytes()).map(<[u8]>::to_vec);
    env.unset(variable.as_bytes());
    let carried = match settings::snapshot().or(submitted) {
        _ if settings::switch() == Some(false) => None,
        Some(value) => Some(slurm_plugin::decode(&value)),
        // Nothing sent (an untracked submitter): with `carry=always` or `--envtrack=on`, the
        // tasks start tracked all the same, with nothing changed.
        None if settings::get().carry == Carry::Always || settings::switch() == Some(true) => {
            Some(Ok(Snapshot::default()))
        }
        None => None,
    };
    if let Some(snapshot) = carried {
        match snapshot.and_then(|snapshot| applied(env.clone(), snapshot)) {
            Ok(applied) => env = applied,
            Err(problem) => say(spank, &problem),
        }
    }
    write_changes(spank, &before, &env);
}

/// `env` with `snapshot` applied, tracked (or values only, without the library).
fn applied(env: Environment, snapshot: Snapshot) -> Result<Environment, UsageError> {
    let mut registry = Registry::builtin();
    if let Some(spec) = env.get(vars::LISTS.as_bytes()) {
        registry.add_spec(spec).map_err(|e| UsageError::new(format!("{}: {e}", vars::LISTS)))?;
    }
    let library = settings::library().filter(|library| Path::new(library).is_file());
    let (mut env, _) = match &library {
        Some(library) => prepare_snapshot(env, snapshot, &[], DirectiveSet::default(), library, &registry)?,
        None => {
            // The values still reach the task; tracking does not go on in it.
            let (env, applied) = values_of_snapshot(env, snapshot, DirectiveSet::default(), &registry);
            (env, applied)
        }
    };
    env.set(ACTIVE_VAR.as_bytes(), slurm_plugin::PLUGIN.as_bytes());
    Ok(env)
}

/// One line in the task's standard error, from the step's first task only
/// (every task meets the same problem).
fn say(spank: Spank, problem: &UsageError) {
    if ffi::task_rank(spank).is_some_and(|rank| rank != 0) {
        return;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    envtrack_inject::error::say(format_args!(
        "envtrack: on {}: {problem}; the task runs without the tracked changes",
        host.trim()
    ));
}

/// Makes the task's environment `after` through Slurm's own calls.
fn write_changes(spank: Spank, before: &Environment, after: &Environment) {
    for (name, _) in before.pairs() {
        if after.get(name).is_none() {
            let _ = ffi::unsetenv(spank, name);
        }
    }
    for (name, value) in after.pairs() {
        if before.get(name) != Some(value) {
            let _ = ffi::setenv(spank, name, value);
        }
    }
}
