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
pub mod pdsh;
pub mod remote_shell;
pub mod slurm;
pub mod ssh;
pub mod tables;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use envtrack_model::Environment;

use crate::error::UsageError;
use crate::flavor::{Flavor, Launcher};
use options::{Parsed, Table, Unreadable};

/// What a rewrite needs.
pub struct Context<'a> {
    /// `envtrack-inject` as the workers' nodes can run it.
    pub remote_injector: &'a OsStr,
    /// The names of the variables that carry the snapshot.
    pub transport: &'a [String],
    /// The launcher's environment (a rewrite may change it: `SLURM_EXPORT_ENV`).
    pub env: &'a mut Environment,
    /// Per app context, the names the command line sets for that context only
    /// ([`Assignments::per_context`]): its workers keep the launcher's value.
    pub keep: &'a [Vec<Vec<u8>>],
}

/// The launcher's arguments (without argv[0]) rewritten for `launcher`, or
/// why they cannot be.
pub fn rewrite(launcher: &Launcher, args: &[OsString], context: &mut Context<'_>) -> Result<Vec<OsString>, UsageError> {
    let table = tables::table(launcher.table);
    if asks_for_information(table, args) {
        return Ok(args.to_vec());
    }
    match launcher.flavor {
        Flavor::OpenMpi => openmpi::rewrite(table, launcher.table == tables::TableKind::OpenMpi4, args, context),
        Flavor::Hydra => hydra::rewrite(table, args, context),
        Flavor::Slurm => slurm::rewrite(table, args, context),
        Flavor::Ssh => ssh::rewrite(table, args, context),
        Flavor::Pdsh => pdsh::rewrite(table, launcher.default_rcmd.as_deref(), args, context),
    }
}

/// The names whose values the command line sets for the workers itself.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Assignments {
    /// For every worker (`-genv`, Open MPI 5's `-x`, `SLURM_EXPORT_ENV`, or set
    /// in every app context): the tracked change of such a name does not travel.
    pub global: Vec<Vec<u8>>,
    /// For one app context's workers (Open MPI 4's `-x`, Hydra's `-env`, srun's
    /// `--export` per component): they keep it (`apply --keep=NAME`).
    pub per_context: Vec<Vec<Vec<u8>>>,
}

/// What the command line sets for the workers (`-x NAME=VALUE`, `-genv NAME
/// VALUE`, `-env`, `--export=…,NAME=VALUE`, `SLURM_EXPORT_ENV`): such a value
/// stands on the workers it is for, as a value a program passes explicitly does.
pub fn explicitly_set(launcher: &Launcher, args: &[OsString], env: &Environment) -> Assignments {
    let table = tables::table(launcher.table);
    let assigned = |item: &[u8]| item.iter().position(|&b| b == b'=').map(|at| item[..at].to_vec());
    let mut set = Assignments::default();
    let mut rest = args;
    while let Ok(parsed) = table.read(rest) {
        let mut here = Vec::new();
        for found in &parsed.options {
            let first = found.values.first().map(|v| v.as_bytes()).unwrap_or_default();
            match (launcher.flavor, found.spec.name()) {
                (Flavor::OpenMpi, "-x") if launcher.table == tables::TableKind::OpenMpi4 => {
                    here.extend(assigned(first))
                }
                (Flavor::OpenMpi, "-x") => set.global.extend(assigned(first)),
                (Flavor::Hydra, "-genv") => set.global.push(assigned(first).unwrap_or_else(|| first.to_vec())),
                (Flavor::Hydra, "-env") => here.push(assigned(first).unwrap_or_else(|| first.to_vec())),
                (Flavor::Slurm, "--export") => here.extend(first.split(|&b| b == b',').filter_map(assigned)),
                _ => {}
            }
        }
        set.per_context.push(here);
        let program = &rest[parsed.operands..];
        match program.iter().position(|w| w.as_bytes() == b":") {
            Some(end) => rest = &program[end + 1..],
            None => break,
        }
    }
    if launcher.flavor == Flavor::Slurm {
        if let Some(value) = env.get(b"SLURM_EXPORT_ENV") {
            set.global.extend(value.split(|&b| b == b',').filter_map(assigned));
        }
    }
    if let Some((first, others)) = set.per_context.split_first() {
        let everywhere: Vec<Vec<u8>> =
            first.iter().filter(|name| others.iter().all(|context| context.contains(name))).cloned().collect();
        set.global.extend(everywhere);
    }
    let global = set.global.clone();
    for context in &mut set.per_context {
        context.retain(|name| !global.contains(name));
    }
    set
}

