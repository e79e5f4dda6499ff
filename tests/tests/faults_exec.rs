//! Regression tests for faults of the exec and spawn paths, each reproduced
//! end to end with a real program: memory a `vfork` child leaves in its
//! parent, a caller's envp taken for libc's, explicit entries dropped while
//! another thread calls setenv, an exec that only envtrack's additions push
//! past the kernel's limit, a relative `LD_PRELOAD` after `chdir`, a
//! launcher that is not on `PATH`, a lock left held by a killed `vfork`
//! child, more job directives than the build handles, and exec retries
//! across the stack buffer's size.
//!
//! Every run has a hard time limit: a hang fails the test instead of
//! blocking the suite.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use envtrack_tests::*;

const PYTHON: &str = "/usr/bin/python3";
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `command` in a process group of its own and returns its output; if it
/// outlives `limit`, kills the whole group and fails: a hang is a failure.
fn run_limited(command: &mut Command, limit: Duration) -> Output {
    command.process_group(0).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr is piped")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            // The group's leader is not reaped yet, so its group id is still ours.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "{:?} {:?} hung for more than {limit:?} and was killed; stderr:\n{}",
                command.get_program(),
                command.get_args().collect::<Vec<_>>(),
                tail(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output { status, stdout: stdout.join().expect("stdout reader"), stderr: stderr.join().expect("stderr reader") }
}

/// The last few KiB of `bytes`, as text.
fn tail(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(4000)..]).into_owned()
}

/// A scratch directory removed when the test ends, passed or failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        Scratch(scratch(&format!("faults_exec_{test}")))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python_program(name: &str) -> PathBuf {
    workspace().join("tests/programs").join(name)
}

/// `NAME=VALUE` of `name` and `value`.
fn entry(name: &str, value: impl AsRef<[u8]>) -> Vec<u8> {
    let mut entry = format!("{name}=").into_bytes();
    entry.extend_from_slice(value.as_ref());
    entry
}

/// `LD_PRELOAD=` this library.
fn preload_entry() -> Vec<u8> {
    entry("LD_PRELOAD", library().as_os_str().as_bytes())
}

/// A clean environment without the library.
fn plain_env() -> Vec<Vec<u8>> {
    vec![b"PATH=/usr/local/bin:/usr/bin:/bin".to_vec(), b"HOME=/root".to_vec()]
}

/// `PAD_00=ppp…`, `PAD_01=…`: `total` bytes of environment strings (NULs
/// included), no string over 99,000 bytes (the kernel refuses one of 128 KiB).
fn padding(total: usize) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    let mut left = total;
    while left > 0 {
        let name = format!("PAD_{:02}", entries.len());
        let size = left.min(99_000);
        entries.push(entry(&name, vec![b'p'; size.saturating_sub(name.len() + 2)]));
        left -= size;
    }
    entries
}

/// The number after `key ` on a line of `stdout`.
fn figure(stdout: &[u8], key: &str) -> i64 {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .find_map(|line| line.strip_prefix(key).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no `{key} N` in the output:\n{text}"))
}

/// The `env -0` outputs a program wrote, each followed by `@@END@@\0`.
fn sections(stdout: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut sections = vec![Vec::new()];
    for item in stdout.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        if item == b"@@END@@" {
            sections.push(Vec::new());
        } else {
            sections.last_mut().expect("one open section").push(item.to_vec());
        }
    }
    sections.pop(); // what follows the last marker
    sections
}

fn show(entry: &[u8]) -> String {
    String::from_utf8_lossy(&entry[..entry.len().min(60)]).into_owned()
}

// 1. vfork children leak the parent's memory.

/// VmRSS growth (KiB) of a Python parent running `/bin/true` through
/// subprocess (vfork) `runs` times from 4 threads, with `size` bytes of
/// environment, with the library or without.
fn subprocess_rss_growth(size: usize, runs: usize, tracked: bool) -> i64 {
    let mut env = plain_env();
    if tracked {
        env.push(preload_entry());
    }
    env.extend(padding(size));
    let mut command = command_with_env(PYTHON, env);
    command.arg(python_program("subprocess_rss.py")).args([runs.to_string(), "4".into(), "20".into()]);
    let out = run_limited(&mut command, LIMIT);
    assert!(out.status.success(), "subprocess_rss.py ({size} bytes): {}", tail(&out.stderr));
    figure(&out.stdout, "rss_growth_kib")
}

