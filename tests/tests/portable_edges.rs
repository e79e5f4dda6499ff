//! Edges of the portable build and the installed layout: the symbol walk (no dlsym,
//! __register_atfork) in a library dlopened and dlclosed, doctor --hosts against hosts that do not
//! answer or a library that is not ELF, and the library's `../bin/envtrack-inject`. Each test states what the same
//! thing does without envtrack (or before the change), which is what it asserts.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use envtrack_tests::launchers::output_within;
use envtrack_tests::{command_with_env, injector, library, output, scratch};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Python that dlopens the library at argv[1], dlcloses it, then forks.
const DLOPEN_DLCLOSE_FORK: &str = r#"
import ctypes, os, sys, _ctypes
handle = ctypes.CDLL(sys.argv[1])._handle
_ctypes.dlclose(handle)
pid = os.fork()
if pid == 0:
    os._exit(7)
print("child", os.waitpid(pid, 0)[1] >> 8)
"#;

fn dlopen_dlclose_fork(library: &Path) -> std::process::Output {
    let mut command = command_with_env("/usr/bin/python3", ["PATH=/usr/bin:/bin"]);
    command.args(["-c", DLOPEN_DLCLOSE_FORK]).arg(library);
    output(&mut command)
}

/// Without the library (or with the native one), a fork after dlopen + dlclose works. The
/// portable build registers its fork handlers with a null __dso_handle (zig's link has no
/// crtbeginS.o) and has no destructor calling __cxa_finalize, so dlclose unmaps the handlers
/// and the next fork jumps into unmapped memory.
#[test]
fn a_fork_after_the_portable_library_was_dlopened_and_dlclosed_works() {
    let native = dlopen_dlclose_fork(&library());
    assert_eq!((native.status.code(), text(&native.stdout)), (Some(0), "child 7\n".to_string()), "native");
    let portable = envtrack_tests::workspace().join("target/x86_64-unknown-linux-gnu/release/libenvtrack.so");
    assert!(portable.is_file(), "build it with scripts/build-portable.sh");
    let out = dlopen_dlclose_fork(&portable);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "child 7\n".to_string()),
        "portable: {} {}",
        out.status,
        text(&out.stderr)
    );
}

/// dlsym(RTLD_NEXT) from a dlopened library searches that library's own scope (its
/// dependencies: libc), and before the walk replaced dlsym the library's setenv and system
/// called libc's. The walk only looks at objects loaded after the library, which for a
/// dlopened one is none: every hook called through the handle fails with ENOSYS.
#[test]
fn a_dlopened_library_reaches_the_c_library_through_its_handle() {
    let script = r#"
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1], use_errno=True)
print("setenv", lib.setenv(b"VIA_HANDLE", b"1", 1), ctypes.get_errno())
print("system", lib.system(b"exit 3") >> 8)
"#;
    let mut command = command_with_env("/usr/bin/python3", ["PATH=/usr/bin:/bin"]);
    command.args(["-c", script]).arg(library());
    let out = output(&mut command);
    assert_eq!(text(&out.stdout), "setenv 0 0\nsystem 3\n", "{}", text(&out.stderr));
}

/// A fake ssh: `fake-ssh HOST COMMAND…` runs COMMAND with /bin/sh here, as sshd would.
fn fake_ssh(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fake-ssh");
    write_script(&path, "#!/bin/sh\nshift\nexec /bin/sh -c \"$*\"\n");
    path
}

