//! Open MPI and MPICH Hydra, real, with two nodes whose environment is clean:
//! tracked values, directives and tracking itself reach every rank, and no
//! value appears on any command line.

use std::path::{Path, PathBuf};

use envtrack_tests::launchers::{fake_ssh_agent, hydra_args, openmpi_args};
use envtrack_tests::ranks::*;
use envtrack_tests::*;
use serde_json::Value;

/// The environment a tracked launch starts from. mpirun gets a TMPDIR of its
/// own: concurrent mpiruns sharing /tmp race on Open MPI's session directory.
fn mpi_env(dir: &Path, extra: &[&str]) -> Vec<Vec<u8>> {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut env = tracked_env(extra);
    env.push(format!("TMPDIR={}", tmp.display()).into_bytes());
    env
}

fn bash_tracked(dir: &Path, script: &str, extra: &[&str]) -> std::process::Output {
    let mut command = command_with_env("/bin/bash", mpi_env(dir, extra));
    command.args(["-c", script]);
    output(&mut command)
}

/// Runs `launcher` (already with its arguments) from a tracked bash that sets
/// the test's values, and returns the ranks' reports.
fn launch_from_tracked_bash(dir: &Path, launch: &str) -> (std::process::Output, Vec<Value>) {
    let out = bash_tracked(dir, &exporting_test_values(launch), &[]);
    assert!(
        out.status.success(),
        "{launch}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_leak(&out, dir, launch);
    let reports = reports(&out.stdout);
    (out, reports)
}

fn words(args: &[String]) -> String {
    args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

#[test]
fn open_mpi_ranks_get_the_tracked_values_with_no_x_option() {
    let dir = scratch("openmpi_values");
    let agent = fake_ssh_agent(&dir);
    let launch =
        format!("mpirun {} -n 2 python3 {}", words(&openmpi_args(&agent, "nodeA,nodeB")), rank_report().display());
    let (_, reports) = launch_from_tracked_bash(&dir, &launch);
    assert_ranks_got_everything(&reports, "Open MPI");
    // The node's own PATH is extended, not replaced by the launching node's.
    for report in &reports {
        assert!(report["values"]["PATH"].as_str().unwrap().contains("/usr/local/bin"), "{report}");
    }
}

#[test]
fn open_mpi_keeps_the_users_own_x_options() {
    let dir = scratch("openmpi_user_x");
    let agent = fake_ssh_agent(&dir);
    let launch = format!(
        "export MINE=by-hand; REPORT_NAMES=MINE,SECRET_VALUE mpirun {} -x MINE -x REPORT_NAMES -n 2 python3 {}",
        words(&openmpi_args(&agent, "nodeA,nodeB")),
        rank_report().display()
    );
    let (_, reports) = launch_from_tracked_bash(&dir, &launch);
    assert_eq!(reports.len(), 2);
    for report in &reports {
        assert_eq!(report["values"]["MINE"], "by-hand");
    }
}

#[test]
fn hydra_ranks_get_the_tracked_values_whatever_the_env_options() {
    for options in ["", "-genvnone", "-genvlist HOME", "-genvall", "-envnone", "-envlist HOME"] {
        let dir = scratch(&format!("hydra_{}", options.replace([' ', '-'], "_")));
        let agent = fake_ssh_agent(&dir);
        let (global, local) = if options.starts_with("-env") { ("", options) } else { (options, "") };
        let launch = format!(
            "mpiexec.hydra {} {global} -n 2 {local} python3 {}",
            words(&hydra_args(&agent, "nodeA,nodeB")),
            rank_report().display()
        );
        let (_, reports) = launch_from_tracked_bash(&dir, &launch);
        assert_ranks_got_everything(&reports, &format!("Hydra {options}"));
    }
}

fn build_needs_lib(dir: &Path) -> (PathBuf, PathBuf) {
    let libdir = dir.join("only-here");
    std::fs::create_dir_all(&libdir).unwrap();
    let programs = workspace().join("tests/programs");
    let lib = libdir.join("libneeded.so");
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(programs.join("needed.c"))
        .status()
        .unwrap();
    assert!(status.success());
    let program = dir.join("needs_lib");
    let status = std::process::Command::new("cc")
        .arg("-o")
        .arg(&program)
        .arg(programs.join("needs_lib.c"))
        .arg(format!("-L{}", libdir.display()))
        .arg("-lneeded")
        .status()
        .unwrap();
    assert!(status.success());
    (libdir, program)
}

#[test]
fn directives_for_ld_library_path_and_pythonpath_take_effect_in_the_ranks() {
    let dir = scratch("directives_in_ranks");
    let agent = fake_ssh_agent(&dir);
    let (libdir, program) = build_needs_lib(&dir);
    let pylib = dir.join("pylib");
    std::fs::create_dir_all(&pylib).unwrap();
    std::fs::write(pylib.join("only_here.py"), "ANSWER = 'imported from the prepended PYTHONPATH'\n").unwrap();
    for (launcher, args) in
        [("mpirun", openmpi_args(&agent, "nodeA,nodeB")), ("mpiexec.hydra", hydra_args(&agent, "nodeA,nodeB"))]
    {
        let mut command = command_with_env(injector(), mpi_env(&dir, &[]));
        command
            .arg(format!("--prepend=LD_LIBRARY_PATH={}", libdir.display()))
            .arg(format!("--prepend=PYTHONPATH={}", pylib.display()))
            .arg("--app-set=OMP_NUM_THREADS=4")
            .args(["--", launcher])
            .args(&args)
            .args(["-n", "2"])
            .arg(&program);
        let out = success(&mut command);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("needs_lib on nodeA: 42") && text.contains("needs_lib on nodeB: 42"),
            "{launcher}: {text}"
        );
        let mut command = command_with_env(injector(), mpi_env(&dir, &[]));
        command
            .arg(format!("--prepend=PYTHONPATH={}", pylib.display()))
            .arg("--app-set=OMP_NUM_THREADS=4")
            .args(["--", launcher])
            .args(&args)
            .args([
                "-n",
                "2",
                "python3",
                "-c",
                "import os, only_here; print(os.environ['FAKE_NODE'], only_here.ANSWER, os.environ['OMP_NUM_THREADS'])",
            ]);
        let out = success(&mut command);
        let text = String::from_utf8_lossy(&out.stdout);
        for node in ["nodeA", "nodeB"] {
            assert!(text.contains(&format!("{node} imported from the prepended PYTHONPATH 4")), "{launcher}: {text}");
        }
    }
}

#[test]
fn a_rank_passes_its_own_changes_on_and_lists_never_grow() {
    let dir = scratch("nested");
    let agent = fake_ssh_agent(&dir);
    let nested = format!(
        "import os, subprocess; os.environ['NESTED'] = 'from-rank'; os.environ['PATH'] = '/opt/nested:' + os.environ['PATH']; \
         os.environ['REPORT_NAMES'] = 'NESTED,NCCL_DEBUG,PATH'; subprocess.run(['python3', '{}'], check=True)",
        rank_report().display()
    );
    let launch =
        format!("mpirun {} -n 2 python3 -c {}", words(&openmpi_args(&agent, "nodeA,nodeB")), shell_quote(&nested));
    let (_, reports) = launch_from_tracked_bash(&dir, &launch);
    assert_eq!(reports.len(), 2, "{reports:?}");
    for report in &reports {
        assert_eq!(report["values"]["NESTED"], "from-rank");
        assert_eq!(report["values"]["NCCL_DEBUG"], "INFO");
        let path = report["values"]["PATH"].as_str().unwrap();
        assert!(path.starts_with("/opt/nested:/opt/mine:"), "{path}");
        let elements: Vec<&str> = path.split(':').collect();
        for element in ["/opt/nested", "/opt/mine"] {
            assert_eq!(elements.iter().filter(|e| **e == element).count(), 1, "{path}");
        }
    }
}

#[test]
fn ten_thousand_variables_and_a_mebibyte_value_reach_the_ranks() {
    let dir = scratch("big");
    let agent = fake_ssh_agent(&dir);
    for (launcher, args) in
        [("mpirun", openmpi_args(&agent, "nodeA,nodeB")), ("mpiexec.hydra", hydra_args(&agent, "nodeA,nodeB"))]
    {
        let launch: Vec<String> = [launcher.to_string()]
            .into_iter()
            .chain(args)
            .chain(["-n", "2", "python3", "-c"].map(String::from))
            .chain(["import os; print('BIG', os.environ['FAKE_NODE'], len(os.environ.get('BIG', '')), sum(k.startswith('MANY_') for k in os.environ))".to_string()])
            .collect();
        let script = format!(
            "import os, subprocess\nos.environ['BIG'] = 'b' * (1 << 20)\nfor i in range(10000):\n    os.environ['MANY_%d' % i] = 'value-%d' % i\nsubprocess.run({launch:?}, check=True)\n"
        );
        let mut command = command_with_env("/usr/bin/python3", mpi_env(&dir, &[]));
        command.args(["-c", &script]);
        let out = success(&mut command);
        let text = String::from_utf8_lossy(&out.stdout);
        for node in ["nodeA", "nodeB"] {
            assert!(text.contains(&format!("BIG {node} 1048576 10000")), "{launcher}: {text}");
        }
    }
}

#[test]
fn a_node_without_envtrack_fails_the_launch_and_says_where() {
    let dir = scratch("missing_remote");
    let agent = fake_ssh_agent(&dir);
    let mut command = command_with_env(injector(), mpi_env(&dir, &[]));
    command
        .args(["--remote-inject", "/nonexistent/envtrack-inject", "--", "mpirun"])
        .args(openmpi_args(&agent, "nodeA,nodeB"))
        .args(["-n", "2", "/bin/true"]);
    let out = output(&mut command);
    assert!(!out.status.success());
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("/nonexistent/envtrack-inject"), "{all}");
    assert!(all.contains("nodeA") || all.contains("nodeB"), "{all}");
}

