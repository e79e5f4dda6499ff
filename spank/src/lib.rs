//! `libenvtrack_spank.so`: a Slurm SPANK plugin that carries envtrack's
//! snapshot from `srun` and `sbatch` to every task, with the step's command
//! exactly as the user wrote it. A site enables it with one line in
//! `plugstack.conf`:
//!
//! ```text
//! optional /usr/local/lib/libenvtrack_spank.so [carry=tracked|always] [library=PATH]
//! ```
//!
//! - Submitting side (srun: local context; sbatch: allocator context), in
//!   `slurm_spank_init`: the submitting process's snapshot, as launch mode
//!   would carry it, becomes the value of the plugin's `--envtrack-snapshot`
//!   option ([`submit`]). Slurm sends it to the job itself.
//! - Task side (slurmstepd: remote context), in `slurm_spank_task_init`, in
//!   each task's process just before its exec: the snapshot is applied on
//!   the task's environment through `spank_setenv`/`spank_unsetenv`
//!   ([`task`]).
//!
//! The plugin never fails a job: whatever it cannot carry, the job runs as it
//! would have without it, after one `envtrack:` line.

mod ffi;
mod settings;
mod submit;
mod task;

use std::ffi::{c_char, c_int, c_void, CStr};

use ffi::{Context, Spank, SpankOption};

include!(concat!(env!("OUT_DIR"), "/slurm_version.rs"));

/// Slurm's plugin loader reads these three symbols: the name (the options'
/// variables are named after it), the type, and the release it was built for.
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static plugin_name: [u8; 9] = *b"envtrack\0";
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static plugin_type: [u8; 6] = *b"spank\0";
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static plugin_version: u32 = SLURM_VERSION_NUMBER;

/// The options table, read by Slurm when it loads the plugin.
#[repr(transparent)]
pub struct Options([SpankOption; 3]);
// SAFETY: the table is never written; its pointers are to static strings and functions.
unsafe impl Sync for Options {}

#[no_mangle]
#[allow(non_upper_case_globals)]
pub static spank_options: Options = Options([
    SpankOption {
        name: c"envtrack".as_ptr(),
        arginfo: c"on|off".as_ptr(),
        usage: c"envtrack: off: carry nothing to the tasks; on: carry the submitting process's tracked environment changes, and track the tasks even when it is not tracked (default: carry from a tracked process)".as_ptr(),
        has_arg: 1,
        val: 0,
        cb: Some(switch_option),
    },
    SpankOption {
        name: c"envtrack-snapshot".as_ptr(),
        arginfo: c"DATA".as_ptr(),
        usage: c"envtrack: set by envtrack itself (the submitting process's snapshot), not by hand".as_ptr(),
        has_arg: 1,
        val: 0,
        cb: Some(snapshot_option),
    },
    SpankOption {
        name: std::ptr::null(),
        arginfo: std::ptr::null(),
        usage: std::ptr::null(),
        has_arg: 0,
        val: 0,
        cb: None,
    },
]);

/// The bytes of a C string Slurm passed, if any.
fn bytes<'a>(text: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: Slurm passes NUL-terminated strings that live through the callback, or NULL.
    (!text.is_null()).then(|| unsafe { CStr::from_ptr(text) }.to_bytes())
}

/// `--envtrack=on|off`, on either side. An unknown value is the user's
/// mistake on srun's command line: srun says so and stops, as for its own options.
unsafe extern "C" fn switch_option(_val: c_int, optarg: *const c_char, remote: c_int) -> c_int {
    match bytes(optarg).and_then(envtrack_inject::slurm_plugin::switch) {
        Some(on) => {
            settings::set_switch(on);
            0
        }
        None if remote != 0 => 0,
        None => {
            envtrack_inject::error::say(format_args!(
                "envtrack: --envtrack={}: expected on or off",
                String::from_utf8_lossy(bytes(optarg).unwrap_or_default())
            ));
            -1
        }
    }
}

/// `--envtrack-snapshot=DATA`: kept for the tasks (read only on the task side).
unsafe extern "C" fn snapshot_option(_val: c_int, optarg: *const c_char, remote: c_int) -> c_int {
    if remote != 0 {
        settings::keep_snapshot(bytes(optarg).unwrap_or_default());
    }
    0
}

/// The plugin's arguments in plugstack.conf.
fn arguments<'a>(ac: c_int, av: *const *const c_char) -> Vec<&'a [u8]> {
    (0..usize::try_from(ac).unwrap_or(0))
        // SAFETY: Slurm passes `ac` valid pointers in `av`.
        .filter_map(|i| bytes(unsafe { *av.add(i) }))
        .collect()
}

/// In every program that loads the plugin; it acts in srun and sbatch.
///
/// # Safety
/// Slurm calls it with its handle and `ac` NUL-terminated arguments in `av`.
#[no_mangle]
pub unsafe extern "C" fn slurm_spank_init(_spank: Spank, ac: c_int, av: *const *const c_char) -> c_int {
    let context = ffi::context();
    settings::read(&arguments(ac, av), context);
    match context {
        Context::Local => submit::prepare(submit::Submitter::Srun),
        Context::Allocator if submit::is_sbatch() => submit::prepare(submit::Submitter::Sbatch),
        _ => {}
    }
    0
}

/// After srun and sbatch have read their options: envtrack's variable, now
/// in the option, leaves their environment.
///
/// # Safety
/// Slurm calls it with its handle and `ac` NUL-terminated arguments in `av`.
#[no_mangle]
pub unsafe extern "C" fn slurm_spank_init_post_opt(spank: Spank, _ac: c_int, _av: *const *const c_char) -> c_int {
    match ffi::context() {
        Context::Local => submit::tidy(spank, submit::Submitter::Srun),
        Context::Allocator if submit::is_sbatch() => submit::tidy(spank, submit::Submitter::Sbatch),
        _ => {}
    }
    0
}

/// In each task's process, just before its exec (also a batch script's).
///
/// # Safety
/// Slurm calls it with its handle and `ac` NUL-terminated arguments in `av`.
#[no_mangle]
pub unsafe extern "C" fn slurm_spank_task_init(spank: Spank, _ac: c_int, _av: *const *const c_char) -> c_int {
    if ffi::context() == Context::Remote {
        task::apply(spank);
    }
    0
}

/// A function of this library, for finding its file (`dladdr`).
fn here() -> *const c_void {
    here as *const c_void
}
