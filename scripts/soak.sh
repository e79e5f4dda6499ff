#!/usr/bin/env bash
# Soak: N child launches under libenvtrack.so while other threads keep
# changing the environment — three quarters from a C program (posix_spawn,
# fork + execv, system(), bash, in turn, from two threads), a quarter from
# Python's subprocess (vfork) — each child checking that it got a consistent
# tracked set. Reports hangs, crashes, wrong environments and the parents'
# memory growth; exits non-zero if any of the first three is not zero.
#
#   bash scripts/soak.sh 100000      # the long run
#   bash scripts/soak.sh 10000       # the form the test suite runs
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-100000}
library=$PWD/target/release/libenvtrack.so
[[ -f $library ]] || cargo build --release --quiet -p envtrack-preload
bin=target/e2e/soak
mkdir -p "$bin"
cc -O1 -o "$bin/stress" tests/programs/stress.c -lpthread
cc -O1 -o "$bin/check_child" tests/programs/check_child.c
c_launches=$((total * 3 / 4))
py_launches=$((total - c_launches))
limit=$((60 + total / 25))  # seconds: a run that takes longer has hung (Python at ~20 launches/s)

status=0
run() {
    local what=$1
    shift
    local out code=0
    out=$(timeout "$limit" env -i PATH=/usr/bin:/bin HOME="$HOME" LD_PRELOAD="$library" "$@" 2>/dev/null) || code=$?
    if ((code == 124)); then
        echo "$what: HUNG (no result within ${limit}s)"
        status=1
    elif ((code != 0)); then
        echo "$what: CRASHED (exit status $code)"
        status=1
    else
        echo "$what: $out"
        [[ $out == *" failures=0 "* ]] || status=1
    fi
}
start=$SECONDS
run "C (posix_spawn, fork+execv, system, bash)" "$bin/stress" "$PWD/$bin/check_child" $((c_launches / 2))
run "Python subprocess (vfork)" /usr/bin/python3 tests/soak/python_churn.py "$PWD/$bin/check_child" "$py_launches"
echo "soak: $total launches in $((SECONDS - start)) s: $([[ $status == 0 ]] && echo "no hang, no crash, no wrong environment" || echo FAILED)"
exit $status
