//! The release tarball (`scripts/dist.sh`) and `scripts/install.sh`: the
//! layout, the portable binaries' needs, the unpacked tree working wherever it
//! is (run mode, a symlink to the injector, the library routing through
//! `../bin`, doctor), the manual pages and completions against the command
//! line's definition, and the Lmod example.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use clap::CommandFactory;
use envtrack_inject::cli::Cli;
use envtrack_tests::{command_with_env, injector, output, scratch, success, workspace};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the tree holds: path (directories end in '/') and mode.
fn expected_layout() -> BTreeMap<String, u32> {
    let mut layout = BTreeMap::new();
    for dir in [
        "",
        "bin/",
        "lib/",
        "share/",
        "share/man/",
        "share/man/man1/",
        "share/bash-completion/",
        "share/bash-completion/completions/",
        "share/zsh/",
        "share/zsh/site-functions/",
        "share/fish/",
        "share/fish/vendor_completions.d/",
    ] {
        layout.insert(dir.to_string(), 0o755);
    }
    layout.insert("bin/envtrack-inject".into(), 0o755);
    for file in [
        "lib/libenvtrack.so",
        "lib/libenvtrack_spank.so",
        "share/bash-completion/completions/envtrack-inject",
        "share/zsh/site-functions/_envtrack-inject",
        "share/fish/vendor_completions.d/envtrack-inject.fish",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
        "CHANGELOG.md",
    ] {
        layout.insert(file.into(), 0o644);
    }
    for page in man_page_names() {
        layout.insert(format!("share/man/man1/{page}"), 0o644);
    }
    layout
}

/// envtrack-inject.1 and one page per visible subcommand.
fn man_page_names() -> Vec<String> {
    std::iter::once("envtrack-inject.1".to_string())
        .chain(visible_subcommands().iter().map(|s| format!("envtrack-inject-{s}.1")))
        .collect()
}

fn visible_subcommands() -> Vec<String> {
    Cli::command().get_subcommands().filter(|s| !s.is_hide_set()).map(|s| s.get_name().to_string()).collect()
}

/// `--NAME` of every visible option of `command` (`None`: the top level), and of every hidden one anywhere.
fn long_options(subcommand: Option<&str>, hidden: bool) -> Vec<String> {
    let top = Cli::command();
    let commands: Vec<&clap::Command> = match (subcommand, hidden) {
        (_, true) => std::iter::once(&top).chain(top.get_subcommands()).collect(),
        (None, false) => vec![&top],
        (Some(name), false) => vec![top.find_subcommand(name).expect("a subcommand")],
    };
    commands
        .into_iter()
        .flat_map(|c| c.get_arguments().filter(|a| a.is_hide_set() == hidden).filter_map(|a| a.get_long()))
        .map(|long| format!("--{long}"))
        .collect()
}

struct Dist {
    tarball: PathBuf,
    /// The tarball's one top folder, unpacked.
    tree: PathBuf,
}

/// `scripts/dist.sh`, run once (the portable build is cargo's, cached), and its tarball unpacked.
fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        let out = success(Command::new(workspace().join("scripts/dist.sh")).env_remove("SOURCE_DATE_EPOCH"));
        let tarball = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let name = format!("envtrack-{VERSION}-x86_64-linux-gnu");
        assert_eq!(tarball, workspace().join("dist").join(format!("{name}.tar.gz")));
        let dir = scratch("dist-unpacked");
        success(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&dir));
        Dist { tarball, tree: dir.join(name) }
    })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tree's paths relative to `root` (directories ending in '/', the root as "") and modes.
fn walk(root: &Path) -> BTreeMap<String, u32> {
    fn visit(root: &Path, dir: &Path, into: &mut BTreeMap<String, u32>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mut name = path.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if meta.is_dir() {
                name.push('/');
                visit(root, &path, into);
            }
            into.insert(name, meta.permissions().mode() & 0o7777);
        }
    }
    let mut tree = BTreeMap::new();
    tree.insert(String::new(), std::fs::metadata(root).unwrap().permissions().mode() & 0o7777);
    visit(root, root, &mut tree);
    tree
}

/// A mode from `tar -tv`'s `drwxr-xr-x`.
fn mode_of(permissions: &str) -> u32 {
    permissions[1..].bytes().fold(0, |mode, c| (mode << 1) | u32::from(c != b'-'))
}

