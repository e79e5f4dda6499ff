//! Which launcher a program is. Asked of the launcher itself first
//! (`--version`, `-V`: a site's `mpirun` wrapper passes the question on to
//! the launcher it runs), remembered per path, size and modification time;
//! guessed from names and script text only when the launcher does not say.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::launch::tables::TableKind;

mod cache;
mod probe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenMpi,
    Hydra,
    Slurm,
    Ssh,
    Pdsh,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::OpenMpi => "Open MPI",
            Flavor::Hydra => "MPICH Hydra",
            Flavor::Slurm => "Slurm srun",
            Flavor::Ssh => "ssh",
            Flavor::Pdsh => "pdsh",
        }
    }

    /// Whether the snapshot travels through ssh's `SendEnv` (`LC_*` names).
    pub fn sends_through_ssh(self) -> bool {
        matches!(self, Flavor::Ssh | Flavor::Pdsh)
    }
}

/// A launcher as identified: its flavor, which option table reads its
/// command line, and what it said it is (`Open MPI 5.0.11`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    pub flavor: Flavor,
    pub table: TableKind,
    /// What the launcher is, with its version when it told it.
    pub identity: String,
    /// pdsh: the remote-command module it uses when none is asked for.
    pub default_rcmd: Option<String>,
}

impl Launcher {
    fn new(table: TableKind, identity: impl Into<String>) -> Launcher {
        Launcher { flavor: table.flavor(), table, identity: identity.into(), default_rcmd: None }
    }
}

/// Names that mean a launcher (what launch mode is for).
pub fn is_launcher_name(name: &[u8]) -> bool {
    envtrack_model::vars::is_default_launcher(name) || matches!(name, b"ssh" | b"pdsh")
}

/// The files an execvp of the file name `name` tries, in order (through `path`, a PATH value).
pub fn in_path<'p>(name: &'p OsStr, path: Option<&'p [u8]>) -> impl Iterator<Item = PathBuf> + 'p {
    path.unwrap_or(b"/usr/local/bin:/usr/bin:/bin").split(|&b| b == b':').map(move |dir| {
        let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
        dir.join(name)
    })
}

/// `program` found the way execvp would (through `path`, a PATH value).
pub fn resolve(program: &OsStr, path: Option<&[u8]>) -> Option<PathBuf> {
    let executable = |candidate: &PathBuf| {
        std::fs::metadata(candidate)
            .map(|m| m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.as_bytes().contains(&b'/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    in_path(program, path).find(executable)
}

/// The launcher at `path` (already resolved): remembered, else asked, else guessed.
pub fn detect(path: &Path) -> Result<Launcher, UsageError> {
    // A script's answer is that of the launcher it runs, which may change with the
    // environment (`exec "$MPI_HOME/bin/mpirun"`, a module swap): it is asked every time.
    // Only its silence is remembered.
    let script = is_script(path);
    let said = match cache::lookup(path) {
        Some(remembered) if !(script && remembered.is_some()) => remembered,
        _ => {
            let name = path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
            let said = probe::ask(path, name);
            // A launcher that said nothing recognisable is remembered too: it is not asked
            // (and waited for) again until it changes.
            if !(script && said.is_some()) {
                cache::remember(path, said.as_ref());
            }
            said
        }
    };
    match said {
        Some(launcher) => Ok(launcher),
        None => guess(path, script),
    }
}

/// What the launcher at `path` prints for `--help` (without envtrack, for at
/// most the probe's patience), if it ran.
pub fn help_text(path: &Path) -> Option<String> {
    probe::run(path, "--help")
}

/// Whether the file at `path` is a script (`#!`).
fn is_script(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; 2];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut start)).is_ok() && start == *b"#!"
}

