//! The snapshot this process inherited, and handing one on to a child.

use std::os::unix::ffi::{OsStrExt, OsStringExt};

use envtrack_model::{state_env, vars, Credentials, Environment, Snapshot};

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

/// The credentials of this process (real and effective user and group).
pub fn own_credentials() -> Credentials {
    let (mut ruid, mut euid, mut suid, mut rgid, mut egid, mut sgid) = (0, 0, 0, 0, 0, 0);
    // SAFETY: getresuid/getresgid write into our locals.
    unsafe {
        libc::getresuid(&mut ruid, &mut euid, &mut suid);
        libc::getresgid(&mut rgid, &mut egid, &mut sgid);
    }
    Credentials { ruid, euid, rgid, egid }
}

/// The encoded state `env` carries: `ENVTRACK_STATE`, joined with its parts
/// when split (see [`state_env`]). None when there is none.
pub fn read_state(env: &Environment) -> Result<Option<Vec<u8>>, UsageError> {
    let Some(value) = env.get(vars::STATE.as_bytes()) else { return Ok(None) };
    if value.starts_with(b"@") {
        return Err(UsageError::new(format!(
            "{}: names a file ({}); envtrack carries its state in the environment and reads no state file",
            vars::STATE,
            String::from_utf8_lossy(value)
        )));
    }
    let part = |n: usize| env.get(format!("{}_{n}", vars::STATE).as_bytes());
    match state_env::join(value, part) {
        Ok(None) => Ok(Some(value.to_vec())),
        Ok(Some(state)) => Ok(Some(state)),
        Err(error) => {
            let mut message = Vec::new();
            let _ = error.describe(&mut message);
            Err(UsageError::new(format!("{}: {}", vars::STATE, String::from_utf8_lossy(&message))))
        }
    }
}

/// The snapshot in `env`'s state, or an empty one. A state written under
/// other credentials (a change of user) is not taken: one warning, and an
/// empty snapshot.
pub fn inherited_snapshot(env: &Environment) -> Result<Snapshot, UsageError> {
    let Some(bytes) = read_state(env)? else { return Ok(Snapshot::default()) };
    let snapshot = Snapshot::decode(&bytes).map_err(|e| UsageError::new(format!("{}: {e}", vars::STATE)))?;
    if snapshot.owner.is_some_and(|owner| owner != own_credentials()) {
        crate::error::say(format_args!(
            "envtrack-inject: {} was written by another user; it is not carried across a change of user",
            vars::STATE
        ));
        return Ok(Snapshot::default());
    }
    Ok(snapshot)
}

/// Removes the state's entries (`ENVTRACK_STATE` and its parts) from `env`.
pub fn remove_state(env: &mut Environment) {
    let names: Vec<Vec<u8>> =
        env.pairs().filter(|(n, _)| state_env::is_state_name(n)).map(|(n, _)| n.to_vec()).collect();
    for name in names {
        env.unset(&name);
    }
}

/// Hands `snapshot` on in `env`: the state, in one entry or split over
/// several, naming this process's credentials as its owner.
pub fn put_state(env: &mut Environment, snapshot: &Snapshot) {
    remove_state(env);
    let mut owned = snapshot.clone();
    owned.owner = Some(own_credentials());
    let encoded = owned.encode();
    let _ = state_env::for_each_entry::<()>(&encoded, |parts| {
        let entry = parts.concat();
        if let Some((name, value)) = envtrack_model::apply::split_entry(&entry) {
            env.set(name, value);
        }
        Ok(())
    });
}
