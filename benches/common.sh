# Shared by the benchmark scripts; source it, don't run it.
#
# Every figure is an instruction count from `valgrind --tool=callgrind`:
# deterministic, so comparable across runs on a noisy machine. Nothing here
# is timed. Each measurement runs BENCH_RUNS times (default 3) and reports
# the median.

set -euo pipefail
shopt -s inherit_errexit # and inside $(…)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

RESULTS=$BENCH_DIR/results # gitignored
BIN=$RESULTS/bin           # everything a measured process loads from us
FIGURES=$RESULTS/figures   # one file of table rows per measurement script
BENCH_RUNS=${BENCH_RUNS:-3}

for tool in cargo gcc valgrind callgrind_annotate strip ldd python3; do
    command -v "$tool" >/dev/null || { printf 'benches: %s is needed and not on PATH\n' "$tool" >&2; exit 1; }
done
VALGRIND=$(command -v valgrind)

# Progress and details go to stdout; failures to stderr.
note() { printf '%s\n' "$*"; }
fail() { printf 'benches: %s\n' "$*" >&2; }

# Builds libenvtrack.so (release) and the C programs and libraries into $BIN.
# run.sh builds once and exports BENCH_BUILT=1; a script run on its own builds.
build() {
    if [[ ${BENCH_BUILT:-} == 1 ]]; then return; fi
    mkdir -p "$BIN" "$FIGURES"
    note "building libenvtrack.so (cargo build --release -p envtrack-preload)"
    cargo build --release -p envtrack-preload --quiet
    local target
    target=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    cp "$target/release/libenvtrack.so" "$BIN/libenvtrack.so"
    # The release artifact, linked for glibc 2.17 (cargo-zigbuild): no DT_RELR, which the
    # native build uses, so its load cost is measured too.
    note "building the portable libenvtrack.so (scripts/build-portable.sh)"
    local portable
    portable=$(scripts/build-portable.sh 2>"$RESULTS/build-portable.log") ||
        { fail "scripts/build-portable.sh failed; see $RESULTS/build-portable.log"; return 1; }
    cp "$portable/libenvtrack.so" "$BIN/libenvtrack-portable.so"
    note "building the C baselines and benchmark programs (gcc -O2)"
    gcc -O2 -Wall -Wextra -shared -fPIC -o "$BIN/libempty.so" benches/c/empty_preload.c
    gcc -O2 -Wall -Wextra -shared -fPIC -o "$BIN/libbaseline.so" benches/c/baseline_preload.c
    gcc -O2 -Wall -Wextra -o "$BIN/setenv_loop" benches/c/setenv_loop.c
    gcc -O2 -Wall -Wextra -o "$BIN/spawn_env" benches/c/spawn_env.c
    # A copy, not a link: $ORIGIN (below) is the directory of the real file.
    cp /bin/true "$BIN/true"
}

