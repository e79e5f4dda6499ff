//! The option tables of the launchers envtrack rewrites ([`options`](super::options) reads
//! them), one text file per launcher family and version in `tables/`, built into the binary.

use std::sync::LazyLock;

use super::options::Table;
use crate::flavor::Flavor;

/// Which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Open MPI 4's `mpirun`/`mpiexec`/`orterun`.
    OpenMpi4,
    /// Open MPI 5's `mpirun`/`mpiexec` and PRRTE 3's `prterun`.
    OpenMpi5,
    /// MPICH's Hydra `mpiexec.hydra` (MPICH 4 and 5).
    HydraMpich,
    /// Intel MPI's Hydra `mpiexec.hydra` (and its `mpirun` script).
    HydraIntel,
    /// Slurm's `srun`.
    Srun,
    /// OpenSSH's `ssh`.
    Ssh,
    /// `pdsh`.
    Pdsh,
}

impl TableKind {
    /// Its name, as in the cache of launchers and in messages.
    pub fn name(self) -> &'static str {
        match self {
            TableKind::OpenMpi4 => "openmpi-4",
            TableKind::OpenMpi5 => "openmpi-5",
            TableKind::HydraMpich => "hydra-mpich",
            TableKind::HydraIntel => "hydra-intel",
            TableKind::Srun => "srun",
            TableKind::Ssh => "ssh",
            TableKind::Pdsh => "pdsh",
        }
    }

    /// The kind [`name`](Self::name) names.
    pub fn named(name: &str) -> Option<TableKind> {
        ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The flavor of the launchers this table is for.
    pub fn flavor(self) -> Flavor {
        match self {
            TableKind::OpenMpi4 | TableKind::OpenMpi5 => Flavor::OpenMpi,
            TableKind::HydraMpich | TableKind::HydraIntel => Flavor::Hydra,
            TableKind::Srun => Flavor::Slurm,
            TableKind::Ssh => Flavor::Ssh,
            TableKind::Pdsh => Flavor::Pdsh,
        }
    }
}

macro_rules! table {
    ($title:literal, $file:literal) => {{
        static TABLE: LazyLock<Table> = LazyLock::new(|| Table::parse($title, include_str!($file)));
        &TABLE
    }};
}

/// The table of `kind`.
pub fn table(kind: TableKind) -> &'static Table {
    match kind {
        TableKind::OpenMpi4 => table!("Open MPI 4 mpirun", "tables/openmpi-4.options"),
        TableKind::OpenMpi5 => table!("Open MPI 5 mpirun", "tables/openmpi-5.options"),
        TableKind::HydraMpich => table!("MPICH mpiexec.hydra", "tables/hydra-mpich.options"),
        TableKind::HydraIntel => table!("Intel MPI mpiexec.hydra", "tables/hydra-intel.options"),
        TableKind::Srun => table!("Slurm srun", "tables/srun.options"),
        TableKind::Ssh => table!("OpenSSH ssh", "tables/ssh.options"),
        TableKind::Pdsh => table!("pdsh", "tables/pdsh.options"),
    }
}

/// Every kind, for tests.
pub const ALL: [TableKind; 7] = [
    TableKind::OpenMpi4,
    TableKind::OpenMpi5,
    TableKind::HydraMpich,
    TableKind::HydraIntel,
    TableKind::Srun,
    TableKind::Ssh,
    TableKind::Pdsh,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_reads_and_names_each_option_once() {
        for kind in ALL {
            let table = table(kind);
            assert!(!table.specs.is_empty(), "{kind:?}");
            let mut names: Vec<&str> = table.specs.iter().flat_map(|s| s.names.iter().copied()).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{kind:?}: a name listed twice");
            assert_eq!(TableKind::named(kind.name()), Some(kind));
        }
    }
}
