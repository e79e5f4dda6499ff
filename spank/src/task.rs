//! The task side: in each task's process (a batch script's too), just before
//! slurmstepd execs it, the snapshot the submitting side sent is applied on
//! the task's environment as `envtrack-inject apply` applies it on a worker's:
//! list changes extend the values there, the library goes first in
//! `LD_PRELOAD` and the state is handed on, so tracking goes on in the task.
//!
//! A task's environment is the one srun exported (all of the submitting
//! process's, by default) with what Slurm adds for the task. Two rules follow
//! from that, by name, for each name the snapshot tracks:
//! - a value that differs from the submitting process's own was set for this
//!   task — by Slurm (`CUDA_VISIBLE_DEVICES` for its GPUs, a batch script's
//!   `HOSTNAME`) or by the command line (`--export=NAME=VALUE`,
//!   `SBATCH_EXPORT`) — and stands, as the launcher's value stands in launch
//!   mode; a list change extends the value there instead (the PATH Slurm
//!   gives a batch script);
//! - a list the task does not have at all was filtered out by `--export`: it
//!   gets the submitting process's whole value, not only the elements added
//!   to it (a PATH of `/opt/mine` alone would hide the system's commands).

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use envtrack_inject::apply::{prepare_snapshot, values_of_snapshot};
use envtrack_inject::error::UsageError;
use envtrack_inject::slurm_plugin::{self, Carried, ACTIVE_VAR, SNAPSHOT_OPTION};
use envtrack_model::{vars, DirectiveSet, Environment, Op, Registry, TrackedChange};

use crate::ffi::{self, Spank};
use crate::settings::{self, Carry};

pub fn apply(spank: Spank) {
    let Some(entries) = ffi::job_env(spank) else { return };
    let env = Environment::from_entries(entries);
    // The variable the submitting side set: sbatch's way to a batch script whose job
    // environment Slurm filtered (`--export=NONE` keeps `SLURM_*` names only). Never the program's.
    let variable = slurm_plugin::submit_variable(SNAPSHOT_OPTION);
    let submitted = env.get(variable.as_bytes()).map(<[u8]>::to_vec);
    if submitted.is_some() {
        let _ = ffi::unsetenv(spank, variable.as_bytes());
    }
    let carried = match settings::snapshot().or(submitted) {
        _ if settings::switch() == Some(false) => return,
        Some(value) => Carried::decode(&value),
        // Nothing sent (an untracked submitter): with `carry=always` or `--envtrack=on`, the
        // tasks start tracked all the same, with nothing changed.
        None if settings::get().carry == Carry::Always || settings::switch() == Some(true) => Ok(Carried::default()),
        None => return,
    };
    let mut before = env;
    before.unset(variable.as_bytes());
    match carried.and_then(|carried| applied(spank, before.clone(), carried)) {
        Ok(after) => write_changes(spank, &before, &after),
        Err(problem) => say(spank, &format!("{problem}; the task runs without the tracked changes")),
    }
}

