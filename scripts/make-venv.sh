#!/bin/bash
# make-venv.sh VENV REQUIREMENT...: makes VENV, a Python virtual environment with the given PyPI
# requirements: the end-to-end tests' (Dask; the MPI launchers' wheels) and the build tools'
# (scripts/build-portable.sh). Does nothing if VENV is
# already complete with the same requirements; safe to run concurrently (a lock file beside VENV
# serialises the runs). Needs python3-venv and PyPI.
set -euo pipefail

venv=${1:?usage: make-venv.sh VENV REQUIREMENT...}
shift
(($#)) || { echo "make-venv: no requirements for $venv" >&2; exit 2; }
wanted="$*"

mkdir -p "$(dirname "$venv")"
exec 9>>"$venv.lock"
flock 9
[[ -e $venv/.complete && $(<"$venv/.complete") == "$wanted" ]] && exit 0

# Debian's python3 (the one python3-venv is for), not whatever python3 comes first on PATH.
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)

echo "make-venv: creating $venv ($wanted)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" >&2
printf '%s' "$wanted" >"$venv/.complete"
