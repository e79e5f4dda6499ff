//! The launcher harnesses themselves, without envtrack: each real launcher starts, reaches its
//! "remote" nodes, and those nodes inherit nothing that was not passed on purpose.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use envtrack_tests::launchers::{
    agent_commands, assert_not_on_command_lines, fake_ssh_agent, hydra_args, launcher_script, openmpi_args, slurm_lock,
    success_within, Dask, Slurm, Sshd,
};
use envtrack_tests::{command_with_env, scratch};

const LIMIT: Duration = Duration::from_secs(60);

/// Distinctive values, so that finding one anywhere means it leaked.
const EXPORTED: &str = "exported-only-3f9c1d";
const PASSED: &str = "passed-by-name-8a2e47";
const GIVEN: &str = "given-on-command-line-51b0";

/// A launcher's own environment: a clean one, with a TMPDIR of the test's own (see
/// `openmpi_args`), plus a variable passed on by name only and one nobody passes on.
fn launcher_env(dir: &Path, extra: &[String]) -> Vec<String> {
    let mut env = vec![
        "PATH=/usr/local/bin:/usr/bin:/bin".to_string(),
        "HOME=/root".to_string(),
        format!("TMPDIR={}", dir.display()),
        format!("NOT_PASSED={EXPORTED}"),
        format!("PASSED={PASSED}"),
    ];
    env.extend_from_slice(extra);
    env
}

/// What each rank reports: its node, and the three variables (or "unset").
const REPORT: &str = r#"echo "$FAKE_NODE ${PASSED-unset} ${GIVEN-unset} ${NOT_PASSED-unset} $TMPDIR""#;

