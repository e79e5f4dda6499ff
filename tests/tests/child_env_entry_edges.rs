//! Entries of a child environment that are unusual but legal: a name that is
//! empty (`=x`, which the kernel passes on), and a value over the kernel's
//! 128 KiB per-string limit that envtrack carries in its state. Neither may
//! cost a child, or its own children, the tracked changes.

use envtrack_tests::*;

/// A tracked program execs a child with an environment holding `=x` among
/// `A=1` and `B=2` (new, so tracked); the child starts its own child with
/// `env -i`. The grandchild gets A and B, as for any environment without the
/// odd entry, and nothing says the state is malformed.
#[test]
fn an_entry_with_an_empty_name_does_not_cost_the_child_its_tracked_changes() {
    let program = c_program("exec_empty_name_entry", false);
    let mut command = command_with_env(&program, tracked_env(&[]));
    command.args(["/bin/sh", "-c", "/usr/bin/env -i /usr/bin/printenv A B"]);
    let out = output(&mut command);
    let said = envtrack_lines(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n2\n", "the grandchild's A and B (envtrack said {said:?})");
    assert!(out.status.success(), "{:?}: stderr {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_eq!(said, Vec::<String>::new());
}

/// A value of 200,000 bytes (over the kernel's limit for one string: carried
/// in the state and put back into the child's environment at load) reaches a
/// grandchild started through `env -i`, as a value of ordinary length does.
#[test]
fn a_value_over_128_kib_reaches_a_grandchild_started_through_env_i() {
    let script = "import os, subprocess\n\
                  os.environ['BIG'] = 'b' * 200000\n\
                  os.environ['SMALL'] = 's'\n\
                  subprocess.run(['/usr/bin/env', '-i', '/bin/sh', '-c', 'echo ${#BIG} ${SMALL}'], check=True)\n";
    let mut command = command_with_env("/usr/bin/python3", tracked_env(&[]));
    command.args(["-c", script]);
    let out = success(&mut command);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200000 s\n", "BIG's length and SMALL in the grandchild");
}
