//! envtrack's own variables: directives from ENVTRACK_CONFIG, launcher
//! routing, bad input, and sizes the kernel would refuse.

use envtrack_model::Change;
use envtrack_tests::*;

fn bash(env: Vec<Vec<u8>>, script: &str) -> std::process::Output {
    let mut command = command_with_env("/bin/bash", env);
    command.args(["-c", script]);
    output(&mut command)
}

#[test]
fn config_directives_apply_at_every_exec_without_growing_lists() {
    let dir = scratch("config");
    let config = dir.join("tool.json");
    std::fs::write(
        &config,
        r#"{"job": [{"op": "prepend", "name": "PATH", "value": "/tool/bin"},
                    {"op": "set", "name": "TOOL", "value": "on"}],
            "app": [{"op": "set", "name": "APP_ONLY", "value": "1"}]}"#,
    )
    .unwrap();
    let env = tracked_env(&[&format!("ENVTRACK_CONFIG={}", config.display())]);
    // Three generations; the program changes PATH itself too.
    let out = bash(env, "export PATH=/mine:$PATH; bash -c 'bash -c \"env -0\"'");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries = env0_entries(&out.stdout);
    assert_eq!(env0_get(&entries, "PATH"), Some(&b"/tool/bin:/mine:/usr/local/bin:/usr/bin:/bin"[..]));
    assert_eq!(env0_get(&entries, "TOOL"), Some(&b"on"[..]));
    assert_eq!(env0_get(&entries, "APP_ONLY"), None, "app-level directives are for the ranks");
    // The program's own change is still a prepend: /tool/bin is the directive's.
    let growth = envtrack_model::Growth { prepended: 1, appended: 0 };
    assert_eq!(change_in(&entries, "PATH"), Some(Change::List { sep: b':', growth }));
    let state = env0_get(&entries, "ENVTRACK_STATE").unwrap();
    let snapshot = envtrack_model::Snapshot::decode(state).unwrap();
    assert_eq!(snapshot.directives.job.len(), 2);
    assert_eq!(snapshot.directives.app.len(), 1);
}

#[test]
fn bad_envtrack_variables_give_one_line_each_and_the_program_runs_on() {
    let dir = scratch("bad_input");
    let malformed = dir.join("bad.json");
    std::fs::write(&malformed, "{\"job\": [{\"op\": \"prepnd\", \"name\": \"A\", \"value\": \"x\"}]}").unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("ENVTRACK_STATE=garbage".into(), "ENVTRACK_STATE: malformed snapshot at byte 0"),
        ("ENVTRACK_STATE=ET1;S99:X".into(), "ENVTRACK_STATE: malformed snapshot at byte 8"),
        ("ENVTRACK_STATE=@/nonexistent/state".into(), "ENVTRACK_STATE: names a file, which envtrack does not read"),
        ("ENVTRACK_LISTS=A,,B".into(), "ENVTRACK_LISTS: at byte 2"),
        ("ENVTRACK_CONFIG=/nonexistent/tool.json".into(), "ENVTRACK_CONFIG /nonexistent/tool.json"),
        (format!("ENVTRACK_CONFIG={}", malformed.display()), "job[0].op (line 1, column 17): unknown operation"),
    ];
    for (variable, message) in cases {
        let out = bash(tracked_env(&[&variable]), "export A=1; bash -c 'sh -c \"env -0; exit 7\"'");
        assert_eq!(out.status.code(), Some(7), "{variable}: the program's own result stands");
        let lines = envtrack_lines(&out.stderr);
        assert_eq!(lines.len(), 1, "{variable}: {lines:?}");
        assert!(lines[0].contains(message), "{variable}: {}", lines[0]);
        let entries = env0_entries(&out.stdout);
        assert_eq!(change_in(&entries, "A"), Some(Change::Set), "{variable}: tracking goes on");
    }
}

