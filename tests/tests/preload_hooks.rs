//! Every way a process starts another carries the tracked changes, from C,
//! Python, shells and make.

use envtrack_model::{Change, Growth};
use envtrack_tests::*;

const LIST_ONE_PREPENDED: Change = Change::List { sep: b':', growth: Growth { prepended: 1, appended: 0 } };

/// Every mode of hooks.c, and whether it takes an envp of the caller's.
const HOOK_MODES: [(&str, bool); 13] = [
    ("execve", true),
    ("execv", false),
    ("execvp", false),
    ("execvpe", true),
    ("execl", false),
    ("execlp", false),
    ("execle", true),
    ("execveat", true),
    ("fexecve", true),
    ("posix_spawn", true),
    ("posix_spawnp", true),
    ("system", false),
    ("popen", false),
];

/// What every child of hooks.c must see.
fn assert_tracked_child(mode: &str, entries: &[Vec<u8>], explicit: bool) {
    let get = |n| env0_get(entries, n).map(|v| String::from_utf8_lossy(v).into_owned());
    assert_eq!(get("FROM_C").as_deref(), Some("c-value"), "{mode}: FROM_C");
    assert_eq!(get("FROM_PUTENV").as_deref(), Some("p"), "{mode}: FROM_PUTENV");
    assert_eq!(get("PATH").as_deref(), Some("/opt/c:/usr/local/bin:/usr/bin:/bin"), "{mode}: PATH");
    assert_eq!(get("GONE"), None, "{mode}: GONE");
    if explicit {
        assert_eq!(get("ONLY").as_deref(), Some("1"), "{mode}: ONLY");
    }
    let preload = get("LD_PRELOAD").unwrap_or_default();
    assert_eq!(preload, library().to_string_lossy(), "{mode}: LD_PRELOAD");
    assert_eq!(env0_count(entries, "LD_PRELOAD"), 1, "{mode}: one LD_PRELOAD");
    assert_eq!(env0_count(entries, "ENVTRACK_STATE"), 1, "{mode}: one ENVTRACK_STATE");
    assert_eq!(change_in(entries, "FROM_C"), Some(Change::Set), "{mode}");
    assert_eq!(change_in(entries, "PATH"), Some(LIST_ONE_PREPENDED), "{mode}");
    assert_eq!(change_in(entries, "GONE"), Some(Change::Unset), "{mode}");
}

