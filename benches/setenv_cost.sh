#!/usr/bin/env bash
# What libenvtrack.so's setenv hook adds to each setenv call.
#
# benches/c/setenv_loop.c sets 1000 variables, warms up, then its bench_loop()
# calls setenv N times round-robin over them. callgrind counts bench_loop
# alone (--toggle-collect=bench_loop, which includes everything it calls:
# glibc's setenv, and the hook when preloaded); divided by N that is the cost
# of one steady-state setenv. Compared: no preload (glibc's own setenv) and
# libenvtrack.so (the hook: the real setenv, then recording the change).
# Target: libenvtrack / glibc <= 1.5.
#
# glibc's setenv scans the whole environment for the name (and looks the
# "NAME=VALUE" string up in a tree), so its cost grows with the environment:
# with these 1000 variables it is some 20k instructions a call. The hook's own
# cost (also reported) is what to watch; the ratio is for this environment.
#
# BENCH_SETENV_N sets N (default 100000, a multiple of 1000; callgrind runs
# about 20k instructions per glibc setenv at some 50x native, so ~13 s a run).
set -euo pipefail
source "$(dirname "$0")/common.sh"
build
: >"$FIGURES/setenv"

n=${BENCH_SETENV_N:-100000}
note "setenv cost: $n setenv calls over 1000 variables, $BENCH_RUNS runs each"
glibc=$(cg_median setenv-none "" --toggle-collect=bench_loop -- setenv_loop "$n")
envtrack=$(cg_median setenv-envtrack libenvtrack.so --toggle-collect=bench_loop -- setenv_loop "$n")

per_glibc=$(calc "$glibc / $n")
per_envtrack=$(calc "$envtrack / $n")
ratio=$(calc "$envtrack / $glibc")
printf '%-32s %14s %14s\n' "bench_loop, preload" instructions "per setenv"
printf '%-32s %14s %14.0f\n' "none (glibc setenv)" "$(thousands "$glibc")" "$per_glibc"
printf '%-32s %14s %14.0f\n' "libenvtrack.so" "$(thousands "$envtrack")" "$per_envtrack"

row setenv "setenv: glibc (instr/call)" "$(printf '%.0f' "$per_glibc")" "-" "info"
row setenv "setenv: libenvtrack (instr/call)" "$(printf '%.0f' "$per_envtrack")" "-" "info"
row setenv "setenv: hook adds (instr/call)" "$(printf '%.0f' "$(calc "$per_envtrack - $per_glibc")")" "-" "info"
row setenv "setenv: libenvtrack / glibc" "$(printf '%.2f' "$ratio")" "<= 1.5" "$(check "$ratio" '<=' 1.5)"
standalone_table setenv