#[test]
fn a_missing_launcher_fails_closed() {
    let mut command = command_with_env(injector(), ["PATH=/nonexistent", "HOME=/root"]);
    command.args(["--", "mpirun", "-n", "2", "/bin/true"]);
    let out = output(&mut command);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("launcher mpirun not found"));
}

#[test]
fn envtrack_log_says_what_was_applied_where_with_secrets_redacted() {
    let dir = scratch("log");
    let agent = fake_ssh_agent(&dir);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let launch = format!(
        "export API_TOKEN={secret}; mpirun {} -n 2 /bin/true",
        words(&openmpi_args(&agent, "nodeA,nodeB")),
        secret = shell_quote(SECRET)
    );
    let out = bash_tracked(&dir, &launch, &[&format!("ENVTRACK_LOG={}", logs.display())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut events = Vec::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(SECRET), "a secret in {}", path.display());
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            events.push((record["event"].as_str().unwrap().to_string(), record["pid"].as_u64().unwrap()));
            assert!(record["host"].is_string() && record["program"].is_string());
        }
    }
    // One launch, and an apply in each rank's process (both nodes are this machine, so the
    // host names are the same: the pids tell the ranks apart).
    let count = |event: &str| events.iter().filter(|(e, _)| e == event).count();
    assert_eq!(count("launch"), 1, "{events:?}");
    let mut apply_pids: Vec<u64> = events.iter().filter(|(e, _)| e == "apply").map(|(_, pid)| *pid).collect();
    apply_pids.sort_unstable();
    apply_pids.dedup();
    assert_eq!(apply_pids.len(), 2, "{events:?}");
}

