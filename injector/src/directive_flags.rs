//! Directives given as command-line flags: `--set NAME=VALUE`, `--prepend …`,
//! `--app-set …`, and `--sep C` for the list directives that follow it.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use envtrack_model::{Directive, DirectiveSet, Level, Op, Registry};

use crate::error::UsageError;

/// A flag name and what it makes.
pub struct DirectiveFlag {
    pub flag: &'static str,
    pub op: Op,
    pub level: Level,
}

/// Every directive flag, job level then app level.
pub const DIRECTIVE_FLAGS: &[DirectiveFlag] = &[
    DirectiveFlag { flag: "set", op: Op::Set, level: Level::Job },
    DirectiveFlag { flag: "add", op: Op::Add, level: Level::Job },
    DirectiveFlag { flag: "unset", op: Op::Unset, level: Level::Job },
    DirectiveFlag { flag: "prepend", op: Op::Prepend, level: Level::Job },
    DirectiveFlag { flag: "append", op: Op::Append, level: Level::Job },
    DirectiveFlag { flag: "remove", op: Op::Remove, level: Level::Job },
    DirectiveFlag { flag: "app-set", op: Op::Set, level: Level::App },
    DirectiveFlag { flag: "app-add", op: Op::Add, level: Level::App },
    DirectiveFlag { flag: "app-unset", op: Op::Unset, level: Level::App },
    DirectiveFlag { flag: "app-prepend", op: Op::Prepend, level: Level::App },
    DirectiveFlag { flag: "app-append", op: Op::Append, level: Level::App },
    DirectiveFlag { flag: "app-remove", op: Op::Remove, level: Level::App },
];

/// One directive flag as it stood on the command line.
pub struct GivenFlag {
    /// Position among the arguments (for ordering and for error messages).
    pub index: usize,
    pub flag: &'static DirectiveFlag,
    pub argument: OsString,
}

/// One `--sep` as it stood on the command line.
pub struct GivenSeparator {
    pub index: usize,
    pub argument: OsString,
}

/// Turns flags into directives, in command-line order. `--sep C` sets the
/// separator of every list directive after it; before any `--sep`, the
/// registry's separator for the name (else `:`).
pub fn directives_from_flags(
    mut flags: Vec<GivenFlag>,
    mut separators: Vec<GivenSeparator>,
    registry: &Registry,
) -> Result<DirectiveSet, UsageError> {
    flags.sort_by_key(|f| f.index);
    separators.sort_by_key(|s| s.index);
    let mut set = DirectiveSet::default();
    for given in flags {
        let flag = given.flag;
        let text = given.argument.as_bytes();
        let where_ = || format!("--{} {:?} (argument {})", flag.flag, given.argument, given.index);
        let (name, value) = if flag.op == Op::Unset {
            (text, &b""[..])
        } else {
            envtrack_model::apply::split_entry(text)
                .ok_or_else(|| UsageError::new(format!("{}: expected NAME=VALUE", where_())))?
        };
        let sep = match separators.iter().rev().find(|s| s.index < given.index) {
            Some(sep) => match sep.argument.as_bytes() {
                [0] => {
                    return Err(UsageError::new(format!("--sep (argument {}): the separator is a NUL byte", sep.index)))
                }
                &[byte] => byte,
                other => {
                    return Err(UsageError::new(format!(
                        "--sep {:?} (argument {}): a separator is one byte, got {} bytes",
                        sep.argument,
                        sep.index,
                        other.len()
                    )))
                }
            },
            None => registry.separator_or_default(name),
        };
        let directive =
            Directive::new(flag.op, name, value, sep).map_err(|e| UsageError::new(format!("{}: {e}", where_())))?;
        set.level_mut(flag.level).push(directive);
    }
    Ok(set)
}
