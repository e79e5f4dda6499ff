//! What the library does when a process loads and when it first needs its
//! inherited environment and state: the copy of the environment at load, under
//! a seccomp filter on `process_vm_readv`; the indexes built at the first
//! need, when that need is interrupted by a signal handler that execs; the
//! messages about a malformed inherited state, once per tree even when the
//! process forks; and a carried value whose name also has a tracked record.
//!
//! Each program runs under a time limit and is killed (by its pid) when it
//! runs over.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use envtrack_model::state_env;
use envtrack_tests::*;

/// The output of a program run under a time limit.
struct Ran {
    status: Option<ExitStatus>,
    took: Duration,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Ran {
    fn describe(&self) -> String {
        match self.status {
            None => format!("did not finish within {:.1} s (killed)", self.took.as_secs_f64()),
            Some(status) => match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit {code} after {:.2} s", self.took.as_secs_f64()),
                (None, Some(signal)) => format!("killed by signal {signal} after {:.2} s", self.took.as_secs_f64()),
                _ => format!("{status:?}"),
            },
        }
    }

    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `command`, killing it when it runs longer than `limit`.
fn run_within(command: &mut Command, limit: Duration) -> Ran {
    let dir = scratch_files();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (out, err) = (dir.join(format!("{n}.stdout")), dir.join(format!("{n}.stderr")));
    command.stdin(Stdio::null());
    command.stdout(std::fs::File::create(&out).expect("create the stdout file"));
    command.stderr(std::fs::File::create(&err).expect("create the stderr file"));
    let started = Instant::now();
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let took = started.elapsed();
    let ran = Ran {
        status,
        took,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    };
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(err);
    ran
}

/// The values of each name in `env -0` output, in order (a name given twice has two).
fn values_by_name(stdout: &[u8]) -> HashMap<Vec<u8>, Vec<Vec<u8>>> {
    let mut values: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
    for entry in env0_entries(stdout) {
        if let Some(at) = entry.iter().position(|&b| b == b'=') {
            values.entry(entry[..at].to_vec()).or_default().push(entry[at + 1..].to_vec());
        }
    }
    values
}

/// Checks that each `Vnnnnn` of `values` appears once, with a value `allowed` accepts.
fn check_tracked(values: &HashMap<Vec<u8>, Vec<Vec<u8>>>, context: &str, allowed: impl Fn(usize, &[u8]) -> bool) {
    for i in 0..INHERITED {
        let name = format!("V{i:05}");
        let got = values.get(name.as_bytes()).map(Vec::as_slice).unwrap_or_default();
        assert!(
            got.len() == 1 && allowed(i, &got[0]),
            "{context}: {name} is {:?}",
            got.iter().map(|v| String::from_utf8_lossy(v)).collect::<Vec<_>>()
        );
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn scratch_files() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| scratch("load_and_first_need")).clone()
}

// ---------------------------------------------------------------------------
// 1. Loading under a seccomp filter on process_vm_readv

/// A sandbox whose seccomp filter kills any process that calls
/// `process_vm_readv` (systemd's `SystemCallFilter=` kills by default) runs
/// programs that never call it. Under the library they must run as well: the
/// copy of the inherited environment at load must not depend on a system call
/// the sandbox may forbid.
#[test]
fn a_seccomp_filter_that_kills_process_vm_readv_does_not_kill_programs_under_the_library() {
    let sandbox = c_program("seccomp_exec", false);
    let mut problems = Vec::new();
    for (what, argv) in [
        ("printenv", vec!["/usr/bin/printenv", "MARK"]),
        ("python3 setting a variable and running a child", vec![
            "/usr/bin/python3",
            "-c",
            "import os, subprocess; os.environ['SET'] = 's'; subprocess.run(['/usr/bin/printenv', 'MARK', 'SET'], check=True)",
        ]),
    ] {
        let mut without = command_with_env(&sandbox, [&b"PATH=/usr/bin:/bin"[..], b"MARK=m"]);
        without.arg("kill").args(&argv);
        let alone = run_within(&mut without, Duration::from_secs(30));
        assert!(alone.succeeded(), "{what} without the library: {}", alone.describe());
        let mut with = command_with_env(&sandbox, tracked_env(&["MARK=m"]));
        with.arg("kill").args(&argv);
        let ran = run_within(&mut with, Duration::from_secs(30));
        if !ran.succeeded() || ran.stdout != alone.stdout {
            problems.push(format!(
                "{what} under the library: {}, stdout {:?} (without it: exit 0, stdout {:?}); stderr {:?}",
                ran.describe(),
                String::from_utf8_lossy(&ran.stdout),
                String::from_utf8_lossy(&alone.stdout),
                String::from_utf8_lossy(&ran.stderr)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A filter that refuses `process_vm_readv` with EPERM: the library reads the
/// environment another way, and a child gets what the program set.
#[test]
fn a_seccomp_filter_that_refuses_process_vm_readv_costs_a_child_nothing() {
    let sandbox = c_program("seccomp_exec", false);
    let mut command = command_with_env(&sandbox, tracked_env(&["MARK=m"]));
    command.args([
        "errno",
        "/bin/sh",
        "-c",
        "export SET=s; /usr/bin/env -i /usr/bin/printenv MARK SET; /usr/bin/printenv MARK SET",
    ]);
    let ran = run_within(&mut command, Duration::from_secs(30));
    assert!(ran.succeeded(), "{}: {}", ran.describe(), String::from_utf8_lossy(&ran.stderr));
    // env -i drops MARK (inherited, untracked) but not SET (exported: tracked).
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "s\nm\ns\n");
}

// ---------------------------------------------------------------------------
// 2. Many inherited tracked changes (used by 5)

/// How many variables (and tracked changes) the process inherits.
const INHERITED: usize = 20_000;

/// An environment of `INHERITED` variables `Vnnnnn=n`, each tracked (an `S`
/// record in an inherited state, split as envtrack splits it), with the library.
fn tracked_tree_environment() -> Vec<Vec<u8>> {
    let mut env = tracked_env(&[]);
    let mut state = b"ET1;".to_vec();
    for i in 0..INHERITED {
        env.push(format!("V{i:05}={i}").into_bytes());
        state.extend_from_slice(format!("S6:V{i:05}").as_bytes());
    }
    state_env::for_each_entry::<()>(&state, |parts| {
        env.push(parts.concat());
        Ok(())
    })
    .expect("the state's entries");
    env
}

// ---------------------------------------------------------------------------
// 3. A malformed inherited state is reported once per tree

/// "Bad input … give one line on stderr, once per process tree" (README): a
/// process whose inherited state has a malformed record among its tracked
/// changes, and that forks children which exec, says so once — not once per
/// child.
#[test]
fn a_malformed_state_is_reported_once_even_when_the_process_forks_children() {
    let program = c_program("fork_children_exec", false);
    let mut command = command_with_env(&program, tracked_env(&["A=1", "ENVTRACK_STATE=ET1;S1:AS9:X"]));
    command.arg("5");
    let ran = run_within(&mut command, Duration::from_secs(30));
    assert!(ran.succeeded(), "{}: {}", ran.describe(), String::from_utf8_lossy(&ran.stderr));
    let lines = envtrack_lines(&ran.stderr);
    assert!(lines.len() <= 1, "{} `envtrack:` lines, at most 1 expected: {lines:#?}", lines.len());
}

// ---------------------------------------------------------------------------
// 4. A carried value whose name also has a tracked record

/// A state carrying a value for C (`T`) and recording C as set (`S`), in the
/// order envtrack writes: the carried value is put into the environment at
/// load, and every child gets exactly one C, with that value — not the carried
/// one and, after it, the value C had when the process started.
#[test]
fn a_carried_value_and_a_tracked_record_of_the_same_name_give_the_child_one_entry() {
    let mut command = command_with_env("/usr/bin/env", tracked_env(&["C=3", "ENVTRACK_STATE=ET1;Ts:1:C3:bigS1:C"]));
    command.args(["/usr/bin/env", "-0"]);
    let ran = run_within(&mut command, Duration::from_secs(30));
    assert!(ran.succeeded(), "{}: {}", ran.describe(), String::from_utf8_lossy(&ran.stderr));
    let entries = env0_entries(&ran.stdout);
    let c: Vec<String> =
        entries.iter().filter_map(|e| e.strip_prefix(b"C=").map(|v| String::from_utf8_lossy(v).into_owned())).collect();
    assert_eq!(c, ["big"], "the child's C entries");
    let state = env0_get(&entries, "ENVTRACK_STATE").expect("the child has a state");
    let records: Vec<_> = tracked_changes(state).into_iter().filter(|(name, _)| name == "C").collect();
    assert!(records.len() <= 1, "one record of C at most: {:?}", std::ffi::OsStr::from_bytes(state));
}

// ---------------------------------------------------------------------------
// 5. The first need in a vfork child that is killed, and in many threads at once

/// The first need of the inherited environment and state is in a vfork child
/// (it indexes them in memory it shares with its parent), and the child is
/// killed while it may be at it. The parent's next exec gets every tracked
/// variable, at once.
#[test]
fn a_vfork_child_killed_during_the_first_exec_costs_the_parent_nothing() {
    let program = c_program("vfork_child_killed_at_first_exec", false);
    let env = tracked_tree_environment();
    for delay_us in [0, 20, 50, 100, 200, 400, 800, 1600, 3200, 6400] {
        let mut command = command_with_env(&program, &env);
        command.arg(delay_us.to_string());
        let ran = run_within(&mut command, Duration::from_secs(20));
        assert!(
            ran.succeeded(),
            "child killed after {delay_us} µs: the parent {}; stderr {:?}",
            ran.describe(),
            String::from_utf8_lossy(&ran.stderr)
        );
        let values = values_by_name(&ran.stdout);
        assert_eq!(values.get(&b"AFTER"[..]), Some(&vec![b"1".to_vec()]), "child killed after {delay_us} µs");
        check_tracked(&values, &format!("child killed after {delay_us} µs"), |i, value| {
            value == i.to_string().as_bytes()
        });
    }
}

/// Many threads make their first setenv and posix_spawn at the same moment in
/// a process that inherited many tracked changes: each child gets every
/// tracked variable once, with its value (its own thread's change, or any
/// other thread's change of the same variable, or the inherited value).
#[test]
fn many_threads_needing_the_inherited_state_at_once_each_get_every_tracked_variable() {
    let program = c_program("threads_first_setenv_spawn", false);
    let env = tracked_tree_environment();
    let threads = 16;
    for round in 0..3 {
        let mut command = command_with_env(&program, &env);
        command.arg(threads.to_string());
        let ran = run_within(&mut command, Duration::from_secs(60));
        assert!(ran.succeeded(), "round {round}: {}; {}", ran.describe(), String::from_utf8_lossy(&ran.stderr));
        for i in 0..threads {
            let marker = format!("THREAD {i}\n");
            let start = find(&ran.stdout, marker.as_bytes()).unwrap_or_else(|| panic!("round {round}: no {marker:?}"))
                + marker.len();
            let end = find(&ran.stdout[start..], format!("THREAD {}\n", i + 1).as_bytes())
                .map_or(ran.stdout.len(), |at| start + at);
            let values = values_by_name(&ran.stdout[start..end]);
            check_tracked(&values, &format!("round {round}, thread {i}"), |k, value| {
                let changed = format!("changed{k}");
                if k == i && k % 3 == 0 {
                    value == changed.as_bytes()
                } else if k % 3 == 0 && k < threads {
                    value == k.to_string().as_bytes() || value == changed.as_bytes()
                } else {
                    value == k.to_string().as_bytes()
                }
            });
            if i % 3 == 1 {
                let own = format!("T{i:05}");
                assert_eq!(
                    values.get(own.as_bytes()),
                    Some(&vec![i.to_string().into_bytes()]),
                    "round {round}, thread {i}"
                );
            }
        }
    }
}

/// Where `needle` first is in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = 0;
    while let Some(i) = haystack[at..].iter().position(|&b| b == first) {
        if haystack[at + i..].starts_with(needle) {
            return Some(at + i);
        }
        at += i + 1;
    }
    None
}
