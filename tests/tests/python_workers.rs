//! Workers of a real Dask cluster and a real Ray head, each started with a clean environment
//! (`env -i`), start with the changes of a driver under `envtrack.activate()`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use envtrack_tests::launchers::{dask_python, ray_python, success_within, venv, Dask, Ray};
use envtrack_tests::python_package::{clean, install_wheel, json_lines, text, LIMIT};
use envtrack_tests::{envtrack_lines, scratch, workspace};

const RUN_NOTE: &str = "it's \"quoted\", has spaces, a\ttab and $(no shell)";

/// A directory with a module importable only through PYTHONPATH.
fn module_dir(dir: &Path, note: &str) -> PathBuf {
    let modules = dir.join("modules");
    fs::create_dir_all(&modules).unwrap();
    fs::write(modules.join("envtrack_probe_module.py"), format!("WHERE = {note:?}\n")).unwrap();
    modules
}

#[test]
fn dask_workers_restart_with_the_drivers_changes_and_workers_added_later_start_with_them() {
    let venv_dir = venv("dask");
    install_wheel(&venv_dir);
    let dir = scratch("python-dask");
    let modules = module_dir(&dir, "imported through PYTHONPATH");
    let mut dask = Dask::start(&dir, &[], &[]);
    let driver = workspace().join("tests/python/dask_driver.py");
    let home = dir.join("home");

    let out =
        success_within(clean(&venv_dir, dask_python(), &home).arg(&driver).arg(dask.address()).arg(&modules), LIMIT);
    let seen = json_lines(&out);
    let before: Vec<&Value> = seen.iter().filter(|s| s["when"] == "before").collect();
    let after: Vec<&Value> = seen.iter().filter(|s| s["when"] == "after").collect();
    assert_eq!((before.len(), after.len()), (1, 1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(before[0]["values"]["RUN_NOTE"], Value::Null, "the worker had nothing of the driver's");
    assert!(before[0]["module"].as_str().unwrap().starts_with("not importable"));

    let check = |seen: &Value| {
        let values = &seen["values"];
        assert_eq!(values["RUN_NOTE"], RUN_NOTE, "{seen}");
        assert_eq!(values["MALLOC_ARENA_MAX"], "2", "{seen}");
        assert_eq!(values["OMP_NUM_THREADS"], "3", "the driver's value wins over the nanny's: {seen}");
        assert_eq!(values["PYTHONPATH"], modules.to_str().unwrap(), "{seen}");
        assert_eq!(
            values["PATH"], "/opt/envtrack-dask/bin:/usr/local/bin:/usr/bin:/bin",
            "the node's own PATH extended: {seen}"
        );
        assert_eq!(seen["module"], "imported through PYTHONPATH", "{seen}");
        assert_eq!(seen["initial_malloc_arena_max"], "2", "in the worker's environment from its start: {seen}");
        assert_eq!(seen["child_run_note"], RUN_NOTE, "tracking goes on in the worker: {seen}");
        assert_eq!(seen["tracking"], true, "{seen}");
    };
    check(after[0]);

    // A worker that joins later gets it before it first starts, as does the first one from now on.
    dask.add_worker("worker-later");
    let mut probe = clean(&venv_dir, dask_python(), &home);
    probe.arg(&driver).arg(dask.address()).arg("--probe");
    let out = success_within(&mut probe, LIMIT);
    let seen = json_lines(&out);
    assert_eq!(seen.len(), 2, "{}{}", text(&out.stdout), text(&out.stderr));
    seen.iter().for_each(check);
    let log = fs::read_to_string(dir.join("worker-later.log")).unwrap();
    assert!(!log.contains("envtrack:"), "{log}");
}

#[test]
fn dask_local_cluster_nannies_in_the_driver_get_it_and_unregistering_leaves_the_drivers_changes() {
    let venv_dir = venv("dask");
    install_wheel(&venv_dir);
    let dir = scratch("python-dask-local");
    let script = workspace().join("tests/python/dask_local_cluster.py");
    let out = success_within(clean(&venv_dir, dask_python(), &dir).current_dir(&dir).arg(&script), LIMIT);
    let seen = json_lines(&out);
    assert_eq!(seen.len(), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(seen[0]["worker"]["FROM_PLUGIN"], "yes", "{}", seen[0]);
    assert_eq!(seen[0]["worker"]["STAGE"], "1", "{}", seen[0]);
    assert_eq!(
        seen[0]["driver_after_unregister"],
        serde_json::json!({"STAGE": "2", "LATE": "x", "FROM_PLUGIN": "yes"}),
        "the driver's own changes stay"
    );
}

#[test]
fn ray_tasks_and_actors_get_the_drivers_changes_also_those_made_after_ray_init() {
    let venv_dir = venv("ray");
    install_wheel(&venv_dir);
    let dir = scratch("python-ray");
    let modules = module_dir(&dir, "imported through PYTHONPATH");
    let ray = Ray::start(&dir);
    let driver = workspace().join("tests/python/ray_driver.py");
    let home = dir.join("home");
    let out = success_within(
        clean(&venv_dir, ray_python(), &home).arg(&driver).arg(ray.address()).arg(&modules),
        Duration::from_secs(240),
    );
    let seen = json_lines(&out);
    assert_eq!(seen.len(), 3, "{}{}", text(&out.stdout), text(&out.stderr));
    let node_path = format!("{}:/usr/bin:/bin", venv_dir.join("bin").display());
    for seen in &seen {
        let values = &seen["values"];
        assert_eq!(values["RUN_NOTE"], RUN_NOTE, "{seen}");
        assert_eq!(
            values["PATH"],
            format!("/opt/envtrack-ray/bin:{node_path}"),
            "the node's own PATH extended: {seen}"
        );
        assert_eq!(seen["module"], "imported through PYTHONPATH", "{seen}");
        assert_eq!(values["LATE"], if seen["when"] == "late" { "set after ray.init".into() } else { Value::Null });
    }
    assert!(envtrack_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    drop(ray);
}