#[test]
fn vfork_children_of_python_leave_no_memory_in_the_parent() {
    // 520 runs (130 on each of 4 threads) at 20 KiB and 200 KiB; 128 at 1.5 MiB, where every
    // run costs tens of milliseconds under the library and 128 leaked mappings are ~200 MiB.
    let mut failures = Vec::new();
    for (size, runs) in [(20 << 10, 520), (200 << 10, 520), (1536 << 10, 128)] {
        let with = subprocess_rss_growth(size, runs, true);
        let without = subprocess_rss_growth(size, runs, false);
        eprintln!(
            "subprocess.run x{runs}, environment {} KiB: VmRSS grew {with} KiB with the library, {without} KiB without",
            size >> 10
        );
        if with >= 4 << 10 {
            failures
                .push(format!("{} KiB environment: grew {with} KiB (without the library: {without} KiB)", size >> 10));
        }
    }
    assert!(failures.is_empty(), "the parent's VmRSS grew by 4 MiB or more:\n{}", failures.join("\n"));
}

#[test]
fn vfork_and_execve_from_c_leave_no_memory_in_the_parent() {
    let program = c_program("vfork_exec_rss", false);
    let mut growth = Vec::new();
    for tracked in [true, false] {
        let mut env = plain_env();
        if tracked {
            env.push(preload_entry());
        }
        env.extend(padding(200 << 10));
        let mut command = command_with_env(&program, env);
        command.arg("500");
        let out = run_limited(&mut command, LIMIT);
        assert!(out.status.success(), "vfork_exec_rss: {}", tail(&out.stderr));
        growth.push(figure(&out.stdout, "rss_growth_kib"));
    }
    eprintln!(
        "vfork + execve x500, environment 200 KiB: VmRSS grew {} KiB with the library, {} KiB without",
        growth[0], growth[1]
    );
    assert!(growth[0] < 4 << 10, "the parent's VmRSS grew by {} KiB over 500 vfork + execve", growth[0]);
}

// 2. A caller's envp is replaced by environ.

