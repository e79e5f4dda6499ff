//! The Slurm plugin (`libenvtrack_spank.so`) on the one-node Slurm the suite
//! starts, with the library's routing of srun off: srun and sbatch carry the
//! snapshot themselves, the step's command is the user's.

use envtrack_tests::launchers::{slurm_lock, Slurm};
use envtrack_tests::ranks::{exporting_test_values, SECRET};
use envtrack_tests::*;
use serde_json::Value;

fn rank_report() -> String {
    workspace().join("tests/programs/rank_report.py").display().to_string()
}

fn plugstack(arguments: &str) -> String {
    format!("optional {} {arguments}\n", spank_plugin().display())
}

/// A bash with the library preloaded and `extra` entries, in Slurm's client environment, running `script`.
fn bash(slurm: &Slurm, extra: &[&str], script: &str) -> std::process::Output {
    let mut env = tracked_env(extra);
    env.extend(slurm.env_entries());
    let mut command = command_with_env("/bin/bash", env);
    command.args(["-c", script]);
    output(&mut command)
}

/// A tracked bash (routing off) that exports the test's values and runs `launch`.
fn tracked_bash(launch: &str, slurm: &Slurm, extra: &[&str]) -> std::process::Output {
    let extra: Vec<&str> = std::iter::once("ENVTRACK_AUTOWRAP=0").chain(extra.iter().copied()).collect();
    bash(slurm, &extra, &exporting_test_values(launch))
}

/// The entries that turn the library's routing off, or none.
fn routing(on: bool) -> &'static [&'static str] {
    if on {
        &[]
    } else {
        &["ENVTRACK_AUTOWRAP=0"]
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_carried(out: &std::process::Output, count: usize, what: &str) {
    assert!(out.status.success(), "{what}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let reports = reports(&out.stdout);
    assert_eq!(reports.len(), count, "{what}: {reports:?}\n{}", text(&out.stderr));
    for report in &reports {
        assert_eq!(report["values"]["SECRET_VALUE"], SECRET, "{what}: {report}");
        assert_eq!(report["values"]["NCCL_DEBUG"], "INFO", "{what}: {report}");
        let path = report["values"]["PATH"].as_str().unwrap_or("");
        assert!(path.starts_with("/opt/mine"), "{what}: {report}");
        assert_eq!(report["tracked"], true, "{what}: {report}");
        assert_eq!(report["cmdline_leaks"], Value::Array(vec![]), "{what}: {report}");
        assert_eq!(report["argv"], Value::Array(vec![]), "{what}: {report}");
    }
}

/// A tracked Python program (routing off) that sets values through `os.environ` — one of them
/// not UTF-8, with a newline and an `=` — and runs srun with `options` through subprocess.
fn tracked_python(options: &str, slurm: &Slurm, extra: &[&str]) -> std::process::Output {
    let mut env = tracked_env(&["ENVTRACK_AUTOWRAP=0"]);
    env.extend(slurm.env_entries());
    env.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
    let program = format!(
        r#"
import os, shlex, subprocess, sys
os.environ["SECRET_VALUE"] = {SECRET:?}
os.environ["NCCL_DEBUG"] = "INFO"
os.environ["PATH"] = "/opt/mine:" + os.environ["PATH"]
os.environb[b"ODD_BYTES"] = b"\xff\xfe line1\nline2=x"
os.environ["REPORT_NAMES"] = "SECRET_VALUE,NCCL_DEBUG,PATH,ODD_BYTES"
sys.exit(subprocess.run(["srun", "-N1", "-n2", *shlex.split({options:?}), "/usr/bin/python3", {report:?}]).returncode)
"#,
        report = rank_report(),
    );
    let mut command = command_with_env("/usr/bin/python3", env);
    command.args(["-c", &program]);
    output(&mut command)
}

#[test]
fn srun_tasks_get_the_values_whatever_the_export_option() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin");
    // This build's plugin, and the portable one (glibc 2.17) with the library beside it.
    let portable = envtrack_tests::oldglibc::portable_dir().join("libenvtrack_spank.so");
    for plugin in [spank_plugin(), portable] {
        let slurm = Slurm::start_with_plugins(&dir, Some(&format!("optional {}\n", plugin.display())));
        for (options, extra) in [("", None), ("--export=NONE", None), ("", Some("SLURM_EXPORT_ENV=NONE"))] {
            let what = format!("{}: srun {options} {extra:?}", plugin.display());
            let out = tracked_python(options, &slurm, extra.as_slice());
            assert_carried(&out, 2, &what);
            for report in reports(&out.stdout) {
                // Byte for byte (the report gives bytes as latin-1).
                assert_eq!(report["values"]["ODD_BYTES"], "\u{ff}\u{fe} line1\nline2=x", "{what}: {report}");
            }
        }
    }
}

/// Runs `launch` in a tracked bash and returns its standard output, failing on a failure.
fn stdout_of(launch: &str, slurm: &Slurm, extra: &[&str]) -> String {
    let out = tracked_bash(launch, slurm, extra);
    assert!(out.status.success(), "{launch}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn what_the_tasks_see() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_tasks");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));

    // A module on the tracked PYTHONPATH imports in every task.
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(modules.join("envtrack_plugin_probe.py"), "WHERE = 'imported'\n").unwrap();
    let launch = format!(
        "export PYTHONPATH={}; srun -N1 -n2 --export=NONE /usr/bin/python3 -c 'import envtrack_plugin_probe as p; print(p.WHERE)'",
        modules.display()
    );
    assert_eq!(stdout_of(&launch, &slurm, &[]), "imported\nimported\n");

    // A static program (no library can reach it) gets the values in its environment.
    let static_program = c_program_variant("print_env_static", "static", &["-static"]);
    let launch = format!("srun -N1 -n1 --export=NONE {} SECRET_VALUE NCCL_DEBUG", static_program.display());
    assert_eq!(stdout_of(&launch, &slurm, &[]), format!("SECRET_VALUE={SECRET}\nNCCL_DEBUG=INFO\n"));

    // The step is the user's program: its name in squeue, its argv.
    let launch = "srun -N1 -n1 /bin/sh -c 'squeue --steps -h -o %j; echo \"$ENVTRACK_SPANK\"'";
    let seen = stdout_of(launch, &slurm, &[]);
    assert_eq!(seen, "sh\nenvtrack\n");

    // --envtrack=off: nothing carried, the tasks as without envtrack.
    let launch = format!("srun -N1 -n1 --export=NONE --envtrack=off /usr/bin/python3 {}", rank_report());
    let reports = reports(stdout_of(&launch, &slurm, &[]).as_bytes());
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["tracked"], false, "{}", reports[0]);
    assert_eq!(reports[0]["values"]["SECRET_VALUE"], Value::Null, "{}", reports[0]);

    // A malformed snapshot: one line, and the tasks run.
    let launch = "srun -N1 -n2 --export=NONE --envtrack-snapshot=garbage /bin/sh -c 'echo ran; exit 3'";
    let out = tracked_bash(launch, &slurm, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran\nran\n", "{}", text(&out.stderr));
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&out.stderr));
    assert!(lines[0].contains("--envtrack-snapshot: not base64"), "{lines:?}");
}

