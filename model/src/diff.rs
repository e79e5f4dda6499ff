//! Diffs: how a variable's value differs from its base (uenv's old / value /
//! new model), and the directives that reproduce that difference elsewhere.
//!
//! A tracked change is kept *by reference*: [`Change`] says what kind of change
//! it is and, for lists, how many elements were added at each end, while the
//! bytes stay in the environment itself. Everything here except
//! [`Change::directives`] and [`diff`] allocates nothing.

use alloc::vec::Vec;

use crate::directive::Directive;
use crate::list::{self, Growth};
use crate::op::Op;
use crate::registry::Registry;

/// How a tracked variable differs from its base, the value it had where
/// tracking of it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The variable holds a value of its own: its current value.
    Set,
    /// The variable was removed.
    Unset,
    /// A list variable grew: its current value is the base with `growth`'s
    /// elements added before and after it.
    List { sep: u8, growth: Growth },
}

/// The change from `base` to `new` (`None`: absent); `None` when they are equal.
///
/// For a list variable (`sep` given) whose new value keeps the base as a
/// contiguous run of elements, the change is a [`Change::List`] (so another
/// node's own value is extended, not replaced); otherwise a `Set`; a removal is
/// an `Unset`.
pub fn change_between(base: Option<&[u8]>, new: Option<&[u8]>, sep: Option<u8>) -> Option<Change> {
    change_ignoring(base, new, sep, &|_: &[u8]| false)
}

/// [`change_between`], with list elements that `owned` accepts left out of the
/// comparison. A job-level directive that prepends or appends elements at every
/// exec owns them: where they stand is the directive's business, and tracking
/// them too would turn every list the program extends into a `set`.
pub fn change_ignoring<O: Fn(&[u8]) -> bool>(
    base: Option<&[u8]>,
    new: Option<&[u8]>,
    sep: Option<u8>,
    owned: &O,
) -> Option<Change> {
    if base == new {
        return None;
    }
    let Some(new) = new else {
        return Some(Change::Unset);
    };
    let not_owned: &dyn Fn(&&[u8]) -> bool = &|e| !owned(e);
    let growth = sep.and_then(|sep| {
        let base = list::kept(base.unwrap_or_default(), sep, not_owned, 0, usize::MAX);
        let new_elements = list::kept(new, sep, not_owned, 0, usize::MAX);
        list::growth_of(base, new_elements).map(|growth| Change::List { sep, growth })
    });
    match growth {
        // Nothing but owned elements changed.
        Some(Change::List { growth, .. }) if growth.prepended + growth.appended == 0 => {
            (base.is_none() && new.is_empty()).then_some(Change::Set)
        }
        Some(change) => Some(change),
        None => Some(Change::Set),
    }
}

/// The change of a variable after it takes the value `new`, given the change
/// it already had when the process inherited it (`inherited`, with the value
/// `inherited_value`). The result stays relative to the original base, so a
/// child adds its own changes to its parent's.
pub fn track(
    inherited: Option<Change>,
    inherited_value: Option<&[u8]>,
    new: Option<&[u8]>,
    sep: Option<u8>,
) -> Option<Change> {
    track_ignoring(inherited, inherited_value, new, sep, &|_: &[u8]| false)
}

/// [`track`], with list elements that `owned` accepts left out (see
/// [`change_ignoring`]). Allocates nothing.
pub fn track_ignoring<O: Fn(&[u8]) -> bool>(
    inherited: Option<Change>,
    inherited_value: Option<&[u8]>,
    new: Option<&[u8]>,
    sep: Option<u8>,
    owned: &O,
) -> Option<Change> {
    let Some(Change::List { sep: list_sep, growth: inherited_growth }) = inherited else {
        return match inherited {
            None => change_ignoring(inherited_value, new, sep, owned),
            _ => Some(if new.is_some() { Change::Set } else { Change::Unset }),
        };
    };
    let not_owned: &dyn Fn(&&[u8]) -> bool = &|e| !owned(e);
    let kept_count = |value: &[u8]| list::kept(value, list_sep, not_owned, 0, usize::MAX).count();
    let added = inherited_growth.prepended + inherited_growth.appended;
    let Some(inherited_value) = inherited_value.filter(|v| kept_count(v) >= added) else {
        // The inherited value does not hold what the change says it does:
        // start again from the inherited value.
        return change_ignoring(inherited_value, new, sep, owned);
    };
    let Some(new) = new else {
        return Some(Change::Unset);
    };
    let base_len = kept_count(inherited_value) - added;
    let base = list::kept(inherited_value, list_sep, not_owned, inherited_growth.prepended, base_len);
    let new_elements = list::kept(new, list_sep, not_owned, 0, usize::MAX);
    let base_is_empty = base.clone().next().is_none();
    match list::growth_of(base, new_elements) {
        // An empty base may have been absent: a change to an empty value is
        // then kept as a set, which is right either way.
        Some(_) if base_is_empty && new.is_empty() => Some(Change::Set),
        Some(growth) if growth.prepended + growth.appended == 0 => None,
        Some(growth) => Some(Change::List { sep: list_sep, growth }),
        None => Some(Change::Set),
    }
}

