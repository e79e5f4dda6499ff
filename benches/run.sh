#!/usr/bin/env bash
# The preload's benchmarks, in one command: builds what they need, runs them
# all and prints a table of figures with targets and PASS/FAIL.
#
#   bash benches/run.sh
#
# Where the cost is inside one process, the figure is an instruction count
# from valgrind's callgrind (see common.sh), never a time; where it is a
# whole process or a launch, a wall time: medians of runs taken side by side
# (alternating with and without, so both see the same machine). This is a
# report, not a test: it exits 0 when a target fails (and non-zero only if a
# measurement could not run). Takes several minutes; BENCH_RUNS (default 3)
# and BENCH_SETENV_N (default 100000) trade precision for time for the
# callgrind figures, BENCH_INJECT_RUNS (300), BENCH_PYTHON_RUNS (10 batches
# of 300 calls each way) and BENCH_WORKLOAD_RUNS (9) for the timed ones.
# Profiles, logs and the environments measured stay in benches/results/.
#
# Instruction counts:
#   load_cost.sh    process start: /bin/true with each preload; ldd; size
#   setenv_cost.sh  one setenv call, hook vs glibc's own
#   spawn_cost.sh   one posix_spawn, by environment size (10 … 10000
#                   variables), with an explicit envp and with environ
#   tree_cost.sh    process start inside a tracked tree: /bin/true inheriting
#                   0, 10, 100, 1000 tracked changes, with each preload
# Wall times:
#   inject_cost.py  envtrack-inject: a worker's start against `env`, and an
#                   mpirun launch against hand-written -x
#   python_subprocess.py
#                   subprocess.run of /bin/true from a Python parent with 400
#                   variables, with and without the library (within 10%)
#   workload.py     make -j2 of a generated C project started by a shell that
#                   exported 50 variables (tracked changes under the library),
#                   with and without it (within 3%, same program)
#   python_activate.py
#                   what envtrack.activate() adds to a Python script's start
#   slurm_plugin_cost (tests/src/bin/; as root, on the tests' one-node Slurm)
#                   srun with the Slurm plugin against without it, and carried
#                   by the plugin against by rewriting (BENCH_SLURM_RUNS, 30)
set -euo pipefail
source "$(dirname "$0")/common.sh"

start=$SECONDS
rm -rf "$FIGURES"
build
export BENCH_BUILT=1

# summarize TITLE FIGURE... — the table of those figures and the count of
# targets they failed.
summarize() {
    local title=$1
    shift
    local files=("${@/#/$FIGURES/}")
    echo
    echo "== summary ($title)"
    table "${files[@]}"
    local failed
    failed=$(cat "${files[@]}" | awk -F '\t' '$4 == "FAIL"' | wc -l)
    if ((failed > 0)); then
        echo "$failed target(s) FAILED (a report, not a test: exit status 0)"
    else
        echo "all targets met"
    fi
}

callgrind=(load setenv spawn tree) # the figure files the scripts write
for script in load_cost setenv_cost spawn_cost tree_cost; do
    echo
    echo "== $script"
    bash "$BENCH_DIR/$script.sh"
done
summarize "callgrind instruction counts; medians of $BENCH_RUNS runs; $((SECONDS - start)) s" "${callgrind[@]}"

timed_start=$SECONDS
echo
echo "== envtrack-inject (whole-process times, medians, side by side)"
cargo build --release --quiet -p envtrack-inject
python3 "$BENCH_DIR/inject_cost.py" "${BENCH_INJECT_RUNS:-300}" 2> >(grep -v setpgid >&2)

echo
echo "== subprocess.run from Python under the library (wall time, medians, side by side)"
python3 "$BENCH_DIR/python_subprocess.py" "${BENCH_PYTHON_RUNS:-10}"

echo
echo "== a real build under the library (wall time, medians, side by side)"
python3 "$BENCH_DIR/workload.py" "${BENCH_WORKLOAD_RUNS:-9}"

echo
echo "== envtrack.activate() at the top of a Python script (wall time, medians, side by side)"
python3 "$BENCH_DIR/python_activate.py" "${BENCH_ACTIVATE_RUNS:-30}"

timed=(python workload activate)
echo
echo "== srun with the Slurm plugin (wall time, medians, side by side)"
if [[ $(id -u) == 0 ]] && command -v slurmctld >/dev/null; then
    cargo build --release --quiet -p envtrack-spank -p envtrack-tests --bin slurm_plugin_cost
    "$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/slurm_plugin_cost" "${BENCH_SLURM_RUNS:-30}"
    timed+=(slurm)
else
    echo "skipped: needs root and Slurm's daemons (scripts/install-deps.sh)"
fi

summarize "python_subprocess.py, workload.py, python_activate.py and slurm_plugin_cost: wall times, medians side by side; $((SECONDS - timed_start)) s" "${timed[@]}"
