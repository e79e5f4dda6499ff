#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, builds,
# checks style and the preload's constraints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "installing dependencies"
scripts/install-deps.sh

step "formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "building (release)"
cargo build --release --workspace --quiet

# libenvtrack.so is a no_std cdylib with its own #[panic_handler]. If the model
# crate, or anything it depends on, linked std, std's panic handler would
# collide with ours and this build would fail: building it proves the model is
# no_std. The library must also depend on libc.so.6 alone (no libgcc_s).
step "checking that libenvtrack.so is no_std and needs libc alone"
so=target/release/libenvtrack.so
needed=$(objdump -p "$so" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')
case "$needed" in
  "" | "libc.so.6 ") echo "libenvtrack.so needs: ${needed:-nothing}" >&2 ;;
  *) echo "libenvtrack.so needs more than libc.so.6: $needed" >&2; exit 1 ;;
esac

# The same two artifacts for glibc 2.17 (checked for newer symbol versions and DT_RELR): the tests
# of tests/tests/old_glibc.rs run them in a Debian 11 root (glibc 2.31).
step "building the portable artifacts (glibc 2.17)"
scripts/build-portable.sh >/dev/null

step "tests"
# The suite runs with a TMPDIR of its own; afterwards no file of envtrack's may be left in it, nor
# a state file in /tmp (envtrack writes none: its state travels in the environment).
suite_tmp=$(mktemp -d /tmp/envtrack-suite.XXXXXX)
trap 'rm -rf "$suite_tmp"' EXIT  # also when a test fails
touch "$suite_tmp/.started"
TMPDIR=$suite_tmp cargo test --workspace --quiet
leftovers=$( { find "$suite_tmp" -mindepth 1 -name 'envtrack*'; find /tmp -maxdepth 1 -name 'envtrack-state*' -newer "$suite_tmp/.started"; } )
left=$(printf '%s' "$leftovers" | grep -c . || true)
echo "files left by envtrack in TMPDIR after the suite: $left" >&2
if ((left != 0)); then
  printf 'envtrack left files behind:\n%s\n' "$leftovers" >&2
  exit 1
fi