#[test]
fn routing_and_launch_mode_leave_srun_to_the_plugin() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_routing");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    let report = |launch: &str, env: &[&str]| {
        let script = format!(
            "export SECRET_VALUE={}; export REPORT_NAMES=SECRET_VALUE,ENVTRACK_SPANK,PATH; {launch}",
            shell_quote(SECRET)
        );
        let out = bash(&slurm, env, &script);
        assert!(out.status.success(), "{launch}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        let reports = reports(&out.stdout);
        assert_eq!(reports.len(), 1, "{launch}: {}", text(&out.stderr));
        reports[0].clone()
    };
    let task = format!("srun -N1 -n1 --export=NONE /usr/bin/python3 {}", rank_report());
    // Routed by the library (its default), and through envtrack-inject with a directive: the
    // plugin carries (it says so in ENVTRACK_SPANK), the command line is not rewritten.
    for (launch, env) in [
        (task.clone(), vec![]),
        (format!("{} --prepend PATH=/opt/extra -- {task}", injector().display()), vec!["ENVTRACK_AUTOWRAP=0"]),
    ] {
        let seen = report(&launch, &env);
        assert_eq!(seen["values"]["SECRET_VALUE"], SECRET, "{launch}: {seen}");
        assert_eq!(seen["values"]["ENVTRACK_SPANK"], "envtrack", "{launch}: {seen}");
        assert_eq!(seen["tracked"], true, "{launch}: {seen}");
        if launch.contains("--prepend") {
            let path = seen["values"]["PATH"].as_str().unwrap_or_default();
            assert_eq!(path.matches("/opt/extra").count(), 1, "{seen}");
        }
    }
    // `--envtrack=off`: the plugin does not carry; routing does (the command line is rewritten).
    let seen = report(&task.replace("srun ", "srun --envtrack=off "), &[]);
    assert_eq!(seen["values"]["SECRET_VALUE"], SECRET, "{seen}");
    assert_eq!(seen["values"]["ENVTRACK_SPANK"], Value::Null, "{seen}");
}