#[test]
fn the_tarball_has_one_top_folder_with_the_layout_owned_by_root_at_one_time() {
    let dist = dist();
    let out = success(Command::new("tar").args(["--numeric-owner", "--full-time", "-tvzf"]).arg(&dist.tarball));
    let top = format!("envtrack-{VERSION}-x86_64-linux-gnu/");
    let mut listed = BTreeMap::new();
    let mut times = std::collections::BTreeSet::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [permissions, owner, _size, day, time, name] = fields[..] else { panic!("a tar -tv line: {line}") };
        assert_eq!(owner, "0/0", "{name}");
        let relative = name.strip_prefix(&top).unwrap_or_else(|| panic!("{name} is outside {top}"));
        listed.insert(relative.to_string(), mode_of(permissions));
        times.insert(format!("{day} {time}"));
    }
    assert_eq!(listed, expected_layout());
    assert_eq!(times.len(), 1, "one mtime for every entry: {times:?}");
    // Unpacked (as the user running the tests), the same tree.
    assert_eq!(walk(&dist.tree), expected_layout());
}

#[test]
fn the_binaries_need_glibc_2_17_at_most_and_no_relr() {
    let tree = &dist().tree;
    let check = workspace().join("scripts/build-portable.sh");
    let out = success(
        Command::new(&check).arg("--check").arg("bin/envtrack-inject").arg("lib/libenvtrack.so").current_dir(tree),
    );
    assert!(out.stdout.is_empty(), "--check prints nothing on stdout");
    // The check fails where it should: the native build packs its relocations (DT_RELR).
    let out = output(Command::new(&check).arg("--check").arg(injector()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("DT_RELR"), "the native build passed the check: {stderr}");
}

/// `envtrack-inject --set X=… -- printenv X LD_PRELOAD` run as `program` with a clean environment.
fn printenv_through(program: &Path, path: &str) -> String {
    let mut command = command_with_env(program, [format!("PATH={path}"), "HOME=/root".into()]);
    command.args(["--set", "X=from-the-tarball", "--", "printenv", "X", "LD_PRELOAD"]);
    String::from_utf8(success(&mut command).stdout).unwrap()
}

#[test]
fn run_mode_from_the_unpacked_tree_preloads_its_own_library() {
    let tree = &dist().tree;
    let library = tree.join("lib/libenvtrack.so").canonicalize().unwrap();
    let expected = format!("from-the-tarball\n{}\n", library.display());
    assert_eq!(printenv_through(&tree.join("bin/envtrack-inject"), "/usr/bin:/bin"), expected);

    // Through a symlink elsewhere, found on PATH: the library is still the tree's.
    let elsewhere = scratch("dist-symlink");
    std::os::unix::fs::symlink(tree.join("bin/envtrack-inject"), elsewhere.join("envtrack-inject")).unwrap();
    let path = format!("{}:/usr/bin:/bin", elsewhere.display());
    let mut command = command_with_env("/bin/sh", [format!("PATH={path}"), "HOME=/root".into()]);
    command.args(["-c", "envtrack-inject --set X=from-the-tarball -- printenv X LD_PRELOAD"]);
    assert_eq!(String::from_utf8(success(&mut command).stdout).unwrap(), expected);
    assert_eq!(printenv_through(&elsewhere.join("envtrack-inject"), "/usr/bin:/bin"), expected);
}

#[test]
fn the_unpacked_library_routes_through_the_injector_in_its_bin() {
    let tree = &dist().tree;
    let log = scratch("dist-route-log");
    let library = tree.join("lib/libenvtrack.so");
    let mut command = command_with_env(
        "/bin/bash",
        [
            "PATH=/usr/bin:/bin".to_string(),
            "HOME=/root".into(),
            format!("LD_PRELOAD={}", library.display()),
            "ENVTRACK_AUTOWRAP=printenv".into(),
            format!("ENVTRACK_LOG={}", log.display()),
        ],
    );
    command.args(["-c", "export X=routed; printenv X"]);
    let out = success(&mut command);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "routed\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("cannot route"), "{stderr}");
    // The injector logged the routed run: the library found it in ../bin.
    let records: Vec<serde_json::Value> = std::fs::read_dir(&log)
        .unwrap()
        .flat_map(|e| read(&e.unwrap().path()).lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<_>>())
        .collect();
    assert!(
        records.iter().any(|r| r["event"] == "run" && r["program"].as_str().is_some_and(|p| p.ends_with("printenv"))),
        "no routed run in the log: {records:?}"
    );
}

#[test]
fn doctor_from_the_unpacked_tree_finds_and_loads_its_library() {
    let tree = &dist().tree;
    let library = tree.join("lib/libenvtrack.so").canonicalize().unwrap();
    let mut command = command_with_env(tree.join("bin/envtrack-inject"), ["PATH=/usr/bin:/bin", "HOME=/root"]);
    command.arg("doctor");
    let out = output(&mut command);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = format!("ok   library {} loads into /bin/true", library.display());
    assert!(stdout.lines().any(|l| l == line), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("ok   glibc ")), "{stdout}");
}

