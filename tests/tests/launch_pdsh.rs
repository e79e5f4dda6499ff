//! pdsh through its ssh module, real, to two nodes of a real sshd on loopback: pdsh runs `ssh` from
//! PATH with `PDSH_SSH_ARGS_APPEND`, here `-F <the sshd's client configuration>`. envtrack carries
//! the values as `LC_*` variables that ssh sends (`-o SendEnv=…`) and sshd accepts, as for ssh
//! itself; the fake agent could not stand in for the nodes, since it drops what ssh would send.

use std::process::Output;
use std::time::Duration;

use envtrack_tests::launchers::{output_within, Sshd};
use envtrack_tests::ranks::*;
use envtrack_tests::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `launch` in a tracked bash (with `extra` in its environment) that first exports the
/// test's values, and returns each node's reports (pdsh prefixes each line with `NODE: `).
fn from_tracked_bash(sshd: &Sshd, launch: &str, extra: &[&str]) -> (Output, Vec<(String, Value)>) {
    let script = exporting_test_values(launch);
    let append = format!("PDSH_SSH_ARGS_APPEND=-F {}", sshd.ssh_config().display());
    let mut env = tracked_env(extra);
    env.push(append.into_bytes());
    let mut command = command_with_env("/bin/bash", env);
    command.args(["-c", &script]);
    let out = output_within(&mut command, LIMIT);
    assert!(
        out.status.success(),
        "{launch}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (node, rest) = line.split_once(": ")?;
            let report = rest.strip_prefix("REPORT ")?;
            Some((node.to_string(), serde_json::from_str(report).expect("a JSON report")))
        })
        .collect();
    (out, reports)
}

fn pdsh_command() -> String {
    format!("pdsh -R ssh -w nodeA,nodeB /usr/bin/python3 {}", rank_report().display())
}

fn assert_nodes(reports: &[(String, Value)], what: &str) {
    let mut nodes: Vec<(&str, &str)> =
        reports.iter().map(|(node, r)| (node.as_str(), r["node"].as_str().unwrap_or(""))).collect();
    nodes.sort();
    assert_eq!(nodes, [("nodeA", "nodeA"), ("nodeB", "nodeB")], "{what}: {reports:?}");
}

fn assert_got_everything(reports: &[(String, Value)], what: &str) {
    assert_nodes(reports, what);
    for (_, report) in reports {
        let values = &report["values"];
        assert_eq!(values["SECRET_VALUE"], SECRET, "{what}: {report}");
        assert_eq!(values["NCCL_DEBUG"], "INFO", "{what}: {report}");
        assert_eq!(values["RAW"], "line1\nline2\u{ff}", "{what}: {report}");
        // The node's own PATH extended: /opt/mine before the node's directories. (The user's
        // login shell then reads its startup files, as over ssh, and ~/.bashrc may put
        // directories of its own in front.)
        let path = values["PATH"].as_str().unwrap_or("");
        let mine = path.split(':').position(|e| e == "/opt/mine");
        let node = path.split(':').position(|e| e == "/usr/local/bin");
        assert!(matches!((mine, node), (Some(m), Some(n)) if m < n), "{what}: PATH {path}");
        assert_eq!(path.split(':').filter(|e| *e == "/opt/mine").count(), 1, "{what}: PATH {path}");
        assert_eq!(report["tracked"], true, "{what}: tracking is active on the node: {report}");
        assert_eq!(report["cmdline_leaks"], Value::Array(vec![]), "{what}: a value in /proc/*/cmdline: {report}");
    }
}

#[test]
fn pdsh_over_ssh_carries_the_values_to_each_node() {
    let dir = scratch("pdsh");
    let sshd = Sshd::start(&dir);

    // pdsh is not routed by default: the nodes see nothing (and the harness shows it).
    let (_, reports) = from_tracked_bash(&sshd, &pdsh_command(), &[]);
    assert_nodes(&reports, "pdsh, not routed");
    for (_, report) in &reports {
        assert_eq!(report["values"]["SECRET_VALUE"], Value::Null, "pdsh, not routed: {report}");
        assert_eq!(report["tracked"], false, "pdsh, not routed: {report}");
    }

    // Routed by the library when asked.
    let (_, reports) = from_tracked_bash(&sshd, &pdsh_command(), &["ENVTRACK_AUTOWRAP=pdsh"]);
    assert_got_everything(&reports, "pdsh, ENVTRACK_AUTOWRAP=pdsh");

    // Launch mode, through envtrack-inject by hand.
    let launch = format!("{} -- {}", injector().display(), pdsh_command());
    let (_, reports) = from_tracked_bash(&sshd, &launch, &[]);
    assert_got_everything(&reports, "envtrack-inject -- pdsh");

    let log = std::fs::read(dir.join("sshd.log")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&log).contains("s3cr3t"), "a value in sshd's log");
}
