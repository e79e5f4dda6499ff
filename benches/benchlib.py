"""Shared by the whole-process Python benchmarks (python_subprocess.py,
workload.py): where the library is, and the rows they add to run.sh's table.
"""

import json
import os
import subprocess

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
RESULTS = os.path.join(BENCH_DIR, "results")  # gitignored
FIGURES = os.path.join(RESULTS, "figures")


def library():
    """The release libenvtrack.so: under run.sh (BENCH_BUILT=1) the copy its
    build step made in benches/results/bin, which the callgrind figures
    measured; run alone, a fresh `cargo build --release` in cargo's target
    directory (CARGO_TARGET_DIR respected)."""
    copy = os.path.join(RESULTS, "bin", "libenvtrack.so")
    if os.environ.get("BENCH_BUILT") == "1" and os.path.exists(copy):
        return copy
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "envtrack-preload"], cwd=ROOT, check=True)
    metadata = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                              capture_output=True, check=True).stdout
    path = os.path.join(json.loads(metadata)["target_directory"], "release", "libenvtrack.so")
    if not os.path.exists(path):
        raise SystemExit(f"benches: no {path} after cargo build")
    return path


def check(value, limit):
    """PASS or FAIL, as common.sh's `check VALUE <= LIMIT`."""
    return "PASS" if value <= limit else "FAIL"


def write_rows(figure, rows):
    """Replaces benches/results/figures/FIGURE with ROWS, each (figure, value,
    target, result): the rows run.sh's summary table prints."""
    os.makedirs(FIGURES, exist_ok=True)
    with open(os.path.join(FIGURES, figure), "w") as f:
        for cells in rows:
            f.write("\t".join(str(cell) for cell in cells) + "\n")
