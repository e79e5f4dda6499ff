//! The Slurm plugin (`libenvtrack_spank.so`) on the one-node Slurm the suite
//! starts, with the library's routing of srun off: srun and sbatch carry the
//! snapshot themselves, the step's command is the user's.

use envtrack_tests::launchers::{slurm_lock, Slurm};
use envtrack_tests::ranks::SECRET;
use envtrack_tests::*;
use serde_json::Value;

fn rank_report() -> String {
    workspace().join("tests/programs/rank_report.py").display().to_string()
}

fn plugstack(arguments: &str) -> String {
    format!("optional {} {arguments}\n", spank_plugin().display())
}

/// A tracked bash (routing off) that changes three values and runs `launch`.
fn tracked_bash(launch: &str, slurm: &Slurm, extra: &[&str]) -> std::process::Output {
    let mut env = tracked_env(&["ENVTRACK_AUTOWRAP=0"]);
    env.extend(slurm.env().iter().map(|(n, v)| format!("{n}={v}").into_bytes()));
    env.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
    let script = format!(
        "export SECRET_VALUE={}; export NCCL_DEBUG=INFO; export PATH=/opt/mine:$PATH; \
         export REPORT_NAMES=SECRET_VALUE,NCCL_DEBUG,PATH; {launch}",
        shell_quote(SECRET)
    );
    let mut command = command_with_env("/bin/bash", env);
    command.args(["-c", &script]);
    output(&mut command)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_carried(out: &std::process::Output, count: usize, what: &str) {
    assert!(out.status.success(), "{what}:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let reports = reports(&out.stdout);
    assert_eq!(reports.len(), count, "{what}: {reports:?}\n{}", text(&out.stderr));
    for report in &reports {
        assert_eq!(report["values"]["SECRET_VALUE"], SECRET, "{what}: {report}");
        assert_eq!(report["values"]["NCCL_DEBUG"], "INFO", "{what}: {report}");
        let path = report["values"]["PATH"].as_str().unwrap_or("");
        assert!(path.starts_with("/opt/mine"), "{what}: {report}");
        assert_eq!(report["tracked"], true, "{what}: {report}");
        assert_eq!(report["cmdline_leaks"], Value::Array(vec![]), "{what}: {report}");
        assert_eq!(report["argv"], Value::Array(vec![]), "{what}: {report}");
    }
}

#[test]
fn srun_tasks_get_the_values_whatever_the_export_option() {
    let _lock = slurm_lock();
    let dir = scratch("slurm_plugin");
    let slurm = Slurm::start_with_plugins(&dir, Some(&plugstack("")));
    for (options, extra) in [("", None), ("--export=NONE", None), ("", Some("SLURM_EXPORT_ENV=NONE"))] {
        let launch = format!("srun -N1 -n2 {options} /usr/bin/python3 {}", rank_report());
        let out = tracked_bash(&launch, &slurm, extra.as_slice());
        assert_carried(&out, 2, &format!("srun {options} {extra:?}"));
    }
}