/// Options that make a launcher print something and start nothing.
const INFORMATIONAL: [&str; 10] =
    ["--help", "--version", "-help", "-version", "-info", "-h", "-V", "--usage", "-L", "-q"];

/// Whether `args` start nothing: no program, and an option that asks for
/// help, a version or the like (`mpirun --version`). Such a command line is
/// left as it is, with nothing to say about it.
fn asks_for_information(table: &Table, args: &[OsString]) -> bool {
    match table.read(args) {
        Ok(parsed) => {
            parsed.operands >= args.len() && parsed.options.iter().any(|o| INFORMATIONAL.contains(&o.spec.name()))
        }
        // Open MPI's `--help [TOPIC]`: its topic is optional at the end of the command line.
        Err(Unreadable::MissingValue { at, .. }) if at == args.len() => {
            let last = args[at - 1].as_bytes();
            let last = &last[last.iter().take_while(|&&b| b == b'-').count()..];
            INFORMATIONAL.iter().any(|name| name.trim_start_matches('-').as_bytes() == last)
                && asks_nothing_else(table, &args[..at - 1])
        }
        Err(_) => false,
    }
}

/// Whether `args` are options only (no program), read without trouble.
fn asks_nothing_else(table: &Table, args: &[OsString]) -> bool {
    table.read(args).is_ok_and(|parsed| parsed.operands >= args.len())
}

/// `args` read with `table`, or a message naming the word it could not read.
pub fn read<'t>(table: &'t Table, args: &[OsString]) -> Result<Parsed<'t>, UsageError> {
    table.read(args).map_err(|problem: Unreadable| UsageError::new(format!("{}: {problem}", table.title)))
}

/// `envtrack-inject apply --carried [--keep=NAME…] --` before the program of app
/// context `index` (`--carried`: the launcher was to forward the snapshot, and
/// the worker says so if it did not; `--keep`: names the command line set for
/// this context, whose values stand).
pub fn wrapper(context: &Context<'_>, index: usize) -> Vec<OsString> {
    let mut words: Vec<OsString> = vec![context.remote_injector.to_os_string(), "apply".into(), "--carried".into()];
    for name in context.keep.get(index).into_iter().flatten() {
        let mut word = OsString::from("--keep=");
        word.push(OsStr::from_bytes(name));
        words.push(word);
    }
    words.push("--".into());
    words
}

