//! The command line.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, Args, Parser};

use envtrack_model::json::parse_directive_file;
use envtrack_model::{DirectiveSet, Registry};

use crate::directive_flags::{directives_from_flags, GivenFlag, GivenSeparator, DIRECTIVE_FLAGS};
use crate::error::UsageError;

const EXAMPLES: &str = "\
Examples:
  # Run a program under libenvtrack.so; its children inherit what it sets.
  envtrack-inject -- python3 train.py

  # A tool's launch script: every process gets the tool first in PATH and
  # LD_LIBRARY_PATH, and the application processes also get its LD_PRELOAD.
  envtrack-inject --prepend PATH=/opt/tool/bin --prepend LD_LIBRARY_PATH=/opt/tool/lib \\
      --app-prepend LD_PRELOAD=/opt/tool/lib/libhook.so -- ./app

  # Directives from a file, then a ';'-separated list variable.
  envtrack-inject --directives tool.json --sep ';' --append MY_LIST=x -- make -j2";

/// Carry environment changes through processes and launchers.
#[derive(Parser, Debug)]
#[command(name = "envtrack-inject", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,
}

/// What run mode takes.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub directives: DirectiveArgs,

    /// The libenvtrack.so to preload (default: next to envtrack-inject, or in ../lib).
    #[arg(long, value_name = "PATH")]
    pub lib: Option<PathBuf>,

    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Directives: a file, and flags applied in the order given.
#[derive(Args, Debug)]
#[command(next_help_heading = "Directives (job level: the launcher and every process under it)")]
pub struct DirectiveArgs {
    /// A directive file (JSON: {"job": [...], "app": [...]}); applied before the flags.
    #[arg(long, value_name = "FILE")]
    pub directives: Option<PathBuf>,
    /// Set NAME to VALUE.
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<OsString>,
    /// Set NAME to VALUE only if NAME is absent.
    #[arg(long, value_name = "NAME=VALUE")]
    pub add: Vec<OsString>,
    /// Remove NAME.
    #[arg(long, value_name = "NAME")]
    pub unset: Vec<OsString>,
    /// Put VALUE's elements first in the list NAME (moving any already there).
    #[arg(long, value_name = "NAME=VALUE")]
    pub prepend: Vec<OsString>,
    /// Put VALUE's elements last in the list NAME (moving any already there).
    #[arg(long, value_name = "NAME=VALUE")]
    pub append: Vec<OsString>,
    /// Drop every occurrence of VALUE's elements from the list NAME.
    #[arg(long, value_name = "NAME=VALUE")]
    pub remove: Vec<OsString>,
    /// The separator (one byte) of the list directives after this flag (default: the variable's, else ':').
    #[arg(long, value_name = "C")]
    pub sep: Vec<OsString>,
    /// App level (the application processes only): like --set.
    #[arg(long, value_name = "NAME=VALUE", help_heading = "App-level directives (the application processes only)")]
    pub app_set: Vec<OsString>,
    /// Like --add, at app level.
    #[arg(long, value_name = "NAME=VALUE", help_heading = "App-level directives (the application processes only)")]
    pub app_add: Vec<OsString>,
    /// Like --unset, at app level.
    #[arg(long, value_name = "NAME", help_heading = "App-level directives (the application processes only)")]
    pub app_unset: Vec<OsString>,
    /// Like --prepend, at app level.
    #[arg(long, value_name = "NAME=VALUE", help_heading = "App-level directives (the application processes only)")]
    pub app_prepend: Vec<OsString>,
    /// Like --append, at app level.
    #[arg(long, value_name = "NAME=VALUE", help_heading = "App-level directives (the application processes only)")]
    pub app_append: Vec<OsString>,
    /// Like --remove, at app level.
    #[arg(long, value_name = "NAME=VALUE", help_heading = "App-level directives (the application processes only)")]
    pub app_remove: Vec<OsString>,
}

fn given_values(matches: &ArgMatches, id: &str) -> Vec<(usize, OsString)> {
    match (matches.indices_of(id), matches.get_many::<OsString>(id)) {
        (Some(indices), Some(values)) => indices.zip(values.cloned()).collect(),
        _ => Vec::new(),
    }
}

/// The directives of the command line: the file's, then the flags' in order.
/// List variables the file declares join `registry`.
pub fn directives(
    matches: &ArgMatches,
    args: &DirectiveArgs,
    registry: &mut Registry,
) -> Result<DirectiveSet, UsageError> {
    let mut set = DirectiveSet::default();
    if let Some(path) = &args.directives {
        let text = std::fs::read(path).map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?;
        let file =
            parse_directive_file(&text, registry).map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?;
        set.extend(file.directives);
    }
    let mut flags = Vec::new();
    for flag in DIRECTIVE_FLAGS {
        let id = flag.flag.replace('-', "_");
        for (index, argument) in given_values(matches, &id) {
            flags.push(GivenFlag { index, flag, argument });
        }
    }
    let separators =
        given_values(matches, "sep").into_iter().map(|(index, argument)| GivenSeparator { index, argument }).collect();
    set.extend(directives_from_flags(flags, separators, registry)?);
    Ok(set)
}
