//! The Python package's wheel, installed into fresh virtual environments (also with `--target`,
//! and at a path with a space): the injector on the venv's PATH beside its library, `python -m
//! envtrack`, uninstalling, the package's own unit tests and doctests, and its types and the
//! oldest Python it needs. `envtrack.activate()` is in `python_activate.rs`, Dask and Ray workers
//! in `python_workers.rs`.

use std::fs;
use std::process::Command;
use std::time::Duration;

use envtrack_tests::launchers::{output_within, success_within, venv};
use envtrack_tests::python_package::{clean, fresh_venv, plain_venv, starts, text, wheel, ACTIVATED, LIMIT};
use envtrack_tests::{envtrack_lines, scratch, workspace};

/// Names this file's virtual environment.
const FILE: &str = "python_package";

#[test]
fn the_wheel_is_manylinux_2_17_and_installs_the_injector_on_the_venvs_path_with_its_library() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, format!("envtrack-{}-py3-none-manylinux_2_17_x86_64.whl", env!("CARGO_PKG_VERSION")));
    let venv = plain_venv(FILE);
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
    let venv = plain_venv(FILE);
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

#[test]
fn pip_install_target_and_user_keep_the_library_beside_the_injector() {
    let venv = plain_venv(FILE);
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
