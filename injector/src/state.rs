//! The snapshot this process inherited, and handing one on to a child.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use envtrack_model::{vars, Environment, Snapshot};

use crate::error::UsageError;

/// The entries of `env` the kernel would refuse for their length.
pub fn oversized_entries(env: &Environment) -> Vec<(Vec<u8>, Vec<u8>)> {
    env.pairs()
        .filter(|(name, value)| vars::is_oversized(name, value))
        .map(|(name, value)| (name.to_vec(), value.to_vec()))
        .collect()
}

/// Moves entries the kernel would refuse for their length out of `env` and
/// into `snapshot` as carried values; the library restores them in the
/// child (the state then goes through a file).
pub fn fit_for_exec(env: &mut Environment, snapshot: &mut Snapshot) {
    for (name, value) in oversized_entries(env) {
        env.unset(&name);
        snapshot.carry_set(&name, &value);
    }
}

/// The environment of this process, as bytes.
pub fn current_environment() -> Environment {
    Environment::from_entries(std::env::vars_os().map(|(name, value)| {
        let mut entry = name.into_vec();
        entry.push(b'=');
        entry.extend_from_slice(value.as_bytes());
        entry
    }))
}

/// Reads the encoded snapshot from a `ENVTRACK_STATE` value (inline, or `@PATH`).
pub fn read_state_value(value: &[u8]) -> Result<Vec<u8>, UsageError> {
    match value.strip_prefix(b"@") {
        Some(path) => std::fs::read(OsStr::from_bytes(path)).map_err(|e| {
            UsageError::new(format!(
                "{}: cannot read the snapshot file {}: {e}",
                vars::STATE,
                String::from_utf8_lossy(path)
            ))
        }),
        None => Ok(value.to_vec()),
    }
}

/// The snapshot in `env`'s `ENVTRACK_STATE`, or an empty one.
pub fn inherited_snapshot(env: &Environment) -> Result<Snapshot, UsageError> {
    let Some(value) = env.get(vars::STATE.as_bytes()) else {
        return Ok(Snapshot::default());
    };
    let bytes = read_state_value(value)?;
    Snapshot::decode(&bytes).map_err(|e| UsageError::new(format!("{}: {e}", vars::STATE)))
}

/// The `ENVTRACK_STATE` value that hands `snapshot` on: the encoding itself,
/// or `@PATH` of a new 0600 file holding it when it is too long.
pub fn state_value(snapshot: &Snapshot) -> Result<OsString, UsageError> {
    let encoded = snapshot.encode();
    if encoded.len() <= vars::INLINE_STATE {
        return Ok(OsString::from_vec(encoded));
    }
    let path = spill_path();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| UsageError::new(format!("cannot create the snapshot file {}: {e}", path.display())))?;
    file.write_all(&encoded)
        .map_err(|e| UsageError::new(format!("cannot write the snapshot file {}: {e}", path.display())))?;
    let mut value = OsString::from("@");
    value.push(path.as_os_str());
    Ok(value)
}

fn spill_path() -> PathBuf {
    let dir = std::env::var_os("TMPDIR").filter(|d| !d.is_empty()).unwrap_or_else(|| "/tmp".into());
    let mut random = [0u8; 8];
    // SAFETY: getrandom writes at most `random.len()` bytes into the buffer.
    let _ = unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
    let tag: String = random.iter().map(|b| format!("{b:02x}")).collect();
    PathBuf::from(dir).join(format!("envtrack-state-{}-{tag}", std::process::id()))
}
