//! ssh itself reads the command line envtrack rewrites as it reads the user's: for every option
//! of ssh's (each letter of its option table, alone, glued to its value, grouped after a flag,
//! before and after the host, after `--`), `ssh -G` (which prints the configuration a command line
//! gives, and connects nowhere) prints the same for the original and the rewritten command line,
//! but for the SendEnv that envtrack adds.

use std::ffi::OsString;
use std::process::Command;

use envtrack_inject::flavor::Launcher;
use envtrack_inject::launch::tables::{table, TableKind};
use envtrack_inject::launch::{self, Context};
use envtrack_model::Environment;

/// A value ssh accepts for the option `letter` under `-G`.
fn value_for(letter: char) -> &'static str {
    match letter {
        'B' => "lo",
        'b' => "127.0.0.1",
        'c' => "aes128-ctr",
        'D' => "1080",
        'E' => "/dev/null",
        'e' => "~",
        'F' => "/dev/null",
        'I' => "/dev/null",
        'i' => "/dev/null",
        'J' => "jumphost",
        'L' => "1234:target:22",
        'l' => "someone",
        'm' => "hmac-sha2-256",
        'O' => "check",
        'o' => "Port=2200",
        'P' => "tag",
        'p' => "2222",
        'Q' => "cipher",
        'R' => "1235:target:22",
        'S' => "none",
        'W' => "target:22",
        'w' => "0:0",
        other => panic!("no value known for -{other}"),
    }
}

fn rewrite(args: &[String]) -> Vec<OsString> {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let mut env = Environment::new();
    let transport = vec!["LC_ENVTRACK_REMOTE_PARTS".to_string(), "LC_ENVTRACK_REMOTE_0".to_string()];
    let mut context = Context {
        remote_injector: "/opt/envtrack/bin/envtrack-inject".as_ref(),
        transport: &transport,
        env: &mut env,
        keep: &[],
    };
    let launcher = Launcher {
        flavor: TableKind::Ssh.flavor(),
        table: TableKind::Ssh,
        identity: String::new(),
        default_rcmd: None,
    };
    launch::rewrite(&launcher, &args, &mut context).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// What `ssh -G ARGS` prints, without SendEnv lines; and whether ssh accepted the command line.
fn configuration(args: &[OsString]) -> (bool, String) {
    let out = Command::new("ssh").arg("-G").args(args).env_clear().env("HOME", "/nonexistent").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("sendenv ")).collect();
    (out.status.success(), format!("{}\n{}", kept.join("\n"), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn ssh_reads_every_rewritten_option_as_the_original() {
    let table = table(TableKind::Ssh);
    let mut checked = 0;
    for spec in &table.specs {
        let name = spec.name();
        let letter = name.chars().nth(1).unwrap();
        if matches!(letter, 'G' | 'V') {
            continue; // -G is the probe itself; -V prints the version and reads nothing else.
        }
        let forms: Vec<Vec<String>> = match spec.arity {
            envtrack_inject::launch::options::Arity::Values(0) => {
                vec![vec![name.to_string()], vec![format!("-4{letter}")]]
            }
            _ => {
                let value = value_for(letter);
                vec![
                    vec![name.to_string(), value.to_string()],
                    vec![format!("{name}{value}")],
                    vec![format!("-4{letter}"), value.to_string()],
                ]
            }
        };
        for form in forms {
            let placements: [Vec<String>; 3] = [
                [form.clone(), vec!["nodeA".into(), "echo".into(), "hi".into()]].concat(),
                [vec!["nodeA".to_string()], form.clone(), vec!["echo".into(), "hi".into()]].concat(),
                [form.clone(), vec!["--".into(), "nodeA".into(), "-v".into(), "echo".into()]].concat(),
            ];
            for args in placements {
                let original: Vec<OsString> = args.iter().map(OsString::from).collect();
                let rewritten = rewrite(&args);
                let (accepted, before) = configuration(&original);
                let (_, after) = configuration(&rewritten);
                if before != after {
                    let only = |a: &str, b: &str| {
                        a.lines().filter(|l| !b.lines().any(|m| m == *l)).collect::<Vec<_>>().join("\n")
                    };
                    panic!(
                        "ssh reads {args:?} and its rewrite {rewritten:?} differently:\noriginal only:\n{}\nrewrite only:\n{}",
                        only(&before, &after),
                        only(&after, &before)
                    );
                }
                checked += usize::from(accepted);
            }
        }
    }
    assert!(checked > 100, "ssh -G accepted only {checked} command lines");
}
