//! `envtrack-inject [DIRECTIVES] -- COMMAND`: directives reach COMMAND, in order,
//! and bad input fails closed.

use envtrack_tests::{command_with_env, env0_entries, env0_get, injector, output, success, tracked_env};

const BASE: [&str; 2] = ["PATH=/usr/bin:/bin", "HOME=/root"];

fn run_env(args: &[&str]) -> Vec<Vec<u8>> {
    let mut command = command_with_env(injector(), BASE);
    command.args(args).args(["--", "env", "-0"]);
    let out = output(&mut command);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env0_entries(&out.stdout)
}

#[test]
fn directive_flags_apply_in_order_job_then_app() {
    let env = run_env(&[
        "--app-set",
        "A=app",
        "--set",
        "A=job",
        "--prepend",
        "PATH=/opt/tool/bin",
        "--app-prepend",
        "PATH=/opt/app/bin",
        "--set",
        "ODD=sp ace 'q' $(id) `id` a=b",
        "--sep",
        ";",
        "--append",
        "SEMI=x;y",
    ]);
    assert_eq!(env0_get(&env, "A"), Some(&b"app"[..]));
    assert_eq!(env0_get(&env, "PATH"), Some(&b"/opt/app/bin:/opt/tool/bin:/usr/bin:/bin"[..]));
    assert_eq!(env0_get(&env, "ODD"), Some(&b"sp ace 'q' $(id) `id` a=b"[..]));
    assert_eq!(env0_get(&env, "SEMI"), Some(&b"x;y"[..]));
    let preload = env0_get(&env, "LD_PRELOAD").unwrap();
    assert!(preload.ends_with(b"/libenvtrack.so"), "{}", String::from_utf8_lossy(preload));
    assert!(env0_get(&env, "ENVTRACK_STATE").unwrap().starts_with(b"ET1;"));
}

#[test]
fn bad_directives_fail_closed_with_the_position() {
    let cases: &[(&[&str], &str)] = &[
        (&["--set", "NOVALUE"], "--set \"NOVALUE\" (argument"),
        (&["--set", "=v"], "the variable name is empty"),
        (&["--sep", "::", "--prepend", "P=x"], "a separator is one byte, got 2 bytes"),
        (&["--directives", "/nonexistent/d.json"], "/nonexistent/d.json"),
    ];
    for (args, message) in cases {
        let mut command = command_with_env(injector(), BASE);
        command.args(*args).args(["--", "sh", "-c", "echo RAN"]);
        let out = output(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("RAN"), "the command must not run");
    }
}

