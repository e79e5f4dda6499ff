//! The Python package's wheel, built once per test run and installed into virtual environments.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::launchers::success_within;
use crate::workspace;

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
