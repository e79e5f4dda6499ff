#!/usr/bin/env bash
# Builds envtrack and runs examples/train.py, which sets variables through os.environ and starts two
# MPI ranks with Open MPI's mpirun on two nodes whose environment is clean (examples/fake-ssh) —
# once without envtrack, once under libenvtrack.so.
#
# Uses cargo, a C compiler, python3 and Open MPI's mpirun: `scripts/install-deps.sh --demo` installs
# the Debian/Ubuntu packages (as root) or names what is missing. Leaves nothing behind: the fake
# nodes' files and mpirun's session directory are in a temporary directory removed at the end, and
# no Python bytecode is written.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --demo
echo "demo: building envtrack (release)..." >&2
cargo build --release --quiet -p envtrack-preload -p envtrack-inject
FAKE_SSH_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/envtrack-demo-nodes.XXXXXX")
export FAKE_SSH_ROOT
trap 'rm -rf "$FAKE_SSH_ROOT"' EXIT # the fake nodes' files go with the demo
export TMPDIR="$FAKE_SSH_ROOT"      # mpirun's own session directory, apart from other mpiruns
export PYTHONDONTWRITEBYTECODE=1    # train.py writes no __pycache__ (worker.py sees to the ranks)

# run_train [NAME=VALUE...]: runs examples/train.py with these variables added to the environment.
# Prints the ranks' lines sorted (then any other line, as it came); if the launch fails, prints all
# of its output as it came and exits with its status.
run_train() {
  local output status=0
  output=$(env "$@" python3 examples/train.py 2>&1) || status=$?
  if ((status != 0)); then
    printf '%s\n' "$output"
    echo "demo: examples/train.py failed (exit status $status); its whole output is above" >&2
    exit "$status"
  fi
  printf '%s\n' "$output" | grep '^\[rank' | sort || true
  printf '%s\n' "$output" | grep -v '^\[rank' || true
}

echo
echo "== without envtrack: the ranks on clean nodes see nothing of what train.py set"
run_train
echo
echo "== with LD_PRELOAD=libenvtrack.so (mpirun is routed through envtrack-inject by itself)"
run_train LD_PRELOAD="$PWD/target/release/libenvtrack.so"
