//! Faults around envtrack's state: what `ENVTRACK_STATE=@PATH` may name, special
//! files in envtrack's variables, a large state read by more than one process,
//! files left in TMPDIR, names another user can predict, an unusable TMPDIR,
//! and values that must not cross a change of user.
//!
//! These tests state behaviour, never the mechanism: a large state may travel
//! in a file or in the environment itself, but the values arrive, nothing the
//! caller did not create is deleted, nothing is left behind, nothing hangs, and
//! bad input gives at most one `envtrack:` line without changing the exit status.
//! Every program runs under a hard time limit, in its own process group, killed
//! when it runs over; every test has its own TMPDIR.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use envtrack_tests::*;

/// The time limit of a program that should finish at once.
const LIMIT: Duration = Duration::from_secs(30);
/// The time limit of a program that may block today (a FIFO, a pipe).
const QUICK: Duration = Duration::from_secs(10);
/// A tracked value over the kernel's 128 KiB per-string limit.
const BIG_LEN: usize = 200_000;
/// Tracked variables enough for a state well over 128 KiB.
const MANY: usize = 8_000;
/// The user the tests give files to and switch to.
const NOBODY: u32 = 65534;

// ---------------------------------------------------------------------------
// Running programs under a time limit

enum Input {
    Null,
    /// A pipe nobody writes to, its write end held open until the program is done.
    SilentPipe,
}

struct Running {
    child: Child,
    _held: Option<ChildStdin>,
    what: String,
    out: PathBuf,
    err: PathBuf,
    limit: Duration,
    started: Instant,
}

struct Finished {
    what: String,
    code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    took: Duration,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Finished {
    fn outcome(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => format!("did not finish within {:.0} s (killed)", self.took.as_secs_f64()),
            (false, Some(code), _) => format!("exit {code} after {:.1} s", self.took.as_secs_f64()),
            (false, None, Some(signal)) => format!("killed by signal {signal} after {:.1} s", self.took.as_secs_f64()),
            (false, None, None) => "ended somehow".to_string(),
        }
    }

    fn stderr_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        text.chars().take(2_000).collect()
    }

    /// Exit status 0 within the limit, and at most `lines` lines from envtrack.
    fn check(&self, lines: usize, problems: &mut Vec<String>) {
        if self.timed_out || self.code != Some(0) {
            problems.push(format!(
                "{}: {}, expected exit 0; stderr: {}",
                self.what,
                self.outcome(),
                self.stderr_text()
            ));
        }
        let said = envtrack_lines(&self.stderr);
        if said.len() > lines {
            problems.push(format!(
                "{}: {} `envtrack:` lines, at most {lines} expected: {said:?}",
                self.what,
                said.len()
            ));
        }
    }
}

/// Starts `command` in its own process group, its output going to files in `dir`.
fn start(mut command: Command, dir: &Path, tag: &str, limit: Duration, input: Input) -> Running {
    let file: String = tag.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let out = dir.join(format!("{file}.stdout"));
    let err = dir.join(format!("{file}.stderr"));
    command.process_group(0);
    command.stdout(fs::File::create(&out).expect("create the stdout file"));
    command.stderr(fs::File::create(&err).expect("create the stderr file"));
    command.stdin(match input {
        Input::Null => Stdio::null(),
        Input::SilentPipe => Stdio::piped(),
    });
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{tag}: cannot start {:?}: {e}", command.get_program()));
    let held = child.stdin.take();
    Running { child, _held: held, what: tag.to_string(), out, err, limit, started: Instant::now() }
}

