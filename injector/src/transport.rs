//! Carrying a snapshot to remote workers inside the launcher's own
//! environment forwarding, by name, never on a command line.
//!
//! The encoded snapshot (values included) is base64-encoded, so that no
//! launcher's forwarding can alter a byte, and cut into variables of at most
//! [`CHUNK`] characters (the kernel refuses longer environment strings):
//! `PREFIX_PARTS=N` and `PREFIX_0` … `PREFIX_{N-1}`. The prefix is
//! [`PREFIX`], or [`SSH_PREFIX`] through ssh, whose servers accept `LC_*`
//! variables by default (Debian's `AcceptEnv LANG LC_*`).

use envtrack_model::json::base64;
use envtrack_model::{Environment, Snapshot};

use crate::error::UsageError;

/// The variables' prefix for MPI launchers and Slurm.
pub const PREFIX: &str = "ENVTRACK_REMOTE";
/// The prefix through ssh.
pub const SSH_PREFIX: &str = "LC_ENVTRACK_REMOTE";
/// Characters per variable.
pub const CHUNK: usize = 100_000;

/// The variables that carry `snapshot`, as `(name, value)`.
pub fn encode(snapshot: &Snapshot, prefix: &str) -> Vec<(String, String)> {
    let text = base64::encode(&snapshot.encode());
    let chunks: Vec<&str> = text.as_bytes().chunks(CHUNK).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    let mut vars = vec![(format!("{prefix}_PARTS"), chunks.len().to_string())];
    vars.extend(chunks.iter().enumerate().map(|(i, chunk)| (format!("{prefix}_{i}"), chunk.to_string())));
    vars
}

/// The names of the variables [`encode`] made.
pub fn names(vars: &[(String, String)]) -> Vec<String> {
    vars.iter().map(|(name, _)| name.clone()).collect()
}

/// The snapshot carried in `env`, if any, and removes its variables.
pub fn take(env: &mut Environment) -> Result<Option<Snapshot>, UsageError> {
    env.unset(crate::launch::hydra::PAD.as_bytes());
    for prefix in [PREFIX, SSH_PREFIX] {
        let parts_name = format!("{prefix}_PARTS");
        let Some(parts) = env.get(parts_name.as_bytes()) else { continue };
        let parts: usize = std::str::from_utf8(parts)
            .ok()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| UsageError::new(format!("{parts_name}: not a number")))?;
        let mut text = Vec::new();
        for i in 0..parts {
            let name = format!("{prefix}_{i}");
            let chunk = env.get(name.as_bytes()).ok_or_else(|| {
                UsageError::new(format!("{name} is missing ({parts_name}={parts}): the launcher did not forward it"))
            })?;
            text.extend_from_slice(chunk);
        }
        for i in 0..parts {
            env.unset(format!("{prefix}_{i}").as_bytes());
        }
        env.unset(parts_name.as_bytes());
        let text = String::from_utf8(text).map_err(|_| UsageError::new(format!("{prefix}_*: not base64")))?;
        let bytes = base64::decode(&text).ok_or_else(|| UsageError::new(format!("{prefix}_*: not base64")))?;
        let snapshot = Snapshot::decode(&bytes).map_err(|e| UsageError::new(format!("{prefix}_*: {e}")))?;
        return Ok(Some(snapshot));
    }
    Ok(None)
}

/// Whether this process's environment holds a transport's count variable.
pub fn present() -> bool {
    [PREFIX, SSH_PREFIX].iter().any(|prefix| std::env::var_os(format!("{prefix}_PARTS")).is_some())
}

/// Removes every variable of a transport from `env`, readable or not.
pub fn discard(env: &mut Environment) {
    env.unset(crate::launch::hydra::PAD.as_bytes());
    env.entries.retain(|entry| {
        let name = entry.split(|&b| b == b'=').next().unwrap_or_default();
        ![PREFIX, SSH_PREFIX].iter().any(|prefix| {
            name.strip_prefix(prefix.as_bytes())
                .and_then(|rest| rest.strip_prefix(b"_"))
                .is_some_and(|rest| rest == b"PARTS" || (!rest.is_empty() && rest.iter().all(u8::is_ascii_digit)))
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use envtrack_model::Directive;

    #[test]
    fn round_trip_through_chunks() {
        let mut snapshot = Snapshot::default();
        snapshot.directives.job.push(Directive::set(b"BIG", &vec![b'x'; 250_000]));
        let vars = encode(&snapshot, PREFIX);
        assert_eq!(vars[0], ("ENVTRACK_REMOTE_PARTS".to_string(), "4".to_string()));
        let mut env = Environment::from_pairs(vars.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        env.set(b"OTHER", b"1");
        assert_eq!(take(&mut env).unwrap(), Some(snapshot));
        assert_eq!(env.entries, [b"OTHER=1".to_vec()]);
    }

    #[test]
    fn discard_removes_every_transport_variable() {
        let vars = encode(&Snapshot::default(), PREFIX);
        let mut env = Environment::from_pairs(vars.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        env.set(b"LC_ENVTRACK_REMOTE_7", b"x");
        env.set(b"ENVTRACK_REMOTE_INJECT", b"/opt/x");
        discard(&mut env);
        assert_eq!(env.entries, [b"ENVTRACK_REMOTE_INJECT=/opt/x".to_vec()]);
    }

    #[test]
    fn a_missing_part_is_an_error() {
        let vars = encode(&Snapshot::default(), SSH_PREFIX);
        let mut env = Environment::from_pairs([(vars[0].0.as_str(), "2")]);
        let error = take(&mut env).unwrap_err();
        assert!(error.message.contains("LC_ENVTRACK_REMOTE_0 is missing"), "{error}");
    }
}
