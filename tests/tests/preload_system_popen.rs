//! The library's `system`, `popen` and `pclose` behave as glibc's: the same
//! SIGINT/SIGQUIT dispositions around concurrent `system` calls and in their
//! children, and the same errno on every failure and success. Each test runs
//! tests/programs/system_popen_semantics.c once without the library and once
//! with it and compares what the two print (glibc is the oracle), then checks
//! the lines that matter against what they must be.

use std::process::Stdio;

use envtrack_tests::*;

/// The environment without the library: what `tracked_env` gives, minus `LD_PRELOAD`.
fn plain_env() -> Vec<Vec<u8>> {
    tracked_env(&[]).into_iter().filter(|entry| !entry.starts_with(b"LD_PRELOAD=")).collect()
}

/// The program's output for `args`, without and with the library (run at the same time).
fn both(args: &[&str]) -> (String, String) {
    let program = c_program("system_popen_semantics", false);
    let start = |env: Vec<Vec<u8>>| {
        let mut command = command_with_env(&program, env);
        command.args(args);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn().unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    };
    let plain = start(plain_env());
    let tracked = start(tracked_env(&[]));
    let finish = |child: std::process::Child, how: &str| {
        let out = child.wait_with_output().expect("wait for the program");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?} {how} failed ({}):\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    (finish(plain, "without the library"), finish(tracked, "with the library"))
}

/// The output with the library, after asserting it is the output without it.
fn same_as_glibc(args: &[&str]) -> String {
    let (plain, tracked) = both(args);
    assert_eq!(tracked, plain, "{args:?}: with the library (left) and without (right) differ");
    tracked
}

fn assert_has(output: &str, line: &str) {
    assert!(output.lines().any(|l| l == line), "expected the line {line:?} in:\n{output}");
}

#[test]
fn overlapping_system_calls_restore_sigint_and_sigquit() {
    for (disposition, shown) in [("dfl", "dfl"), ("ign", "ign"), ("handler", "handler+restart")] {
        let output = same_as_glibc(&["concurrent", disposition]);
        assert_has(&output, &format!("after: SIGINT={shown} SIGQUIT={shown}"));
        assert_has(&output, "rounds that changed a disposition: 0 of 20; failed system calls: 0");
    }
}

#[test]
fn a_system_child_gets_default_sigint_unless_the_caller_ignored_it() {
    for (disposition, child, after) in
        [("dfl", "dfl", "dfl"), ("handler", "dfl", "handler+restart"), ("ign", "ign", "ign")]
    {
        let output = same_as_glibc(&["child", disposition]);
        assert_has(&output, &format!("alone: child SIGINT={child} SIGQUIT={child}"));
        assert_has(&output, &format!("overlapping: child SIGINT={child} SIGQUIT={child}"));
        assert_has(&output, &format!("after: SIGINT={after} SIGQUIT={after}"));
    }
}

#[test]
fn popen_without_descriptors_fails_with_emfile() {
    let output = same_as_glibc(&["emfile"]);
    assert_has(&output, "open stops with EMFILE");
    assert!(output.contains("0 free: popen NULL errno EMFILE;"), "{output}");
    assert!(output.contains("1 free: popen NULL errno EMFILE;"), "{output}");
    assert!(output.contains("2 free: popen stream errno 12345, read hi, pclose 0 errno 12345;"), "{output}");
}

#[test]
fn waiting_for_an_auto_reaped_child_fails_with_echild() {
    let output = same_as_glibc(&["sigchld-ignored"]);
    assert_has(&output, "system: -1 errno ECHILD");
    assert_has(&output, "system exit 5: -1 errno ECHILD");
    assert_has(&output, "pclose r: -1 errno ECHILD");
    assert_has(&output, "pclose w: -1 errno ECHILD");
}

#[test]
fn errno_is_kept_across_successful_calls() {
    let output = same_as_glibc(&["errno-kept"]);
    assert_has(&output, "system exit 7: exit 7 errno 12345");
    assert_has(&output, "pclose r: exit 4 errno 12345");
    assert_has(&output, "pclose w: exit 6 errno 12345");
}

#[test]
fn a_shell_that_cannot_start_sets_errno() {
    // glibc's system reports the spawn error as exit status 127 with errno set;
    // its popen (2.36) returns NULL with ENOMEM, whatever the spawn error.
    let output = same_as_glibc(&["spawn-fails"]);
    assert_has(&output, "system: 0x7f00 errno E2BIG");
    assert!(output.lines().any(|l| l.starts_with("popen: NULL errno ") && !l.ends_with("12345")), "{output}");
}

#[test]
fn popen_takes_the_modes_glibc_takes() {
    let output = same_as_glibc(&["modes"]);
    assert_has(&output, "mode \"er\": stream errno 12345");
    assert_has(&output, "mode \"rw\": NULL errno EINVAL");
}

#[test]
fn more_streams_than_the_library_keeps() {
    let output = same_as_glibc(&["many-streams"]);
    assert_has(&output, "popen: 80 of 80 opened, errno changed 0 times");
    assert_has(&output, "read 80, pclose: 80 returned 0, errno changed 0 times");
}

#[test]
fn pclose_reports_a_failed_flush_when_the_command_succeeded() {
    let output = same_as_glibc(&["flush-fails"]);
    assert_has(&output, "exit 0: pclose 0xffffffff errno EPIPE");
    assert_has(&output, "exit 3: pclose 0x300 errno EPIPE");
}

#[test]
fn a_stream_on_the_childs_descriptor_is_not_closed_in_the_next_child() {
    let output = same_as_glibc(&["low-fds"]);
    assert_has(&output, "first on fd 1 read first");
    assert_has(&output, "second read second");
    assert_has(&output, "pclose 0 0");
}