fn stand_in_injector(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fake-inject");
    std::fs::write(&path, "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ROUTE_LOG\"\nprintf 'LD_PRELOAD=%s\\n' \"$LD_PRELOAD\" >> \"$ROUTE_LOG\"\nprintf 'X=%s\\n' \"$X\" >> \"$ROUTE_LOG\"\n").unwrap();
    let launcher = dir.join("mpirun");
    std::fs::write(&launcher, "#!/bin/sh\necho real-mpirun > \"$ROUTE_LOG\"\n").unwrap();
    let ssh = dir.join("ssh");
    std::fs::write(&ssh, "#!/bin/sh\necho real-ssh > \"$ROUTE_LOG\"\n").unwrap();
    for file in [&path, &launcher, &ssh] {
        std::process::Command::new("chmod").arg("+x").arg(file).status().unwrap();
    }
    path
}

#[test]
fn launcher_execs_are_routed_through_the_injector() {
    let dir = scratch("routing");
    let injector = stand_in_injector(&dir);
    let log = dir.join("route.log");
    let base = |extra: &str| {
        let mut env =
            tracked_env(&[&format!("ENVTRACK_INJECT={}", injector.display()), &format!("ROUTE_LOG={}", log.display())]);
        let path = env.iter_mut().find(|e| e.starts_with(b"PATH=")).unwrap();
        *path = format!("PATH={}:/usr/bin:/bin", dir.display()).into_bytes();
        if !extra.is_empty() {
            env.push(extra.as_bytes().to_vec());
        }
        env
    };
    let read = || std::fs::read_to_string(&log).unwrap_or_default();

    let out = bash(base(""), "export X='a b'; mpirun -n 2 ./app 'arg with space'");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<String> = read().lines().map(str::to_string).collect();
    assert_eq!(lines[..2], ["--argv0=mpirun", "--"], "the launcher's own argv[0] is handed on");
    assert_eq!(lines[2], format!("{}/mpirun", dir.display()), "the launcher the exec would have run");
    assert_eq!(&lines[3..6], ["-n", "2", "./app"]);
    assert_eq!(lines[6], "arg with space");
    assert_eq!(lines[7], "LD_PRELOAD=", "the injector itself runs without the library");
    assert_eq!(lines[8], "X=a b");

    // ssh is not routed by default; ENVTRACK_AUTOWRAP names what is.
    bash(base(""), "ssh host true");
    assert_eq!(read().trim(), "real-ssh");
    bash(base("ENVTRACK_AUTOWRAP=ssh"), "ssh host true");
    assert!(read().starts_with("--argv0=ssh\n--\n") && read().contains("/ssh\nhost\ntrue\n"), "{}", read());
    bash(base("ENVTRACK_AUTOWRAP=0"), "mpirun -n 2 ./app");
    assert_eq!(read().trim(), "real-mpirun");

    // No injector: a warning, and the launcher runs as it is.
    let mut env = base("");
    env.retain(|e| !e.starts_with(b"ENVTRACK_INJECT="));
    env.push(b"ENVTRACK_INJECT=/nonexistent/envtrack-inject".to_vec());
    let out = bash(env, "mpirun -n 2 ./app");
    assert_eq!(read().trim(), "real-mpirun");
    let lines = envtrack_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.contains("cannot route mpirun") && l.contains("/nonexistent/envtrack-inject")),
        "{lines:?}"
    );
}

#[test]
fn a_competing_preload_before_or_after_ours_keeps_working() {
    let other = c_program("other_preload", true);
    let program = c_program("hooks", false);
    let library = library();
    for order in
        [format!("{}:{}", other.display(), library.display()), format!("{}:{}", library.display(), other.display())]
    {
        let mut env = tracked_env(&["GONE=1"]);
        env.retain(|e| !e.starts_with(b"LD_PRELOAD="));
        env.push(format!("LD_PRELOAD={order}").into_bytes());
        let mut command = command_with_env(&program, env);
        command.arg("execve");
        let out = success(&mut command);
        assert!(String::from_utf8_lossy(&out.stderr).contains("other_preload: execve"), "{order}");
        let entries = env0_entries(&out.stdout);
        assert_eq!(env0_get(&entries, "FROM_C"), Some(&b"c-value"[..]), "{order}");
        let expected = format!("{}:{}", library.display(), other.display());
        assert_eq!(env0_get(&entries, "LD_PRELOAD"), Some(expected.as_bytes()), "{order}: ours first, the other kept");
    }
}

