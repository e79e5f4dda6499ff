#!/usr/bin/env bash
# Makes the release tarball dist/envtrack-VERSION-x86_64-linux-gnu.tar.gz: the portable build
# (scripts/build-portable.sh: glibc 2.17 and later) installed by scripts/install.sh into one top
# folder, envtrack-VERSION-x86_64-linux-gnu/, which can be unpacked anywhere (see install.sh for
# the layout). VERSION is the workspace's (Cargo.toml).
#
# Reproducible: names sorted, owner 0/0, modes 0755 (directories, programs) and 0644 (the rest),
# every mtime SOURCE_DATE_EPOCH (default: the last commit's time), gzip without a name or time.
#
# Prints the tarball's path on stdout; progress goes to stderr.
# Usage: scripts/dist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/release-lib.sh

version=$(workspace_version dist)
name=envtrack-$version-x86_64-linux-gnu

artifacts=$(scripts/build-portable.sh)
[[ $artifacts == /* ]] || artifacts=$root/$artifacts
check_built_version dist "$artifacts" "$version"

# The manual pages' date too (scripts/install.sh passes it on).
release_epoch
epoch=$SOURCE_DATE_EPOCH

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
scripts/install.sh --artifacts "$artifacts" "$stage/$name" >/dev/null

mkdir -p dist
tarball=$root/dist/$name.tar.gz
echo "dist: packing $name (mtime $(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ))" >&2
partial=$(mktemp "$tarball.XXXXXX")  # renamed into place: a concurrent run never sees half a file
tar --create --format=gnu --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
  --mode=u+w,go-w,a+rX -C "$stage" "$name" | gzip -9 -n >"$partial"
chmod 0644 "$partial"
mv -f "$partial" "$tarball"
echo "dist: $(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | grep -vc '/$') files" >&2
echo "$tarball"
