//! Launches that worked without envtrack and broke (or silently lost the tracked values) with it,
//! found by an adversarial review; each test failed before its fix.

use std::path::{Path, PathBuf};
use std::process::Output;

use envtrack_tests::launchers::{fake_ssh_agent, openmpi_args};
use envtrack_tests::*;

/// A tracked bash (routing on unless `routing` is false) in `cwd`, with `path_first` first in
/// PATH, a HOME and TMPDIR of the test's own, that exports X=tracked and runs `script`.
fn run(dir: &Path, cwd: &Path, path_first: Option<&Path>, routing: bool, extra: &[&str], script: &str) -> Output {
    let home = dir.join("home");
    let tmp = dir.join(if routing { "tmp1" } else { "tmp0" });
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let mut env = tracked_env(extra);
    env.retain(|e| !e.starts_with(b"PATH=") && !e.starts_with(b"HOME="));
    let first = path_first.map(|p| format!("{}:", p.display())).unwrap_or_default();
    env.push(format!("PATH={first}/usr/local/bin:/usr/bin:/bin").into_bytes());
    env.push(format!("HOME={}", home.display()).into_bytes());
    env.push(format!("TMPDIR={}", tmp.display()).into_bytes());
    if !routing {
        env.push(b"ENVTRACK_AUTOWRAP=off".to_vec());
    }
    let mut command = command_with_env("/bin/bash", env);
    command.current_dir(cwd).args(["-c", &format!("export X=tracked; {script}")]);
    output(&mut command)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn script_file(path: &Path, body: &str) -> PathBuf {
    std::fs::write(path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path.to_path_buf()
}

fn mpirun4(dir: &Path) -> String {
    let agent = fake_ssh_agent(dir);
    let args: Vec<String> = openmpi_args(&agent, "nodeA,nodeB").iter().map(|a| shell_quote(a)).collect();
    format!("mpirun {}", args.join(" "))
}

/// Open MPI 4's `-x` belongs to one app context: every context of an MPMD launch gets envtrack's
/// (before: the second context's ranks got nothing, and nothing said so).
#[test]
fn open_mpi_4_mpmd_every_context_gets_the_values() {
    let dir = scratch("regression_openmpi4_mpmd");
    let prog = script_file(&dir.join("prog"), "echo \"$FAKE_NODE X=${X-unset} $*\"");
    let script = format!("{} -n 1 {p} a : -n 1 {p} b", mpirun4(&dir), p = prog.display());
    let with = run(&dir, &dir, None, true, &[], &script);
    assert!(with.status.success(), "{}", text(&with.stderr));
    let mut lines: Vec<String> = text(&with.stdout).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(lines, ["nodeA X=tracked a", "nodeB X=tracked b"], "stderr: {}", text(&with.stderr));
}

/// Open MPI (4 and 5) finds a bare program name in the working directory too (`mpirun -n 2
/// a.out`); so does `envtrack-inject apply` (before: exit status 127, "cannot run a.out").
#[test]
fn a_bare_program_name_in_the_working_directory_runs() {
    let dir = scratch("regression_openmpi4_cwd_program");
    script_file(&dir.join("a.out"), "echo \"$FAKE_NODE X=${X-unset}\"");
    let script = format!("{} -n 2 a.out", mpirun4(&dir));
    let without = run(&dir, &dir, None, false, &[], &script);
    assert!(without.status.success(), "without envtrack: {}", text(&without.stderr));
    let with = run(&dir, &dir, None, true, &[], &script);
    assert!(with.status.success(), "with envtrack ({}): {}", with.status, text(&with.stderr));
}

/// With much exported (here 9 × 100 kB, which mpirun takes without envtrack), the transport (the
/// values again, base64) would push the launcher's environment past the kernel's limit: the
/// launch runs as asked, with one line (before: exit status 127, E2BIG, mpirun never ran).
#[test]
fn a_launch_too_large_to_carry_runs_as_asked() {
    let dir = scratch("regression_large_env_launch");
    let prog = script_file(&dir.join("prog"), "echo \"$FAKE_NODE ran\"");
    let script = format!(
        "v=$(head -c 100000 /dev/zero | tr '\\0' b); for i in 1 2 3 4 5 6 7 8 9; do export BIG$i=$v; done; {} -n 1 {}",
        mpirun4(&dir),
        prog.display()
    );
    let without = run(&dir, &dir, None, false, &[], &script);
    assert!(without.status.success(), "without envtrack: {}", text(&without.stderr));
    let with = run(&dir, &dir, None, true, &[], &script);
    assert!(with.status.success(), "with envtrack ({}): {}", with.status, text(&with.stderr));
    let lines = envtrack_lines(&with.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&with.stderr));
    assert!(lines[0].contains("the tracked changes do not fit the launch"), "{lines:?}");
}

/// A stand-in `ssh` that prints its arguments (one per line, then `END`), recognised by name.
fn recording_ssh(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    script_file(&bin.join("ssh"), "[ \"$1\" = -V ] && { echo 'not telling' >&2; exit 1; }\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done; echo END");
    bin
}

/// `ssh HOST ''`: the joined command is empty, so OpenSSH opens a session with the login shell
/// reading standard input (`ssh host '' < script.sh` runs the script): left alone (before:
/// wrapped into `$SHELL -c ''`, the script on stdin ignored).
#[test]
fn ssh_with_an_empty_command_is_left_alone() {
    let dir = scratch("regression_ssh_empty_command");
    let bin = recording_ssh(&dir);
    let without = run(&dir, &dir, Some(&bin), false, &[], "ssh nodeA ''");
    let with = run(&dir, &dir, Some(&bin), true, &["ENVTRACK_AUTOWRAP=ssh"], "ssh nodeA ''");
    assert_eq!(text(&with.stdout), text(&without.stdout), "stderr: {}", text(&with.stderr));
}

/// A 70 kB remote command (which ssh takes): envtrack's remote command, escaped, may be longer
/// than one argument may be (128 kB); ssh then runs as asked, with one line (before: exit 127,
/// ssh never ran).
#[test]
fn a_long_ssh_command_still_runs() {
    let dir = scratch("regression_ssh_long_command");
    let bin = recording_ssh(&dir);
    let script = "ssh nodeA \"echo $(head -c 70000 /dev/zero | tr '\\0' a)\" | tail -n 1";
    let without = run(&dir, &dir, Some(&bin), false, &[], script);
    assert_eq!(text(&without.stdout), "END\n");
    let with = run(&dir, &dir, Some(&bin), true, &["ENVTRACK_AUTOWRAP=ssh"], script);
    assert_eq!(text(&with.stdout), "END\n", "stderr: {}", text(&with.stderr));
    assert!(envtrack_lines(&with.stderr).len() <= 1, "{}", text(&with.stderr));
}

/// An ssh server that does not accept envtrack's `LC_*` variables (no `AcceptEnv LC_*`, as on
/// hardened sites): the command runs, and one line names the server (before: the values were lost
/// and nothing said so). The stand-in `ssh` runs the remote command as such a server would.
#[test]
fn an_ssh_server_that_drops_envtracks_variables_is_named() {
    let dir = scratch("regression_ssh_no_accept_env");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    script_file(
        &bin.join("ssh"),
        "[ \"$1\" = -V ] && exit 1\nfor last; do :; done\nexec env -i PATH=/usr/bin:/bin SHELL=/bin/bash /bin/bash -c \"$last\"",
    );
    let with =
        run(&dir, &dir, Some(&bin), true, &["ENVTRACK_AUTOWRAP=ssh"], "ssh nodeA 'echo \"X=${X-unset}\"; exit 4'");
    assert_eq!(with.status.code(), Some(4), "{}", text(&with.stderr));
    assert_eq!(text(&with.stdout), "X=unset\n");
    let lines = envtrack_lines(&with.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&with.stderr));
    assert!(lines[0].contains("did not accept envtrack's variables (AcceptEnv LC_*)"), "{lines:?}");
}