#[test]
fn a_wrapper_script_named_mpirun_is_recognised_by_what_it_runs() {
    let dir = scratch("wrapper_script");
    let agent = fake_ssh_agent(&dir);
    let wrapper = dir.join("mpirun");
    std::fs::write(&wrapper, "#!/bin/sh\n# a site module's mpirun\nexec mpiexec.hydra \"$@\"\n").unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&wrapper).status().unwrap();
    let launch = format!(
        "{} {} -genvnone -n 2 python3 {}",
        wrapper.display(),
        words(&hydra_args(&agent, "nodeA,nodeB")),
        rank_report().display()
    );
    let (_, reports) = launch_from_tracked_bash(&dir, &launch);
    assert_ranks_got_everything(&reports, "a wrapper script around Hydra");
}

/// The fake nodes start clean even when the agent runs under the library (as a real sshd's session
/// does), so what a routed launch's ranks see is envtrack's doing: the same Open MPI launch from the
/// same tracked shell gives its ranks nothing with routing off, and everything with it on.
#[test]
fn a_launcher_envtrack_did_not_route_gives_its_ranks_nothing() {
    let dir = scratch("unrouted");
    let agent = fake_ssh_agent(&dir);
    // REPORT_NAMES goes by Open MPI's own -x, so that the ranks report in both runs.
    let launch = format!(
        "export ONLY_TRACKED='reaches a rank only through envtrack'; \
         mpirun {} -x REPORT_NAMES=ONLY_TRACKED,NCCL_DEBUG -n 2 python3 {}",
        words(&openmpi_args(&agent, "nodeA,nodeB")),
        rank_report().display()
    );
    let script = format!("export NCCL_DEBUG=INFO; {launch}");
    for (routing, extra) in [("off", &["ENVTRACK_AUTOWRAP=off"][..]), ("on", &[][..])] {
        let out = bash_tracked(&dir, &script, extra);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "routing {routing}: {text}");
        let reports = reports(&out.stdout);
        let mut nodes: Vec<&str> = reports.iter().map(|r| r["node"].as_str().unwrap_or("")).collect();
        nodes.sort();
        assert_eq!(nodes, ["nodeA", "nodeB"], "routing {routing}: {text}");
        for report in &reports {
            let values = &report["values"];
            if routing == "off" {
                assert_eq!(values["ONLY_TRACKED"], Value::Null, "routing off, yet a rank got it: {report}");
                assert_eq!(values["NCCL_DEBUG"], Value::Null, "routing off, yet a rank got it: {report}");
                assert_eq!(report["tracked"], false, "routing off, yet tracking is active in a rank: {report}");
            } else {
                assert_eq!(values["ONLY_TRACKED"], "reaches a rank only through envtrack", "{report}");
                assert_eq!(values["NCCL_DEBUG"], "INFO", "{report}");
                assert_eq!(report["tracked"], true, "{report}");
            }
        }
    }
}
