//! Real launchers on one machine, with "remote" nodes whose environment is clean, for end-to-end
//! tests that must see exactly what reaches a remote rank or worker (recipes found to work on
//! Debian 12).
//!
//! - [`fake_ssh_agent`]: an ssh stand-in for Open MPI ([`openmpi_args`]) and Hydra ([`hydra_args`])
//!   that runs the remote command under `env -i`, as a fresh sshd session would, and records every
//!   command line it is given ([`agent_commands`]).
//! - [`Slurm`]: munged, slurmctld and slurmd started by hand on private ports, for `srun`.
//! - [`Sshd`]: a real sshd on a free loopback port, with client keys and an `ssh_config`.
//! - [`Dask`]: a scheduler and one worker, started with a clean environment.
//!
//! Daemons run in the foreground as children of the test, each in its own process group, and are
//! stopped by their pid (and that group) when their owner is dropped, also when a test fails.
//! Every wait is bounded. Scripts that launchers execute live in `tests/launchers/`.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::workspace;

mod dask;
mod mpi;
mod ray;
mod slurm;
mod sshd;

pub use dask::*;
pub use mpi::*;
pub use ray::*;
pub use slurm::*;
pub use sshd::*;

/// The PATH a remote node's session starts with (fake agent, Dask processes).
pub const NODE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The PATH daemons are started with.
const DAEMON_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// How long a daemon may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How many times a daemon is started again on fresh ports when a port it was given turned out to be
/// taken (another program bound it between [`free_port`] and the daemon's start).
const START_ATTEMPTS: usize = 3;

// ---------------------------------------------------------------------------------------------
// Running commands with bounds

/// Runs `command` (stdin `/dev/null`, in a process group of its own) and returns its output, or
/// panics if it has not finished within `limit`, after stopping its whole process group (a
/// launcher and everything it started through the fake agent).
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
    let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {command:?}: {e}"),
        }
    };
    let Some(status) = status else {
        stop_group(&mut child, Duration::from_secs(5));
        let stdout = stdout.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        let stderr = stderr.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        panic!(
            "{command:?} did not finish within {limit:?} (stopped)\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    // The pipes close when the last process holding them ends; something the command left running
    // in the background could hold them forever.
    let collect = |output: mpsc::Receiver<Vec<u8>>, name: &str| {
        output.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| {
            panic!("{command:?} exited ({status}) but something it started still holds its {name} open")
        })
    };
    let stdout = collect(stdout, "stdout");
    let stderr = collect(stderr, "stderr");
    Output { status, stdout, stderr }
}

/// Like [`output_within`], and asserts that the command succeeded.
pub fn success_within(command: &mut Command, limit: Duration) -> Output {
    let out = output_within(command, limit);
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = send.send(bytes);
    });
    receive
}

