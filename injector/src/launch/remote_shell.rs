//! Commands for a remote node's login shell (ssh, pdsh), whatever that shell
//! is. sshd hands the command string to the user's login shell, which may be
//! bash, zsh, tcsh or fish, each quoting differently; so envtrack sends one
//! string every one of them reads the same way — `exec /bin/sh -c '…'` whose
//! quoted part holds only characters no shell treats specially inside single
//! quotes — and the POSIX script within is spelled out by `printf`.

/// `text` in single quotes for a POSIX shell.
pub fn sh_quote(text: &[u8]) -> Vec<u8> {
    let mut out = vec![b'\''];
    for &byte in text {
        if byte == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(byte);
        }
    }
    out.push(b'\'');
    out
}

/// Whether `byte` stands for itself inside single quotes in sh, bash, zsh,
/// tcsh and fish, and inside double quotes in sh (where `printf`'s format
/// is): printable ASCII without quotes, backslash, `$`, backquote, `!`
/// (csh history) and `%` (printf's own).
fn plain(byte: u8) -> bool {
    byte.is_ascii_graphic() && !b"'\"\\$`!%".contains(&byte) || byte == b' '
}

/// A command for any login shell that runs the POSIX `script` with /bin/sh.
pub fn for_login_shell(script: &[u8]) -> Vec<u8> {
    let mut format = Vec::with_capacity(script.len() * 2);
    for &byte in script {
        if byte == b'%' {
            format.extend_from_slice(b"%%");
        } else if plain(byte) {
            format.push(byte);
        } else {
            // Always three octal digits, so that a digit after it is not read as part of it.
            format.extend_from_slice(format!("\\{byte:03o}").as_bytes());
        }
    }
    // The script comes back from $(…) with an x after it: $(…) would drop its trailing newlines.
    let mut out = b"exec /bin/sh -c 's=$(printf \"".to_vec();
    out.extend_from_slice(&format);
    out.extend_from_slice(b"\"; printf x); eval \"${s%x}\"'");
    out
}

/// The remote command that runs `command` (the words the user gave ssh,
/// joined by spaces, as ssh does) under `envtrack-inject apply` with the
/// user's login shell, as sshd would have run it. `transport` is the variable
/// that says the node's sshd accepted envtrack's variables. Where
/// envtrack-inject is missing, or the sshd dropped the variables (no
/// `AcceptEnv LC_*`), the command runs all the same, after one line that
/// says so.
pub fn applying(injector: &[u8], transport: &str, command: &[u8]) -> Vec<u8> {
    let injector = sh_quote(injector);
    let mut script = Vec::new();
    for part in [
        &b"c="[..],
        &sh_quote(command),
        b"; if [ ! -x ",
        &injector,
        b" ]; then printf 'envtrack: %s is missing on %s: the command runs without the tracked changes\\n' ",
        &injector,
        b" \"$(uname -n)\" >&2; elif [ -z \"${",
        transport.as_bytes(),
        b"-}\" ]; then printf 'envtrack: the ssh server of %s did not accept envtrack'\\''s variables (AcceptEnv LC_*): the command runs without the tracked changes\\n' \"$(uname -n)\" >&2; else exec ",
        &injector,
        b" apply -- \"${SHELL:-/bin/sh}\" -c \"$c\"; fi; exec \"${SHELL:-/bin/sh}\" -c \"$c\"",
    ] {
        script.extend_from_slice(part);
    }
    for_login_shell(&script)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `command` the way sshd would, with `shell` as the login shell.
    fn run_as_login_shell(shell: &str, command: &[u8]) -> Vec<u8> {
        let output = std::process::Command::new(shell)
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(command))
            .env("SHELL", "/bin/sh")
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn every_byte_reaches_the_script() {
        let mut tricky: Vec<u8> = (1..=255u8).collect();
        tricky.extend_from_slice(b"\n\n%d %% \\101 '\"$(id)`id` !! \\\\ \\' x");
        let script = [b"printf '%s' ".as_slice(), &sh_quote(&tricky)].concat();
        let command = for_login_shell(&script);
        assert!(command.iter().all(|&b| plain(b) || b"'\"\\$%!".contains(&b)), "no newline or control byte");
        for shell in ["/bin/sh", "/bin/bash", "/usr/bin/zsh", "/usr/bin/tcsh", "/usr/bin/fish"] {
            assert_eq!(run_as_login_shell(shell, &command), tricky, "{shell}");
        }
    }
}
