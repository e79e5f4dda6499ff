//! Helpers for the end-to-end tests: where the built artifacts are, compiling
//! the C test programs, and running programs with an exact environment.

pub mod launchers;
pub mod oldglibc;
pub mod python_package;
pub mod ranks;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use envtrack_model::codec::{Reader, Record};
use envtrack_model::Change;

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

/// `target/release/libenvtrack_spank.so`, the Slurm plugin.
pub fn spank_plugin() -> PathBuf {
    artifact("libenvtrack_spank.so")
}

/// A scratch directory for one test, emptied first.
pub fn scratch(test: &str) -> PathBuf {
    let dir = workspace().join("target/e2e").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

static COMPILING: Mutex<()> = Mutex::new(());

/// Compiles `tests/programs/NAME.c` (once per run) and returns the program.
/// `shared` builds a shared library instead.
pub fn c_program(name: &str, shared: bool) -> PathBuf {
    let file = if shared { format!("lib{name}.so") } else { name.to_string() };
    compile(name, shared, &[], &file)
}

/// Compiles `tests/programs/NAME.c` into the shared library `lib{NAME}-{VARIANT}.so` with
/// extra compiler and linker `flags` (e.g. `-Wl,--hash-style=sysv`).
pub fn c_library_variant(name: &str, variant: &str, flags: &[&str]) -> PathBuf {
    compile(name, true, flags, &format!("lib{name}-{variant}.so"))
}

/// Compiles `tests/programs/NAME.c` into the program `{NAME}-{VARIANT}` with extra compiler and
/// linker `flags` (e.g. `-static`).
pub fn c_program_variant(name: &str, variant: &str, flags: &[&str]) -> PathBuf {
    compile(name, false, flags, &format!("{name}-{variant}"))
}

fn compile(name: &str, shared: bool, flags: &[&str], file: &str) -> PathBuf {
    let _guard = COMPILING.lock().unwrap_or_else(|e| e.into_inner());
    let source = workspace().join("tests/programs").join(format!("{name}.c"));
    let dir = workspace().join("target/e2e/bin");
    std::fs::create_dir_all(&dir).expect("create target/e2e/bin");
    let output = dir.join(file);
    let fresh = |o: &Path| {
        let built = std::fs::metadata(o).and_then(|m| m.modified());
        let changed = std::fs::metadata(&source).and_then(|m| m.modified());
        matches!((built, changed), (Ok(b), Ok(c)) if b >= c)
    };
    if !fresh(&output) {
        let mut cc = Command::new("cc");
        cc.args(["-O1", "-g", "-Wall", "-o"]).arg(&output).arg(&source).arg("-lpthread").arg("-ldl");
        if shared {
            cc.args(["-shared", "-fPIC"]);
        }
        cc.args(flags);
        let out = cc.output().expect("run cc");
        assert!(out.status.success(), "cc {}: {}", source.display(), String::from_utf8_lossy(&out.stderr));
    }
    output
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

/// A clean environment with the library preloaded, plus `extra` entries.
pub fn tracked_env(extra: &[&str]) -> Vec<Vec<u8>> {
    let mut env = vec![b"PATH=/usr/local/bin:/usr/bin:/bin".to_vec(), b"HOME=/root".to_vec()];
    let mut preload = b"LD_PRELOAD=".to_vec();
    preload.extend_from_slice(library().as_os_str().as_bytes());
    env.push(preload);
    env.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
    env
}

/// Runs and returns the output, failing the test if it cannot start.
pub fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()))
}

/// Runs, asserting success, and returns the output.
pub fn success(command: &mut Command) -> Output {
    let out = output(command);
    // The program and its arguments, not the environment (which may be megabytes).
    let args: Vec<_> = command.get_args().collect();
    let cut = |bytes: &[u8]| String::from_utf8_lossy(&bytes[..bytes.len().min(20_000)]).into_owned();
    assert!(
        out.status.success(),
        "{:?} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        command.get_program(),
        out.status,
        cut(&out.stdout),
        cut(&out.stderr)
    );
    out
}

/// The `NAME=VALUE` entries of `env -0` output.
pub fn env0_entries(stdout: &[u8]) -> Vec<Vec<u8>> {
    stdout.split(|&b| b == 0).filter(|e| !e.is_empty()).map(<[u8]>::to_vec).collect()
}

/// The value of `name` among `env -0` entries (first occurrence).
pub fn env0_get<'a>(entries: &'a [Vec<u8>], name: &str) -> Option<&'a [u8]> {
    entries.iter().find_map(|e| envtrack_model::apply::entry_value(e, name.as_bytes()))
}

/// How many entries `name` has.
pub fn env0_count(entries: &[Vec<u8>], name: &str) -> usize {
    entries.iter().filter(|e| envtrack_model::apply::entry_value(e, name.as_bytes()).is_some()).count()
}

/// The tracked changes in an `ENVTRACK_STATE` value, by name (inline states only).
pub fn tracked_changes(state: &[u8]) -> Vec<(String, Change)> {
    Reader::new(state)
        .expect("an ET1 state")
        .filter_map(|record| match record.expect("a well-formed state") {
            Record::Tracked { name, change } => Some((String::from_utf8_lossy(name).into_owned(), change)),
            _ => None,
        })
        .collect()
}

/// The change the state records for `name`.
pub fn change_in(entries: &[Vec<u8>], name: &str) -> Option<Change> {
    let state = env0_get(entries, "ENVTRACK_STATE").expect("the child has ENVTRACK_STATE");
    tracked_changes(state).into_iter().find(|(n, _)| n == name).map(|(_, c)| c)
}

/// Lines of stderr that come from envtrack.
pub fn envtrack_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr).lines().filter(|l| l.starts_with("envtrack:")).map(str::to_string).collect()
}

/// The `REPORT {json}` lines that tests/programs/rank_report.py prints.
pub fn reports(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("REPORT "))
        .map(|l| serde_json::from_str(l).expect("a JSON report"))
        .collect()
}

/// `text` in single quotes for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
