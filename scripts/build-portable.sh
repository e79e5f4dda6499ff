#!/usr/bin/env bash
# Builds the portable release artifacts: envtrack-inject, libenvtrack.so and the Slurm plugin
# libenvtrack_spank.so, linked against glibc 2.17 (the floor of Rust's x86_64-unknown-linux-gnu
# target and of manylinux2014), with zig as the linker through cargo-zigbuild; both tools come from
# PyPI into a virtual environment kept under target/tools/ (made once). Then checks what the files
# need from the C library: no symbol version newer than GLIBC_2.17 and no DT_RELR (which needs
# glibc 2.36).
#
# Prints the directory holding the artifacts on stdout; progress goes to stderr. The build also
# makes envtrack-inject-generate (the manual pages and completions, for scripts/install.sh).
# Usage: scripts/build-portable.sh [--check-only]
#        scripts/build-portable.sh --check FILE...   (checks those files only; prints nothing on stdout)
set -euo pipefail
mode=${1:-build}
checked=()
if [[ $mode == --check ]]; then
  shift
  (($#)) || { echo "build-portable: --check needs files" >&2; exit 2; }
  for file in "$@"; do checked+=("$(realpath -s -- "$file")"); done
fi
cd "$(dirname "$0")/.."

glibc_floor=2.17
target=x86_64-unknown-linux-gnu
out="${CARGO_TARGET_DIR:-target}/$target/release"

files=("$out/envtrack-inject" "$out/libenvtrack.so" "$out/libenvtrack_spank.so")
if [[ $mode == --check ]]; then
  files=("${checked[@]}")
elif [[ $mode != --check-only ]]; then
  venv=target/tools/zig
  scripts/make-venv.sh "$venv" ziglang==0.17.1 cargo-zigbuild==0.24.1
  echo "build-portable: building for glibc $glibc_floor with cargo-zigbuild (release)..." >&2
  # cargo-zigbuild finds zig through the ziglang package of the Python on PATH.
  PATH="$PWD/$venv/bin:$PATH" "$venv/bin/cargo-zigbuild" zigbuild --release --quiet \
    --target "$target.$glibc_floor" -p envtrack-inject -p envtrack-preload -p envtrack-spank >&2
fi

# newest_glibc FILE: the newest GLIBC_x.y version FILE requires, e.g. 2.14.
newest_glibc() {
  objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n -u | tail -n1
}
failed=0
for file in "${files[@]}"; do
  [[ -f $file ]] || { echo "build-portable: $file is missing" >&2; exit 1; }
  newest=$(newest_glibc "$file")
  needed=$(objdump -p "$file" | awk '/NEEDED/ {print $2}' | tr '\n' ' ')
  echo "build-portable: $(basename "$file"): newest glibc symbol version $newest; needs ${needed% }" >&2
  if [[ $(printf '%s\n%s\n' "$newest" "$glibc_floor" | sort -t. -k1,1n -k2,2n | tail -n1) != "$glibc_floor" ]]; then
    echo "build-portable: $file needs GLIBC_$newest, newer than $glibc_floor" >&2
    failed=1
  fi
  # The library is loaded into every process: libc.so.6 is all it may bring with it (no libdl
  # or libpthread, which a glibc before 2.34 keeps apart).
  if [[ $(basename "$file") == libenvtrack.so && $needed != "libc.so.6 " ]]; then
    echo "build-portable: $file needs ${needed% }, not libc.so.6 alone" >&2
    failed=1
  fi
  if readelf -d "$file" | grep -q '(RELR)' || objdump -p "$file" | grep -q 'GLIBC_ABI_DT_RELR'; then
    echo "build-portable: $file has DT_RELR relocations (glibc 2.36 and later only)" >&2
    failed=1
  fi
done
((failed == 0)) || exit 1
[[ $mode == --check ]] || echo "$out"
