//! `export` and `show`: the snapshot this process inherited.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use envtrack_model::json::snapshot_to_json;
use envtrack_model::{vars, Change, Directive, Environment, Snapshot, TrackedChange};

use crate::error::UsageError;
use crate::library::LIBRARY_NAME;
use crate::redact::{is_secret, shown};
use crate::state::inherited_snapshot;

/// The inherited snapshot with every value carried.
pub fn resolved(env: &Environment) -> Result<Snapshot, UsageError> {
    Ok(inherited_snapshot(env)?.resolve(|name| env.get(name)))
}

/// Whether this process, with environment `env`, is a tracked one: it
/// carries envtrack's state, or has the library loaded (preloaded: a tracked
/// process that has changed nothing yet; a `LD_PRELOAD` naming a file ld.so
/// could not load does not count) and envtrack is not off here.
pub fn is_tracked(env: &Environment) -> bool {
    if env.get(vars::STATE.as_bytes()).is_some() {
        return true;
    }
    let off = env.get(vars::ENVTRACK.as_bytes()).is_some_and(vars::is_off);
    !off && library_loaded_here()
}

/// Whether an object named `libenvtrack.so` is loaded in this process.
fn library_loaded_here() -> bool {
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, found: *mut libc::c_void) -> libc::c_int {
        // SAFETY: dl_iterate_phdr passes a valid object description, whose name is a
        // NUL-terminated string (empty for the program), and our bool.
        let name = unsafe { std::ffi::CStr::from_ptr((*info).dlpi_name) }.to_bytes();
        let ours = name.rsplit(|&b| b == b'/').next() == Some(LIBRARY_NAME.as_bytes());
        if ours {
            // SAFETY: `found` is the bool passed below, alive during the walk.
            unsafe { *found.cast::<bool>() = true };
        }
        libc::c_int::from(ours)
    }
    let mut found = false;
    // SAFETY: `visit` matches the callback type and writes only `found` during the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut found as *mut bool).cast()) };
    found
}

/// Writes the export JSON to `output` (created 0600, never through a
/// symlink) or standard output.
pub fn export(env: &Environment, output: Option<&Path>) -> Result<(), UsageError> {
    export_snapshot(&inherited_snapshot(env)?, env, output)
}

/// [`export`] of `snapshot`, its values taken from `env`.
pub fn export_snapshot(snapshot: &Snapshot, env: &Environment, output: Option<&Path>) -> Result<(), UsageError> {
    let text = snapshot_to_json(&snapshot.resolve(|name| env.get(name)));
    match output {
        None => {
            std::io::stdout().write_all(text.as_bytes()).map_err(|e| UsageError::new(format!("standard output: {e}")))
        }
        Some(path) => {
            write_private(path, text.as_bytes()).map_err(|e| UsageError::new(format!("{}: {e}", path.display())))
        }
    }
}

/// Writes `bytes` to the regular file `path` with mode 0600, also when it was
/// there before: never through a symbolic link, and never into a FIFO or a
/// device (opened without blocking, then refused), which an export would hang
/// on or spill into.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // What opening a FIFO no one reads gives, without blocking.
            Some(libc::ENXIO) => std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file (a FIFO?)"),
            _ => e,
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.set_len(0)?;
    file.write_all(bytes)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn directive_line(directive: &Directive, reveal: bool) -> String {
    let value = shown(&directive.name, &directive.value, reveal);
    match directive.op {
        envtrack_model::Op::Unset => format!("unset {}", text(&directive.name)),
        op => format!("{op} {} {}", text(&directive.name), text(&value)),
    }
}

/// The human summary: `+NAME` set, `-NAME` removed, `~NAME prepend …` for lists.
pub fn summary(env: &Environment, reveal: bool) -> Result<String, UsageError> {
    let snapshot = inherited_snapshot(env)?;
    let mut out = String::new();
    if snapshot.is_empty() {
        out.push_str("nothing is tracked here\n");
        return Ok(out);
    }
    for tracked in &snapshot.tracked {
        let name = text(&tracked.name);
        match &tracked.change {
            TrackedChange::InEnv(Change::Set) => out.push_str(&format!("+{name}\n")),
            TrackedChange::InEnv(Change::Unset) => out.push_str(&format!("-{name}\n")),
            TrackedChange::InEnv(change @ Change::List { .. }) => {
                for directive in snapshot.directives_of(&tracked.name, *change, env.get(&tracked.name)) {
                    let value = shown(&directive.name, &directive.value, reveal);
                    out.push_str(&format!("~{name} {} {}\n", directive.op, text(&value)));
                }
            }
            TrackedChange::Carried(directive) => out.push_str(&format!("~{}\n", directive_line(directive, reveal))),
        }
    }
    for (level, directives) in [("job", &snapshot.directives.job), ("app", &snapshot.directives.app)] {
        for directive in directives {
            out.push_str(&format!("{level}: {}\n", directive_line(directive, reveal)));
        }
    }
    Ok(out)
}

/// The export JSON, secret-looking values redacted unless `reveal`.
pub fn json(env: &Environment, reveal: bool) -> Result<String, UsageError> {
    let mut snapshot = resolved(env)?;
    if !reveal {
        for tracked in &mut snapshot.tracked {
            if let TrackedChange::Carried(directive) = &mut tracked.change {
                if is_secret(&directive.name) {
                    directive.value = b"<redacted>".to_vec();
                }
            }
        }
        for directive in snapshot.directives.job.iter_mut().chain(snapshot.directives.app.iter_mut()) {
            if is_secret(&directive.name) && !directive.value.is_empty() {
                directive.value = b"<redacted>".to_vec();
            }
        }
    }
    Ok(snapshot_to_json(&snapshot))
}
