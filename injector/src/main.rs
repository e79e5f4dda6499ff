//! `envtrack-inject`: runs programs under `libenvtrack.so`, with directives.

mod cli;
mod directive_flags;
mod error;
mod library;
mod run;
mod state;

use clap::{CommandFactory, FromArgMatches};

use envtrack_model::{vars, Registry, Target};

use crate::error::{UsageError, EXIT_NOT_RUN, EXIT_USAGE};

fn registry_from_env() -> Result<Registry, UsageError> {
    let mut registry = Registry::builtin();
    if let Some(spec) = std::env::var_os(vars::LISTS) {
        registry.add_spec(spec.as_encoded_bytes()).map_err(|e| UsageError::new(format!("{}: {e}", vars::LISTS)))?;
    }
    Ok(registry)
}

fn run_mode(matches: &clap::ArgMatches, cli: &cli::Cli) -> Result<std::io::Error, UsageError> {
    let mut registry = registry_from_env()?;
    let directives = cli::directives(matches, &cli.run.directives, &mut registry)?;
    let library = library::find_library(cli.run.lib.as_deref())?;
    let env = run::prepare_environment(state::current_environment(), directives, &library, &registry, Target::App)?;
    Ok(run::exec(&cli.run.command, &env))
}

fn main() {
    let matches = cli::Cli::command().get_matches();
    let cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run_mode(&matches, &cli) {
        Ok(exec_error) => {
            eprintln!("envtrack-inject: cannot run {:?}: {exec_error}", cli.run.command[0]);
            std::process::exit(EXIT_NOT_RUN);
        }
        Err(error) => {
            eprintln!("envtrack-inject: {error}");
            std::process::exit(EXIT_USAGE);
        }
    }
}
