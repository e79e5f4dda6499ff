//! Launch mode: rewrite a launcher's command line so that every worker it
//! starts runs `envtrack-inject apply -- PROGRAM ARGS…` on its node, with the
//! snapshot forwarded by the launcher itself, by name.
//!
//! One module per launcher; each knows which of its options take values
//! (so it can find the program in the command line), how its environment
//! forwarding is told to include envtrack's variables, and nothing else.

pub mod hydra;
pub mod openmpi;
pub mod options;
pub mod slurm;
pub mod ssh;
pub mod tables;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use envtrack_model::Environment;

use crate::error::UsageError;
use crate::flavor::Flavor;

/// What a rewrite needs.
pub struct Context<'a> {
    /// `envtrack-inject` as the workers' nodes can run it.
    pub remote_injector: &'a OsStr,
    /// The names of the variables that carry the snapshot.
    pub transport: &'a [String],
    /// The launcher's environment (a rewrite may change it: `SLURM_EXPORT_ENV`).
    pub env: &'a mut Environment,
}

/// The launcher's arguments (without argv[0]) rewritten for `flavor`.
pub fn rewrite(flavor: Flavor, args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    match flavor {
        Flavor::OpenMpi => openmpi::rewrite(args, context),
        Flavor::Hydra => hydra::rewrite(args, context),
        Flavor::Slurm => slurm::rewrite(args, context),
        Flavor::Ssh => ssh::rewrite(args, context),
    }
}

/// `envtrack-inject apply --` before a worker's program.
pub fn wrapper(context: &Context<'_>) -> Vec<OsString> {
    vec![context.remote_injector.to_os_string(), "apply".into(), "--".into()]
}

/// How many values an option takes, by the launcher's rules.
pub type Arity = fn(&[u8]) -> usize;

/// Splits `args` into (options, program and its arguments): options are
/// leading words starting with `-`, each with the values `arity` says it
/// takes; the program is the first other word. `--` ends the options.
pub fn split_program(args: &[OsString], arity: Arity) -> (&[OsString], &[OsString]) {
    let mut at = 0;
    while at < args.len() {
        let word = args[at].as_bytes();
        if word == b"--" {
            return (&args[..at + 1], &args[at + 1..]);
        }
        if !word.starts_with(b"-") || word == b"-" {
            break;
        }
        at += 1 + arity(word);
    }
    let at = at.min(args.len());
    (&args[..at], &args[at..])
}

/// Rewrites an MPI launcher's app contexts, `OPTIONS PROGRAM ARGS [: OPTIONS
/// PROGRAM ARGS]…`: each context's options through `options`, each program
/// wrapped (it runs up to the next `:`).
pub fn wrap_app_contexts(
    launcher: &str,
    args: &[OsString],
    arity: Arity,
    context: &Context<'_>,
    mut options: impl FnMut(&[OsString]) -> Result<Vec<OsString>, UsageError>,
) -> Result<Vec<OsString>, UsageError> {
    let mut out = Vec::new();
    let mut rest = args;
    loop {
        let (given, program) = split_program(rest, arity);
        out.extend(options(given)?);
        if program.is_empty() {
            return Err(UsageError::new(format!("{launcher}: no program to run was found in its arguments")));
        }
        let end = program.iter().position(|w| w.as_bytes() == b":").unwrap_or(program.len());
        out.extend(wrapper(context));
        out.extend(program[..end].iter().cloned());
        if end == program.len() {
            return Ok(out);
        }
        out.push(":".into());
        rest = &program[end + 1..];
    }
}

/// A comma-separated list with `extra` names added (no duplicates).
pub fn extend_list(list: &[u8], extra: &[String]) -> OsString {
    let mut out: Vec<u8> = list.to_vec();
    for name in extra {
        if !envtrack_model::list::contains(list, b',', name.as_bytes()) {
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
        }
    }
    OsString::from(String::from_utf8_lossy(&out).into_owned())
}

/// For the launchers' unit tests: `text` split at spaces, rewritten by the
/// launcher's `rewrite` with the injector at `/i` and the snapshot carried by
/// `T_PARTS` and `T_0`, joined again with spaces.
#[cfg(test)]
pub(crate) fn rewrite_for_test(
    rewrite: fn(&[OsString], &mut Context<'_>) -> Result<Vec<OsString>, UsageError>,
    text: &str,
    env: &mut Environment,
) -> String {
    let args: Vec<OsString> = text.split(' ').map(OsString::from).collect();
    let transport = vec!["T_PARTS".to_string(), "T_0".to_string()];
    let mut context = Context { remote_injector: "/i".as_ref(), transport: &transport, env };
    let out = rewrite(&args, &mut context).unwrap();
    out.iter().map(|w| w.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<OsString> {
        text.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn finds_the_program_after_options_with_values() {
        let arity: Arity = |w| usize::from(w == b"-n");
        let args = words("-n 2 -v prog -n 3");
        let (options, program) = split_program(&args, arity);
        assert_eq!(options.len(), 3);
        assert_eq!(program, &words("prog -n 3")[..]);
    }

    #[test]
    fn extends_lists_without_duplicates() {
        assert_eq!(extend_list(b"A,B", &["B".into(), "C".into()]), "A,B,C");
        assert_eq!(extend_list(b"", &["C".into()]), "C");
    }
}
