//! `envtrack-inject`: runs programs under `libenvtrack.so`, rewrites launcher
//! commands so the snapshot reaches every remote worker, applies snapshots on
//! the worker side, and exports and shows them.

use envtrack_inject::{
    apply, cli, doctor, flavor, inspect, launch_mode, library, log, run, since, slurm_plugin, state,
};

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

use envtrack_model::{vars, Registry, Target};

use envtrack_inject::cli::{Cli, Sub};
use envtrack_inject::error::{UsageError, EXIT_NOT_RUN, EXIT_USAGE};

fn registry_from_env() -> Result<Registry, UsageError> {
    let mut registry = Registry::builtin();
    if let Some(spec) = std::env::var_os(vars::LISTS) {
        registry.add_spec(spec.as_encoded_bytes()).map_err(|e| UsageError::new(format!("{}: {e}", vars::LISTS)))?;
    }
    Ok(registry)
}

/// What ended a mode that did not exec: an exec failure (exit 127), or
/// nothing to exec (the mode's own exit status).
enum Ended {
    ExecFailed(OsString, std::io::Error),
    Status(i32),
}

fn this_injector() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "envtrack-inject".into())
}

/// Run and launch mode: the command, under the library or rewritten for its launcher.
fn run_or_launch(matches: &clap::ArgMatches, cli: &Cli) -> Result<std::io::Error, UsageError> {
    let routed = cli.run.argv0.is_some();
    // Routed, a malformed ENVTRACK_LISTS was already reported by the library, which ignores it.
    let mut registry = match registry_from_env() {
        Err(_) if routed => Registry::builtin(),
        other => other?,
    };
    let directives = cli::directives(matches, &cli.run.directives, &mut registry)?;
    let program = &cli.run.command[0];
    let argv0 = cli.run.argv0.as_deref();
    match launch_mode::launcher_path(program)? {
        Some(launcher) => {
            let identified = flavor::detect(&launcher)?;
            if identified.flavor == flavor::Flavor::Slurm
                && slurm_plugin::carries(&launcher, &cli.run.command[1..], &state::current_environment(), &directives)
            {
                // The site's Slurm plugin carries the snapshot: srun runs as written, tracked.
                return run_tracked(cli, directives, &registry, "slurm-plugin");
            }
            let remote = cli
                .run
                .remote_inject
                .clone()
                .or_else(|| std::env::var_os("ENVTRACK_REMOTE_INJECT").filter(|p| !p.is_empty()).map(Into::into))
                .unwrap_or_else(this_injector);
            let launch = launch_mode::Launch {
                launcher: &launcher,
                identified,
                command: &cli.run.command,
                argv0,
                directives,
                remote_injector: remote.as_os_str(),
            };
            let prepared = launch_mode::prepare(launch, &registry)?;
            let error = run::exec_as(&prepared.command, argv0, &prepared.env);
            if error.kind() == std::io::ErrorKind::ArgumentListTooLong {
                // The launch as the program asked fits; with envtrack's additions it does not.
                return Err(UsageError::new(format!("the tracked changes do not fit the launch: {error}")));
            }
            Ok(error)
        }
        None => run_tracked(cli, directives, &registry, "program"),
    }
}

/// Run mode: the command under the library, with the directives applied and handed on.
fn run_tracked(
    cli: &Cli,
    directives: envtrack_model::DirectiveSet,
    registry: &Registry,
    what: &str,
) -> Result<std::io::Error, UsageError> {
    let library = library::find_library(cli.run.lib.as_deref())?;
    let env = run::prepare_environment(state::current_environment(), directives, &library, registry, Target::App)?;
    log::record("run", cli.run.command[0].as_encoded_bytes(), || serde_json::json!({"as": what}));
    Ok(run::exec_as(&cli.run.command, cli.run.argv0.as_deref(), &env))
}