fn sorted_lines(stdout: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(stdout).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn report_line(dir: &Path, node: &str, passed: &str, given: &str) -> String {
    format!("{node} {passed} {given} unset {}/nodes/{node}/tmp", dir.canonicalize().unwrap().display())
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!("{what}: {:?}", start.elapsed());
    value
}

#[test]
fn openmpi_ranks_on_fake_nodes_get_only_what_is_passed() {
    let dir = scratch("launchers-openmpi");
    let agent = fake_ssh_agent(&dir);

    let mut mpirun = command_with_env("mpirun", launcher_env(&dir, &[]));
    mpirun.args(openmpi_args(&agent, "nodeA,nodeB")).args(["-n", "2", "-x", "PASSED"]);
    mpirun.arg("-x").arg(format!("GIVEN={GIVEN}")).args(["/bin/sh", "-c", REPORT]);
    let out = timed("mpirun, 2 ranks", || success_within(&mut mpirun, LIMIT));
    assert_eq!(
        sorted_lines(&out.stdout),
        [report_line(&dir, "nodeA", PASSED, GIVEN), report_line(&dir, "nodeB", PASSED, GIVEN)]
    );

    // One daemon per node went through the agent; -x values travel in the launch message.
    let commands = agent_commands(&dir);
    assert_eq!(commands.len(), 2, "{commands:#?}");
    for node in ["nodeA", "nodeB"] {
        let node = format!("/fake-ssh {node} ");
        assert_eq!(commands.iter().filter(|c| c.contains(&node) && c.contains(" orted ")).count(), 1, "{commands:#?}");
    }
    for secret in [EXPORTED, PASSED, GIVEN] {
        assert_not_on_command_lines(&dir, secret);
    }
}

#[test]
fn openmpi_mpi_program_runs_two_ranks_per_fake_node() {
    let dir = scratch("launchers-openmpi-mpi");
    let agent = fake_ssh_agent(&dir);
    let mut mpirun = command_with_env("mpirun", launcher_env(&dir, &[]));
    mpirun.args(openmpi_args(&agent, "nodeA:2,nodeB:2")).args(["-n", "4", "/usr/bin/python3"]);
    mpirun.arg(launcher_script("mpi_hello.py")).arg("libmpi.so.40");
    let out = timed("mpirun, 4 MPI ranks", || success_within(&mut mpirun, LIMIT));
    assert_eq!(sorted_lines(&out.stdout), ["nodeA 0 4", "nodeA 1 4", "nodeB 2 4", "nodeB 3 4"]);
}

#[test]
fn hydra_ranks_on_fake_nodes_get_only_what_is_passed() {
    let dir = scratch("launchers-hydra");
    let agent = fake_ssh_agent(&dir);

    // -genvnone: nothing of mpiexec's environment, only -genv values.
    let mut mpiexec = command_with_env("mpiexec.hydra", launcher_env(&dir, &[]));
    mpiexec.args(hydra_args(&agent, "nodeA,nodeB")).args(["-n", "2", "-genvnone", "-genv", "GIVEN", GIVEN]);
    mpiexec.args(["/bin/sh", "-c", REPORT]);
    let out = timed("mpiexec.hydra -genvnone, 2 ranks", || success_within(&mut mpiexec, LIMIT));
    assert_eq!(
        sorted_lines(&out.stdout),
        [report_line(&dir, "nodeA", "unset", GIVEN), report_line(&dir, "nodeB", "unset", GIVEN)]
    );
    let commands = agent_commands(&dir);
    assert_eq!(commands.len(), 2, "{commands:#?}");
    assert!(commands.iter().all(|c| c.contains("hydra_pmi_proxy")), "{commands:#?}");
    for secret in [EXPORTED, PASSED, GIVEN] {
        assert_not_on_command_lines(&dir, secret);
    }

    // -genvlist PASSED: only that one, through Hydra's proxies, not the agent's command line.
    let mut mpiexec = command_with_env("mpiexec.hydra", launcher_env(&dir, &[]));
    mpiexec.args(hydra_args(&agent, "nodeA,nodeB")).args(["-n", "2", "-genvlist", "PASSED"]);
    mpiexec.args(["/bin/sh", "-c", REPORT]);
    let out = success_within(&mut mpiexec, LIMIT);
    assert_eq!(
        sorted_lines(&out.stdout),
        [report_line(&dir, "nodeA", PASSED, "unset"), report_line(&dir, "nodeB", PASSED, "unset")]
    );
    assert_not_on_command_lines(&dir, PASSED);
}

#[test]
fn hydra_mpi_program_runs_two_ranks_per_fake_node() {
    let dir = scratch("launchers-hydra-mpi");
    let agent = fake_ssh_agent(&dir);
    let mut mpiexec = command_with_env("mpiexec.hydra", launcher_env(&dir, &[]));
    mpiexec.args(hydra_args(&agent, "nodeA:2,nodeB:2")).args(["-n", "4", "-genvnone", "/usr/bin/python3"]);
    mpiexec.arg(launcher_script("mpi_hello.py")).arg("libmpich.so.12");
    let out = timed("mpiexec.hydra, 4 MPI ranks", || success_within(&mut mpiexec, LIMIT));
    assert_eq!(sorted_lines(&out.stdout), ["nodeA 0 4", "nodeA 1 4", "nodeB 2 4", "nodeB 3 4"]);
}

#[test]
fn fake_agent_skips_ssh_options_and_records_its_command_line() {
    let dir = scratch("launchers-fake-agent");
    let agent = fake_ssh_agent(&dir);
    let mut ssh = command_with_env(&agent, launcher_env(&dir, &[]));
    ssh.args(["-x", "-o", "SendEnv=NOT_PASSED", "-p22", "-l", "someone", "-tt", "-qT", "-i", "/no/key", "--"]);
    ssh.args(["nodeC", "echo", "$FAKE_NODE", "${NOT_PASSED-unset}", "\"$PWD\" $USER $SHELL;", "env | sort"]);
    let out = success_within(&mut ssh, LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("nodeC unset /"), "{stdout}");
    let names: Vec<&str> = lines.map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(names, ["FAKE_NODE", "HOME", "PATH", "PWD", "SHELL", "SHLVL", "TMPDIR", "USER", "_"], "{stdout}");
    assert!(dir.join("nodes/nodeC/tmp").is_dir());
    let commands = agent_commands(&dir);
    assert_eq!(commands.len(), 1);
    assert!(commands[0].ends_with(" -- nodeC echo $FAKE_NODE ${NOT_PASSED-unset} \"$PWD\" $USER $SHELL; env | sort"));
}

#[test]
fn srun_export_none_gives_tasks_no_environment() {
    let _lock = slurm_lock();
    let dir = scratch("launchers-slurm");
    let slurm = timed("Slurm start", || Slurm::start(&dir));
    let slurm_env: Vec<String> = slurm.env().iter().map(|(k, v)| format!("{k}={v}")).collect();

    let mut srun = command_with_env("srun", launcher_env(&dir, &slurm_env));
    srun.args(["-N1", "-n2", "--export=NONE", "/usr/bin/env"]);
    let out = timed("srun --export=NONE", || success_within(&mut srun, LIMIT));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = stdout.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| **n == "SLURM_PROCID").count(), 2, "{stdout}");
    assert!(names.iter().all(|n| n.starts_with("SLURM") || *n == "TMPDIR"), "{stdout}");
    assert!(!names.contains(&"PATH") && !stdout.contains(EXPORTED), "{stdout}");

    // The default (ALL) passes srun's environment on: the variable would have arrived.
    let mut srun = command_with_env("srun", launcher_env(&dir, &slurm_env));
    srun.args(["-N1", "-n1", "/usr/bin/env"]);
    let out = success_within(&mut srun, LIMIT);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("NOT_PASSED={EXPORTED}")));
    timed("Slurm stop", || drop(slurm));
}