impl Running {
    /// Waits for the program; past its limit, kills its process group.
    fn finish(mut self) -> Finished {
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status;
            }
            if self.started.elapsed() > self.limit {
                timed_out = true;
                // The child is not reaped yet, so its pid still names its group.
                let group = format!("-{}", self.child.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                break self.child.wait().expect("wait for the killed child");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = self.started.elapsed();
        Finished {
            what: self.what,
            code: status.code(),
            signal: status.signal(),
            timed_out,
            took,
            stdout: fs::read(&self.out).unwrap_or_default(),
            stderr: fs::read(&self.err).unwrap_or_default(),
        }
    }
}

fn run(command: Command, dir: &Path, tag: &str, limit: Duration) -> Finished {
    start(command, dir, tag, limit, Input::Null).finish()
}

/// `argv` with exactly `entries` as its environment, through `env -i` (itself
/// untracked), after `wrapper` (also untracked: prlimit, unshare).
fn wrapped(wrapper: &[&str], entries: &[Vec<u8>], argv: &[&OsStr]) -> Command {
    let (first, rest) = wrapper.split_first().expect("a wrapper");
    let mut command = Command::new(first);
    command.env_clear().args(rest).arg("/usr/bin/env").arg("-i");
    command.args(entries.iter().map(|e| OsStr::from_bytes(e)));
    command.args(argv);
    command
}

// ---------------------------------------------------------------------------
// One test's directory and TMPDIR

struct Case {
    dir: PathBuf,
    tmp: PathBuf,
}

impl Case {
    fn new(name: &str) -> Case {
        let dir = scratch(&format!("faults_state_{name}"));
        let tmp = dir.join("tmp");
        fs::create_dir(&tmp).expect("create the test's TMPDIR");
        Case { dir, tmp }
    }

    /// A tracked environment with this test's TMPDIR.
    fn env(&self, extra: &[&str]) -> Vec<Vec<u8>> {
        let mut env = tracked_env(extra);
        env.push(format!("TMPDIR={}", self.tmp.display()).into_bytes());
        env
    }

    /// A tracked python3 running `body` after the `LARGE` prelude, with `args`.
    fn python(&self, extra: &[&str], body: &str, args: &[&OsStr]) -> Command {
        let mut command = command_with_env("/usr/bin/python3", self.env(extra));
        command.arg("-c").arg([LARGE, body].concat()).args(args);
        command
    }

