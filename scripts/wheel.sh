#!/usr/bin/env bash
# Makes the wheel dist/envtrack-VERSION-py3-none-manylinux_2_17_x86_64.whl: the Python package
# (python/envtrack) with the portable build (scripts/build-portable.sh: glibc 2.17 and later) laid
# out as scripts/install.sh lays out a PREFIX, but for the library: pip installs envtrack-inject and
# libenvtrack.so side by side in the environment's bin directory (on PATH in an activated venv),
# where each finds the other, and the manual pages and completions under its share directory.
#
# Reproducible: names sorted, every timestamp SOURCE_DATE_EPOCH (default: the last commit's time).
# Prints the wheel's path on stdout; progress goes to stderr.
# Usage: scripts/wheel.sh [--artifacts DIR]
#   --artifacts DIR  take envtrack-inject, libenvtrack.so and envtrack-inject-generate from DIR
#                    (default: scripts/build-portable.sh builds them)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/release-lib.sh

case ${1:-} in
  --artifacts)
    artifacts=${2:?usage: scripts/wheel.sh [--artifacts DIR]}
    # The wheel says manylinux_2_17: artifacts given by hand must need no newer glibc (a plain
    # `cargo build` on a newer system does); scripts/build-portable.sh checks its own.
    scripts/build-portable.sh --check "$artifacts/envtrack-inject" "$artifacts/libenvtrack.so"
    ;;
  "") artifacts=$(scripts/build-portable.sh) ;;
  *) echo "usage: scripts/wheel.sh [--artifacts DIR]" >&2; exit 2 ;;
esac
[[ $artifacts == /* ]] || artifacts=$root/$artifacts

version=$(workspace_version wheel)
check_built_version wheel "$artifacts" "$version"
release_epoch

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
scripts/install.sh --artifacts "$artifacts" "$stage/prefix" >/dev/null
mkdir -p dist
python3 scripts/wheel.py --version "$version" --prefix "$stage/prefix" --package python/envtrack \
  --readme python/README.md --out dist
