//! The environment variables envtrack itself reads and writes, and the
//! launchers it knows. Both the preload and the injector use these names.

/// `off` (or `0`) turns envtrack off for a process and its subtree.
pub const ENVTRACK: &str = "ENVTRACK";
/// The encoded [`Snapshot`](crate::Snapshot) a process inherits (see [`codec`](crate::codec));
/// a state too long for one environment string is split over `ENVTRACK_STATE_1`,
/// `ENVTRACK_STATE_2`, … (see [`state_env`](crate::state_env)).
pub const STATE: &str = "ENVTRACK_STATE";
/// A directive file (JSON) whose job-level directives apply at every exec.
pub const CONFIG: &str = "ENVTRACK_CONFIG";
/// More list variables: `NAME[=SEP],…` (see [`Registry::add_spec`](crate::Registry::add_spec)).
pub const LISTS: &str = "ENVTRACK_LISTS";
/// `0` turns launcher routing off; otherwise a comma-separated list of program
/// names to route through the injector instead of [`DEFAULT_LAUNCHERS`].
pub const AUTOWRAP: &str = "ENVTRACK_AUTOWRAP";
/// The path of `envtrack-inject`, when it is not next to the library.
pub const INJECT: &str = "ENVTRACK_INJECT";
/// Set by `envtrack-inject` on a routed launch it could not carry (which runs
/// as asked): its pid, so that a wrapper's launcher under it (the same
/// process after exec, or its child) is not reported twice.
pub const UNCARRIED: &str = "ENVTRACK_UNCARRIED";
/// A directory for per-process JSON-lines logs.
pub const LOG: &str = "ENVTRACK_LOG";
/// Set by the Python package's `envtrack.activate()` for its one re-execution
/// of the interpreter under the library, and removed by it at once (so it is
/// never tracked: removing it must not be a change that travels).
pub const REEXEC: &str = "ENVTRACK_REEXEC";

/// Whether an `LD_PRELOAD` element is envtrack's library (`…/libenvtrack.so`):
/// the library puts itself there for tracking, so it is never a tracked change.
#[inline]
pub fn is_envtrack_library(element: &[u8]) -> bool {
    element.rsplit(|&b| b == b'/').next() == Some(b"libenvtrack.so")
}

/// The kernel refuses any one argument or environment string this long or
/// longer (MAX_ARG_STRLEN, 32 pages, counting its NUL).
pub const MAX_STRING: usize = 32 * 4096;
/// Whether the kernel would refuse the entry `name=value` for its length.
pub fn is_oversized(name: &[u8], value: &[u8]) -> bool {
    name.len() + 1 + value.len() >= MAX_STRING
}

/// Launchers a tracked program's exec is routed through the injector for, by
/// default (space-separated). `ssh` is not among them: `git`, `rsync` and
/// `scp` run it to hosts that may not have envtrack.
pub const DEFAULT_LAUNCHERS: &str =
    "mpirun mpiexec orterun prterun mpirun.openmpi mpiexec.openmpi mpiexec.hydra mpiexec.mpich mpirun.mpich srun";

/// Whether `program` (a file name) is one of [`DEFAULT_LAUNCHERS`].
pub fn is_default_launcher(program: &[u8]) -> bool {
    DEFAULT_LAUNCHERS.as_bytes().split(|&b| b == b' ').any(|l| l == program)
}

/// Whether `value` of [`ENVTRACK`] turns envtrack off.
pub fn is_off(value: &[u8]) -> bool {
    matches!(value, b"off" | b"0" | b"no" | b"false")
}

/// Variables a shell or a launcher manages for each process (space-separated;
/// a trailing `*` makes a prefix). They pass through as they are but are never
/// tracked: a remote rank must not get the launching shell's `PWD`, or its
/// parent's rank number.
pub const UNTRACKED: &str =
    "_ PWD OLDPWD SHLVL ENVTRACK_STATE ENVTRACK_STATE_* ENVTRACK_UNCARRIED ENVTRACK_REEXEC OMPI_COMM_WORLD_* OMPI_UNIVERSE_* \
                             OMPI_FILE_LOCATION* PMIX_* PMI_* SLURM_* SLURMD_* HYDI_* HYDRA_*";

/// Whether `name` is never tracked (see [`UNTRACKED`]).
#[inline(always)]
pub fn is_untracked(name: &[u8]) -> bool {
    // The first bytes of the patterns: a name starting otherwise is tracked without reading
    // the list (this runs for every variable of every child environment).
    matches!(name.first(), Some(b'_' | b'P' | b'O' | b'S' | b'E' | b'H')) && matches_untracked(name)
}

fn matches_untracked(name: &[u8]) -> bool {
    UNTRACKED.as_bytes().split(|&b| b == b' ').filter(|p| !p.is_empty()).any(|pattern| match pattern {
        [prefix @ .., b'*'] => name.starts_with(prefix),
        exact => exact == name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untracked_names_and_prefixes() {
        for name in [
            "_",
            "PWD",
            "SHLVL",
            "ENVTRACK_STATE",
            "ENVTRACK_STATE_2",
            "SLURM_PROCID",
            "PMIX_RANK",
            "OMPI_COMM_WORLD_RANK",
        ] {
            assert!(is_untracked(name.as_bytes()), "{name}");
        }
        for name in ["PATH", "PWDX", "OMPI_MCA_btl", "SLURM", "MY_SLURM_X"] {
            assert!(!is_untracked(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn the_first_byte_filter_covers_every_pattern() {
        for pattern in UNTRACKED.split(' ').filter(|p| !p.is_empty()) {
            let name = pattern.trim_end_matches('*');
            assert!(is_untracked(name.as_bytes()), "{pattern}");
        }
    }

    #[test]
    fn launchers() {
        assert!(is_default_launcher(b"mpirun"));
        assert!(is_default_launcher(b"srun"));
        assert!(!is_default_launcher(b"ssh"));
        assert!(!is_default_launcher(b"mpi"));
    }
}
