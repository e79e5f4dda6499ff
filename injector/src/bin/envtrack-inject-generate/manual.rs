//! The manual pages and shell completions, generated from envtrack-inject's
//! command-line definition. Hidden options and subcommands stay out of both.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{roman, Roff};

use envtrack_inject::cli::Cli;

const NAME: &str = "envtrack-inject";

/// The manual's text beyond each command's one-line summary: its description.
fn description(command: &str) -> &'static str {
    match command {
        NAME => {
            "\
envtrack records the environment variables a program changes and carries them, with directives \
such as \"prepend /opt/tool/lib to LD_LIBRARY_PATH\", into every child and through every launcher \
to every remote worker. It is an LD_PRELOAD library, libenvtrack.so, and this injector.

Run mode (COMMAND is not a launcher): runs COMMAND under libenvtrack.so with the directives applied \
(job level, then app level: COMMAND is the application) and handed on. Every process under COMMAND \
is tracked: what it sets, prepends or removes reaches its children, whichever way they are started.

Launch mode (COMMAND is mpirun, mpiexec, orterun, prterun, mpiexec.hydra, mpirun.mpich, \
mpiexec.mpich, srun, ssh or pdsh, or names one of them through a symlink): the launch is rewritten \
so that the tracked changes, with their values, and the directives reach every worker before its \
program starts (each worker runs envtrack-inject apply, at this envtrack-inject's path unless \
--remote-inject says otherwise). A tracked program's exec of a launcher is routed here by the library.

Without --lib, the library is the libenvtrack.so next to this executable, or in ../lib from it (the \
executable's real path: a symlink to it elsewhere finds the same library). LD_PRELOAD cannot name a \
path containing ':' or a space. The library, in turn, routes launchers through the envtrack-inject \
next to it or in ../bin from it (ENVTRACK_INJECT names another): an installed tree \
(PREFIX/bin/envtrack-inject, PREFIX/lib/libenvtrack.so) works wherever it is."
        }
        "apply" => {
            "\
On a worker's node: takes the snapshot a launcher forwarded (or --snapshot FILE, - for standard \
input, else the state this process inherited), applies it and the directives against this node's \
own environment (PATH-like changes extend the node's value) and runs COMMAND under libenvtrack.so \
with tracking active, so that a worker that launches again passes everything on.

With export, the way through batch systems and anything the launch modes do not cover."
        }
        "export" => {
            "\
Writes the snapshot this process inherited (its tracked changes, values included, and directives) \
as JSON, for apply --snapshot on another node. A file given with -o is created with mode 0600, \
never through a symlink."
        }
        "show" => {
            "\
Prints +NAME for a variable set, -NAME for one removed, ~NAME with the operation for list changes, \
then the directives. Values of secret-looking names (containing TOKEN, SECRET, PASSWORD, PASSWD, \
KEY or CREDENTIAL, or matching ENVTRACK_REDACT) show as <redacted> unless --reveal."
        }
        "doctor" => {
            "\
Checks that the library loads, the C library's version, each launcher on PATH and what it says it \
is, and with --hosts that envtrack-inject is at the same path on each host (through ssh). Prints \
one line per check; the exit status is 1 when one failed."
        }
        _ => "",
    }
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success (for run and launch mode and apply: COMMAND's own status, as it replaces envtrack-inject)."),
    ("1", "doctor: a check failed."),
    (
        "2",
        "a usage error or bad input, COMMAND not run: an unknown option or directive, a malformed \
         snapshot or directive file, a launcher not on PATH, the library not found.",
    ),
    ("127", "COMMAND could not be run."),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("ENVTRACK", "off (also 0, no, false): envtrack is off in this process and its subtree."),
    ("ENVTRACK_STATE", "the snapshot this process inherited (written by envtrack)."),
    ("ENVTRACK_LISTS", "more list variables: NAME[=SEP],… (MY_PATH,SEMI_LIST=;)."),
    ("ENVTRACK_REMOTE_INJECT", "where envtrack-inject is on the remote nodes (as --remote-inject)."),
    ("ENVTRACK_LOG", "a directory: one JSON-lines log per process, secret-looking values redacted."),
    ("ENVTRACK_REDACT", "more names (NAME,PREFIX*,…) whose values show and the logs hide."),
];

/// Writes the manual pages into `dir`: the command's and one per visible
/// subcommand. Returns their paths.
pub fn write_man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = vec![page(&command, None)?];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(page(sub, Some(&command))?);
    }
    let mut written = Vec::new();
    for (name, text) in pages {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// `command`'s manual page, and its name (`envtrack-inject-apply` for a
/// subcommand of `parent`).
fn page(command: &Command, parent: Option<&Command>) -> io::Result<(String, Vec<u8>)> {
    let name = match parent {
        None => NAME.to_string(),
        Some(_) => format!("{NAME}-{}", command.get_name()),
    };
    let mut described = command.clone().display_name(name.clone()).subcommand_value_name("SUBCOMMAND");
    // The synopsis as --help gives it (clap_mangen's own lists every flag and puts COMMAND
    // before the subcommands, without its `--`).
    let usage = described.render_usage().to_string();
    let usage: Vec<&str> = usage.lines().map(|l| l.trim_start_matches("Usage:").trim()).collect();
    described = described.override_usage(usage.join("\n"));
    let text = description(parent.map_or(NAME, |_| command.get_name()));
    if !text.is_empty() {
        described = described.long_about(text);
    }
    let source = format!("{NAME} {}", env!("CARGO_PKG_VERSION"));
    let man = Man::new(described).title(name.clone()).date(date()).source(source).manual("User Commands");
    let mut sections: Vec<Vec<u8>> = Vec::new();
    let mut render = |f: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| -> io::Result<()> {
        let mut chunk = Vec::new();
        f(&mut chunk)?;
        sections.push(chunk);
        Ok(())
    };
    render(&|w| man.render_title(w))?;
    render(&|w| man.render_name_section(w))?;
    render(&|w| man.render_synopsis_section(w))?;
    render(&|w| man.render_description_section(w))?;
    render(&|w| man.render_options_section(w))?;
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        render(&|w| man.render_subcommands_section(w))?;
    }
    let mut own = Roff::new();
    if parent.is_none() {
        definitions(&mut own, "EXIT STATUS", EXIT_STATUS);
        definitions(&mut own, "ENVIRONMENT", ENVIRONMENT);
    }
    if let Some(examples) = command.get_after_help() {
        own.control("SH", ["EXAMPLES"]);
        own.control("RS", ["4"]);
        own.control("nf", []);
        let examples = examples.to_string();
        for line in examples.lines().skip_while(|l| l.starts_with("Example")) {
            own.text([roman(line)]);
        }
        own.control("fi", []);
        own.control("RE", []);
    }
    own.control("SH", ["SEE ALSO"]);
    let see_also: Vec<String> = match parent {
        None => command
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| format!("{NAME}-{}(1)", s.get_name()))
            .chain(["ld.so(8)".to_string()])
            .collect(),
        Some(parent) => std::iter::once(format!("{NAME}(1)"))
            .chain(
                parent
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set() && s.get_name() != command.get_name())
                    .map(|s| format!("{NAME}-{}(1)", s.get_name())),
            )
            .collect(),
    };
    own.text([roman(see_also.join(", "))]);
    let mut chunk = Vec::new();
    own.to_writer(&mut chunk)?;
    sections.push(chunk);
    Ok((name, assemble(sections)))
}

