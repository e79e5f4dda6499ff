//! The part of Slurm's SPANK API (`<slurm/spank.h>`) the plugin uses, bound
//! by hand: five functions and two enums, stable since Slurm 2.x. The
//! functions are looked up in the process that loaded the plugin (srun,
//! sbatch, salloc, slurmstepd) when first called, not linked: the plugin
//! then loads in every program Slurm loads it into, and a function a program
//! lacks is an error value, never a failed load.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

/// `spank_t`: Slurm's handle for one callback.
pub type Spank = *mut c_void;

/// `ESPANK_SUCCESS`.
pub const SUCCESS: c_int = 0;

/// `enum spank_context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// srun.
    Local,
    /// slurmstepd.
    Remote,
    /// sbatch or salloc.
    Allocator,
    /// slurmd, a prolog or epilog, or one this plugin does not know.
    Other,
}

/// `enum spank_item`: the items read here (their values in spank.h's order).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub enum Item {
    /// `S_JOB_ENV`: the task's environment (`char ***`).
    JobEnv = 10,
    /// `S_TASK_GLOBAL_ID`: the task's rank in the step (`uint32_t *`).
    TaskGlobalId = 12,
}

/// `struct spank_option`.
#[repr(C)]
pub struct SpankOption {
    pub name: *const c_char,
    pub arginfo: *const c_char,
    pub usage: *const c_char,
    pub has_arg: c_int,
    pub val: c_int,
    pub cb: Option<unsafe extern "C" fn(val: c_int, optarg: *const c_char, remote: c_int) -> c_int>,
}

/// A function of the host process, by name.
fn lookup(name: &CStr) -> *mut c_void {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// `spank_context()`.
pub fn context() -> Context {
    let f = lookup(c"spank_context");
    if f.is_null() {
        return Context::Other;
    }
    // SAFETY: spank.h declares `spank_context_t spank_context(void)`, an int-sized enum.
    let f: unsafe extern "C" fn() -> c_int = unsafe { std::mem::transmute(f) };
    // SAFETY: no arguments; it reads the plugin stack's context.
    match unsafe { f() } {
        1 => Context::Local,
        2 => Context::Remote,
        3 => Context::Allocator,
        _ => Context::Other,
    }
}

/// The task's environment (`S_JOB_ENV`), as `NAME=VALUE` entries.
pub fn job_env(spank: Spank) -> Option<Vec<Vec<u8>>> {
    let f = lookup(c"spank_get_item");
    if f.is_null() {
        return None;
    }
    // SAFETY: spank.h declares `spank_err_t spank_get_item(spank_t, spank_item_t, ...)`.
    let f: unsafe extern "C" fn(Spank, c_int, ...) -> c_int = unsafe { std::mem::transmute(f) };
    let mut env: *mut *mut c_char = std::ptr::null_mut();
    // SAFETY: S_JOB_ENV's variadic argument is a `char ***`, which Slurm fills with the task's
    // NULL-terminated array (owned by slurmstepd, alive during the callback).
    if unsafe { f(spank, Item::JobEnv as c_int, &mut env as *mut *mut *mut c_char) } != SUCCESS || env.is_null() {
        return None;
    }
    let mut entries = Vec::new();
    let mut at = env;
    // SAFETY: a NULL-terminated array of NUL-terminated strings, read before any change to it.
    unsafe {
        while !(*at).is_null() {
            entries.push(CStr::from_ptr(*at).to_bytes().to_vec());
            at = at.add(1);
        }
    }
    Some(entries)
}

/// The task's rank in its step (`S_TASK_GLOBAL_ID`), in a task's callback.
pub fn task_rank(spank: Spank) -> Option<u32> {
    let f = lookup(c"spank_get_item");
    if f.is_null() {
        return None;
    }
    // SAFETY: as in `job_env`.
    let f: unsafe extern "C" fn(Spank, c_int, ...) -> c_int = unsafe { std::mem::transmute(f) };
    let mut rank: u32 = 0;
    // SAFETY: S_TASK_GLOBAL_ID's variadic argument is a `uint32_t *`.
    (unsafe { f(spank, Item::TaskGlobalId as c_int, &mut rank as *mut u32) } == SUCCESS).then_some(rank)
}

/// `spank_setenv(spank, name, value, 1)`: in the task's environment.
pub fn setenv(spank: Spank, name: &[u8], value: &[u8]) -> Result<(), c_int> {
    let f = lookup(c"spank_setenv");
    let (Ok(name), Ok(value)) = (CString::new(name), CString::new(value)) else { return Err(-1) };
    if f.is_null() {
        return Err(-1);
    }
    // SAFETY: spank.h declares `spank_err_t spank_setenv(spank_t, const char *, const char *, int)`.
    let f: unsafe extern "C" fn(Spank, *const c_char, *const c_char, c_int) -> c_int =
        unsafe { std::mem::transmute(f) };
    // SAFETY: NUL-terminated strings alive across the call, which copies them.
    match unsafe { f(spank, name.as_ptr(), value.as_ptr(), 1) } {
        SUCCESS => Ok(()),
        error => Err(error),
    }
}

/// `spank_unsetenv(spank, name)`: from the task's environment.
pub fn unsetenv(spank: Spank, name: &[u8]) -> Result<(), c_int> {
    call_with_name(spank, c"spank_unsetenv", name)
}

/// `spank_job_control_unsetenv(spank, name)`: from what srun and sbatch send
/// the job's prolog and epilog.
pub fn job_control_unsetenv(spank: Spank, name: &[u8]) -> Result<(), c_int> {
    call_with_name(spank, c"spank_job_control_unsetenv", name)
}

fn call_with_name(spank: Spank, function: &CStr, name: &[u8]) -> Result<(), c_int> {
    let f = lookup(function);
    let Ok(name) = CString::new(name) else { return Err(-1) };
    if f.is_null() {
        return Err(-1);
    }
    // SAFETY: both functions are declared `spank_err_t f(spank_t, const char *)`.
    let f: unsafe extern "C" fn(Spank, *const c_char) -> c_int = unsafe { std::mem::transmute(f) };
    // SAFETY: a NUL-terminated string alive across the call.
    match unsafe { f(spank, name.as_ptr()) } {
        SUCCESS => Ok(()),
        error => Err(error),
    }
}