#[test]
fn an_sbatch_jobs_srun_carries_the_submitters_changes() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_sbatch");
    // The jobs' prolog keeps the environment Slurm gives it: the snapshot must not be there.
    let prolog = dir.join("prolog.sh");
    std::fs::write(&prolog, format!("#!/bin/sh\nenv > {}/prolog-env-$SLURM_JOB_ID\n", dir.display())).unwrap();
    std::fs::set_permissions(&prolog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let more = format!("Prolog={}\n", prolog.display());
    let slurm = Slurm::start_configured(&dir, Some(&plugstack("")), &more);
    let script = dir.join("job.sh");
    std::fs::write(&script, format!("#!/bin/bash\nsrun -N1 -n2 /usr/bin/python3 {}\n", rank_report())).unwrap();
    for export in ["", "--export=NONE"] {
        let out_file = dir.join(format!("job{}.out", export.len()));
        let launch = format!("sbatch --wait -N1 -n2 {export} -o {} {}", out_file.display(), script.display());
        let out = tracked_bash(&launch, &slurm, &[]);
        let written = std::fs::read_to_string(&out_file).unwrap_or_default();
        assert!(out.status.success(), "sbatch {export}: {}\n{written}", text(&out.stderr));
        assert_carried(
            &std::process::Output { status: out.status, stdout: written.into_bytes(), stderr: out.stderr },
            2,
            &format!("sbatch {export}"),
        );
    }
    // srun outside an allocation, too.
    let launch = format!("srun -N1 -n1 /usr/bin/python3 {}", rank_report());
    assert_carried(&tracked_bash(&launch, &slurm, &[]), 1, "srun");
    let prologs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("prolog-env-"))
        .collect();
    assert_eq!(prologs.len(), 3, "a prolog per job");
    for entry in prologs {
        let env = std::fs::read_to_string(entry.path()).unwrap();
        assert!(!env.contains("envtrack_snapshot"), "{}:\n{env}", entry.path().display());
    }
}

#[test]
fn carry_always_tracks_the_tasks_of_an_untracked_submitter() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_always");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("carry=always")));
    let mut env: Vec<Vec<u8>> = vec![b"PATH=/usr/local/bin:/usr/bin:/bin".to_vec(), b"HOME=/root".to_vec()];
    env.extend(slurm.env_entries());
    let launch = format!("export A_VALUE=1; srun -N1 -n1 --export=NONE /usr/bin/python3 {}", rank_report());
    let mut command = command_with_env("/bin/bash", env);
    command.args(["-c", &launch]).env("REPORT_NAMES", "A_VALUE");
    let out = output(&mut command);
    let reports = reports(&out.stdout);
    assert_eq!(reports.len(), 1, "{}", text(&out.stderr));
    // Tracked from the start; an untracked submitter's changes are not known.
    assert_eq!(reports[0]["tracked"], true, "{}", reports[0]);
    assert_eq!(reports[0]["values"]["A_VALUE"], Value::Null, "{}", reports[0]);
}

#[test]
fn an_untracked_submitters_tasks_are_as_without_the_plugin_unless_asked() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_untracked");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    let tasks_env = |options: &str| {
        let mut env: Vec<Vec<u8>> = vec![b"PATH=/usr/local/bin:/usr/bin:/bin".to_vec(), b"HOME=/root".to_vec()];
        env.extend(slurm.env_entries());
        let launch = format!("export A_VALUE=1; srun -N1 -n1 {options} /usr/bin/env");
        let mut command = command_with_env("/bin/bash", env);
        command.args(["-c", &launch]);
        let out = output(&mut command);
        assert!(out.status.success(), "{options}: {}", text(&out.stderr));
        assert!(envtrack_lines(&out.stderr).is_empty(), "{options}: {}", text(&out.stderr));
        let mut names: Vec<String> = text(&out.stdout)
            .lines()
            .filter_map(|line| line.split('=').next())
            // These differ from step to step.
            .filter(|name| !name.starts_with("SLURM_") && !name.starts_with("SLURMD_"))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    };
    let with_plugin = tasks_env("");
    // The same variables (values aside) as with no plugin loaded: nothing of envtrack's.
    std::fs::write(dir.join("plugstack.conf"), "# none\n").unwrap();
    assert_eq!(with_plugin, tasks_env(""));
    let envtracks = |name: &String| name.contains("ENVTRACK") || name.contains("SPANK");
    assert!(!with_plugin.iter().any(envtracks), "{with_plugin:?}");
    // `--envtrack=on`: the tasks start tracked.
    std::fs::write(dir.join("plugstack.conf"), plugstack("")).unwrap();
    let on = tasks_env("--envtrack=on");
    for name in ["ENVTRACK_SPANK", "ENVTRACK_STATE", "LD_PRELOAD"] {
        assert!(on.iter().any(|n| n == name), "{name}: {on:?}");
    }
}

