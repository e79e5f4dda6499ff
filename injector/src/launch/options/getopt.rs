//! POSIX/GNU getopt_long's way (srun, ssh, pdsh): grouped short options,
//! glued values, `--name=value`, unique prefixes of long names.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::{lossy, Arity, Found, Parsed, Spec, Table, Unreadable};

impl Table {
    pub(super) fn read_getopt(&self, args: &[OsString]) -> Result<Parsed<'_>, Unreadable> {
        let mut options = Vec::new();
        let mut at = 0;
        while at < args.len() {
            let word = args[at].as_bytes();
            if word == b"--" {
                return Ok(Parsed { options, operands: at + 1, ended_by_dashes: true });
            }
            if word.len() < 2 || word[0] != b'-' {
                break;
            }
            let start = at;
            if let Some(long) = word.strip_prefix(b"--") {
                let (name, glued) = match long.iter().position(|&b| b == b'=') {
                    Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                    None => (long, None),
                };
                let spec = self.long_option(name, at, word)?;
                let mut values = Vec::new();
                match (spec.arity, glued) {
                    (Arity::Values(0), Some(_)) => {
                        return Err(Unreadable::UnexpectedValue { at: at + 1, word: lossy(word) })
                    }
                    (_, Some(value)) => values.push(OsStr::from_bytes(value).to_os_string()),
                    (Arity::Values(n), None) => {
                        for _ in 0..n {
                            at += 1;
                            let value =
                                args.get(at).ok_or(Unreadable::MissingValue { at: start + 1, word: lossy(word) })?;
                            values.push(value.clone());
                        }
                    }
                    (Arity::Optional, None) => {}
                    (Arity::Pair, None) => {
                        return Err(Unreadable::Unknown { at: at + 1, word: lossy(word) });
                    }
                }
                at += 1;
                options.push(Found { spec, words: start..at, values });
                continue;
            }
            // A group of short options: -abc, -p22, -p 22.
            let mut letters = &word[1..];
            let mut found_here = Vec::new();
            while let Some((&letter, rest)) = letters.split_first() {
                let spec =
                    self.short_option(letter).ok_or_else(|| Unreadable::Unknown { at: at + 1, word: lossy(word) })?;
                let mut values = Vec::new();
                letters = rest;
                match spec.arity {
                    Arity::Values(0) => {}
                    Arity::Optional => {
                        if !letters.is_empty() {
                            values.push(OsStr::from_bytes(letters).to_os_string());
                            letters = b"";
                        }
                    }
                    Arity::Values(_) | Arity::Pair => {
                        if letters.is_empty() {
                            at += 1;
                            let value =
                                args.get(at).ok_or(Unreadable::MissingValue { at: start + 1, word: lossy(word) })?;
                            values.push(value.clone());
                        } else {
                            values.push(OsStr::from_bytes(letters).to_os_string());
                            letters = b"";
                        }
                    }
                }
                found_here.push((spec, values));
            }
            at += 1;
            options.extend(found_here.into_iter().map(|(spec, values)| Found { spec, words: start..at, values }));
        }
        Ok(Parsed { options, operands: at, ended_by_dashes: false })
    }

    fn short_option(&self, letter: u8) -> Option<&Spec> {
        self.specs.iter().find(|spec| spec.names.iter().any(|n| n.len() == 2 && n.as_bytes() == [b'-', letter]))
    }

    /// getopt_long's matching: an exact long name, else the one long option `name` abbreviates.
    fn long_option(&self, name: &[u8], at: usize, word: &[u8]) -> Result<&Spec, Unreadable> {
        let long_names = || {
            self.specs.iter().flat_map(|spec| {
                spec.names.iter().filter_map(move |n| n.strip_prefix("--").map(|n| (spec, n.as_bytes())))
            })
        };
        if let Some((spec, _)) = long_names().find(|(_, n)| *n == name) {
            return Ok(spec);
        }
        let mut matching = long_names().filter(|(_, n)| n.starts_with(name)).map(|(spec, _)| spec);
        let first = matching.next().ok_or_else(|| Unreadable::Unknown { at: at + 1, word: lossy(word) })?;
        if matching.any(|other| !std::ptr::eq(other, first)) {
            return Err(Unreadable::Ambiguous { at: at + 1, word: lossy(word) });
        }
        Ok(first)
    }
}
