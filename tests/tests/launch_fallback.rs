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
fn a_launcher_is_asked_what_it_is_once_per_version() {
    let dir = scratch("fallback_flavor_cache");
    let calls = dir.join("calls");
    let bin = site_wrapper(&dir, &format!("echo \"$*\" >> {}; exec /usr/bin/mpirun.openmpi \"$@\"", calls.display()));
    let launch = "mpirun --oversubscribe -n 1 /bin/true";
    let questions = || {
        let text = std::fs::read_to_string(&calls).unwrap_or_default();
        text.lines().filter(|l| *l == "--version").count()
    };
    for _ in 0..2 {
        let out = run(&dir, &bin, true, launch);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    }
    assert_eq!(questions(), 1, "asked once for two launches");
    let cache = std::fs::read_to_string(dir.join("home/.cache/envtrack/launchers")).unwrap();
    assert!(cache.contains("openmpi-4\t") && cache.contains("Open MPI 4.1."), "{cache}");
    // A new version of the wrapper (another size and time) is asked again.
    let wrapper = bin.join("mpirun");
    let mut script = std::fs::read_to_string(&wrapper).unwrap();
    script.push_str("# upgraded\n");
    std::fs::write(&wrapper, script).unwrap();
    let out = run(&dir, &bin, true, launch);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(questions(), 2, "asked again after a change");
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
