//! Memory safety: the C test programs built with AddressSanitizer run every
//! hook under the library with no error; valgrind's memcheck finds none in
//! the library's edge cases nor in envtrack-inject's paths.

use std::path::PathBuf;
use std::process::Command;

use envtrack_tests::launchers::{fake_ssh_agent, openmpi_args};
use envtrack_tests::*;

/// `tests/programs/NAME.c` built with AddressSanitizer.
fn asan_program(name: &str) -> PathBuf {
    let out = workspace().join("target/e2e/bin").join(format!("{name}-asan"));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let status = Command::new("cc")
        .args(["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1", "-o"])
        .arg(&out)
        .arg(workspace().join("tests/programs").join(format!("{name}.c")))
        .status()
        .unwrap();
    assert!(status.success(), "cc -fsanitize=address {name}.c");
    out
}

fn asan_env(extra: &[&str]) -> Vec<Vec<u8>> {
    // The ASan runtime wants to come first in the preload order; here it is
    // linked into the program and libenvtrack.so is preloaded, which is fine.
    let mut env = tracked_env(extra);
    env.push(b"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:abort_on_error=0:exitcode=66".to_vec());
    env
}

#[test]
fn every_hook_under_address_sanitizer() {
    let hooks = asan_program("hooks");
    let modes = [
        "execve",
        "execv",
        "execvp",
        "execvpe",
        "execl",
        "execlp",
        "execle",
        "execveat",
        "fexecve",
        "posix_spawn",
        "posix_spawnp",
        "system",
        "popen",
    ];
    for mode in modes {
        for explicit in [false, true] {
            let mut command = command_with_env(&hooks, asan_env(&["GONE=1"]));
            command.arg(mode);
            if explicit {
                command.arg("explicit");
            }
            let out = output(&mut command);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && !stderr.contains("AddressSanitizer"), "{mode}: {stderr}");
            let entries = env0_entries(&out.stdout);
            assert_eq!(env0_get(&entries, "FROM_C"), Some(&b"c-value"[..]), "{mode}");
        }
    }
    let edge = asan_program("edge");
    for mode in ["null-envp", "empty-envp", "errno", "duplicates"] {
        let mut command = command_with_env(&edge, asan_env(&[]));
        command.arg(mode);
        let out = output(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("AddressSanitizer"), "{mode}: {stderr}");
    }
    let stress = asan_program("stress");
    let checker = c_program("check_child", false);
    let mut command = command_with_env(&stress, asan_env(&[]));
    command.arg(&checker).arg("200");
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("AddressSanitizer"), "stress: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("launches=400 failures=0"));
}

fn memcheck(program: impl AsRef<std::ffi::OsStr>, args: &[&str], env: Vec<Vec<u8>>) {
    let mut command = command_with_env("valgrind", env);
    command.args(["--error-exitcode=42", "--trace-children=no", "-q"]).arg(program.as_ref()).args(args);
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(42), "{args:?}: {stderr}");
    assert!(!stderr.contains("Invalid") && !stderr.contains("uninitialised"), "{args:?}: {stderr}");
}

#[test]
fn memcheck_finds_nothing_in_the_librarys_edge_cases() {
    let edge = c_program("edge", false);
    for mode in ["null-envp", "empty-envp", "errno", "duplicates"] {
        memcheck(&edge, &[mode], tracked_env(&[]));
    }
    let hooks = c_program("hooks", false);
    for mode in ["execve", "execvp", "execle", "fexecve"] {
        memcheck(&hooks, &[mode, "explicit"], tracked_env(&["GONE=1"]));
    }
}

#[test]
fn memcheck_finds_nothing_in_envtrack_injects_paths() {
    let injector = injector();
    let state = "ENVTRACK_STATE=ET1;S1:A";
    let env =
        || vec![b"PATH=/usr/bin:/bin".to_vec(), b"HOME=/root".to_vec(), b"A=1".to_vec(), state.as_bytes().to_vec()];
    memcheck(&injector, &["--set", "B=2", "--prepend", "PATH=/opt/x", "--", "/bin/true"], env());
    memcheck(&injector, &["apply", "--", "/bin/true"], env());
    memcheck(&injector, &["show"], env());
    memcheck(&injector, &["export"], env());
    let dir = scratch("memcheck_launch");
    let agent = fake_ssh_agent(&dir);
    let mut args: Vec<String> = vec!["--".into(), "mpirun".into()];
    args.extend(openmpi_args(&agent, "nodeA,nodeB"));
    args.extend(["-n", "2", "/bin/true"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut launch_env = env();
    launch_env.push(format!("TMPDIR={}", dir.display()).into_bytes());
    memcheck(&injector, &args, launch_env);
}