/// The pages' date, YYYY-MM-DD: SOURCE_DATE_EPOCH's (a reproducible build's), else today's.
fn date() -> String {
    let seconds =
        std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
        });
    // Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days).
    let z = (seconds / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A section of `.TP` definitions.
fn definitions(roff: &mut Roff, heading: &str, items: &[(&str, &str)]) {
    roff.control("SH", [heading]);
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([roff::bold(*term)]);
        roff.text([roman(*text)]);
    }
}

/// The page from its sections, each rendered with roff's definition of the
/// apostrophe string: `.TH` first, then that definition once.
fn assemble(sections: Vec<Vec<u8>>) -> Vec<u8> {
    let preamble = Roff::new().render().into_bytes();
    let mut page = Vec::new();
    for (i, section) in sections.into_iter().enumerate() {
        let body = section.strip_prefix(preamble.as_slice()).unwrap_or(&section);
        page.extend_from_slice(body);
        if i == 0 {
            page.extend_from_slice(&preamble);
            // Command and option names are not hyphenated.
            page.extend_from_slice(b".nh\n");
        }
    }
    page
}

/// Writes `shell`'s completions for envtrack-inject to `out`.
pub fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut command = visible(&Cli::command()).version(env!("CARGO_PKG_VERSION"));
    clap_complete::generate(shell, &mut command, NAME, out);
}

/// `command` without its hidden options and subcommands (clap_complete
/// completes every one it is given).
fn visible(command: &Command) -> Command {
    // Names are 'static in clap without its `string` feature; this runs once, to print.
    let name: &'static str = Box::leak(command.get_name().to_owned().into_boxed_str());
    let mut out = Command::new(name)
        .args(command.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(command.get_subcommands().filter(|s| !s.is_hide_set()).map(visible))
        .args_conflicts_with_subcommands(command.is_args_conflicts_with_subcommands_set())
        .subcommand_negates_reqs(command.is_subcommand_negates_reqs_set());
    if let Some(about) = command.get_about() {
        out = out.about(about.clone());
    }
    out
}
