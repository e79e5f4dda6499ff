//! List values (`PATH`-like): elements, the list operations, and list diffs.
//!
//! Everything here works on borrowed slices and writes through a [`Sink`], so
//! the preload can run it on the exec path without allocating.
//!
//! Conventions shared by every operation:
//! - an empty value has no elements; otherwise the value is split on the
//!   separator, and empty elements already in a value are kept (an empty
//!   `PATH` element means the current directory to a shell);
//! - elements given in a directive's value are used without empty ones and
//!   without repeats, so no operation ever creates an empty element or a
//!   duplicate.

use crate::sink::{Full, Sink};

/// Lists longer than this are not diffed element by element (the diff falls
/// back to `set`): the check is quadratic in the element count.
pub const MAX_DIFF_ELEMENTS: usize = 1024;

/// The elements of `value`, split on `sep`. An empty value has none.
pub fn elements(value: &[u8], sep: u8) -> Elements<'_> {
    Elements { rest: if value.is_empty() { None } else { Some(value) }, sep }
}

/// Iterator over the elements of a list value.
#[derive(Clone)]
pub struct Elements<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> Iterator for Elements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match rest.iter().position(|&b| b == self.sep) {
            Some(at) => {
                self.rest = Some(&rest[at + 1..]);
                Some(&rest[..at])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Whether `element` is one of the elements of `list`.
pub fn contains(list: &[u8], sep: u8, element: &[u8]) -> bool {
    elements(list, sep).any(|e| e == element)
}

/// The elements a directive's value contributes: non-empty, each once, in order.
pub fn given_elements(value: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> + Clone {
    elements(value, sep)
        .enumerate()
        .filter(move |&(index, element)| {
            !element.is_empty() && !elements(value, sep).take(index).any(|earlier| earlier == element)
        })
        .map(|(_, element)| element)
}

/// Writes elements with separators between them.
struct Joiner<'s, S: Sink> {
    out: &'s mut S,
    sep: u8,
    first: bool,
}

impl<'s, S: Sink> Joiner<'s, S> {
    fn new(out: &'s mut S, sep: u8) -> Self {
        Joiner { out, sep, first: true }
    }

    fn push(&mut self, element: &[u8]) -> Result<(), Full> {
        if !self.first {
            self.out.put_byte(self.sep)?;
        }
        self.first = false;
        self.out.put(element)
    }
}

/// `added`'s elements first, then `current`'s elements that are not among them.
/// Returns false (and writes nothing) when `added` has no element.
pub fn prepend<S: Sink>(current: &[u8], added: &[u8], sep: u8, out: &mut S) -> Result<bool, Full> {
    if given_elements(added, sep).next().is_none() {
        return Ok(false);
    }
    let mut joiner = Joiner::new(out, sep);
    for element in given_elements(added, sep) {
        joiner.push(element)?;
    }
    for element in elements(current, sep).filter(|e| !contains(added, sep, e)) {
        joiner.push(element)?;
    }
    Ok(true)
}

/// `current`'s elements that are not among `added`'s, then `added`'s elements.
/// Returns false (and writes nothing) when `added` has no element.
pub fn append<S: Sink>(current: &[u8], added: &[u8], sep: u8, out: &mut S) -> Result<bool, Full> {
    if given_elements(added, sep).next().is_none() {
        return Ok(false);
    }
    let mut joiner = Joiner::new(out, sep);
    for element in elements(current, sep).filter(|e| !contains(added, sep, e)) {
        joiner.push(element)?;
    }
    for element in given_elements(added, sep) {
        joiner.push(element)?;
    }
    Ok(true)
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// No element of the list was among the removed ones; nothing written.
    NothingRemoved,
    /// Elements were removed and the rest written.
    Written,
    /// Every element was removed (nothing written): the variable goes away.
    Emptied,
}

/// `current`'s elements without any of `removed`'s.
pub fn remove<S: Sink>(current: &[u8], removed: &[u8], sep: u8, out: &mut S) -> Result<Removal, Full> {
    let is_removed = |e: &[u8]| !e.is_empty() && contains(removed, sep, e);
    if !elements(current, sep).any(is_removed) {
        return Ok(Removal::NothingRemoved);
    }
    let mut joiner = Joiner::new(out, sep);
    for element in elements(current, sep).filter(|e| !is_removed(e)) {
        joiner.push(element)?;
    }
    Ok(if joiner.first { Removal::Emptied } else { Removal::Written })
}

/// How a list value grew from its base: `prepended` elements before the base
/// and `appended` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    pub prepended: usize,
    pub appended: usize,
}

/// Finds how `new` extends `base`, if it does in a way that `prepend` then
/// `append` of the added elements reproduces exactly: `base`'s elements form
/// a contiguous run of `new`'s, and the added elements are non-empty, distinct
/// and not in the base. An absent or empty base is extended by prepending.
///
/// Returns `None` when no such growth exists (the change is then a `set`), and
/// for lists longer than [`MAX_DIFF_ELEMENTS`]. Allocates nothing.
pub fn growth(base: &[u8], new: &[u8], sep: u8) -> Option<Growth> {
    let all: &dyn Fn(&&[u8]) -> bool = &|_| true;
    growth_of(kept(base, sep, all, 0, usize::MAX), kept(new, sep, all, 0, usize::MAX))
}

/// A list's elements that `keep` accepts, without the first `skip` of them,
/// at most `take`. One concrete type for every filtered view, so the diff
/// code exists once in the preload.
pub type Kept<'a> = core::iter::Take<core::iter::Skip<core::iter::Filter<Elements<'a>, &'a dyn Fn(&&[u8]) -> bool>>>;

/// See [`Kept`].
pub fn kept<'a>(value: &'a [u8], sep: u8, keep: &'a dyn Fn(&&[u8]) -> bool, skip: usize, take: usize) -> Kept<'a> {
    elements(value, sep).filter(keep).skip(skip).take(take)
}

/// [`growth`] over any two sequences of elements (for instance lists with
/// some elements filtered out).
pub fn growth_of(base: Kept<'_>, new: Kept<'_>) -> Option<Growth> {
    let base_len = base.clone().count();
    let new_len = new.clone().count();
    if new_len > MAX_DIFF_ELEMENTS || base_len > new_len {
        return None;
    }
    if base_len == 0 {
        let candidate = Growth { prepended: new_len, appended: 0 };
        return reproduces(base, new, new_len, candidate).then_some(candidate);
    }
    (0..=new_len - base_len)
        .filter(|&start| new.clone().skip(start).take(base_len).eq(base.clone()))
        .map(|start| Growth { prepended: start, appended: new_len - start - base_len })
        .find(|&candidate| reproduces(base.clone(), new.clone(), new_len, candidate))
}

/// Whether prepending the first `prepended` and appending the last `appended`
/// elements of `new` to `base` gives `new` (given that the rest is `base`).
fn reproduces(base: Kept<'_>, new: Kept<'_>, new_len: usize, growth: Growth) -> bool {
    let is_added = |index: usize| index < growth.prepended || index >= new_len - growth.appended;
    let added = || new.clone().enumerate().filter(move |&(i, _)| is_added(i));
    added().all(|(index, element)| {
        !element.is_empty()
            && !base.clone().any(|e| e == element)
            && !added().any(|(other, e)| other > index && e == element)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn run(f: impl FnOnce(&mut Vec<u8>) -> Result<bool, Full>) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        f(&mut out).unwrap().then_some(out)
    }

    #[test]
    fn element_splitting() {
        assert_eq!(elements(b"", b':').count(), 0);
        assert_eq!(elements(b"a", b':').collect::<Vec<_>>(), [b"a"]);
        let parts: Vec<&[u8]> = elements(b":a::b:", b':').collect();
        assert_eq!(parts, [&b""[..], b"a", b"", b"b", b""]);
    }

    #[test]
    fn prepend_moves_existing_and_skips_empties() {
        assert_eq!(run(|o| prepend(b"/a:/b:/c", b"/c", b':', o)).unwrap(), b"/c:/a:/b");
        assert_eq!(run(|o| prepend(b"", b"/x::/x:/y", b':', o)).unwrap(), b"/x:/y");
        assert_eq!(run(|o| prepend(b"/a", b"::", b':', o)), None);
        // An empty element that was already there stays.
        assert_eq!(run(|o| prepend(b":/bin", b"/x", b':', o)).unwrap(), b"/x::/bin");
    }

    #[test]
    fn append_moves_existing() {
        assert_eq!(run(|o| append(b"/a:/b:/c", b"/a", b':', o)).unwrap(), b"/b:/c:/a");
    }

    #[test]
    fn remove_drops_every_occurrence() {
        let mut out = Vec::new();
        assert_eq!(remove(b"a:b:a:c", b"a", b':', &mut out), Ok(Removal::Written));
        assert_eq!(out, b"b:c");
        out.clear();
        assert_eq!(remove(b"a:a", b"a", b':', &mut out), Ok(Removal::Emptied));
        assert_eq!(remove(b"b", b"a", b':', &mut out), Ok(Removal::NothingRemoved));
    }

    #[test]
    fn growth_finds_prefix_and_suffix() {
        assert_eq!(growth(b"/b", b"/a:/b:/c", b':'), Some(Growth { prepended: 1, appended: 1 }));
        assert_eq!(growth(b"", b"/a:/b", b':'), Some(Growth { prepended: 2, appended: 0 }));
        // An added element already in the base cannot be reproduced by prepend.
        assert_eq!(growth(b"/b", b"/b:/b", b':'), None);
        // Not a contiguous run.
        assert_eq!(growth(b"/a:/c", b"/a:/b:/c", b':'), None);
        // Empty added element.
        assert_eq!(growth(b"/a", b":/a", b':'), None);
        // Second alignment works where the first does not.
        assert_eq!(growth(b"x", b"y:x:z", b':'), Some(Growth { prepended: 1, appended: 1 }));
    }
}
