//! The Python package, installed from its wheel into fresh virtual environments: the
//! injector on the venv's PATH, `python -m envtrack`, `envtrack.activate()`, the package's
//! own unit tests and doctests, and workers of a real Dask cluster and a real Ray head, each
//! started with a clean environment (`env -i`), that start with the driver's changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use envtrack_tests::launchers::{dask_python, output_within, ray_python, success_within, venv, Dask, Ray};
use envtrack_tests::python_package::{fresh_venv, install_wheel, wheel};
use envtrack_tests::{envtrack_lines, scratch, shell_quote, workspace};

const LIMIT: Duration = Duration::from_secs(120);

/// One fresh venv with the wheel and nothing else, shared by the tests of this file.
fn plain_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| fresh_venv(&scratch("python-venv").join("venv")))
}

/// `PROGRAM ARGS` with exactly `PATH` (the venv's bin first) and `HOME`, as a new login's.
fn clean(venv: &Path, program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut command = Command::new(program);
    command.env_clear().env("PATH", format!("{}:/usr/bin:/bin", venv.join("bin").display())).env("HOME", home);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn the_wheel_is_manylinux_2_17_and_installs_the_injector_on_the_venvs_path_with_its_library() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, format!("envtrack-{}-py3-none-manylinux_2_17_x86_64.whl", env!("CARGO_PKG_VERSION")));
    let venv = plain_venv();
    let home = scratch("python-wheel-home");

    let out = success_within(clean(venv, "envtrack-inject", &home).arg("--version"), LIMIT);
    assert_eq!(text(&out.stdout).trim(), format!("envtrack-inject {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        fs::canonicalize(venv.join("bin/envtrack-inject")).unwrap(),
        fs::canonicalize(
            String::from_utf8_lossy(
                &success_within(clean(venv, "sh", &home).args(["-c", "command -v envtrack-inject"]), LIMIT).stdout
            )
            .trim()
        )
        .unwrap()
    );
    let doctor = output_within(clean(venv, "envtrack-inject", &home).arg("doctor"), LIMIT);
    let library = fs::canonicalize(venv.join("bin/libenvtrack.so")).unwrap();
    assert!(
        text(&doctor.stdout).contains(&format!("ok   library {} loads", library.display())),
        "doctor:\n{}",
        text(&doctor.stdout)
    );

    // python -m envtrack: run mode, the library loaded in the child; the package says so.
    let script = "import os, envtrack; os.environ['NOTE'] = 'a b'; \
                  print(envtrack.is_active(), envtrack.environ.tracked()['NOTE'][0].value)";
    let out = success_within(
        clean(venv, venv.join("bin/python"), &home).args(["-m", "envtrack", "--", "python", "-c", script]),
        LIMIT,
    );
    assert_eq!(text(&out.stdout).trim(), "True a b");

    // Typed, Python 3.8 and later, nothing required beyond the standard library.
    let check = "import importlib.metadata as m, pathlib, envtrack; \
                 d = m.distribution('envtrack'); \
                 print(pathlib.Path(envtrack.__file__).with_name('py.typed').is_file(), \
                 d.metadata['Requires-Python'], [r for r in d.requires or [] if 'extra ==' not in r])";
    let out = success_within(clean(venv, venv.join("bin/python"), &home).args(["-c", check]), LIMIT);
    assert_eq!(text(&out.stdout).trim(), "True >=3.8 []");
    let out = success_within(clean(venv, venv.join("bin/python"), &home).args(["-m", "pip", "check"]), LIMIT);
    assert!(text(&out.stdout).contains("No broken requirements"), "{}", text(&out.stdout));
}

#[test]
fn pip_uninstall_removes_every_file_the_wheel_installed() {
    let venv = fresh_venv(&scratch("python-uninstall").join("venv"));
    let home = scratch("python-uninstall-home");
    assert!(venv.join("bin/envtrack-inject").is_file() && venv.join("bin/libenvtrack.so").is_file());
    let out = success_within(
        clean(&venv, venv.join("bin/python"), &home).args(["-m", "pip", "uninstall", "--yes", "envtrack"]),
        LIMIT,
    );
    assert!(text(&out.stdout).contains("Successfully uninstalled envtrack"), "{}", text(&out.stdout));
    for gone in ["bin/envtrack-inject", "bin/libenvtrack.so", "share/man/man1/envtrack-inject.1"] {
        assert!(!venv.join(gone).exists(), "{gone} left behind");
    }
    let left = success_within(Command::new("find").arg(&venv).args(["-path", "*envtrack*"]), LIMIT);
    assert_eq!(text(&left.stdout), "", "files left");
}