#[test]
fn doctor_says_whether_srun_loads_the_plugin() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_doctor");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    let doctor = || {
        let mut command = std::process::Command::new(injector());
        command.arg("doctor").envs(slurm.env());
        let out = output(&mut command);
        text(&out.stdout).lines().find(|line| line.contains("Slurm plugin")).unwrap_or_default().to_string()
    };
    let line = doctor();
    assert!(line.starts_with("ok   Slurm plugin: srun loads libenvtrack_spank.so"), "{line}");
    // srun reads plugstack.conf each time it starts.
    let missing = dir.join("elsewhere/libenvtrack_spank.so");
    std::fs::write(dir.join("plugstack.conf"), format!("required {}\n", missing.display())).unwrap();
    let line = doctor();
    assert!(line.starts_with("FAIL Slurm plugin: srun did not load libenvtrack_spank.so"), "{line}");
    std::fs::write(dir.join("plugstack.conf"), "# none\n").unwrap();
    let line = doctor();
    assert!(line.starts_with("ok   Slurm plugin: not loaded by srun"), "{line}");
}

#[test]
fn what_slurm_or_the_command_line_sets_for_a_task_stands() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_stands");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    let off = "SLURM_SPANK__SLURM_SPANK_OPTION_envtrack_envtrack=off";
    let show = "/bin/sh -c 'echo \"$NCCL_DEBUG $SECRET_VALUE\"'";
    // The command line's value, however it is given (the tracked value is INFO): what Slurm
    // gives the task with the plugin off. (`ALL,NAME=VALUE` keeps the submitter's value in
    // Slurm 22.05.)
    for (launch, extra, expected) in [
        (format!("srun -N1 -n1 --export=NCCL_DEBUG=WARN {show}"), None, "WARN"),
        (format!("srun -N1 -n1 {show}"), Some("SRUN_EXPORT_ENV=NCCL_DEBUG=WARN"), "WARN"),
        (format!("srun -N1 -n1 {show}"), Some("SLURM_EXPORT_ENV=NCCL_DEBUG=WARN"), "WARN"),
        (format!("srun -N1 -n1 --export=ALL,NCCL_DEBUG=WARN {show}"), None, "INFO"),
    ] {
        let with = stdout_of(&launch, &slurm, extra.as_slice());
        let without = stdout_of(&launch, &slurm, &[extra.unwrap_or(off), off]);
        assert_eq!(with.split(' ').next(), Some(expected), "{launch} {extra:?}: {with}");
        assert_eq!(with.split(' ').next(), without.split(' ').next(), "{launch} {extra:?}");
        // The other tracked values arrive (where the export took them away too).
        assert_eq!(with, format!("{expected} {SECRET}\n"), "{launch} {extra:?}");
    }
    // sbatch's command line, and what Slurm sets in a batch script (HOSTNAME, ENVIRONMENT): a
    // tracked login shell's HOSTNAME must not reach the job's node.
    let out_file = dir.join("wrap.out");
    let launch = format!(
        "export HOSTNAME=login01 ENVIRONMENT=INTERACTIVE; sbatch --wait --export=NCCL_DEBUG=WARN -o {} \
         --wrap 'echo \"$NCCL_DEBUG $HOSTNAME $ENVIRONMENT $SECRET_VALUE\"'",
        out_file.display()
    );
    stdout_of(&launch, &slurm, &[]);
    let written = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert_eq!(written, format!("WARN {} BATCH {SECRET}\n", slurm.node()));
}