/// The real execve after ours is found as dlsym(RTLD_NEXT) would find it, also where it is an
/// indirect function (IFUNC) or in a library with only the System V hash table.
#[test]
fn the_next_execve_is_found_when_an_ifunc_or_in_a_sysv_hashed_library() {
    let program = c_program("hooks", false);
    let variants = [
        ("ifunc", vec!["-DAS_IFUNC"]),
        ("sysv", vec!["-Wl,--hash-style=sysv"]),
        ("ifunc-sysv", vec!["-DAS_IFUNC", "-Wl,--hash-style=sysv"]),
    ];
    for (variant, flags) in variants {
        let other = c_library_variant("other_preload_kinds", variant, &flags);
        let dynamic =
            String::from_utf8(output(std::process::Command::new("readelf").arg("-dW").arg(&other)).stdout).unwrap();
        assert_eq!(dynamic.contains("(GNU_HASH)"), !variant.contains("sysv"), "{variant}: {dynamic}");
        let mut env = tracked_env(&["GONE=1"]);
        env.retain(|e| !e.starts_with(b"LD_PRELOAD="));
        env.push(format!("LD_PRELOAD={}:{}", library().display(), other.display()).into_bytes());
        let mut command = command_with_env(&program, env);
        command.arg("execve");
        let out = success(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches("other_preload_kinds: execve").count(), 1, "{variant}: {stderr}");
        let entries = env0_entries(&out.stdout);
        assert_eq!(env0_get(&entries, "FROM_C"), Some(&b"c-value"[..]), "{variant}: the child is tracked");
    }
}

#[test]
fn hooks_called_from_another_librarys_constructor_still_work() {
    let early = c_program("early_spawn", true);
    let mut env = tracked_env(&[]);
    env.retain(|e| !e.starts_with(b"LD_PRELOAD="));
    // Constructors of preloaded libraries run last-first: early_spawn's runs before ours.
    env.push(format!("LD_PRELOAD={}:{}", library().display(), early.display()).into_bytes());
    let out = success(&mut command_with_env("/bin/true", env));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "early-child-ran");
}

#[test]
fn a_one_mebibyte_value_and_ten_thousand_tracked_variables_still_launch_children() {
    let script = r#"
import os, subprocess
os.environ["BIG"] = "b" * (1 << 20)
for i in range(10000):
    os.environ["MANY_%d" % i] = "value-%d" % i
out = subprocess.run(["/usr/bin/python3", "-c",
    "import os; print(len(os.environ['BIG']), sum(k.startswith('MANY_') for k in os.environ))"],
    capture_output=True, text=True, check=True)
print(out.stdout.strip())
"#;
    let mut command = command_with_env("/usr/bin/python3", tracked_env(&[]));
    command.args(["-c", script]);
    let out = success(&mut command);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1048576 10000");
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_routed_program_keeps_its_own_argv0() {
    // A program that dispatches on argv[0] (busybox-style tools, launchers that find their
    // installation from it) sees the same argv[0] through the injector as without envtrack.
    let dir = scratch("routed_argv0");
    let program = c_program("print_argv0", false);
    std::fs::copy(&program, dir.join("mytool")).unwrap();
    let path = format!("PATH={}:/usr/bin:/bin", dir.display());
    for (script, expected) in [
        ("exec -a weird mytool a", "argv0=weird argc=2"),
        ("exec -a '' mytool a", "argv0= argc=2"),
        ("exec -a -mytool mytool a", "argv0=-mytool argc=2"),
        ("exec -a -- mytool a", "argv0=-- argc=2"),
        ("mytool a", "argv0=mytool argc=2"),
    ] {
        let logs = dir.join("logs");
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs).unwrap();
        let log = format!("ENVTRACK_LOG={}", logs.display());
        let mut env = tracked_env(&["ENVTRACK_AUTOWRAP=mytool", &log]);
        env.retain(|e| !e.starts_with(b"PATH="));
        env.push(path.clone().into_bytes());
        let out = bash(env, script);
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected, "{script}");
        let routed = std::fs::read_dir(&logs).unwrap().count();
        assert_eq!(routed, 1, "{script}: the exec went through envtrack-inject (its log)");
    }
}
