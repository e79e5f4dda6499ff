//! Open MPI (`mpirun`, `mpiexec`, `orterun`): `-x NAME` for each transport
//! variable (the value travels in Open MPI's launch message, read from
//! mpirun's environment), and each app context's program wrapped. The user's
//! own `-x` options stay as they are.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::{wrap_app_contexts, Context};
use crate::error::UsageError;

/// Options of Open MPI 4's mpirun that take one value (two for the MCA forms).
fn arity(option: &[u8]) -> usize {
    let name = option.trim_ascii_start().strip_prefix(b"--").or_else(|| option.strip_prefix(b"-")).unwrap_or(option);
    if name.contains(&b'=') {
        return 0;
    }
    match name {
        b"mca" | b"gmca" | b"omca" => 2,
        b"n"
        | b"np"
        | b"c"
        | b"H"
        | b"host"
        | b"hostfile"
        | b"machinefile"
        | b"default-hostfile"
        | b"x"
        | b"map-by"
        | b"rank-by"
        | b"bind-to"
        | b"wdir"
        | b"wd"
        | b"prefix"
        | b"path"
        | b"npernode"
        | b"npersocket"
        | b"N"
        | b"output-filename"
        | b"preload-files"
        | b"tmpdir"
        | b"cpus-per-proc"
        | b"cpus-per-rank"
        | b"report-uri"
        | b"ompi-server"
        | b"timeout"
        | b"stdin"
        | b"am"
        | b"tune"
        | b"rankfile"
        | b"rf"
        | b"personality"
        | b"launch-agent"
        | b"report-pid"
        | b"set-cwd-to-session-dir"
        | b"max-vm-size"
        | b"use-regexp"
        | b"s"
        | b"hetero-nodes"
        | b"dvm-uri"
        | b"sf"
        | b"app" => 1,
        _ => 0,
    }
}

pub fn rewrite(args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let mut out: Vec<OsString> = Vec::new();
    for name in context.transport {
        out.push("-x".into());
        out.push(name.into());
    }
    if let Some(app) = args.iter().position(|a| matches!(a.as_bytes(), b"--app" | b"-app")) {
        return Err(UsageError::new(format!(
            "mpirun argument {}: --app files are not rewritten; list the programs on the command line",
            app + 1
        )));
    }
    out.extend(wrap_app_contexts("mpirun", args, arity, context, |options| Ok(options.to_vec()))?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envtrack_model::Environment;

    fn rewrite_text(text: &str) -> String {
        crate::launch::rewrite_for_test(rewrite, text, &mut Environment::new())
    }

    #[test]
    fn wraps_every_app_context_and_keeps_user_options() {
        assert_eq!(
            rewrite_text("-n 2 --host a,b -x USER_VAR --mca btl self,tcp ./app -n 5 : -n 1 other x"),
            "-x T_PARTS -x T_0 -n 2 --host a,b -x USER_VAR --mca btl self,tcp /i apply -- ./app -n 5 : -n 1 /i apply -- other x"
        );
        assert_eq!(
            rewrite_text("--np=2 --oversubscribe prog"),
            "-x T_PARTS -x T_0 --np=2 --oversubscribe /i apply -- prog"
        );
    }
}
