//! The registry of list variables (`PATH`-like) and their separators.

use alloc::vec::Vec;
use core::fmt;

/// The separator of list directives when none is given and the registry does
/// not know the variable.
pub const DEFAULT_SEPARATOR: u8 = b':';

/// Variables known to hold lists, with their separators.
pub const BUILTIN_LISTS: &[(&str, u8)] = &[
    ("PATH", b':'),
    ("LD_LIBRARY_PATH", b':'),
    ("LD_PRELOAD", b':'),
    ("LD_AUDIT", b':'),
    ("LIBRARY_PATH", b':'),
    ("CPATH", b':'),
    ("C_INCLUDE_PATH", b':'),
    ("CPLUS_INCLUDE_PATH", b':'),
    ("OBJC_INCLUDE_PATH", b':'),
    ("PKG_CONFIG_PATH", b':'),
    ("CMAKE_PREFIX_PATH", b':'),
    ("CMAKE_MODULE_PATH", b':'),
    ("ACLOCAL_PATH", b':'),
    ("PYTHONPATH", b':'),
    ("PERL5LIB", b':'),
    ("PERLLIB", b':'),
    ("RUBYLIB", b':'),
    ("GEM_PATH", b':'),
    ("NODE_PATH", b':'),
    ("CLASSPATH", b':'),
    ("JULIA_LOAD_PATH", b':'),
    ("R_LIBS", b':'),
    ("R_LIBS_USER", b':'),
    ("MANPATH", b':'),
    ("INFOPATH", b':'),
    ("XDG_DATA_DIRS", b':'),
    ("XDG_CONFIG_DIRS", b':'),
    ("MODULEPATH", b':'),
    ("GI_TYPELIB_PATH", b':'),
    ("GST_PLUGIN_PATH", b':'),
    ("QT_PLUGIN_PATH", b':'),
    ("TCLLIBPATH", b' '),
    ("OMPI_MCA_mca_base_env_list", b';'),
];

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
    pub fn separator(&self, name: &[u8]) -> Option<u8> {
        self.added
            .iter()
            .rev()
            .find(|(n, _)| n.as_slice() == name)
            .map(|&(_, sep)| sep)
            .or_else(|| BUILTIN_LISTS.iter().find(|(n, _)| n.as_bytes() == name).map(|&(_, sep)| sep))
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
    /// a comma). Example: `MY_PATH,TCL_PATH= ,JAVA_OPTS_LIST=;`.
    pub fn add_spec(&mut self, spec: &[u8]) -> Result<(), RegistrySpecError> {
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

    #[test]
    fn builtin_and_exact_names() {
        let registry = Registry::builtin();
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
    fn spec_parsing() {
        let mut registry = Registry::builtin();
        registry.add_spec(b"MY_PATH,SEMI=;,COMMA=,,PATH= ").unwrap();
        assert_eq!(registry.separator(b"MY_PATH"), Some(b':'));
        assert_eq!(registry.separator(b"SEMI"), Some(b';'));
        assert_eq!(registry.separator(b"COMMA"), Some(b','));
        assert_eq!(registry.separator(b"PATH"), Some(b' '));
        assert_eq!(Registry::builtin().add_spec(b"A,,B").unwrap_err().position, 2);
        assert_eq!(Registry::builtin().add_spec(b"A=").unwrap_err().position, 2);
        assert_eq!(Registry::builtin().add_spec(b"A=::").unwrap_err().position, 3);
    }
}
