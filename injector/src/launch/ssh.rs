//! `ssh [OPTIONS] HOST [OPTIONS] COMMAND…`: the transport travels as `LC_*`
//! variables with `-o SendEnv=…` (accepted by a default Debian sshd), put
//! before every option of the user's, so that no grouping (`-tp 22`) or `--`
//! can separate it; the remote command is one string any login shell runs
//! ([`remote_shell`](super::remote_shell)): `envtrack-inject apply` then the
//! user's command with the login shell, as sshd would have run it.
//!
//! OpenSSH reads options after the host too (`ssh host -p 22 cmd`), unless
//! `--` came before the host. Where ssh runs no remote command of the user's
//! (`-V`, `-G`, `-Q`, `-O`, `-N`, `-W`, `-s` subsystems, interactive logins),
//! the command line stays as it is.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::options::Table;
use super::{read, remote_shell, Context};
use crate::error::UsageError;

/// Options after which ssh runs no command of the user's.
const NO_COMMAND: [&str; 7] = ["-V", "-G", "-Q", "-O", "-N", "-W", "-s"];

/// Where a ssh command line's parts are.
pub struct Split {
    /// The host's index.
    pub host: usize,
    /// The remote command's first word's index (`args.len()`: none).
    pub command: usize,
    /// Whether ssh runs a command of the user's (see [`NO_COMMAND`]).
    pub runs_command: bool,
}

/// Reads an ssh command line (without argv[0]) with `table`.
pub fn split(table: &Table, args: &[OsString]) -> Result<Split, UsageError> {
    let before = read(table, args)?;
    let host = before.operands;
    if host >= args.len() {
        let asks_no_host = before.options.iter().any(|o| NO_COMMAND.contains(&o.spec.name()));
        if asks_no_host {
            return Ok(Split { host, command: host, runs_command: false });
        }
        return Err(UsageError::new(format!("{}: no host was found in its arguments", table.title)));
    }
    let mut runs_command = !before.options.iter().any(|o| NO_COMMAND.contains(&o.spec.name()));
    let command = if before.ended_by_dashes {
        host + 1
    } else {
        let after = read(table, &args[host + 1..])?;
        runs_command &= !after.options.iter().any(|o| NO_COMMAND.contains(&o.spec.name()));
        host + 1 + after.operands
    };
    Ok(Split { host, command, runs_command: runs_command && command < args.len() })
}

/// Programs that speak a protocol over ssh's standard input and output (git
/// and its LFS and annex helpers, scp, rsync, sftp, Mercurial, Subversion,
/// borg): their servers often run behind a forced command or a restricted
/// shell that reads the command line, so it stays as it is.
const PROTOCOL_SERVERS: [&[u8]; 13] = [
    b"git-upload-pack",
    b"git-receive-pack",
    b"git-upload-archive",
    b"git-lfs-authenticate",
    b"git-lfs-transfer",
    b"git-annex-shell",
    b"scp",
    b"rsync",
    b"sftp-server",
    b"hg",
    b"svnserve",
    b"borg",
    b"borgbackup",
];

pub fn rewrite(table: &Table, args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let split = split(table, args)?;
    let command = joined(&args[split.command..]);
    // An empty command is an interactive session (a script on standard input).
    if !split.runs_command || command.is_empty() || is_protocol_server(&command) {
        return Ok(args.to_vec());
    }
    let mut out: Vec<OsString> = vec!["-o".into(), format!("SendEnv={}", context.transport.join(" ")).into()];
    out.extend(args[..split.command].iter().cloned());
    out.push(remote_command(&command, context));
    Ok(out)
}

/// The words of a remote command as ssh (and pdsh) join them: with spaces;
/// the login shell parses the result.
pub fn joined(words: &[OsString]) -> Vec<u8> {
    words.iter().map(|w| w.as_bytes()).collect::<Vec<_>>().join(&b' ')
}

/// Whether the command runs a protocol server: its program (quoted or not,
/// after `sudo`, `env`, `exec`, `nice` and `NAME=VALUE` words) is one of
/// [`PROTOCOL_SERVERS`].
fn is_protocol_server(command: &[u8]) -> bool {
    let unquoted = |word: &[u8]| -> Vec<u8> { word.iter().copied().filter(|&b| b != b'\'' && b != b'"').collect() };
    let mut words = command.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).map(unquoted);
    let program = words.find(|word| {
        let prefix = matches!(word.as_slice(), b"sudo" | b"env" | b"exec" | b"nice" | b"command")
            || word.starts_with(b"-")
            || word.iter().position(|&b| b == b'=').is_some_and(|at| at > 0 && !word[..at].contains(&b'/'));
        !prefix
    });
    let Some(program) = program else { return false };
    let name = program.rsplit(|&b| b == b'/').next().unwrap_or(&program);
    PROTOCOL_SERVERS.contains(&name)
}

/// The remote command that runs `command` under `envtrack-inject apply`.
pub fn remote_command(command: &[u8], context: &Context<'_>) -> OsString {
    let parts = context.transport.first().map(String::as_str).unwrap_or_default();
    OsString::from(OsStr::from_bytes(&remote_shell::applying(context.remote_injector.as_bytes(), parts, command)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::tables::{table, TableKind};
    use envtrack_model::Environment;

    fn rewrite_words(words: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        let mut env = Environment::new();
        let transport = vec!["LC_T_PARTS".to_string(), "LC_T_0".to_string()];
        let mut context =
            Context { remote_injector: "/opt/e t/inject".as_ref(), transport: &transport, env: &mut env, keep: &[] };
        let out = rewrite(table(TableKind::Ssh), &args, &mut context).unwrap();
        out.iter().map(|w| w.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn send_env_goes_first_and_the_command_becomes_one_string() {
        let out = rewrite_words(&["-tp", "2222", "nodeA", "echo", "it's"]);
        assert_eq!(&out[..5], ["-o", "SendEnv=LC_T_PARTS LC_T_0", "-tp", "2222", "nodeA"]);
        assert_eq!(out.len(), 6);
        assert!(out[5].starts_with("exec /bin/sh -c 's=$(printf \"c=\\047echo it\\047\\134\\047\\047s\\047; if [ \\041 -x \\047/opt/e t/inject\\047 ]"), "{}", out[5]);
        let out = rewrite_words(&["--", "nodeA", "-v", "cmd"]);
        assert_eq!(&out[..4], ["-o", "SendEnv=LC_T_PARTS LC_T_0", "--", "nodeA"]);
        let out = rewrite_words(&["nodeA", "-p", "22", "--", "cmd", "-x"]);
        assert_eq!(&out[2..7], ["nodeA", "-p", "22", "--", out[6].as_str()]);
        assert_eq!(out.len(), 7);
    }

    #[test]
    fn a_program_that_merely_looks_like_a_protocol_server_is_wrapped() {
        for words in [&["host", "rsync-wrapper", "x"][..], &["host", "echo", "rsync"], &["host", "./scp.sh"]] {
            assert_ne!(rewrite_words(words), words, "{words:?}");
        }
    }

    #[test]
    fn no_remote_command_no_change() {
        for words in [
            &["-V"][..],
            &["-G", "host"],
            &["-Q", "cipher"],
            &["host"],
            &["-N", "-L", "1:h:2", "host"],
            &["-s", "host", "sftp"],
            &["host", "-W", "h:22"],
        ] {
            assert_eq!(rewrite_words(words), words, "{words:?}");
        }
    }
}
