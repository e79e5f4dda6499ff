//! Slurm loads a SPANK plugin only when its `plugin_version` names Slurm's own
//! major and minor release. The version is read from the Slurm headers
//! (`slurm/slurm_version.h`, Debian's libslurm-dev) or given as
//! `ENVTRACK_SLURM_VERSION=MAJOR.MINOR` (a site building for another release).

use std::path::PathBuf;

/// The release the plugin is built for when neither says (the suite's Slurm).
const FALLBACK: (u32, u32) = (22, 5);

fn from_header() -> Option<(u32, u32, PathBuf)> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("SLURM_INCLUDE_DIR").map(PathBuf::from).into_iter().collect();
    dirs.extend(["/usr/include", "/usr/local/include"].map(PathBuf::from));
    dirs.into_iter().find_map(|dir| {
        let header = dir.join("slurm/slurm_version.h");
        let text = std::fs::read_to_string(&header).ok()?;
        let number = text.lines().find_map(|line| line.strip_prefix("#define SLURM_VERSION_NUMBER"))?.trim();
        let number = u32::from_str_radix(number.trim_start_matches("0x"), 16).ok()?;
        Some(((number >> 16) & 0xff, (number >> 8) & 0xff, header))
    })
}

fn from_variable(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn main() {
    println!("cargo:rerun-if-env-changed=ENVTRACK_SLURM_VERSION");
    println!("cargo:rerun-if-env-changed=SLURM_INCLUDE_DIR");
    let (major, minor) = match std::env::var("ENVTRACK_SLURM_VERSION") {
        Ok(text) => from_variable(&text)
            .unwrap_or_else(|| panic!("ENVTRACK_SLURM_VERSION={text}: expected MAJOR.MINOR, e.g. 23.11")),
        Err(_) => match from_header() {
            Some((major, minor, header)) => {
                println!("cargo:rerun-if-changed={}", header.display());
                (major, minor)
            }
            None => {
                println!(
                    "cargo:warning=no slurm/slurm_version.h (libslurm-dev): libenvtrack_spank.so is built for Slurm {}.{:02}; set ENVTRACK_SLURM_VERSION=MAJOR.MINOR for another release",
                    FALLBACK.0, FALLBACK.1
                );
                FALLBACK
            }
        },
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = format!(
        "/// The Slurm release (major and minor) the plugin is built for, as `SLURM_VERSION_NUMBER`.\n\
         pub const SLURM_VERSION_NUMBER: u32 = {:#x};\n\
         /// The same, as text.\n\
         pub const SLURM_RELEASE: &str = \"{major}.{minor:02}\";\n",
        (major << 16) | (minor << 8)
    );
    std::fs::write(out.join("slurm_version.rs"), source).expect("write slurm_version.rs");
}
