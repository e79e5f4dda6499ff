//! `export --base FILE`: the changes a process made without the library,
//! found by comparing its environment with the one it started from (as
//! `/proc/PID/environ` gives it). The Python package uses it for what a
//! script sets through `envtrack.environ` when the library is not loaded,
//! and a batch script for what it exported.

use std::path::Path;

use envtrack_model::diff::{change_ignoring, track_ignoring};
use envtrack_model::{state_env, vars, Environment, Registry, Snapshot, Tracked, TrackedChange};

use crate::error::UsageError;
use crate::run::strip_preload;

/// Reads a base environment: `NAME=VALUE` entries, each ended by a NUL byte,
/// from a file or `-` (standard input). An entry without `=` is an error
/// naming its position (a file of another format given by mistake).
pub fn read_base(source: &Path) -> Result<Environment, UsageError> {
    let shown = source.display();
    let bytes = crate::input::read_source(source)?;
    let mut entries = Vec::new();
    let mut offset = 0;
    for entry in bytes.split(|&b| b == 0) {
        if !entry.is_empty() && !entry[1..].contains(&b'=') {
            return Err(UsageError::new(format!(
                "{shown}: byte {offset}: an entry without '=' ({:?}); expected NAME=VALUE entries, each ended by a \
                 NUL byte, as /proc/PID/environ",
                String::from_utf8_lossy(&entry[..entry.len().min(40)])
            )));
        }
        if !entry.is_empty() {
            entries.push(entry.to_vec());
        }
        offset += entry.len() + 1;
    }
    Ok(Environment::from_entries(entries))
}

/// Whether envtrack leaves `name` out of a comparison: names it never
/// tracks, and its own state.
fn compared(name: &[u8]) -> bool {
    !name.is_empty() && !vars::is_untracked(name) && !state_env::is_state_name(name)
}

/// `snapshot` (what `env` inherited) with the changes from `base` to `env`
/// added: each variable that differs is tracked as the library would have
/// tracked it had it seen the change (relative to its inherited change, if
/// any). The library itself is left out of both `LD_PRELOAD`s.
pub fn add_changes_since(
    mut snapshot: Snapshot,
    base: &Environment,
    env: &Environment,
    registry: &Registry,
) -> Snapshot {
    let (mut base, mut env) = (base.clone(), env.clone());
    strip_preload(&mut base);
    strip_preload(&mut env);
    let mut names: Vec<&[u8]> = env.pairs().map(|(name, _)| name).chain(base.pairs().map(|(name, _)| name)).collect();
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| compared(name) && seen.insert(*name));
    for name in names {
        let (old, new) = (base.get(name), env.get(name));
        if old == new {
            continue;
        }
        let owned = |element: &[u8]| snapshot.owns(name, element);
        let sep = registry.separator(name);
        let inherited = snapshot.tracked.iter().find_map(|t| match t.change {
            TrackedChange::InEnv(change) if t.name == name => Some(change),
            _ => None,
        });
        let change = match inherited {
            Some(change) => track_ignoring(Some(change), old, new, sep, &owned),
            None => change_ignoring(old, new, sep, &owned),
        };
        snapshot.tracked.retain(|t| t.name != name);
        if let Some(change) = change {
            snapshot.tracked.push(Tracked { name: name.to_vec(), change: TrackedChange::InEnv(change) });
        }
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(base: &[(&str, &str)], env: &[(&str, &str)]) -> Vec<(String, String, String)> {
        let (base, env) = (Environment::from_pairs(base.iter().copied()), Environment::from_pairs(env.iter().copied()));
        let snapshot = add_changes_since(Snapshot::default(), &base, &env, &Registry::builtin());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        snapshot
            .resolve(|n| env.get(n))
            .tracked
            .iter()
            .map(|t| match &t.change {
                TrackedChange::Carried(d) => (d.op.to_string(), text(&d.name), text(&d.value)),
                TrackedChange::InEnv(_) => unreachable!("resolved"),
            })
            .collect()
    }

    #[test]
    fn a_list_that_grew_extends_and_others_are_set_or_unset() {
        let base = [("PATH", "/usr/bin:/bin"), ("GONE", "1"), ("SAME", "x"), ("PWD", "/a")];
        let env = [("PATH", "/opt/x:/usr/bin:/bin:/opt/y"), ("NEW", "v"), ("SAME", "x"), ("PWD", "/b")];
        assert_eq!(
            exported(&base, &env),
            [
                ("prepend".into(), "PATH".into(), "/opt/x".into()),
                ("append".into(), "PATH".into(), "/opt/y".into()),
                ("set".into(), "NEW".into(), "v".into()),
                ("unset".into(), "GONE".into(), String::new()),
            ]
        );
    }

    #[test]
    fn the_library_in_ld_preload_is_not_a_change() {
        let base = [("LD_PRELOAD", "/a/libx.so")];
        let env = [("LD_PRELOAD", "/opt/lib/libenvtrack.so:/a/libx.so")];
        assert!(exported(&base, &env).is_empty());
    }
}
