//! The submitting side: srun (local context) and sbatch (allocator
//! context). The submitting process's snapshot, as launch mode would carry
//! it, becomes the value of `--envtrack-snapshot` through the variable srun
//! and sbatch read plugin options from (`slurm_spank_init` runs before they
//! read it); srun sends the value to every slurmstepd in its launch request,
//! sbatch in the job's environment. A value on the command line (the user's
//! `--envtrack-snapshot`) wins, as for every option.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::sync::atomic::{AtomicBool, Ordering};

use envtrack_inject::slurm_plugin::{self, SNAPSHOT_OPTION, SWITCH_OPTION};
use envtrack_inject::{flavor, inspect, launch, launch_mode, state, transport};
use envtrack_model::{vars, DirectiveSet};

use crate::ffi::{self, Spank};
use crate::settings::{self, Carry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter {
    Srun,
    Sbatch,
}

/// Whether the plugin set the option's variable (it takes it out again).
static SET: AtomicBool = AtomicBool::new(false);

/// Whether this allocator is sbatch (salloc's command runs here, in this
/// environment: it needs nothing carried).
pub fn is_sbatch() -> bool {
    std::env::current_exe().is_ok_and(|exe| exe.file_name().is_some_and(|name| name == "sbatch"))
}

/// This program's arguments, without argv[0].
fn arguments() -> Vec<OsString> {
    let line = std::fs::read("/proc/self/cmdline").unwrap_or_default();
    let mut words: Vec<OsString> = line.split(|&b| b == 0).map(|word| OsString::from_vec(word.to_vec())).collect();
    if line.ends_with(&[0]) {
        words.pop();
    }
    words.into_iter().skip(1).collect()
}

/// Puts the submitting process's snapshot where srun or sbatch will read it
/// as the option's value.
pub fn prepare(submitter: Submitter) {
    let env = state::current_environment();
    // A command line launch mode rewrote (`envtrack-inject apply --carried`) carries it already.
    if transport::present() {
        return;
    }
    let off = |name: &str| env.get(name.as_bytes()).is_some_and(|value| slurm_plugin::switch(value) == Some(false));
    if off(&slurm_plugin::submit_variable(SWITCH_OPTION))
        || env.get(vars::ENVTRACK.as_bytes()).is_some_and(vars::is_off)
    {
        return;
    }
    if settings::get().carry == Carry::Tracked && !inspect::is_tracked(&env) {
        return;
    }
    let explicit = match submitter {
        // What srun's command line sets for its tasks (`--export=NAME=VALUE`) stands.
        Submitter::Srun => {
            let set = launch::explicitly_set(&flavor::Launcher::srun(), &arguments(), &env);
            set.global.into_iter().chain(set.per_context.into_iter().flatten()).collect()
        }
        Submitter::Sbatch => Vec::new(),
    };
    let snapshot = match launch_mode::travelling(&env, DirectiveSet::default(), &explicit) {
        Ok(snapshot) => snapshot,
        Err(problem) => {
            envtrack_inject::error::say(format_args!("envtrack: {problem}; the job runs without the tracked changes"));
            return;
        }
    };
    match slurm_plugin::encode(&snapshot) {
        Ok(value) => set_variable(&slurm_plugin::submit_variable(SNAPSHOT_OPTION), &value),
        Err(length) => envtrack_inject::error::say(format_args!(
            "envtrack: the tracked changes take {length} bytes as a Slurm plugin option, more than the {} it carries; the job runs without them",
            slurm_plugin::MOST
        )),
    }
}

fn set_variable(name: &str, value: &str) {
    let (Ok(name), Ok(value)) = (CString::new(name), CString::new(value)) else { return };
    // SAFETY: NUL-terminated strings; srun and sbatch run their plugins' init in their main
    // thread, before they start any other.
    if unsafe { libc::setenv(name.as_ptr(), value.as_ptr(), 1) } == 0 {
        SET.store(true, Ordering::Relaxed);
    }
}

fn unset_variable(name: &str) {
    let Ok(name) = CString::new(name) else { return };
    // SAFETY: as in `set_variable`: option processing runs in the main thread.
    unsafe { libc::unsetenv(name.as_ptr()) };
}

/// After option processing: srun's launch request carries the option, so
/// the variable the plugin set and Slurm's own copy leave srun's environment
/// (the tasks of a default `--export` would get them). sbatch's job
/// environment is the option's way to the batch script: both stay there
/// (`--export=NONE` keeps the `SLURM_*` one), and the plugin takes them out
/// of the script's environment. The job's control environment (its prolog's
/// and epilog's) needs neither.
pub fn tidy(spank: Spank, submitter: Submitter) {
    let copy = slurm_plugin::option_variable(SNAPSHOT_OPTION);
    if submitter == Submitter::Srun {
        if SET.swap(false, Ordering::Relaxed) {
            unset_variable(&slurm_plugin::submit_variable(SNAPSHOT_OPTION));
        }
        unset_variable(&copy);
    }
    let _ = ffi::job_control_unsetenv(spank, copy.as_bytes());
}
