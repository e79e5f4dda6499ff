//! `envtrack-inject doctor`: checks the setup and says what is wrong.

use std::ffi::{CStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::{Command, Stdio};

use envtrack_model::vars::DEFAULT_LAUNCHERS;

use crate::flavor;
use crate::launch::remote_shell::{for_login_shell, sh_quote};

/// One finding.
struct Check {
    ok: bool,
    what: String,
}

fn check(ok: bool, what: impl Into<String>) -> Check {
    Check { ok, what: what.into() }
}

/// `2.31` as (2, 31).
fn glibc_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    let minor = minor.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Runs every check, prints them, and returns whether all passed.
pub fn run(library: Result<&Path, String>, injector: &Path, hosts: &[String], ssh: &[String]) -> bool {
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
        Err(problem) => checks.push(check(false, problem)),
    }
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    let glibc = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) }.to_string_lossy().into_owned();
    // The oldest glibc this build runs on (2.36 natively, older for a portable build; see build.rs).
    let floor = env!("ENVTRACK_GLIBC_FLOOR");
    checks.push(match (glibc_version(&glibc), glibc_version(floor)) {
        (Some(running), Some(needed)) => check(running >= needed, format!("glibc {glibc} ({floor} or later needed)")),
        // Whether the library loads (above) is what tells.
        _ => check(true, format!("glibc {glibc}")),
    });
    let path = std::env::var_os("PATH");
    for name in DEFAULT_LAUNCHERS.split(' ').chain(["ssh", "pdsh"]) {
        match flavor::resolve(name.as_ref(), path.as_ref().map(|p| p.as_encoded_bytes())) {
            None => checks.push(check(true, format!("launcher {name}: not on PATH"))),
            Some(found) => match flavor::detect(&found) {
                Ok(launcher) => {
                    checks.push(check(true, format!("launcher {name}: {} ({})", found.display(), launcher.identity)))
                }
                Err(error) => checks.push(check(false, format!("launcher {name}: {error}"))),
            },
        }
    }
    for host in hosts {
        let test = [b"test -x ".as_slice(), &sh_quote(injector.as_os_str().as_bytes())].concat();
        let probe = OsString::from_vec(for_login_shell(&test));
        let ok = Command::new(&ssh[0])
            .args(&ssh[1..])
            .arg(host)
            .arg(&probe)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let what = if ok {
            format!("host {host}: {} is there", injector.display())
        } else {
            format!("host {host}: {} is missing (or {} cannot reach the host)", injector.display(), ssh.join(" "))
        };
        checks.push(check(ok, what));
    }
    let all = checks.iter().all(|c| c.ok);
    for c in &checks {
        println!("{} {}", if c.ok { "ok  " } else { "FAIL" }, c.what);
    }
    all
}
