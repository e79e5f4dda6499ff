//! What each fuzz target checks. The AFL++ targets (`fuzz/src/bin/`) and the
//! regression tests (`tests/tests/fuzz_regressions.rs`, which replay every
//! input in `fuzz/regressions/`) call the same functions; a check that fails
//! panics.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use envtrack_inject::flavor::Launcher;
use envtrack_inject::launch::{self, tables, Context};
use envtrack_model::json::{directive_set_to_json, parse_directive_file, parse_snapshot_json, snapshot_to_json};
use envtrack_model::{diff, Environment, Registry, Snapshot};

/// The snapshot decoder: never panics; what it accepts re-encodes to the same snapshot.
pub fn snapshot_decode(data: &[u8]) {
    if let Ok(snapshot) = Snapshot::decode(data) {
        assert_eq!(Snapshot::decode(&snapshot.encode()).as_ref(), Ok(&snapshot));
    }
}

/// The directive-file and snapshot JSON parsers: never panic; what they accept
/// survives being written and read back.
pub fn directive_file(data: &[u8]) {
    let mut registry = Registry::builtin();
    if let Ok(file) = parse_directive_file(data, &mut registry) {
        let text = directive_set_to_json(&file.directives);
        let again = parse_directive_file(text.as_bytes(), &mut registry.clone()).expect("our own output parses");
        assert_eq!(again.directives, file.directives);
    }
    if let Ok(snapshot) = parse_snapshot_json(data, &Registry::builtin()) {
        let text = snapshot_to_json(&snapshot);
        assert_eq!(parse_snapshot_json(text.as_bytes(), &Registry::builtin()).as_ref(), Ok(&snapshot));
    }
}

/// Diff then apply: from any old value to any new one (bytes without NUL,
/// split out of the input at its first NUL), the diff applied to the old value
/// gives the new one, for a list variable and a plain one.
pub fn diff_apply(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let old = parts.next().unwrap_or_default();
    let new = parts.next();
    let absent_old = parts.next().is_some_and(|p| p.first() == Some(&1));
    let old = (!absent_old).then_some(old);
    for name in [&b"PATH"[..], b"PLAIN"] {
        let directives = diff(name, old, new, &Registry::builtin());
        let mut env = Environment::new();
        if let Some(old) = old {
            env.set(name, old);
        }
        env.apply_all(&directives);
        assert_eq!(env.get(name), new, "{:?}", directives);
    }
}

/// The launchers' command-line rewriting: any arguments (NUL-separated in the
/// input) are rewritten, left as they are, or refused with a message, never a
/// panic; a rewrite runs every program it found through the wrapper and never
/// loses an argument.
pub fn launcher_rewrite(data: &[u8]) {
    let args: Vec<OsString> = data.split(|&b| b == 0).map(|a| OsString::from_vec(a.to_vec())).collect();
    let transport = vec!["ENVTRACK_REMOTE_PARTS".to_string(), "ENVTRACK_REMOTE_0".to_string()];
    for table in tables::ALL {
        let flavor = table.flavor();
        let launcher = Launcher { flavor, table, identity: String::new(), default_rcmd: Some("ssh".into()) };
        let mut env = Environment::from_pairs([("SLURM_EXPORT_ENV", "NONE")]);
        let mut context = Context {
            remote_injector: "/opt/envtrack/envtrack-inject".as_ref(),
            transport: &transport,
            env: &mut env,
            keep: &[],
        };
        if let Ok(out) = launch::rewrite(&launcher, &args, &mut context) {
            // A command line that starts nothing (`--help`, `-V`; ssh's `-N`, an empty or a
            // protocol server's command) is left exactly as it is. Otherwise: ssh and pdsh join
            // the remote command's words into one; the others keep every word.
            if out != args && !flavor.sends_through_ssh() {
                assert!(out.len() >= args.len(), "{flavor:?} lost arguments");
                assert!(
                    out.iter().any(|a| a == "/opt/envtrack/envtrack-inject"),
                    "{flavor:?} did not wrap the program"
                );
            }
        }
    }
}
