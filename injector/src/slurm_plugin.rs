//! What `envtrack-inject` and the Slurm plugin (`libenvtrack_spank.so`,
//! `spank/`) share: the plugin's name and options, how the snapshot travels
//! as an option value, and whether the plugin will carry a given `srun`'s
//! snapshot (launch mode then leaves the command line alone).
//!
//! The snapshot travels as the value of the plugin's `--envtrack-snapshot`
//! option, which srun sends to every slurmstepd in its launch request and
//! sbatch in the job's environment: never on a command line, whatever
//! `--export` says.

use std::path::Path;

use envtrack_model::json::base64;
use envtrack_model::{Directive, DirectiveSet, Environment, Op, Snapshot, Tracked, TrackedChange};

use crate::error::UsageError;

/// The plugin's name (`plugin_name`), which Slurm puts in its options' variables.
pub const PLUGIN: &str = "envtrack";
/// `--envtrack=on|off`: the user's switch.
pub const SWITCH_OPTION: &str = "envtrack";
/// `--envtrack-snapshot=…`: set by the plugin itself on the submitting side.
pub const SNAPSHOT_OPTION: &str = "envtrack-snapshot";
/// Set by the plugin in every task it applied a snapshot to: an `srun` inside
/// the step (or the batch script) is carried by the plugin too.
pub const ACTIVE_VAR: &str = "ENVTRACK_SPANK";
/// The longest option value carried: Slurm also puts it in the job's
/// environment (sbatch) and in the prolog's and epilog's, where the kernel
/// refuses any one string of 128 KiB or more (name included).
pub const MOST: usize = 120_000;

/// The variable Slurm keeps an option's value in between the submitting side
/// and the job (`_SLURM_SPANK_OPTION_<plugin>_<option>`, every character that
/// is not a letter or digit made `_`).
pub fn option_variable(option: &str) -> String {
    let canonical =
        |text: &str| -> String { text.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect() };
    format!("_SLURM_SPANK_OPTION_{}_{}", canonical(PLUGIN), canonical(option))
}

/// The variable srun, sbatch and salloc read an option's value from when the
/// command line does not give it (`SLURM_SPANK_` + [`option_variable`]).
pub fn submit_variable(option: &str) -> String {
    format!("SLURM_SPANK_{}", option_variable(option))
}

/// What the user's switch says: Some(true) on, Some(false) off.
pub fn switch(value: &[u8]) -> Option<bool> {
    match value.to_ascii_lowercase().as_slice() {
        b"on" | b"yes" | b"1" | b"always" => Some(true),
        b"off" | b"no" | b"0" | b"never" => Some(false),
        _ => None,
    }
}

/// What the plugin carries from the submitting process to each task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// The snapshot, as launch mode carries it ([`crate::launch_mode::travelling`]).
    pub snapshot: Snapshot,
    /// The submitting process's own value of each name the snapshot tracks (a
    /// set, or an unset where it has none): the value a task gets from a
    /// default `--export`. A task whose value differs was given it by Slurm
    /// (a GPU binding, a batch script's `HOSTNAME`) or by the command line
    /// (`--export=NAME=VALUE`), and keeps it.
    pub submitted: Snapshot,
}

impl Carried {
    /// What a process with environment `env` carries, with `directives` added.
    pub fn from_env(env: &Environment, directives: DirectiveSet) -> Result<Carried, UsageError> {
        let snapshot = crate::launch_mode::travelling(env, directives, &[])?;
        let mut submitted = Snapshot::default();
        for name in snapshot.tracked_names() {
            let directive = match env.get(name) {
                Some(value) => Directive::set(name, value),
                None => Directive::unset(name),
            };
            submitted.tracked.push(Tracked { name: name.to_vec(), change: TrackedChange::Carried(directive) });
        }
        Ok(Carried { snapshot, submitted })
    }

    /// The submitting process's value of `name`: None if it did not say,
    /// Some(None) if it had none.
    pub fn submitted_value(&self, name: &[u8]) -> Option<Option<&[u8]>> {
        self.submitted.tracked.iter().find(|t| t.name == name).and_then(|t| match &t.change {
            TrackedChange::Carried(directive) if directive.op == Op::Set => Some(Some(directive.value.as_slice())),
            TrackedChange::Carried(directive) if directive.op == Op::Unset => Some(None),
            _ => None,
        })
    }