#[test]
fn a_directive_file_with_an_unknown_op_names_the_field() {
    let dir = std::env::temp_dir().join(format!("envtrack-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"{"job": [{"op": "set", "name": "A", "value": "1"}, {"op": "prepnd", "name": "P", "value": "x"}]}"#,
    )
    .unwrap();
    let mut command = command_with_env(injector(), BASE);
    command.arg("--directives").arg(&file).args(["--", "true"]);
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("job[1].op (line 1, column "), "{stderr}");
    assert!(stderr.contains("unknown operation \"prepnd\""), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_command_exits_127() {
    let mut command = command_with_env(injector(), BASE);
    command.args(["--", "/nonexistent/program"]);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/program"));
}

fn tracked_bash(script: &str) -> std::process::Output {
    let mut command = command_with_env("/bin/bash", envtrack_tests::tracked_env(&[]));
    command.args(["-c", script]);
    output(&mut command)
}

#[test]
fn show_summarises_what_is_tracked_and_redacts_secrets() {
    let inject = injector().display().to_string();
    let script = format!(
        "export A=1 GITHUB_TOKEN=hunter2; export PATH=/opt/x:$PATH; unset HOME; {inject} show; echo ---; {inject} show --reveal --json"
    );
    let out = tracked_bash(&script);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let (summary, json) = text.split_once("---").unwrap();
    for line in ["+A", "+GITHUB_TOKEN", "~PATH prepend /opt/x"] {
        assert!(summary.lines().any(|l| l == line), "{line}: {summary}");
    }
    assert!(!summary.contains("hunter2"));
    assert!(json.contains("\"value\": \"hunter2\""), "{json}");
    let out = tracked_bash(&format!("export GITHUB_TOKEN=hunter2; {inject} show --json"));
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains("<redacted>") && !json.contains("hunter2"), "{json}");
}

#[test]
fn export_then_apply_from_standard_input_on_a_clean_environment() {
    let dir = envtrack_tests::scratch("export_stdin");
    let file = dir.join("env.json");
    let inject = injector().display().to_string();
    let out =
        tracked_bash(&format!("export B='x y' ; export PATH=/opt/b:$PATH; {inject} export -o {}", file.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut command = command_with_env(injector(), ["PATH=/usr/bin:/bin"]);
    command.args(["apply", "--snapshot", "-", "--", "env", "-0"]).stdin(std::fs::File::open(&file).unwrap());
    let out = output(&mut command);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let env = env0_entries(&out.stdout);
    assert_eq!(env0_get(&env, "B"), Some(&b"x y"[..]));
    assert_eq!(env0_get(&env, "PATH"), Some(&b"/opt/b:/usr/bin:/bin"[..]), "the node's own PATH, extended");
}

#[test]
fn a_malformed_snapshot_fails_closed() {
    let dir = envtrack_tests::scratch("bad_snapshot");
    let cases = [
        ("not json", "line 1, column 1"),
        (r#"{"envtrack_snapshot": 1, "tracked": [{"op": "set", "name": "A=B", "value": "x"}]}"#, "tracked[0]"),
        (r#"{"envtrack_snapshot": 7}"#, "unsupported version"),
        ("ET1;S9:AB", "malformed snapshot at byte"),
    ];
    for (text, message) in cases {
        let file = dir.join("snapshot");
        std::fs::write(&file, text).unwrap();
        let mut command = command_with_env(injector(), ["PATH=/usr/bin:/bin"]);
        command.arg("apply").arg("--snapshot").arg(&file).args(["--", "sh", "-c", "echo RAN"]);
        let out = output(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(message), "{text}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("RAN"));
    }
}

#[test]
fn doctor_reports_the_library_glibc_and_each_launchers_flavor() {
    let mut command = command_with_env(injector(), ["PATH=/usr/local/bin:/usr/bin:/bin"]);
    command.arg("doctor");
    let out = output(&mut command);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok   library") && text.contains("loads into /bin/true"), "{text}");
    assert!(text.contains("ok   glibc 2."), "{text}");
    // Each launcher says what it is and its version (srun cannot without a cluster's configuration).
    for line in [
        "ok   launcher mpirun: /usr/bin/mpirun (Open MPI 4.1.",
        "ok   launcher mpiexec: /usr/bin/mpiexec (Open MPI 4.1.",
        "ok   launcher mpiexec.hydra: /usr/bin/mpiexec.hydra (MPICH Hydra 4.0.",
        "ok   launcher srun: /usr/bin/srun (Slurm",
        "ok   launcher ssh: /usr/bin/ssh (OpenSSH 9.",
        "ok   launcher pdsh: /usr/bin/pdsh (pdsh 2.",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let mut command = command_with_env(injector(), ["PATH=/usr/bin:/bin"]);
    command.args(["doctor", "--lib", "/nonexistent/libenvtrack.so"]);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL library /nonexistent/libenvtrack.so"));
}

#[test]
fn an_environment_too_large_for_the_kernel_gets_a_clear_message() {
    // 24 values of 120 KB, from a directive file: each fits in one environment string,
    // together they exceed what the kernel takes for arguments and environment.
    let dir = envtrack_tests::scratch("too_large");
    let file = dir.join("big.json");
    let sets: Vec<String> = (0..24)
        .map(|i| format!(r#"{{"op": "set", "name": "HUGE_{i}", "value": "{}"}}"#, "h".repeat(120_000)))
        .collect();
    std::fs::write(&file, format!(r#"{{"app": [{}]}}"#, sets.join(","))).unwrap();
    let mut command = command_with_env(injector(), ["PATH=/usr/bin:/bin"]);
    command.arg("--directives").arg(&file).args(["--", "true"]);
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let head: String = stderr.chars().take(300).collect();
    assert_eq!(out.status.code(), Some(127), "{head}");
    assert!(stderr.contains("the arguments and environment are too large for the kernel (E2BIG)"), "{head}");
    // The library says it too, from inside a program whose exec fails.
    let script = "import os, subprocess\nfor i in range(24):\n    os.environ['HUGE_%d' % i] = 'h' * 120000\ntry:\n    subprocess.run(['/bin/true'])\nexcept OSError as e:\n    print('refused', e.errno)";
    let mut command = command_with_env("/usr/bin/python3", envtrack_tests::tracked_env(&[]));
    command.args(["-c", script]);
    let out = output(&mut command);
    let stdout: String = String::from_utf8_lossy(&out.stdout).chars().take(300).collect();
    let stderr: String = String::from_utf8_lossy(&out.stderr).chars().take(600).collect();
    assert!(stdout.contains("refused 7"), "{stdout}");
    assert!(stderr.contains("envtrack: the environment is too large for the kernel (E2BIG)"), "{stderr}");
}

#[test]
fn export_outside_a_tracked_process_says_so_and_leaves_the_file_alone() {
    let dir = envtrack_tests::scratch("export_untracked");
    let file = dir.join("job-env.json");
    std::fs::write(&file, "the job's snapshot").unwrap();
    let off = tracked_env(&["ENVTRACK=off"]);
    let off: Vec<&str> = off.iter().map(|e| std::str::from_utf8(e).unwrap()).collect();
    for env in [&["PATH=/usr/bin:/bin"][..], &["PATH=/usr/bin:/bin", "LD_PRELOAD="], &off] {
        let mut command = command_with_env(injector(), env);
        command.arg("export").arg("-o").arg(&file);
        let out = output(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{env:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("this process is not tracked") && stderr.contains("left as it was"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "the job's snapshot");
    }
    // Standard output: nothing on it.
    let out = output(command_with_env(injector(), ["PATH=/usr/bin:/bin"]).arg("export"));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(1), 0));
    // --allow-untracked: the empty snapshot, on purpose.
    let out = success(command_with_env(injector(), ["PATH=/usr/bin:/bin"]).args(["export", "--allow-untracked"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"tracked\": [\n  ]"), "{out:?}");
    // A tracked process that has changed nothing yet exports its (empty) snapshot.
    let out = success(command_with_env(injector(), tracked_env(&[])).arg("export"));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("envtrack_snapshot"));
}

#[test]
fn export_base_finds_what_a_shell_without_the_library_exported() {
    // The shell runs envtrack-inject as a child (not its last command, which it would exec).
    let script = "export A='x y'; export PATH=/opt/q:$PATH; unset HOME; \
                  envtrack-inject export --base /proc/$$/environ; true";
    let mut command = command_with_env("/bin/bash", BASE);
    let bin = injector().parent().unwrap().display().to_string();
    command.env("PATH", format!("{bin}:/usr/bin:/bin")).args(["-c", script]);
    let out = success(&mut command);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["tracked"],
        serde_json::json!([
            {"op": "set", "name": "A", "value": "x y", "sep": ":"},
            {"op": "prepend", "name": "PATH", "value": "/opt/q", "sep": ":"},
            {"op": "unset", "name": "HOME", "sep": ":"},
        ]),
        "{json}"
    );
    // A base that is not NUL-separated entries is refused with the position.
    let mut command = command_with_env(injector(), BASE);
    command.args(["export", "--base", "/etc/hostname"]);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/etc/hostname: byte 0: an entry without '='"));
    // One that never ends is read only so far.
    let out = output(command_with_env(injector(), BASE).args(["export", "--base", "/dev/zero"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/dev/zero: longer than 256 MiB"));
}

#[test]
fn apply_print_env_on_a_given_environment_runs_nothing() {
    let dir = envtrack_tests::scratch("apply-print-env");
    let snapshot = dir.join("snap.json");
    std::fs::write(
        &snapshot,
        r#"{"envtrack_snapshot": 1, "tracked": [{"op": "prepend", "name": "PATH", "value": "/opt/x"},
            {"op": "unset", "name": "GONE"}], "job": [], "app": [{"op": "set", "name": "RANK_ONLY", "value": "1"}]}"#,
    )
    .unwrap();
    let mut command = command_with_env(injector(), BASE);
    command.arg("apply").arg("--snapshot").arg(&snapshot).args(["--print-env", "--on", "-"]);
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"PATH=/node/bin\0GONE=1\0LD_PRELOAD=/x/liby.so\0").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let env = env0_entries(&out.stdout);
    assert_eq!(env0_get(&env, "PATH"), Some(&b"/opt/x:/node/bin"[..]));
    assert_eq!(env0_get(&env, "GONE"), None);
    assert_eq!(env0_get(&env, "RANK_ONLY"), Some(&b"1"[..]));
    assert_eq!(env0_get(&env, "HOME"), None, "the given environment, not the injector's");
    let preload = String::from_utf8_lossy(env0_get(&env, "LD_PRELOAD").unwrap()).into_owned();
    assert!(preload.ends_with("/libenvtrack.so:/x/liby.so"), "{preload}");

    // --print-env takes no command; --on needs --print-env.
    for args in [&["apply", "--print-env", "--", "true"][..], &["apply", "--on", "-", "--", "true"][..]] {
        let out = output(command_with_env(injector(), BASE).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn export_output_is_0600_over_an_existing_file_and_a_fifo_is_refused_at_once() {
    let dir = envtrack_tests::scratch("export-output");
    let existing = dir.join("old.json");
    std::fs::write(&existing, "x".repeat(10_000)).unwrap();
    std::fs::set_permissions(&existing, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = output(command_with_env(injector(), BASE).args(["export", "--allow-untracked", "-o"]).arg(&existing));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&existing).unwrap();
    assert!(text.starts_with('{') && !text.contains("xxxx"), "{text}");

    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = output(command_with_env(injector(), BASE).args(["export", "--allow-untracked", "-o"]).arg(&fifo));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a regular file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tool's launch script puts its hook first in LD_PRELOAD (the library already there): the
/// export carries the hook, not the library, and a clean node's worker gets both.
#[test]
fn a_library_a_tracked_script_prepends_to_ld_preload_is_exported_and_applied() {
    let dir = envtrack_tests::scratch("export-ld-preload");
    let snapshot = dir.join("snap.json");
    let hook = "/lib/x86_64-linux-gnu/libm.so.6";
    let script = format!(
        "export LD_PRELOAD={hook}:$LD_PRELOAD; {} show; {} export -o {}",
        injector().display(),
        injector().display(),
        snapshot.display()
    );
    let mut command = command_with_env(injector(), BASE);
    command.args(["--", "/bin/bash", "-c", &script]);
    let out = success(&mut command);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("~LD_PRELOAD prepend {hook}\n"));
    let mut apply = command_with_env(injector(), BASE);
    apply.arg("apply").arg("--snapshot").arg(&snapshot).args(["--", "printenv", "LD_PRELOAD"]);
    let out = success(&mut apply);
    let preload = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let elements: Vec<&str> = preload.split(':').collect();
    assert!(elements.len() == 2 && elements[0].ends_with("/libenvtrack.so") && elements[1] == hook, "{preload}");
}
