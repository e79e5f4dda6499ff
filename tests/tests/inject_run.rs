//! `envtrack-inject [DIRECTIVES] -- COMMAND`: directives reach COMMAND, in order,
//! and bad input fails closed.

use envtrack_tests::{command_with_env, env0_entries, env0_get, injector, output};

const BASE: [&str; 2] = ["PATH=/usr/bin:/bin", "HOME=/root"];

fn run_env(args: &[&str]) -> Vec<Vec<u8>> {
    let mut command = command_with_env(injector(), BASE);
    command.args(args).args(["--", "env", "-0"]);
    let out = output(&mut command);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env0_entries(&out.stdout)
}

#[test]
fn directive_flags_apply_in_order_job_then_app() {
    let env = run_env(&[
        "--app-set",
        "A=app",
        "--set",
        "A=job",
        "--prepend",
        "PATH=/opt/tool/bin",
        "--app-prepend",
        "PATH=/opt/app/bin",
        "--set",
        "ODD=sp ace 'q' $(id) `id` a=b",
        "--sep",
        ";",
        "--append",
        "SEMI=x;y",
    ]);
    assert_eq!(env0_get(&env, "A"), Some(&b"app"[..]));
    assert_eq!(env0_get(&env, "PATH"), Some(&b"/opt/app/bin:/opt/tool/bin:/usr/bin:/bin"[..]));
    assert_eq!(env0_get(&env, "ODD"), Some(&b"sp ace 'q' $(id) `id` a=b"[..]));
    assert_eq!(env0_get(&env, "SEMI"), Some(&b"x;y"[..]));
    let preload = env0_get(&env, "LD_PRELOAD").unwrap();
    assert!(preload.ends_with(b"/libenvtrack.so"), "{}", String::from_utf8_lossy(preload));
    assert!(env0_get(&env, "ENVTRACK_STATE").unwrap().starts_with(b"ET1;"));
}

#[test]
fn bad_directives_fail_closed_with_the_position() {
    let cases: &[(&[&str], &str)] = &[
        (&["--set", "NOVALUE"], "--set \"NOVALUE\" (argument"),
        (&["--set", "=v"], "the variable name is empty"),
        (&["--sep", "::", "--prepend", "P=x"], "a separator is one byte, got 2 bytes"),
        (&["--directives", "/nonexistent/d.json"], "/nonexistent/d.json"),
    ];
    for (args, message) in cases {
        let mut command = command_with_env(injector(), BASE);
        command.args(*args).args(["--", "sh", "-c", "echo RAN"]);
        let out = output(&mut command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("RAN"), "the command must not run");
    }
}

#[test]
fn a_directive_file_with_an_unknown_op_names_the_field() {
    let dir = std::env::temp_dir().join(format!("envtrack-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(
        &file,
        r#"{"job": [{"op": "set", "name": "A", "value": "1"}, {"op": "prepnd", "name": "P", "value": "x"}]}"#,
    )
    .unwrap();
    let mut command = command_with_env(injector(), BASE);
    command.arg("--directives").arg(&file).args(["--", "true"]);
    let out = output(&mut command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("job[1].op (line 1, column "), "{stderr}");
    assert!(stderr.contains("unknown operation \"prepnd\""), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_command_exits_127() {
    let mut command = command_with_env(injector(), BASE);
    command.args(["--", "/nonexistent/program"]);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/program"));
}