#[test]
fn lists_under_export_none_and_the_library_elsewhere() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_lists");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    // `--export=NONE` filtered PATH out: the task gets the submitter's whole PATH, not
    // `/opt/mine` alone, and finds the system's commands; with the default export, /opt/mine once.
    let launch = "srun -N1 -n1 --export=NONE /bin/sh -c 'ls / >/dev/null && echo \"$PATH\"'";
    assert_eq!(stdout_of(launch, &slurm, &[]), "/opt/mine:/usr/local/bin:/usr/bin:/bin\n");
    let launch = "srun -N1 -n1 /bin/sh -c 'echo \"$PATH\"'";
    assert_eq!(stdout_of(launch, &slurm, &[]), "/opt/mine:/usr/local/bin:/usr/bin:/bin\n");

    // No libenvtrack.so where plugstack.conf says: the task's own LD_PRELOAD's library (the
    // submitter's, here on the same machine) tracks; with none, the values arrive untracked,
    // after one line.
    let missing = dir.join("nowhere/libenvtrack.so");
    std::fs::write(dir.join("plugstack.conf"), plugstack(&format!("library={}", missing.display()))).unwrap();
    let launch = format!("srun -N1 -n2 /usr/bin/python3 {}", rank_report());
    assert_carried(&tracked_bash(&launch, &slurm, &[]), 2, "library elsewhere, default export");
    let launch = format!("srun -N1 -n2 --export=NONE /usr/bin/python3 {}", rank_report());
    let out = tracked_bash(&launch, &slurm, &[]);
    let reports = reports(&out.stdout);
    assert_eq!(reports.len(), 2, "{}", text(&out.stderr));
    for report in &reports {
        assert_eq!(report["values"]["SECRET_VALUE"], SECRET, "{report}");
        assert_eq!(report["tracked"], false, "{report}");
    }
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&out.stderr));
    assert!(lines[0].contains(&missing.display().to_string()), "{lines:?}");
}

#[test]
fn a_snapshot_too_long_for_the_plugin_is_carried_by_rewriting() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_long");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    let long = "export LONG_VALUE=$(head -c 95000 /dev/zero | tr '\\0' x);";
    let run = |launch: &str, routed: bool| bash(&slurm, routing(routed), &format!("{long} {launch}"));
    // Routed: launch mode sees that the plugin cannot carry it and rewrites the command line.
    let out = run("srun -N1 -n1 --export=NONE /bin/sh -c 'echo ${#LONG_VALUE}'", true);
    assert_eq!(text(&out.stdout), "95000\n", "{}", text(&out.stderr));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    // Not routed: one line from srun, and the job runs as without envtrack.
    let out = run("srun -N1 -n1 --export=NONE /bin/sh -c 'echo ${#LONG_VALUE}'", false);
    assert_eq!(text(&out.stdout), "0\n", "{}", text(&out.stderr));
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&out.stderr));
    assert!(lines[0].contains("more than the 120000 it carries"), "{lines:?}");
    // Nothing said where nothing is launched, or where carrying is off.
    for launch in ["srun --version", "srun --help >/dev/null", "srun -N1 -n1 --envtrack=off /bin/true"] {
        let out = run(launch, false);
        assert!(out.status.success(), "{launch}: {}", text(&out.stderr));
        assert!(envtrack_lines(&out.stderr).is_empty(), "{launch}: {}", text(&out.stderr));
    }
}

#[test]
fn a_nested_step_and_a_plugin_installed_under_another_name() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin_nested");
    // plugstack.conf names a link to the plugin, elsewhere (libenvtrack.so is beside the real file).
    let linked = dir.join("site/envtrack.so");
    std::fs::create_dir_all(linked.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(spank_plugin(), &linked).unwrap();
    let slurm = Slurm::start_with_plugins(&dir, Some(&format!("optional {}\n", linked.display())));
    // A step's srun with `--export=NONE` gets the list changes too: the task goes on tracking them.
    let inner = "srun -N1 -n1 --overlap --export=NONE /bin/sh -c \"echo \\$PATH \\$NCCL_DEBUG \\$ENVTRACK_SPANK\"";
    for routed in [false, true] {
        let launch =
            format!("export NCCL_DEBUG=INFO; export PATH=/opt/mine:$PATH; srun -N1 -n1 /bin/bash -c '{inner}'");
        let out = bash(&slurm, routing(routed), &launch);
        assert!(out.status.success(), "routing {routed}: {}", text(&out.stderr));
        assert!(envtrack_lines(&out.stderr).is_empty(), "routing {routed}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "/opt/mine:/usr/local/bin:/usr/bin:/bin INFO envtrack\n", "routing {routed}");
    }
}
