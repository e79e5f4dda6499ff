//! The registry of list variables (`PATH`-like) and their separators.

use alloc::vec::Vec;
use core::fmt;

/// The separator of list directives when none is given and the registry does
/// not know the variable.
pub const DEFAULT_SEPARATOR: u8 = b':';

/// The longest built-in list variable name.
const NAME_CAPACITY: usize = 27;

/// A built-in list variable: its name, padded in place (no pointer, so the
/// table costs `libenvtrack.so` no relocation), and its separator.
#[derive(Clone, Copy)]
pub struct BuiltinList {
    name: [u8; NAME_CAPACITY],
    len: u8,
    pub sep: u8,
}

impl BuiltinList {
    pub fn name(&self) -> &[u8] {
        &self.name[..self.len as usize]
    }
}

const fn list(name: &[u8], sep: u8) -> BuiltinList {
    let mut padded = [0u8; NAME_CAPACITY];
    let mut i = 0;
    while i < name.len() {
        padded[i] = name[i];
        i += 1;
    }
    BuiltinList { name: padded, len: name.len() as u8, sep }
}

/// Variables known to hold lists, with their separators.
pub const BUILTIN_LISTS: &[BuiltinList] = &[
    list(b"PATH", b':'),
    list(b"LD_LIBRARY_PATH", b':'),
    list(b"LD_PRELOAD", b':'),
    list(b"LD_AUDIT", b':'),
    list(b"LIBRARY_PATH", b':'),
    list(b"CPATH", b':'),
    list(b"C_INCLUDE_PATH", b':'),
    list(b"CPLUS_INCLUDE_PATH", b':'),
    list(b"OBJC_INCLUDE_PATH", b':'),
    list(b"PKG_CONFIG_PATH", b':'),
    list(b"CMAKE_PREFIX_PATH", b':'),
    list(b"CMAKE_MODULE_PATH", b':'),
    list(b"ACLOCAL_PATH", b':'),
    list(b"PYTHONPATH", b':'),
    list(b"PERL5LIB", b':'),
    list(b"PERLLIB", b':'),
    list(b"RUBYLIB", b':'),
    list(b"GEM_PATH", b':'),
    list(b"NODE_PATH", b':'),
    list(b"CLASSPATH", b':'),
    list(b"JULIA_LOAD_PATH", b':'),
    list(b"R_LIBS", b':'),
    list(b"R_LIBS_USER", b':'),
    list(b"MANPATH", b':'),
    list(b"INFOPATH", b':'),
    list(b"XDG_DATA_DIRS", b':'),
    list(b"XDG_CONFIG_DIRS", b':'),
    list(b"MODULEPATH", b':'),
    list(b"GI_TYPELIB_PATH", b':'),
    list(b"GST_PLUGIN_PATH", b':'),
    list(b"QT_PLUGIN_PATH", b':'),
    list(b"TCLLIBPATH", b' '),
    list(b"OMPI_MCA_mca_base_env_list", b';'),
];

/// A number in 0..512 from a name's length and its first, second and last
/// bytes: names with different signatures differ (see [`BUILTIN_BY_SIGNATURE`]).
#[inline(always)]
const fn signature(name: &[u8]) -> usize {
    let (first, second, last) = match name {
        [] => (0, 0, 0),
        [only] => (*only as usize, 0, *only as usize),
        [first, second, .., last] | [first, second @ last] => (*first as usize, *second as usize, *last as usize),
    };
    (name.len() * 7 + first * 31 + second * 17 + last * 13) % 512
}

/// For each signature, the built-in list that has it (its number + 1), 0
/// when none has, or [`SHARED_SIGNATURE`] when several have.
const BUILTIN_BY_SIGNATURE: [u8; 512] = {
    let mut by = [0u8; 512];
    let mut i = 0;
    while i < BUILTIN_LISTS.len() {
        let list = &BUILTIN_LISTS[i];
        let (name, _) = list.name.split_at(list.len as usize);
        let bit = signature(name);
        by[bit] = if by[bit] == 0 { i as u8 + 1 } else { SHARED_SIGNATURE };
        i += 1;
    }
    by
};

const SHARED_SIGNATURE: u8 = u8::MAX;

/// The built-in list variables and their separators.
pub fn builtin_lists() -> impl Iterator<Item = (&'static [u8], u8)> {
    BUILTIN_LISTS.iter().map(|l| (l.name(), l.sep))
}

/// The list variables envtrack knows: the built-in ones, plus any added by
/// configuration (which take precedence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    added: Vec<(Vec<u8>, u8)>,
}

/// A malformed list-variable specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySpecError {
    /// Byte offset of the problem in the specification.
    pub position: usize,
    pub message: &'static str,
}

impl fmt::Display for RegistrySpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.position, self.message)
    }
}

impl Registry {
    /// The built-in registry.
    pub fn builtin() -> Self {
        Registry::default()
    }

    /// The separator of `name` if it is a list variable.
    #[inline(always)]
    pub fn separator(&self, name: &[u8]) -> Option<u8> {
        let bit = signature(name);
        if self.added.is_empty() && BUILTIN_BY_SIGNATURE[bit] == 0 {
            return None; // the common case, decided by one table entry
        }
        self.separator_of_maybe_list(name, bit)
    }

    fn separator_of_maybe_list(&self, name: &[u8], bit: usize) -> Option<u8> {
        self.added.iter().rev().find(|(n, _)| n.as_slice() == name).map(|&(_, sep)| sep).or_else(|| {
            match BUILTIN_BY_SIGNATURE[bit] {
                0 => return None,
                SHARED_SIGNATURE => {}
                number => {
                    let list = &BUILTIN_LISTS[usize::from(number) - 1];
                    return (list.name() == name).then_some(list.sep);
                }
            }
            BUILTIN_LISTS.iter().find(|l| usize::from(l.len) == name.len() && l.name() == name).map(|l| l.sep)
        })
    }

