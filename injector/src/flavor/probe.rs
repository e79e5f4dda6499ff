//! Asking a launcher what it is: `LAUNCHER --version` (`-V` for ssh and
//! pdsh), without envtrack, with no input, for at most [`PATIENCE`].

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use envtrack_model::vars;

use super::{identify, Launcher};
use crate::run::strip_preload;
use crate::state::{current_environment, remove_state};

/// How long a launcher may take to say its version (Open MPI 5's `mpirun`
/// runs two programs to answer; a site wrapper may load modules first).
const PATIENCE: Duration = Duration::from_secs(10);
/// The most output read from it.
const MOST: u64 = 64 * 1024;

/// What the launcher at `path` (called `name`) says it is, if it says.
pub fn ask(path: &Path, name: &[u8]) -> Option<Launcher> {
    let argument = if matches!(name, b"ssh" | b"pdsh") { "-V" } else { "--version" };
    let output = run(path, argument)?;
    identify(&output)
}

/// LAUNCHER ARGUMENT's standard output and error, run without envtrack.
pub fn run(path: &Path, argument: &str) -> Option<String> {
    let mut env = current_environment();
    strip_preload(&mut env);
    remove_state(&mut env);
    // If this process runs under the library, its spawn hook honours this
    // and adds nothing to the launcher's environment.
    env.set(vars::ENVTRACK.as_bytes(), b"off");
    let mut command = Command::new(path);
    command.arg(argument).env_clear().envs(env.entries.iter().filter_map(|e| {
        let at = e.iter().position(|&b| b == b'=')?;
        Some((bytes_os(&e[..at]), bytes_os(&e[at + 1..])))
    }));
    let ran = crate::bounded::run(command, PATIENCE, MOST)?;
    Some(String::from_utf8_lossy(&ran.output).into_owned())
}

fn bytes_os(bytes: &[u8]) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(bytes)
}