/// `mpirun --version` and the like start nothing: nothing to carry, nothing to say (before: a
/// line claiming the ranks got nothing, read by build systems that parse `mpirun --version 2>&1`).
#[test]
fn a_launcher_asked_for_its_version_says_only_that() {
    let dir = scratch("regression_version");
    for script in ["mpirun --version", "mpiexec.hydra -info", "pdsh -V", "mpirun --help"] {
        let without = run(&dir, &dir, None, false, &[], script);
        let with = run(&dir, &dir, None, true, &["ENVTRACK_AUTOWRAP=mpirun,mpiexec.hydra,pdsh"], script);
        assert_eq!(with.status.code(), without.status.code(), "{script}: {}", text(&with.stderr));
        assert_eq!(text(&with.stdout), text(&without.stdout), "{script}");
        assert!(envtrack_lines(&with.stderr).is_empty(), "{script}: {}", text(&with.stderr));
    }
}

/// A value the command line sets for the ranks stands over the tracked one, as without envtrack
/// (before: the tracked value was applied over it on every rank).
#[test]
fn a_value_the_command_line_sets_stands() {
    let dir = scratch("regression_explicit_values");
    let prog = script_file(&dir.join("prog"), "echo \"$FAKE_NODE X=${X-unset}\"");
    let agent = fake_ssh_agent(&dir);
    let hydra: Vec<String> =
        envtrack_tests::launchers::hydra_args(&agent, "nodeA,nodeB").iter().map(|a| shell_quote(a)).collect();
    for launch in [
        format!("{} -x X=mine -n 2 {}", mpirun4(&dir), prog.display()),
        format!("mpiexec.hydra {} -genv X mine -n 2 {}", hydra.join(" "), prog.display()),
        format!("mpiexec.hydra {} -genvnone -genv X=mine -n 2 {}", hydra.join(" "), prog.display()),
    ] {
        let with = run(&dir, &dir, None, true, &[], &launch);
        assert!(with.status.success(), "{launch}: {}", text(&with.stderr));
        let mut lines: Vec<String> = text(&with.stdout).lines().map(str::to_string).collect();
        lines.sort();
        assert_eq!(lines, ["nodeA X=mine", "nodeB X=mine"], "{launch}: {}", text(&with.stderr));
    }
    // Set for one app context only (Open MPI 4's -x, Hydra's -env): the others get the tracked value.
    for launch in [
        format!("{} -n 1 -x X=mine {p} : -n 1 {p}", mpirun4(&dir), p = prog.display()),
        format!("mpiexec.hydra {} -genvnone -n 1 -env X mine {p} : -n 1 {p}", hydra.join(" "), p = prog.display()),
    ] {
        let with = run(&dir, &dir, None, true, &[], &launch);
        assert!(with.status.success(), "{launch}: {}", text(&with.stderr));
        let mut lines: Vec<String> = text(&with.stdout).lines().map(str::to_string).collect();
        lines.sort();
        assert_eq!(lines, ["nodeA X=mine", "nodeB X=tracked"], "{launch}: {}", text(&with.stderr));
    }
    // HYDRA_ENV=none is -genvnone: envtrack's variables are named, the values arrive.
    let launch = format!("HYDRA_ENV=none mpiexec.hydra {} -n 2 {}", hydra.join(" "), prog.display());
    let with = run(&dir, &dir, None, true, &[], &launch);
    assert!(with.status.success(), "{launch}: {}", text(&with.stderr));
    assert!(envtrack_lines(&with.stderr).is_empty(), "{}", text(&with.stderr));
    let mut lines: Vec<String> = text(&with.stdout).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(lines, ["nodeA X=tracked", "nodeB X=tracked"], "{launch}: {}", text(&with.stderr));
}

