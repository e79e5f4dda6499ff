//! Slurm (single node, started here), ssh against a real sshd on loopback,
//! and a Dask worker on a clean environment through export + apply.

use envtrack_tests::launchers::{dask_python, slurm_lock, Dask, Slurm, Sshd};
use envtrack_tests::ranks::SECRET;
use envtrack_tests::*;
use serde_json::Value;

fn rank_report() -> String {
    workspace().join("tests/programs/rank_report.py").display().to_string()
}

fn python3() -> String {
    // Absolute: `srun --export=NONE` gives tasks no PATH.
    "/usr/bin/python3".to_string()
}

/// A tracked bash with the test's values, running `launch`.
fn tracked_bash(launch: &str, extra: &[(String, String)]) -> std::process::Output {
    let mut env = tracked_env(&[]);
    env.extend(extra.iter().map(|(n, v)| format!("{n}={v}").into_bytes()));
    let script = format!(
        "export SECRET_VALUE={}; export NCCL_DEBUG=INFO; export PATH=/opt/mine:$PATH; \
         export REPORT_NAMES=SECRET_VALUE,NCCL_DEBUG,PATH; {launch}",
        shell_quote(SECRET)
    );
    let mut command = command_with_env("/bin/bash", env);
    command.args(["-c", &script]);
    output(&mut command)
}

fn assert_reports(out: &std::process::Output, count: usize, what: &str) {
    assert!(
        out.status.success(),
        "{what}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = reports(&out.stdout);
    assert_eq!(reports.len(), count, "{what}: {reports:?}");
    for report in &reports {
        assert_eq!(report["values"]["SECRET_VALUE"], SECRET, "{what}: {report}");
        assert_eq!(report["values"]["NCCL_DEBUG"], "INFO", "{what}: {report}");
        // The node's own PATH extended: /opt/mine before the node's directories. (Over ssh the
        // user's login shell then reads its startup files, as it does for values ssh sends, and
        // ~/.bashrc may put directories of its own in front.)
        let path = report["values"]["PATH"].as_str().unwrap_or("");
        if what == "ssh" {
            let mine = path.find("/opt/mine").unwrap_or(usize::MAX);
            assert!(mine < path.find("/usr/local/bin").unwrap_or(0), "{what}: {report}");
        } else {
            assert!(path.starts_with("/opt/mine"), "{what}: {report}");
        }
        assert_eq!(report["tracked"], true, "{what}: {report}");
        assert_eq!(report["cmdline_leaks"], Value::Array(vec![]), "{what}: {report}");
    }
}

#[test]
fn srun_tasks_get_the_tracked_values_whatever_the_export_option() {
    let _lock = slurm_lock();
    let dir = scratch("slurm");
    let slurm = Slurm::start(&dir);
    let env: Vec<(String, String)> = slurm.env();
    for (options, extra) in [
        ("", vec![]),
        ("--export=NONE", vec![]),
        ("--export=HOME", vec![]),
        ("--export ALL", vec![]),
        ("", vec![("SLURM_EXPORT_ENV".to_string(), "NONE".to_string())]),
    ] {
        let mut all = env.clone();
        all.extend(extra.clone());
        let launch = format!("srun -N1 -n2 {options} {} {}", python3(), rank_report());
        let out = tracked_bash(&launch, &all);
        assert_reports(&out, 2, &format!("srun {options} {extra:?}"));
    }
    // The job is named after the user's program, not envtrack's wrapper: `%x` in an output
    // pattern, SLURM_JOB_NAME in the task.
    let pattern = dir.join("out-%x.txt");
    let launch = format!("srun -N1 -n1 -o {} printenv SLURM_JOB_NAME", pattern.display());
    let out = tracked_bash(&launch, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(dir.join("out-printenv.txt"));
    assert_eq!(written.as_deref().ok(), Some("printenv\n"), "{}", String::from_utf8_lossy(&out.stderr));
    // A value the command line sets stands, over the tracked one (as without envtrack).
    let launch = "srun -N1 -n1 --export=NCCL_DEBUG=WARN /bin/sh -c 'echo \"NCCL_DEBUG=$NCCL_DEBUG\"'";
    let out = tracked_bash(launch, &env);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "NCCL_DEBUG=WARN\n", "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_task_whose_launcher_dropped_envtracks_variables_says_so_and_runs() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_dropped");
    let slurm = Slurm::start(&dir);
    // `--export=NONE,X=1`: srun exports nothing of the list (as NONE), envtrack's variables included.
    // Two tasks meet the same problem: the first says it.
    let launch = "srun -N1 -n2 --export=NONE,X=1 /bin/sh -c 'echo ran; exit 3'";
    let out = tracked_bash(launch, &slurm.env());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\nran\n", "{stderr}");
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("the launcher did not pass envtrack's variables"), "{lines:?}");
}

