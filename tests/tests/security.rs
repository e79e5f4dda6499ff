//! Security: secure-execution processes are left alone, envtrack's files are
//! private and never followed through a planted symlink, and no value of a
//! secret-looking variable reaches any command line or log.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use envtrack_tests::launchers::{fake_ssh_agent, openmpi_args};
use envtrack_tests::*;

/// A copy of the library in the system library directory, setuid (as ld.so
/// requires to preload anything into a secure-execution process); removed on drop.
struct SystemCopy(PathBuf);

impl SystemCopy {
    fn install(name: &str) -> SystemCopy {
        let path = PathBuf::from("/usr/lib/x86_64-linux-gnu").join(name);
        std::fs::copy(library(), &path).expect("copy into the system library directory (needs root)");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o4755)).unwrap();
        SystemCopy(path)
    }
}

impl Drop for SystemCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// How the probe is put into secure execution (the kernel sets `AT_SECURE`).
#[derive(Clone, Copy)]
enum Privilege {
    /// setuid root, run as another user.
    SetUid,
    /// a file capability (`setcap`), run as another user: it gains a capability.
    FileCapability,
}

/// Runs the secure probe with `LD_PRELOAD` naming a setuid copy of the library in
/// the system directory (the only kind ld.so preloads into a secure process) and
/// checks that the library was loaded and changed nothing.
fn assert_secure_execution_is_left_alone(privilege: Privilege, tag: &str) {
    let dir = scratch(tag);
    let probe = dir.join("secure_probe");
    std::fs::copy(c_program("secure_probe", false), &probe).unwrap();
    match privilege {
        Privilege::SetUid => {
            std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o4755)).unwrap();
        }
        Privilege::FileCapability => {
            std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
            let mut setcap = std::process::Command::new("setcap");
            setcap.args(["cap_net_bind_service+ep"]).arg(&probe);
            success(&mut setcap);
        }
    }
    let name = format!("libenvtrack-{tag}-{}.so", std::process::id());
    let _copy = SystemCopy::install(&name);
    // Run as another user, so that the privilege is a gain and the kernel sets
    // AT_SECURE. Only the probe gets LD_PRELOAD (set by `env`, which itself runs
    // untracked).
    let mut command = command_with_env("/usr/bin/setpriv", ["PATH=/usr/bin:/bin", "GONE=1"]);
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env"])
        .arg(format!("LD_PRELOAD={name}"))
        .arg(&probe);
    let out = success(&mut command);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("secure=1 mapped=1\n"), "the library must be loaded, in secure execution: {text}");
    assert!(text.contains("PROBE_SET=1"), "{text}");
    assert!(!text.contains("ENVTRACK"), "the library changed the child's environment: {text}");
    assert!(!text.contains("LD_PRELOAD"), "the library changed the child's environment: {text}");
    assert!(text.contains("GONE=1"), "{text}");
}

#[test]
fn a_setuid_process_in_secure_execution_is_left_alone() {
    assert_secure_execution_is_left_alone(Privilege::SetUid, "secure_setuid");
}

#[test]
fn a_process_with_a_file_capability_in_secure_execution_is_left_alone() {
    assert_secure_execution_is_left_alone(Privilege::FileCapability, "secure_setcap");
}

#[test]
fn export_never_writes_through_a_planted_symlink_and_creates_0600() {
    let dir = scratch("planted_symlink");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let planted = dir.join("env.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let mut command = command_with_env(injector(), tracked_env(&["ENVTRACK_STATE=ET1;"]));
    command.arg("export").arg("-o").arg(&planted);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let fresh = dir.join("fresh.json");
    let mut command = command_with_env(injector(), tracked_env(&["ENVTRACK_STATE=ET1;"]));
    command.arg("export").arg("-o").arg(&fresh);
    success(&mut command);
    assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_state_too_long_for_one_string_travels_in_the_environment_and_writes_no_file() {
    // 10,000 tracked variables and a value over the kernel's 128 KiB per-string limit:
    // the state is split over ENVTRACK_STATE and ENVTRACK_STATE_1.., never put in a file.
    let dir = scratch("split_state");
    let script = format!(
        "import os, subprocess\nfor i in range(10000):\n    os.environ['MANY_%d' % i] = 'v'\nos.environ['HUGE'] = 'h' * 300000\nout = subprocess.run(['sh', '-c', 'echo \"${{ENVTRACK_STATE%%;*}}\"; env | grep -c ^ENVTRACK_STATE_; echo ${{#HUGE}}'], capture_output=True, text=True).stdout\nprint(out)\nprint('left', sorted(os.listdir('{tmp}')))",
        tmp = dir.display()
    );
    let mut command = command_with_env("/usr/bin/python3", tracked_env(&[&format!("TMPDIR={}", dir.display())]));
    command.args(["-c", &script]);
    let out = success(&mut command);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with('+'), "a split state's header: {text}");
    assert!(lines[1].parse::<usize>().unwrap() >= 3, "{text}");
    assert_eq!(lines[2], "300000", "the long value restored in the child: {text}");
    assert!(text.contains("left []"), "{text}");
}

#[test]
fn no_secret_value_reaches_any_command_line_during_a_launch() {
    let dir = scratch("cmdline_sweep");
    let agent = fake_ssh_agent(&dir);
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // Fifty secret-named variables with distinct values; every rank sweeps every
    // process's command line on the machine for each of them while the launch runs.
    let sweep = r#"
import os
values = [v for k, v in os.environb.items() if k.startswith(b"SECRET_") or k.startswith(b"MY_TOKEN_")]
hits = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            line = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        hits += [pid for v in values if v in line]
print("SWEEP", os.environ.get("FAKE_NODE"), len(values), len(hits))
"#;
    let mut exports = String::new();
    for i in 0..25 {
        exports.push_str(&format!("export SECRET_{i}='sv{i} $(x) q'; export MY_TOKEN_{i}=tv{i}-zz; "));
    }
    let launch = format!(
        "{exports} mpirun {} -n 2 python3 -c {}",
        openmpi_args(&agent, "nodeA,nodeB").iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" "),
        shell_quote(sweep)
    );
    let mut command = command_with_env("/bin/bash", tracked_env(&[&format!("TMPDIR={}", tmp.display())]));
    command.args(["-c", &launch]);
    let out = success(&mut command);
    let text = String::from_utf8_lossy(&out.stdout);
    for node in ["nodeA", "nodeB"] {
        assert!(text.contains(&format!("SWEEP {node} 50 0")), "{text}");
    }
    let agent_log = std::fs::read_to_string(dir.join("agent-commands.log")).unwrap_or_default();
    assert!(!agent_log.contains("sv1 ") && !agent_log.contains("tv1-zz"), "a value in the agent's command lines");
}
