//! Ray: a head node started with a clean environment.

use super::*;

/// A Python (`bin/python`) in the virtual environment `ray` ([`venv`]).
pub fn ray_python() -> PathBuf {
    venv("ray").join("bin/python")
}

/// A Ray head node (`ray start --head --block`, with a small object store and no dashboard),
/// started with exactly `PATH` (the venv's bin, then /usr/bin:/bin) and `HOME` (DIR/home), its
/// session files under DIR/t. Stopped, by pid and process group, when dropped: `--block` keeps
/// `ray start` in the foreground as the leader of every process it starts.
pub struct Ray {
    port: u16,
    daemons: Daemons,
}

impl Ray {
    pub fn start(dir: &Path) -> Ray {
        let dir = absolute(dir);
        let home = dir.join("home");
        create_dir(&home);
        let (port, daemons) = start_with_retries("Ray head", || start_head(&dir, &home));
        Ray { port, daemons }
    }

    /// The head's address for `ray.init(address=…)`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The pid of `ray start`, the leader of the head's processes.
    pub fn pid(&self) -> u32 {
        self.daemons.pids()[0]
    }
}

impl Drop for Ray {
    fn drop(&mut self) {
        self.daemons.stop_all();
    }
}

fn start_head(dir: &Path, home: &Path) -> Result<(u16, Daemons), StartError> {
    // Ray gives workers ports 10002-19999 by default: the head's own port stays above them.
    let port = loop {
        let port = free_port();
        if port > 20_000 {
            break port;
        }
    };
    let log = dir.join("head.log");
    let _ = fs::remove_file(&log);
    let python = ray_python();
    let bin = python.parent().expect("the venv's bin");
    let mut head = Command::new(bin.join("ray"));
    head.env_clear().env("PATH", format!("{}:/usr/bin:/bin", bin.display())).env("HOME", home);
    head.args(["start", "--head", "--block", "--port", &port.to_string(), "--num-cpus", "2"]);
    head.args(["--object-store-memory", "100000000", "--include-dashboard", "false", "--disable-usage-stats"]);
    head.arg("--temp-dir").arg(dir.join("t"));
    let mut daemons = Daemons(vec![Daemon::spawn("ray head", head, log.clone())]);
    let logs = [log.as_path()];
    wait_until(Duration::from_secs(90), "ray head", &logs, || {
        daemons.0[0].check_running(&logs)?;
        Ok(fs::read_to_string(&log).unwrap_or_default().contains("block forever"))
    })?;
    Ok((port, daemons))
}