# cg NAME PRELOAD [CALLGRIND_OPTION...] -- PROGRAM [ARG...]
#
# Runs PROGRAM (a file in $BIN) under callgrind, without --trace-children (a
# spawned or exec'd child runs natively and counts nothing), and prints its
# instruction total. PRELOAD is a library in $BIN, or "" for none. Output goes
# to $RESULTS/NAME.callgrind (kept for callgrind_annotate) and NAME.log.
#
# The environment is fixed (env -i) so every variant sees the same one:
# PATH=/usr/bin:/bin LC_ALL=C, or, when CG_ENV_FILE names a file, the
# NUL-separated NAME=VALUE entries in it (as `env -0` writes them), in their
# order. An LD_PRELOAD entry in the file is replaced where it stands by
# PRELOAD's (below), or dropped when PRELOAD is ""; so one captured
# environment serves every variant.
#
# The preload is given as LD_PRELOAD='$ORIGIN/lib…' and the program lives
# next to the library in $BIN. Why: valgrind's launcher (a shell script and
# valgrind.bin on Debian) runs with the caller's LD_PRELOAD before the tool
# starts the client. With an absolute path libenvtrack.so would load into the
# launcher, track what the launcher sets (LD_LIBRARY_PATH, VALGRIND_LAUNCHER…)
# and hand the client an ENVTRACK_STATE to decode, which the C baselines never
# pay. '$ORIGIN' is the directory of the executable: the launcher, in
# /usr/bin, finds nothing there (ld.so prints "cannot be preloaded: ignored"
# into the log), the client in $BIN loads the library. Every preload variant
# is given the same way, so ld.so's $ORIGIN expansion costs them all alike.
cg() {
    local name=$1 preload=$2
    shift 2
    local options=()
    while [[ $1 != -- ]]; do
        options+=("$1")
        shift
    done
    shift
    local program=$BIN/$1
    shift
    local out=$RESULTS/$name.callgrind log=$RESULTS/$name.log
    local env=(PATH=/usr/bin:/bin LC_ALL=C)
    if [[ -n ${CG_ENV_FILE:-} ]]; then
        local entries=() entry placed=
        mapfile -d '' entries <"$CG_ENV_FILE"
        env=()
        for entry in "${entries[@]}"; do
            if [[ $entry != [A-Za-z_]*=* ]]; then # env(1) would take it for the program
                fail "$name: $CG_ENV_FILE: not a NAME=VALUE entry: ${entry:0:80}"
                return 1
            fi
            if [[ $entry == LD_PRELOAD=* ]]; then
                if [[ -n $preload && -z $placed ]]; then env+=("LD_PRELOAD=\$ORIGIN/$preload"); fi
                placed=1
            else
                env+=("$entry")
            fi
        done
        if [[ -n $preload && -z $placed ]]; then env+=("LD_PRELOAD=\$ORIGIN/$preload"); fi
    elif [[ -n $preload ]]; then
        env+=("LD_PRELOAD=\$ORIGIN/$preload")
    fi
    rm -f "$out"
    if ! env -i "${env[@]}" "$VALGRIND" --tool=callgrind --trace-children=no \
        --callgrind-out-file="$out" "${options[@]}" "$program" "$@" >"$log" 2>&1; then
        fail "$name failed; the end of $log:"
        tail -n 20 "$log" >&2
        return 1
    fi
    # A preload that failed to load would measure as free: require that the
    # profile names it among the objects that ran code (ob=, or cob= for a
    # callee's object; either may be the first to name it).
    if [[ -n $preload ]] && ! awk -v want=" $BIN/$preload" \
        '/^c?ob=/ && substr($0, length($0) - length(want) + 1) == want {found = 1} END {exit !found}' "$out"; then
        fail "$name: $preload did not load into $program (see $log)"
        return 1
    fi
    # The totals: line (summary: in older formats) holds the collected events.
    awk '/^totals:/ {t = $2} /^summary:/ {s = $2} END {if (t != "") print t; else if (s != "") print s; else exit 1}' "$out"
}

# cg_median NAME PRELOAD ... — cg BENCH_RUNS times (as NAME.1, NAME.2, …),
# printing the median total. Runs that differ are noted with their spread.
cg_median() {
    local name=$1
    shift
    local totals=() i
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        totals+=("$(cg "$name.$i" "$@")")
    done
    local sorted
    sorted=$(printf '%s\n' "${totals[@]}" | sort -n)
    local min max median
    min=$(head -n 1 <<<"$sorted")
    max=$(tail -n 1 <<<"$sorted")
    median=$(sed -n "$(((BENCH_RUNS + 1) / 2))p" <<<"$sorted")
    if [[ $min != "$max" ]]; then # (to stderr: stdout is the caller's value)
        printf '  %s: runs differ: %s(median %s)\n' "$name" "$(tr '\n' ' ' <<<"$sorted")" "$median" >&2
    fi
    echo "$median"
}

# calc EXPRESSION — floating-point arithmetic.
calc() { awk "BEGIN { print $* }"; }

# check VALUE OP LIMIT — PASS or FAIL.
check() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? v <= l : (op == "<") ? v < l : 0; print ok ? "PASS" : "FAIL" }'; }

# row FILE FIGURE VALUE TARGET STATUS — one line of run.sh's table.
row() { printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" >>"$FIGURES/$1"; }

# Commas for large counts.
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }

# table FIGURE_FILE... — the rows of the given figure files, aligned.
table() {
    {
        printf 'figure\tvalue\ttarget\tresult\n'
        cat "$@"
    } | awk -F '\t' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        END {
            for (r = 1; r <= NR; r++) {
                printf "%-" w[1] "s  %" w[2] "s  %-" w[3] "s  %s\n", cell[r, 1], cell[r, 2], cell[r, 3], cell[r, 4]
                if (r == 1) { for (i = 1; i <= w[1] + w[2] + w[3] + 12; i++) printf "-"; printf "\n" }
            }
        }'
}

# At the end of a measurement script run on its own: its rows as a table.
standalone_table() {
    if [[ ${BENCH_BUILT:-} != 1 ]]; then
        echo
        table "$FIGURES/$1"
    fi
}
