//! Applying directives: to one value without allocating, and to a whole
//! environment.

use alloc::vec::Vec;

use crate::directive::{Directive, DirectiveRef, DirectiveSet};
use crate::list::{self, Removal};
use crate::op::Op;
use crate::sink::{Full, Sink};

/// What applying one directive to a value gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The variable keeps its current value (or stays absent); nothing written.
    Unchanged,
    /// The variable is removed; nothing written.
    Unset,
    /// The new value was written to the sink.
    Written,
}

/// Applies `directive` to a variable whose value is `current` (`None`:
/// absent), writing any new value to `out`. Allocates nothing.
///
/// An empty current value counts as present for `add`, and as a list without
/// elements for the list operations.
pub fn apply_to_value<S: Sink>(
    directive: DirectiveRef<'_>,
    current: Option<&[u8]>,
    out: &mut S,
) -> Result<Outcome, Full> {
    let DirectiveRef { op, value, sep, .. } = directive;
    let written = |changed: bool| if changed { Outcome::Written } else { Outcome::Unchanged };
    match op {
        Op::Set if current == Some(value) => Ok(Outcome::Unchanged),
        Op::Set => out.put(value).map(|()| Outcome::Written),
        Op::Add if current.is_some() => Ok(Outcome::Unchanged),
        Op::Add => out.put(value).map(|()| Outcome::Written),
        Op::Unset if current.is_none() => Ok(Outcome::Unchanged),
        Op::Unset => Ok(Outcome::Unset),
        Op::Prepend => list::prepend(current.unwrap_or_default(), value, sep, out).map(written),
        Op::Append => list::append(current.unwrap_or_default(), value, sep, out).map(written),
        Op::Remove => match current {
            None => Ok(Outcome::Unchanged),
            Some(current) => Ok(match list::remove(current, value, sep, out)? {
                Removal::NothingRemoved => Outcome::Unchanged,
                Removal::Written => Outcome::Written,
                Removal::Emptied => Outcome::Unset,
            }),
        },
    }
}

/// Applies `directive` to `current`, returning the new value.
pub fn apply_owned(directive: DirectiveRef<'_>, current: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match apply_to_value(directive, current, &mut out) {
        Ok(Outcome::Written) => Some(out),
        Ok(Outcome::Unchanged) => current.map(<[u8]>::to_vec),
        Ok(Outcome::Unset) => None,
        Err(Full) => unreachable!("a Vec sink never fills"),
    }
}

/// An environment as a process holds it: `NAME=VALUE` entries in order, as
/// bytes. Entries that are not `NAME=VALUE` are kept untouched. Lookups see the
/// first entry of a name (as `getenv` does); setting a name replaces it and
/// drops its duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub entries: Vec<Vec<u8>>,
}

/// Splits a `NAME=VALUE` entry. An entry without `=` has no name.
pub fn split_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = entry.iter().position(|&b| b == b'=')?;
    Some((&entry[..at], &entry[at + 1..]))
}

/// The value of `name` in `entry`, if the entry is for that name.
pub fn entry_value<'e>(entry: &'e [u8], name: &[u8]) -> Option<&'e [u8]> {
    if entry.len() > name.len() && entry.starts_with(name) && entry[name.len()] == b'=' {
        Some(&entry[name.len() + 1..])
    } else {
        None
    }
}

impl Environment {
    pub fn new() -> Self {
        Environment::default()
    }

    /// From `NAME=VALUE` entries.
    pub fn from_entries<I, E>(entries: I) -> Self
    where
        I: IntoIterator<Item = E>,
        E: AsRef<[u8]>,
    {
        Environment { entries: entries.into_iter().map(|e| e.as_ref().to_vec()).collect() }
    }

    /// From `(name, value)` pairs.
    pub fn from_pairs<I, N, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut env = Environment::new();
        for (name, value) in pairs {
            env.set(name.as_ref(), value.as_ref());
        }
        env
    }

    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.entries.iter().find_map(|entry| entry_value(entry, name))
    }

    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        let mut entry = Vec::with_capacity(name.len() + 1 + value.len());
        entry.extend_from_slice(name);
        entry.push(b'=');
        entry.extend_from_slice(value);
        match self.entries.iter().position(|e| entry_value(e, name).is_some()) {
            Some(first) => {
                self.entries[first] = entry;
                let mut index = 0;
                self.entries.retain(|e| {
                    index += 1;
                    index - 1 <= first || entry_value(e, name).is_none()
                });
            }
            None => self.entries.push(entry),
        }
    }

    pub fn unset(&mut self, name: &[u8]) {
        self.entries.retain(|e| entry_value(e, name).is_none());
    }

    /// Applies one directive.
    pub fn apply(&mut self, directive: &Directive) {
        let current = self.get(&directive.name);
        let mut out = Vec::new();
        match apply_to_value(directive.as_ref(), current, &mut out) {
            Ok(Outcome::Written) => self.set(&directive.name, &out),
            Ok(Outcome::Unset) => self.unset(&directive.name),
            Ok(Outcome::Unchanged) | Err(Full) => {}
        }
    }

    /// Applies every directive of `set`: job level, then app level.
    pub fn apply_set(&mut self, set: &DirectiveSet) {
        for directive in set.in_order() {
            self.apply(directive);
        }
    }

    /// Applies directives in the order given.
    pub fn apply_all<'d>(&mut self, directives: impl IntoIterator<Item = &'d Directive>) {
        for directive in directives {
            self.apply(directive);
        }
    }

    /// `(name, value)` for every `NAME=VALUE` entry.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().filter_map(|e| split_entry(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_keeps_order_and_odd_entries() {
        let mut env = Environment::from_entries([&b"A=1"[..], b"junk", b"B=2", b"A=3"]);
        assert_eq!(env.get(b"A"), Some(&b"1"[..]));
        env.set(b"A", b"x");
        assert_eq!(env.entries, [&b"A=x"[..], b"junk", b"B=2"]);
        env.unset(b"B");
        assert_eq!(env.entries, [&b"A=x"[..], b"junk"]);
        assert_eq!(env.get(b"AA"), None);
    }

    #[test]
    fn remove_of_last_element_unsets() {
        let mut env = Environment::from_pairs([("P", "a")]);
        env.apply(&Directive::new(Op::Remove, b"P", b"a", b':').unwrap());
        assert_eq!(env.get(b"P"), None);
    }
}