fn dispatch(matches: &clap::ArgMatches, cli: &Cli) -> Result<Ended, UsageError> {
    let Some(sub) = &cli.command else {
        let program = cli.run.command[0].clone();
        return match run_or_launch(matches, cli) {
            Ok(error) => Ok(Ended::ExecFailed(program, error)),
            // The library routed this exec (it names the program's own argv[0]): whatever
            // envtrack cannot do, the program's exec still happens, as the program asked.
            Err(problem) if cli.run.argv0.is_some() => {
                let error =
                    launch_mode::run_as_asked(&cli.run.command, cli.run.argv0.as_deref(), cli.run.searched, &problem);
                Ok(Ended::ExecFailed(program, error))
            }
            Err(problem) => Err(problem),
        };
    };
    let mut registry = registry_from_env()?;
    match sub {
        Sub::Apply(args) => {
            if let Err(problem) = apply::expect_transport(args.carried) {
                let error = apply::run_without(&args.command, &problem);
                return Ok(Ended::ExecFailed(args.command[0].clone(), error));
            }
            let sub = matches.subcommand_matches("apply").expect("clap matched apply");
            let directives = cli::directives(sub, &args.directives, &mut registry)?;
            if (args.on.is_some() || args.untracked) && !args.print_env {
                return Err(UsageError::new(
                    "apply --on and --untracked: only with --print-env (a command runs in this environment, tracked)",
                ));
            }
            // Untracked, no library is preloaded: none is looked for.
            let library = if args.untracked { None } else { Some(library::find_library(args.lib.as_deref())?) };
            if args.print_env {
                apply::print_env(
                    args.snapshot.as_deref(),
                    args.on.as_deref(),
                    directives,
                    library.as_deref(),
                    &registry,
                )?;
                return Ok(Ended::Status(0));
            }
            let library = library.expect("tracked: a library");
            let keep: Vec<Vec<u8>> = args.keep.iter().map(|n| n.as_encoded_bytes().to_vec()).collect();
            let error = apply::run(args.snapshot.as_deref(), &keep, directives, &library, &registry, &args.command)?;
            Ok(Ended::ExecFailed(args.command[0].clone(), error))
        }
        Sub::Export { output, allow_untracked, base, on } => {
            let mut env = state::current_environment();
            if let Some(on) = on {
                if base.is_none() {
                    return Err(UsageError::new("export --on: only with --base"));
                }
                if on.as_os_str() == "-" && base.as_ref().is_some_and(|b| b.as_os_str() == "-") {
                    return Err(UsageError::new("export: --base - and --on - cannot both read standard input"));
                }
                env = since::read_base(on)?;
            }
            if let Some(base) = base {
                let base = since::read_base(base)?;
                let snapshot = since::add_changes_since(state::inherited_snapshot(&env)?, &base, &env, &registry);
                inspect::export_snapshot(&snapshot, &env, output.as_deref())?;
                return Ok(Ended::Status(0));
            }
            if !inspect::is_tracked(&env) && !allow_untracked {
                // Nothing written: an empty snapshot would pass for the job's (and replace a good -o file).
                envtrack_inject::error::say(format_args!(
                    "envtrack-inject export: this process is not tracked (its environment has no {} and does \
                     not preload {}, or has ENVTRACK=off): there is nothing to export{}; run it from a program \
                     under envtrack, or give --allow-untracked for an empty snapshot",
                    vars::STATE,
                    library::LIBRARY_NAME,
                    output.as_deref().map_or(String::new(), |o| format!(" ({} left as it was)", o.display())),
                ));
                return Ok(Ended::Status(1));
            }
            inspect::export(&env, output.as_deref())?;
            Ok(Ended::Status(0))
        }
        Sub::Show { json, reveal } => {
            let env = state::current_environment();
            let text = if *json { inspect::json(&env, *reveal)? } else { inspect::summary(&env, *reveal)? };
            print!("{text}");
            Ok(Ended::Status(0))
        }
        Sub::Doctor { hosts, ssh, lib, timeout } => {
            let ssh: Vec<String> = ssh.split_whitespace().map(str::to_string).collect();
            if ssh.is_empty() {
                return Err(UsageError::new("doctor --ssh: an empty command"));
            }
            if let Some(bad) = hosts.iter().find(|h| h.is_empty() || h.starts_with('-')) {
                return Err(UsageError::new(format!(
                    "doctor --hosts: {bad:?} is not a host name (empty, or taken for an option)"
                )));
            }
            let library = library::find_library(lib.as_deref());
            let library = library.as_deref().map_err(|e| e.message.clone());
            let ok = doctor::run(library, &this_injector(), hosts, &ssh, std::time::Duration::from_secs(*timeout));
            Ok(Ended::Status(if ok { 0 } else { 1 }))
        }
    }
}

/// `envtrack-inject apply -- COMMAND…`, the form launch mode gives every
/// worker: parsed by hand, since it runs once per rank and the argument
/// parser is a measurable part of its start-up.
fn worker_fast_path() {
    let mut args = std::env::args_os().skip(1).peekable();
    if args.next().as_deref() != Some("apply".as_ref()) {
        return;
    }
    let carried = args.next_if(|a| a == "--carried").is_some();
    let mut keep = Vec::new();
    while let Some(word) = args.next_if(|a| a.as_encoded_bytes().starts_with(b"--keep=")) {
        keep.push(word.as_encoded_bytes()[b"--keep=".len()..].to_vec());
    }
    if args.next().as_deref() != Some("--".as_ref()) {
        return;
    }
    let command: Vec<OsString> = args.collect();
    if command.is_empty() {
        return;
    }
    let result = apply::expect_transport(carried).and_then(|()| registry_from_env()).and_then(|registry| {
        let library = library::find_library(None)?;
        apply::run(None, &keep, Default::default(), &library, &registry, &command)
    });
    let error = match result {
        Ok(error) => error,
        // What launch mode gave this worker cannot be applied here (a forwarded snapshot
        // cut short, no library on this node): the program runs as it would have without
        // envtrack, after one line that says so.
        Err(problem) => apply::run_without(&command, &problem),
    };
    finish(Ok(Ended::ExecFailed(command[0].clone(), error)));
}

fn finish(result: Result<Ended, UsageError>) -> ! {
    match result {
        Ok(Ended::ExecFailed(program, error)) => {
            envtrack_inject::error::say(format_args!(
                "envtrack-inject: cannot run {}: {error}",
                std::path::Path::new(&program).display()
            ));
            std::process::exit(EXIT_NOT_RUN);
        }
        Ok(Ended::Status(status)) => std::process::exit(status),
        Err(error) => {
            envtrack_inject::error::say(format_args!("envtrack-inject: {error}"));
            std::process::exit(EXIT_USAGE);
        }
    }
}

fn main() {
    // Rust's runtime ignores SIGPIPE; a program envtrack-inject execs would inherit that (and
    // `show | head` would panic on a broken pipe). Programs start with SIGPIPE's default.
    // SAFETY: setting a signal's disposition to its default has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    worker_fast_path();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    finish(dispatch(&matches, &cli));
}
