//! The MPI launchers' way: each option a whole word, its values the next
//! words (Open MPI, Hydra), with the table's [`WordRules`].

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::{lossy, Arity, Dashes, Found, Parsed, Table, Unreadable, WordRules};

impl WordRules {
    fn name_matches(&self, listed: &[u8], given: &[u8]) -> bool {
        let (listed, given) = match self.dashes {
            Dashes::Listed => (listed, given),
            Dashes::Either => (strip_dashes(listed, 2), strip_dashes(given, 2)),
            Dashes::Any => (strip_dashes(listed, usize::MAX), strip_dashes(given, usize::MAX)),
        };
        if self.any_case {
            listed.eq_ignore_ascii_case(given)
        } else {
            listed == given
        }
    }
}

fn strip_dashes(name: &[u8], most: usize) -> &[u8] {
    let dashes = name.iter().take(most).take_while(|&&b| b == b'-').count();
    &name[dashes..]
}

impl Table {
    pub(super) fn read_words(&self, args: &[OsString], rules: WordRules) -> Result<Parsed<'_>, Unreadable> {
        let mut options = Vec::new();
        let mut at = 0;
        while at < args.len() {
            let word = args[at].as_bytes();
            if word == b"--" && rules.double_dash_ends {
                return Ok(Parsed { options, operands: at + 1, ended_by_dashes: true });
            }
            if word.len() < 2 || word[0] != b'-' {
                break;
            }
            let (name, glued) = match word.iter().position(|&b| b == b'=') {
                Some(eq) if rules.equals => (&word[..eq], Some(&word[eq + 1..])),
                _ => (word, None),
            };
            let spec = self.specs.iter().find(|spec| spec.names.iter().any(|n| rules.name_matches(n.as_bytes(), name)));
            let Some(spec) = spec else {
                return Err(Unreadable::Unknown { at: at + 1, word: lossy(word) });
            };
            let first = glued.or_else(|| args.get(at + 1).map(|w| w.as_bytes()));
            let count = match spec.arity {
                Arity::Values(n) => usize::from(n),
                Arity::Optional => 0,
                Arity::Pair if first.is_some_and(|v| v.contains(&b'=')) => 1,
                Arity::Pair => 2,
            };
            let mut values = Vec::new();
            let mut needed = count;
            if let Some(value) = glued {
                if count == 0 && spec.arity != Arity::Optional {
                    return Err(Unreadable::UnexpectedValue { at: at + 1, word: lossy(word) });
                }
                values.push(OsStr::from_bytes(value).to_os_string());
                needed = count.saturating_sub(1);
            }
            if at + needed >= args.len() {
                return Err(Unreadable::MissingValue { at: at + 1, word: lossy(word) });
            }
            values.extend(args[at + 1..=at + needed].iter().cloned());
            let start = at;
            at += needed + 1;
            options.push(Found { spec, words: start..at, values });
        }
        Ok(Parsed { options, operands: at, ended_by_dashes: false })
    }
}
