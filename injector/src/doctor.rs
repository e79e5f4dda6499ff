//! `envtrack-inject doctor`: checks the setup and says what is wrong.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use envtrack_model::vars::DEFAULT_LAUNCHERS;

use crate::glibc::{self, Version};
use crate::launch::remote_shell::{for_login_shell, sh_quote};
use crate::{bounded, flavor, slurm_plugin};

/// One finding.
struct Check {
    ok: bool,
    what: String,
}

fn check(ok: bool, what: impl Into<String>) -> Check {
    Check { ok, what: what.into() }
}

/// Runs every check, prints them, and returns whether all passed.
pub fn run(
    library: Result<&Path, String>,
    injector: &Path,
    hosts: &[String],
    ssh: &[String],
    patience: Duration,
) -> bool {
    let mut checks = Vec::new();
    match library {
        Ok(library) => {
            let loaded = Command::new("/bin/true")
                .env("LD_PRELOAD", library)
                .stderr(Stdio::piped())
                .output()
                .map(|out| out.status.success() && out.stderr.is_empty())
                .unwrap_or(false);
            checks.push(check(loaded, format!("library {} loads into /bin/true", library.display())));
        }
        Err(ref problem) => checks.push(check(false, problem)),
    }
    let floor = artifacts_floor(library.as_deref().ok(), injector, &mut checks);
    let here = Version::here();
    match (here, floor) {
        (Some(here), Some(floor)) => checks.push(check(
            here >= floor,
            format!("glibc {here} here; envtrack needs {floor} or later (see --hosts for the nodes)"),
        )),
        (None, _) => checks.push(check(false, "glibc: cannot tell this machine's version")),
        (Some(here), None) => checks.push(check(true, format!("glibc {here} here"))),
    }
    let path = std::env::var_os("PATH");
    for name in DEFAULT_LAUNCHERS.split(' ').chain(["ssh", "pdsh"]) {
        match flavor::resolve(name.as_ref(), path.as_ref().map(|p| p.as_encoded_bytes())) {
            None => checks.push(check(true, format!("launcher {name}: not on PATH"))),
            Some(found) => match flavor::detect(&found) {
                Ok(launcher) => {
                    checks.push(check(true, format!("launcher {name}: {} ({})", found.display(), launcher.identity)));
                    if launcher.flavor == flavor::Flavor::Slurm && name == "srun" {
                        let (ok, what) = slurm_plugin::status(&found);
                        checks.push(check(ok, what));
                    }
                }
                Err(error) => checks.push(check(false, format!("launcher {name}: {error}"))),
            },
        }
    }
    // This machine's findings first: a slow node must not hold them back.
    let mut all = print(&checks);
    for host in hosts {
        all &= print(&[check_host(host, ssh, patience, injector, library.as_deref().ok(), floor)]);
    }
    all
}

/// Prints the findings, as they come; whether all passed.
fn print(checks: &[Check]) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for c in checks {
        let _ = writeln!(out, "{} {}", if c.ok { "ok  " } else { "FAIL" }, c.what);
    }
    let _ = out.flush();
    checks.iter().all(|c| c.ok)
}

/// The oldest glibc both artifacts load on, from the versions they name (one
/// line for each artifact that cannot be read).
fn artifacts_floor(library: Option<&Path>, injector: &Path, checks: &mut Vec<Check>) -> Option<Version> {
    let mut floor = None;
    for file in library.into_iter().chain([injector]) {
        match glibc::needed_by(file) {
            Ok(needed) => floor = floor.max(needed),
            Err(problem) => checks.push(check(false, format!("glibc versions needed: {problem}"))),
        }
    }
    floor
}

/// What a host says about itself: its glibc, whether the injector runs there
/// and whether the library loads there, at the same paths as here (a shared
/// filesystem).
fn check_host(
    host: &str,
    ssh: &[String],
    patience: Duration,
    injector: &Path,
    library: Option<&Path>,
    floor: Option<Version>,
) -> Check {
    let injector_q = sh_quote(injector.as_os_str().as_bytes());
    let mut script = [
        b"v=$(getconf GNU_LIBC_VERSION 2>/dev/null); echo \"glibc=${v#glibc }\"; ".as_slice(),
        b"if test -x ",
        &injector_q,
        b"; then if ",
        &injector_q,
        b" --version >/dev/null 2>&1; then echo injector=runs; else echo injector=fails; fi; else echo injector=missing; fi",
    ]
    .concat();
    if let Some(library) = library {
        let library_q = sh_quote(library.as_os_str().as_bytes());
        script.extend_from_slice(
            &[
                b"; if test -f ".as_slice(),
                &library_q,
                // ld.so only warns about a preload it cannot use (not ELF, another machine's),
                // and the program runs: loading means nothing said, as well as success.
                b"; then if test -z \"$(LD_PRELOAD=",
                &library_q,
                b" /bin/true 2>&1)\"; then echo library=loads; else echo library=fails; fi; else echo library=missing; fi",
            ]
            .concat(),
        );
    }
    let probe = OsString::from_vec(for_login_shell(&script));
    let mut command = Command::new(&ssh[0]);
    command.args(&ssh[1..]);
    if Path::new(&ssh[0]).file_name().is_some_and(|name| name == "ssh") {
        // Never a prompt that nobody answers; a host that does not answer is a finding.
        command.args(["-o", "BatchMode=yes", "-o", &format!("ConnectTimeout={}", patience.as_secs().max(1))]);
    }
    command.arg(host).arg(&probe);
    let Some(ran) = bounded::run(command, patience, 64 * 1024) else {
        return check(false, format!("host {host}: cannot run {}", ssh[0]));
    };
    let text = String::from_utf8_lossy(&ran.output);
    let said = |key: &str| text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('=')).map(str::trim);
    let Some(injector_state) = said("injector") else {
        let how = match ran.status {
            Some(status) => format!("cannot run a command there ({status})"),
            None => format!("gave no answer within {} s", patience.as_secs()),
        };
        let last = text.lines().rev().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
        let last = match last.char_indices().nth(200) {
            _ if last.is_empty() => String::new(),
            Some((cut, _)) => format!(": {}…", &last[..cut]),
            None => format!(": {last}"),
        };
        return check(false, format!("host {host}: {} {how}{last}", ssh.join(" ")));
    };
    let theirs = said("glibc").and_then(Version::parse);
    let mut problems = Vec::new();
    let glibc_text = match (theirs, floor) {
        (Some(theirs), Some(floor)) if theirs < floor => {
            problems.push(format!(
                "its glibc {theirs} is older than the {floor} envtrack needs: a process started there with \
                 LD_PRELOAD={} would fail to start; install a release built for an older glibc",
                library.map_or("libenvtrack.so".into(), |l| l.display().to_string())
            ));
            format!("glibc {theirs}")
        }
        (Some(theirs), _) => format!("glibc {theirs}"),
        (None, _) => "glibc version unknown".to_string(),
    };
    match injector_state {
        "runs" => {}
        "fails" => problems.push(format!("{} is there but does not run", injector.display())),
        _ => problems.push(format!("{} is missing", injector.display())),
    }
    if let Some(library) = library {
        match said("library") {
            Some("loads") => {}
            Some("fails") => problems.push(format!("{} does not load into /bin/true", library.display())),
            _ => problems.push(format!("{} is missing", library.display())),
        }
    }
    if problems.is_empty() {
        let loads = library.map_or(String::new(), |l| format!("; {} loads", l.display()));
        check(true, format!("host {host}: {glibc_text}; {} runs{loads}", injector.display()))
    } else {
        check(false, format!("host {host} ({glibc_text}): {}", problems.join("; ")))
    }
}
