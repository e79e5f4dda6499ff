//! What the launch tests send to their ranks and check there: a tracked bash exports the test's
//! values, `tests/programs/rank_report.py` reports what each rank sees.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::{reports, shell_quote, workspace};

/// A value that must survive byte for byte and never show on a command line.
pub const SECRET: &str = "s3cr3t 'single' \"double\" $(id) `id` a=b;c";

/// `tests/programs/rank_report.py`: prints `REPORT {json}` with the rank's node, values, and
/// whether a value of the test's shows in any `/proc/*/cmdline`.
pub fn rank_report() -> PathBuf {
    workspace().join("tests/programs/rank_report.py")
}

/// `script`, after the exports of the test's values: [`SECRET`], `NCCL_DEBUG=INFO`, a value with a
/// newline and a non-UTF-8 byte (`RAW`), `/opt/mine` first in PATH, and the names rank_report.py
/// reports.
pub fn exporting_test_values(script: &str) -> String {
    format!(
        "export SECRET_VALUE={secret}; export NCCL_DEBUG=INFO; export RAW=$'line1\\nline2\\xff'; \
         export PATH=/opt/mine:$PATH; export REPORT_NAMES=SECRET_VALUE,NCCL_DEBUG,RAW,PATH; {script}",
        secret = shell_quote(SECRET),
    )
}

/// No value of the test's on a command line the fake agent in `dir` saw, nor in any rank's
/// `/proc/*/cmdline`.
pub fn assert_no_leak(out: &Output, dir: &Path, what: &str) {
    let agent_log = std::fs::read(dir.join("agent-commands.log")).unwrap_or_default();
    let agent_log = String::from_utf8_lossy(&agent_log);
    assert!(!agent_log.contains("s3cr3t"), "{what}: a value on a command line the agent saw:\n{agent_log}");
    for report in reports(&out.stdout) {
        assert_eq!(report["cmdline_leaks"], Value::Array(vec![]), "{what}: a value in /proc/*/cmdline: {report}");
    }
}

/// One rank on nodeA and one on nodeB, each with every value byte for byte, `/opt/mine` once and
/// first in PATH, and tracking active.
pub fn assert_ranks_got_everything(reports: &[Value], what: &str) {
    let mut nodes: Vec<&str> = reports.iter().map(|r| r["node"].as_str().unwrap_or("")).collect();
    nodes.sort();
    assert_eq!(nodes, ["nodeA", "nodeB"], "{what}: {reports:?}");
    for report in reports {
        let values = &report["values"];
        assert_eq!(values["SECRET_VALUE"], SECRET, "{what}: {report}");
        assert_eq!(values["NCCL_DEBUG"], "INFO", "{what}: {report}");
        assert_eq!(values["RAW"], "line1\nline2\u{ff}", "{what}: {report}");
        let path = values["PATH"].as_str().unwrap_or("");
        assert!(path.starts_with("/opt/mine:"), "{what}: PATH {path}");
        assert_eq!(path.split(':').filter(|e| *e == "/opt/mine").count(), 1, "{what}: PATH {path}");
        assert_eq!(report["tracked"], true, "{what}: tracking is active in the rank: {report}");
    }
}