#[test]
fn ssh_carries_the_values_to_a_real_sshd_with_its_default_accept_env() {
    let dir = scratch("sshd");
    let sshd = Sshd::start(&dir);
    let config = sshd.ssh_config();
    let route = vec![("ENVTRACK_AUTOWRAP".to_string(), "ssh".to_string())];
    let launch = format!("ssh -F {} nodeA {} {}", config.display(), python3(), rank_report());
    let out = tracked_bash(&launch, &route);
    assert_reports(&out, 1, "ssh");
    let log = std::fs::read_to_string(dir.join("agent-commands.log")).unwrap_or_default();
    assert!(!log.contains("s3cr3t"));
    // Without ENVTRACK_AUTOWRAP=ssh, ssh is left alone: the clean node sees nothing.
    let out = tracked_bash(&launch, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reports = reports(&out.stdout);
    assert_eq!(reports[0]["values"]["SECRET_VALUE"], Value::Null);
    // doctor checks the host through the same ssh.
    let mut command = command_with_env(injector(), ["PATH=/usr/bin:/bin"]);
    command.args(["doctor", "--hosts", "nodeA", "--ssh", &format!("ssh -F {}", config.display())]);
    let out = output(&mut command);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = format!(
        "ok   host nodeA: glibc {}; {} runs; {} loads",
        envtrack_inject::glibc::Version::here().unwrap(),
        injector().display(),
        library().display()
    );
    assert!(text.contains(&line), "{line}: {text}");
    // envtrack missing on the node: the command runs all the same, after one line naming the
    // host and the path.
    let mut command = command_with_env(injector(), tracked_env(&[]));
    command
        .args(["--remote-inject", "/nonexistent/envtrack-inject", "--", "ssh", "-F"])
        .arg(&config)
        .args(["nodeA", "echo", "ran"]);
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    assert!(stderr.contains("envtrack: /nonexistent/envtrack-inject is missing on"), "{stderr}");
    assert!(stderr.contains("the command runs without the tracked changes"), "{stderr}");
    // An injector path with quotes, `$(…)` and spaces, and grouped options before the host
    // and options after it: the values arrive, and nothing in the path runs.
    let odd = dir.join("we\"ird $(id>&2) 'x");
    std::fs::create_dir_all(&odd).unwrap();
    let odd_injector = odd.join("envtrack-inject");
    let _ = std::fs::remove_file(&odd_injector);
    std::os::unix::fs::symlink(injector(), &odd_injector).unwrap();
    let mut command = command_with_env(injector(), tracked_env(&[]));
    command
        .arg("--set=SECRET_VALUE=a \"b\" $(id)")
        .arg("--remote-inject")
        .arg(&odd_injector)
        .args(["--", "ssh", "-qTF"])
        .arg(&config)
        .args([
            "nodeA",
            "-o",
            "BatchMode=yes",
            "--",
            "printf",
            "'%s|'",
            "\"$SECRET_VALUE\"",
            "\"$LC_ENVTRACK_REMOTE_PARTS\"",
        ]);
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("uid="), "the injector path ran as a command: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a \"b\" $(id)||", "{stderr}");
}

fn dask_task_script(address: &str) -> String {
    format!(
        r#"
from distributed import Client
def probe():
    import os
    with open("/proc/self/environ", "rb") as f:
        initial = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    return (os.environ.get("SECRET_VALUE"), os.environ.get("NCCL_DEBUG"),
            initial.get(b"MALLOC_ARENA_MAX", b"").decode(), os.environ.get("PATH", "").split(":")[0])
with Client("{address}", timeout=60) as client:
    print("TASK", repr(client.submit(probe, pure=False).result(timeout=60)))
"#
    )
}

#[test]
fn a_dask_worker_under_env_i_gets_the_snapshot_through_export_and_apply() {
    let dir = scratch("dask");
    let snapshot = dir.join("worker-env.json");
    // The submit side: a tracked program exports what it set.
    let export = format!("{} export -o {}", injector().display(), snapshot.display());
    let out = tracked_bash(&export, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = std::fs::metadata(&snapshot).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
    // The worker side: a clean environment; the worker starts through apply, with a
    // MALLOC_* directive that must be in its environment from the start.
    let prefix: Vec<String> = vec![
        injector().display().to_string(),
        "apply".into(),
        "--snapshot".into(),
        snapshot.display().to_string(),
        "--app-set".into(),
        "MALLOC_ARENA_MAX=2".into(),
        "--".into(),
    ];
    let python = dask_python();
    let dask = Dask::start(&dir, &prefix, &[]);
    let mut client = std::process::Command::new(&python);
    client.args(["-c", &dask_task_script(&dask.address())]);
    let out = success(&mut client);
    let text = String::from_utf8_lossy(&out.stdout);
    let task = text.lines().find_map(|l| l.strip_prefix("TASK ")).unwrap_or_else(|| panic!("no task result: {text}"));
    // (SECRET_VALUE, NCCL_DEBUG, MALLOC_ARENA_MAX in the worker's initial environment, PATH's first element)
    let expected = format!("({}, 'INFO', '2', '/opt/mine')", python_repr(SECRET));
    assert_eq!(task, expected);
}

/// Python's repr of a str without backslashes: quoted with ' unless it holds one.
fn python_repr(text: &str) -> String {
    if text.contains('\'') && !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\'', "\\'"))
    }
}