/// What a launcher's `--version` (or `-V`) output says it is.
pub fn identify(output: &str) -> Option<Launcher> {
    let version_after = |marker: &str| -> String {
        output
            .find(marker)
            .map(|at| &output[at + marker.len()..])
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("")
            .trim_end_matches(',')
            .to_string()
    };
    let with_version = |what: &str, version: String| {
        if version.is_empty() {
            what.to_string()
        } else {
            format!("{what} {version}")
        }
    };
    if output.contains("Intel(R) MPI") {
        let version = version_after("Version ");
        return Some(Launcher::new(TableKind::HydraIntel, with_version("Intel MPI", version)));
    }
    if output.contains("(Open MPI)") || output.contains("(OpenRTE)") {
        // OpenRTE: Open MPI 4's runtime, as `orterun` and `mpiexec` call themselves.
        let version =
            if output.contains("(Open MPI)") { version_after("(Open MPI) ") } else { version_after("(OpenRTE) ") };
        let table = if version.split('.').next().and_then(|m| m.parse::<u32>().ok()).unwrap_or(0) >= 5 {
            TableKind::OpenMpi5
        } else {
            TableKind::OpenMpi4
        };
        return Some(Launcher::new(table, with_version("Open MPI", version)));
    }
    if output.contains("(PRRTE)") {
        let version = version_after("(PRRTE) ");
        return Some(Launcher::new(TableKind::OpenMpi5, with_version("PRRTE", version)));
    }
    if output.contains("HYDRA build details") {
        let version = version_after("Version:");
        return Some(Launcher::new(TableKind::HydraMpich, with_version("MPICH Hydra", version)));
    }
    if let Some(at) = output.find("OpenSSH_") {
        let version = output[at + "OpenSSH_".len()..].split([' ', ',']).next().unwrap_or("").to_string();
        return Some(Launcher::new(TableKind::Ssh, with_version("OpenSSH", version)));
    }
    if let Some(version) = output.strip_prefix("pdsh-") {
        let version = version.split_whitespace().next().unwrap_or("").to_string();
        let mut launcher = Launcher::new(TableKind::Pdsh, with_version("pdsh", version));
        launcher.default_rcmd = version_after("(default: ").strip_suffix(')').map(str::to_string);
        return Some(launcher);
    }
    // Debian's and SchedMD's srun: `slurm-wlm 22.05.8`, `slurm 23.11.4`.
    if let Some(version) = output.strip_prefix("slurm-wlm ").or_else(|| output.strip_prefix("slurm ")) {
        let version = version.split_whitespace().next().unwrap_or("").to_string();
        return Some(Launcher::new(TableKind::Srun, with_version("Slurm", version)));
    }
    None
}