    /// The option's value: the two snapshots' encodings in base64, joined by
    /// a dot. Err(length) when it is longer than [`MOST`].
    pub fn encode(&self) -> Result<String, usize> {
        let text = format!("{}.{}", base64::encode(&self.snapshot.encode()), base64::encode(&self.submitted.encode()));
        if text.len() > MOST {
            return Err(text.len());
        }
        Ok(text)
    }

    /// What an option value carries.
    pub fn decode(value: &[u8]) -> Result<Carried, UsageError> {
        let shown = format!("--{SNAPSHOT_OPTION}");
        let snapshot_of = |part: &[u8]| -> Result<Snapshot, UsageError> {
            let text = std::str::from_utf8(part).map_err(|_| UsageError::new(format!("{shown}: not base64")))?;
            let bytes = base64::decode(text).ok_or_else(|| UsageError::new(format!("{shown}: not base64")))?;
            Snapshot::decode(&bytes).map_err(|e| UsageError::new(format!("{shown}: {e}")))
        };
        let mut parts = value.splitn(2, |&b| b == b'.');
        let snapshot = snapshot_of(parts.next().unwrap_or_default())?;
        let submitted = match parts.next() {
            Some(part) => snapshot_of(part)?,
            None => Snapshot::default(),
        };
        Ok(Carried { snapshot, submitted })
    }
}

/// Whether the plugin carries what a process with environment `env` (and
/// `directives`) would carry through the `srun` at `srun`: inside a step or
/// batch script the plugin prepared ([`ACTIVE_VAR`]), or when srun lists the
/// plugin's options (`srun --help`, which loads the site's plugin stack). Not
/// when the user's `--envtrack=off` (or its variable) says so, nor when it is
/// too long for the plugin's option (launch mode's variables carry it).
pub fn carries(srun: &Path, args: &[std::ffi::OsString], env: &Environment, directives: &DirectiveSet) -> bool {
    let off = |value: &[u8]| switch(value) == Some(false);
    let said = switch_on_command_line(args);
    if said == Some(false) || (said.is_none() && env.get(submit_variable(SWITCH_OPTION).as_bytes()).is_some_and(off)) {
        return false;
    }
    if Carried::from_env(env, directives.clone()).map_or(true, |carried| carried.encode().is_err()) {
        return false;
    }
    if env.get(ACTIVE_VAR.as_bytes()).is_some() {
        return true;
    }
    // srun's help costs a few milliseconds; a site whose configuration does not name the
    // plugin is not asked. (Read wrongly, that only means rewriting, which the plugin leaves be.)
    if named_in_configuration(env) == Some(false) {
        return false;
    }
    crate::flavor::help_text(srun).is_some_and(|help| lists_options(&help))
}

/// The plugin's file name, as plugstack.conf names it.
const FILE_NAME: &str = "libenvtrack_spank";

/// Whether this machine's Slurm configuration names the plugin: Some(false)
/// when `slurm.conf` (`SLURM_CONF`, else `/etc/slurm/slurm.conf`), its
/// `PlugStackConfig` (else `plugstack.conf` beside it) and every file that
/// includes were read and name no plugin at all; None when that cannot be
/// told (a configless site, an unreadable file, an `Include` in slurm.conf
/// that may move PlugStackConfig, a pattern in a directory name, another
/// plugin's line, which may be envtrack's under another name).
fn named_in_configuration(env: &Environment) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let conf = match env.get(b"SLURM_CONF") {
        Some(path) => std::path::PathBuf::from(std::ffi::OsStr::from_bytes(path)),
        None => std::path::PathBuf::from("/etc/slurm/slurm.conf"),
    };
    let text = std::fs::read_to_string(&conf).ok()?;
    let mut plugstack = None;
    for line in text.lines().map(|line| line.split('#').next().unwrap_or_default().trim()) {
        if line.get(..7).is_some_and(|word| word.eq_ignore_ascii_case("include")) && !line.contains('=') {
            return None;
        }
        for (key, value) in line.split_whitespace().filter_map(|word| word.split_once('=')) {
            if key.eq_ignore_ascii_case("PlugStackConfig") {
                plugstack = Some(std::path::PathBuf::from(value));
            }
        }
    }
    let plugstack = plugstack.unwrap_or_else(|| conf.with_file_name("plugstack.conf"));
    names_plugin(&plugstack, 0)
}