/// A manual page as `man` shows it, and what it said on stderr (its warnings included).
fn rendered(page: &Path) -> (String, String) {
    let out = output(Command::new("man").args(["--warnings=all", "-l"]).arg(page).env("MANWIDTH", "200"));
    assert!(out.status.success(), "man -l {}: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn the_manual_pages_cover_every_visible_subcommand_and_option_and_no_hidden_one() {
    let man1 = dist().tree.join("share/man/man1");
    let subcommands = visible_subcommands();
    assert!(subcommands.len() >= 4, "{subcommands:?}");
    for (page, subcommand) in std::iter::once(("envtrack-inject".to_string(), None))
        .chain(subcommands.iter().map(|s| (format!("envtrack-inject-{s}"), Some(s.as_str()))))
    {
        let path = man1.join(format!("{page}.1"));
        let source = read(&path);
        assert!(source.starts_with(&format!(".TH {page} 1 ")), "{page}: {}", source.lines().next().unwrap_or_default());
        let (text, warnings) = rendered(&path);
        assert!(warnings.is_empty(), "{page}: {warnings}");
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SEE ALSO"] {
            assert!(text.lines().any(|l| l == section), "{page} has no {section} section:\n{text}");
        }
        let synopsis = match subcommand {
            None => "envtrack-inject [OPTIONS] -- <COMMAND>...".to_string(),
            Some(s) => format!("envtrack-inject {s} "),
        };
        assert!(text.contains(&synopsis), "{page}: {synopsis}\n{text}");
        for option in long_options(subcommand, false) {
            assert!(text.contains(&option), "{page} does not mention {option}");
        }
        for option in long_options(None, true) {
            assert!(
                !source.contains(&option.replace('-', "\\-")) && !text.contains(&option),
                "{page} shows hidden {option}"
            );
        }
        if subcommand.is_none() {
            for s in &subcommands {
                assert!(text.contains(&format!("envtrack-inject-{s}(1)")), "the main page does not name {s}");
            }
            for section in ["EXIT STATUS", "ENVIRONMENT", "EXAMPLES"] {
                assert!(text.lines().any(|l| l == section), "no {section} section");
            }
        }
    }
}

#[test]
fn the_completions_offer_every_visible_subcommand_and_option_and_no_hidden_one() {
    let share = dist().tree.join("share");
    let files = [
        ("bash", share.join("bash-completion/completions/envtrack-inject")),
        ("zsh", share.join("zsh/site-functions/_envtrack-inject")),
        ("fish", share.join("fish/vendor_completions.d/envtrack-inject.fish")),
    ];
    for (shell, file) in &files {
        success(Command::new(shell).arg("-n").arg(file));
        let text = read(file);
        // How each script names an option.
        let named = |option: &str| match *shell {
            "fish" => format!("-l {} ", &option[2..]),
            _ => option.to_string(),
        };
        for s in visible_subcommands() {
            assert!(text.contains(&s), "{shell}: no {s}");
            for option in long_options(Some(&s), false) {
                assert!(text.contains(&named(&option)), "{shell}: no {option} for {s}");
            }
        }
        for option in long_options(None, false) {
            assert!(text.contains(&named(&option)), "{shell}: no {option}");
        }
        for option in long_options(None, true) {
            assert!(!text.contains(&named(&option)), "{shell} completes hidden {option}");
        }
    }
    // What bash and fish actually offer after `envtrack-inject `.
    let bash_text = read(&files[0].1);
    let function = bash_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("complete -F ")?.split_whitespace().next())
        .expect("the bash script registers a completion function");
    let bash = format!(
        "source {}; COMP_WORDS=(envtrack-inject ''); COMP_CWORD=1; COMP_LINE='envtrack-inject '; \
         COMP_POINT=${{#COMP_LINE}}; {function} envtrack-inject '' envtrack-inject; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        files[0].1.display()
    );
    let fish = format!("source {}; complete -C 'envtrack-inject '", files[2].1.display());
    for (shell, script) in [("bash", bash), ("fish", fish)] {
        let out = success(Command::new(shell).arg("-c").arg(&script).current_dir("/"));
        let offered: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect();
        for s in visible_subcommands() {
            assert!(offered.contains(&s), "{shell} does not offer {s}: {offered:?}");
        }
    }
}