impl Change {
    /// The directives, with their values taken from `current` (the variable's
    /// value here), that make this change on another node.
    pub fn directives(&self, name: &[u8], current: Option<&[u8]>) -> Vec<Directive> {
        self.directives_ignoring(name, current, &|_: &[u8]| false)
    }

    /// [`Change::directives`] for a change computed with [`change_ignoring`].
    pub fn directives_ignoring<O: Fn(&[u8]) -> bool>(
        &self,
        name: &[u8],
        current: Option<&[u8]>,
        owned: &O,
    ) -> Vec<Directive> {
        let mut out = Vec::new();
        match (*self, current) {
            (Change::Unset, _) | (_, None) => out.push(Directive::unset(name)),
            (Change::Set, Some(value)) => out.push(Directive::set(name, value)),
            (Change::List { sep, growth }, Some(value)) => {
                let kept = || list::elements(value, sep).filter(|e| !owned(e));
                let total = kept().count();
                let mut push = |op: Op, skip: usize, take: usize| {
                    if take > 0 {
                        let value = kept().skip(skip).take(take).collect::<Vec<_>>().join(&sep);
                        out.push(Directive { op, name: name.to_vec(), value, sep });
                    }
                };
                push(Op::Prepend, 0, growth.prepended);
                push(Op::Append, total.saturating_sub(growth.appended), growth.appended);
            }
        }
        out
    }
}

/// The directives that turn `old` into `new` for the variable `name`:
/// `prepend`/`append` of the added elements for a list variable that keeps its
/// old value as a contiguous run, otherwise `set`, and `unset` for a removal.
/// Applying them to `old` gives exactly `new`; applying a list diff to another
/// value keeps that value's elements.
pub fn diff(name: &[u8], old: Option<&[u8]>, new: Option<&[u8]>, registry: &Registry) -> Vec<Directive> {
    match change_between(old, new, registry.separator(name)) {
        None => Vec::new(),
        Some(change) => change.directives(name, new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLON: Option<u8> = Some(b':');

    #[test]
    fn list_growth_is_kept_by_reference() {
        let change = change_between(Some(b"/usr/bin"), Some(b"/opt/x:/usr/bin"), COLON);
        let growth = Growth { prepended: 1, appended: 0 };
        assert_eq!(change, Some(Change::List { sep: b':', growth }));
        assert_eq!(change_between(Some(b"a"), Some(b"b"), COLON), Some(Change::Set));
        assert_eq!(change_between(Some(b"a"), Some(b"x:a"), None), Some(Change::Set));
        assert_eq!(change_between(Some(b"a"), None, COLON), Some(Change::Unset));
        assert_eq!(change_between(None, Some(b""), COLON), Some(Change::Set));
        assert_eq!(change_between(Some(b"a"), Some(b"a"), COLON), None);
    }

    #[test]
    fn a_child_adds_to_its_parents_change() {
        let parent = change_between(Some(b"/bin"), Some(b"/p:/bin"), COLON);
        let child = track(parent, Some(b"/p:/bin"), Some(b"/c:/p:/bin:/z"), COLON);
        let growth = Growth { prepended: 2, appended: 1 };
        assert_eq!(child, Some(Change::List { sep: b':', growth }));
        // Undoing the parent's change leaves nothing to track.
        assert_eq!(track(parent, Some(b"/p:/bin"), Some(b"/bin"), COLON), None);
        // A set stays a set; a removal becomes an unset.
        assert_eq!(track(Some(Change::Set), Some(b"v"), Some(b"v"), None), Some(Change::Set));
        assert_eq!(track(Some(Change::Set), Some(b"v"), None, None), Some(Change::Unset));
        assert_eq!(track(Some(Change::Unset), None, Some(b"w"), COLON), Some(Change::Set));
    }

    #[test]
    fn elements_a_directive_owns_do_not_disturb_tracking() {
        let owned = |e: &[u8]| e == b"/tool";
        let growth = Growth { prepended: 1, appended: 0 };
        let change = change_ignoring(Some(b"/tool:/bin"), Some(b"/x:/tool:/bin"), COLON, &owned);
        assert_eq!(change, Some(Change::List { sep: b':', growth }));
        // The directive moves /tool back to the front at exec: still the same change.
        let child = track_ignoring(change, Some(b"/tool:/x:/bin"), Some(b"/tool:/x:/bin"), COLON, &owned);
        assert_eq!(child, change);
        let directives = child.unwrap().directives_ignoring(b"PATH", Some(b"/tool:/x:/bin"), &owned);
        assert_eq!(directives, [Directive::new(Op::Prepend, b"PATH", b"/x", b':').unwrap()]);
        // Only owned elements moved: nothing to track.
        assert_eq!(change_ignoring(Some(b"/bin"), Some(b"/tool:/bin"), COLON, &owned), None);
    }

    #[test]
    fn directives_carry_only_the_added_elements() {
        let registry = Registry::builtin();
        let d = diff(b"PATH", Some(b"/bin"), Some(b"/a:/b:/bin:/z"), &registry);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].op, d[0].value.as_slice()), (Op::Prepend, &b"/a:/b"[..]));
        assert_eq!((d[1].op, d[1].value.as_slice()), (Op::Append, &b"/z"[..]));
    }
}