/// Whether the plugstack file at `path`, or one it includes, names the plugin.
fn names_plugin(path: &Path, depth: usize) -> Option<bool> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        // No plugstack.conf: no plugins.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && depth == 0 => return Some(false),
        Err(_) => return None,
    };
    let mut other_plugins = false;
    for line in text.lines().map(|line| line.split('#').next().unwrap_or_default().trim()) {
        if line.contains(FILE_NAME) {
            return Some(true);
        }
        let Some(pattern) = line.strip_prefix("include").filter(|rest| rest.starts_with([' ', '\t'])) else {
            // Another plugin's line: it may be envtrack's under another name (a link).
            other_plugins |= !line.is_empty();
            continue;
        };
        if depth >= 8 {
            return None;
        }
        let pattern = path.parent().unwrap_or(Path::new("/")).join(pattern.trim());
        for included in matching_files(&pattern)? {
            if names_plugin(&included, depth + 1)? {
                return Some(true);
            }
        }
    }
    (!other_plugins).then_some(false)
}

/// The files a plugstack `include` pattern names: `*` and `?` in its last
/// component only (None for a pattern elsewhere, or an unreadable directory).
fn matching_files(pattern: &Path) -> Option<Vec<std::path::PathBuf>> {
    let name = pattern.file_name()?.to_str()?;
    let dir = pattern.parent()?;
    if dir.to_str()?.contains(['*', '?', '[']) || name.contains('[') {
        return None;
    }
    if !name.contains(['*', '?']) {
        return Some(vec![pattern.to_path_buf()]);
    }
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_str().is_some_and(|file| glob_matches(name.as_bytes(), file.as_bytes())))
        .map(|entry| entry.path())
        .collect();
    found.sort();
    Some(found)
}

/// Whether `text` matches the shell pattern `pattern` (`*`, `?`). Written
/// here for two wildcards rather than taking a glob crate for them.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => glob_matches(rest, text) || (!text.is_empty() && glob_matches(pattern, &text[1..])),
        (Some((b'?', rest)), Some((_, more))) => glob_matches(rest, more),
        (Some((p, rest)), Some((t, more))) if p == t => glob_matches(rest, more),
        _ => false,
    }
}

/// The last `--envtrack` value on srun's command line (in any component of a
/// heterogeneous step), read as srun reads it: Some(true) on, Some(false) off.
pub fn switch_on_command_line(args: &[std::ffi::OsString]) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let table = crate::launch::tables::table(crate::launch::tables::TableKind::Srun);
    let mut said = None;
    let mut rest = args;
    while let Ok(parsed) = table.read(rest) {
        for found in parsed.options.iter().filter(|found| found.spec.name() == format!("--{SWITCH_OPTION}")) {
            said = found.values.first().and_then(|value| switch(value.as_bytes())).or(said);
        }
        let program = &rest[parsed.operands..];
        match program.iter().position(|word| word.as_bytes() == b":") {
            Some(end) => rest = &program[end + 1..],
            None => break,
        }
    }
    said
}

/// Whether `srun --help` lists the plugin's options.
fn lists_options(help: &str) -> bool {
    help.lines().any(|line| line.trim_start().starts_with(&format!("--{SNAPSHOT_OPTION}=")))
}

