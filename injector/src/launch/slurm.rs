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

/// `--job-name=PROGRAM` when srun would name the job after its program, which the
/// wrapper replaces: `%x` in `-o`/`-e` patterns, `SLURM_JOB_NAME` and `squeue`
/// show the user's program, as without envtrack.
fn job_name(table: &Table, args: &[OsString], context: &Context<'_>) -> Option<OsString> {
    let parsed = table.read(args).ok()?;
    let program = args.get(parsed.operands)?;
    if parsed.has("-J") || context.env.get(b"SLURM_JOB_NAME").is_some() {
        return None;
    }
    let mut option = OsString::from("--job-name=");
    option.push(program);
    Some(option)
}

pub fn rewrite(table: &Table, args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let transport = context.transport;
    let named = job_name(table, args, context);
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
    Ok(named.into_iter().chain(out).collect())
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
            "--job-name=/bin/env -N1 -n 2 --export=T_PARTS,T_0 /i apply --carried -- /bin/env"
        );
        assert_eq!(
            rewrite_text("--export A,B=1 prog", &mut env),
            "--job-name=prog --export A,B=1,T_PARTS,T_0 /i apply --carried -- prog"
        );
        assert_eq!(
            rewrite_text("-N1 --export NONE --ntasks=2 prog", &mut env),
            "--job-name=prog -N1 --export T_PARTS,T_0 --ntasks=2 /i apply --carried -- prog"
        );
        assert_eq!(
            rewrite_text("--export=ALL,B=1 prog -n 3", &mut env),
            "--job-name=prog --export=ALL,B=1 /i apply --carried -- prog -n 3"
        );
        // A job name given, or inherited from the allocation, stands.
        assert_eq!(rewrite_text("-J mine prog", &mut env), "-J mine /i apply --carried -- prog");
        let mut env = Environment::from_pairs([("SLURM_EXPORT_ENV", "NONE"), ("SLURM_JOB_NAME", "batch")]);
        assert_eq!(rewrite_text("prog", &mut env), "/i apply --carried -- prog");
        assert_eq!(env.get(b"SLURM_EXPORT_ENV"), Some(&b"T_PARTS,T_0"[..]));
    }
}
