#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (as root).
# Packages already installed are skipped, so a second run takes a second.
set -euo pipefail

debian_packages=(
  build-essential  # cc and make for the C test programs and the execl* shim
  valgrind         # memcheck runs and instruction counts
  python3          # Python child programs
  # Real launchers for the end-to-end tests (tests/src/launchers/)
  openmpi-bin      # Open MPI 4: mpirun (orterun)
  mpich            # MPICH 4: mpiexec.hydra
  slurmctld slurmd slurm-client munge  # a one-node Slurm started by the tests
  openssh-server openssh-client        # a loopback sshd started by the tests
  python3-venv     # the virtual environments from PyPI (below)
  pdsh             # DeepSpeed's multi-node runner, through its ssh module
  tcsh fish zsh    # login shells a remote command must work under (ssh, pdsh)
  libcap2-bin      # setcap: a file capability puts a probe in secure execution
  sudo             # a change of user: tracked values must not cross it (faults_state.rs)
)

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Python virtual environments from PyPI (Dask; the Open MPI 5, MPICH 5 and Intel MPI wheels), listed
# in tests/launchers/venvs.txt; the tests make them too when they are missing (after a cargo clean).
# Does nothing for those already there.
root=$(cd "$(dirname "$0")/.." && pwd)
while read -r name requirements; do
  [[ -z $name || $name == \#* ]] && continue
  # shellcheck disable=SC2086 # the requirements are words
  "$root/scripts/make-venv.sh" "$root/target/e2e/venv-$name" $requirements
done <"$root/tests/launchers/venvs.txt"

command -v cargo >/dev/null || { echo "install-deps: cargo is not on PATH (install Rust with rustup)" >&2; exit 1; }
