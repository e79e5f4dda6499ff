//! What the site's plugstack.conf line and the user's options say.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::ffi::Context;

/// When the submitting side carries a snapshot (`carry=` in plugstack.conf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// Only from a process envtrack tracks (the default): its state or its
    /// library is in srun's environment.
    Tracked,
    /// From every srun and sbatch: tasks of an untracked submitter start
    /// tracked, with nothing changed.
    Always,
}

#[derive(Debug)]
pub struct Settings {
    pub carry: Carry,
    /// `library=PATH`: libenvtrack.so on the nodes (default: beside the plugin).
    pub library: Option<PathBuf>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
/// The user's `--envtrack`: 0 not given, 1 on, 2 off.
static SWITCH: AtomicU8 = AtomicU8::new(0);
/// The `--envtrack-snapshot` value that reached slurmstepd. Locked only in
/// slurmstepd's main thread (option callbacks), before the tasks are forked,
/// and in a task's own process afterwards: never held across a fork.
static SNAPSHOT: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Reads the plugstack.conf arguments. A word it does not know is reported
/// (on the submitting side, where a person reads it) and ignored.
pub fn read(arguments: &[&[u8]], context: Context) {
    let mut settings = Settings { carry: Carry::Tracked, library: None };
    let mut unknown = Vec::new();
    for argument in arguments {
        match argument.iter().position(|&b| b == b'=').map(|at| argument.split_at(at)) {
            Some((b"carry", b"=tracked")) => settings.carry = Carry::Tracked,
            Some((b"carry", b"=always")) => settings.carry = Carry::Always,
            Some((b"library", path)) if path.len() > 1 => {
                settings.library = Some(PathBuf::from(std::ffi::OsStr::from_bytes(&path[1..])))
            }
            _ => unknown.push(String::from_utf8_lossy(argument).into_owned()),
        }
    }
    if !unknown.is_empty() && matches!(context, Context::Local | Context::Allocator) {
        envtrack_inject::error::say(format_args!(
            "envtrack: plugstack.conf: libenvtrack_spank.so does not know {} (it takes carry=tracked|always and library=PATH); ignored",
            unknown.join(" ")
        ));
    }
    let _ = SETTINGS.set(settings);
}

pub fn get() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings { carry: Carry::Tracked, library: None })
}

pub fn set_switch(on: bool) {
    SWITCH.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

/// The user's `--envtrack`, if given.
pub fn switch() -> Option<bool> {
    match SWITCH.load(Ordering::Relaxed) {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

pub fn keep_snapshot(value: &[u8]) {
    *SNAPSHOT.lock().unwrap_or_else(PoisonError::into_inner) = Some(value.to_vec());
}

pub fn snapshot() -> Option<Vec<u8>> {
    SNAPSHOT.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// libenvtrack.so for the tasks: `library=`, else the one beside this plugin.
pub fn library() -> Option<PathBuf> {
    if let Some(library) = &get().library {
        return Some(library.clone());
    }
    // SAFETY: Dl_info is plain data (pointers and integers), valid all zero.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr fills `info` for an address of this library; dli_fname is then its path.
    if unsafe { libc::dladdr(crate::here(), &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated path owned by the dynamic linker while the library is loaded.
    let path = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_bytes();
    let plugin = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
    // Beside the file itself when the plugstack.conf line names a link to it.
    let real = plugin.canonicalize().unwrap_or_else(|_| plugin.to_path_buf());
    let beside = real.with_file_name(envtrack_inject::library::LIBRARY_NAME);
    if beside.is_file() {
        return Some(beside);
    }
    Some(plugin.with_file_name(envtrack_inject::library::LIBRARY_NAME))
}
