//! Every input in fuzz/regressions/TARGET/ (inputs that once failed, and the
//! seeds) goes through the same check as its fuzz target, in the normal suite.

use std::path::Path;

use envtrack_tests::workspace;

fn replay(target: &str, check: fn(&[u8])) {
    let mut count = 0;
    for dir in ["fuzz/regressions", "fuzz/seeds"] {
        let dir = workspace().join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", Path::new(&path).display());
            count += 1;
        }
    }
    assert!(count > 0, "{target}: no inputs to replay");
}

#[test]
fn snapshot_decode() {
    replay("snapshot_decode", envtrack_fuzz_checks::snapshot_decode);
}

#[test]
fn directive_file() {
    replay("directive_file", envtrack_fuzz_checks::directive_file);
}

#[test]
fn diff_apply() {
    replay("diff_apply", envtrack_fuzz_checks::diff_apply);
}

#[test]
fn launcher_rewrite() {
    replay("launcher_rewrite", envtrack_fuzz_checks::launcher_rewrite);
}