/// `env` with what was carried applied, tracked (or values only, without the library).
fn applied(spank: Spank, mut env: Environment, carried: Carried) -> Result<Environment, UsageError> {
    let mut registry = Registry::builtin();
    if let Some(spec) = env.get(vars::LISTS.as_bytes()) {
        registry.add_spec(spec).map_err(|e| UsageError::new(format!("{}: {e}", vars::LISTS)))?;
    }
    let mut snapshot = carried.snapshot.clone();
    let mut keep = Vec::new();
    for name in carried.snapshot.tracked_names() {
        let Some(submitted) = carried.submitted_value(name) else { continue };
        let list = carried.snapshot.tracked.iter().any(|t| {
            t.name == name && matches!(&t.change, TrackedChange::Carried(d) if matches!(d.op, Op::Prepend | Op::Append))
        });
        match (env.get(name), submitted) {
            // The submitter's own value, exported: the elements it added are taken off again, so
            // that applying them is a change the task goes on tracking (and hands on to a nested
            // `srun --export=NONE`), not a value that was already there.
            (Some(here), Some(whole)) if list && here == whole => match base_of(&carried, name, whole) {
                Some(base) => env.set(name, &base),
                None => env.unset(name),
            },
            // A list extends the value here, whoever set it (the node's own PATH in a batch script).
            (Some(_), _) if list => {}
            (Some(here), _) if Some(here) != submitted => keep.push(name.to_vec()),
            (None, Some(whole)) if list => {
                snapshot.tracked.retain(|t| t.name != name);
                snapshot.carry_set(name, whole);
            }
            _ => {}
        }
    }
    let (mut env, _) = match library(&env) {
        Some(library) => prepare_snapshot(env, snapshot, &keep, DirectiveSet::default(), &library, &registry)?,
        None => {
            say(
                spank,
                &format!(
                    "{} is not on this node (plugstack.conf's library=, or beside the plugin): the values reach the task, tracking does not go on in it",
                    settings::library().map_or("libenvtrack.so".into(), |l| l.display().to_string())
                ),
            );
            snapshot.tracked.retain(|t| !keep.contains(&t.name));
            values_of_snapshot(env, snapshot, DirectiveSet::default(), &registry)
        }
    };
    env.set(ACTIVE_VAR.as_bytes(), slurm_plugin::PLUGIN.as_bytes());
    Ok(env)
}

/// The value `whole` had before the submitter's list change of `name`: the
/// elements its prepends put in front and its appends at the end taken off
/// (None: nothing left).
fn base_of(carried: &Carried, name: &[u8], whole: &[u8]) -> Option<Vec<u8>> {
    let mut base = whole.to_vec();
    for tracked in carried.snapshot.tracked.iter().filter(|t| t.name == name) {
        let TrackedChange::Carried(directive) = &tracked.change else { continue };
        let (added, sep) = (directive.value.as_slice(), directive.sep);
        let rest = match directive.op {
            Op::Prepend if base == added => Some(Vec::new()),
            Op::Prepend => base.strip_prefix(added).and_then(|r| r.strip_prefix(&[sep])).map(<[u8]>::to_vec),
            Op::Append if base == added => Some(Vec::new()),
            Op::Append => base.strip_suffix(added).and_then(|r| r.strip_suffix(&[sep])).map(<[u8]>::to_vec),
            _ => None,
        };
        match rest {
            Some(rest) => base = rest,
            // Not where the change put them: the value stays as it is.
            None => return Some(whole.to_vec()),
        }
    }
    (!base.is_empty()).then_some(base)
}

/// libenvtrack.so for the task: the configured one (plugstack.conf's
/// `library=`, else beside the plugin), else the one the task's `LD_PRELOAD`
/// already names (the submitting process's, on a shared filesystem), if it
/// is on this node.
fn library(env: &Environment) -> Option<PathBuf> {
    if let Some(library) = settings::library().filter(|library| library.is_file()) {
        return Some(library);
    }
    let preload = env.get(b"LD_PRELOAD")?;
    preload
        .split(|&b| b == b':' || b == b' ')
        .filter(|element| vars::is_envtrack_library(element))
        .map(|element| PathBuf::from(std::ffi::OsStr::from_bytes(element)))
        .find(|path| path.is_absolute() && Path::new(path).is_file())
}

/// One line in the task's standard error, from the step's first task only
/// (every task meets the same problem).
fn say(spank: Spank, problem: &str) {
    if ffi::task_rank(spank).is_some_and(|rank| rank != 0) {
        return;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    envtrack_inject::error::say(format_args!("envtrack: on {}: {problem}", host.trim()));
}

/// Makes the task's environment `after` through Slurm's own calls (by name,
/// with maps: a task's environment may hold tens of thousands of entries).
fn write_changes(spank: Spank, before: &Environment, after: &Environment) {
    let before_map: HashMap<&[u8], &[u8]> = before.pairs().collect();
    let after_map: HashMap<&[u8], &[u8]> = after.pairs().collect();
    for (name, _) in before.pairs() {
        if !after_map.contains_key(name) {
            let _ = ffi::unsetenv(spank, name);
        }
    }
    for (name, value) in after.pairs() {
        if before_map.get(name) != Some(&value) {
            let _ = ffi::setenv(spank, name, value);
        }
    }
}
