#!/usr/bin/env bash
# Installs envtrack into PREFIX, a directory of its own (e.g. /shared/apps/envtrack/0.1.0 on a
# cluster's shared filesystem; any user who can write there can install, no root needed):
#
#   bin/envtrack-inject                                  lib/libenvtrack.so
#   lib/libenvtrack_spank.so (the Slurm plugin, for a site's plugstack.conf)
#   share/man/man1/envtrack-inject.1, envtrack-inject-SUBCOMMAND.1
#   share/bash-completion/completions/envtrack-inject    share/zsh/site-functions/_envtrack-inject
#   share/fish/vendor_completions.d/envtrack-inject.fish
#   LICENSE-MIT  LICENSE-APACHE  README.md  CHANGELOG.md
#
# This script is the one place that lays the tree out: scripts/dist.sh installs into a staging
# directory with it and packs that. The tree is relocatable (envtrack-inject finds the library in
# ../lib, the library finds envtrack-inject in ../bin), so it can be moved or unpacked anywhere
# whose path has no ':' and no space (LD_PRELOAD cannot name such a path).
#
# Files are written beside their final names and renamed into place, so that programs running from
# an older install (a job using the library, say) keep the files they mapped.
#
# Usage: scripts/install.sh [--artifacts DIR] PREFIX
#   --artifacts DIR  take envtrack-inject, libenvtrack.so, libenvtrack_spank.so and
#                    envtrack-inject-generate (which writes
#                    the manual pages and completions) from DIR, e.g. target/release after
#                    `cargo build --release`; by default scripts/build-portable.sh builds them, for
#                    glibc 2.17 and later (its first run makes a build tool environment from PyPI).
# Prints what it installed and how to use it on stdout; progress goes to stderr.
set -euo pipefail

usage() {
  echo "usage: scripts/install.sh [--artifacts DIR] PREFIX" >&2
  exit 2
}

artifacts=
while (($#)); do
  case $1 in
    --artifacts) (($# >= 2)) || usage; artifacts=$2; shift 2 ;;
    --artifacts=*) artifacts=${1#--artifacts=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# == 1)) && [[ -n $1 ]] || usage

# The prefix as users will name it (absolute, symlinks kept) and as it is on disk: LD_PRELOAD names
# the first, envtrack-inject resolves the second; neither may hold ':' or white space.
prefix=$(realpath -m -s -- "$1")
for path in "$prefix" "$(realpath -m -- "$1")"; do
  if [[ $path == *[:[:space:]]* ]]; then
    echo "install: refusing PREFIX '$path': it contains ':' or a space, and LD_PRELOAD cannot name" \
      "a library under such a path (ld.so splits its value at both); choose another PREFIX" >&2
    exit 2
  fi
done

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z $artifacts ]]; then
  artifacts=$("$root/scripts/build-portable.sh")
  [[ $artifacts == /* ]] || artifacts=$root/$artifacts
fi
for file in envtrack-inject libenvtrack.so libenvtrack_spank.so envtrack-inject-generate; do
  [[ -f $artifacts/$file ]] || { echo "install: $artifacts/$file is missing" >&2; exit 1; }
done

umask 022
# The manual pages' date: SOURCE_DATE_EPOCH's, else the last commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
generated=$(mktemp -d)
partial=""  # the file being written, removed if the install stops (a full disk, a signal)
trap 'rm -rf "$generated"; [[ -z $partial ]] || rm -f "$partial"' EXIT
mkdir "$generated/man"
"$artifacts/envtrack-inject-generate" man "$generated/man" >/dev/null
for shell in bash zsh fish; do
  "$artifacts/envtrack-inject-generate" "complete-$shell" >"$generated/complete-$shell"
done

installed=()
# put MODE SOURCE DEST: DEST (relative to PREFIX) from SOURCE, renamed into place.
put() {
  local mode=$1 source=$2 dest=$prefix/$3
  install -d -m 0755 "$(dirname "$dest")"
  partial=$dest.installing.$$
  install -m "$mode" "$source" "$partial"
  mv -f "$partial" "$dest"
  partial=""
  installed+=("$3")
}

echo "install: installing into $prefix" >&2
put 0755 "$artifacts/envtrack-inject" bin/envtrack-inject
put 0644 "$artifacts/libenvtrack.so" lib/libenvtrack.so
put 0644 "$artifacts/libenvtrack_spank.so" lib/libenvtrack_spank.so
for page in "$generated"/man/*.1; do
  put 0644 "$page" "share/man/man1/$(basename "$page")"
done
put 0644 "$generated/complete-bash" share/bash-completion/completions/envtrack-inject
put 0644 "$generated/complete-zsh" share/zsh/site-functions/_envtrack-inject
put 0644 "$generated/complete-fish" share/fish/vendor_completions.d/envtrack-inject.fish
for doc in LICENSE-MIT LICENSE-APACHE README.md CHANGELOG.md; do
  put 0644 "$root/$doc" "$doc"
done

echo "Installed into $prefix:"
printf '  %s\n' "${installed[@]}"
# The prefix quoted for a shell, so that the lines work pasted whatever the prefix holds.
quoted=$(printf '%q' "$prefix")
cat <<EOF

To use it, add these two lines to your shell's startup file (or to a modulefile: the source tree
has an Lmod example in examples/modulefiles/envtrack/):
  export PATH=$quoted/bin:\$PATH
  export LD_PRELOAD=$quoted/lib/libenvtrack.so\${LD_PRELOAD:+:\$LD_PRELOAD}
The first is enough for envtrack-inject -- COMMAND and for man envtrack-inject; the second tracks
every program started from then on (ENVTRACK=off turns it off for a command and its children).

A Slurm site can have srun and sbatch carry the tracked changes themselves with one line in
plugstack.conf (on the login and compute nodes; see the README's Slurm section):
  optional $quoted/lib/libenvtrack_spank.so
EOF