#[test]
fn every_hook_from_c_carries_the_tracked_changes() {
    let program = c_program("hooks", false);
    for (mode, explicit) in HOOK_MODES {
        for pass_own_env in [false, explicit] {
            let mut command = command_with_env(&program, tracked_env(&["GONE=1"]));
            command.arg(mode);
            if pass_own_env {
                command.arg("explicit");
            }
            let out = success(&mut command);
            assert!(envtrack_lines(&out.stderr).is_empty(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
            assert_tracked_child(mode, &env0_entries(&out.stdout), pass_own_env);
        }
    }
}

#[test]
fn every_hook_while_another_thread_changes_the_environment() {
    // A thread sets and unsets new names all the while, so libc keeps replacing (and freeing)
    // its environment array under the hook; 300 more variables put every build past the stack
    // buffer. Where the library reads `environ` itself (execv, execvp, system, popen) or the
    // program passes an array of its own, every child gets exactly the tracked changes and the
    // caller's entries. Where the program passes `environ` it read itself, racing the other
    // thread (undefined without envtrack too: the kernel may get a freed array), the library
    // never crashes, and the child gets the tracked set and envtrack.
    let program = c_program("hooks", false);
    let padding: Vec<String> = (0..300).map(|i| format!("PAD_{i}={}", "p".repeat(40))).collect();
    let mut extra: Vec<&str> = vec!["GONE=1", "HOOKS_CHURN=1"];
    extra.extend(padding.iter().map(String::as_str));
    // The variadic execl* reach execv/execvp/execve through the shim: covered above.
    let modes = HOOK_MODES.iter().filter(|(mode, _)| !mode.starts_with("execl") || *mode == "execle");
    for &(mode, takes_envp) in modes {
        for pass_own_env in [false, takes_envp] {
            let racy = takes_envp && !pass_own_env;
            for _ in 0..5 {
                let mut command = command_with_env("timeout", tracked_env(&extra));
                command.arg("60").arg(&program).arg(mode);
                if pass_own_env {
                    command.arg("explicit");
                }
                let out = success(&mut command);
                assert!(envtrack_lines(&out.stderr).is_empty(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
                let entries = env0_entries(&out.stdout);
                if racy {
                    assert_eq!(env0_get(&entries, "FROM_C"), Some(&b"c-value"[..]), "{mode}");
                    assert_eq!(env0_count(&entries, "LD_PRELOAD"), 1, "{mode}");
                    assert_eq!(env0_count(&entries, "ENVTRACK_STATE"), 1, "{mode}");
                    continue;
                }
                assert_tracked_child(mode, &entries, pass_own_env);
                if !pass_own_env {
                    assert_eq!(env0_get(&entries, "PAD_299"), Some("p".repeat(40).as_bytes()), "{mode}");
                }
            }
        }
    }
}

fn python(script: &str) -> Vec<Vec<u8>> {
    let mut command = command_with_env("/usr/bin/python3", tracked_env(&["GONE=1"]));
    command.args(["-c", script]);
    env0_entries(&success(&mut command).stdout)
}

const PY_SETUP: &str = r#"
import os, subprocess, sys
os.environ["FROM_PY"] = "py-value"
os.environ["PATH"] = "/opt/py:" + os.environ["PATH"]
del os.environ["GONE"]
sys.stdout.flush()
"#;

fn assert_python_child(how: &str, entries: &[Vec<u8>]) {
    assert_eq!(env0_get(entries, "FROM_PY"), Some(&b"py-value"[..]), "{how}");
    assert_eq!(env0_get(entries, "PATH"), Some(&b"/opt/py:/usr/local/bin:/usr/bin:/bin"[..]), "{how}");
    assert_eq!(env0_get(entries, "GONE"), None, "{how}");
    assert_eq!(change_in(entries, "FROM_PY"), Some(Change::Set), "{how}");
    assert_eq!(change_in(entries, "PATH"), Some(LIST_ONE_PREPENDED), "{how}");
}

#[test]
fn python_subprocess_default_path_vfork_and_execv_per_path_candidate() {
    // /opt/py does not exist: Python's child tries it first (ENOENT), then the others.
    let entries = python(&format!("{PY_SETUP}\nsubprocess.run(['env', '-0'], check=True)"));
    assert_python_child("subprocess default", &entries);
}

#[test]
fn python_subprocess_with_env_and_with_posix_spawn() {
    let entries =
        python(&format!("{PY_SETUP}\nsubprocess.run(['/usr/bin/env', '-0'], env={{'ONLY': '1'}}, check=True)"));
    assert_python_child("env=", &entries);
    assert_eq!(env0_get(&entries, "ONLY"), Some(&b"1"[..]));
    let entries = python(&format!("{PY_SETUP}\nsubprocess.run(['/usr/bin/env', '-0'], close_fds=False, check=True)"));
    assert_python_child("close_fds=False", &entries);
}

#[test]
fn python_os_system() {
    let entries = python(&format!("{PY_SETUP}\nos.system('env -0')"));
    assert_python_child("os.system", &entries);
}

#[test]
fn rust_command_plain_env_clear_and_pre_exec() {
    let spawner = env!("CARGO_BIN_EXE_rust_spawner");
    for how in ["plain", "env_clear", "pre_exec"] {
        let mut command = command_with_env(spawner, tracked_env(&["GONE=1"]));
        command.arg(how);
        let entries = env0_entries(&success(&mut command).stdout);
        assert_eq!(env0_get(&entries, "FROM_RUST"), Some(&b"rust-value"[..]), "{how}");
        assert_eq!(env0_get(&entries, "GONE"), None, "{how}");
        assert_eq!(change_in(&entries, "FROM_RUST"), Some(Change::Set), "{how}");
        assert!(env0_get(&entries, "LD_PRELOAD").is_some(), "{how}");
    }
}

#[test]
fn shell_exports_are_tracked() {
    for shell in ["/bin/bash", "/bin/sh"] {
        let mut command = command_with_env(shell, tracked_env(&[]));
        command.args(["-c", "export A='x y'; export PATH=/opt/sh:$PATH; unset HOME; env -0"]);
        let entries = env0_entries(&success(&mut command).stdout);
        assert_eq!(env0_get(&entries, "A"), Some(&b"x y"[..]), "{shell}");
        assert_eq!(change_in(&entries, "A"), Some(Change::Set), "{shell}");
        assert_eq!(change_in(&entries, "PATH"), Some(LIST_ONE_PREPENDED), "{shell}");
        // A shell's own variables are never tracked.
        assert_eq!(change_in(&entries, "PWD"), None, "{shell}");
        assert_eq!(change_in(&entries, "SHLVL"), None, "{shell}");
    }
}

#[test]
fn tracking_is_inherited_down_the_tree() {
    // Each generation adds its own change; the last child sees all of them.
    let script = "export A=1; bash -c 'export B=2; export PATH=/two:$PATH; sh -c \"export C=3; env -0\"'";
    let mut command = command_with_env("/bin/bash", tracked_env(&[]));
    command.args(["-c", &format!("export PATH=/one:$PATH; {script}")]);
    let entries = env0_entries(&success(&mut command).stdout);
    for name in ["A", "B", "C"] {
        assert_eq!(change_in(&entries, name), Some(Change::Set), "{name}");
    }
    let two = Change::List { sep: b':', growth: Growth { prepended: 2, appended: 0 } };
    assert_eq!(change_in(&entries, "PATH"), Some(two));
}

#[test]
fn make_j2_children_get_the_tracked_set() {
    let dir = scratch("make_j2");
    let makefile = "all: a b\na:\n\tenv -0 > a.out\nb:\n\tenv -0 > b.out\n";
    std::fs::write(dir.join("Makefile"), makefile).unwrap();
    let mut command = command_with_env("/bin/bash", tracked_env(&[]));
    command.args(["-c", "export FROM_MAKE_PARENT=1; make -s -j2"]).current_dir(&dir);
    success(&mut command);
    for out in ["a.out", "b.out"] {
        let entries = env0_entries(&std::fs::read(dir.join(out)).unwrap());
        assert_eq!(change_in(&entries, "FROM_MAKE_PARENT"), Some(Change::Set), "{out}");
    }
}

/// A real multi-process build: `make -j2` of a C project (20 units, each
/// compiled with a define the parent shell exported, and a link) gives the
/// same program, byte for byte, with and without the library.
#[test]
fn a_real_make_j2_build_gives_the_same_program_under_the_library() {
    let build = |preload: bool| {
        let dir = scratch(if preload { "build_with" } else { "build_without" });
        let units = 20;
        let mut main = String::new();
        for i in 0..units {
            let unit = format!("int unit{i}(int x) {{ return x * SCALE + {i}; }}\n");
            std::fs::write(dir.join(format!("unit{i}.c")), unit).unwrap();
            main += &format!("int unit{i}(int);\n");
        }
        main += "#include <stdio.h>\nint main(void) { int s = 0;\n";
        main += &(0..units).map(|i| format!("  s += unit{i}({i});\n")).collect::<String>();
        main += "  printf(\"%d\\n\", s); return 0; }\n";
        std::fs::write(dir.join("main.c"), main).unwrap();
        let objects: Vec<String> = (0..units).map(|i| format!("unit{i}.o")).collect();
        let makefile = format!(
            "program: main.o {}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O2 -DSCALE=$$BUILD_SCALE -c -o $@ $<\n",
            objects.join(" ")
        );
        std::fs::write(dir.join("Makefile"), makefile).unwrap();
        let mut env = tracked_env(&[]);
        if !preload {
            env.retain(|entry| !entry.starts_with(b"LD_PRELOAD="));
        }
        let mut command = command_with_env("/bin/bash", env);
        command.args(["-c", "export BUILD_SCALE=3; make -s -j2 && ./program"]).current_dir(&dir);
        let printed = success(&mut command).stdout;
        (std::fs::read(dir.join("program")).unwrap(), printed)
    };
    let (plain, plain_printed) = build(false);
    let (tracked, tracked_printed) = build(true);
    // sum of i * 3 + i for i in 0..20
    assert_eq!(String::from_utf8_lossy(&plain_printed).trim(), "760");
    assert_eq!(tracked_printed, plain_printed, "the program built under the library prints the same");
    assert!(tracked == plain, "the program built under the library is the same, byte for byte");
}

#[test]
fn env_i_and_exec_env_i_keep_tracked_variables_and_envtrack() {
    for script in ["export T=1; env -i /usr/bin/env -0", "export T=1; exec env -i /usr/bin/env -0"] {
        let mut command = command_with_env("/bin/bash", tracked_env(&["ENVTRACK_LISTS=MY_LIST"]));
        command.args(["-c", script]);
        let entries = env0_entries(&success(&mut command).stdout);
        assert_eq!(env0_get(&entries, "T"), Some(&b"1"[..]), "{script}");
        assert!(env0_get(&entries, "LD_PRELOAD").is_some(), "{script}");
        assert_eq!(env0_get(&entries, "ENVTRACK_LISTS"), Some(&b"MY_LIST"[..]), "{script}: own variables rebuilt");
        assert_eq!(env0_get(&entries, "HOME"), None, "{script}: untracked variables stay dropped");
    }
}

#[test]
fn unset_ld_preload_then_system_keeps_envtrack() {
    let mut command = command_with_env("/usr/bin/python3", tracked_env(&[]));
    command.args(["-c", "import os; os.environ['X']='1'; del os.environ['LD_PRELOAD']; os.system('env -0')"]);
    let entries = env0_entries(&success(&mut command).stdout);
    assert_eq!(env0_get(&entries, "X"), Some(&b"1"[..]));
    assert_eq!(
        env0_get(&entries, "LD_PRELOAD").map(|v| v.to_vec()),
        Some(library().into_os_string().into_encoded_bytes())
    );
    assert_eq!(change_in(&entries, "LD_PRELOAD"), None, "dropping only envtrack from LD_PRELOAD is no change");
}

#[test]
fn envtrack_off_in_a_childs_environment_leaves_it_alone() {
    let mut command = command_with_env("/bin/bash", tracked_env(&[]));
    command.args(["-c", "export T=1; ENVTRACK=off env -0"]);
    let entries = env0_entries(&success(&mut command).stdout);
    assert_eq!(env0_get(&entries, "ENVTRACK"), Some(&b"off"[..]));
    assert_eq!(env0_get(&entries, "LD_PRELOAD"), None, "no library in the subtree");
    assert_eq!(env0_get(&entries, "ENVTRACK_STATE"), None);
    assert_eq!(env0_get(&entries, "T"), Some(&b"1"[..]), "the caller's own entries stand");
}

#[test]
fn the_demo_reaches_ranks_on_clean_environment_nodes_through_mpirun() {
    let script = workspace().join("examples/train.py");
    let nodes = scratch("demo_nodes");
    let mut command =
        command_with_env("/usr/bin/python3", tracked_env(&[&format!("FAKE_SSH_ROOT={}", nodes.display())]));
    command.arg(&script);
    let out = success(&mut command);
    let text = String::from_utf8_lossy(&out.stdout);
    for rank in ["rank 0 on nodeA", "rank 1 on nodeB"] {
        assert!(text.contains(&format!("[{rank}] NCCL_DEBUG='INFO'")), "{text}");
        assert!(text.contains(&format!("[{rank}] PATH starts with '/opt/demo/bin'")), "{text}");
        assert!(text.contains(&format!("[{rank}] RUN_NOTE='it\\'s \"quoted\", has spaces and $(no shell)'")), "{text}");
        assert!(text.contains(&format!("[{rank}] demo_helper imported through PYTHONPATH")), "{text}");
    }
}
