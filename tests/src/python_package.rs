//! The Python package's wheel, built once per test run and installed into virtual environments.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value;

use crate::launchers::success_within;
use crate::{scratch, workspace};

/// How long one Python program of these tests may take.
pub const LIMIT: Duration = Duration::from_secs(120);

/// One fresh venv with the wheel and nothing else, shared by the tests of one test file, `file`
/// (which names its directory, `target/e2e/FILE-venv`).
pub fn plain_venv(file: &str) -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| fresh_venv(&scratch(&format!("{file}-venv")).join("venv")))
}

/// `PROGRAM` with exactly `PATH` (the venv's bin first, then /usr/bin:/bin) and `HOME`, as a
/// new login's.
pub fn clean(venv: &Path, program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut command = Command::new(program);
    command.env_clear().env("PATH", format!("{}:/usr/bin:/bin", venv.join("bin").display())).env("HOME", home);
    command
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON objects a program printed, one per line.
pub fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// `dist/envtrack-VERSION-py3-none-manylinux_2_17_x86_64.whl`, made by `scripts/wheel.sh` (the
/// portable build) the first time a test asks for it in this run.
pub fn wheel() -> PathBuf {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL
        .get_or_init(|| {
            let mut build = Command::new(workspace().join("scripts/wheel.sh"));
            let out = success_within(&mut build, Duration::from_secs(900));
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        })
        .clone()
}

/// Installs [`wheel`] into the virtual environment `venv` (over any envtrack already there, without
/// touching its other packages); once per environment and run.
pub fn install_wheel(venv: &Path) {
    static INSTALLED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
    if installed.iter().any(|done| done == venv) {
        return;
    }
    let mut pip = Command::new(venv.join("bin/python"));
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps"]);
    pip.arg("--force-reinstall").arg(wheel());
    success_within(&mut pip, Duration::from_secs(300));
    installed.push(venv.to_path_buf());
}

/// A new virtual environment at `dir` (Debian's python3) with [`wheel`] installed and nothing else.
pub fn fresh_venv(dir: &Path) -> PathBuf {
    let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    success_within(Command::new(python).args(["-m", "venv"]).arg(dir), Duration::from_secs(300));
    install_wheel(dir);
    dir.to_path_buf()
}

/// A script that prints its pid, argv and whether it is tracked, around `envtrack.activate()`.
pub const ACTIVATED: &str = r#"import os, sys
print("start", os.getpid(), repr(sys.argv), flush=True)
import envtrack
active = envtrack.activate()
os.environ["AFTER"] = "1"
import subprocess
seen = subprocess.run(["sh", "-c", 'printf %s "${AFTER}-${ENVTRACK_REEXEC-none}"'], stdout=subprocess.PIPE).stdout.decode()
print("active", active, seen, sorted(envtrack.environ.tracked()) if active else "-", flush=True)
"#;

/// The `start` lines [`ACTIVATED`] printed: one per run of the script.
pub fn starts(out: &Output) -> Vec<String> {
    text(&out.stdout).lines().filter(|l| l.starts_with("start ")).map(str::to_string).collect()
}