/// ld.so only warns about a preload it cannot open or that is not ELF ("cannot be preloaded …
/// ignored") and /bin/true still exits 0: the local check looks at stderr and says FAIL, the
/// remote probe looks at the exit status alone and says "loads".
#[test]
fn doctor_hosts_does_not_say_a_library_that_is_not_elf_loads() {
    let dir = scratch("edge-doctor-not-elf");
    let lib = dir.join("libenvtrack.so");
    std::fs::write(&lib, "not an ELF file\n").unwrap();
    let ssh = fake_ssh(&dir);
    let mut command = Command::new(injector());
    command.args(["doctor", "--hosts", "nodeA", "--lib"]).arg(&lib).arg("--ssh").arg(&ssh);
    let out = output(&mut command);
    let stdout = text(&out.stdout);
    let local = stdout.lines().find(|l| l.contains("loads into /bin/true")).unwrap_or("");
    assert!(local.starts_with("FAIL"), "{stdout}");
    let host = stdout.lines().find(|l| l.contains("host nodeA")).unwrap_or("");
    assert!(host.starts_with("FAIL"), "the host's line should fail like the local one:\n{stdout}");
}

/// `--ssh ''` is a usage error, not a panic (index out of bounds, SIGABRT, exit 134).
#[test]
fn doctor_with_an_empty_ssh_command_says_so() {
    let mut command = Command::new(injector());
    command.args(["doctor", "--hosts", "nodeA", "--ssh", ""]);
    let out = output(&mut command);
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
    assert!(matches!(out.status.code(), Some(1 | 2)), "{}", out.status);
}

/// A node that never answers (a hung ssh, a password prompt) hangs doctor for ever, and it
/// prints nothing at all meanwhile (its lines are printed at the end).
#[test]
fn doctor_hosts_gives_up_on_a_host_that_never_answers() {
    let dir = scratch("edge-doctor-hang");
    let ssh = dir.join("hung-ssh");
    let pid_file = dir.join("hung-ssh.pid");
    write_script(&ssh, &format!("#!/bin/sh\n(sleep 3600) &\necho $! > {}\nexec sleep 3600\n", pid_file.display()));
    let mut command = Command::new(injector());
    command.args(["doctor", "--timeout", "2", "--hosts", "nodeA", "--ssh"]).arg(&ssh);
    let out = output_within(&mut command, Duration::from_secs(90));
    let stdout = text(&out.stdout);
    let line = format!("FAIL host nodeA: {} gave no answer within 2 s", ssh.display());
    assert!(stdout.lines().any(|l| l == line), "{line}:\n{stdout}");
    // The hung ssh was ended with its process group, what it started in the background too.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let state = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    assert!(state.is_empty() || state.contains(") Z "), "pid {pid} is left running: {state}");
}

/// An installed tree PREFIX/lib/libenvtrack.so whose PREFIX/bin/envtrack-inject is an
/// executable file the kernel cannot run (empty, another architecture, a missing ELF
/// interpreter or #! interpreter): the routed exec fails, and the launcher, which runs without
/// envtrack, does not run at all (ENOEXEC: bash says "cannot execute binary file", 126; ENOENT:
/// "required file not found", 127).
#[test]
fn a_launcher_still_runs_when_the_injector_in_bin_cannot_be_executed() {
    let dir = scratch("edge-route-broken-injector");
    std::fs::create_dir_all(dir.join("prefix/lib")).unwrap();
    std::fs::create_dir_all(dir.join("prefix/bin")).unwrap();
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    let lib = dir.join("prefix/lib/libenvtrack.so");
    std::fs::copy(library(), &lib).unwrap();
    // A binary launcher named mpirun (a copy of echo): bash cannot fall back to reading it as a
    // script, as it would a shell script.
    std::fs::copy("/bin/echo", dir.join("tools/mpirun")).unwrap();
    let injector = dir.join("prefix/bin/envtrack-inject");
    for (what, body) in [("empty", ""), ("missing interpreter", "#!/nonexistent/interpreter\n")] {
        write_script(&injector, body);
        let env =
            [format!("PATH={}:/usr/bin:/bin", dir.join("tools").display()), format!("LD_PRELOAD={}", lib.display())];
        let mut command = command_with_env("/bin/bash", env);
        command.args(["-c", "mpirun launched; echo status $?"]);
        let out = output(&mut command);
        assert_eq!(text(&out.stdout), "launched\nstatus 0\n", "{what}: {}", text(&out.stderr));
    }
}