/// Sends `signal` (a name: TERM, KILL) to `target`, a pid or a negative process group id.
fn send_signal(signal: &str, target: i64) {
    assert!(!(-1..=1).contains(&target), "refusing to signal {target}");
    // std has no kill(2); bash's builtin takes process groups and needs no procps.
    let _ = Command::new("/bin/bash")
        .args(["-c", r#"kill -s "$1" -- "$2" 2>/dev/null"#, "kill", signal, &target.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Polls until `child` exits, at most `limit`; true if it has.
fn reaped_within(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// The live (not zombie) processes in process group `group`, from /proc.
fn group_members(group: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp ...": comm may hold anything, so split after its last ')'.
            let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
            let state = fields.next()?;
            let pgrp: u32 = fields.nth(1)?.parse().ok()?;
            (pgrp == group && state != "Z" && state != "X").then_some(pid)
        })
        .collect()
}

/// Stops `child`, the leader of its own process group, and whatever else is in that group: TERM to
/// the group while the leader is not yet reaped (so the group id is certainly still ours), KILL
/// after `grace`, then the same, pid by pid, for members that outlive the leader.
fn stop_group(child: &mut Child, grace: Duration) {
    let group = child.id();
    if !matches!(child.try_wait(), Ok(Some(_))) {
        send_signal("TERM", -i64::from(group));
        if !reaped_within(child, grace) {
            send_signal("KILL", -i64::from(group));
            let _ = child.wait();
        }
    }
    let deadline = Instant::now() + grace;
    let mut signal = "TERM";
    loop {
        let members = group_members(group);
        if members.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            if signal == "KILL" {
                eprintln!("launchers: processes {members:?} of group {group} did not stop");
                return;
            }
            signal = "KILL";
        }
        for pid in members {
            send_signal(signal, i64::from(pid));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Small utilities

/// A TCP port that was free on every IPv4 address when this returned, and that this process has
/// not handed out before (so two daemons started by one test run never get the same one).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind a free port");
        let port = listener.local_addr().expect("a bound address").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// `dir`, created, as an absolute path (scripts find their files relative to their own path).
fn absolute(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    fs::canonicalize(dir).unwrap_or_else(|e| panic!("resolve {}: {e}", dir.display()))
}

fn create_dir(dir: &Path) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
}

fn write(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `tests/launchers/NAME`, the scripts launchers execute.
pub fn launcher_script(name: &str) -> PathBuf {
    workspace().join("tests/launchers").join(name)
}

/// Links `dir/NAME` to the script `tests/launchers/NAME`, which finds its files (logs,
/// configuration) next to the link. A link rather than a written copy: a script written by this
/// (multi-threaded) process could fail to execute with ETXTBSY while another test's fork still holds
/// the file open for writing.
fn link_script(dir: &Path, name: &str) -> PathBuf {
    let script = launcher_script(name);
    let mode = fs::metadata(&script).unwrap_or_else(|e| panic!("{}: {e}", script.display())).permissions().mode();
    if mode & 0o111 != 0o111 {
        // A checkout that lost the executable bit.
        fs::set_permissions(&script, fs::Permissions::from_mode(mode | 0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", script.display()));
    }
    let link = dir.join(name);
    if fs::read_link(&link).is_ok_and(|target| target == script) {
        return link;
    }
    let _ = fs::remove_file(&link);
    match symlink(&script, &link) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && fs::read_link(&link).is_ok_and(|t| t == script) => {}
        Err(e) => panic!("link {} to {}: {e}", link.display(), script.display()),
    }
    link
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// This process's user name.
fn user_name() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The uid and gid of `user`, from /etc/passwd.
fn passwd_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let fields: Vec<&str> = passwd.lines().map(|line| line.split(':').collect::<Vec<_>>()).find(|f| f[0] == user)?;
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

/// How many CPUs slurmd will find (more in slurm.conf than it finds would drain the node).
fn online_cpus() -> usize {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo.lines().filter(|l| l.starts_with("processor")).count().max(1)
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    format!("--- {} (last {} lines)\n{tail}", path.display(), lines.len().min(40))
}

// ---------------------------------------------------------------------------------------------
// Daemons

/// A daemon started by a test: in the foreground, a child of this process, the leader of its own
/// process group, with stdout and stderr in `log`. Stopped (by pid and group) when dropped.
struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Why a daemon did not become ready.
struct StartError {
    /// A port it was given was taken: worth another attempt on fresh ports.
    port_taken: bool,
    message: String,
}

impl Daemon {
    fn spawn(name: &str, mut command: Command, log: PathBuf) -> Daemon {
        let file = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let err = file.try_clone().expect("clone a file handle");
        command.stdin(Stdio::null()).stdout(file).stderr(err).process_group(0);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Daemon { name: name.to_string(), child, log }
    }

    /// An error if the daemon has exited.
    fn check_running(&mut self, logs: &[&Path]) -> Result<(), StartError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(start_error(format!("{} exited ({status})", self.name), logs)),
            Err(e) => Err(start_error(format!("{}: {e}", self.name), logs)),
        }
    }

    fn stop(&mut self) {
        stop_group(&mut self.child, Duration::from_secs(10));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Daemons that depend on those started before them: stopped last first.
struct Daemons(Vec<Daemon>);

impl Daemons {
    fn pids(&self) -> Vec<u32> {
        self.0.iter().map(|d| d.child.id()).collect()
    }

    fn stop_all(&mut self) {
        while let Some(mut daemon) = self.0.pop() {
            daemon.stop();
        }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn start_error(what: String, logs: &[&Path]) -> StartError {
    let texts: Vec<String> = logs.iter().map(|log| fs::read_to_string(log).unwrap_or_default()).collect();
    let port_taken =
        texts.iter().any(|t| t.contains("Address already in use") || t.contains("Cannot bind any address"));
    let tails: Vec<String> = logs.iter().map(|log| log_tail(log)).collect();
    StartError { port_taken, message: format!("{what}\n{}", tails.join("\n")) }
}

/// Polls `ready` every 50 ms until it returns true, at most `limit`.
fn wait_until(
    limit: Duration,
    what: &str,
    logs: &[&Path],
    mut ready: impl FnMut() -> Result<bool, StartError>,
) -> Result<(), StartError> {
    let deadline = Instant::now() + limit;
    loop {
        if ready()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(start_error(format!("{what}: not ready within {limit:?}"), logs));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `start` up to [`START_ATTEMPTS`] times while it fails because a port was taken.
fn start_with_retries<T>(what: &str, mut start: impl FnMut() -> Result<T, StartError>) -> T {
    for attempt in 1.. {
        match start() {
            Ok(started) => return started,
            Err(e) if e.port_taken && attempt < START_ATTEMPTS => {
                eprintln!("launchers: {what}: a port was taken, starting again on fresh ports");
            }
            Err(e) => panic!("{what} did not start: {}", e.message),
        }
    }
    unreachable!()
}
