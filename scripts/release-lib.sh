# Shared by scripts/dist.sh and scripts/wheel.sh (sourced, from the workspace root): what a release
# artifact is made of and stamped with.

# An empty SOURCE_DATE_EPOCH means none (the C compiler under zig refuses an empty one).
[[ -n ${SOURCE_DATE_EPOCH:-} ]] || unset SOURCE_DATE_EPOCH

# workspace_version NAME: the version in Cargo.toml's [workspace.package]; NAME says who asks.
workspace_version() {
  local version
  version=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
  [[ -n $version ]] || { echo "$1: no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
  printf '%s\n' "$version"
}

# check_built_version NAME DIR VERSION: DIR/envtrack-inject must say it is VERSION.
check_built_version() {
  local built
  built=$("$2/envtrack-inject" --version)
  [[ $built == "envtrack-inject $3" ]] || {
    echo "$1: $2/envtrack-inject says '$built', Cargo.toml says $3" >&2
    exit 1
  }
}

# release_epoch: SOURCE_DATE_EPOCH, else the last commit's time, else now; exported, so that the
# manual pages scripts/install.sh writes carry it too.
release_epoch() {
  SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
  export SOURCE_DATE_EPOCH
}
