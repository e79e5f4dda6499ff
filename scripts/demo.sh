#!/usr/bin/env bash
# Builds envtrack and runs examples/train.py under libenvtrack.so: the
# variables train.py sets through os.environ reach workers started with a
# clean environment (`env -i`), and the worker interpreter starts with the
# PYTHONPATH train.py set.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "demo: cargo is not on PATH (install Rust with rustup)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "demo: python3 is needed (apt-get install python3)" >&2; exit 1; }
echo "building envtrack (release)..." >&2
cargo build --release --quiet -p envtrack-preload -p envtrack-inject
echo
echo "== without envtrack: the clean-environment workers see nothing of what train.py set"
python3 examples/train.py
echo
echo "== with LD_PRELOAD=libenvtrack.so: every worker sees it, byte for byte"
LD_PRELOAD="$PWD/target/release/libenvtrack.so" python3 examples/train.py
