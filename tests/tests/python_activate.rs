//! `envtrack.activate()`, from the wheel in a fresh virtual environment: the interpreter run again
//! once under the library with the command line it was started with (options, `-m`, `-c`,
//! zipapps, directories, a changed `sys.argv`, a change of directory), and what it refuses or
//! goes on without.

use std::fs;
use std::process::Command;

use envtrack_tests::launchers::{output_within, success_within};
use envtrack_tests::python_package::{clean, plain_venv, starts, text, ACTIVATED, LIMIT};
use envtrack_tests::{envtrack_lines, scratch, shell_quote};

/// Names this file's virtual environment.
const FILE: &str = "python_activate";

#[test]
fn activate_runs_the_script_again_once_under_the_library_with_the_same_command_line() {
    let venv = plain_venv(FILE);
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
    let venv = plain_venv(FILE);
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
    let venv = plain_venv(FILE);
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
    let venv = plain_venv(FILE);
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
    let venv = plain_venv(FILE);
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
