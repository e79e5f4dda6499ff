//! Which glibc a file needs, and which one a machine has: for `doctor`, so
//! that an artifact a node's C library cannot load is found before a job is.
//!
//! A dynamically linked file names, for each symbol it takes from glibc, the
//! version that symbol first had (`GLIBC_2.17`); the loader refuses the file
//! when the C library lacks one of those versions, and a preloaded library
//! that the loader refuses makes every process fail to start. DT_RELR
//! relocations add `GLIBC_ABI_DT_RELR`, which glibc has from 2.36.

use std::fmt;
use std::path::Path;

use object::elf;
use object::read::elf::{Dyn, ElfFile64};
use object::Endianness;

/// A glibc version, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    /// `2.17` from "2.17", "2.17.1" or "glibc 2.17" (as `getconf GNU_LIBC_VERSION` says it).
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix("glibc ").unwrap_or(text);
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()?;
        Some(Version { major, minor })
    }

    /// This process's C library.
    pub fn here() -> Option<Version> {
        // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
        let text = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        Version::parse(&text.to_string_lossy())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The glibc version DT_RELR relocations need (`GLIBC_ABI_DT_RELR`).
const DT_RELR_SINCE: Version = Version { major: 2, minor: 36 };

/// The oldest glibc that can load the ELF file at `path`; None if it needs no
/// versioned glibc symbol.
pub fn needed_by(path: &Path) -> Result<Option<Version>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |e: object::read::Error| format!("{}: not an ELF file this can read ({e})", path.display());
    let file = ElfFile64::<Endianness>::parse(&*data).map_err(bad)?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let mut newest: Option<Version> = None;
    let mut note = |version: Version| newest = newest.max(Some(version));
    let Some((mut needs, link)) = sections.gnu_verneed(endian, &*data).map_err(bad)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, &*data, link).map_err(bad)?;
    while let Some((_, mut auxiliaries)) = needs.next().map_err(bad)? {
        while let Some(auxiliary) = auxiliaries.next().map_err(bad)? {
            let name = auxiliary.name(endian, strings).map_err(bad)?;
            match name {
                b"GLIBC_ABI_DT_RELR" => note(DT_RELR_SINCE),
                _ => {
                    if let Some(version) =
                        name.strip_prefix(b"GLIBC_").and_then(|v| Version::parse(&String::from_utf8_lossy(v)))
                    {
                        note(version);
                    }
                }
            }
        }
    }
    // A file with DT_RELR relocations but no GLIBC_ABI_DT_RELR (an older linker) still needs 2.36.
    if let Ok(Some((entries, _))) = sections.dynamic(endian, &*data) {
        if entries.iter().any(|entry| entry.d_tag(endian) == elf::DT_RELR) {
            note(DT_RELR_SINCE);
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_glibc_and_getconf_spell_them() {
        assert_eq!(Version::parse("2.17"), Some(Version { major: 2, minor: 17 }));
        assert_eq!(Version::parse("glibc 2.31\n"), Some(Version { major: 2, minor: 31 }));
        assert_eq!(Version::parse("2.3.2"), Some(Version { major: 2, minor: 3 }));
        assert_eq!(Version::parse("2.28-rc1"), None);
        assert_eq!(Version::parse("PRIVATE"), None);
        assert!(Version::parse("2.9").unwrap() < Version::parse("2.17").unwrap());
    }

    #[test]
    fn this_test_binary_needs_no_newer_glibc_than_it_runs_on() {
        let needed = needed_by(&std::env::current_exe().unwrap()).unwrap().unwrap();
        assert!(needed <= Version::here().unwrap(), "{needed}");
        assert!(needed >= Version { major: 2, minor: 2 });
    }
}