/// A launcher earlier in PATH that cannot run (its interpreter is gone, as in a moved venv): the
/// library does not route it, so the exec fails as without envtrack, and a caller that searches
/// PATH (execvp, Python) goes on to the next one of that name (before: exit 127).
#[test]
fn a_broken_launcher_earlier_in_path_gives_way_to_the_next() {
    let dir = scratch("regression_stale_launcher");
    let stale = dir.join("stale-bin");
    std::fs::create_dir_all(&stale).unwrap();
    script_file(&stale.join("mpirun"), "");
    std::fs::write(stale.join("mpirun"), "#!/nonexistent/sh\n").unwrap();
    let script = "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; python3 -c 'import subprocess, sys; sys.exit(subprocess.run([\"mpirun\", \"--oversubscribe\", \"-n\", \"1\", \"true\"]).returncode)'";
    let without = run(&dir, &dir, Some(&stale), false, &[], script);
    assert!(without.status.success(), "without envtrack: {}", text(&without.stderr));
    let with = run(&dir, &dir, Some(&stale), true, &[], script);
    assert!(with.status.success(), "{}", text(&with.stderr));
    assert!(envtrack_lines(&with.stderr).is_empty(), "{}", text(&with.stderr));
    // bash looks PATH up itself and execs the broken one: it fails, with envtrack as without.
    let script = "mpirun --oversubscribe -n 1 true";
    let without = run(&dir, &dir, Some(&stale), false, &[], script);
    let with = run(&dir, &dir, Some(&stale), true, &[], script);
    assert_eq!(without.status.code(), Some(127), "{}", text(&without.stderr));
    assert_eq!(with.status.code(), Some(127), "{}", text(&with.stderr));
    assert!(envtrack_lines(&with.stderr).is_empty(), "{}", text(&with.stderr));
}
