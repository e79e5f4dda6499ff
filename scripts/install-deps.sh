#!/usr/bin/env bash
# Installs the system packages envtrack's demo or test suite needs. For Debian and Ubuntu only: it
# installs with apt-get, as root. Packages already installed are skipped, so a second run takes a
# second.
#
#   scripts/install-deps.sh          what the test suite needs (scripts/test.sh): the packages of
#                                    demo_packages and test_packages (in this script), then the
#                                    Python virtual environments listed in tests/launchers/venvs.txt
#                                    (from PyPI, under target/e2e/) and a Debian 11 root for the
#                                    old-glibc tests (debootstrap, under target/e2e/)
#   scripts/install-deps.sh --demo   only what the demo needs (scripts/demo.sh): the packages of
#                                    demo_packages (gcc, python3, Open MPI); no virtual environment
#
# Not root and a package missing: names the packages and the apt-get command to run, installs
# nothing, exits 1. No apt-get (not Debian or Ubuntu): names what to install, exits 1 (with --demo
# it goes on when the commands the demo runs are all there). Rust is not a Debian package here:
# cargo (1.90 or later) comes from rustup, and its absence is reported, not repaired.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# What scripts/demo.sh uses: it builds envtrack and runs examples/ (Python, Open MPI's mpirun and
# examples/fake-ssh, a bash script).
demo_packages=(
  build-essential  # gcc and the C library's headers: cargo links with cc, the preload's C shim, gcc's libgcc_eh.a
  python3          # examples/train.py and its ranks (examples/worker.py)
  openmpi-bin      # Open MPI 4's mpirun, which train.py starts its ranks with
)
# The commands the demo runs from those packages: on a system without apt-get, --demo goes on
# when they are all on PATH.
demo_commands=(cc python3 mpirun)

# What the test suite uses besides the demo's packages.
test_packages=(
  valgrind         # memcheck runs and instruction counts
  # Real launchers for the end-to-end tests (tests/src/launchers/)
  mpich            # MPICH 4: mpiexec.hydra
  slurmctld slurmd slurm-client munge  # a one-node Slurm started by the tests
  libslurm-dev     # slurm/slurm_version.h: the Slurm release the plugin (spank/) is built for
  openssh-server openssh-client        # a loopback sshd started by the tests
  python3-venv     # the virtual environments from PyPI (tests/launchers/venvs.txt)
  pdsh             # DeepSpeed's multi-node runner, through its ssh module
  tcsh fish zsh    # login shells a remote command must work under (ssh, pdsh)
  libcap2-bin      # setcap: a file capability puts a probe in secure execution
  sudo             # a change of user: tracked values must not cross it (faults_state.rs)
  debootstrap      # a Debian 11 root (glibc 2.31) for the tests of the portable build (tests/oldglibc/)
  lmod             # the example Lmod modulefile is loaded by tests/tests/dist.rs
  man-db           # man -l renders the generated manual pages (tests/tests/dist.rs)
)

say() { printf 'install-deps: %s\n' "$*" >&2; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# print_array NAME: the array's definition in this file, with a comment per package.
print_array() {
  sed -n "/^$1=(/,/^)/p" "$0" | sed '1d;$d' >&2
}

# cargo_check: says how to get Rust when cargo is missing; false then.
cargo_check() {
  command -v cargo >/dev/null && return 0
  say "cargo is not on PATH: install Rust 1.90 or later with rustup (https://rustup.rs; needs curl):"
  say "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y"
  say "then open a new shell (or: . \"\$HOME/.cargo/env\") and run this again"
  return 1
}

mode=tests
case ${1:-} in
  "") ;;
  --demo) mode=demo ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

packages=("${demo_packages[@]}")
lists=(demo_packages)
if [[ $mode == tests ]]; then
  packages+=("${test_packages[@]}")
  lists+=(test_packages)
  what="the test suite"
else
  what="the demo"
fi

if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  system=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)
  say "this script installs Debian/Ubuntu packages with apt-get, and this system (${system:-unknown}) has no apt-get."
  if [[ $mode == demo ]]; then
    absent=()
    for command in "${demo_commands[@]}"; do
      command -v "$command" >/dev/null || absent+=("$command")
    done
    if ((${#absent[@]} == 0)); then
      say "the commands the demo runs (${demo_commands[*]}) are all on PATH: going on (mpirun must be Open MPI's)"
      cargo_check || exit 1
      exit 0
    fi
    say "missing: ${absent[*]}. Install with your package manager the equivalents of these Debian packages"
    say "(a C compiler, Python 3, Open MPI):"
  else
    say "the test suite runs on Debian or Ubuntu (it starts Debian's Open MPI, MPICH, Slurm and sshd);"
    say "these are the Debian packages it needs:"
  fi
  for list in "${lists[@]}"; do print_array "$list"; done
  exit 1
fi

say "$what needs these Debian/Ubuntu packages (installed with apt-get, as root, when missing): ${packages[*]}"
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    say "missing: ${missing[*]}"
    say "install them as root: run this script as root, or"
    say "  sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}"
    cargo_check || true
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  say "all ${#packages[@]} installed"
fi

if [[ $mode == tests ]]; then
  # Python virtual environments from PyPI (Dask; Ray; mypy and vermin, which check the Python package; the Open MPI 5, MPICH 5 and Intel MPI wheels),
  # listed in tests/launchers/venvs.txt; the tests make them too when they are missing (after a
  # cargo clean). Does nothing for those already there.
  say "the Python virtual environments of tests/launchers/venvs.txt, under target/e2e/ (from PyPI, made once)"
  while read -r name requirements; do
    [[ -z $name || $name == \#* ]] && continue
    # shellcheck disable=SC2086 # the requirements are words
    "$root/scripts/make-venv.sh" "$root/target/e2e/venv-$name" $requirements
  done <"$root/tests/launchers/venvs.txt"
  # The Debian 11 root of tests/tests/old_glibc.rs (1.5 to 2.5 minutes once; nothing when it is
  # there). The tests make it too when it is missing.
  say "a Debian 11 root for the old-glibc tests, under target/e2e/ (debootstrap, made once)"
  "$root/tests/oldglibc/make-root.sh" "$root/target/e2e/root-bullseye"
fi

cargo_check
