//! The submitting side: srun (local context) and sbatch (allocator
//! context). The submitting process's snapshot, as launch mode would carry
//! it, becomes the value of `--envtrack-snapshot` through the variable srun
//! and sbatch read plugin options from (`slurm_spank_init` runs before they
//! read it); srun sends the value to every slurmstepd in its launch request,
//! sbatch in the job's environment. A value on the command line (the user's
//! `--envtrack-snapshot`) wins, as for every option.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use envtrack_inject::slurm_plugin::{self, Carried, SNAPSHOT_OPTION, SWITCH_OPTION};
use envtrack_inject::{inspect, state, transport};
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
/// The length of a snapshot too long to carry, said after option processing.
static TOO_LONG: AtomicUsize = AtomicUsize::new(0);

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
    // The user's switch: srun reads its command line only later, so it is read here as srun
    // will read it (sbatch and salloc do not take plugin options in Slurm 22.05: the variable).
    let said = match submitter {
        Submitter::Srun => slurm_plugin::switch_on_command_line(&arguments()),
        Submitter::Sbatch => None,
    };
    let said = said
        .or_else(|| env.get(slurm_plugin::submit_variable(SWITCH_OPTION).as_bytes()).and_then(slurm_plugin::switch));
    if said == Some(false) || env.get(vars::ENVTRACK.as_bytes()).is_some_and(vars::is_off) {
        return;
    }
    if settings::get().carry == Carry::Tracked && !inspect::is_tracked(&env) {
        return;
    }
    let carried = match Carried::from_env(&env, DirectiveSet::default()) {
        Ok(carried) => carried,
        Err(problem) => {
            envtrack_inject::error::say(format_args!("envtrack: {problem}; the job runs without the tracked changes"));
            return;
        }
    };
    match carried.encode() {
        Ok(value) => set_variable(&slurm_plugin::submit_variable(SNAPSHOT_OPTION), &value),
        // Said once srun or sbatch has read its options: not for `--help`, `--version`.
        Err(length) => TOO_LONG.store(length, Ordering::Relaxed),
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
    let length = TOO_LONG.swap(0, Ordering::Relaxed);
    if length > 0 && settings::switch() != Some(false) {
        envtrack_inject::error::say(format_args!(
            "envtrack: the tracked changes take {length} bytes as a Slurm plugin option, more than the {} it carries; the job runs without them",
            slurm_plugin::MOST
        ));
    }
    let copy = slurm_plugin::option_variable(SNAPSHOT_OPTION);
    if submitter == Submitter::Srun {
        if SET.swap(false, Ordering::Relaxed) {
            unset_variable(&slurm_plugin::submit_variable(SNAPSHOT_OPTION));
        }
        unset_variable(&copy);
    }
    let _ = ffi::job_control_unsetenv(spank, copy.as_bytes());
}
