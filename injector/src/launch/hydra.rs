//! MPICH Hydra (`mpiexec.hydra`, `mpirun.mpich`): by default Hydra forwards
//! the whole environment, transport variables included; a user's own
//! `-genvnone`/`-genvlist`/`-envnone`/`-envlist` are turned into lists that
//! also name them (Hydra rejects `-genvnone` together with `-genvlist`, so
//! one is replaced, never added). Each executable is wrapped.
//!
//! Hydra 4.0 (Debian 12's MPICH) drops the last existing variable of a
//! forwarded list on remote nodes (`-genvlist A,B` delivers only A). So the
//! lists end with [`PAD`], set in the launcher's environment, which is the
//! one dropped; a Hydra without the bug forwards it, and `apply` removes it.

/// The variable that absorbs Hydra's off-by-one.
pub const PAD: &str = "ENVTRACK_HYDRA_PAD";

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::{extend_list, wrap_app_contexts, Context};
use crate::error::UsageError;

fn arity(option: &[u8]) -> usize {
    match option {
        b"-genv" | b"-env" => 2,
        b"-n" | b"-np" | b"-hosts" | b"-host" | b"-f" | b"-hostfile" | b"-machinefile" | b"-ppn" | b"-wdir"
        | b"-gwdir" | b"-genvlist" | b"-envlist" | b"-launcher" | b"-launcher-exec" | b"-bootstrap"
        | b"-bootstrap-exec" | b"-rmk" | b"-iface" | b"-bind-to" | b"-binding" | b"-map-by" | b"-demux"
        | b"-errfile-pattern" | b"-outfile-pattern" | b"-prepend-pattern" | b"-tmpdir" | b"-gpath" | b"-path"
        | b"-gumask" | b"-umask" | b"-gpus-per-proc" | b"-configfile" | b"-nameserver" | b"-ckpointlib"
        | b"-ckpoint-prefix" | b"-ckpoint-num" | b"-ckpoint-interval" | b"-localhost" | b"-usize" | b"-pmi-port" => 1,
        _ => 0,
    }
}

/// Rewrites one option group (global or one executable's), in place.
fn rewrite_options(options: &[OsString], transport: &[String]) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < options.len() {
        let word = options[at].as_bytes();
        match word {
            b"-genvnone" => {
                out.push("-genvlist".into());
                out.push(extend_list(b"", transport));
            }
            b"-envnone" => {
                out.push("-envlist".into());
                out.push(extend_list(b"", transport));
            }
            b"-genvlist" | b"-envlist" if at + 1 < options.len() => {
                out.push(options[at].clone());
                out.push(extend_list(options[at + 1].as_bytes(), transport));
                at += 2;
                continue;
            }
            _ => {
                let take = 1 + arity(word);
                out.extend(options[at..(at + take).min(options.len())].iter().cloned());
                at += take;
                continue;
            }
        }
        at += 1;
    }
    out
}

pub fn rewrite(args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    // Last in the environment too: the default forwarding of everything may drop the last one.
    context.env.unset(PAD.as_bytes());
    context.env.set(PAD.as_bytes(), b"1");
    let mut listed: Vec<String> = context.transport.to_vec();
    listed.push(PAD.to_string());
    let listed = &listed;
    if let Some(at) = args.iter().position(|a| a.as_bytes() == b"-configfile") {
        return Err(UsageError::new(format!(
            "mpiexec argument {}: -configfile is not rewritten; list the executables on the command line",
            at + 1
        )));
    }
    wrap_app_contexts("mpiexec", args, arity, context, |options| Ok(rewrite_options(options, listed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use envtrack_model::Environment;

    fn rewrite_text(text: &str) -> String {
        crate::launch::rewrite_for_test(rewrite, text, &mut Environment::new())
    }

    #[test]
    fn env_restrictions_name_the_transport() {
        assert_eq!(
            rewrite_text("-n 2 -genvnone prog"),
            "-n 2 -genvlist T_PARTS,T_0,ENVTRACK_HYDRA_PAD /i apply -- prog"
        );
        assert_eq!(
            rewrite_text("-genvlist A,B -n 1 prog"),
            "-genvlist A,B,T_PARTS,T_0,ENVTRACK_HYDRA_PAD -n 1 /i apply -- prog"
        );
        assert_eq!(
            rewrite_text("-hosts a,b -n 1 -envnone p1 : -n 1 -envlist X p2 y"),
            "-hosts a,b -n 1 -envlist T_PARTS,T_0,ENVTRACK_HYDRA_PAD /i apply -- p1 : -n 1 -envlist X,T_PARTS,T_0,ENVTRACK_HYDRA_PAD /i apply -- p2 y"
        );
        assert_eq!(rewrite_text("-genv A 1 -n 1 prog"), "-genv A 1 -n 1 /i apply -- prog");
    }
}
