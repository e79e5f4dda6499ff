//! Property tests for the laws the model promises.

use envtrack_model::apply::apply_owned;
use envtrack_model::list::{elements, Growth};
use envtrack_model::{
    diff, track, Change, Directive, DirectiveSet, Environment, Op, Registry, Snapshot, Tracked, TrackedChange,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Bytes without NUL, weighted towards separators so list paths are exercised.
fn value() -> impl Strategy<Value = Vec<u8>> {
    vec(prop_oneof![3 => Just(b':'), 6 => b'a'..=b'd', 1 => 1u8..=255], 0..12)
}

/// A list element: non-empty, no separator.
fn element() -> impl Strategy<Value = Vec<u8>> {
    vec(prop_oneof![b'a'..=b'f', Just(b'/'), 0x80u8..=0xff], 1..4)
}

/// The environment as a mapping (entry order carries no meaning).
fn as_map(env: &Environment) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    env.pairs().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()
}

fn join(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.join(&b':')
}

fn name() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"PATH"[..]), Just(&b"PATHEXT"[..]), Just(&b"A"[..])]
}

fn op() -> impl Strategy<Value = Op> {
    proptest::sample::select(Op::ALL.to_vec())
}

/// Each variable keeps one separator (as the registry gives it): mixing
/// separators on one variable splits it differently each time, and no law
/// holds for that.
fn separator_of(name: &[u8]) -> u8 {
    if name == b"PATHEXT" {
        b';'
    } else {
        b':'
    }
}

fn directive() -> impl Strategy<Value = Directive> {
    (op(), name(), value()).prop_map(|(op, name, value)| {
        let value = if op == Op::Unset { Vec::new() } else { value };
        Directive::new(op, name, &value, separator_of(name)).unwrap()
    })
}

fn environment() -> impl Strategy<Value = Environment> {
    vec((name(), value()), 0..4).prop_map(Environment::from_pairs)
}

