#!/usr/bin/env bash
# Builds envtrack and runs examples/train.py, which sets variables through
# os.environ and starts two MPI ranks with Open MPI's mpirun on two nodes
# whose environment is clean — once without envtrack, once under
# libenvtrack.so. Installs what it needs on Debian (as root), as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "building envtrack (release)..." >&2
cargo build --release --quiet -p envtrack-preload -p envtrack-inject
FAKE_SSH_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/envtrack-demo-nodes.XXXXXX")
export FAKE_SSH_ROOT
trap 'rm -rf "$FAKE_SSH_ROOT"' EXIT  # the fake nodes' files go with the demo
export TMPDIR="$FAKE_SSH_ROOT"  # mpirun's own session directory, apart from other mpiruns
echo
echo "== without envtrack: the ranks on clean nodes see nothing of what train.py set"
python3 examples/train.py 2>&1 | grep '^\[rank' | sort
echo
echo "== with LD_PRELOAD=libenvtrack.so (mpirun is routed through envtrack-inject by itself)"
LD_PRELOAD="$PWD/target/release/libenvtrack.so" python3 examples/train.py 2>&1 | grep '^\[rank' | sort
