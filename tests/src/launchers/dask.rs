//! The PyPI virtual environments, and Dask.

use super::*;

// ---------------------------------------------------------------------------------------------
// Dask

/// The virtual environment `NAME` of `tests/launchers/venvs.txt`, `target/e2e/venv-NAME`, made by
/// `scripts/make-venv.sh` if missing or made with other requirements
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
    let mut make = Command::new(workspace().join("scripts/make-venv.sh"));
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

    let worker = spawn_worker(dir, "worker", port, prefix, worker_env);
    daemons.0.push(worker);
    wait_for_worker(&mut daemons, &worker_log, &scheduler_log)?;
    Ok((port, daemons))
}

/// Starts `PREFIX... dask worker` (with its nanny) against the scheduler on `port`, as
/// [`Dask::start`] describes, its files under DIR/NAME and its output in DIR/NAME.log.
fn spawn_worker(dir: &Path, name: &str, port: u16, prefix: &[String], worker_env: &[(String, String)]) -> Daemon {
    let dask = dask_python().with_file_name("dask");
    let worker_dir = dir.join(name);
    create_dir(&worker_dir);
    let mut words: Vec<&OsStr> = prefix.iter().map(OsStr::new).collect();
    words.push(dask.as_os_str());
    let (program, args) = words.split_first().expect("a program");
    let mut worker = Command::new(program);
    worker.args(args).env_clear().env("PATH", NODE_PATH).env("HOME", dir.join("home"));
    worker.envs(worker_env.iter().map(|(k, v)| (k, v)));
    worker.args(["worker", &format!("tcp://127.0.0.1:{port}"), "--nthreads", "1", "--host", "127.0.0.1"]);
    worker.args(["--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--local-directory"]).arg(&worker_dir);
    let log = dir.join(format!("{name}.log"));
    let _ = fs::remove_file(&log);
    Daemon::spawn(&format!("dask {name}"), worker, log)
}

/// Waits until the last worker of `daemons` has registered with the scheduler.
fn wait_for_worker(daemons: &mut Daemons, worker_log: &Path, scheduler_log: &Path) -> Result<(), StartError> {
    let logs = [worker_log, scheduler_log];
    wait_until(READY_WITHIN, "dask worker registered", &logs, || {
        for daemon in &mut daemons.0 {
            daemon.check_running(&logs)?;
        }
        Ok(fs::read_to_string(worker_log).unwrap_or_default().contains("Registered to:"))
    })
}

impl Dask {
    /// Starts one more worker (with its nanny, a clean environment and no prefix), files under
    /// DIR/NAME, and waits until it has registered.
    pub fn add_worker(&mut self, name: &str) {
        let worker = spawn_worker(&self.dir, name, self.port, &[], &[]);
        let log = worker.log.clone();
        let scheduler_log = self.scheduler_log();
        self.daemons.0.push(worker);
        if let Err(e) = wait_for_worker(&mut self.daemons, &log, &scheduler_log) {
            panic!("dask {name} did not start: {}", e.message);
        }
    }
}
