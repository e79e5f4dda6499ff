//! Directive operations and their spellings.

use core::fmt;

/// What a directive does to one variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Give the variable this value.
    Set,
    /// Give the variable this value only if it is absent (an empty value is present).
    Add,
    /// Remove the variable.
    Unset,
    /// Put the value's elements first in the list, moving any already present.
    Prepend,
    /// Put the value's elements last in the list, moving any already present.
    Append,
    /// Drop every occurrence of the value's elements from the list.
    Remove,
}

impl Op {
    pub const ALL: [Op; 6] = [Op::Set, Op::Add, Op::Unset, Op::Prepend, Op::Append, Op::Remove];

    /// The canonical name used in directive files and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Set => "set",
            Op::Add => "add",
            Op::Unset => "unset",
            Op::Prepend => "prepend",
            Op::Append => "append",
            Op::Remove => "remove",
        }
    }

    /// Parse a canonical name or a PMIx RFC0022 attribute name
    /// (`pmix.envar.set`, `pmix.envar.add`, `pmix.envar.unset`,
    /// `pmix.envar.prepnd`, `pmix.envar.appnd`).
    pub fn parse(text: &[u8]) -> Option<Op> {
        Some(match text {
            b"set" | b"pmix.envar.set" => Op::Set,
            b"add" | b"pmix.envar.add" => Op::Add,
            b"unset" | b"pmix.envar.unset" => Op::Unset,
            b"prepend" | b"pmix.envar.prepnd" => Op::Prepend,
            b"append" | b"pmix.envar.appnd" => Op::Append,
            b"remove" => Op::Remove,
            _ => return None,
        })
    }

    /// One byte standing for the operation in the snapshot codec.
    pub(crate) const fn code(self) -> u8 {
        match self {
            Op::Set => b's',
            Op::Add => b'a',
            Op::Unset => b'u',
            Op::Prepend => b'p',
            Op::Append => b'e',
            Op::Remove => b'r',
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.code() == code)
    }

    /// Whether the operation treats the value as a list of elements.
    pub const fn is_list_op(self) -> bool {
        matches!(self, Op::Prepend | Op::Append | Op::Remove)
    }

    /// Whether the operation carries a value (all but `unset`).
    pub const fn takes_value(self) -> bool {
        !matches!(self, Op::Unset)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::parse(op.name().as_bytes()), Some(op));
            assert_eq!(Op::from_code(op.code()), Some(op));
        }
    }

    #[test]
    fn pmix_aliases() {
        assert_eq!(Op::parse(b"pmix.envar.prepnd"), Some(Op::Prepend));
        assert_eq!(Op::parse(b"pmix.envar.appnd"), Some(Op::Append));
        assert_eq!(Op::parse(b"pmix.envar.unset"), Some(Op::Unset));
        assert_eq!(Op::parse(b"pmix.envar.prepend"), None);
        assert_eq!(Op::parse(b"SET"), None);
    }
}
