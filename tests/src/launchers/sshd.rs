//! A real sshd on loopback.

use super::mpi::touch_agent_log;
use super::*;

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
        "# A loopback sshd for envtrack's end-to-end tests (tests/src/launchers/).
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
