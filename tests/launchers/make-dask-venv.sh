#!/bin/bash
# make-dask-venv.sh VENV: makes VENV, a Python virtual environment with Dask's scheduler and worker
# (dask, distributed), for the end-to-end tests. Does nothing if VENV is already complete; safe to
# run concurrently (a lock file beside VENV serialises the runs). Needs python3-venv and PyPI.
set -euo pipefail

venv=${1:?usage: make-dask-venv.sh VENV}
# The versions the launcher tests were written against (Python 3.11, Debian 12).
requirements=(dask==2026.8.0 distributed==2026.8.0)

mkdir -p "$(dirname "$venv")"
exec 9>>"$venv.lock"
flock 9
[[ -e $venv/.complete ]] && exit 0

# Debian's python3 (the one python3-venv is for), not whatever python3 comes first on PATH.
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)

echo "make-dask-venv: creating $venv (${requirements[*]})" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${requirements[@]}" >&2
"$venv/bin/python" -c 'import dask, distributed' >&2
touch "$venv/.complete"
