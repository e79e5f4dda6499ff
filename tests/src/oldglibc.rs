//! An older glibc for the end-to-end tests: a Debian 11 (bullseye, glibc 2.31) root with Python 3.9
//! and Open MPI 4.1.0, made by `tests/oldglibc/make-root.sh` and kept in
//! `target/e2e/root-bullseye`, with the portable artifacts (`scripts/build-portable.sh`, built for
//! glibc 2.17) installed in it as `/opt/envtrack/bin/envtrack-inject` and
//! `/opt/envtrack/lib/libenvtrack.so`. Scripts run inside it with [`run_in_root`]: chroot, in a
//! private mount namespace of their own where `/proc` is mounted, so no mount outlives a run.
//!
//! Needs root (debootstrap, unshare, mount, chroot): CI runs the suite as root.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::launchers::{is_root, launcher_script, success_within};
use crate::ranks::rank_report;
use crate::workspace;

/// The glibc version inside the root.
pub const ROOT_GLIBC: &str = "2.31";

/// The oldest glibc the portable build is for (`scripts/build-portable.sh`).
pub const PORTABLE_GLIBC: &str = "2.17";

/// The portable `envtrack-inject`, inside the root.
pub const INJECTOR: &str = "/opt/envtrack/bin/envtrack-inject";

/// The portable `libenvtrack.so`, inside the root.
pub const LIBRARY: &str = "/opt/envtrack/lib/libenvtrack.so";

/// The test files inside the root: `fake-ssh`, `rank_report.py`, `bin/` (C programs from
/// [`zig_c_program`]) and `scratch/` ([`root_scratch`]).
pub const TESTS: &str = "/opt/envtrack-tests";

/// The PATH scripts in the root start with.
pub const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How long making the root may take (debootstrap and apt-get: about 1.5 minutes).
const MAKE_ROOT_WITHIN: Duration = Duration::from_secs(900);

/// `target/e2e/root-bullseye` on this machine (not made: see [`root`]).
pub fn root_dir() -> PathBuf {
    workspace().join("target/e2e/root-bullseye")
}

/// The directory of the portable artifacts, `target/x86_64-unknown-linux-gnu/release`.
pub fn portable_dir() -> PathBuf {
    let dir = workspace().join("target/x86_64-unknown-linux-gnu/release");
    for name in ["envtrack-inject", "libenvtrack.so"] {
        assert!(
            dir.join(name).is_file(),
            "{} is missing: the old-glibc tests run the portable build, which `bash \
             scripts/build-portable.sh` makes (scripts/test.sh runs it before the tests)",
            dir.join(name).display()
        );
    }
    dir
}

/// The host path of `path`, a path inside the root.
pub fn host_path(path: &str) -> PathBuf {
    assert!(path.starts_with('/'), "not an absolute path in the root: {path}");
    root_dir().join(&path[1..])
}

/// The root, made by `tests/oldglibc/make-root.sh` if missing or made by an older recipe (that
/// script says on stderr what it does, serialises concurrent runs and does nothing when the root
/// is complete), with this run's portable artifacts, `/etc/hosts`, the fake ssh agent and
/// `rank_report.py` installed in it. Once per test process.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        assert!(
            is_root(),
            "the old-glibc tests need root (debootstrap, unshare, mount and chroot); run them as \
             root, as CI does"
        );
        let root = root_dir();
        let mut make = Command::new(workspace().join("tests/oldglibc/make-root.sh"));
        make.arg(&root);
        success_within(&mut make, MAKE_ROOT_WITHIN);
        let portable = portable_dir();
        install(&portable.join("envtrack-inject"), INJECTOR);
        install(&portable.join("libenvtrack.so"), LIBRARY);
        install(&launcher_script("fake-ssh"), &format!("{TESTS}/fake-ssh"));
        install(&rank_report(), &format!("{TESTS}/rank_report.py"));
        install_hosts(&root);
        root
    })
}

/// Copies `from` to `to` (a path in the root) through a new file renamed over the old one, so that
/// nothing ever runs a half-written file.
fn install(from: &Path, to: &str) {
    let to = host_path(to);
    fs::create_dir_all(to.parent().expect("a parent")).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let mut fresh = to.clone().into_os_string();
    fresh.push(format!(".new-{}", std::process::id()));
    let fresh = PathBuf::from(fresh);
    fs::copy(from, &fresh).unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), fresh.display()));
    // Executable, also from a checkout that lost the bit.
    fs::set_permissions(&fresh, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", fresh.display()));
    fs::rename(&fresh, &to).unwrap_or_else(|e| panic!("rename {} to {}: {e}", fresh.display(), to.display()));
}