#[test]
fn the_packages_unit_tests_and_doctests_pass() {
    let venv = plain_venv();
    let home = scratch("python-unittest-home");
    let tests = workspace().join("python/tests");
    let out = output_within(
        clean(venv, venv.join("bin/python"), &home)
            .current_dir(&home)
            .args(["-m", "unittest", "discover", "-v", "-s"])
            .arg(&tests),
        LIMIT,
    );
    assert!(out.status.success(), "unit tests failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("Ran "), "{}", text(&out.stderr));

    let doctests = "import doctest, importlib, sys\n\
        total = failed = 0\n\
        for name in ['envtrack', 'envtrack._environ', 'envtrack._snapshot', 'envtrack._activate', 'envtrack.ray']:\n\
        \x20   result = doctest.testmod(importlib.import_module(name))\n\
        \x20   total += result.attempted; failed += result.failed\n\
        print(total, failed)\n\
        sys.exit(1 if failed or not total else 0)\n";
    let out = output_within(clean(venv, venv.join("bin/python"), &home).args(["-c", doctests]), LIMIT);
    assert!(out.status.success(), "doctests failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    // The README's example, in a process of its own.
    let mut readme = clean(venv, venv.join("bin/python"), &home);
    readme.args(["-m", "doctest", "-v"]).arg(workspace().join("README.md"));
    let out = output_within(&mut readme, LIMIT);
    assert!(out.status.success(), "README.md's doctest failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("6 passed and 0 failed"), "{}", text(&out.stdout));
}

/// A script that prints its pid, argv and whether it is tracked, around `envtrack.activate()`.
const ACTIVATED: &str = r#"import os, sys
print("start", os.getpid(), repr(sys.argv), flush=True)
import envtrack
active = envtrack.activate()
os.environ["AFTER"] = "1"
import subprocess
seen = subprocess.run(["sh", "-c", 'printf %s "${AFTER}-${ENVTRACK_REEXEC-none}"'], stdout=subprocess.PIPE).stdout.decode()
print("active", active, seen, sorted(envtrack.environ.tracked()) if active else "-", flush=True)
"#;

fn starts(out: &Output) -> Vec<String> {
    text(&out.stdout).lines().filter(|l| l.starts_with("start ")).map(str::to_string).collect()
}

#[test]
fn activate_runs_the_script_again_once_under_the_library_with_the_same_command_line() {
    let venv = plain_venv();
    let dir = scratch("python-activate");
    let script = dir.join("activated.py");
    fs::write(&script, ACTIVATED).unwrap();
    let python = venv.join("bin/python");

    let out =
        success_within(clean(venv, &python, &dir).arg("-X").arg("utf8").arg(&script).args(["a b", "c'd", ""]), LIMIT);
    let starts = starts(&out);
    assert_eq!(starts.len(), 2, "{}", text(&out.stdout));
    assert_eq!(starts[0], starts[1], "the same process (exec), the same argv");
    assert!(starts[0].ends_with("'a b', \"c'd\", '']"), "{}", starts[0]);
    assert!(text(&out.stdout).contains("active True 1-none ['AFTER']"), "{}", text(&out.stdout));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));

    // python -m MODULE and python -c CODE run again as they were.
    fs::write(dir.join("activated_module.py"), ACTIVATED).unwrap();
    let out = success_within(clean(venv, &python, &dir).current_dir(&dir).args(["-m", "activated_module", "x"]), LIMIT);
    assert_eq!(self::starts(&out).len(), 2, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("active True"), "{}", text(&out.stdout));
    let out = success_within(clean(venv, &python, &dir).args(["-c", ACTIVATED, "y"]), LIMIT);
    assert_eq!(self::starts(&out).len(), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("active True"), "{}", text(&out.stdout));
}

#[test]
fn activate_refuses_what_it_cannot_run_again_and_goes_on_untracked_when_the_library_does_not_load() {
    let venv = plain_venv();
    let dir = scratch("python-activate-refusals");
    let python = venv.join("bin/python");
    let script = dir.join("activated.py");
    fs::write(&script, ACTIVATED).unwrap();

    // A program read from standard input cannot be read again.
    let mut piped = clean(venv, "sh", &dir);
    piped.arg("-c").arg(format!("{} - < {}", python.display(), script.display()));
    let out = output_within(&mut piped, LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ActivationError: envtrack.activate() cannot run this interpreter again"));

    // ENVTRACK=off: nothing is run again.
    let out = success_within(clean(venv, &python, &dir).env("ENVTRACK", "off").arg(&script), LIMIT);
    assert_eq!(starts(&out).len(), 1);
    assert!(text(&out.stdout).contains("active False 1-none -"), "{}", text(&out.stdout));

    // An "injector" whose environment preloads a library ld.so cannot load: the interpreter is
    // run again once, then one line, and the script goes on untracked (the marker gone).
    let fake = dir.join("fake-inject");
    // (It answers `apply --print-env --on -` as envtrack-inject does: the environment on its
    // standard input, changed.)
    let body = "#!/bin/sh\nexec /usr/bin/python3 -c 'import sys; \
                e = [x for x in sys.stdin.buffer.read().split(b\"\\0\") if x and not x.startswith(b\"LD_PRELOAD=\")]; \
                e.append(b\"LD_PRELOAD=/nonexistent/libenvtrack.so\"); \
                sys.stdout.buffer.write(b\"\".join(x + b\"\\0\" for x in e))'\n";
    fs::write(&fake, body).unwrap();
    success_within(Command::new("chmod").arg("755").arg(&fake), LIMIT);
    let out = success_within(clean(venv, &python, &dir).env("ENVTRACK_INJECT", &fake).arg(&script), LIMIT);
    assert_eq!(starts(&out).len(), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("active False 1-none -"), "{}", text(&out.stdout));
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&out.stderr));
    assert!(lines[0].contains("did not load"), "{}", lines[0]);
}

