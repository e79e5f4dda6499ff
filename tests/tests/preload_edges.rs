//! Calling conventions and odd environments behave as without the library.

use envtrack_tests::*;

fn run_edge(mode: &str) -> std::process::Output {
    let mut command = command_with_env(c_program("edge", false), tracked_env(&[]));
    command.arg(mode);
    success(&mut command)
}

#[test]
fn null_and_empty_envp_get_the_tracked_set_and_envtrack() {
    for mode in ["null-envp", "empty-envp"] {
        let entries = env0_entries(&run_edge(mode).stdout);
        assert_eq!(env0_get(&entries, "TRACKED"), Some(&b"t"[..]), "{mode}");
        assert!(env0_get(&entries, "LD_PRELOAD").is_some(), "{mode}");
        assert!(env0_get(&entries, "ENVTRACK_STATE").is_some(), "{mode}");
    }
}

#[test]
fn an_exec_after_clearenv_freed_libcs_array_does_not_read_it() {
    // Nothing inherited (so clearenv has nothing to record): the library is
    // loaded by ld.so's --preload, not by LD_PRELOAD.
    let mut command = command_with_env("/lib64/ld-linux-x86-64.so.2", Vec::<Vec<u8>>::new());
    command.arg("--preload").arg(library()).arg(c_program("edge", false)).arg("clearenv-exec");
    let entries = env0_entries(&success(&mut command).stdout);
    assert_eq!(env0_get(&entries, "PWD"), None, "cleared");
    assert!(env0_get(&entries, "LD_PRELOAD").is_some(), "the child still gets the library");
}

#[test]
fn null_argv_is_passed_on() {
    let out = run_edge("null-argv");
    assert!(String::from_utf8_lossy(&out.stdout).contains("TRACKED=t"));
}

#[test]
fn a_failed_exec_keeps_errno_and_returns_minus_one() {
    let out = run_edge("errno");
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = format!("-3 {} {} {}", libc_errno::ENOENT, libc_errno::ENOENT, libc_errno::EACCES);
    assert_eq!(text.trim(), expected);
}

mod libc_errno {
    pub const ENOENT: i32 = 2;
    pub const EACCES: i32 = 13;
}

#[test]
fn duplicates_odd_entries_and_raw_bytes() {
    let entries = env0_entries(&run_edge("duplicates").stdout);
    // Untracked duplicates pass through as they are; a tracked name keeps the caller's first.
    assert_eq!(env0_count(&entries, "DUP"), 2);
    assert_eq!(env0_count(&entries, "TRACKED"), 1);
    assert_eq!(env0_get(&entries, "TRACKED"), Some(&b"mine"[..]));
    assert!(entries.iter().any(|e| e == b"NOEQUALS"), "an entry without '=' is kept");
    assert_eq!(env0_get(&entries, "RAW"), Some(&b"\xff\xfe\n"[..]));
    // Exactly one LD_PRELOAD: this library first, then the preload ld.so would have used (the last).
    assert_eq!(env0_count(&entries, "LD_PRELOAD"), 1);
    let expected = format!("{}:/nonexistent/last.so", library().display());
    assert_eq!(env0_get(&entries, "LD_PRELOAD"), Some(expected.as_bytes()));
}