/// The root's `/etc/hosts`: this machine's, and this machine's name if that file lacks it. A
/// debootstrap root has no `/etc/hosts`; Open MPI's daemons look up the host name, and without an
/// entry each waited for the resolver's 5 s timeout.
fn install_hosts(root: &Path) {
    let has = |hosts: &str, name: &str| {
        hosts.lines().any(|line| line.split('#').next().unwrap_or("").split_whitespace().skip(1).any(|n| n == name))
    };
    let mut hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
    if !hosts.is_empty() && !hosts.ends_with('\n') {
        hosts.push('\n');
    }
    if !has(&hosts, "localhost") {
        hosts.push_str("127.0.0.1 localhost\n");
    }
    let name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    if !name.is_empty() && !has(&hosts, name) {
        hosts.push_str(&format!("127.0.1.1 {name}\n"));
    }
    let path = root.join("etc/hosts");
    fs::write(&path, hosts).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Runs `script` with bash inside the root, with `args` as `$1`…, and returns its output:
/// `unshare --mount --propagation private -- sh -c 'mount -t proc proc "$ROOT/proc" && exec chroot
/// "$ROOT" /bin/bash -c "$SCRIPT" bash ARGS…'` with exactly PATH ([`ROOT_PATH`]), `HOME=/root`
/// and `LANG=C.UTF-8`, stdin `/dev/null`, in a process group of its own that is stopped if it has
/// not finished within `limit` (see [`crate::launchers::output_within`]). The mount ends with the
/// namespace, when its last process does.
pub fn run_in_root(script: &str, args: &[&str], limit: Duration) -> Output {
    let root = root();
    let mut command = Command::new("/usr/bin/unshare");
    command.env_clear().env("PATH", ROOT_PATH).env("HOME", "/root").env("LANG", "C.UTF-8");
    command.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"]);
    command.arg(r#"root=$0 script=$1; shift; mount -t proc proc "$root/proc" && exec chroot "$root" /bin/bash -c "$script" bash "$@""#);
    command.arg(root).arg(script).args(args);
    crate::launchers::output_within(&mut command, limit)
}

/// A scratch directory for one test inside the root, `/opt/envtrack-tests/scratch/TEST`, emptied
/// first: its path inside the root, and on this machine.
pub fn root_scratch(test: &str) -> (String, PathBuf) {
    root();
    let inside = format!("{TESTS}/scratch/{test}");
    let host = host_path(&inside);
    let _ = fs::remove_dir_all(&host);
    fs::create_dir_all(&host).unwrap_or_else(|e| panic!("create {}: {e}", host.display()));
    (inside, host)
}

/// The fake ssh agent ([`crate::launchers::fake_ssh_agent`]) for a scratch directory `dir` inside
/// the root: `DIR/fake-ssh`, a link to the copy in the root, so that the agent's log
/// (`agent-commands.log`) and its nodes' TMPDIRs (`nodes/HOST/tmp`) are in DIR. Returns its path
/// inside the root.
pub fn fake_ssh_agent(dir: &str) -> String {
    let link = format!("{dir}/fake-ssh");
    let host = host_path(&link);
    let _ = fs::remove_file(&host);
    symlink(format!("{TESTS}/fake-ssh"), &host).unwrap_or_else(|e| panic!("link {}: {e}", host.display()));
    fs::write(host_path(&format!("{dir}/agent-commands.log")), "").expect("create the agent's log");
    link
}

/// Compiles `tests/programs/NAME.c` (once, and again when the source changes) with zig's C
/// compiler for glibc 2.17 into `/opt/envtrack-tests/bin/NAME` in the root, and returns that path
/// inside the root. The host's cc would link against glibc 2.36 (`__libc_start_main@GLIBC_2.34`),
/// which the root's loader refuses. Zig comes with the portable build's tools
/// (`target/tools/zig`, made by `scripts/build-portable.sh`).
pub fn zig_c_program(name: &str) -> String {
    zig_compile(name, name, &[])
}

/// Like [`zig_c_program`], a shared library `/opt/envtrack-tests/bin/lib{NAME}-{VARIANT}.so` built
/// with extra compiler and linker `flags`.
pub fn zig_c_library(name: &str, variant: &str, flags: &[&str]) -> String {
    let flags: Vec<&str> = ["-shared", "-fPIC"].into_iter().chain(flags.iter().copied()).collect();
    zig_compile(name, &format!("lib{name}-{variant}.so"), &flags)
}

fn zig_compile(name: &str, file: &str, flags: &[&str]) -> String {
    static COMPILING: Mutex<()> = Mutex::new(());
    root();
    let _guard = COMPILING.lock().unwrap_or_else(PoisonError::into_inner);
    let source = workspace().join("tests/programs").join(format!("{name}.c"));
    let inside = format!("{TESTS}/bin/{file}");
    let output = host_path(&inside);
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if matches!((modified(&output), modified(&source)), (Some(built), Some(changed)) if built >= changed) {
        return inside;
    }
    let python = workspace().join("target/tools/zig/bin/python");
    assert!(
        python.exists(),
        "{} is missing: zig comes with the portable build's tools, which `bash \
         scripts/build-portable.sh` installs",
        python.display()
    );
    fs::create_dir_all(output.parent().expect("a parent")).expect("create the root's test bin/");
    let mut cc = Command::new(python);
    cc.args(["-m", "ziglang", "cc", "-target", &format!("x86_64-linux-gnu.{PORTABLE_GLIBC}")]);
    cc.args(["-O1", "-Wall", "-Werror"]).args(flags).arg("-o").arg(&output).arg(&source);
    success_within(&mut cc, Duration::from_secs(300));
    inside
}
