//! `pdsh [OPTIONS] COMMAND…` through its ssh module: the transport travels
//! as `LC_*` variables that pdsh's ssh calls send (`-o SendEnv=…` added to
//! `PDSH_SSH_ARGS_APPEND`), and the command is the same remote command as
//! for ssh ([`ssh::remote_command`]). pdsh's other modules (rsh, exec, mrsh)
//! carry no environment: a pdsh that would use one is not rewritten.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::options::Table;
use super::{read, ssh, Context};
use crate::error::UsageError;

pub fn rewrite(
    table: &Table,
    default_rcmd: Option<&str>,
    args: &[OsString],
    context: &mut Context<'_>,
) -> Result<Vec<OsString>, UsageError> {
    let parsed = read(table, args)?;
    let asked = parsed.options.iter().rev().find(|o| o.spec.name() == "-R").and_then(|o| o.values.first());
    let rcmd: Vec<u8> = match (asked, context.env.get(b"PDSH_RCMD_TYPE"), default_rcmd) {
        (Some(module), _, _) => module.as_bytes().to_vec(),
        (None, Some(module), _) => module.to_vec(),
        (None, None, Some(module)) => module.as_bytes().to_vec(),
        (None, None, None) => b"an unknown module".to_vec(),
    };
    if rcmd != b"ssh" {
        return Err(UsageError::new(format!(
            "pdsh: its {} remote-command module carries no environment (envtrack carries it through `-R ssh`)",
            String::from_utf8_lossy(&rcmd)
        )));
    }
    let command = ssh::joined(&args[parsed.operands..]);
    if command.is_empty() {
        return Err(UsageError::new("pdsh: no command was found in its arguments (interactive pdsh is not rewritten)"));
    }
    let mut append = context.env.get(b"PDSH_SSH_ARGS_APPEND").map(<[u8]>::to_vec).unwrap_or_default();
    // pdsh splits the value at spaces: one -o per name.
    for name in context.transport {
        if !append.is_empty() {
            append.push(b' ');
        }
        append.extend_from_slice(format!("-o SendEnv={name}").as_bytes());
    }
    context.env.set(b"PDSH_SSH_ARGS_APPEND", &append);
    let mut out = args[..parsed.operands].to_vec();
    out.push(ssh::remote_command(&command, context));
    Ok(out)
}
