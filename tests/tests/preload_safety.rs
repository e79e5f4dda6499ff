//! Safety inside other people's processes: nothing allocates between fork
//! and exec, concurrent setenv and spawning neither hang nor mix up the
//! environment, valgrind finds no error, and memory stays bounded.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use envtrack_tests::*;

/// Runs `command`, killing it (and failing) if it outlives `limit`: a hang is a failure.
fn run_with_timeout(command: &mut Command, limit: Duration) -> std::process::Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("hung for more than {limit:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_exec_path_allocates_nothing_after_fork() {
    let nomalloc = c_program("nomalloc", true);
    let program = c_program("fork_exec", false);
    let mut env = tracked_env(&[]);
    let preload = env.iter_mut().find(|e| e.starts_with(b"LD_PRELOAD=")).unwrap();
    preload.extend_from_slice(format!(":{}", nomalloc.display()).as_bytes());
    let out = output(&mut command_with_env(&program, env.clone()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The check itself works: a program that allocates in a fork child is caught.
    let mut python = command_with_env("/usr/bin/python3", env);
    python.args(["-c", "import os\npid = os.fork()\nif pid == 0:\n    x = [str(i) for i in range(100)]\n    os._exit(0)\n_, status = os.waitpid(pid, 0)\nprint(status)"]);
    let out = success(&mut python);
    assert_ne!(String::from_utf8_lossy(&out.stdout).trim(), "0", "nomalloc did not catch an allocation");
}

/// The short form of scripts/soak.sh: 10,000 launches (C: posix_spawn,
/// fork + execv, system, bash; Python: subprocess with vfork) while other
/// threads keep changing the environment. Every child must see a consistent
/// tracked set; no run may hang (the script's own limit) or crash.
#[test]
fn soak_ten_thousand_launches_while_the_environment_churns() {
    let mut command = Command::new("bash");
    command.arg(workspace().join("scripts/soak.sh")).arg("10000");
    let out = run_with_timeout(&mut command, Duration::from_secs(1200));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("launches=7500 failures=0") && text.contains("launches=2500 failures=0"), "{text}");
}

#[test]
fn valgrind_finds_no_error_in_a_tracked_program() {
    let program = c_program("hooks", false);
    for mode in ["posix_spawn", "system", "popen"] {
        let mut command = command_with_env("valgrind", tracked_env(&["GONE=1"]));
        command.args(["--error-exitcode=42", "--trace-children=no", "-q"]).arg(&program).arg(mode);
        let out = output(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {stderr}");
        assert!(!stderr.contains("Invalid") && !stderr.contains("uninitialised"), "{mode}: {stderr}");
    }
}

#[test]
fn a_million_setenv_calls_keep_memory_bounded() {
    let program = c_program("setenv_many", false);
    let out = success(&mut command_with_env(&program, tracked_env(&[])));
    let growth_kib: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(growth_kib < 4 * 1024, "grew by {growth_kib} KiB");
}
