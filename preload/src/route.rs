//! Launcher routing: a tracked program that execs `mpirun`, `srun`, … is
//! routed through `envtrack-inject -- PROGRAM ARGS…`, which rewrites the
//! launch so that remote workers get the snapshot.

use core::ffi::c_char;

use envtrack_model::vars::is_default_launcher;

use crate::childenv::Route;
use crate::loaded::{Autowrap, Loaded};
use crate::sys;

/// The routing of an exec of `program`, or None to exec it as is.
pub fn route(loaded: &Loaded, program: *const c_char, argv: *const *const c_char) -> Option<Route> {
    // SAFETY: program is the caller's NUL-terminated path or file name.
    let path = unsafe { sys::c_bytes(program) };
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let routed = match &loaded.autowrap {
        Autowrap::Off => false,
        Autowrap::Default => is_default_launcher(name),
        Autowrap::Names(names) => names.contains(&name),
    };
    // A path that is not there is not routed: the exec fails as it would have
    // (Python's subprocess, for one, then tries the next PATH candidate).
    if !routed || (path.contains(&b'/') && !crate::syscall::executable(program)) {
        return None;
    }
    let mut route = Route { injector: [0; 1024], program, argv };
    let injector = loaded.injector_path(&mut route.injector)?;
    // The injector path is NUL-terminated.
    if !crate::syscall::executable(injector.as_ptr().cast()) {
        sys::warn(&[
            b"cannot route ",
            name,
            b" through envtrack-inject: not found at ",
            injector.get(..injector.len().saturating_sub(1)).unwrap_or_default(),
            b" (set ENVTRACK_INJECT); running it without",
        ]);
        return None;
    }
    Some(route)
}
