//! Helpers for the end-to-end tests: where the built artifacts are, and
//! running programs with an exact environment.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A release artifact, built by `scripts/test.sh` (or `cargo build --release`).
fn artifact(name: &str) -> PathBuf {
    let path = workspace().join("target/release").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --release` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// `target/release/libenvtrack.so`.
pub fn library() -> PathBuf {
    artifact("libenvtrack.so")
}

/// `target/release/envtrack-inject`.
pub fn injector() -> PathBuf {
    artifact("envtrack-inject")
}

/// A command with exactly the environment `entries` (`NAME=VALUE` bytes).
pub fn command_with_env<I, E>(program: impl AsRef<OsStr>, entries: I) -> Command
where
    I: IntoIterator<Item = E>,
    E: AsRef<[u8]>,
{
    let mut command = Command::new(program);
    command.env_clear();
    for entry in entries {
        let entry = entry.as_ref();
        let at = entry.iter().position(|&b| b == b'=').expect("NAME=VALUE");
        command.env(OsStr::from_bytes(&entry[..at]), OsStr::from_bytes(&entry[at + 1..]));
    }
    command
}

/// Runs and returns the output, failing the test with stderr if it cannot start.
pub fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// The `NAME=VALUE` lines of `env -0` output.
pub fn env0_entries(stdout: &[u8]) -> Vec<Vec<u8>> {
    stdout.split(|&b| b == 0).filter(|e| !e.is_empty()).map(<[u8]>::to_vec).collect()
}

/// The value of `name` among `env -0` output entries (first occurrence).
pub fn env0_get<'a>(entries: &'a [Vec<u8>], name: &str) -> Option<&'a [u8]> {
    entries.iter().find_map(|e| envtrack_model::apply::entry_value(e, name.as_bytes()))
}
