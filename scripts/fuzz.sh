#!/usr/bin/env bash
# Fuzzes every target (or those named) for SECONDS each with AFL++ through
# cargo-afl, on the stable toolchain, two targets at a time (one per core).
# Inputs that crash or hang are copied into fuzz/regressions/TARGET/, which
# the normal test suite replays (tests/tests/fuzz_regressions.rs).
#
#   bash scripts/fuzz.sh 600                      # ten minutes each
#   bash scripts/fuzz.sh 60 snapshot_decode diff_apply
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
((${#targets[@]})) || targets=(snapshot_decode directive_file diff_apply launcher_rewrite)

command -v cargo-afl >/dev/null || cargo install --locked cargo-afl
(cd fuzz/targets && cargo afl build --release --quiet)

export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
run() {
    local target=$1 out=fuzz/out/$1
    rm -rf "$out"
    cargo afl fuzz -i "fuzz/seeds/$target" -o "$out" -V "$seconds" "fuzz/targets/target/release/$target" \
        > "fuzz/out/$target.log" 2>&1 || true
    local stats=$out/default/fuzzer_stats
    local execs crashes hangs
    execs=$(awk -F': *' '$1 ~ /execs_done/ {print $2}' "$stats" 2>/dev/null || echo "?")
    crashes=$(find "$out/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
    hangs=$(find "$out/default/hangs" -name 'id:*' 2>/dev/null | wc -l)
    for found in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
        [[ -e $found ]] && cp "$found" "fuzz/regressions/$target/$(basename "$found" | tr ':,' '__')"
    done
    printf '%-18s %6ss  %12s execs  %s crashes  %s hangs\n' "$target" "$seconds" "$execs" "$crashes" "$hangs"
}
mkdir -p fuzz/out
pids=()
for target in "${targets[@]}"; do
    run "$target" &
    pids+=($!)
    if ((${#pids[@]} == 2)); then
        wait "${pids[@]}"
        pids=()
    fi
done
if ((${#pids[@]})); then
    wait "${pids[@]}"
fi
