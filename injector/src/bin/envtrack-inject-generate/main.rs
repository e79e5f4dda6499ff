//! `envtrack-inject-generate`: writes envtrack-inject's manual pages and shell
//! completions, generated from its command line's definition, for packaging
//! (`scripts/install.sh`). A program of its own, and not part of the library
//! crate: envtrack-inject, which starts on every worker of a job, carries none
//! of it, and its code is optimised as before.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use clap_complete::Shell;

mod manual;

#[derive(ValueEnum, Clone, Copy, Debug)]
enum What {
    /// The manual pages, into DIR: envtrack-inject.1 and one per subcommand (envtrack-inject-apply.1, …).
    Man,
    /// The bash completions, on standard output.
    CompleteBash,
    /// The zsh completions, on standard output.
    CompleteZsh,
    /// The fish completions, on standard output.
    CompleteFish,
}

/// Write envtrack-inject's manual pages or a shell's completions.
#[derive(Parser, Debug)]
#[command(name = "envtrack-inject-generate", version)]
struct Args {
    /// What to write.
    #[arg(value_enum)]
    what: What,
    /// The directory for the manual pages (their paths are printed).
    #[arg(value_name = "DIR", required_if_eq("what", "man"))]
    dir: Option<PathBuf>,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut stdout = std::io::stdout().lock();
    let shell = match args.what {
        What::Man => {
            let dir = args.dir.expect("clap requires DIR for man");
            for path in manual::write_man_pages(&dir)? {
                use std::io::Write;
                writeln!(stdout, "{}", path.display())?;
            }
            return Ok(());
        }
        What::CompleteBash => Shell::Bash,
        What::CompleteZsh => Shell::Zsh,
        What::CompleteFish => Shell::Fish,
    };
    manual::write_completions(shell, &mut stdout);
    Ok(())
}
