//! Slurm `srun`: by default every variable is exported, transport included;
//! `--export=NONE`/`NIL`, `--export=NAME,…` and `SLURM_EXPORT_ENV` are
//! turned into lists that also name the transport variables. The program
//! is wrapped.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use super::{extend_list, split_program, wrapper, Context};
use crate::error::UsageError;

fn arity(option: &[u8]) -> usize {
    if option.starts_with(b"--") {
        if option.contains(&b'=') {
            return 0;
        }
        return usize::from(matches!(
            &option[2..],
            b"account"
                | b"nodes"
                | b"ntasks"
                | b"cpus-per-task"
                | b"partition"
                | b"time"
                | b"job-name"
                | b"output"
                | b"error"
                | b"input"
                | b"nodelist"
                | b"exclude"
                | b"chdir"
                | b"export"
                | b"mem"
                | b"mem-per-cpu"
                | b"gres"
                | b"constraint"
                | b"qos"
                | b"mpi"
                | b"distribution"
                | b"cpu-bind"
                | b"ntasks-per-node"
                | b"gpus"
                | b"reservation"
                | b"dependency"
                | b"jobid"
                | b"begin"
                | b"comment"
                | b"signal"
                | b"kill-on-bad-exit"
                | b"mem-bind"
                | b"tasks-per-node"
                | b"gpus-per-task"
                | b"wckey"
        ));
    }
    // Short options: a value follows unless it is glued on (-n2).
    match option {
        b"-A" | b"-c" | b"-d" | b"-D" | b"-e" | b"-G" | b"-i" | b"-J" | b"-L" | b"-m" | b"-M" | b"-n" | b"-N"
        | b"-o" | b"-p" | b"-q" | b"-r" | b"-S" | b"-t" | b"-T" | b"-W" | b"-w" | b"-x" | b"-C" | b"-b" => 1,
        _ => 0,
    }
}

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

pub fn rewrite(args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let (options, program) = split_program(args, arity);
    if program.is_empty() {
        return Err(UsageError::new("srun: no program to run was found in its arguments"));
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < options.len() {
        let word = options[at].as_bytes();
        if let Some(value) = word.strip_prefix(b"--export=") {
            let mut rewritten = OsString::from("--export=");
            rewritten.push(export_value(value, context.transport));
            out.push(rewritten);
        } else if word == b"--export" && at + 1 < options.len() {
            out.push(options[at].clone());
            out.push(export_value(options[at + 1].as_bytes(), context.transport));
            at += 1;
        } else {
            out.push(options[at].clone());
        }
        at += 1;
    }
    if let Some(value) = context.env.get(b"SLURM_EXPORT_ENV").map(<[u8]>::to_vec) {
        let rewritten = export_value(&value, context.transport);
        context.env.set(b"SLURM_EXPORT_ENV", rewritten.as_bytes());
    }
    out.extend(wrapper(context));
    out.extend(program.iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envtrack_model::Environment;

    fn rewrite_text(text: &str, env: &mut Environment) -> String {
        crate::launch::rewrite_for_test(rewrite, text, env)
    }

    #[test]
    fn export_forms() {
        let mut env = Environment::new();
        assert_eq!(
            rewrite_text("-N1 -n 2 --export=NONE /bin/env", &mut env),
            "-N1 -n 2 --export=T_PARTS,T_0 /i apply -- /bin/env"
        );
        assert_eq!(rewrite_text("--export A,B=1 prog", &mut env), "--export A,B=1,T_PARTS,T_0 /i apply -- prog");
        assert_eq!(rewrite_text("--export=ALL,B=1 prog -n 3", &mut env), "--export=ALL,B=1 /i apply -- prog -n 3");
        let mut env = Environment::from_pairs([("SLURM_EXPORT_ENV", "NONE")]);
        rewrite_text("prog", &mut env);
        assert_eq!(env.get(b"SLURM_EXPORT_ENV"), Some(&b"T_PARTS,T_0"[..]));
    }
}
