//! A one-node Slurm started by hand.

use super::*;

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
        Slurm::start_with_plugins(dir, None)
    }

    /// [`Slurm::start`] with a `plugstack.conf` of these lines (SPANK plugins), when given.
    pub fn start_with_plugins(dir: &Path, plugstack: Option<&str>) -> Slurm {
        Slurm::start_configured(dir, plugstack, "")
    }

    /// [`Slurm::start_with_plugins`] with more `slurm.conf` lines (`Prolog=…`).
    pub fn start_configured(dir: &Path, plugstack: Option<&str>, more_conf: &str) -> Slurm {
        let lock = SLURM_INSTANCE.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(is_root(), "Slurm's daemons need root (SlurmUser and SlurmdUser are root)");
        let dir = absolute(dir);
        let node = fs::read_to_string("/proc/sys/kernel/hostname").expect("read the host name");
        let node = node.trim().split('.').next().unwrap_or_default().to_string();
        assert!(!node.is_empty(), "this machine has no host name");
        let conf = dir.join("slurm.conf");
        let daemons = start_with_retries("Slurm", || start_slurm(&dir, &conf, &node, plugstack, more_conf));
        Slurm { dir, conf, node, daemons, _lock: lock }
    }

    /// What a Slurm client (`srun`, `sinfo`, `sbatch`) needs in its environment.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SLURM_CONF".to_string(), self.conf.display().to_string())]
    }

    /// [`Slurm::env`] as `NAME=VALUE` entries, for [`command_with_env`](crate::command_with_env).
    pub fn env_entries(&self) -> impl Iterator<Item = Vec<u8>> {
        self.env().into_iter().map(|(name, value)| format!("{name}={value}").into_bytes())
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

fn start_slurm(
    dir: &Path,
    conf: &Path,
    node: &str,
    plugstack: Option<&str>,
    more_conf: &str,
) -> Result<Daemons, StartError> {
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
    // Without PlugStackConfig, Slurm reads the machine's own plugstack.conf (if any).
    let plugstack_file = dir.join("plugstack.conf");
    write(&plugstack_file, plugstack.unwrap_or("# no plugins\n"));
    write(
        conf,
        &format!(
            "# A one-node cluster for envtrack's end-to-end tests (tests/src/launchers/).
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
PlugStackConfig={plugstack}
ReturnToService=2
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
{more_conf}",
            socket = socket.display(),
            cpus = online_cpus(),
            plugstack = plugstack_file.display(),
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
