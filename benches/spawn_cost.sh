#!/usr/bin/env bash
# What libenvtrack.so adds to a posix_spawn, by the size of the environment.
#
# benches/c/spawn_env.c builds an environment of K variables and its
# bench_spawn() spawns /bin/true once with it and waits. callgrind counts
# bench_spawn alone (--toggle-collect=bench_spawn) in the parent only (no
# --trace-children: the child is another process and runs natively). Under
# libenvtrack.so the parent builds the child's environment (two passes over
# the K entries: size, then fill) before calling the real posix_spawn, so
# libenvtrack minus no preload is the build's cost for that K.
#
# Reported: the added instructions per spawn and per variable for each K,
# and whether the growth is linear: the per-variable slope between K=1000 and
# K=10000 against the slope between K=100 and K=1000 (1.00 = exactly linear;
# well above 1 means the build grows faster than the environment). No target
# is given for the absolute figures; the slope check is ours.
set -euo pipefail
source "$(dirname "$0")/common.sh"
build
: >"$FIGURES/spawn"

sizes=(10 100 1000 10000)
note "spawn cost: one posix_spawn of /bin/true with K variables, $BENCH_RUNS runs each"
declare -A added
printf '%8s %14s %16s %16s %12s\n' K "no preload" "libenvtrack" "added" "added / K"
for k in "${sizes[@]}"; do
    none=$(cg_median "spawn-none-$k" "" --toggle-collect=bench_spawn -- spawn_env "$k")
    envtrack=$(cg_median "spawn-envtrack-$k" libenvtrack.so --toggle-collect=bench_spawn -- spawn_env "$k")
    added[$k]=$((envtrack - none))
    printf '%8s %14s %16s %16s %12.0f\n' "$k" "$(thousands "$none")" "$(thousands "$envtrack")" \
        "$(thousands "${added[$k]}")" "$(calc "${added[$k]} / $k")"
    row spawn "spawn K=$k: libenvtrack adds (instr)" "$(thousands "${added[$k]}")" "-" "info"
done

low=$(calc "(${added[1000]} - ${added[100]}) / 900")
high=$(calc "(${added[10000]} - ${added[1000]}) / 9000")
fixed=$(calc "${added[10]} - 10 * $low")
growth=$(calc "$high / $low")
printf 'per variable: %.0f instr (K 100->1000), %.0f instr (K 1000->10000); fixed part per spawn ~%.0f instr\n' \
    "$low" "$high" "$fixed"
row spawn "spawn: added per variable (instr)" "$(printf '%.0f' "$high")" "-" "info"
row spawn "spawn: added per spawn, fixed (instr)" "$(thousands "$(printf '%.0f' "$fixed")")" "-" "info"
row spawn "spawn: slope 1k-10k / slope 100-1k" "$(printf '%.2f' "$growth")" "<= 1.25" "$(check "$growth" '<=' 1.25)"
standalone_table spawn
