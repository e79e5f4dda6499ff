//! Directives: one operation on one variable, and the two-level sets of them.

use alloc::vec::Vec;
use core::fmt;

use crate::op::Op;
use crate::registry::DEFAULT_SEPARATOR;

/// One operation on one variable. Names and values are bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Directive {
    pub op: Op,
    pub name: Vec<u8>,
    /// Empty for `unset`.
    pub value: Vec<u8>,
    /// The element separator of list operations.
    pub sep: u8,
}

/// A directive that borrows its bytes (decoded in place from a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectiveRef<'a> {
    pub op: Op,
    pub name: &'a [u8],
    pub value: &'a [u8],
    pub sep: u8,
}

/// Why a directive is not well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectiveError {
    EmptyName,
    NameHasEquals,
    NameHasNul,
    ValueHasNul,
    NulSeparator,
    UnsetTakesNoValue,
}

impl DirectiveError {
    /// What is wrong, in words.
    pub fn message(&self) -> &'static str {
        match self {
            DirectiveError::EmptyName => "the variable name is empty",
            DirectiveError::NameHasEquals => "the variable name contains '='",
            DirectiveError::NameHasNul => "the variable name contains a NUL byte",
            DirectiveError::ValueHasNul => "the value contains a NUL byte",
            DirectiveError::NulSeparator => "the separator is a NUL byte",
            DirectiveError::UnsetTakesNoValue => "'unset' takes no value",
        }
    }
}

impl fmt::Display for DirectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Checks a variable name: non-empty, no `=`, no NUL.
pub fn check_name(name: &[u8]) -> Result<(), DirectiveError> {
    if name.is_empty() {
        Err(DirectiveError::EmptyName)
    } else if name.contains(&b'=') {
        Err(DirectiveError::NameHasEquals)
    } else if name.contains(&0) {
        Err(DirectiveError::NameHasNul)
    } else {
        Ok(())
    }
}

impl<'a> DirectiveRef<'a> {
    /// Checks every rule a directive must follow.
    pub fn check(&self) -> Result<(), DirectiveError> {
        check_name(self.name)?;
        if self.value.contains(&0) {
            return Err(DirectiveError::ValueHasNul);
        }
        if self.sep == 0 {
            return Err(DirectiveError::NulSeparator);
        }
        if self.op == Op::Unset && !self.value.is_empty() {
            return Err(DirectiveError::UnsetTakesNoValue);
        }
        Ok(())
    }

    pub fn to_owned(&self) -> Directive {
        Directive { op: self.op, name: self.name.to_vec(), value: self.value.to_vec(), sep: self.sep }
    }
}

impl Directive {
    /// A checked directive.
    pub fn new(op: Op, name: &[u8], value: &[u8], sep: u8) -> Result<Directive, DirectiveError> {
        let directive = DirectiveRef { op, name, value, sep };
        directive.check()?;
        Ok(directive.to_owned())
    }

    pub fn set(name: &[u8], value: &[u8]) -> Directive {
        Directive { op: Op::Set, name: name.to_vec(), value: value.to_vec(), sep: DEFAULT_SEPARATOR }
    }

    pub fn unset(name: &[u8]) -> Directive {
        Directive { op: Op::Unset, name: name.to_vec(), value: Vec::new(), sep: DEFAULT_SEPARATOR }
    }

    pub fn as_ref(&self) -> DirectiveRef<'_> {
        DirectiveRef { op: self.op, name: &self.name, value: &self.value, sep: self.sep }
    }
}

/// Which processes a directive is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// The launcher's own environment, and every process under it.
    Job,
    /// The application processes (the ranks).
    App,
}

impl Level {
    pub const fn name(self) -> &'static str {
        match self {
            Level::Job => "job",
            Level::App => "app",
        }
    }
}

/// Job-level and app-level directives. Applied job level first, then app
/// level, each in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectiveSet {
    pub job: Vec<Directive>,
    pub app: Vec<Directive>,
}

impl DirectiveSet {
    pub fn is_empty(&self) -> bool {
        self.job.is_empty() && self.app.is_empty()
    }

    pub fn level(&self, level: Level) -> &[Directive] {
        match level {
            Level::Job => &self.job,
            Level::App => &self.app,
        }
    }

    pub fn level_mut(&mut self, level: Level) -> &mut Vec<Directive> {
        match level {
            Level::Job => &mut self.job,
            Level::App => &mut self.app,
        }
    }

    /// Whether a directive of either level prepends or appends `element` to
    /// the list variable `name`: such an element is the directive's.
    pub fn owns(&self, name: &[u8], element: &[u8]) -> bool {
        self.in_order().any(|d| {
            matches!(d.op, Op::Prepend | Op::Append)
                && d.name == name
                && crate::list::contains(&d.value, d.sep, element)
        })
    }

    /// Every directive in application order (job level, then app level).
    pub fn in_order(&self) -> impl Iterator<Item = &Directive> {
        self.job.iter().chain(self.app.iter())
    }

    /// Appends `other`'s directives after this set's, level by level.
    pub fn extend(&mut self, other: DirectiveSet) {
        self.job.extend(other.job);
        self.app.extend(other.app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names_values_and_separators() {
        assert_eq!(Directive::new(Op::Set, b"", b"v", b':'), Err(DirectiveError::EmptyName));
        assert_eq!(Directive::new(Op::Set, b"A=B", b"v", b':'), Err(DirectiveError::NameHasEquals));
        assert_eq!(Directive::new(Op::Set, b"A\0", b"v", b':'), Err(DirectiveError::NameHasNul));
        assert_eq!(Directive::new(Op::Set, b"A", b"v\0", b':'), Err(DirectiveError::ValueHasNul));
        assert_eq!(Directive::new(Op::Prepend, b"A", b"v", 0), Err(DirectiveError::NulSeparator));
        assert_eq!(Directive::new(Op::Unset, b"A", b"v", b':'), Err(DirectiveError::UnsetTakesNoValue));
        assert!(Directive::new(Op::Set, b"\xff name", b"=$(x)`y`\n", b':').is_ok());
    }
}
