//! The portable build (glibc 2.17, `scripts/build-portable.sh`) on an older glibc than the host's:
//! a slice of the suite run in a Debian 11 root (glibc 2.31, Python 3.9, Open MPI 4.1.0; see
//! `envtrack_tests::oldglibc`). Tracked values reach children whose environment was emptied, by
//! exec, posix_spawn, fork and vfork; the injector runs, exports and applies; Open MPI's ranks on
//! clean fake nodes get every value. The native build does not load there: the check that this
//! slice really runs against an older glibc. Needs root (unshare, mount, chroot).

use std::process::Output;
use std::time::Duration;

use envtrack_tests::oldglibc::*;
use envtrack_tests::ranks::*;
use envtrack_tests::{reports, shell_quote};
use serde_json::Value;

/// For a script that runs a few programs in the root.
const QUICK: Duration = Duration::from_secs(60);

/// For an mpirun launch (under a second when all is well).
const LAUNCH: Duration = Duration::from_secs(120);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that `script`'s run succeeded with nothing on stderr, and returns it.
fn assert_clean(script: &str, out: Output) -> Output {
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{script} ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Runs `script` in the root and asserts that it succeeded with nothing on stderr.
fn clean_success(script: &str, args: &[&str]) -> Output {
    assert_clean(script, run_in_root(script, args, QUICK))
}

/// Runs `script` (with `args` as `$1`…) in the root with a bash under the portable library, so
/// that what it exports is tracked; `vars` (`NAME=VALUE …`, shell words) go in that bash's
/// environment too.
fn tracked_bash(vars: &str, script: &str, args: &[&str], limit: Duration) -> Output {
    let start = format!(r#"LD_PRELOAD={LIBRARY} {vars} exec /bin/bash -c "$1" bash "${{@:2}}""#);
    let args: Vec<&str> = [script].into_iter().chain(args.iter().copied()).collect();
    run_in_root(&start, &args, limit)
}

/// Like [`tracked_bash`], and asserts success with nothing on stderr.
fn tracked_success(script: &str, args: &[&str]) -> Output {
    assert_clean(script, tracked_bash("", script, args, QUICK))
}

#[test]
fn the_root_has_glibc_2_31_and_the_portable_build_loads_there() {
    let out = clean_success("getconf GNU_LIBC_VERSION; ldd --version", &[]);
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some(format!("glibc {ROOT_GLIBC}").as_str()), "{stdout}");
    let ldd = lines.next().unwrap_or("");
    assert!(
        ldd.starts_with(&format!("ldd (Debian GLIBC {ROOT_GLIBC}-")) && ldd.ends_with(&format!(") {ROOT_GLIBC}")),
        "{stdout}"
    );

    let out = clean_success(&format!("LD_PRELOAD={LIBRARY} /bin/true; {INJECTOR} --version"), &[]);
    assert_eq!(text(&out.stdout), "envtrack-inject 0.1.0\n");
}

#[test]
fn doctor_finds_glibc_2_31_new_enough_for_the_portable_build() {
    let out = clean_success(&format!("{INJECTOR} doctor"), &[]);
    let stdout = text(&out.stdout);
    for line in [
        format!("ok   library {LIBRARY} loads into /bin/true"),
        format!("ok   glibc {ROOT_GLIBC} here; envtrack needs {PORTABLE_GLIBC} or later (see --hosts for the nodes)"),
        "ok   launcher mpirun: /usr/bin/mpirun (Open MPI 4.1.0)".to_string(),
        "ok   launcher mpiexec.hydra: not on PATH".to_string(),
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

/// The symbol versions a loader's lines on `stderr` say are missing, when every line is
/// `PROGRAM: /lib/x86_64-linux-gnu/libc.so.6: version `VERSION' not found (required by FILE)`.
fn missing_versions(stderr: &str, program: &str, file: &str) -> Vec<String> {
    let prefix = format!("{program}: /lib/x86_64-linux-gnu/libc.so.6: version `");
    let suffix = format!("' not found (required by {file})");
    stderr
        .lines()
        .map(|line| {
            let version = line.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(&suffix));
            version.unwrap_or_else(|| panic!("not a missing version of {file}: {line}\n{stderr}")).to_string()
        })
        .collect()
}

/// `GLIBC_2.34` as (2, 34); None for other versions (`GLIBC_ABI_DT_RELR`).
fn glibc_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.strip_prefix("GLIBC_")?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[test]
fn the_native_build_does_not_load_on_glibc_2_31() {
    // What the portable build is for, and the proof that this slice runs against an older glibc:
    // the native artifacts, which load on this machine, need glibc 2.36 (DT_RELR, and symbols of
    // 2.32 to 2.35 for the injector), and the root's loader refuses them.
    let host = envtrack_tests::success(
        std::process::Command::new("/bin/true").env_clear().env("LD_PRELOAD", envtrack_tests::library()),
    );
    assert!(host.stderr.is_empty(), "{}", text(&host.stderr));
    let (dir, host_dir) = root_scratch("native");
    let library = format!("{dir}/libenvtrack.so");
    let injector = format!("{dir}/envtrack-inject");
    std::fs::copy(envtrack_tests::library(), host_dir.join("libenvtrack.so")).unwrap();
    std::fs::copy(envtrack_tests::injector(), host_dir.join("envtrack-inject")).unwrap();
    for (command, program, file) in [
        (format!("LD_PRELOAD={library} /bin/true"), "/bin/true", &library),
        (format!("{injector} --version"), injector.as_str(), &injector),
    ] {
        let out = run_in_root(&command, &[], QUICK);
        let stderr = text(&out.stderr);
        // Exit status 1: the loader's version check failed.
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(out.stdout.is_empty(), "{command}: {}", text(&out.stdout));
        let missing = missing_versions(&stderr, program, file);
        // Both are linked with DT_RELR relocations (glibc 2.36); the injector also names symbols
        // of 2.32 to 2.35 (the library no longer does: see symbols.rs).
        assert!(missing.iter().any(|v| v == "GLIBC_ABI_DT_RELR"), "{command}: {missing:?}");
        assert!(
            missing.iter().filter_map(|v| glibc_version(v)).all(|v| v > (2, 31)),
            "{command}: a version the root's glibc has is said to be missing: {missing:?}"
        );
    }
}

#[test]
fn a_tracked_export_reaches_a_child_started_with_env_i() {
    let script = r#"export SECRET="a b"; env -i /usr/bin/printenv SECRET"#;
    let out = tracked_success(script, &[]);
    assert_eq!(text(&out.stdout), "a b\n");
    // Without the library, env -i leaves nothing.
    let out = run_in_root(script, &[], QUICK);
    assert_eq!((out.status.code(), text(&out.stdout), text(&out.stderr)), (Some(1), String::new(), String::new()));

    // A value Python's os.environ sets (putenv), through env -i too.
    let python = r#"
import os, subprocess
os.environ["FROM_PYTHON"] = "set through os.environ"
subprocess.run(["env", "-i", "/usr/bin/printenv", "FROM_PYTHON", "SECRET"], check=True)
"#;
    let out = tracked_success(r#"export SECRET="a b"; exec python3 -c "$1""#, &[python]);
    assert_eq!(text(&out.stdout), "set through os.environ\na b\n");
}

#[test]
fn python_subprocess_with_env_empty_through_posix_spawn_and_fork_exec() {
    // Python 3.9 spawns through os.posix_spawn (glibc's posix_spawn, which execs through glibc's
    // internal execve, not the exported one) when _USE_POSIX_SPAWN (glibc 2.24 or later) and the
    // executable has a directory part, close_fds=False, no cwd, no preexec_fn, no pass_fds, no
    // new session, no user or group change, no umask, and every redirected descriptor above 2;
    // otherwise through _posixsubprocess.fork_exec (fork, then execve). Both functions are looked
    // up at each call, so wrapping them records the path each run took.
    let python = r#"
import os, subprocess
assert subprocess._USE_POSIX_SPAWN is True, subprocess._USE_POSIX_SPAWN
os.environ["FROM_PYTHON"] = "set through os.environ"
taken = []
real_posix_spawn = os.posix_spawn
def posix_spawn(*args, **kwargs):
    taken.append("posix_spawn")
    return real_posix_spawn(*args, **kwargs)
os.posix_spawn = posix_spawn
real_fork_exec = subprocess._posixsubprocess.fork_exec
def fork_exec(*args):
    taken.append("fork_exec")
    return real_fork_exec(*args)
subprocess._posixsubprocess.fork_exec = fork_exec
for close_fds in (False, True):
    out = subprocess.run(["/usr/bin/printenv", "SECRET", "FROM_PYTHON"], env={}, close_fds=close_fds,
                         stdout=subprocess.PIPE, check=True).stdout
    print(taken[-1], repr(out))
print(taken)
"#;
    let expected = "posix_spawn b'a b\\nset through os.environ\\n'\n\
                    fork_exec b'a b\\nset through os.environ\\n'\n\
                    ['posix_spawn', 'fork_exec']\n";
    let script = r#"export SECRET="a b"; exec python3 -c "$1""#;
    let out = tracked_success(script, &[python]);
    assert_eq!(text(&out.stdout), expected);
    // Without the library the children get nothing: printenv fails.
    let out = run_in_root(script, &[python], QUICK);
    let stderr = text(&out.stderr);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(1), String::new()), "{stderr}");
    assert!(
        stderr.ends_with(
            "CalledProcessError: Command '['/usr/bin/printenv', 'SECRET', 'FROM_PYTHON']' returned non-zero exit \
             status 1.\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_vfork_child_with_an_empty_environment_gets_the_tracked_values() {
    // Python 3.9 has no vfork path: a C program, compiled for glibc 2.17 by zig.
    let program = zig_c_program("vfork_empty_env");
    let script = format!(r#"export SECRET="a b"; exec {program} /usr/bin/printenv SECRET SET_IN_C"#);
    let out = tracked_success(&script, &[]);
    assert_eq!(text(&out.stdout), "a b\nset by setenv before vfork\n");
    let out = run_in_root(&script, &[], QUICK);
    assert_eq!((out.status.code(), text(&out.stdout), text(&out.stderr)), (Some(1), String::new(), String::new()));
}

/// Before glibc 2.34 a process that loads no libdl has no dlsym: the library finds the real
/// functions by its own walk. Here the execve after ours is a competing preload's IFUNC, or is in a
/// library with only a System V hash table, and nothing in the process links libdl.
#[test]
fn without_dlsym_the_next_execve_is_found_as_an_ifunc_or_through_a_sysv_hash_table() {
    let program = zig_c_program("vfork_empty_env");
    let variants = [
        ("ifunc-nodl", vec!["-DFORWARD_BY_SYSCALL", "-DAS_IFUNC"]),
        ("sysv-nodl", vec!["-DFORWARD_BY_SYSCALL", "-Wl,--hash-style=sysv"]),
        ("ifunc-sysv-nodl", vec!["-DFORWARD_BY_SYSCALL", "-DAS_IFUNC", "-Wl,--hash-style=sysv"]),
    ];
    for (variant, flags) in variants {
        let other = zig_c_library("other_preload_kinds", variant, &flags);
        let script = format!(
            r#"ldd {program} {other} | grep -c libdl; LD_PRELOAD="{LIBRARY} {other}" {program} /usr/bin/printenv SET_IN_C"#
        );
        let out = run_in_root(&script, &[], QUICK);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{variant}: {stdout}{stderr}");
        assert_eq!(stdout, "0\nset by setenv before vfork\n", "{variant}: {stderr}");
        assert_eq!(stderr, "other_preload_kinds: execve\n", "{variant}");
    }
}

#[test]
fn the_injector_runs_exports_and_applies() {
    let (dir, host_dir) = root_scratch("inject");
    // Run mode: the command runs under the library, with the flags' directives.
    let script = r#"export X="v w"; env -i /usr/bin/printenv X FROM_FLAG"#;
    let out = clean_success(&format!("{INJECTOR} --set FROM_FLAG=flag -- bash -c {}", shell_quote(script)), &[]);
    assert_eq!(text(&out.stdout), "v w\nflag\n");

    // export, from a tracked process, then apply in a clean environment.
    let snapshot = format!("{dir}/snapshot.json");
    let script = format!(r#"export X="v w"; export PATH=/opt/x:$PATH; {INJECTOR} export -o {snapshot}"#);
    clean_success(&format!("{INJECTOR} -- bash -c {}", shell_quote(&script)), &[]);
    let json: Value = serde_json::from_slice(&std::fs::read(host_dir.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(json["envtrack_snapshot"], 1, "{json}");
    assert_eq!(
        json["tracked"],
        serde_json::json!([
            {"op": "set", "name": "X", "value": "v w", "sep": ":"},
            {"op": "prepend", "name": "PATH", "value": "/opt/x", "sep": ":"},
        ]),
        "{json}"
    );
    let out = clean_success(
        &format!("env -i PATH=/usr/bin:/bin {INJECTOR} apply --snapshot {snapshot} -- printenv X PATH"),
        &[],
    );
    assert_eq!(text(&out.stdout), "v w\n/opt/x:/usr/bin:/bin\n");
}

/// An `mpirun` (Open MPI 4.1.0) command line that starts `rank_report.py` on two clean fake nodes
/// through `agent` ([`fake_ssh_agent`]), with `options` before the program.
fn mpirun(agent: &str, options: &str) -> String {
    let args = envtrack_tests::launchers::openmpi_args(std::path::Path::new(agent), "nodeA,nodeB");
    let words: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    format!("mpirun {} {options} -n 2 python3 {TESTS}/rank_report.py", words.join(" "))
}

#[test]
fn open_mpi_ranks_on_clean_nodes_get_the_tracked_values() {
    let (dir, host_dir) = root_scratch("openmpi");
    let out = clean_success("mpirun --version", &[]);
    assert!(text(&out.stdout).starts_with("mpirun (Open MPI) 4.1.0\n"), "{}", text(&out.stdout));
    let agent = fake_ssh_agent(&dir);
    // mpirun gets a TMPDIR of its own (see openmpi_args); the fake nodes have theirs.
    let tmp = format!("mkdir -p {dir}/tmp; export TMPDIR={dir}/tmp");

    // No -x option: the values travel because envtrack routes mpirun, through the injector the
    // library finds in ../bin from itself (the installed layout).
    let launch = format!("{tmp}; {}", mpirun(&agent, ""));
    let out = tracked_bash("", &exporting_test_values(&launch), &[], LAUNCH);
    assert!(out.status.success(), "{launch}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_no_leak(&out, &host_dir, "Open MPI 4.1.0 on glibc 2.31");
    assert_ranks_got_everything(&reports(&out.stdout), "Open MPI 4.1.0 on glibc 2.31");
    // Routed without a word: no `envtrack:` line (such as "cannot route mpirun").
    assert_eq!(text(&out.stderr), "");

    // Control: the same launch without the library, and REPORT_NAMES forwarded by hand so that the
    // ranks report on the values: they get none of them, and their node's own PATH.
    let launch = format!("{tmp}; {}", mpirun(&agent, "-x REPORT_NAMES"));
    let out = run_in_root(&exporting_test_values(&launch), &[], LAUNCH);
    assert!(out.status.success(), "{launch}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let reports = reports(&out.stdout);
    let mut nodes: Vec<&str> = reports.iter().map(|r| r["node"].as_str().unwrap_or("")).collect();
    nodes.sort();
    assert_eq!(nodes, ["nodeA", "nodeB"], "{reports:?}");
    for report in &reports {
        let nothing = serde_json::json!({
            "SECRET_VALUE": null, "NCCL_DEBUG": null, "RAW": null, "PATH": "/usr/local/bin:/usr/bin:/bin",
        });
        assert_eq!(report["values"], nothing, "{report}");
        assert_eq!(report["tracked"], false, "{report}");
    }
}

/// `doctor --hosts` run here, on glibc 2.36, about a node whose glibc is 2.31 (the root, reached
/// through an agent that runs the command there as ssh would): it says the native build cannot run
/// there and why, and that the portable build can. The artifacts are at the same path on both
/// sides, as on a shared filesystem: a tmpfs on /mnt, in a mount namespace of the test's own, bound
/// into the root by the agent.
#[test]
fn doctor_hosts_says_whether_a_nodes_older_glibc_can_run_each_build() {
    let (_, scratch) = root_scratch("doctor_hosts");
    let agent = scratch.join("old-node-agent");
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\n# old-node-agent HOST COMMAND: runs COMMAND in the Debian 11 root, from a clean environment.\n\
             shift\nexec unshare --mount --propagation private -- /bin/sh -c 'mount --bind /mnt \"$0/mnt\" && \
             mount -t proc proc \"$0/proc\" && exec /usr/sbin/chroot \"$0\" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
             /bin/sh -c \"$1\"' {} \"$*\"\n",
            shell_quote(root().to_str().unwrap())
        ),
    )
    .unwrap();
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let native = envtrack_tests::workspace().join("target/release");
    let script = r#"set -e
mount -t tmpfs envtrack-doctor /mnt
for build in native portable; do
  mkdir -p /mnt/$build/bin /mnt/$build/lib
done
cp "$1/envtrack-inject" /mnt/native/bin/; cp "$1/libenvtrack.so" /mnt/native/lib/
cp "$2/envtrack-inject" /mnt/portable/bin/; cp "$2/libenvtrack.so" /mnt/portable/lib/
for build in native portable; do
  echo "== $build"
  /mnt/$build/bin/envtrack-inject doctor --hosts oldnode --ssh "$3" | grep 'host oldnode' || true
done"#;
    let mut command = std::process::Command::new("/usr/bin/unshare");
    command.env_clear().env("PATH", "/usr/bin:/bin");
    command.args(["--mount", "--propagation", "private", "--", "/bin/bash", "-c", script, "bash"]);
    command.arg(&native).arg(portable_dir()).arg(&agent);
    let out = envtrack_tests::launchers::output_within(&mut command, LAUNCH);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let expected = format!(
        "== native\n\
         FAIL host oldnode (glibc {ROOT_GLIBC}): its glibc {ROOT_GLIBC} is older than the 2.36 envtrack needs: a \
         process started there with LD_PRELOAD=/mnt/native/lib/libenvtrack.so would fail to start; install a \
         release built for an older glibc; /mnt/native/bin/envtrack-inject is there but does not run; \
         /mnt/native/lib/libenvtrack.so does not load into /bin/true\n\
         == portable\n\
         ok   host oldnode: glibc {ROOT_GLIBC}; /mnt/portable/bin/envtrack-inject runs; \
         /mnt/portable/lib/libenvtrack.so loads\n"
    );
    assert_eq!(stdout, expected, "stderr: {}", text(&out.stderr));
}

/// Before glibc 2.34 there is no execveat wrapper, and a program that checks for one (a weak
/// reference, or dlsym) makes the system call itself. The library exports execveat: with it
/// preloaded the program finds that one, which has no real function to call and fails with
/// ENOSYS, where without the library the program runs echo.
#[test]
fn execveat_looked_for_on_glibc_2_31_runs_like_without_the_library() {
    let program = zig_c_program("execveat_weak");
    let out = clean_success(&program, &[]);
    assert_eq!(text(&out.stdout), "the system call\nran echo\n");
    let out = run_in_root(&format!("LD_PRELOAD={LIBRARY} {program}"), &[], QUICK);
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(0), String::new()), "stdout: {}", text(&out.stdout));
    assert!(text(&out.stdout).ends_with("ran echo\n"), "{}", text(&out.stdout));
}

/// On glibc 2.31 (no execveat wrapper) the library's execveat is the system call: every case gives
/// what the system call gives, where without the library the wrapper is absent.
#[test]
fn execveat_through_the_library_is_the_system_call_in_every_case() {
    let program = zig_c_program("execveat_cases");
    let out = run_in_root(&format!("cd /tmp && LD_PRELOAD={LIBRARY} {program}"), &[], QUICK);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.lines().count() >= 10, "{stdout}");
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let wrapper = words.iter().find_map(|w| w.strip_prefix("wrapper="));
        let syscall = words.iter().find_map(|w| w.strip_prefix("syscall="));
        assert!(wrapper.is_some() && wrapper == syscall, "{line}\n{stdout}");
    }
    let without = run_in_root(&format!("cd /tmp && {program}"), &[], QUICK);
    assert!(text(&without.stdout).lines().all(|l| l.contains("wrapper=absent")), "{}", text(&without.stdout));
}

/// The wheel's files laid out in the root as pip lays them out (PREFIX/bin, PREFIX/lib, the package
/// on PYTHONPATH), with the package's unit tests: run by Debian 11's Python 3.9 on glibc 2.31.
#[test]
fn the_python_package_and_its_unit_tests_run_on_python_3_9() {
    let (dir, host_dir) = root_scratch("python");
    let wheel = envtrack_tests::python_package::wheel();
    let unpack = r#"import sys, zipfile, os, stat
wheel, prefix = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    for member in archive.infolist():
        name = member.filename
        if ".data/scripts/" in name: target = os.path.join(prefix, "bin", name.split(".data/scripts/", 1)[1])
        elif ".data/data/" in name: target = os.path.join(prefix, name.split(".data/data/", 1)[1])
        elif name.startswith("envtrack/"): target = os.path.join(prefix, "site", name)
        else: continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out: out.write(archive.read(member))
        os.chmod(target, (member.external_attr >> 16) & 0o777)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", unpack])
        .arg(&wheel)
        .arg(host_dir.join("prefix"))
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tests = envtrack_tests::workspace().join("python/tests/test_envtrack.py");
    std::fs::create_dir_all(host_dir.join("tests")).unwrap();
    std::fs::copy(tests, host_dir.join("tests/test_envtrack.py")).unwrap();

    let script = format!(
        r#"cd {dir} && export PATH={dir}/prefix/bin:/usr/bin:/bin PYTHONPATH={dir}/prefix/site &&
python3 -c 'import sys; print(sys.version_info[:2])' &&
python3 -m unittest discover -s tests 2>&1 | tail -n 3 &&
printf '%s\n' 'import envtrack, os, subprocess, sys' 'sys.argv[0] = "renamed"' \
  'print(envtrack.activate(), sys.stdout.write_through, end=" ", flush=True)' \
  'os.environ["LATER"] = "v"' 'subprocess.run(["printenv", "LATER"])' > activated.py &&
python3 -u activated.py"#
    );
    let out = run_in_root(&script, &[], Duration::from_secs(120));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("(3, 9)\n"), "{stdout}");
    assert!(stdout.contains("\nOK\n"), "{stdout}");
    // Run again from /proc/self/cmdline (no sys.orig_argv before 3.10): the script as started, -u kept.
    assert!(stdout.ends_with("True True v\n"), "{stdout}");
}
