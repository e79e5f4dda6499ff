//! The snapshot: what travels to children and workers — the tracked changes
//! and the directives.

use alloc::vec::Vec;

use crate::apply::Environment;
use crate::credentials::Credentials;
use crate::diff::{change_ignoring, track_ignoring, Change};
use crate::directive::{Directive, DirectiveSet};
use crate::op::Op;
use crate::registry::Registry;

/// One tracked change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub name: Vec<u8>,
    pub change: TrackedChange,
}

/// A tracked change, by reference or carrying its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackedChange {
    /// The value is in the environment the snapshot travels with (local
    /// children): nothing is copied.
    InEnv(Change),
    /// The change as a directive carrying its value, for places the value is
    /// not (remote nodes, exported snapshots, values too large for an
    /// environment string). A name may have several (a prepend and an append).
    Carried(Directive),
}

/// Tracked changes plus directives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub tracked: Vec<Tracked>,
    pub directives: DirectiveSet,
    /// Whose tree wrote it (see [`credentials`](crate::credentials)).
    pub owner: Option<Credentials>,
}

/// Which directive levels [`Snapshot::apply_on`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The launcher or any process under it: job level only.
    Job,
    /// An application process: job level, then app level.
    App,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty() && self.directives.is_empty()
    }

    /// Carries `name` set to `value` (a value that travels in the snapshot
    /// rather than in the environment).
    pub fn carry_set(&mut self, name: &[u8], value: &[u8]) {
        let change = TrackedChange::Carried(Directive::set(name, value));
        self.tracked.push(Tracked { name: name.to_vec(), change });
    }

    /// Each tracked name once, in the order first tracked.
    pub fn tracked_names(&self) -> Vec<&[u8]> {
        let mut names: Vec<&[u8]> = Vec::new();
        for tracked in &self.tracked {
            if !names.contains(&tracked.name.as_slice()) {
                names.push(&tracked.name);
            }
        }
        names
    }

    /// The tracked changes as directives carrying values, looking values up
    /// with `lookup` (the environment the snapshot was taken in).
    pub fn tracked_directives<'e>(&self, lookup: impl Fn(&[u8]) -> Option<&'e [u8]>) -> Vec<Directive> {
        let mut out = Vec::new();
        for tracked in &self.tracked {
            match &tracked.change {
                TrackedChange::InEnv(change) => {
                    out.extend(self.directives_of(&tracked.name, *change, lookup(&tracked.name)))
                }
                TrackedChange::Carried(directive) => out.push(directive.clone()),
            }
        }
        out
    }

    /// The directives that make `change` of `name` elsewhere, its value being
    /// `value` here: a list's added elements counted without envtrack's own
    /// (see [`Snapshot::owns`]), as they were when the change was tracked.
    pub fn directives_of(&self, name: &[u8], change: Change, value: Option<&[u8]>) -> Vec<Directive> {
        change.directives_ignoring(name, value, &|element: &[u8]| self.owns(name, element))
    }

    /// The same snapshot with every change carrying its value, so that it can
    /// travel where the environment does not.
    pub fn resolve<'e>(&self, lookup: impl Fn(&[u8]) -> Option<&'e [u8]>) -> Snapshot {
        let tracked = self
            .tracked_directives(lookup)
            .into_iter()
            .map(|d| Tracked { name: d.name.clone(), change: TrackedChange::Carried(d) })
            .collect();
        Snapshot { tracked, directives: self.directives.clone(), owner: None }
    }

    /// Whether `element` of the list variable `name` is one that a directive
    /// of this snapshot prepends or appends, or envtrack's library in
    /// `LD_PRELOAD`. Such elements are envtrack's: tracking leaves them out
    /// (see [`change_ignoring`]), as the library does.
    pub fn owns(&self, name: &[u8], element: &[u8]) -> bool {
        (name == b"LD_PRELOAD" && crate::vars::is_envtrack_library(element)) || self.directives.owns(name, element)
    }

    /// Applies the snapshot to a node's environment `env`: the carried tracked
    /// changes, then the job-level directives, then (for [`Target::App`]) the
    /// app-level ones. Returns the snapshot the started process inherits: its
    /// tracked changes by reference, relative to the node's own values.
    pub fn apply_on(&self, env: &mut Environment, registry: &Registry, target: Target) -> Snapshot {
        let names = self.tracked_names();
        let before: Vec<Option<Vec<u8>>> = names.iter().map(|n| env.get(n).map(<[u8]>::to_vec)).collect();
        for tracked in &self.tracked {
            if let TrackedChange::Carried(directive) = &tracked.change {
                env.apply(directive);
            }
        }
        env.apply_all(&self.directives.job);
        if target == Target::App {
            env.apply_all(&self.directives.app);
        }
        let mut tracked = Vec::new();
        for (name, old) in names.into_iter().zip(before) {
            let new = env.get(name);
            let owned = |element: &[u8]| self.owns(name, element);
            let sep = registry.separator(name);
            let in_env = self.tracked.iter().find_map(|t| match t.change {
                TrackedChange::InEnv(change) if t.name == name => Some(change),
                _ => None,
            });
            let change = match in_env {
                Some(change) => track_ignoring(Some(change), old.as_deref(), new, sep, &owned),
                None => change_ignoring(old.as_deref(), new, sep, &owned).or_else(|| self.keeps_value_of(name, new)),
            };
            if let Some(change) = change {
                tracked.push(Tracked { name: name.to_vec(), change: TrackedChange::InEnv(change) });
            }
        }
        Snapshot { tracked, directives: self.directives.clone(), owner: None }
    }

    /// A tracked variable the node already had with the tracked value stays
    /// tracked (as set), so the started process still passes it on.
    fn keeps_value_of(&self, name: &[u8], value: Option<&[u8]>) -> Option<Change> {
        let sets_it = self.tracked.iter().any(|t| {
            t.name == name && matches!(&t.change, TrackedChange::Carried(d) if matches!(d.op, Op::Set | Op::Add))
                || matches!(t.change, TrackedChange::InEnv(Change::Set))
        });
        (sets_it && value.is_some()).then_some(Change::Set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::Growth;

    #[test]
    fn resolve_then_apply_extends_the_remote_path() {
        let local = Environment::from_pairs([("PATH", "/opt/x:/usr/bin"), ("A", "1")]);
        let growth = Growth { prepended: 1, appended: 0 };
        let snapshot = Snapshot {
            tracked: alloc::vec![
                Tracked { name: b"PATH".to_vec(), change: TrackedChange::InEnv(Change::List { sep: b':', growth }) },
                Tracked { name: b"A".to_vec(), change: TrackedChange::InEnv(Change::Set) },
                Tracked { name: b"GONE".to_vec(), change: TrackedChange::InEnv(Change::Unset) },
            ],
            directives: DirectiveSet::default(),
            owner: None,
        };
        let travelling = snapshot.resolve(|n| local.get(n));
        let mut remote = Environment::from_pairs([("PATH", "/bin"), ("GONE", "x")]);
        let inherited = travelling.apply_on(&mut remote, &Registry::builtin(), Target::App);
        assert_eq!(remote.get(b"PATH"), Some(&b"/opt/x:/bin"[..]));
        assert_eq!(remote.get(b"A"), Some(&b"1"[..]));
        assert_eq!(remote.get(b"GONE"), None);
        assert_eq!(inherited.tracked.len(), 3);
        assert_eq!(inherited.tracked[0].change, TrackedChange::InEnv(Change::List { sep: b':', growth }));
    }
}