#[test]
fn install_sh_lays_out_the_tarballs_tree_and_says_how_to_use_it() {
    let tree = &dist().tree;
    let dir = scratch("dist-install");
    let prefix = dir.join("envtrack");
    let out = success(Command::new(workspace().join("scripts/install.sh")).arg(&prefix));
    assert_eq!(walk(&prefix), walk(tree));
    for file in ["bin/envtrack-inject", "lib/libenvtrack.so"] {
        assert_eq!(std::fs::read(prefix.join(file)).unwrap(), std::fs::read(tree.join(file)).unwrap(), "{file}");
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!("export PATH={}/bin:$PATH", prefix.display())), "{stdout}");
    assert!(stdout.contains(&format!("export LD_PRELOAD={}/lib/libenvtrack.so", prefix.display())), "{stdout}");
    assert!(stdout.contains("  bin/envtrack-inject\n"), "{stdout}");

    // man finds the pages from PATH alone (man-db looks in ../share/man beside each PATH entry).
    let mut command = command_with_env("man", [format!("PATH={}/bin:/usr/bin:/bin", prefix.display())]);
    command.args(["-w", "envtrack-inject-apply"]);
    let found = String::from_utf8(success(&mut command).stdout).unwrap();
    assert_eq!(found.trim(), prefix.join("share/man/man1/envtrack-inject-apply.1").to_str().unwrap());

    // A prefix LD_PRELOAD could not name is refused, and nothing is written.
    for bad in ["with space", "with:colon"] {
        let target = dir.join(bad);
        let out = output(Command::new(workspace().join("scripts/install.sh")).arg(&target));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("LD_PRELOAD cannot name"), "{bad}: {stderr}");
        assert!(!target.exists(), "{bad}: something was installed");
    }
}

#[test]
fn the_lmod_example_puts_the_tree_on_path_manpath_and_ld_preload() {
    let tree = &dist().tree;
    let init = Path::new("/usr/share/lmod/lmod/init/bash");
    assert!(init.exists(), "Lmod is missing: install the lmod package (scripts/install-deps.sh)");
    let example = read(&workspace().join(format!("examples/modulefiles/envtrack/{VERSION}.lua")));
    let root_lines: Vec<&str> = example.lines().filter(|l| l.starts_with("local root = ")).collect();
    assert_eq!(root_lines.len(), 1, "the example sets root in one line");
    let modulefiles = scratch("dist-lmod");
    std::fs::create_dir(modulefiles.join("envtrack")).unwrap();
    let site = example.replace(root_lines[0], &format!("local root = \"{}\"", tree.display()));
    std::fs::write(modulefiles.join(format!("envtrack/{VERSION}.lua")), site).unwrap();

    let script = format!(
        "source {init}; module use {modulefiles}; module load envtrack || exit 1
         printf 'PATH=%s\\nLD_PRELOAD=%s\\nMANPATH=%s\\nXDG_DATA_DIRS=%s\\n' \"$PATH\" \"$LD_PRELOAD\" \"$MANPATH\" \"$XDG_DATA_DIRS\"
         echo \"version=$(envtrack-inject --version)\"
         echo \"man=$(man -w envtrack-inject)\"
         # The preload is on: a variable this shell's child exports survives env -i.
         echo \"tracked=$(bash -c 'export X=yes; env -i /usr/bin/printenv X')\"
         module unload envtrack
         echo \"unloaded=${{LD_PRELOAD-unset}} ${{PATH}}\"",
        init = init.display(),
        modulefiles = modulefiles.display()
    );
    let mut command = command_with_env("/bin/bash", ["PATH=/usr/bin:/bin", "HOME=/root", "TERM=dumb"]);
    command.args(["--noprofile", "--norc", "-c", &script]);
    let stdout = String::from_utf8(success(&mut command).stdout).unwrap();
    let values: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let tree = tree.display();
    let expected = [
        ("PATH", format!("{tree}/bin:/usr/bin:/bin")),
        ("LD_PRELOAD", format!("{tree}/lib/libenvtrack.so")),
        // Unset, XDG_DATA_DIRS meant these two: they stay after envtrack's.
        ("XDG_DATA_DIRS", format!("{tree}/share:/usr/local/share:/usr/share")),
        ("version", format!("envtrack-inject {VERSION}")),
        ("man", format!("{tree}/share/man/man1/envtrack-inject.1")),
        ("tracked", "yes".into()),
        ("unloaded", "unset /usr/bin:/bin".into()),
    ];
    for (name, value) in expected {
        assert_eq!(values.get(name).copied(), Some(value.as_str()), "{name}:\n{stdout}");
    }
    // An empty element keeps man-db's default directories searched.
    let manpath: Vec<&str> = values["MANPATH"].split(':').collect();
    assert!(manpath[0] == format!("{tree}/share/man") && manpath.contains(&""), "{stdout}");
}
