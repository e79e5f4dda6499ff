//! Launchers' options as data: which words of a launcher's command line are
//! its options (and their values), and where the program begins.
//!
//! Each launcher's table is a text file in `tables/`, written from the
//! launcher's own help and checked against it by the test suite
//! (`tests/tests/launcher_options.rs`). A file is:
//!
//! ```text
//! # comments
//! syntax getopt|words
//! equals yes|no            (words: whether --name=value is accepted)
//! dashes listed|either|any (words: names as listed; -name and --name alike; any number of dashes)
//! case exact|any           (words: whether -NP is -np)
//! end yes|no               (words: whether `--` ends the options)
//! ARITY NAME [ALIAS…]      (ARITY: 0, 1, 2; ? for a value only when glued on;
//!                           2= for two values or one NAME=VALUE word, as Hydra's -genv)
//! ```
//!
//! `getopt` is POSIX/GNU getopt_long: short options grouped (`-tp22`),
//! values glued or in the next word, `--name=value`, unique prefixes of
//! long names, `--` ends the options (`options/getopt.rs`). `words` is how MPI launchers parse
//! (`options/words.rs`): each option a whole word, its values the next words.
//!
//! Written by hand rather than with a parsing crate: the parse must
//! reproduce, word for word, what each launcher's own parser does with the
//! same command line, and keep every word as the user gave it.

use std::ffi::OsString;

mod getopt;
mod words;

/// How many values an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// A fixed number of values: glued on or the next words.
    Values(u8),
    /// A value only when glued on (`--name=value`, `-Xvalue`).
    Optional,
    /// Two values (`-genv NAME VALUE`), or one when it holds a `=` (`-genv NAME=VALUE`).
    Pair,
}

/// One option, under all its names. `names[0]` is the name rewriters match.
#[derive(Debug)]
pub struct Spec {
    pub names: Vec<&'static str>,
    pub arity: Arity,
}

impl Spec {
    pub fn name(&self) -> &'static str {
        self.names[0]
    }
}

/// How a launcher that reads its options word by word matches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordRules {
    /// `--name=value` (and `-name=value`) give the first value.
    pub equals: bool,
    pub dashes: Dashes,
    /// Names compare ASCII case-insensitively.
    pub any_case: bool,
    /// `--` ends the options.
    pub double_dash_ends: bool,
}

/// Which dashes a name may be written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dashes {
    /// Only as listed.
    Listed,
    /// One or two, whatever the list says.
    Either,
    /// Any number.
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Getopt,
    Words(WordRules),
}

/// A launcher's options.
#[derive(Debug)]
pub struct Table {
    /// What the table is for (`Open MPI 4 mpirun`), for messages.
    pub title: &'static str,
    syntax: Syntax,
    pub specs: Vec<Spec>,
}

/// One option as found on a command line: `words` are the words it took
/// (the option and its values), `values` its values however they were given.
#[derive(Debug)]
pub struct Found<'a> {
    pub spec: &'a Spec,
    pub words: std::ops::Range<usize>,
    pub values: Vec<OsString>,
}

/// A command line's options, and where its operands begin.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub options: Vec<Found<'a>>,
    /// The first operand (the program, or ssh's host): `args.len()` if none.
    pub operands: usize,
    /// Whether a `--` ended the options (it is the word before `operands`).
    pub ended_by_dashes: bool,
}

impl Parsed<'_> {
    /// Whether an option named `name` (its first name) was given.
    pub fn has(&self, name: &str) -> bool {
        self.options.iter().any(|o| o.spec.name() == name)
    }
}

/// Why a command line could not be read with a table.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// A word that looks like an option and is none of the table's.
    Unknown { at: usize, word: String },
    /// A word matching several long options' prefixes.
    Ambiguous { at: usize, word: String },
    /// An option whose values are missing at the end of the command line.
    MissingValue { at: usize, word: String },
    /// A value glued onto an option that takes none.
    UnexpectedValue { at: usize, word: String },
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Unknown { at, word } => write!(f, "argument {at} ({word}) is not an option envtrack knows"),
            Unreadable::Ambiguous { at, word } => write!(f, "argument {at} ({word}) abbreviates several options"),
            Unreadable::MissingValue { at, word } => write!(f, "argument {at} ({word}) lacks its value"),
            Unreadable::UnexpectedValue { at, word } => write!(f, "argument {at} ({word}) takes no value"),
        }
    }
}

