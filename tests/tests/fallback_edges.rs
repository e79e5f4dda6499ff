//! A routed launch whose injector does not run (the fallback: a spawn's own failing file actions
//! are not blamed on it, and it never makes an exec fail with E2BIG), a library dlopened under
//! an interposed dlsym, and doctor's bounded host probe against a chatty login. Each test states what
//! the same thing does without envtrack, which is what it asserts.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use envtrack_tests::{c_program, command_with_env, injector, library, output, scratch};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// An installed tree PREFIX/{lib,bin} with a working injector, and TOOLS/mpirun (a copy of
/// /bin/true). Returns (library, tools).
fn installed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    std::fs::create_dir_all(dir.join("prefix/lib")).unwrap();
    std::fs::create_dir_all(dir.join("prefix/bin")).unwrap();
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    let lib = dir.join("prefix/lib/libenvtrack.so");
    std::fs::copy(library(), &lib).unwrap();
    std::fs::copy(injector(), dir.join("prefix/bin/envtrack-inject")).unwrap();
    std::fs::copy("/bin/true", dir.join("tools/mpirun")).unwrap();
    (lib, dir.join("tools"))
}

/// posix_spawnp of a routed launcher whose file actions fail in the child (an output file in a
/// directory that does not exist): without envtrack it returns the file action's error and
/// nothing more. The routed spawn fails with that same error, and the fallback takes it for the
/// injector's: a line blames a working injector ("does not run (error 2)") and the spawn is
/// tried a second time. When the file actions are not idempotent (O_CREAT|O_EXCL, then a dup2 of a
/// closed descriptor: EBADF), the second try fails differently: EEXIST instead of EBADF.
#[test]
fn a_routed_spawn_whose_file_actions_fail_returns_their_error_and_blames_nothing() {
    let dir = scratch("edge-spawn-file-actions");
    let (lib, tools) = installed(&dir);
    let program = c_program("spawn_file_action_fails", false);
    let created = dir.join("created");
    for args in [vec!["missing"], vec!["excl", created.to_str().unwrap()]] {
        let run = |preload: bool| {
            let mut env = vec![format!("PATH={}:/usr/bin:/bin", tools.display())];
            if preload {
                env.push(format!("LD_PRELOAD={}", lib.display()));
            }
            let mut command = command_with_env(&program, env);
            command.arg("mpirun").args(&args);
            output(&mut command)
        };
        let without = run(false);
        let with = run(true);
        assert_eq!(text(&with.stdout), text(&without.stdout), "{args:?}: {}", text(&with.stderr));
        assert!(!text(&with.stderr).contains("cannot route"), "{args:?}: {}", text(&with.stderr));
    }
}

/// A routed execvpe with an environment of its own (no LD_PRELOAD in it) whose injector does not
/// run, at sizes near the kernel's limit: without envtrack, every size the raw execve system call
/// takes runs the launcher. The routed exec fails with ENOEXEC, the fallback's tracked
/// environment (LD_PRELOAD with the library's path added) is then too large (E2BIG), and the
/// fallback returns that instead of retrying with the caller's own environment as the E2BIG path
/// does. The window is as wide as the LD_PRELOAD entry is longer than the injector's arguments:
/// a library deep in the tree and ENVTRACK_INJECT short.
#[test]
fn a_routed_exec_whose_injector_does_not_run_never_fails_with_e2big_where_it_would_not() {
    let dir = scratch("edge-route-fallback-e2big");
    let deep = (0..6).fold(dir.clone(), |path, _| path.join("d".repeat(60)));
    std::fs::create_dir_all(&deep).unwrap();
    let lib = deep.join("libenvtrack.so");
    std::fs::copy(library(), &lib).unwrap();
    let broken = dir.join("i");
    write_script(&broken, "");
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    let launcher = dir.join("tools/mpirun");
    std::fs::copy("/bin/true", &launcher).unwrap();
    let program = c_program("route_fallback_e2big", false);
    let env = [
        format!("PATH={}:/usr/bin:/bin", dir.join("tools").display()),
        format!("LD_PRELOAD={}", lib.display()),
        format!("ENVTRACK_INJECT={}", broken.display()),
    ];
    let mut command = command_with_env(&program, env);
    command.arg(&launcher);
    let out = output(&mut command);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("checked "), "{stdout}");
    let mismatches: Vec<&str> = stdout.lines().filter(|l| l.starts_with("mismatch")).collect();
    assert!(mismatches.is_empty(), "{} sizes fail with envtrack only, e.g. {:?}", mismatches.len(), mismatches.first());
}

/// A host whose login shell says more than 64 KiB before the probe's answer (a chatty profile):
/// doctor stops reading at 64 KiB by closing the pipe, the remote shell dies of SIGPIPE, and the
/// host is reported as one that "cannot run a command there", with those 64 KiB quoted on one
/// line of the report.
#[test]
fn doctor_reads_past_a_chatty_login_and_keeps_its_lines_short() {
    let dir = scratch("edge-doctor-chatty");
    let ssh = dir.join("chatty-ssh");
    write_script(&ssh, "#!/bin/sh\nshift\nhead -c 100000 /dev/zero | tr '\\0' y\necho\nexec /bin/sh -c \"$*\"\n");
    let mut command = Command::new(injector());
    command.args(["doctor", "--timeout", "20", "--hosts", "nodeA", "--ssh"]).arg(&ssh);
    let out = output(&mut command);
    let stdout = text(&out.stdout);
    let line = stdout.lines().find(|l| l.contains("host nodeA")).unwrap_or("");
    assert!(line.len() < 2000, "a {}-byte line: {}…", line.len(), &line[..line.len().min(300)]);
    assert!(line.starts_with("ok"), "{}", &line[..line.len().min(300)]);
}

/// A program with a preloaded library that interposes dlopen and dlsym under one lock (held
/// across the real dlopen) runs ctypes.CDLL(libenvtrack.so): without envtrack's dlopen-time
/// dlsym calls, the load returns and the hooks reach libc. The library's constructor resolves
/// its functions with the first dlsym the walk finds — the interposer's — from inside dlopen,
/// while the interposer holds its lock: the process hangs for ever.
#[test]
fn a_dlopened_library_does_not_call_an_interposed_dlsym_from_inside_dlopen() {
    let wrapper = c_program("dlsym_wrapper", true);
    let script = r#"
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1], use_errno=True)
print("setenv", lib.setenv(b"VIA_HANDLE", b"1", 1), "system", lib.system(b"exit 3") >> 8)
"#;
    let env = ["PATH=/usr/bin:/bin".to_string(), format!("LD_PRELOAD={}", wrapper.display())];
    let mut command = command_with_env("/usr/bin/python3", env);
    command.args(["-c", script]).arg(library());
    let out = envtrack_tests::launchers::output_within(&mut command, std::time::Duration::from_secs(20));
    assert_eq!(text(&out.stdout), "setenv 0 system 3\n", "{} {}", out.status, text(&out.stderr));
}
