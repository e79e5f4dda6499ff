#!/bin/bash
# make-root.sh ROOT: makes ROOT, a Debian 11 (bullseye, glibc 2.31) root for the tests that run
# envtrack's portable build against an older C library (tests/tests/old_glibc.rs), with what those
# tests run inside it: Python 3.9 and Open MPI 4.1.0. The tests keep it in target/e2e/root-bullseye.
#
# Does nothing when ROOT is already complete with this recipe (ROOT/.complete holds the recipe).
# Otherwise builds into ROOT.partial and renames it to ROOT when done, so ROOT is either absent, an
# older complete root, or complete. Safe to run concurrently: a lock file beside ROOT serialises
# the runs. Everything that mounts (debootstrap mounts /proc and /sys in the root; apt-get's
# maintainer scripts want /proc) runs in a private mount namespace, so no mount outlives the script
# however it ends.
#
# Needs root, the debootstrap package and the Debian archive (one to two minutes for debootstrap, about
# 20 s for the packages, on two cores).
set -euo pipefail

root=${1:?usage: make-root.sh ROOT}
root=${root%/}
suite=bullseye
mirror=http://deb.debian.org/debian
packages=(python3 openmpi-bin)
# Change the first word when the steps below change in a way the packages do not show.
recipe="1 $suite ${packages[*]}"

# Progress goes to fd 8, a copy of stderr that stays there while the tools' output goes to the log
# (below).
exec 8>&2
say() { printf 'make-root: [%3d s] %s\n' "$SECONDS" "$*" >&8; }

mkdir -p "$(dirname "$root")"
exec 9>>"$root.lock"
flock 9
if [[ -e $root/.complete && $(<"$root/.complete") == "$recipe" ]]; then
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { say "needs root (debootstrap, chroot, mount)"; exit 1; }
command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] ||
  { say "needs debootstrap (apt-get install debootstrap)"; exit 1; }

partial=$root.partial
# A partial root of an earlier run that did not finish. Its mounts, if any, ended with that run's
# mount namespace; --one-file-system keeps rm on this file system anyway.
rm -rf --one-file-system "$partial"
mkdir -p "$partial"

# build PARTIAL: the steps that mount, run in a private mount namespace (below).
build() {
  local partial=$1
  say "debootstrap --variant=minbase $suite into $partial (about a minute)"
  PATH=/usr/sbin:/usr/bin:/sbin:/bin debootstrap --variant=minbase "$suite" "$partial" "$mirror"

  say "installing ${packages[*]} in the root"
  mount -t proc proc "$partial/proc"
  # No service starts inside the root.
  printf '#!/bin/sh\nexit 101\n' >"$partial/usr/sbin/policy-rc.d"
  chmod 755 "$partial/usr/sbin/policy-rc.d"
  local run=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
    DEBIAN_FRONTEND=noninteractive chroot "$partial")
  "${run[@]}" apt-get update -qq
  "${run[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
  "${run[@]}" apt-get clean
  rm -rf "$partial"/var/lib/apt/lists/*
  # /proc is unmounted as the namespace ends.
}

log=$root.log
say "making a Debian $suite root in $root (the tools' output goes to $log)"
SECONDS=0
export -f build say
export suite mirror
packages_words="${packages[*]}"
# The namespace's shell gets the functions and the settings through its environment; the tools'
# output goes to the log, shown when something fails.
if ! unshare --mount --propagation private -- \
  env packages_words="$packages_words" bash -euo pipefail -c 'packages=($packages_words); build "$1"' \
  make-root "$partial" >"$log" 2>&1; then
  say "failed; the end of $log:"
  tail -n 30 "$log" >&2
  exit 1
fi

printf '%s' "$recipe" >"$partial/.complete"
rm -rf --one-file-system "$root"
mv -T "$partial" "$root"
say "made $root"