#[test]
fn ssh_session_is_clean_and_accepts_lc_variables() {
    let dir = scratch("launchers-sshd");
    let sshd = timed("sshd start", || Sshd::start(&dir));
    let mut ssh = command_with_env("ssh", launcher_env(&dir, &["LC_FOO=lc-foo-value".into(), "FOO=foo-value".into()]));
    ssh.arg("-F").arg(sshd.ssh_config()).args(["-o", "SendEnv=LC_FOO", "-o", "SendEnv=FOO", "nodeA", "/usr/bin/env"]);
    let out = timed("ssh nodeA env", || success_within(&mut ssh, LIMIT));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l == "LC_FOO=lc-foo-value"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("SSH_CONNECTION=127.0.0.1 ")), "{stdout}");
    assert!(stdout.lines().any(|l| l == "FAKE_NODE=nodeA"), "{stdout}");
    let tmpdir = format!("TMPDIR={}/nodes/nodeA/tmp", dir.canonicalize().unwrap().display());
    assert!(stdout.lines().any(|l| l == tmpdir), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("FOO=")), "{stdout}");
    assert!(!stdout.contains(EXPORTED) && !stdout.contains(PASSED), "{stdout}");
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    // Open MPI through the wrapper: real ssh sessions, command lines recorded.
    let wrapper = sshd.ssh_wrapper();
    let mut mpirun = command_with_env("mpirun", launcher_env(&dir, &[]));
    mpirun.args(openmpi_args(&wrapper, "nodeA,nodeB")).args(["-n", "2", "-x", "PASSED"]);
    // One echo: the ranks' outputs interleave by write.
    let report = REPORT.replacen(r#"echo ""#, r#"echo "${SSH_CONNECTION%% *} "#, 1);
    mpirun.args(["/bin/sh", "-c", &report]);
    let out = timed("mpirun through ssh", || success_within(&mut mpirun, LIMIT));
    let expected = |node| format!("127.0.0.1 {}", report_line(&dir, node, PASSED, "unset"));
    assert_eq!(sorted_lines(&out.stdout), [expected("nodeA"), expected("nodeB")]);
    let commands = agent_commands(&dir);
    assert_eq!(commands.len(), 2, "{commands:#?}");
    assert!(commands.iter().all(|c| c.contains(" orted ")), "{commands:#?}");
    assert_not_on_command_lines(&dir, PASSED);
    assert_not_on_command_lines(&dir, EXPORTED);

    // Hydra through the wrapper.
    let mut mpiexec = command_with_env("mpiexec.hydra", launcher_env(&dir, &[]));
    mpiexec.args(hydra_args(&wrapper, "nodeA,nodeB")).args(["-n", "2", "-genvnone", "/bin/sh", "-c", &report]);
    let out = timed("mpiexec.hydra through ssh", || success_within(&mut mpiexec, LIMIT));
    let expected = |node| format!("127.0.0.1 {}", report_line(&dir, node, "unset", "unset"));
    assert_eq!(sorted_lines(&out.stdout), [expected("nodeA"), expected("nodeB")]);
    assert_eq!(agent_commands(&dir).len(), 4);
    timed("sshd stop", || drop(sshd));
}