#[test]
fn an_envp_at_the_address_of_a_freed_environ_is_still_the_callers() {
    let program = c_program("own_envp_after_setenv", false);
    let mut command = command_with_env(&program, tracked_env(&["SECRET=hunter2"]));
    command.args(["120", "160"]);
    let out = run_limited(&mut command, LIMIT);
    assert!(out.status.success(), "own_envp_after_setenv: {}", tail(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    // The fault needs an envp that malloc placed where libc's environment array was.
    let reused: usize = stderr
        .split_once("own_envp_after_setenv: ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .expect("the program says how many envp arrays reused a freed environ's address");
    assert!(reused > 0, "precondition: no envp landed on a freed environ array, the case is not exercised: {stderr}");
    let children = sections(&out.stdout);
    assert_eq!(children.len(), 159, "one env -0 output per envp size");
    let mut wrong = Vec::new();
    for (at, entries) in children.iter().enumerate() {
        let size = at + 2;
        let odd: Vec<String> = entries
            .iter()
            .filter(|e| {
                let name = e.split(|&b| b == b'=').next().unwrap_or_default();
                !(name == b"ONLY"
                    || name.starts_with(b"SET_")
                    || name == b"LD_PRELOAD"
                    || name.starts_with(b"ENVTRACK_"))
            })
            .map(|e| show(e))
            .collect();
        if env0_get(entries, "ONLY") != Some(&b"this"[..]) || env0_count(entries, "ONLY") != 1 || !odd.is_empty() {
            wrong.push(format!(
                "envp of {size} pointers: ONLY={:?}, not the caller's: {odd:?}",
                env0_get(entries, "ONLY").map(String::from_utf8_lossy)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} children did not get the envp their parent passed:\n{}",
        wrong.len(),
        children.len(),
        wrong.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

// 3. A setenv racing a spawn drops explicit entries.

#[test]
fn explicit_entries_survive_setenv_on_other_threads() {
    let program = c_program("spawn_while_setenv", false);
    let mut command = command_with_env(&program, tracked_env(&[]));
    command.arg("100");
    let out = run_limited(&mut command, LIMIT);
    assert!(out.status.success(), "spawn_while_setenv: {}", tail(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<i64> =
        text.lines().filter_map(|l| l.strip_prefix("count ")).map(|n| n.trim().parse().expect("a count")).collect();
    assert_eq!(counts.len(), 100, "one count per spawn:\n{text}");
    let short: Vec<(usize, i64)> = counts.iter().copied().enumerate().filter(|&(_, n)| n != 3000).collect();
    eprintln!(
        "posix_spawn x100 with 3000 explicit PROBE_ entries while 4 threads setenv/unsetenv them: {} children short",
        short.len()
    );
    assert!(
        short.is_empty(),
        "{} of 100 children did not get all 3000 PROBE_=x entries the caller passed; (spawn, count): {:?}",
        short.len(),
        &short[..short.len().min(20)]
    );
}

// 4. E2BIG caused by envtrack.

/// The largest padding with which `how` starts /bin/true, found without the library.
fn largest_environment(how: &str) -> usize {
    let mut command = command_with_env(PYTHON, plain_env());
    command.arg(python_program("exec_at_e2big_edge.py")).args(["search", how]);
    let out = run_limited(&mut command, LIMIT);
    assert!(out.status.success(), "search: {}", tail(&out.stderr));
    figure(&out.stdout, "largest") as usize
}

fn exec_at_the_e2big_edge(how: &str) {
    let largest = largest_environment(how);
    let mut command = command_with_env(PYTHON, tracked_env(&[]));
    command.arg(python_program("exec_at_e2big_edge.py")).args(["run", how, &largest.to_string()]);
    let out = run_limited(&mut command, LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = envtrack_lines(&out.stderr);
    eprintln!("{how}: {largest} bytes of environment start /bin/true without the library; with it: {}", stdout.trim());
    assert!(out.status.success(), "exec_at_e2big_edge.py: {}", tail(&out.stderr));
    assert_eq!(
        stdout.trim(),
        "exit 0",
        "{how} with the largest environment that works without the library ({largest} bytes), under the library; \
         stderr:\n{}",
        tail(&out.stderr)
    );
    assert_eq!(lines.len(), 1, "one envtrack: line saying what was not carried: {lines:?}");
}

#[test]
fn an_exec_at_the_kernels_limit_still_succeeds_through_subprocess() {
    exec_at_the_e2big_edge("subprocess");
}

#[test]
fn an_exec_at_the_kernels_limit_still_succeeds_through_posix_spawn() {
    exec_at_the_e2big_edge("posix_spawn");
}

// 5. A relative LD_PRELOAD is handed on as it is.

#[test]
fn a_relative_ld_preload_still_reaches_children_after_chdir() {
    let library = library().canonicalize().expect("the library");
    let mut env = plain_env();
    env.push(b"LD_PRELOAD=./target/release/libenvtrack.so".to_vec());
    let mut command = command_with_env(PYTHON, env);
    command.arg(python_program("spawn_after_chdir.py")).current_dir(workspace());
    let out = run_limited(&mut command, LIMIT);
    assert!(out.status.success(), "spawn_after_chdir.py: {}", tail(&out.stderr));
    let children = sections(&out.stdout);
    let names = ["the child", "the grandchild through env -i", "the grandchild through subprocess(env={})"];
    assert_eq!(children.len(), names.len(), "three outputs:\n{}", tail(&out.stdout));
    let mut wrong = Vec::new();
    for (entries, who) in children.iter().zip(names) {
        let preload = env0_get(entries, "LD_PRELOAD").unwrap_or_default();
        let first = preload.split(|&b| b == b':').next().unwrap_or_default();
        let absolute = first.starts_with(b"/")
            && Path::new(std::ffi::OsStr::from_bytes(first)).canonicalize().ok().as_deref() == Some(library.as_path());
        if !absolute || env0_get(entries, "MARK") != Some(&b"m"[..]) {
            wrong.push(format!(
                "{who}: LD_PRELOAD={:?}, MARK={:?}",
                String::from_utf8_lossy(preload),
                env0_get(entries, "MARK").map(String::from_utf8_lossy)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "after os.chdir('/'), started with LD_PRELOAD=./target/release/libenvtrack.so:\n{}\nstderr:\n{}",
        wrong.join("\n"),
        tail(&out.stderr)
    );
}

// 6. A missing launcher becomes exit 2.

#[test]
fn a_launcher_missing_from_path_fails_with_enoent() {
    let dirs = Scratch::new("missing_launcher");
    let empty = dirs.0.join("empty");
    let with_launcher = dirs.0.join("with_launcher");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&with_launcher).unwrap();
    let fake = with_launcher.join("srun");
    std::fs::write(&fake, "#!/bin/sh\necho fake srun \"$@\"\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let program = c_program("exec_by_name", false);
    let env_with_path =
        |dir: &Path| vec![entry("PATH", dir.as_os_str().as_bytes()), b"HOME=/root".to_vec(), preload_entry()];
    let run = |how: &str, dir: &Path| {
        let mut command = command_with_env(&program, env_with_path(dir));
        command.args([how, "srun"]);
        let out = run_limited(&mut command, LIMIT);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), tail(&out.stderr))
    };

    // Positive control: with srun on PATH, the exec goes ahead (routed or not: not asserted here).
    let (_, stdout, _) = run("execvp", &with_launcher);
    assert!(!stdout.contains("execvp returned"), "srun on PATH: execvp returned: {stdout}");
    let (_, stdout, _) = run("posix_spawnp", &with_launcher);
    assert!(stdout.contains("posix_spawnp returned 0"), "srun on PATH: {stdout}");

    let mut wrong = Vec::new();
    let (status, stdout, stderr) = run("execvp", &empty);
    if status != Some(0) || !stdout.contains("execvp returned -1 errno 2") {
        wrong.push(format!("execvp(\"srun\"): exit status {status:?}, stdout {stdout:?}, stderr {stderr:?}"));
    }
    let (status, stdout, stderr) = run("posix_spawnp", &empty);
    if status != Some(0) || stdout.trim() != "posix_spawnp returned 2" {
        wrong.push(format!("posix_spawnp(\"srun\"): exit status {status:?}, stdout {stdout:?}, stderr {stderr:?}"));
    }
    // Python's subprocess searches PATH itself and execs full paths, which are not routed when
    // missing: this part holds today; execvp and posix_spawnp by name are what fail.
    let script = "import subprocess\ntry:\n    subprocess.run(['mpirun', '--version'])\n    print('ran')\n\
                  except FileNotFoundError:\n    print('FileNotFoundError')\n";
    let mut python = command_with_env(PYTHON, env_with_path(&empty));
    python.args(["-c", script]);
    let out = run_limited(&mut python, LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.trim() != "FileNotFoundError" {
        wrong.push(format!("subprocess.run(['mpirun', …]): {stdout:?}, stderr {:?}", tail(&out.stderr)));
    }
    assert!(wrong.is_empty(), "with no launcher on PATH, not ENOENT as without the library:\n{}", wrong.join("\n"));
}

// 7. A vfork child killed in the exec path leaves the lock held.

#[test]
fn a_vfork_child_killed_in_the_exec_path_does_not_wedge_setenv() {
    let program = c_program("vfork_kill_during_exec", false);
    let mut env = tracked_env(&[]);
    env.extend((0..20_000).map(|i| format!("V_{i}=x").into_bytes()));
    let mut command = command_with_env(&program, env);
    // 300 children killed within 1 ms of starting, for at most 8 seconds.
    command.args(["300", "1000", "8"]);
    let out = run_limited(&mut command, LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("vfork children killed at random in the exec path: {stdout}");
    assert!(
        stdout.contains("final setenv returned") && out.status.success(),
        "setenv in the parent did not return within 10 seconds (status {}):\n{stdout}{}",
        out.status,
        tail(&out.stderr)
    );
}

// 8. Job directives on more than 63 distinct names are ignored.

#[test]
fn a_hundred_job_directives_on_distinct_names_all_apply() {
    let dir = Scratch::new("hundred_directives");
    let job: Vec<_> = (0..100)
        .map(|i| serde_json::json!({"op": "set", "name": format!("D_{i}"), "value": format!("v{i}")}))
        .collect();
    let file = dir.0.join("directives.json");
    std::fs::write(&file, serde_json::json!({ "job": job }).to_string()).unwrap();
    let config = format!("ENVTRACK_CONFIG={}", file.display());
    let mut command = command_with_env("/bin/sh", tracked_env(&[&config]));
    command.args(["-c", "/usr/bin/env -0; true"]);
    let out = run_limited(&mut command, LIMIT);
    assert!(out.status.success(), "{}", tail(&out.stderr));
    let entries = env0_entries(&out.stdout);
    let missing: Vec<String> = (0..100)
        .filter(|i| env0_get(&entries, &format!("D_{i}")) != Some(format!("v{i}").as_bytes()))
        .map(|i| format!("D_{i}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of 100 job-level set directives did not reach the child: {}",
        missing.len(),
        missing.join(" ")
    );
}

// 9. Exec retries in vfork children across the stack buffer's size. (Today every child's
// environment is right; the mapping of each successful exec above 8 KiB stays in the parent.)

#[test]
fn vfork_exec_retries_across_the_stack_buffer_keep_entries_and_memory() {
    let mut command = command_with_env(PYTHON, tracked_env(&[]));
    // Environments of 6 KiB to 10 KiB in steps of 256 bytes, 30 children each.
    command.arg(python_program("subprocess_path_retry.py")).args(["6144", "10240", "256", "30"]);
    let out = run_limited(&mut command, LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "subprocess_path_retry.py: {}", tail(&out.stderr));
    let (bad, children, growth) =
        (figure(&out.stdout, "bad_children"), figure(&out.stdout, "children"), figure(&out.stdout, "rss_growth_kib"));
    eprintln!(
        "subprocess.run x{children} (6-10 KiB, 4 failing PATH candidates each, setenv on another thread): \
         {bad} children wrong, VmRSS grew {growth} KiB"
    );
    assert_eq!(bad, 0, "children without the tracked variable or the caller's entries byte-exact:\n{stdout}");
    assert!(growth < 2 << 10, "the parent's VmRSS grew by {growth} KiB over {children} children");
}

/// More vfork children building at once than the pool once had slots (32): each used to leave
/// a mapping of its own in the parent. 64 threads, 2,000 tracked variables (every build is past
/// the stack buffer), 4 rounds: the parent's memory after the first round stays flat.
#[test]
fn many_vfork_children_building_at_once_leave_no_memory_in_the_parent() {
    let program = envtrack_tests::c_program("vfork_many_threads", false);
    let mut command = command_with_env("timeout", envtrack_tests::tracked_env(&[]));
    command.arg("120").arg(&program).args(["64", "2000", "5", "4"]);
    let out = envtrack_tests::success(&mut command);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rss: Vec<i64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("round ").and_then(|r| r.split(" rss_kib ").nth(1)))
        .map(|k| k.trim().parse().unwrap())
        .collect();
    assert_eq!(rss.len(), 4, "{stdout}");
    eprintln!("64 threads x vfork+execve, 2,000 variables: VmRSS by round {rss:?} KiB");
    assert!(rss[3] - rss[0] < 8 * 1024, "the parent grew by {} KiB after the first round: {stdout}", rss[3] - rss[0]);
    assert!(stdout.contains("failures 0"), "{stdout}");
}

/// Execs from a thread with a 16 KiB stack, from a handler on an 8 KiB signal stack, from a
/// clone(CLONE_VM|CLONE_CHILD_CLEARTID) child whose parent waits for the kernel to clear its
/// ctid at the exec, and with a signal handler calling setenv while the main thread spawns:
/// each gives what it gives without the library (the library once overflowed the small
/// stacks, lent the clone child's ctid to its pool so the parent never woke, and spun forever
/// in the handler's setenv).
#[test]
fn execs_from_small_stacks_clone_children_and_signal_handlers_behave_as_without_the_library() {
    let program = envtrack_tests::c_program("odd_exec_contexts", false);
    let cases: [&[&str]; 7] = [
        &["small-stack", "posix_spawn"],
        &["small-stack", "system"],
        &["small-stack", "vfork"],
        &["small-stack", "fork"],
        &["signal-stack"],
        &["clone-cleartid", "2000"],
        &["signal-setenv"],
    ];
    for args in cases {
        let run = |env: Vec<Vec<u8>>| {
            let mut command = command_with_env("timeout", env);
            command.arg("30").arg(&program).args(args);
            envtrack_tests::output(&mut command)
        };
        let plain = run(vec![b"PATH=/usr/bin:/bin".to_vec()]);
        let tracked = run(envtrack_tests::tracked_env(&[]));
        assert_eq!(plain.status.code(), Some(0), "{args:?} without the library");
        assert_eq!(
            tracked.status.code(),
            plain.status.code(),
            "{args:?}: {}",
            String::from_utf8_lossy(&tracked.stderr)
        );
        if args[0] == "signal-setenv" {
            // setenv in a handler races posix_spawn's own reading of environ: a spawn may fail
            // now and then without the library too. What counts is that the run ends.
            assert!(String::from_utf8_lossy(&tracked.stdout).starts_with("signal-setenv: "), "{args:?}");
        } else {
            assert_eq!(String::from_utf8_lossy(&tracked.stdout), String::from_utf8_lossy(&plain.stdout), "{args:?}");
        }
        assert!(envtrack_lines(&tracked.stderr).len() <= 1, "{args:?}: {}", String::from_utf8_lossy(&tracked.stderr));
    }
}
