#!/usr/bin/env bash
# What libenvtrack.so adds to a posix_spawn, by the size of the environment,
# for both ways a program hands a child its environment: an explicit envp,
# and its own `environ`.
#
# benches/c/spawn_env.c has K variables (K = 10 … 10000) and its
# bench_spawn() spawns /bin/true once and waits:
# - envp: with an array of K entries it built itself (posix_spawn's envp);
# - environ: with `environ`, which holds the K entries because the process
#   was started with them (via cg's CG_ENV_FILE: env -i and the K entries).
#   Inherited, so not tracked changes: the library copies the same K entries
#   as in envp mode, but reads them by its environ path (a copy of the array
#   taken under its environment lock).
# callgrind counts bench_spawn alone (--toggle-collect=bench_spawn) in the
# parent only (no --trace-children: the child is another process and runs
# natively). Under libenvtrack.so the parent builds the child's environment
# (two passes over the K entries: size, then fill) before calling the real
# posix_spawn, so libenvtrack minus no preload is the build's cost for that K.
#
# Reported for each mode: the added instructions per spawn and per variable
# for each K; the cost per variable, the slope between K=1000 and K=10000
# (target <= 500 instructions); and whether the growth is linear: that slope
# against the slope between K=100 and K=1000 (1.00 = exactly linear; target
# <= 1.25: well above 1 means the build grows faster than the environment).
set -euo pipefail
source "$(dirname "$0")/common.sh"
build
: >"$FIGURES/spawn"

sizes=(10 100 1000 10000)
for mode in envp environ; do
    note "spawn cost ($mode): one posix_spawn of /bin/true with K variables, $BENCH_RUNS runs each"
    declare -A added=()
    printf '%8s %14s %16s %16s %12s\n' K "no preload" "libenvtrack" "added" "added / K"
    for k in "${sizes[@]}"; do
        if [[ $mode == envp ]]; then
            # (the envp profiles keep the names they had before the environ mode)
            none=$(cg_median "spawn-none-$k" "" --toggle-collect=bench_spawn -- spawn_env "$k")
            envtrack=$(cg_median "spawn-envtrack-$k" libenvtrack.so --toggle-collect=bench_spawn -- spawn_env "$k")
        else
            env_file=$RESULTS/spawn-environ-$k.env
            for ((i = 0; i < k; i++)); do printf 'BENCH_K_%d=value_%d\0' "$i" "$i"; done >"$env_file"
            none=$(CG_ENV_FILE=$env_file cg_median "spawn-environ-none-$k" "" \
                --toggle-collect=bench_spawn -- spawn_env "$k" environ)
            envtrack=$(CG_ENV_FILE=$env_file cg_median "spawn-environ-envtrack-$k" libenvtrack.so \
                --toggle-collect=bench_spawn -- spawn_env "$k" environ)
        fi
        added[$k]=$((envtrack - none))
        printf '%8s %14s %16s %16s %12.0f\n' "$k" "$(thousands "$none")" "$(thousands "$envtrack")" \
            "$(thousands "${added[$k]}")" "$(calc "${added[$k]} / $k")"
        row spawn "spawn $mode K=$k: libenvtrack adds (instr)" "$(thousands "${added[$k]}")" "-" "info"
    done

    low=$(calc "(${added[1000]} - ${added[100]}) / 900")
    high=$(calc "(${added[10000]} - ${added[1000]}) / 9000")
    fixed=$(calc "${added[10]} - 10 * $low")
    growth=$(calc "$high / $low")
    printf 'per variable: %.0f instr (K 100->1000), %.0f instr (K 1000->10000); fixed part per spawn ~%.0f instr\n\n' \
        "$low" "$high" "$fixed"
    row spawn "spawn $mode: added per variable (instr)" "$(printf '%.0f' "$high")" "<= 500" "$(check "$high" '<=' 500)"
    row spawn "spawn $mode: added per spawn, fixed (instr)" "$(thousands "$(printf '%.0f' "$fixed")")" "-" "info"
    row spawn "spawn $mode: slope 1k-10k / slope 100-1k" "$(printf '%.2f' "$growth")" "<= 1.25" "$(check "$growth" '<=' 1.25)"
done
standalone_table spawn
