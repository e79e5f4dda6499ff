//! envtrack-inject's parts, as a library: the binary (`main.rs`) wires them to
//! the command line, and the fuzz targets (`fuzz/`) drive the launchers'
//! command-line rewriting directly.

pub mod apply;
pub mod bounded;
pub mod cli;
pub mod directive_flags;
pub mod doctor;
pub mod error;
pub mod flavor;
pub mod glibc;
pub mod input;
pub mod inspect;
pub mod launch;
pub mod launch_mode;
pub mod library;
pub mod log;
pub mod redact;
pub mod run;
pub mod since;
pub mod slurm_plugin;
pub mod state;
pub mod transport;
