//! A launch envtrack cannot carry still runs, exactly as the program asked: a site's wrapper
//! that runs an unknown launcher, an option no table knows, a launcher that answers nothing.
//! Exit status, output and arguments are those of the same run without envtrack, and one
//! `envtrack:` line says what was not carried. Asked for explicitly (`envtrack-inject --
//! LAUNCHER`), the same problems are errors (exit status 2).

use std::path::{Path, PathBuf};
use std::process::Output;

use envtrack_tests::launchers::{fake_ssh_agent, openmpi_args};
use envtrack_tests::*;

/// A directory with `mpirun`, a site's wrapper script: `body` after a `#!/bin/sh` line.
fn site_wrapper(dir: &Path, body: &str) -> PathBuf {
    let bin = dir.join("site-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("mpirun");
    std::fs::write(&wrapper, format!("#!/bin/sh\n# a module's mpirun\n{body}\n")).unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

/// A bash that exports MINE and runs `script`, tracked (or not: `routing` false sets
/// ENVTRACK_AUTOWRAP=off), with `path_first` first in PATH and a TMPDIR and HOME of the test's own
/// (the launchers' cache goes to HOME).
fn run(dir: &Path, path_first: &Path, routing: bool, script: &str) -> Output {
    let home = dir.join("home");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let mut env = tracked_env(&[]);
    env.retain(|e| !e.starts_with(b"PATH=") && !e.starts_with(b"HOME="));
    env.push(format!("PATH={}:/usr/local/bin:/usr/bin:/bin", path_first.display()).into_bytes());
    env.push(format!("HOME={}", home.display()).into_bytes());
    env.push(format!("TMPDIR={}", tmp.display()).into_bytes());
    if !routing {
        env.push(b"ENVTRACK_AUTOWRAP=off".to_vec());
    }
    let mut command = command_with_env("/bin/bash", env);
    command.args([
        "-c",
        &format!("export MINE=tracked-value OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; {script}"),
    ]);
    output(&mut command)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_site_wrapper_running_an_unknown_launcher_runs_as_asked() {
    let dir = scratch("fallback_site_wrapper");
    let backend = dir.join("site-launch");
    std::fs::write(&backend, "#!/bin/sh\nprintf '%s|' \"$@\"; echo \"MINE=$MINE\"; exit 7\n").unwrap();
    std::fs::set_permissions(&backend, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin = site_wrapper(&dir, &format!("exec {} \"$@\"", backend.display()));
    let script = "mpirun -n 2 --weird 'a b' ./solver --app x";
    let without = run(&dir, &bin, false, script);
    let with = run(&dir, &bin, true, script);
    assert_eq!(without.status.code(), Some(7), "{}", text(&without.stderr));
    assert_eq!(with.status.code(), without.status.code(), "{}", text(&with.stderr));
    // The launcher was run twice through envtrack: once to ask its version, once for real.
    assert_eq!(text(&with.stdout), text(&without.stdout).replace("--version|MINE=tracked-value\n", ""));
    assert!(
        text(&with.stdout).contains("-n|2|--weird|a b|./solver|--app|x|MINE=tracked-value"),
        "{}",
        text(&with.stdout)
    );
    let lines = envtrack_lines(&with.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&with.stderr));
    assert!(
        lines[0].contains("cannot tell which launcher") && lines[0].contains("runs as the program asked"),
        "{lines:?}"
    );
    // Asked for explicitly, the same launch is refused with exit status 2 and nothing runs.
    let out = run(&dir, &bin, true, &format!("{} -- {script}", injector().display()));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("MINE="), "{}", text(&out.stdout));
}

#[test]
fn an_option_no_table_knows_leaves_the_launch_to_the_launcher() {
    let dir = scratch("fallback_unknown_option");
    let empty = dir.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let script = "mpirun --frobnicate 3 -n 1 /bin/true";
    let without = run(&dir, &empty, false, script);
    let with = run(&dir, &empty, true, script);
    assert_ne!(without.status.code(), Some(0));
    assert_eq!(with.status.code(), without.status.code(), "{}", text(&with.stderr));
    let lines = envtrack_lines(&with.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&with.stderr));
    assert!(lines[0].contains("--frobnicate"), "{lines:?}");
    assert!(text(&with.stderr).contains("frobnicate"), "mpirun's own message: {}", text(&with.stderr));
    let out = run(&dir, &empty, true, &format!("{} -- {script}", injector().display()));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("argument 1 (--frobnicate) is not an option envtrack knows"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_wrapper_running_a_real_launcher_is_recognised_by_its_version_and_carries_the_values() {
    let dir = scratch("fallback_wrapper_real");
    let agent = fake_ssh_agent(&dir);
    let bin = site_wrapper(&dir, "exec /usr/bin/mpirun.openmpi \"$@\"");
    let args: Vec<String> = openmpi_args(&agent, "nodeA,nodeB").iter().map(|a| shell_quote(a)).collect();
    let launch = format!("mpirun {} -n 2 /bin/sh -c 'echo \"$FAKE_NODE ${{MINE-unset}}\"'", args.join(" "));
    let out = run(&dir, &bin, true, &launch);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    lines.sort();
    assert_eq!(lines, ["nodeA tracked-value", "nodeB tracked-value"], "{}", text(&out.stderr));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    // The same launch with an option neither envtrack nor mpirun knows: mpirun's own error, as asked.
    let launch = launch.replacen("mpirun ", "mpirun --frobnicate-not-an-option ", 1);
    let out = run(&dir, &bin, true, &launch);
    assert!(!out.status.success());
    assert_eq!(envtrack_lines(&out.stderr).len(), 1, "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("tracked-value"), "{}", text(&out.stdout));
}

#[test]
fn a_launcher_binary_is_asked_what_it_is_once_per_version() {
    let dir = scratch("fallback_flavor_cache");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let launcher = bin.join("mpiexec.hydra");
    std::fs::copy("/usr/bin/mpiexec.hydra", &launcher).unwrap();
    let doctor = |dir: &Path| {
        let out = run(dir, &bin, true, &format!("{} doctor", injector().display()));
        text(&out.stdout).lines().find(|l| l.contains("launcher mpiexec.hydra:")).unwrap_or_default().to_string()
    };
    assert!(doctor(&dir).contains("(MPICH Hydra 4.0."), "{}", doctor(&dir));
    let cache_file = dir.join("home/.cache/envtrack/launchers");
    let cache = std::fs::read_to_string(&cache_file).unwrap();
    assert!(cache.contains("hydra-mpich\t") && cache.contains("MPICH Hydra 4.0."), "{cache}");
    // What is remembered is used: mark the entry, and doctor shows the mark.
    std::fs::write(&cache_file, cache.replace("MPICH Hydra 4.0.", "MPICH Hydra remembered-4.0.")).unwrap();
    assert!(doctor(&dir).contains("(MPICH Hydra remembered-4.0."), "{}", doctor(&dir));
    // Another file at that path, even with the same size and modification time, is asked again.
    let modified = std::fs::metadata(&launcher).unwrap().modified().unwrap();
    std::fs::copy("/usr/bin/mpiexec.hydra", dir.join("copy")).unwrap();
    std::fs::rename(dir.join("copy"), &launcher).unwrap();
    std::fs::File::options().write(true).open(&launcher).unwrap().set_modified(modified).unwrap();
    assert!(doctor(&dir).contains("(MPICH Hydra 4.0."), "{}", doctor(&dir));
}

#[test]
fn a_wrapper_script_is_asked_every_time_and_its_silence_once() {
    let dir = scratch("fallback_script_asked");
    let calls = dir.join("calls");
    // A module's mpirun that runs whichever MPI the environment names.
    let bin = site_wrapper(&dir, &format!("echo \"$*\" >> {}; exec \"$SITE_MPI\" \"$@\"", calls.display()));
    let questions =
        || std::fs::read_to_string(&calls).unwrap_or_default().lines().filter(|l| *l == "--version").count();
    for site_mpi in ["/usr/bin/mpirun.openmpi", "/usr/bin/mpiexec.hydra", "/usr/bin/mpirun.openmpi"] {
        let out = run(&dir, &bin, true, &format!("export SITE_MPI={site_mpi}; mpirun -n 1 /bin/true"));
        assert!(out.status.success(), "{site_mpi}: {}", text(&out.stderr));
        assert!(envtrack_lines(&out.stderr).is_empty(), "{site_mpi}: {}", text(&out.stderr));
    }
    assert_eq!(questions(), 3, "a script is asked at every launch");
    // A script that says nothing recognisable is asked once: its silence is remembered.
    let quiet = scratch("fallback_script_silent");
    let backend = quiet.join("launch");
    std::fs::write(&backend, format!("#!/bin/sh\necho \"$*\" >> {}\n", quiet.join("calls").display())).unwrap();
    std::fs::set_permissions(&backend, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin = site_wrapper(&quiet, &format!("exec {} \"$@\"", backend.display()));
    for _ in 0..2 {
        let out = run(&quiet, &bin, true, "mpirun -n 1 prog");
        assert_eq!(envtrack_lines(&out.stderr).len(), 1, "{}", text(&out.stderr));
    }
    let asked = std::fs::read_to_string(quiet.join("calls")).unwrap();
    assert_eq!(asked.lines().filter(|l| *l == "--version").count(), 1, "{asked}");
}

#[test]
fn a_worker_whose_snapshot_arrived_broken_still_runs() {
    for broken in [
        vec!["ENVTRACK_REMOTE_PARTS=2", "ENVTRACK_REMOTE_0=QUJD"],
        vec!["ENVTRACK_REMOTE_PARTS=1", "ENVTRACK_REMOTE_0=not base64!"],
        vec!["LC_ENVTRACK_REMOTE_PARTS=x"],
    ] {
        let mut env = vec!["PATH=/usr/bin:/bin", "KEPT=yes"];
        env.extend(&broken);
        let mut command = command_with_env(injector(), env);
        command.args(["apply", "--", "/bin/sh", "-c", "echo \"ran $KEPT\"; env | grep -c ENVTRACK_REMOTE; exit 3"]);
        let out = output(&mut command);
        assert_eq!(out.status.code(), Some(3), "{broken:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "ran yes\n0\n", "{broken:?}");
        let lines = envtrack_lines(&out.stderr);
        assert_eq!(lines.len(), 1, "{broken:?}: {}", text(&out.stderr));
        assert!(lines[0].contains("/bin/sh runs without the tracked changes"), "{lines:?}");
    }
    // Parts without their count: removed, nothing to say.
    let mut command =
        command_with_env(injector(), ["PATH=/usr/bin:/bin", "ENVTRACK_REMOTE_0=xyz", "LC_ENVTRACK_REMOTE_3=x"]);
    command.args(["apply", "--", "/bin/sh", "-c", "env | grep -c ENVTRACK_REMOTE"]);
    let out = output(&mut command);
    assert_eq!(text(&out.stdout), "0\n", "{}", text(&out.stderr));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    // A snapshot file the user names is input to envtrack itself: a bad one is refused (status 2).
    let dir = scratch("fallback_bad_snapshot_file");
    std::fs::write(dir.join("bad.json"), "{not json").unwrap();
    let mut command = command_with_env(injector(), ["PATH=/usr/bin:/bin"]);
    command.arg("apply").arg("--snapshot").arg(dir.join("bad.json")).args(["--", "/bin/echo", "ran"]);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("ran"));
}

/// A launcher whose `--version` leaves something behind that holds its output open (a daemon, a
/// background job) is still recognised by what it printed (before: the answer was dropped after
/// waiting 10 s).
#[test]
fn a_version_answer_is_read_even_when_something_holds_the_pipe() {
    let dir = scratch("fallback_held_pipe");
    let bin = site_wrapper(&dir, "[ \"$1\" = --version ] && (sleep 3 &)\nexec \"$SITE_MPI\" \"$@\"");
    let out = run(&dir, &bin, true, "export SITE_MPI=/usr/bin/mpirun.openmpi; mpirun --oversubscribe -n 1 /bin/true");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

/// The line a launch that cannot be carried prints never ends the launch: not when standard error
/// is a closed pipe, not twice through a wrapper that adds options of its own.
#[test]
fn the_one_line_is_one_line_and_never_fatal() {
    let dir = scratch("fallback_one_line");
    let backend = dir.join("site-launch");
    std::fs::write(&backend, "#!/bin/sh\necho ran; exit 7\n").unwrap();
    std::fs::set_permissions(&backend, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin = site_wrapper(&dir, &format!("exec {} \"$@\"", backend.display()));
    let closed_stderr = "python3 -c 'import os, subprocess, sys; r, w = os.pipe(); os.close(r); \
                         sys.exit(subprocess.run([\"mpirun\", \"-n\", \"1\", \"prog\"], stderr=w).returncode)'";
    let out = run(&dir, &bin, true, closed_stderr);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran\n");
    // A wrapper that adds options and runs the real launcher, which cannot be carried either.
    let bin = site_wrapper(&dir, "exec /usr/bin/mpirun.openmpi --mca btl self,tcp \"$@\"");
    let out = run(&dir, &bin, true, "mpirun --frobnicate -n 1 /bin/true");
    assert!(!out.status.success());
    assert_eq!(envtrack_lines(&out.stderr).len(), 1, "{}", text(&out.stderr));
    // An empty ENVTRACK_REMOTE_INJECT is no path: the launch is carried as without it.
    let out = run(&dir, &dir, true, "ENVTRACK_REMOTE_INJECT= mpirun --oversubscribe -n 1 /bin/true");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
}