impl Table {
    /// Reads a table file; a malformed one is a bug in envtrack, caught by the unit tests.
    pub fn parse(title: &'static str, text: &'static str) -> Table {
        let mut rules = WordRules { equals: false, dashes: Dashes::Listed, any_case: false, double_dash_ends: true };
        let mut getopt = false;
        let mut specs = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default();
            let rest: Vec<&'static str> = words.collect();
            match (first, rest.as_slice()) {
                ("syntax", ["getopt"]) => getopt = true,
                ("syntax", ["words"]) => getopt = false,
                ("equals", [yes @ ("yes" | "no")]) => rules.equals = *yes == "yes",
                ("case", [case @ ("exact" | "any")]) => rules.any_case = *case == "any",
                ("end", [yes @ ("yes" | "no")]) => rules.double_dash_ends = *yes == "yes",
                ("dashes", ["listed"]) => rules.dashes = Dashes::Listed,
                ("dashes", ["either"]) => rules.dashes = Dashes::Either,
                ("dashes", ["any"]) => rules.dashes = Dashes::Any,
                (arity, names)
                    if !names.is_empty() && !matches!(arity, "syntax" | "equals" | "case" | "end" | "dashes") =>
                {
                    let arity = match arity {
                        "?" => Arity::Optional,
                        "2=" => Arity::Pair,
                        n => Arity::Values(n.parse().unwrap_or_else(|_| panic!("{title}: bad arity in {line:?}"))),
                    };
                    specs.push(Spec { names: names.to_vec(), arity });
                }
                _ => panic!("{title}: bad line {line:?}"),
            }
        }
        let syntax = if getopt { Syntax::Getopt } else { Syntax::Words(rules) };
        Table { title, syntax, specs }
    }

    /// How the launcher matches its words, if it reads its options word by word (else getopt).
    pub fn word_rules(&self) -> Option<WordRules> {
        match self.syntax {
            Syntax::Getopt => None,
            Syntax::Words(rules) => Some(rules),
        }
    }

    /// Reads the options at the start of `args` (a launcher's arguments
    /// without argv[0]), up to the first operand. A `:` (the app-context
    /// separator of Open MPI and Hydra) ends the options like an operand.
    pub fn read<'t>(&'t self, args: &[OsString]) -> Result<Parsed<'t>, Unreadable> {
        match self.syntax {
            Syntax::Getopt => self.read_getopt(args),
            Syntax::Words(rules) => self.read_words(args, rules),
        }
    }
}

fn lossy(word: &[u8]) -> String {
    String::from_utf8_lossy(word).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<OsString> {
        text.split(' ').filter(|w| !w.is_empty()).map(OsString::from).collect()
    }

    const GETOPT: &str =
        "syntax getopt\n0 -t\n0 -v --verbose\n1 -p --port\n1 --export\n1 --exclusive-user\n? -K --kill-on-bad-exit\n";

    #[test]
    fn getopt_groups_glued_values_prefixes_and_dashes() {
        let table = Table::parse("test", GETOPT);
        let args = words("-tp 2222 -vp22 --exp=A,B --verbose -K1 -K prog -p 1");
        let parsed = table.read(&args).unwrap();
        let seen: Vec<(&str, Vec<OsString>)> =
            parsed.options.iter().map(|o| (o.spec.name(), o.values.clone())).collect();
        assert_eq!(
            seen,
            [
                ("-t", vec![]),
                ("-p", words("2222")),
                ("-v", vec![]),
                ("-p", words("22")),
                ("--export", words("A,B")),
                ("-v", vec![]),
                ("-K", words("1")),
                ("-K", vec![]),
            ]
        );
        assert_eq!(&args[parsed.operands..], &words("prog -p 1")[..]);
        let parsed = table.read(&words("-t -- -v")).unwrap();
        assert!(parsed.ended_by_dashes);
        assert_eq!(parsed.operands, 2);
        assert!(matches!(table.read(&words("--ex A")), Err(Unreadable::Ambiguous { .. })));
        assert!(matches!(table.read(&words("-tz")), Err(Unreadable::Unknown { .. })));
        assert!(matches!(table.read(&words("-t -p")), Err(Unreadable::MissingValue { .. })));
        assert!(matches!(table.read(&words("--verbose=1")), Err(Unreadable::UnexpectedValue { .. })));
    }

    #[test]
    fn words_take_whole_words_and_two_values() {
        let table = Table::parse("test", "equals yes\ndashes either\n2 --mca\n1 -n --np\n0 --oversubscribe\n");
        let args = words("-mca btl tcp --np=2 -n 3 ---oversubscribe prog : -n 1 other");
        assert!(matches!(table.read(&args), Err(Unreadable::Unknown { .. })));
        let args = words("-mca btl tcp --np=2 -n 3 --oversubscribe prog : -n 1 other");
        let parsed = table.read(&args).unwrap();
        assert_eq!(parsed.options.len(), 4);
        assert_eq!(parsed.options[0].values, words("btl tcp"));
        assert_eq!(parsed.options[1].values, words("2"));
        assert_eq!(&args[parsed.operands..], &words("prog : -n 1 other")[..]);
        let hydra = Table::parse("test", "equals yes\ndashes any\ncase any\nend no\n2= -genv\n1 -n\n");
        let parsed = hydra.read(&words("-genv A=1 ---GENV B 2 -N=2 --genv=C=3 -genv=D 4 prog")).unwrap();
        let values: Vec<Vec<OsString>> = parsed.options.iter().map(|o| o.values.clone()).collect();
        assert_eq!(values, [words("A=1"), words("B 2"), words("2"), words("C=3"), words("D 4")]);
        assert!(matches!(hydra.read(&words("-- prog")), Err(Unreadable::Unknown { .. })));
        let strict = Table::parse("test", "1 -np --np\n");
        assert!(matches!(strict.read(&words("--np=2 prog")), Err(Unreadable::Unknown { .. })));
        assert!(matches!(strict.read(&words("-np")), Err(Unreadable::MissingValue { .. })));
    }
}
