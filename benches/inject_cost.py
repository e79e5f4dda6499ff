#!/usr/bin/env python3
"""Whole-process cost of envtrack-inject, as medians of runs taken side by
side (alternating, so both see the same machine):

1. `envtrack-inject apply -- /bin/true` (a worker's start, with a forwarded
   snapshot) against `env NAME=VALUE /bin/true`. Target: at most 1.3x.
2. A launch through Open MPI's mpirun on two clean-environment nodes, with
   envtrack carrying two variables, against the same launch with
   hand-written `-x` options. Target: at most 5% more.

Usage: python3 benches/inject_cost.py [RUNS]   (run benches/run.sh for all figures)
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INJECT = os.path.join(ROOT, "target/release/envtrack-inject")
AGENT = os.path.join(ROOT, "examples/fake-ssh")
CLEAN = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}


def spawn_time(argv, env):
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(argv)}")
    return time.perf_counter_ns() - start


def side_by_side(cases, runs):
    times = {name: [] for name in cases}
    for _ in range(runs):
        for name, (argv, env) in cases.items():
            times[name].append(spawn_time(argv, env))
    return {name: statistics.median(values) / 1e3 for name, values in times.items()}


def forwarded_snapshot_env():
    """The environment a worker gets from a launcher: one carried variable."""
    out = subprocess.run(
        [INJECT, "--set", "NAME=VALUE", "--", "/usr/bin/env", "-0"],
        env=dict(CLEAN, LD_PRELOAD=""), capture_output=True, check=True,
    ).stdout
    state = dict(e.split(b"=", 1) for e in out.split(b"\0") if b"=" in e)[b"ENVTRACK_STATE"]
    # Encode it as the launcher transport would carry it.
    sys.path.insert(0, ROOT)
    import base64
    text = base64.b64encode(state).decode()
    return dict(CLEAN, ENVTRACK_REMOTE_PARTS="1", ENVTRACK_REMOTE_0=text)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    worker_env = forwarded_snapshot_env()
    start = side_by_side(
        {
            "env NAME=VALUE /bin/true": (["/usr/bin/env", "NAME=VALUE", "/bin/true"], CLEAN),
            "envtrack-inject apply -- /bin/true": ([INJECT, "apply", "--", "/bin/true"], worker_env),
        },
        runs,
    )
    base, ours = start.values()
    print(f"worker start: env {base:.0f} us, apply {ours:.0f} us: ratio {ours / base:.2f} (target <= 1.3) "
          f"{'PASS' if ours / base <= 1.3 else 'FAIL'}")
    mpirun = shutil.which("mpirun")
    if not mpirun:
        print("mpirun: not installed, launch figure skipped")
        return
    with tempfile.TemporaryDirectory() as root:
        env = dict(CLEAN, FAKE_SSH_ROOT=root, TMPDIR=root, A="1", B="two words")
        common = ["--allow-run-as-root", "--oversubscribe", "-n", "2", "--host", "nodeA,nodeB",
                  "--mca", "plm_rsh_agent", AGENT]
        tracked_env = dict(env, ENVTRACK_STATE="ET1;S1:AS1:B")
        launch = side_by_side(
            {
                "mpirun -x A -x B": ([mpirun, *common, "-x", "A", "-x", "B", "/bin/true"], env),
                "envtrack-inject -- mpirun": ([INJECT, "--", mpirun, *common, "/bin/true"], tracked_env),
            },
            max(10, runs // 15),
        )
        base, ours = launch.values()
        print(f"mpirun launch: -x {base / 1e3:.1f} ms, envtrack {ours / 1e3:.1f} ms: {100 * (ours / base - 1):+.1f}% "
              f"(target <= +5%) {'PASS' if ours / base <= 1.05 else 'FAIL'}")


if __name__ == "__main__":
    main()
