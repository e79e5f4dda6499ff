//! Which launcher a program is: decided from the launcher itself, not only
//! from the name it was called by (`mpirun` is Open MPI's, MPICH's or a
//! vendor's wrapper script depending on the machine).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenMpi,
    Hydra,
    Slurm,
    Ssh,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::OpenMpi => "Open MPI",
            Flavor::Hydra => "MPICH Hydra",
            Flavor::Slurm => "Slurm srun",
            Flavor::Ssh => "ssh",
        }
    }
}

/// Names that mean a launcher (what launch mode is for).
pub fn is_launcher_name(name: &[u8]) -> bool {
    envtrack_model::vars::is_default_launcher(name) || matches!(name, b"ssh" | b"prterun" | b"mpiexec.mpich")
}

/// `program` found the way execvp would (through `path`, a PATH value).
pub fn resolve(program: &OsStr, path: Option<&[u8]>) -> Option<PathBuf> {
    let bytes = program.as_bytes();
    if bytes.contains(&b'/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    let path = path.unwrap_or(b"/usr/local/bin:/usr/bin:/bin");
    path.split(|&b| b == b':')
        .map(|dir| if dir.is_empty() { PathBuf::from(".") } else { PathBuf::from(OsStr::from_bytes(dir)) })
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|m| m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The flavor of the launcher at `path` (already resolved).
pub fn detect(path: &Path) -> Result<Flavor, UsageError> {
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let real_name = real.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    let by_name = |name: &[u8]| match name {
        b"orterun" | b"mpirun.openmpi" | b"mpiexec.openmpi" | b"prterun" => Some(Flavor::OpenMpi),
        b"mpiexec.hydra" | b"mpirun.mpich" | b"mpiexec.mpich" | b"hydra_pmi_proxy" => Some(Flavor::Hydra),
        b"srun" => Some(Flavor::Slurm),
        b"ssh" => Some(Flavor::Ssh),
        _ => None,
    };
    if let Some(flavor) = by_name(&real_name) {
        return Ok(flavor);
    }
    // A wrapper script or an unfamiliar name: look inside.
    let content = std::fs::read(&real).map_err(|e| UsageError::new(format!("{}: {e}", real.display())))?;
    let has = |needle: &[u8]| content.windows(needle.len()).any(|w| w == needle);
    let flavor = if has(b"mpiexec.hydra") || has(b"HYDRA") || has(b"hydra_pmi_proxy") {
        Some(Flavor::Hydra)
    } else if has(b"orterun") || has(b"Open MPI") || has(b"openmpi") || has(b"prterun") {
        Some(Flavor::OpenMpi)
    } else if has(b"slurm") {
        Some(Flavor::Slurm)
    } else {
        None
    };
    flavor.ok_or_else(|| {
        UsageError::new(format!(
            "cannot tell which launcher {} is (not Open MPI, MPICH Hydra, Slurm or ssh); run it with `envtrack-inject export` and `apply` instead",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_recognised_by_what_they_run() {
        let dir = std::env::temp_dir().join(format!("envtrack-flavor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("mpirun");
        std::fs::write(&script, "#!/bin/sh\nexec mpiexec.hydra \"$@\"\n").unwrap();
        assert_eq!(detect(&script).unwrap(), Flavor::Hydra);
        std::fs::write(&script, "#!/bin/sh\nexec /usr/bin/orterun \"$@\"\n").unwrap();
        assert_eq!(detect(&script).unwrap(), Flavor::OpenMpi);
        std::fs::write(&script, "#!/bin/sh\necho hello\n").unwrap();
        assert!(detect(&script).unwrap_err().message.contains("cannot tell which launcher"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
