//! `ssh HOST COMMAND…`: the transport travels as `LC_*` variables with
//! `-o SendEnv=…` (accepted by a default Debian sshd), and the remote
//! command runs as `envtrack-inject apply -- /bin/sh -c 'COMMAND'` — the same
//! shell parsing the command would have had — after a check that names the
//! node and the path when envtrack is missing there.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::{split_program, Context};
use crate::error::UsageError;

fn arity(option: &[u8]) -> usize {
    match option {
        b"-b" | b"-c" | b"-D" | b"-E" | b"-e" | b"-F" | b"-I" | b"-i" | b"-J" | b"-L" | b"-l" | b"-m" | b"-O"
        | b"-o" | b"-p" | b"-Q" | b"-R" | b"-S" | b"-W" | b"-w" | b"-B" => 1,
        _ => 0,
    }
}

/// `text` in single quotes for a POSIX shell.
pub fn shell_quote(text: &[u8]) -> Vec<u8> {
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

pub fn rewrite(args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let (options, rest) = split_program(args, arity);
    let Some((host, command)) = rest.split_first() else {
        return Err(UsageError::new("ssh: no host was found in its arguments"));
    };
    let mut out: Vec<OsString> = options.to_vec();
    out.push("-o".into());
    out.push(format!("SendEnv={}", context.transport.join(" ")).into());
    out.push(host.clone());
    if command.is_empty() {
        return Ok(out); // an interactive login: nothing to wrap
    }
    // ssh joins the words with spaces and the remote shell parses the result.
    let joined: Vec<u8> = command.iter().map(|w| w.as_bytes()).collect::<Vec<_>>().join(&b' ');
    let injector = shell_quote(context.remote_injector.as_bytes());
    let mut remote = Vec::new();
    remote.extend_from_slice(b"if [ -x ");
    remote.extend_from_slice(&injector);
    remote.extend_from_slice(b" ]; then exec ");
    remote.extend_from_slice(&injector);
    remote.extend_from_slice(b" apply -- /bin/sh -c ");
    remote.extend_from_slice(&shell_quote(&joined));
    remote.extend_from_slice(b"; else echo \"envtrack: ");
    remote.extend_from_slice(context.remote_injector.as_bytes());
    remote.extend_from_slice(b" is missing on $(hostname)\" >&2; exit 127; fi");
    out.push(OsString::from(std::ffi::OsStr::from_bytes(&remote)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envtrack_model::Environment;

    #[test]
    fn wraps_the_remote_command() {
        let args: Vec<OsString> = ["-p", "2222", "nodeA", "echo", "it's", "$HOME"].iter().map(OsString::from).collect();
        let mut env = Environment::new();
        let transport = vec!["LC_T_PARTS".to_string(), "LC_T_0".to_string()];
        let mut context =
            Context { remote_injector: "/opt/e t/envtrack-inject".as_ref(), transport: &transport, env: &mut env };
        let out = rewrite(&args, &mut context).unwrap();
        assert_eq!(&out[..5], ["-p", "2222", "-o", "SendEnv=LC_T_PARTS LC_T_0", "nodeA"]);
        let remote = out[5].to_string_lossy();
        assert!(
            remote.contains("exec '/opt/e t/envtrack-inject' apply -- /bin/sh -c 'echo it'\\''s $HOME'"),
            "{remote}"
        );
        assert!(remote.contains("is missing on $(hostname)"), "{remote}");
    }
}