#[test]
fn activate_refuses_a_script_read_from_a_pipe_and_goes_on_when_the_injector_has_no_library() {
    let venv = plain_venv();
    let dir = scratch("python-activate-pipes");
    let python = venv.join("bin/python");
    let script = dir.join("activated.py");
    fs::write(&script, ACTIVATED).unwrap();

    // The program comes from a pipe (process substitution, /dev/stdin): it cannot be read again.
    for how in ["{python} <(cat {script}) x", "cat {script} | {python} /dev/stdin x"] {
        let line = how.replace("{python}", python.to_str().unwrap()).replace("{script}", script.to_str().unwrap());
        let out = output_within(clean(venv, "bash", &dir).args(["-c", &line]), LIMIT);
        assert_eq!(out.status.code(), Some(1), "{line}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("is not a file that can be read again"), "{}", text(&out.stderr));
        assert_eq!(starts(&out).len(), 1);
    }
    // From a regular file behind /dev/stdin it can.
    let line = format!("{} /dev/stdin x < {}", python.display(), script.display());
    let out = success_within(clean(venv, "bash", &dir).args(["-c", &line]), LIMIT);
    assert!(text(&out.stdout).contains("active True"), "{}", text(&out.stdout));

    // An envtrack-inject that cannot find its library: one line, and the script goes on as it
    // would have without envtrack.
    let lonely = dir.join("lonely");
    fs::create_dir_all(&lonely).unwrap();
    fs::copy(venv.join("bin/envtrack-inject"), lonely.join("envtrack-inject")).unwrap();
    let out = success_within(
        clean(venv, &python, &dir).env("ENVTRACK_INJECT", lonely.join("envtrack-inject")).arg(&script),
        LIMIT,
    );
    assert_eq!(starts(&out).len(), 1, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("active False 1-none -"), "{}", text(&out.stdout));
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{}", text(&out.stderr));
    assert!(lines[0].contains("libenvtrack.so not found") && lines[0].contains("going on untracked"), "{}", lines[0]);
}

#[test]
fn activate_after_a_change_of_directory_and_with_the_library_loaded_under_another_name() {
    let venv = plain_venv();
    let dir = scratch("python-activate-chdir");
    let python = venv.join("bin/python");
    let moves = format!("import os\nos.chdir('/')\n{ACTIVATED}");
    fs::write(dir.join("moves.py"), &moves).unwrap();
    fs::create_dir_all(dir.join("movespkg")).unwrap();
    fs::write(dir.join("movespkg/__init__.py"), "").unwrap();
    fs::write(dir.join("movespkg/__main__.py"), &moves).unwrap();
    for args in [&["moves.py", "a"][..], &["-m", "movespkg", "b"][..]] {
        let out = success_within(clean(venv, &python, &dir).current_dir(&dir).args(args), LIMIT);
        assert_eq!(starts(&out).len(), 2, "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains("active True 1-none ['AFTER']"), "{args:?}: {}", text(&out.stdout));
    }

    // The working directory removed before the call.
    let removed = format!("import os, tempfile\nd = tempfile.mkdtemp()\nos.chdir(d)\nos.rmdir(d)\n{ACTIVATED}");
    fs::write(dir.join("removed.py"), removed).unwrap();
    let out = success_within(clean(venv, &python, &dir).current_dir(&dir).arg("removed.py"), LIMIT);
    assert!(text(&out.stdout).contains("active True"), "{}{}", text(&out.stdout), text(&out.stderr));

    // Already under a copy of the library with another name: tracked, not run again.
    let copy = dir.join("libenvtrack-site.so");
    fs::copy(venv.join("bin/libenvtrack.so"), &copy).unwrap();
    let script = dir.join("activated.py");
    fs::write(&script, ACTIVATED).unwrap();
    let mut run = clean(venv, venv.join("bin/envtrack-inject"), &dir);
    run.arg("--lib").arg(&copy).arg("--").arg(&python).arg(&script);
    let out = success_within(&mut run, LIMIT);
    assert_eq!(starts(&out).len(), 1, "{}", text(&out.stdout));
    // (Python, started in a C locale under the library, sets LC_CTYPE itself (PEP 538): tracked too.)
    assert!(text(&out.stdout).contains("active True 1-none ['AFTER'"), "{}", text(&out.stdout));
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn activate_goes_by_the_command_line_not_sys_argv_and_runs_zipapps_and_directories() {
    let venv = plain_venv();
    let dir = scratch("python-activate-forms");
    let python = venv.join("bin/python");

    // sys.argv changed before the call: the program is still known to come from standard input,
    // or to be the script it was.
    let renamed = format!("import sys\nsys.argv[0] = 'prog'\n{ACTIVATED}");
    let line = format!("printf '%s' {} | {} -", shell_quote(&renamed), python.display());
    let out = output_within(clean(venv, "bash", &dir).args(["-c", &line]), LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("read from standard input"), "{}", text(&out.stderr));
    let popped = format!("import sys\nsys.argv.pop(0)\n{ACTIVATED}");
    fs::write(dir.join("popped.py"), popped).unwrap();
    let out = success_within(clean(venv, &python, &dir).current_dir(&dir).arg("popped.py"), LIMIT);
    assert_eq!(starts(&out).len(), 2, "{}{}", text(&out.stdout), text(&out.stderr));

    // A relative file read before a change of directory is read again from where it started.
    fs::create_dir_all(dir.join("work")).unwrap();
    fs::write(dir.join("work/data.txt"), "data\n").unwrap();
    let reads = format!("import os, sys\nprint('read', open(sys.argv[1]).read().strip())\nos.chdir('/')\n{ACTIVATED}");
    fs::write(dir.join("work/reads.py"), reads).unwrap();
    let out =
        success_within(clean(venv, &python, &dir).current_dir(dir.join("work")).args(["reads.py", "data.txt"]), LIMIT);
    assert_eq!(text(&out.stdout).matches("read data").count(), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("active True"), "{}", text(&out.stdout));

    // A directory with __main__.py, and a zip application.
    fs::create_dir_all(dir.join("app")).unwrap();
    fs::write(dir.join("app/__main__.py"), ACTIVATED).unwrap();
    let mut zipapp = clean(venv, &python, &dir);
    zipapp.current_dir(&dir).args(["-m", "zipapp", "app", "-o", "app.pyz"]);
    success_within(&mut zipapp, LIMIT);
    for program in ["app", "app.pyz"] {
        let out = success_within(clean(venv, &python, &dir).current_dir(&dir).args([program, "z"]), LIMIT);
        let starts = starts(&out);
        assert_eq!(starts.len(), 2, "{program}: {}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(starts[0], starts[1], "{program}: the same sys.argv");
        assert!(text(&out.stdout).contains("active True"), "{program}: {}", text(&out.stdout));
    }
}

#[test]
fn pip_install_target_and_user_keep_the_library_beside_the_injector() {
    let venv = plain_venv();
    let dir = scratch("python-target");
    let target = dir.join("site");
    let mut pip = clean(venv, venv.join("bin/python"), &dir);
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--target"]);
    pip.arg(&target).arg(wheel());
    success_within(&mut pip, Duration::from_secs(300));
    assert!(target.join("bin/libenvtrack.so").is_file() && target.join("bin/envtrack-inject").is_file());
    let script = dir.join("activated.py");
    fs::write(&script, ACTIVATED).unwrap();
    // The system's Python, the package on PYTHONPATH only, nothing on PATH.
    let mut run = Command::new("/usr/bin/python3");
    run.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", &dir).env("PYTHONPATH", &target).arg(&script);
    let out = success_within(&mut run, LIMIT);
    assert_eq!(starts(&out).len(), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("active True 1-none ['AFTER']"), "{}", text(&out.stdout));
}

const RUN_NOTE: &str = "it's \"quoted\", has spaces, a\ttab and $(no shell)";

/// A directory with a module importable only through PYTHONPATH.
fn module_dir(dir: &Path, note: &str) -> PathBuf {
    let modules = dir.join("modules");
    fs::create_dir_all(&modules).unwrap();
    fs::write(modules.join("envtrack_probe_module.py"), format!("WHERE = {note:?}\n")).unwrap();
    modules
}

#[test]
fn dask_workers_restart_with_the_drivers_changes_and_workers_added_later_start_with_them() {
    let venv_dir = venv("dask");
    install_wheel(&venv_dir);
    let dir = scratch("python-dask");
    let modules = module_dir(&dir, "imported through PYTHONPATH");
    let mut dask = Dask::start(&dir, &[], &[]);
    let driver = workspace().join("tests/python/dask_driver.py");
    let home = dir.join("home");

    let out =
        success_within(clean(&venv_dir, dask_python(), &home).arg(&driver).arg(dask.address()).arg(&modules), LIMIT);
    let seen = json_lines(&out);
    let before: Vec<&Value> = seen.iter().filter(|s| s["when"] == "before").collect();
    let after: Vec<&Value> = seen.iter().filter(|s| s["when"] == "after").collect();
    assert_eq!((before.len(), after.len()), (1, 1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(before[0]["values"]["RUN_NOTE"], Value::Null, "the worker had nothing of the driver's");
    assert!(before[0]["module"].as_str().unwrap().starts_with("not importable"));

    let check = |seen: &Value| {
        let values = &seen["values"];
        assert_eq!(values["RUN_NOTE"], RUN_NOTE, "{seen}");
        assert_eq!(values["MALLOC_ARENA_MAX"], "2", "{seen}");
        assert_eq!(values["OMP_NUM_THREADS"], "3", "the driver's value wins over the nanny's: {seen}");
        assert_eq!(values["PYTHONPATH"], modules.to_str().unwrap(), "{seen}");
        assert_eq!(
            values["PATH"], "/opt/envtrack-dask/bin:/usr/local/bin:/usr/bin:/bin",
            "the node's own PATH extended: {seen}"
        );
        assert_eq!(seen["module"], "imported through PYTHONPATH", "{seen}");
        assert_eq!(seen["initial_malloc_arena_max"], "2", "in the worker's environment from its start: {seen}");
        assert_eq!(seen["child_run_note"], RUN_NOTE, "tracking goes on in the worker: {seen}");
        assert_eq!(seen["tracking"], true, "{seen}");
    };
    check(after[0]);

    // A worker that joins later gets it before it first starts, as does the first one from now on.
    dask.add_worker("worker-later");
    let mut probe = clean(&venv_dir, dask_python(), &home);
    probe.arg(&driver).arg(dask.address()).arg("--probe");
    let out = success_within(&mut probe, LIMIT);
    let seen = json_lines(&out);
    assert_eq!(seen.len(), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    seen.iter().for_each(check);
    let log = fs::read_to_string(dir.join("worker-later.log")).unwrap();
    assert!(!log.contains("envtrack:"), "{log}");
}

#[test]
fn dask_local_cluster_nannies_in_the_driver_get_it_and_unregistering_leaves_the_drivers_changes() {
    let venv_dir = venv("dask");
    install_wheel(&venv_dir);
    let dir = scratch("python-dask-local");
    let script = workspace().join("tests/python/dask_local_cluster.py");
    let out = success_within(clean(&venv_dir, dask_python(), &dir).current_dir(&dir).arg(&script), LIMIT);
    let seen = json_lines(&out);
    assert_eq!(seen.len(), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(seen[0]["worker"]["FROM_PLUGIN"], "yes", "{}", seen[0]);
    assert_eq!(seen[0]["worker"]["STAGE"], "1", "{}", seen[0]);
    assert_eq!(
        seen[0]["driver_after_unregister"],
        serde_json::json!({"STAGE": "2", "LATE": "x", "FROM_PLUGIN": "yes"}),
        "the driver's own changes stay"
    );
}

#[test]
fn ray_tasks_and_actors_get_the_drivers_changes_also_those_made_after_ray_init() {
    let venv_dir = venv("ray");
    install_wheel(&venv_dir);
    let dir = scratch("python-ray");
    let modules = module_dir(&dir, "imported through PYTHONPATH");
    let ray = Ray::start(&dir);
    let driver = workspace().join("tests/python/ray_driver.py");
    let home = dir.join("home");
    let out = success_within(
        clean(&venv_dir, ray_python(), &home).arg(&driver).arg(ray.address()).arg(&modules),
        Duration::from_secs(240),
    );
    let seen = json_lines(&out);
    assert_eq!(seen.len(), 3, "{}{}", text(&out.stdout), text(&out.stderr));
    let node_path = format!("{}:/usr/bin:/bin", venv_dir.join("bin").display());
    for seen in &seen {
        let values = &seen["values"];
        assert_eq!(values["RUN_NOTE"], RUN_NOTE, "{seen}");
        assert_eq!(
            values["PATH"],
            format!("/opt/envtrack-ray/bin:{node_path}"),
            "the node's own PATH extended: {seen}"
        );
        assert_eq!(seen["module"], "imported through PYTHONPATH", "{seen}");
        assert_eq!(values["LATE"], if seen["when"] == "late" { "set after ray.init".into() } else { Value::Null });
    }
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    drop(ray);
}

#[test]
fn in_a_venv_whose_path_has_a_space_the_values_still_travel_untracked() {
    let venv = fresh_venv(&scratch("python-space").join("with space/venv"));
    let home = scratch("python-space-home");
    let script = r#"import os, sys, envtrack, envtrack.ray
print("active", envtrack.activate(), flush=True)
envtrack.environ["NOTE"] = "n"
print("ray", envtrack.ray.env_vars(), flush=True)
changed = envtrack.apply({"envtrack_snapshot": 1, "tracked": [{"op": "set", "name": "GOT", "value": "g"}], "job": [], "app": []})
print("apply", os.environ["GOT"], "GOT" in changed, flush=True)
"#;
    let file = home.join("space.py");
    fs::write(&file, script).unwrap();
    let out = success_within(clean(&venv, venv.join("bin/python"), &home).arg(&file), LIMIT);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("active False\n"), "{stdout}");
    assert!(stdout.contains("ray {'NOTE': 'n'}\n"), "{stdout}");
    assert!(stdout.contains("apply g True\n"), "{stdout}");
    let lines = envtrack_lines(&out.stderr);
    assert_eq!(lines.len(), 2, "activate's and apply's: {}", text(&out.stderr));
    assert!(lines.iter().all(|l| l.contains("a path containing ':' or a space")), "{lines:?}");
}

#[test]
fn the_package_type_checks_strictly_and_needs_no_python_newer_than_3_8() {
    let tools = venv("pytools");
    let cache = scratch("python-mypy-cache");
    let package = workspace().join("python");
    let mut mypy = Command::new(tools.join("bin/mypy"));
    mypy.current_dir(&package).args(["--strict", "--ignore-missing-imports", "--cache-dir"]).arg(&cache);
    let out = output_within(mypy.arg("envtrack"), LIMIT);
    assert!(out.status.success(), "mypy --strict:\n{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("Success: no issues found"), "{}", text(&out.stdout));

    // vermin reads the code for the Python version each construct and library call needs.
    let mut vermin = Command::new(tools.join("bin/vermin"));
    vermin.current_dir(&package).args(["--no-tips", "--eval-annotations", "-t=3.8-", "--violations", "envtrack"]);
    let out = output_within(&mut vermin, LIMIT);
    assert!(out.status.success(), "vermin, Python 3.8:\n{}{}", text(&out.stdout), text(&out.stderr));
    let mut vermin = Command::new(tools.join("bin/vermin"));
    vermin.current_dir(&package).args(["--no-tips", "--eval-annotations", "envtrack"]);
    let out = success_within(&mut vermin, LIMIT);
    assert!(text(&out.stdout).contains("Minimum required versions: 3.8"), "{}", text(&out.stdout));
}