#[test]
fn dask_worker_gets_only_its_environment() {
    let dir = scratch("launchers-dask");
    // The prefix runs the worker through another program, here env adding one variable.
    let prefix = ["/usr/bin/env".to_string(), "FROM_PREFIX=prefix-value".to_string()];
    let worker_env = [("GIVEN".to_string(), GIVEN.to_string())];
    let dask = timed("Dask start", || Dask::start(&dir, &prefix, &worker_env));
    assert!(dask.address().starts_with("tcp://127.0.0.1:"));
    let task =
        r#"(os.environ.get("NOT_PASSED"), os.environ.get("GIVEN"), os.environ.get("FROM_PREFIX"), sorted(os.environ))"#;
    let result = timed("Dask task", || dask.task(task));
    let names = [
        "FROM_PREFIX",
        "GIVEN",
        "HOME",
        "LC_CTYPE",
        "MALLOC_TRIM_THRESHOLD_",
        "MKL_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "PATH",
        "PYTHONHASHSEED",
        "__DASK_PARENT_PID",
    ];
    let names: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    assert_eq!(result, format!("(None, '{GIVEN}', 'prefix-value', [{}])", names.join(", ")));
    timed("Dask stop", || drop(dask));
}

/// The processes whose command line or environment mentions `text` (zombies have neither).
fn processes_mentioning(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        for file in ["cmdline", "environ"] {
            let bytes = std::fs::read(entry.path().join(file)).unwrap_or_default();
            if String::from_utf8_lossy(&bytes).contains(text) {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                found.push(format!("{name}: {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")));
                break;
            }
        }
    }
    found
}

/// A test that fails with daemons running still stops them all, by pid, with their children.
#[test]
fn daemons_stop_when_a_test_fails() {
    let _lock = slurm_lock();
    let dir = scratch("launchers-failing");
    let pids = std::sync::Mutex::new(Vec::new());
    let failed = std::panic::catch_unwind(|| {
        let sshd = Sshd::start(&dir.join("sshd"));
        let slurm = Slurm::start(&dir.join("slurm"));
        let dask = Dask::start(&dir.join("dask"), &[], &[]);
        let mut pids = pids.lock().unwrap();
        pids.push(sshd.pid());
        pids.extend(slurm.pids());
        pids.extend(dask.pids());
        let running = processes_mentioning(dir.to_str().unwrap());
        // sshd, munged, slurmctld, slurmd, scheduler, nanny, worker.
        assert!(running.len() >= 7, "{running:#?}");
        panic!("a failing test");
    });
    assert!(failed.is_err());
    let pids = pids.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    assert_eq!(pids.len(), 6);
    for pid in pids {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "{pid} is still there");
    }
    assert_eq!(processes_mentioning(dir.to_str().unwrap()), Vec::<String>::new());
    let ssh = Command::new("ssh").arg("-F").arg(dir.join("sshd/ssh_config")).args(["nodeA", "true"]).output();
    assert!(!ssh.unwrap().status.success());
}

/// A daemon that does not start fails the test with its log, and leaves nothing running.
#[test]
fn a_daemon_that_does_not_start_fails_with_its_log_and_leaves_nothing() {
    let dir = scratch("launchers-not-starting");
    let prefix = ["/bin/sh".to_string(), "-c".to_string(), "echo worker refuses >&2; exit 3".to_string()];
    let failed = std::panic::catch_unwind(|| Dask::start(&dir, &prefix, &[]));
    let message = failed.err().expect("Dask::start fails");
    let message = message.downcast_ref::<String>().expect("a panic message");
    assert!(message.contains("dask worker exited (exit status: 3)"), "{message}");
    assert!(message.contains("worker refuses"), "{message}");
    assert_eq!(processes_mentioning(dir.to_str().unwrap()), Vec::<String>::new());
}
