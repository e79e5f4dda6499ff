//! `export --base FILE`: the changes a process made without the library,
//! found by comparing its environment with the one it started from (as
//! `/proc/PID/environ` gives it). The Python package uses it for what a
//! script sets through `envtrack.environ` when the library is not loaded,
//! and a batch script for what it exported.

use std::path::Path;

use std::collections::{HashMap, HashSet};

use envtrack_model::diff::{change_ignoring, track_ignoring};
use envtrack_model::{state_env, vars, Change, Environment, Registry, Snapshot, Tracked, TrackedChange};

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
        if !entry.is_empty() && (entry[0] == b'=' || !entry.contains(&b'=')) {
            return Err(UsageError::new(format!(
                "{shown}: byte {offset}: {} ({:?}); expected NAME=VALUE entries, each ended by a NUL byte, as \
                 /proc/PID/environ",
                if entry[0] == b'=' { "an entry without a name" } else { "an entry without '='" },
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
    // By name, the first entry of each (as getenv finds it): tens of thousands of variables are
    // compared in one pass, not one search each.
    let index = |env: &Environment| {
        let mut by_name: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut order = Vec::new();
        for (name, value) in env.pairs() {
            if compared(name) && !by_name.contains_key(name) {
                by_name.insert(name.to_vec(), value.to_vec());
                order.push(name.to_vec());
            }
        }
        (by_name, order)
    };
    let ((base, base_order), (now, now_order)) = (index(&base), index(&env));
    let inherited: HashMap<Vec<u8>, Change> = snapshot
        .tracked
        .iter()
        .filter_map(|t| match t.change {
            TrackedChange::InEnv(change) => Some((t.name.clone(), change)),
            TrackedChange::Carried(_) => None,
        })
        .collect();
    let mut seen = HashSet::new();
    let mut changed = Vec::new();
    for name in now_order.iter().chain(&base_order) {
        if !seen.insert(name.as_slice()) {
            continue;
        }
        let (old, new) = (base.get(name).map(Vec::as_slice), now.get(name).map(Vec::as_slice));
        if old == new {
            continue;
        }
        let owned = |element: &[u8]| snapshot.owns(name, element);
        let sep = registry.separator(name);
        let change = match inherited.get(name) {
            Some(change) => track_ignoring(Some(*change), old, new, sep, &owned),
            None => change_ignoring(old, new, sep, &owned),
        };
        changed.push((name.clone(), change));
    }
    let names: HashSet<&[u8]> = changed.iter().map(|(name, _)| name.as_slice()).collect();
    snapshot.tracked.retain(|t| !names.contains(t.name.as_slice()));
    for (name, change) in changed {
        if let Some(change) = change {
            snapshot.tracked.push(Tracked { name, change: TrackedChange::InEnv(change) });
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