    fn check_tmp(&self, problems: &mut Vec<String>) {
        check_no_leftovers(&self.tmp, problems);
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Names in `dir` that start with `envtrack`.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("envtrack"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn check_no_leftovers(dir: &Path, problems: &mut Vec<String>) {
    let left = leftovers(dir);
    if !left.is_empty() {
        let shown: Vec<_> = left.iter().take(5).collect();
        problems.push(format!("{} envtrack file(s) left in {}: {shown:?}…", left.len(), dir.display()));
    }
}

fn report(problems: Vec<String>) {
    assert!(problems.is_empty(), "{} problem(s):\n- {}", problems.len(), problems.join("\n- "));
}

fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// True when running as root; otherwise says loudly that `what` is skipped.
fn root_for(what: &str) -> bool {
    let root = is_root();
    if !root {
        eprintln!("SKIPPED: {what}: needs root (scripts/test.sh runs the suite as root)");
    }
    root
}

fn mkfifo(path: &Path, mode: &str) {
    let mut command = Command::new("mkfifo");
    command.args(["-m", mode]).arg(path);
    success(&mut command);
}

/// A launcher-named script `mytool` in `dir`, which says it ran and what `X` it saw.
fn mytool(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let tool = bin.join("mytool");
    fs::write(&tool, "#!/bin/sh\necho \"mytool ran X=$X BIG=${#BIG}\"\n").unwrap();
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Replaces the PATH entry of `env`.
fn with_path(mut env: Vec<Vec<u8>>, path: &str) -> Vec<Vec<u8>> {
    env.retain(|e| !e.starts_with(b"PATH="));
    env.insert(0, format!("PATH={path}").into_bytes());
    env
}

static STATIC_BUILD: Mutex<()> = Mutex::new(());

/// Compiles `tests/programs/NAME.c` with `cc -static` (once per run): a program
/// no preload ever runs in.
fn static_program(name: &str) -> PathBuf {
    let _guard = STATIC_BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let source = workspace().join("tests/programs").join(format!("{name}.c"));
    let dir = workspace().join("target/e2e/bin");
    fs::create_dir_all(&dir).unwrap();
    let program = dir.join(format!("{name}-static"));
    let built = fs::metadata(&program).and_then(|m| m.modified());
    let changed = fs::metadata(&source).and_then(|m| m.modified());
    if !matches!((built, changed), (Ok(b), Ok(c)) if b >= c) {
        let partial = dir.join(format!("{name}-static.partial"));
        let mut cc = Command::new("cc");
        cc.args(["-static", "-O1", "-Wall", "-o"]).arg(&partial).arg(&source);
        let out = output(&mut cc);
        assert!(
            out.status.success(),
            "cc -static {}: {} (the static libc comes with libc6-dev)",
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        fs::rename(&partial, &program).unwrap();
    }
    program
}

/// Python run by every tracked program here: `large(kinds)` makes its state
/// large with a 200,000-byte tracked value (`big`) and/or 8,000 tracked
/// variables (`many`).
const LARGE: &str = r#"
import os, signal, subprocess, sys
def large(kinds):
    if 'big' in kinds:
        os.environ['BIG'] = 'b' * 200000
    if 'many' in kinds:
        for i in range(8000):
            os.environ['MANY_VARIABLE_%05d' % i] = 'v'
"#;

/// The entries of `env -0` output: BIG's length, how many MANY_ variables,
/// whether libenvtrack.so is preloaded.
fn summary(stdout: &[u8]) -> (usize, usize, bool) {
    let entries = env0_entries(stdout);
    let big = env0_get(&entries, "BIG").map_or(0, <[u8]>::len);
    let many = entries.iter().filter(|e| e.starts_with(b"MANY_VARIABLE_")).count();
    let preload = env0_get(&entries, "LD_PRELOAD")
        .is_some_and(|v| v.split(|&b| b == b':').any(|p| p.ends_with(b"/libenvtrack.so")));
    (big, many, preload)
}

// ---------------------------------------------------------------------------
// 1. ENVTRACK_STATE=@PATH deletes nothing it did not make

#[test]
fn a_state_path_never_deletes_the_file_it_names() {
    let case = Case::new("state_path");
    let files = case.dir.join("files");
    fs::create_dir(&files).unwrap();
    let mut named: Vec<(&str, PathBuf)> = Vec::new();

    let ordinary = files.join("notes.txt");
    fs::write(&ordinary, "a user's own notes\n").unwrap();
    named.push(("an ordinary file", ordinary));

    let target = files.join("target.txt");
    fs::write(&target, "what the link points to\n").unwrap();
    let link = files.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    named.push(("a symlink", link.clone()));

    if root_for("ENVTRACK_STATE naming a file another user owns") {
        let foreign = files.join("nobodys.txt");
        fs::write(&foreign, "nobody's file\n").unwrap();
        std::os::unix::fs::chown(&foreign, Some(NOBODY), Some(NOBODY)).unwrap();
        named.push(("another user's file", foreign));
    }

    // A root-owned copy of /etc/passwd, never the real one.
    let passwd = files.join("passwd");
    fs::copy("/etc/passwd", &passwd).unwrap();
    fs::set_permissions(&passwd, fs::Permissions::from_mode(0o644)).unwrap();
    named.push(("a root-owned copy of /etc/passwd", passwd));

    let before: Vec<Vec<u8>> = named.iter().map(|(_, p)| fs::read(p).unwrap()).collect();
    let mut problems = Vec::new();
    for (index, (label, path)) in named.iter().enumerate() {
        let state = format!("ENVTRACK_STATE=@{}", path.display());
        let mut finished = run(command_with_env("/bin/true", case.env(&[&state])), &case.dir, label, LIMIT);
        finished.what = format!("/bin/true with ENVTRACK_STATE=@{label}");
        finished.check(1, &mut problems);
        match fs::symlink_metadata(path) {
            Err(_) => problems.push(format!("{label} {} was deleted", path.display())),
            Ok(_) if fs::read(path).ok().as_ref() != Some(&before[index]) => {
                problems.push(format!("{label} {} changed", path.display()))
            }
            Ok(_) => {}
        }
    }
    if !fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()) {
        problems.push("the symlink is no longer a symlink".into());
    }
    if fs::read_to_string(&target).ok().as_deref() != Some("what the link points to\n") {
        problems.push("the symlink's target was deleted or changed".into());
    }
    case.check_tmp(&mut problems);
    report(problems);
}

// ---------------------------------------------------------------------------
// 2. Special files in envtrack's variables

#[test]
fn special_files_as_state_or_config_neither_exhaust_memory_nor_block() {
    let case = Case::new("special_files");
    let fifo = case.dir.join("fifo");
    mkfifo(&fifo, "0600");
    let directory = case.dir.join("a-directory");
    fs::create_dir(&directory).unwrap();
    let variables = [("ENVTRACK_STATE", "@"), ("ENVTRACK_CONFIG", "")];
    let mut problems = Vec::new();

    // What may block today: a FIFO nobody writes, and standard input that is a
    // pipe nobody writes. All at once, so that the test takes one QUICK at most.
    let mut blocking = Vec::new();
    for (variable, prefix) in variables {
        let cases = [
            ("a FIFO nobody writes", fifo.display().to_string(), Input::Null),
            ("/dev/stdin, a pipe nobody writes", "/dev/stdin".to_string(), Input::SilentPipe),
        ];
        for (label, path, input) in cases {
            let entry = format!("{variable}={prefix}{path}");
            let command = command_with_env("/bin/true", case.env(&[&entry]));
            let tag = format!("{variable} {label}");
            blocking.push(start(command, &case.dir, &tag, QUICK, input));
            blocking.last_mut().unwrap().what = format!("/bin/true with {variable}={prefix}{label}");
        }
    }

    // /dev/zero under a 512 MiB address-space limit, and a directory.
    for (variable, prefix) in variables {
        let entry = format!("{variable}={prefix}/dev/zero");
        let env = case.env(&[&entry]);
        let limit = format!("--as={}", 512u64 << 20);
        let command = wrapped(&["/usr/bin/prlimit", &limit, "--"], &env, &[OsStr::new("/bin/true")]);
        let mut finished = run(command, &case.dir, &format!("{variable}_zero"), LIMIT);
        finished.what = format!("/bin/true with {entry} under a 512 MiB limit");
        finished.check(1, &mut problems);
        if finished.code == Some(0) && envtrack_lines(&finished.stderr).len() != 1 {
            problems.push(format!("{}: expected one `envtrack:` line saying it is ignored", finished.what));
        }

        let entry = format!("{variable}={prefix}{}", directory.display());
        let command = command_with_env("/bin/true", case.env(&[&entry]));
        let mut finished = run(command, &case.dir, &format!("{variable}_directory"), LIMIT);
        finished.what = format!("/bin/true with {variable}={prefix}a directory");
        finished.check(1, &mut problems);
    }

    for running in blocking {
        running.finish().check(1, &mut problems);
    }
    for special in ["/dev/zero", "/dev/stdin"] {
        if fs::symlink_metadata(special).is_err() {
            problems.push(format!("{special} is gone"));
        }
    }
    if fs::symlink_metadata(&fifo).is_err() || !directory.is_dir() {
        problems.push("the FIFO or the directory is gone".into());
    }
    case.check_tmp(&mut problems);
    report(problems);
}

#[test]
fn inject_and_log_naming_special_files_neither_hang_nor_fail_the_launch() {
    let case = Case::new("inject_log_special");
    let bin = mytool(&case.dir);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let fifo = case.dir.join("fifo");
    mkfifo(&fifo, "0600");
    let open_fifo = case.dir.join("fifo-0777");
    mkfifo(&open_fifo, "0777");
    let directory = case.dir.join("a-directory");
    fs::create_dir(&directory).unwrap();
    let injector = injector();
    let real = format!("ENVTRACK_INJECT={}", injector.display());
    let script = ["-c", "export X=1; mytool"];
    let mut problems = Vec::new();

    let cases: Vec<(&str, Vec<String>)> = vec![
        ("ENVTRACK_INJECT=/dev/zero", vec!["ENVTRACK_INJECT=/dev/zero".into()]),
        ("ENVTRACK_INJECT=a FIFO", vec![format!("ENVTRACK_INJECT={}", fifo.display())]),
        ("ENVTRACK_INJECT=a FIFO with mode 0777", vec![format!("ENVTRACK_INJECT={}", open_fifo.display())]),
        ("ENVTRACK_INJECT=a directory", vec![format!("ENVTRACK_INJECT={}", directory.display())]),
        ("ENVTRACK_LOG=/dev/zero", vec![real.clone(), "ENVTRACK_LOG=/dev/zero".into()]),
        ("ENVTRACK_LOG=a FIFO", vec![real.clone(), format!("ENVTRACK_LOG={}", fifo.display())]),
    ];
    let mut running = Vec::new();
    for (index, (label, entries)) in cases.iter().enumerate() {
        let mut extra: Vec<&str> = entries.iter().map(String::as_str).collect();
        extra.push("ENVTRACK_AUTOWRAP=mytool");
        let mut command = command_with_env("/bin/sh", with_path(case.env(&extra), &path));
        command.args(script);
        running.push(start(command, &case.dir, &format!("case{index}"), QUICK, Input::Null));
        running.last_mut().unwrap().what = format!("sh running mytool with {label}");
    }

    // ENVTRACK_LOG=DIR where the log file's name is already a FIFO nobody reads:
    // in a new pid namespace the pids, and so the names, are known in advance.
    if root_for("ENVTRACK_LOG with FIFOs at the log files' names (a pid namespace)") {
        let logs = case.dir.join("logs");
        fs::create_dir(&logs).unwrap();
        let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        for pid in 1..=50 {
            mkfifo(&logs.join(format!("envtrack-{}-{pid}.jsonl", host.trim())), "0600");
        }
        let log = format!("ENVTRACK_LOG={}", logs.display());
        let env = with_path(case.env(&[&real, &log, "ENVTRACK_AUTOWRAP=mytool"]), &path);
        let argv: Vec<&OsStr> = ["/bin/sh", script[0], script[1]].into_iter().map(OsStr::new).collect();
        let command = wrapped(&["/usr/bin/unshare", "--pid", "--fork"], &env, &argv);
        running.push(start(command, &case.dir, "log_fifos", QUICK, Input::Null));
        running.last_mut().unwrap().what = "sh running mytool with ENVTRACK_LOG=DIR holding FIFOs".into();
    }

    for r in running {
        let finished = r.finish();
        let text = String::from_utf8_lossy(&finished.stdout);
        if finished.timed_out || finished.code != Some(0) {
            problems.push(format!("{}: {}; stderr: {}", finished.what, finished.outcome(), finished.stderr_text()));
        } else if !text.contains("mytool ran X=1") {
            problems.push(format!("{}: mytool did not run or lost X: {text}", finished.what));
        }
    }
    case.check_tmp(&mut problems);
    report(problems);
}

// ---------------------------------------------------------------------------
// 3. A large state is read by every process that inherits it

/// Each child of the static intermediary: its BIG's length, and how many
/// MANY_ variables a child it starts with an empty environment gets (the ones
/// it tracks).
const FANOUT_CHILD: &str = r#"
import os, subprocess
out = subprocess.run(['/usr/bin/env', '-0'], env={}, capture_output=True).stdout
many = sum(1 for e in out.split(b'\0') if e.startswith(b'MANY_VARIABLE_'))
print('CHILD big=%d many=%d' % (len(os.environ.get('BIG', '')), many), flush=True)
"#;

#[test]
fn every_child_of_a_static_intermediary_gets_the_whole_state() {
    let fanout = static_program("static_fanout");
    let case = Case::new("static_fanout");
    let body =
        "large(sys.argv[1])\nos.execv(sys.argv[2], ['static_fanout', '3', '/usr/bin/python3', '-c', sys.argv[3]])\n";
    let mut problems = Vec::new();
    for (kind, expected) in
        [("big", format!("CHILD big={BIG_LEN} many=0")), ("many", format!("CHILD big=0 many={MANY}"))]
    {
        let args = [OsStr::new(kind), fanout.as_os_str(), OsStr::new(FANOUT_CHILD)];
        let mut finished = run(case.python(&[], body, &args), &case.dir, kind, LIMIT);
        finished.what = format!("a tracked program ({kind}) through a static intermediary to three children");
        finished.check(0, &mut problems);
        let text = String::from_utf8_lossy(&finished.stdout);
        let children: Vec<&str> = text.lines().filter(|l| l.starts_with("CHILD ")).collect();
        if children.len() != 3 || children.iter().any(|l| *l != expected) {
            problems.push(format!("{}: every child should say {expected:?}; they said {children:?}", finished.what));
        }
    }
    case.check_tmp(&mut problems);
    report(problems);
}

// ---------------------------------------------------------------------------
// 4. The injector, started by a tracked program, reads the large state

#[test]
fn the_injector_started_by_a_tracked_program_gets_its_large_state() {
    let case = Case::new("injector_large_state");
    let body = "large(['big'])\nr = subprocess.run([sys.argv[1], '--', 'sh', '-c', 'printf %s \"$BIG\" | wc -c'])\nsys.exit(r.returncode)\n";
    let injector = injector();
    let mut finished = run(case.python(&[], body, &[injector.as_os_str()]), &case.dir, "inject", LIMIT);
    finished.what = "envtrack-inject -- sh (printing BIG's length) from a tracked program".into();
    let mut problems = Vec::new();
    finished.check(0, &mut problems);
    let text = String::from_utf8_lossy(&finished.stdout);
    if text.trim() != BIG_LEN.to_string() {
        problems.push(format!("the command should print {BIG_LEN}; it printed {:?}", text.trim()));
    }
    case.check_tmp(&mut problems);
    report(problems);
}

// ---------------------------------------------------------------------------
// 5. Nothing is left in TMPDIR

#[test]
fn nothing_is_left_behind_when_the_injectors_command_cannot_start() {
    let case = Case::new("leftover_injector");
    let body =
        "large(['big'])\nr = subprocess.run([sys.argv[1], '--', '/nonexistent/cmd'])\nprint('STATUS', r.returncode)\n";
    let injector = injector();
    let mut finished = run(case.python(&[], body, &[injector.as_os_str()]), &case.dir, "inject", LIMIT);
    finished.what = "a tracked program running envtrack-inject -- /nonexistent/cmd".into();
    let mut problems = Vec::new();
    finished.check(0, &mut problems);
    // README: "A command that cannot be run exits 127."
    let text = String::from_utf8_lossy(&finished.stdout);
    if text.trim() != "STATUS 127" {
        problems.push(format!(
            "envtrack-inject should exit 127 (the command cannot run): {}; stderr: {}",
            text.trim(),
            finished.stderr_text()
        ));
    }
    case.check_tmp(&mut problems);
    report(problems);
}

#[test]
fn nothing_is_left_behind_when_a_spawned_child_is_killed_at_once() {
    let case = Case::new("leftover_killed");
    // Twenty children, each killed the moment posix_spawn returns.
    let body = "large(['big'])\nfor _ in range(20):\n    pid = os.posix_spawn('/bin/sleep', ['sleep', '30'], os.environ)\n    os.kill(pid, signal.SIGKILL)\n    os.waitpid(pid, 0)\n";
    let mut finished = run(case.python(&[], body, &[]), &case.dir, "killed", LIMIT);
    finished.what = "a tracked program killing 20 children right after posix_spawn".into();
    let mut problems = Vec::new();
    finished.check(0, &mut problems);
    case.check_tmp(&mut problems);
    report(problems);
}

#[test]
fn nothing_is_left_behind_by_execs_of_a_static_program() {
    let fanout = static_program("static_fanout");
    let case = Case::new("leftover_static");
    let body = "large(['big'])\nfor _ in range(20):\n    subprocess.run([sys.argv[1], '0'], check=True)\n";
    let mut finished = run(case.python(&[], body, &[fanout.as_os_str()]), &case.dir, "static", LIMIT);
    finished.what = "a tracked program running a static program 20 times".into();
    let mut problems = Vec::new();
    finished.check(0, &mut problems);
    case.check_tmp(&mut problems);
    report(problems);
}

#[test]
fn nothing_is_left_behind_by_a_routed_launch() {
    let case = Case::new("leftover_routed");
    let bin = mytool(&case.dir);
    let inject = format!("ENVTRACK_INJECT={}", injector().display());
    let env = with_path(case.env(&[&inject, "ENVTRACK_AUTOWRAP=mytool"]), &format!("{}:/usr/bin:/bin", bin.display()));
    let mut command = command_with_env("/usr/bin/python3", env);
    let body =
        "large(['big'])\nos.environ['X'] = '1'\nfor _ in range(3):\n    subprocess.run(['mytool'], check=True)\n";
    command.arg("-c").arg([LARGE, body].concat());
    let mut finished = run(command, &case.dir, "routed", LIMIT);
    finished.what = "a tracked program running a launcher-named program (routed) 3 times".into();
    let mut problems = Vec::new();
    finished.check(0, &mut problems);
    let text = String::from_utf8_lossy(&finished.stdout);
    let expected = format!("mytool ran X=1 BIG={BIG_LEN}");
    if text.lines().filter(|l| *l == expected).count() != 3 {
        problems.push(format!("each run of mytool should say {expected:?}: {text}"));
    }
    case.check_tmp(&mut problems);
    report(problems);
}

// ---------------------------------------------------------------------------
// 6. Names another user can predict

#[test]
fn files_planted_under_predictable_names_cost_a_child_nothing() {
    if !root_for("files planted by another user under predictable names (chown, a pid namespace)") {
        return;
    }
    let case = Case::new("planted_names");
    fs::set_permissions(&case.tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    // The tracked program is pid 1 of a new pid namespace; its children follow.
    // Another user has made every name envtrack-state-<pid>-<n> for the first
    // 200 pids and n = 1..20 (hard links to one empty file of theirs: creating
    // 4,000 inodes takes seconds on some disks).
    let original = case.dir.join("nobodys-empty-file");
    fs::write(&original, b"").unwrap();
    std::os::unix::fs::chown(&original, Some(NOBODY), Some(NOBODY)).unwrap();
    let mut planted = Vec::new();
    for pid in 1..=200 {
        for n in 1..=20 {
            let name = format!("envtrack-state-{pid}-{n}");
            fs::hard_link(&original, case.tmp.join(&name)).unwrap();
            planted.push(name);
        }
    }
    planted.sort();
    let body = "large(['big'])\nos.environ['SMALL'] = 's'\nsys.exit(subprocess.run(['/usr/bin/env', '-0'], env={}).returncode)\n";
    let script = [LARGE, body].concat();
    let argv: Vec<&OsStr> = ["/usr/bin/python3", "-c", &script].into_iter().map(OsStr::new).collect();
    let command = wrapped(&["/usr/bin/unshare", "--pid", "--fork"], &case.env(&[]), &argv);
    let mut finished = run(command, &case.dir, "planted", LIMIT);
    finished.what = "a tracked program in a new pid namespace starting a child with env={}".into();
    let mut problems = Vec::new();
    finished.check(1, &mut problems);
    let (big, _, preload) = summary(&finished.stdout);
    let small = env0_get(&env0_entries(&finished.stdout), "SMALL").map(<[u8]>::to_vec);
    if big != BIG_LEN || small.as_deref() != Some(b"s") || !preload {
        problems.push(format!(
            "the child should get BIG ({BIG_LEN} bytes), SMALL=s and the library; it got BIG of {big} bytes, SMALL={:?}, library {preload}",
            small.map(|s| String::from_utf8_lossy(&s).into_owned())
        ));
    }
    let left = leftovers(&case.tmp);
    if left != planted {
        problems.push(format!(
            "TMPDIR should hold the {} planted files and nothing else; it holds {}",
            planted.len(),
            left.len()
        ));
    }
    if planted.iter().any(|n| fs::metadata(case.tmp.join(n)).map_or(true, |m| m.len() != 0 || m.uid() != NOBODY)) {
        problems.push("a planted file was changed".into());
    }
    report(problems);
}

// ---------------------------------------------------------------------------
// 7. An unusable TMPDIR

/// A tmpfs mounted for one test, unmounted on drop (even when the test fails).
struct Mounted(PathBuf);

impl Mounted {
    fn tmpfs(path: &Path, options: &str) -> Mounted {
        fs::create_dir_all(path).unwrap();
        let mut mount = Command::new("mount");
        mount.args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(path);
        success(&mut mount);
        Mounted(path.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[test]
fn an_unusable_tmpdir_costs_a_child_nothing() {
    let case = Case::new("unusable_tmpdir");
    let mut tmpdirs: Vec<(&str, PathBuf)> = vec![("a TMPDIR that does not exist", case.dir.join("missing"))];
    let mut _mounts = Vec::new();
    if root_for("a read-only and a full TMPDIR (mount)") {
        let read_only = case.dir.join("read-only");
        _mounts.push(Mounted::tmpfs(&read_only, "ro,size=64k,mode=1777"));
        tmpdirs.push(("a read-only TMPDIR", read_only));
        let full = case.dir.join("full");
        _mounts.push(Mounted::tmpfs(&full, "size=64k,mode=1777"));
        // Fill it: the write stops at ENOSPC.
        let _ = fs::write(full.join("filler"), vec![0u8; 1 << 20]);
        tmpdirs.push(("a full TMPDIR", full));
    }
    let body = "large(['big', 'many'])\nsys.exit(subprocess.run(['/usr/bin/env', '-0'], env={}).returncode)\n";
    let mut problems = Vec::new();
    for (index, (label, tmpdir)) in tmpdirs.iter().enumerate() {
        let mut env = case.env(&[]);
        env.retain(|e| !e.starts_with(b"TMPDIR="));
        env.push(format!("TMPDIR={}", tmpdir.display()).into_bytes());
        let mut command = command_with_env("/usr/bin/python3", env);
        command.arg("-c").arg([LARGE, body].concat());
        let mut finished = run(command, &case.dir, &format!("tmpdir{index}"), LIMIT);
        finished.what = format!("a tracked program with {label} starting a child with env={{}}");
        finished.check(1, &mut problems);
        let (big, many, preload) = summary(&finished.stdout);
        if big != BIG_LEN || many != MANY || !preload {
            problems.push(format!(
                "{}: the child should get BIG ({BIG_LEN} bytes), {MANY} MANY_ variables and the library; it got BIG of {big} bytes, {many} variables, library {preload}",
                finished.what
            ));
        }
        check_no_leftovers(tmpdir, &mut problems);
    }
    case.check_tmp(&mut problems);
    report(problems);
}

// ---------------------------------------------------------------------------
// 8. Values do not cross a change of user

const CROSS_USER: &str = r#"
os.environ['ROOT_ONLY'] = 'x'
for name, argv in [('sudo', ['sudo', '-u', 'nobody', '/usr/bin/env']),
                   ('runuser', ['runuser', '-u', 'nobody', '--', 'env', '-i', '/usr/bin/env'])]:
    r = subprocess.run(argv, capture_output=True, text=True)
    print('== %s status %d' % (name, r.returncode))
    print(r.stdout, end='')
    print(r.stderr, end='', file=sys.stderr)
"#;

#[test]
fn root_values_do_not_cross_sudo_or_runuser_to_another_user() {
    if !root_for("root's tracked values and sudo/runuser to nobody") {
        return;
    }
    assert!(
        Path::new("/usr/bin/sudo").exists(),
        "sudo is missing: scripts/install-deps.sh installs it (this test installs nothing)"
    );
    let case = Case::new("cross_user");
    let env = with_path(case.env(&[]), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut command = command_with_env("/usr/bin/python3", env);
    command.arg("-c").arg([LARGE, CROSS_USER].concat());
    let mut finished = run(command, &case.dir, "cross", LIMIT);
    finished.what = "a tracked root program running sudo -u nobody and runuser -u nobody".into();
    let mut problems = Vec::new();
    finished.check(1, &mut problems);
    let text = String::from_utf8_lossy(&finished.stdout).into_owned();
    let sudo = text.split("== runuser").next().unwrap_or_default();
    let runuser = text.split("== runuser").nth(1).unwrap_or_default();
    if !sudo.contains("== sudo status 0") || !sudo.contains("USER=nobody") {
        problems.push(format!("sudo -u nobody /usr/bin/env did not run as nobody: {sudo}"));
    }
    if !runuser.starts_with(" status 0") {
        problems.push(format!("runuser -u nobody did not run: {runuser}"));
    }
    for (name, output) in [("sudo -u nobody /usr/bin/env", sudo), ("runuser -u nobody -- env -i /usr/bin/env", runuser)]
    {
        for leak in ["ROOT_ONLY", "libenvtrack", "ENVTRACK_STATE"] {
            if output.contains(leak) {
                problems.push(format!("{name} printed {leak}: {}", output.trim().replace('\n', " | ")));
            }
        }
    }
    case.check_tmp(&mut problems);
    report(problems);
}

#[test]
fn a_program_that_gives_up_root_execs_with_exactly_its_own_environment() {
    if !root_for("a tracked program that calls setuid(65534)") {
        return;
    }
    let program = c_program("drop_user", false);
    let case = Case::new("drop_user");
    let mut problems = Vec::new();
    let env = case.env(&[]);
    // What the program passes after taking out ROOT_ONLY, LD_PRELOAD and ENVTRACK_*.
    let own: Vec<Vec<u8>> = env.iter().filter(|e| !e.starts_with(b"LD_PRELOAD=")).cloned().collect();
    let explicit = vec![b"PATH=/usr/bin:/bin".to_vec(), b"KEEP=1".to_vec()];
    for (mode, mut expected) in [("explicit", explicit), ("environ", own)] {
        let mut command = command_with_env(&program, env.clone());
        command.arg(mode);
        let mut finished = run(command, &case.dir, mode, LIMIT);
        finished.what = format!("drop_user {mode} (setuid nobody, then exec env)");
        finished.check(1, &mut problems);
        // As sets: Command hands the program its environment sorted by name.
        let mut got = env0_entries(&finished.stdout);
        got.sort();
        expected.sort();
        if got != expected {
            let show = |entries: &[Vec<u8>]| {
                entries.iter().map(|e| String::from_utf8_lossy(&e[..e.len().min(80)]).into_owned()).collect::<Vec<_>>()
            };
            problems.push(format!(
                "{}: env got {:?}, the program passed {:?}",
                finished.what,
                show(&got),
                show(&expected)
            ));
        }
    }
    case.check_tmp(&mut problems);
    report(problems);
}
