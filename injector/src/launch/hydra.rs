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

use super::options::{Parsed, Table};
use super::{extend_list, replace_options, wrap_app_contexts, Context};
use crate::error::UsageError;

/// One option group (global or one executable's) with the environment
/// options made to name the transport.
fn rewrite_options(options: &[OsString], parsed: &Parsed<'_>, transport: &[String]) -> Vec<OsString> {
    replace_options(options, parsed, |found| match found.spec.name() {
        "-genvnone" => Some(vec!["-genvlist".into(), extend_list(b"", transport)]),
        "-envnone" => Some(vec!["-envlist".into(), extend_list(b"", transport)]),
        name @ ("-genvlist" | "-envlist") => {
            let list = found.values.first().map(|v| v.as_bytes()).unwrap_or_default();
            Some(vec![name.into(), extend_list(list, transport)])
        }
        _ => None,
    })
}

pub fn rewrite(table: &Table, args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    // Last in the environment too: the default forwarding of everything may drop the last one.
    context.env.unset(PAD.as_bytes());
    context.env.set(PAD.as_bytes(), b"1");
    let mut listed: Vec<String> = context.transport.to_vec();
    listed.push(PAD.to_string());
    let listed = &listed;
    // `HYDRA_ENV=none` is `-genvnone` unless an option says otherwise: name envtrack's variables.
    let env_none = context.env.get(b"HYDRA_ENV").is_some_and(|v| v.eq_ignore_ascii_case(b"none"));
    let global_choice = table.read(args).is_ok_and(|p| p.has("-genvnone") || p.has("-genvlist") || p.has("-genvall"));
    let mut out: Vec<OsString> = Vec::new();
    if env_none && !global_choice {
        out.push("-genvlist".into());
        out.push(extend_list(b"", listed));
    }
    out.extend(wrap_app_contexts(table, args, context, |parsed, options| {
        if parsed.has("-configfile") {
            return Err(UsageError::new(format!(
                "{}: the executables of a -configfile are not rewritten; list them on the command line",
                table.title
            )));
        }
        Ok(rewrite_options(options, parsed, listed))
    })?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::launch::tables::TableKind;
    use envtrack_model::Environment;

    fn rewrite_text(text: &str) -> String {
        crate::launch::rewrite_for_test(TableKind::HydraMpich, text, &mut Environment::new())
    }

    #[test]
    fn env_restrictions_name_the_transport() {
        assert_eq!(
            rewrite_text("-n 2 -genvnone prog"),
            "-n 2 -genvlist T_PARTS,T_0,ENVTRACK_HYDRA_PAD /i apply --carried -- prog"
        );
        assert_eq!(
            rewrite_text("-genvlist A,B -n 1 prog"),
            "-genvlist A,B,T_PARTS,T_0,ENVTRACK_HYDRA_PAD -n 1 /i apply --carried -- prog"
        );
        assert_eq!(
            rewrite_text("-hosts a,b -n 1 -envnone p1 : -n 1 -envlist X p2 y"),
            "-hosts a,b -n 1 -envlist T_PARTS,T_0,ENVTRACK_HYDRA_PAD /i apply --carried -- p1 : -n 1 -envlist X,T_PARTS,T_0,ENVTRACK_HYDRA_PAD /i apply --carried -- p2 y"
        );
        assert_eq!(rewrite_text("-genv A 1 -n 1 prog"), "-genv A 1 -n 1 /i apply --carried -- prog");
        let mut env = Environment::from_pairs([("HYDRA_ENV", "none")]);
        assert_eq!(
            crate::launch::rewrite_for_test(TableKind::HydraMpich, "-n 1 prog", &mut env),
            "-genvlist T_PARTS,T_0,ENVTRACK_HYDRA_PAD -n 1 /i apply --carried -- prog"
        );
    }
}