/// From names and script text, for a launcher that would not say what it is.
fn guess(path: &Path, script: bool) -> Result<Launcher, UsageError> {
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let real_name = real.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    let by_name = |name: &[u8]| match name {
        b"orterun" | b"mpirun.openmpi" | b"mpiexec.openmpi" => {
            Some(Launcher::new(TableKind::OpenMpi4, "Open MPI (by its name)"))
        }
        b"prterun" => Some(Launcher::new(TableKind::OpenMpi5, "PRRTE (by its name)")),
        b"mpiexec.hydra" | b"mpirun.mpich" | b"mpiexec.mpich" => {
            Some(Launcher::new(TableKind::HydraMpich, "MPICH Hydra (by its name)"))
        }
        b"srun" => Some(Launcher::new(TableKind::Srun, "Slurm (by its name)")),
        b"ssh" => Some(Launcher::new(TableKind::Ssh, "ssh (by its name)")),
        b"pdsh" => Some(Launcher::new(TableKind::Pdsh, "pdsh (by its name)")),
        _ => None,
    };
    if let Some(launcher) = by_name(&real_name) {
        return Ok(launcher);
    }
    // A wrapper script or an unfamiliar name: look inside (a script only: a
    // binary names every launcher it knows of in its strings).
    let content = if script {
        std::fs::read(&real).map_err(|e| UsageError::new(format!("{}: {e}", real.display())))?
    } else {
        Vec::new()
    };
    let has = |needle: &[u8]| content.windows(needle.len()).any(|w| w == needle);
    let launcher = if !script {
        None
    } else if has(b"mpiexec.hydra") || has(b"hydra_pmi_proxy") {
        Some(Launcher::new(TableKind::HydraMpich, "MPICH Hydra (by the script's text)"))
    } else if has(b"orterun") || has(b"mpirun.openmpi") {
        Some(Launcher::new(TableKind::OpenMpi4, "Open MPI (by the script's text)"))
    } else if has(b"prterun") {
        Some(Launcher::new(TableKind::OpenMpi5, "PRRTE (by the script's text)"))
    } else if has(b"srun") {
        Some(Launcher::new(TableKind::Srun, "Slurm (by the script's text)"))
    } else {
        None
    };
    launcher.ok_or_else(|| {
        UsageError::new(format!(
            "cannot tell which launcher {} is: `--version` named none of Open MPI, PRRTE, MPICH Hydra, Intel MPI, Slurm, OpenSSH or pdsh",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_outputs_name_the_launcher_and_its_table() {
        let cases = [
            (
                "mpirun (Open MPI) 4.1.4\n\nReport bugs to http://www.open-mpi.org/community/help/\n",
                TableKind::OpenMpi4,
                "Open MPI 4.1.4",
            ),
            ("mpirun (Open MPI) 5.0.11\n", TableKind::OpenMpi5, "Open MPI 5.0.11"),
            ("orterun (OpenRTE) 4.1.4\n", TableKind::OpenMpi4, "Open MPI 4.1.4"),
            (
                "prterun (PRRTE) 3.0.14\n\nReport bugs to: https://github.com/openpmix/prrte\n",
                TableKind::OpenMpi5,
                "PRRTE 3.0.14",
            ),
            (
                "HYDRA build details:\n    Version:                                 4.0.2\n",
                TableKind::HydraMpich,
                "MPICH Hydra 4.0.2",
            ),
            (
                "Intel(R) MPI Library for Linux* OS, Version 2021.18 Build 20250101 (id: 1)\n",
                TableKind::HydraIntel,
                "Intel MPI 2021.18",
            ),
            ("slurm 22.05.8\n", TableKind::Srun, "Slurm 22.05.8"),
            ("slurm-wlm 22.05.8\n", TableKind::Srun, "Slurm 22.05.8"),
            ("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026\n", TableKind::Ssh, "OpenSSH 9.2p1"),
            ("pdsh-2.34 (+readline+debug)\nrcmd modules: ssh,rsh,exec (default: rsh)\n", TableKind::Pdsh, "pdsh 2.34"),
        ];
        for (output, table, identity) in cases {
            let launcher = identify(output).unwrap_or_else(|| panic!("{output}"));
            assert_eq!((launcher.table, launcher.identity.as_str()), (table, identity), "{output}");
        }
        assert_eq!(identify(cases[9].0).unwrap().default_rcmd.as_deref(), Some("rsh"));
        assert_eq!(identify("usage: frobnicate [-v]\n"), None);
    }

    #[test]
    fn scripts_are_recognised_by_what_they_run() {
        let dir = std::env::temp_dir().join(format!("envtrack-flavor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("mpirun");
        std::fs::write(&script, "#!/bin/sh\nexec mpiexec.hydra \"$@\"\n").unwrap();
        assert_eq!(guess(&script, true).unwrap().flavor, Flavor::Hydra);
        std::fs::write(&script, "#!/bin/sh\nexec /usr/bin/orterun \"$@\"\n").unwrap();
        assert_eq!(guess(&script, true).unwrap().flavor, Flavor::OpenMpi);
        std::fs::write(&script, "#!/bin/sh\necho hello\n").unwrap();
        assert!(guess(&script, true).unwrap_err().message.contains("cannot tell which launcher"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