/// For `doctor`: whether the srun at `srun` loads the plugin (true), and what to say.
pub fn status(srun: &Path) -> (bool, String) {
    let Some(help) = crate::flavor::help_text(srun) else {
        return (
            true,
            format!(
                "Slurm plugin: {} --help did not run; cannot tell whether it loads libenvtrack_spank.so",
                srun.display()
            ),
        );
    };
    if lists_options(&help) {
        return (
            true,
            "Slurm plugin: srun loads libenvtrack_spank.so; it carries the snapshot and srun's command line is left as written"
                .to_string(),
        );
    }
    // Slurm names a plugin it could not load (a missing file, another release's build).
    match help.lines().find(|line| line.contains("libenvtrack_spank")) {
        Some(line) => (false, format!("Slurm plugin: srun did not load libenvtrack_spank.so: {}", line.trim())),
        None => (
            true,
            "Slurm plugin: not loaded by srun (envtrack rewrites srun's command line instead; see the README's Slurm section)"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envtrack_model::Directive;

    #[test]
    fn variables_are_named_as_slurm_names_them() {
        assert_eq!(option_variable(SNAPSHOT_OPTION), "_SLURM_SPANK_OPTION_envtrack_envtrack_snapshot");
        assert_eq!(submit_variable(SWITCH_OPTION), "SLURM_SPANK__SLURM_SPANK_OPTION_envtrack_envtrack");
    }

    #[test]
    fn option_values_round_trip_and_are_bounded() {
        let env = Environment::from_pairs([("A", "1\n2"), ("PATH", "/opt/x:/usr/bin")]);
        let mut carried = Carried::from_env(&env, DirectiveSet::default()).unwrap();
        carried.snapshot.directives.job.push(Directive::set(b"A", b"1\n2"));
        carried.snapshot.carry_set(b"GONE", b"x");
        carried.submitted.carry_set(b"GONE", b"x");
        let decoded = Carried::decode(carried.encode().unwrap().as_bytes()).unwrap();
        assert_eq!(decoded, carried);
        assert_eq!(decoded.submitted_value(b"GONE"), Some(Some(&b"x"[..])));
        assert_eq!(decoded.submitted_value(b"OTHER"), None);
        carried.snapshot.directives.job.push(Directive::set(b"BIG", &vec![b'x'; MOST]));
        assert!(carried.encode().unwrap_err() > MOST);
        assert!(Carried::decode(b"ET1;garbage").is_err());
        assert!(Carried::decode(b"").is_err());
    }

    #[test]
    fn the_switch_on_srun_command_lines() {
        let words = |text: &str| text.split(' ').map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(switch_on_command_line(&words("-n 2 --envtrack=off prog --envtrack=on")), Some(false));
        assert_eq!(switch_on_command_line(&words("--envtrack off -n2 prog")), Some(false));
        assert_eq!(switch_on_command_line(&words("-n1 a : --envtrack=OFF b")), Some(false));
        assert_eq!(switch_on_command_line(&words("--envtrack-snapshot=x prog")), None);
        assert_eq!(switch_on_command_line(&words("prog")), None);
    }

    #[test]
    fn the_configuration_names_the_plugin_or_not() {
        let dir = std::env::temp_dir().join(format!("envtrack-slurm-conf-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("plugstack.d")).unwrap();
        let conf = dir.join("slurm.conf");
        let env = Environment::from_pairs([("SLURM_CONF", conf.to_str().unwrap())]);
        assert_eq!(named_in_configuration(&env), None, "no slurm.conf");
        std::fs::write(&conf, "ClusterName=x\n").unwrap();
        assert_eq!(named_in_configuration(&env), Some(false), "no plugstack.conf");
        std::fs::write(dir.join("plugstack.conf"), "# optional /x/libenvtrack_spank.so\ninclude plugstack.d/*.conf\n")
            .unwrap();
        assert_eq!(named_in_configuration(&env), Some(false), "commented out");
        std::fs::write(dir.join("plugstack.d/10-envtrack.conf"), "optional /x/libenvtrack_spank.so carry=always\n")
            .unwrap();
        assert_eq!(named_in_configuration(&env), Some(true), "included");
        let other = dir.join("other.conf");
        std::fs::write(&other, "\n# nothing\n").unwrap();
        std::fs::write(&conf, format!("ClusterName=x PlugStackConfig={}\n", other.display())).unwrap();
        assert_eq!(named_in_configuration(&env), Some(false), "PlugStackConfig");
        // Another plugin's line may be envtrack's plugin under another name.
        std::fs::write(&other, "required /y/site-envtrack.so\n").unwrap();
        assert_eq!(named_in_configuration(&env), None, "another plugin");
        std::fs::write(&conf, "Include /etc/slurm/more.conf\n").unwrap();
        assert_eq!(named_in_configuration(&env), None, "an Include may set PlugStackConfig");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(glob_matches(b"*.conf", b"10-envtrack.conf"));
        assert!(!glob_matches(b"*.conf", b"x.conf.bak"));
        assert!(glob_matches(b"a?c*", b"abc"));
    }

    #[test]
    fn the_switch() {
        assert_eq!(switch(b"OFF"), Some(false));
        assert_eq!(switch(b"on"), Some(true));
        assert_eq!(switch(b"maybe"), None);
    }
}