/// The one pattern under which applying twice may differ from once: a set
/// that both `add`s and `remove`s the same variable. `remove` can make a
/// variable absent, and whether `add` acts depends on presence, so one pass
/// can enable or disable the `add` of the next. This is inherent in PMIx's
/// `add`, and documented.
fn adds_and_removes_one_variable(directives: &[&Directive]) -> bool {
    directives.iter().any(|a| a.op == Op::Add && directives.iter().any(|r| r.op == Op::Remove && r.name == a.name))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Diff, then apply to the old value: exactly the new value, for any bytes.
    #[test]
    fn diff_then_apply_gives_the_new_value(
        name in name(),
        old in proptest::option::of(value()),
        new in proptest::option::of(value()),
    ) {
        let directives = diff(name, old.as_deref(), new.as_deref(), &Registry::builtin());
        let mut env = Environment::new();
        if let Some(old) = &old {
            env.set(name, old);
        }
        env.apply_all(&directives);
        prop_assert_eq!(env.get(name), new.as_deref());
    }

    /// Applying a directive set twice gives what applying it once gives.
    #[test]
    fn apply_is_idempotent(env in environment(), job in vec(directive(), 0..5), app in vec(directive(), 0..5)) {
        let mut set = DirectiveSet { job, app };
        // Keep clear of the documented exception by turning such adds into sets.
        while adds_and_removes_one_variable(&set.in_order().collect::<Vec<_>>()) {
            let names_removed: Vec<Vec<u8>> = set.in_order().filter(|d| d.op == Op::Remove).map(|d| d.name.clone()).collect();
            for d in set.job.iter_mut().chain(set.app.iter_mut()) {
                if d.op == Op::Add && names_removed.contains(&d.name) {
                    d.op = Op::Set;
                }
            }
        }
        let mut once = env.clone();
        once.apply_set(&set);
        let mut twice = once.clone();
        twice.apply_set(&set);
        prop_assert_eq!(as_map(&once), as_map(&twice));
    }

    /// A list diff applied to another node's value keeps every element of it.
    #[test]
    fn list_diff_keeps_the_other_bases_elements(
        old in vec(element(), 0..4),
        added in vec(element(), 1..5),
        split in 0usize..5,
        other in vec(element(), 0..5),
    ) {
        let mut added = added;
        added.dedup();
        added.retain(|e| !old.contains(e));
        let mut distinct = Vec::new();
        for e in added { if !distinct.contains(&e) { distinct.push(e); } }
        prop_assume!(!distinct.is_empty());
        let split = split.min(distinct.len());
        let (before, after) = distinct.split_at(split);
        let new = join(&[before.to_vec(), old.clone(), after.to_vec()].concat());
        let old = join(&old);
        let directives = diff(b"PATH", Some(&old), Some(&new), &Registry::builtin());
        prop_assert!(directives.iter().all(|d| matches!(d.op, Op::Prepend | Op::Append)), "{:?}", directives);
        let mut env = Environment::from_pairs([(b"PATH".to_vec(), join(&other))]);
        env.apply_all(&directives);
        let result = env.get(b"PATH").unwrap().to_vec();
        for element in &other {
            prop_assert!(elements(&result, b':').any(|e| e == element.as_slice()));
        }
        for element in &distinct {
            prop_assert_eq!(elements(&result, b':').filter(|e| *e == element.as_slice()).count(), 1);
        }
    }

    /// prepend and append never create an empty or a duplicate element.
    #[test]
    fn list_ops_add_each_element_once(current in value(), added in value(), op in prop_oneof![Just(Op::Prepend), Just(Op::Append)]) {
        let directive = Directive::new(op, b"PATH", &added, b':').unwrap();
        let result = apply_owned(directive.as_ref(), Some(&current)).unwrap_or_default();
        for element in elements(&added, b':').filter(|e| !e.is_empty()) {
            prop_assert_eq!(elements(&result, b':').filter(|e| *e == element).count(), 1);
        }
        let empties_before = elements(&current, b':').filter(|e| e.is_empty()).count();
        let empties_after = elements(&result, b':').filter(|e| e.is_empty()).count();
        prop_assert!(empties_after <= empties_before);
    }

    /// Tracking composes: a child's change on top of its parent's, resolved,
    /// turns the original base into the child's value.
    #[test]
    fn tracking_composes_across_generations(
        root in proptest::option::of(value()),
        parent in proptest::option::of(value()),
        child in proptest::option::of(value()),
    ) {
        let sep = Some(b':');
        let parent_change = track(None, root.as_deref(), parent.as_deref(), sep);
        let child_change = track(parent_change, parent.as_deref(), child.as_deref(), sep);
        let mut env = Environment::new();
        if let Some(root) = &root { env.set(b"PATH", root); }
        if let Some(change) = child_change {
            env.apply_all(&change.directives(b"PATH", child.as_deref()));
        }
        prop_assert_eq!(env.get(b"PATH"), child.as_deref());
    }

    /// Encoding then decoding a snapshot gives it back, byte for byte.
    #[test]
    fn codec_round_trip(
        tracked in vec((name(), 0u8..4, 1u8..=255, 0usize..9, 0usize..9, directive()), 0..6),
        job in vec(directive(), 0..4),
        app in vec(directive(), 0..4),
    ) {
        let tracked = tracked.into_iter().map(|(name, kind, sep, prepended, appended, directive)| {
            let change = match kind {
                0 => TrackedChange::InEnv(Change::Set),
                1 => TrackedChange::InEnv(Change::Unset),
                2 => TrackedChange::InEnv(Change::List { sep, growth: Growth { prepended, appended } }),
                _ => TrackedChange::Carried(directive.clone()),
            };
            let name = if kind == 3 { directive.name } else { name.to_vec() };
            Tracked { name, change }
        });
        // Encoding writes carried values before tracked changes; in that order, decoding gives
        // back the same list.
        let (carried, in_env): (Vec<Tracked>, Vec<Tracked>) =
            tracked.partition(|t| matches!(t.change, TrackedChange::Carried(_)));
        let tracked = carried.into_iter().chain(in_env).collect();
        let snapshot = Snapshot { tracked, directives: DirectiveSet { job, app }, owner: None };
        prop_assert_eq!(Snapshot::decode(&snapshot.encode()), Ok(snapshot));
    }

    /// The decoder never panics, whatever the bytes.
    #[test]
    fn decoder_survives_garbage(tail in vec(any::<u8>(), 0..64)) {
        let mut bytes = b"ET1;".to_vec();
        bytes.extend(tail);
        let _ = Snapshot::decode(&bytes);
    }
}
