//! Asking a launcher what it is: `LAUNCHER --version` (`-V` for ssh and
//! pdsh), without envtrack, with no input, for at most [`PATIENCE`].

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

fn run(path: &Path, argument: &str) -> Option<String> {
    let mut env = current_environment();
    strip_preload(&mut env);
    remove_state(&mut env);
    // If this process runs under the library, its spawn hook honours this
    // and adds nothing to the launcher's environment.
    env.set(vars::ENVTRACK.as_bytes(), b"off");
    let (reader, writer) = std::io::pipe().ok()?;
    let mut command = Command::new(path);
    command
        .arg(argument)
        .env_clear()
        .envs(env.entries.iter().filter_map(|e| {
            let at = e.iter().position(|&b| b == b'=')?;
            Some((bytes_os(&e[..at]), bytes_os(&e[at + 1..])))
        }))
        .stdin(Stdio::null())
        .stdout(writer.try_clone().ok()?)
        .stderr(writer)
        // Its own process group: what it leaves behind on a timeout is ended with it.
        .process_group(0);
    let mut child = command.spawn().ok()?;
    drop(command); // closes this side's copies of the pipe's write end
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = reader.take(MOST);
        let mut chunk = [0u8; 4096];
        while let Ok(read @ 1..) = reader.read(&mut chunk) {
            if sender.send(chunk[..read].to_vec()).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + PATIENCE;
    let mut text = Vec::new();
    let mut exited = None;
    let mut all_read = false;
    loop {
        if all_read {
            std::thread::sleep(Duration::from_millis(5));
        } else {
            match receiver.recv_timeout(Duration::from_millis(5)) {
                Ok(chunk) => text.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) => all_read = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        let now = Instant::now();
        if exited.is_none() && matches!(child.try_wait(), Ok(Some(_))) {
            exited = Some(now);
        }
        // Exited, and all read, or a daemon it left behind holds the pipe: what it said is enough.
        let done = exited.is_some_and(|at| all_read || now.duration_since(at) > Duration::from_millis(200));
        if done || now >= deadline {
            break;
        }
    }
    if exited.is_none() && child.try_wait().ok().flatten().is_none() {
        // Only the processes this function started: the probe's own process group. What it
        // said before the deadline still counts (a launcher that prints its version and
        // goes on running).
        // SAFETY: kill has no memory preconditions; the group is the child's own.
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    }
    let _ = child.wait();
    Some(String::from_utf8_lossy(&text).into_owned())
}

fn bytes_os(bytes: &[u8]) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(bytes)
}
