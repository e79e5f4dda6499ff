//! The command line.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, Args, Parser, Subcommand};

use envtrack_model::json::parse_directive_file;
use envtrack_model::{DirectiveSet, Registry};

use crate::directive_flags::{directives_from_flags, GivenFlag, GivenSeparator, DIRECTIVE_FLAGS};
use crate::error::UsageError;

const EXAMPLES: &str = "\
Examples:
  # Run a program under libenvtrack.so; its children inherit what it sets.
  envtrack-inject -- python3 train.py

  # A launcher: every rank on every node gets the tracked changes.
  envtrack-inject -- mpirun -n 64 --host node1:32,node2:32 ./app

  # A tool's launch script: every process gets the tool first in PATH and
  # LD_LIBRARY_PATH, and the ranks also get its LD_PRELOAD.
  envtrack-inject --prepend PATH=/opt/tool/bin --prepend LD_LIBRARY_PATH=/opt/tool/lib \\
      --app-prepend LD_PRELOAD=/opt/tool/lib/libhook.so -- mpiexec.hydra -n 4 ./app

  # Batch systems: export on the submit side, apply on the worker.
  envtrack-inject export -o job-env.json
  envtrack-inject apply --snapshot job-env.json -- ./worker";

/// Carry environment changes through processes and launchers.
#[derive(Parser, Debug)]
#[command(
    name = "envtrack-inject",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Sub>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Sub {
    /// Apply a snapshot and directives here, then run COMMAND with tracking active.
    #[command(
        after_help = "Examples:\n  envtrack-inject apply --snapshot job-env.json -- ./worker\n  ssh node 'envtrack-inject apply --snapshot - -- ./worker' < job-env.json\n  envtrack-inject apply --snapshot job-env.json --print-env | tr '\\0' '\\n'"
    )]
    Apply(Box<ApplyArgs>),
    /// Write the snapshot this process inherited, values included, as JSON.
    #[command(
        after_help = "Examples:\n  envtrack-inject export -o job-env.json   # created with mode 0600\n  # In a batch script run without the library: what it exported since it started.\n  envtrack-inject export --base /proc/$$/environ -o job-env.json"
    )]
    Export {
        /// Write to FILE (created with mode 0600) instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Outside a tracked process, write an empty snapshot instead of failing.
        #[arg(long)]
        allow_untracked: bool,
        /// Also export what this environment changed against FILE (NAME=VALUE entries, each ended
        /// by a NUL byte, as /proc/PID/environ; - for standard input), as if the library had seen it.
        #[arg(long, value_name = "FILE")]
        base: Option<PathBuf>,
        /// With --base: compare this environment instead of this process's (NAME=VALUE entries,
        /// each ended by a NUL byte; - for standard input), for values the kernel would not pass.
        #[arg(long, value_name = "FILE")]
        on: Option<PathBuf>,
    },
    /// Say what is tracked here: +NAME set, -NAME removed, ~NAME prepend/append.
    #[command(after_help = "Example:\n  envtrack-inject -- bash -c 'export A=1; envtrack-inject show'   # prints +A")]
    Show {
        /// The snapshot as JSON.
        #[arg(long)]
        json: bool,
        /// Show the values of secret-looking names (*TOKEN*, *SECRET*, *PASSWORD*, *KEY*) too.
        #[arg(long)]
        reveal: bool,
    },
    /// Check the setup: the library, glibc, each launcher and its flavor, remote hosts.
    #[command(after_help = "Example:\n  envtrack-inject doctor --hosts node1,node2")]
    Doctor {
        /// Also check that envtrack-inject is on these hosts (comma-separated), through ssh.
        #[arg(long, value_delimiter = ',', value_name = "HOSTS")]
        hosts: Vec<String>,
        /// The ssh command for --hosts.
        #[arg(long, default_value = "ssh", value_name = "COMMAND")]
        ssh: String,
        /// How long each host may take to answer, in seconds.
        #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        /// The libenvtrack.so to check (default: next to envtrack-inject, or in ../lib).
        #[arg(long, value_name = "PATH")]
        lib: Option<PathBuf>,
    },
}

/// What run and launch mode take.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub directives: DirectiveArgs,

    /// The libenvtrack.so to preload (default: next to envtrack-inject, or in ../lib).
    #[arg(long, value_name = "PATH")]
    pub lib: Option<PathBuf>,

    /// Where envtrack-inject is on the remote nodes (default: this one's path, as on a shared filesystem; also ENVTRACK_REMOTE_INJECT).
    #[arg(long, value_name = "PATH")]
    pub remote_inject: Option<PathBuf>,

    /// The argv[0] COMMAND gets (default: COMMAND as given). The library passes the one
    /// the program used when it routes an exec through envtrack-inject.
    #[arg(long, value_name = "NAME", hide = true)]
    pub argv0: Option<OsString>,

    /// The library found COMMAND by a PATH search (execvp): if it cannot be executed, the
    /// search goes on, as execvp's would.
    #[arg(long, hide = true)]
    pub searched: bool,

    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// What apply takes.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Launch mode's wrapper: the launcher was to forward a snapshot (say so if it did not).
    #[arg(long, hide = true)]
    pub carried: bool,

    /// Launch mode's wrapper: a name the launcher's command line set for this worker (its value stands).
    #[arg(long, hide = true, value_name = "NAME")]
    pub keep: Vec<OsString>,

    /// The snapshot to apply: a file from `export`, or - for standard input (default: the one the launcher forwarded, else the local one).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,

    #[command(flatten)]
    pub directives: DirectiveArgs,

    /// The libenvtrack.so to preload (default: next to envtrack-inject, or in ../lib).
    #[arg(long, value_name = "PATH")]
    pub lib: Option<PathBuf>,

    /// Run nothing: write the environment COMMAND would get to standard output, each NAME=VALUE
    /// ended by a NUL byte (as `env -0`), for a program that starts the worker itself.
    #[arg(long, conflicts_with = "command")]
    pub print_env: bool,

    /// With --print-env: apply on the environment in FILE (NAME=VALUE entries, each ended by a NUL
    /// byte, as /proc/PID/environ; - for standard input) instead of this process's.
    #[arg(long, value_name = "FILE")]
    pub on: Option<PathBuf>,

    /// With --print-env: the values alone, without envtrack's state and library (for workers
    /// envtrack does not track: their environment is set, nothing is preloaded).
    #[arg(long)]
    pub untracked: bool,

    /// The command to run, after `--`.
    #[arg(last = true, required_unless_present = "print_env", value_name = "COMMAND")]
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
