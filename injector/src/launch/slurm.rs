//! Slurm `srun`: by default every variable is exported, transport included;
//! `--export=NONE`/`NIL`, `--export=NAME,…` and `SLURM_EXPORT_ENV` are
//! turned into lists that also name the transport variables. The program
//! is wrapped (each component's, in a heterogeneous step).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::options::Table;
use super::{extend_list, replace_options, wrap_app_contexts, Context};
use crate::error::UsageError;

/// The `--export` value with the transport variables made to reach the task.
fn export_value(value: &[u8], transport: &[String]) -> OsString {
    let upper = value.to_ascii_uppercase();
    match upper.as_slice() {
        b"NONE" | b"NIL" => extend_list(b"", transport),
        b"ALL" => OsString::from("ALL"),
        _ if value.split(|&b| b == b',').any(|n| n.eq_ignore_ascii_case(b"ALL")) => {
            OsString::from(std::ffi::OsStr::from_bytes(value))
        }
        _ => extend_list(value, transport),
    }
}

pub fn rewrite(table: &Table, args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let transport = context.transport;
    // Each component of a heterogeneous step (`srun OPTIONS PROG : OPTIONS PROG`) is wrapped.
    let out = wrap_app_contexts(table, args, context, |parsed, options| {
        if parsed.has("--bcast") {
            return Err(UsageError::new(
                "srun: --bcast would copy envtrack-inject to the nodes instead of the program",
            ));
        }
        if parsed.has("--multi-prog") {
            return Err(UsageError::new(
                "srun: the programs of a --multi-prog configuration file are not rewritten; list them on the command line",
            ));
        }
        Ok(replace_options(options, parsed, |found| {
            (found.spec.name() == "--export").then(|| {
                let value = export_value(found.values[0].as_bytes(), transport);
                // In as many words as the user gave it.
                if found.words.len() == 2 {
                    vec!["--export".into(), value]
                } else {
                    let mut rewritten = OsString::from("--export=");
                    rewritten.push(value);
                    vec![rewritten]
                }
            })
        }))
    })?;
    if let Some(value) = context.env.get(b"SLURM_EXPORT_ENV").map(<[u8]>::to_vec) {
        let rewritten = export_value(&value, transport);
        context.env.set(b"SLURM_EXPORT_ENV", rewritten.as_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::launch::tables::TableKind;
    use envtrack_model::Environment;

    fn rewrite_text(text: &str, env: &mut Environment) -> String {
        crate::launch::rewrite_for_test(TableKind::Srun, text, env)
    }

    #[test]
    fn export_forms() {
        let mut env = Environment::new();
        assert_eq!(
            rewrite_text("-N1 -n 2 --export=NONE /bin/env", &mut env),
            "-N1 -n 2 --export=T_PARTS,T_0 /i apply -- /bin/env"
        );
        assert_eq!(rewrite_text("--export A,B=1 prog", &mut env), "--export A,B=1,T_PARTS,T_0 /i apply -- prog");
        assert_eq!(
            rewrite_text("-N1 --export NONE --ntasks=2 prog", &mut env),
            "-N1 --export T_PARTS,T_0 --ntasks=2 /i apply -- prog"
        );
        assert_eq!(rewrite_text("--export=ALL,B=1 prog -n 3", &mut env), "--export=ALL,B=1 /i apply -- prog -n 3");
        let mut env = Environment::from_pairs([("SLURM_EXPORT_ENV", "NONE")]);
        rewrite_text("prog", &mut env);
        assert_eq!(env.get(b"SLURM_EXPORT_ENV"), Some(&b"T_PARTS,T_0"[..]));
    }
}