/// `words` (a launcher's options) with the options `replace` returns words
/// for replaced by those words; the others kept as given.
pub fn replace_options(
    words: &[OsString],
    parsed: &Parsed<'_>,
    mut replace: impl FnMut(&options::Found<'_>) -> Option<Vec<OsString>>,
) -> Vec<OsString> {
    let mut out = words.to_vec();
    // From the last, so that the earlier ranges stay where they are.
    for found in parsed.options.iter().rev() {
        if let Some(new) = replace(found) {
            out.splice(found.words.clone(), new);
        }
    }
    out
}

/// Rewrites an MPI launcher's app contexts, `OPTIONS PROGRAM ARGS [: OPTIONS
/// PROGRAM ARGS]…`: each context's options through `options`, each program
/// wrapped (it runs up to the next `:`).
pub fn wrap_app_contexts(
    table: &Table,
    args: &[OsString],
    context: &Context<'_>,
    mut options: impl FnMut(&Parsed<'_>, &[OsString]) -> Result<Vec<OsString>, UsageError>,
) -> Result<Vec<OsString>, UsageError> {
    let mut out = Vec::new();
    let mut rest = args;
    for index in 0.. {
        let parsed = read(table, rest)?;
        out.extend(options(&parsed, &rest[..parsed.operands])?);
        let program = &rest[parsed.operands..];
        if program.first().is_none_or(|word| word.as_bytes() == b":") {
            return Err(UsageError::new(format!("{}: no program to run was found in its arguments", table.title)));
        }
        let end = program.iter().position(|w| w.as_bytes() == b":").unwrap_or(program.len());
        out.extend(wrapper(context, index));
        out.extend(program[..end].iter().cloned());
        if end == program.len() {
            break;
        }
        out.push(":".into());
        rest = &program[end + 1..];
    }
    Ok(out)
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
pub(crate) fn rewrite_for_test(table: tables::TableKind, text: &str, env: &mut Environment) -> String {
    let args: Vec<OsString> = text.split(' ').map(OsString::from).collect();
    let transport = vec!["T_PARTS".to_string(), "T_0".to_string()];
    let mut context = Context { remote_injector: "/i".as_ref(), transport: &transport, env, keep: &[] };
    let launcher = Launcher { flavor: table.flavor(), table, identity: String::new(), default_rcmd: None };
    let out = rewrite(&launcher, &args, &mut context).unwrap();
    out.iter().map(|w| w.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command lines the hand-written tables broke (a value taken for the program, a flag
    /// taken for an option with a value): each is now read as its launcher reads it.
    #[test]
    fn the_options_of_todays_launchers_are_read_as_they_read_them() {
        use tables::TableKind::*;
        let cases = [
            (OpenMpi5, "--display map -n 2 prog", "-x T_PARTS -x T_0 --display map -n 2 /i apply --carried -- prog"),
            (
                OpenMpi5,
                "--prtemca plm_ssh_agent /x/agent --pmixmca a b -n 2 prog",
                "-x T_PARTS -x T_0 --prtemca plm_ssh_agent /x/agent --pmixmca a b -n 2 /i apply --carried -- prog",
            ),
            (
                OpenMpi5,
                "--runtime-options abort-nonzero-status -x A=1 -n 2 prog",
                "-x T_PARTS -x T_0 --runtime-options abort-nonzero-status -x A=1 -n 2 /i apply --carried -- prog",
            ),
            (Srun, "--gpus-per-node 4 -n2 prog", "--job-name=prog --gpus-per-node 4 -n2 /i apply --carried -- prog"),
            (HydraMpich, "-topolib hwloc -n 2 prog", "-topolib hwloc -n 2 /i apply --carried -- prog"),
            (HydraMpich, "-genv A=1 -n 2 prog", "-genv A=1 -n 2 /i apply --carried -- prog"),
            (HydraIntel, "-perhost 1 -n 2 prog", "-perhost 1 -n 2 /i apply --carried -- prog"),
        ];
        for (table, input, expected) in cases {
            let out = rewrite_for_test(table, input, &mut Environment::new());
            assert_eq!(out, expected, "{table:?}: {input}");
        }
    }

    #[test]
    fn names_the_command_line_sets_are_found_in_every_context() {
        use tables::TableKind::*;
        let cases: [(tables::TableKind, &str, &[&str]); 5] = [
            (OpenMpi4, "-x A=1 -x B -x D=0 -n 1 prog -x C=3 : -x D=4 -n 1 other", &["D"]),
            // (A is kept by the first context's workers only: see the test below.)
            (OpenMpi5, "-x A=1 -n 1 prog : -x D=4 -n 1 other", &["A", "D"]),
            (HydraMpich, "-genv A 1 -genv B=2 -n 1 prog : -env C 3 -n 1 other", &["A", "B"]),
            (Srun, "--export=ALL,A=1,B -n1 prog", &["A"]),
            (Ssh, "-o A=1 host cmd", &[]),
        ];
        for (table, text, expected) in cases {
            let args: Vec<OsString> = text.split(' ').map(OsString::from).collect();
            let launcher = Launcher { flavor: table.flavor(), table, identity: String::new(), default_rcmd: None };
            let env = Environment::from_pairs([("SLURM_EXPORT_ENV", "E=5")]);
            let mut found = explicitly_set(&launcher, &args, &env).global;
            found.sort();
            let mut expected: Vec<Vec<u8>> = expected.iter().map(|n| n.as_bytes().to_vec()).collect();
            if table == Srun {
                expected.push(b"E".to_vec());
            }
            expected.sort();
            assert_eq!(found, expected, "{text}");
        }
    }

    #[test]
    fn a_name_set_for_one_context_is_kept_by_its_workers_only() {
        let args: Vec<OsString> = "-n 1 -x A=1 prog : -n 1 other".split(' ').map(OsString::from).collect();
        let table = tables::TableKind::OpenMpi4;
        let launcher = Launcher { flavor: table.flavor(), table, identity: String::new(), default_rcmd: None };
        let set = explicitly_set(&launcher, &args, &Environment::new());
        assert_eq!(set, Assignments { global: vec![], per_context: vec![vec![b"A".to_vec()], vec![]] });
        let transport = vec!["T_PARTS".to_string()];
        let mut env = Environment::new();
        let mut context =
            Context { remote_injector: "/i".as_ref(), transport: &transport, env: &mut env, keep: &set.per_context };
        let out = rewrite(&launcher, &args, &mut context).unwrap();
        let out: Vec<String> = out.iter().map(|w| w.to_string_lossy().into_owned()).collect();
        assert_eq!(
            out.join(" "),
            "-x T_PARTS -n 1 -x A=1 /i apply --carried --keep=A -- prog : -x T_PARTS -n 1 /i apply --carried -- other"
        );
    }

    #[test]
    fn extends_lists_without_duplicates() {
        assert_eq!(extend_list(b"A,B", &["B".into(), "C".into()]), "A,B,C");
        assert_eq!(extend_list(b"", &["C".into()]), "C");
    }
}