    /// The separator to use for a list directive on `name` given none.
    pub fn separator_or_default(&self, name: &[u8]) -> u8 {
        self.separator(name).unwrap_or(DEFAULT_SEPARATOR)
    }

    /// Declares `name` a list variable with separator `sep`.
    pub fn add(&mut self, name: &[u8], sep: u8) {
        self.added.push((name.to_vec(), sep));
    }

    /// The variables added by configuration.
    pub fn added(&self) -> &[(Vec<u8>, u8)] {
        &self.added
    }

    /// Adds the variables of a specification: comma-separated entries, each
    /// `NAME` (separator `:`) or `NAME=C` with `C` one byte (which may itself be
    /// a comma). Example: `MY_PATH,TCL_PATH= ,JAVA_OPTS_LIST=;`. A malformed
    /// specification adds nothing.
    pub fn add_spec(&mut self, spec: &[u8]) -> Result<(), RegistrySpecError> {
        let mut parsed = Registry::default();
        parsed.parse_spec(spec)?;
        self.added.extend(parsed.added);
        Ok(())
    }

    fn parse_spec(&mut self, spec: &[u8]) -> Result<(), RegistrySpecError> {
        let mut at = 0;
        while at < spec.len() {
            let name_end = spec[at..].iter().position(|&b| b == b',' || b == b'=').map_or(spec.len(), |p| at + p);
            let name = &spec[at..name_end];
            if name.is_empty() {
                return Err(RegistrySpecError { position: at, message: "empty variable name" });
            }
            let (sep, next) = if spec.get(name_end) == Some(&b'=') {
                match spec.get(name_end + 1) {
                    None | Some(0) => {
                        return Err(RegistrySpecError {
                            position: name_end + 1,
                            message: "'=' must be followed by a one-byte separator",
                        })
                    }
                    Some(&sep) => (sep, name_end + 2),
                }
            } else {
                (DEFAULT_SEPARATOR, name_end)
            };
            match spec.get(next) {
                None => at = next,
                Some(b',') => at = next + 1,
                Some(_) => {
                    return Err(RegistrySpecError {
                        position: next,
                        message: "a separator must be a single byte followed by ',' or the end",
                    })
                }
            }
            self.add(name, sep);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    #[test]
    fn builtin_and_exact_names() {
        let registry = Registry::builtin();
        assert_eq!(builtin_lists().count(), 33);
        assert_eq!(registry.separator(b"TCLLIBPATH"), Some(b' '));
        assert_eq!(registry.separator(b"OMPI_MCA_mca_base_env_list"), Some(b';'));
        assert_eq!(registry.separator(b"PATH"), Some(b':'));
        assert_eq!(registry.separator(b"PATHEXT"), None);
        assert_eq!(registry.separator(b"path"), None);
        for name in [
            "PATH",
            "LD_LIBRARY_PATH",
            "LD_PRELOAD",
            "PYTHONPATH",
            "MANPATH",
            "INFOPATH",
            "PKG_CONFIG_PATH",
            "CPATH",
            "C_INCLUDE_PATH",
            "CPLUS_INCLUDE_PATH",
            "LIBRARY_PATH",
            "CMAKE_PREFIX_PATH",
            "XDG_DATA_DIRS",
            "XDG_CONFIG_DIRS",
            "MODULEPATH",
            "PERL5LIB",
            "CLASSPATH",
            "ACLOCAL_PATH",
        ] {
            assert!(registry.separator(name.as_bytes()).is_some(), "{name}");
        }
    }

    #[test]
    fn the_signature_filter_agrees_with_comparing_names() {
        let registry = Registry::builtin();
        let naive = |name: &[u8]| BUILTIN_LISTS.iter().find(|l| l.name() == name).map(|l| l.sep);
        for list in BUILTIN_LISTS {
            assert_eq!(registry.separator(list.name()), Some(list.sep), "{:?}", list.name());
        }
        // Every name of up to 3 bytes over a small alphabet, and variations of the lists' own.
        let alphabet = b"ACDHILMOPRSTXY_";
        let mut names: Vec<Vec<u8>> = Vec::new();
        for &a in alphabet {
            names.push(vec![a]);
            for &b in alphabet {
                names.push(vec![a, b]);
                for &c in alphabet {
                    names.push(vec![a, b, c]);
                }
            }
        }
        for list in BUILTIN_LISTS {
            let name = list.name().to_vec();
            names.push([&name[..], b"X"].concat());
            names.push(name[..name.len() - 1].to_vec());
            names.push([b"X", &name[..]].concat());
        }
        for name in names {
            assert_eq!(registry.separator(&name), naive(&name), "{:?}", String::from_utf8_lossy(&name));
        }
    }

    #[test]
    fn spec_parsing() {
        let mut registry = Registry::builtin();
        registry.add_spec(b"MY_PATH,SEMI=;,COMMA=,,PATH= ").unwrap();
        assert_eq!(registry.separator(b"MY_PATH"), Some(b':'));
        assert_eq!(registry.separator(b"SEMI"), Some(b';'));
        assert_eq!(registry.separator(b"COMMA"), Some(b','));
        assert_eq!(registry.separator(b"PATH"), Some(b' '));
        let mut partial = Registry::builtin();
        assert_eq!(partial.add_spec(b"A,,B").unwrap_err().position, 2);
        assert_eq!(partial.separator(b"A"), None, "nothing of a malformed spec is added");
        assert_eq!(Registry::builtin().add_spec(b"A=").unwrap_err().position, 2);
        assert_eq!(Registry::builtin().add_spec(b"A=::").unwrap_err().position, 3);
    }
}
