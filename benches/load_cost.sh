#!/usr/bin/env bash
# What LD_PRELOAD=libenvtrack.so adds to the start of every process it is in,
# against an empty preload and a C preload with the same hooks (benches/c/).
#
# Figures (all instruction counts under callgrind, median of BENCH_RUNS runs):
# - /bin/true with no preload, the empty C preload, the C baseline preload,
#   and libenvtrack.so; each preload's "added" is its count minus no preload's.
#   /bin/true does nothing, so the count is the dynamic loader's work
#   (mapping, relocating, binding symbols) plus the constructors: the price of
#   starting every process of a tracked job.
# - libenvtrack-added / baseline-added (target <= 1.25): how much more than
#   the least a preload with these 15 hooks must cost; for the native build
#   (cargo build: DT_RELR, this machine's glibc) and for the portable release
#   build (scripts/build-portable.sh: glibc 2.17, no DT_RELR).
# - ldd of libenvtrack.so (target: libc.so.6 alone) and its size after
#   strip (target < 65536 bytes): what every process maps.
set -euo pipefail
source "$(dirname "$0")/common.sh"
build
: >"$FIGURES/load"

note "load cost: /bin/true under callgrind, $BENCH_RUNS runs per preload"
declare -A total
for variant in none empty baseline envtrack portable; do
    case $variant in
        none) preload= ;;
        empty) preload=libempty.so ;;
        baseline) preload=libbaseline.so ;;
        envtrack) preload=libenvtrack.so ;;
        portable) preload=libenvtrack-portable.so ;;
    esac
    total[$variant]=$(cg_median "load-$variant" "$preload" -- true)
done

# Where the added instructions go, from one run's profile: ld.so's relocation
# (binding every imported symbol the library's relocations name) and the
# constructors (_dl_init). Best effort: needs ld.so's symbols (Debian's have them).
inclusive() {
    callgrind_annotate --inclusive=yes "$RESULTS/$1.1.callgrind" 2>/dev/null |
        awk -v fn="$2" '{ for (i = 2; i <= NF; i++) if ($i ~ ":" fn "$") { gsub(",", "", $1); if ($1 + 0 > best) best = $1 + 0 } }
                        END { print best + 0 }'
}
declare -A reloc init
for variant in none empty baseline envtrack portable; do
    reloc[$variant]=$(inclusive "load-$variant" _dl_relocate_object)
    init[$variant]=$(inclusive "load-$variant" _dl_init)
done

printf '\n%-24s %12s %12s %14s %14s %12s\n' "/bin/true, preload" instructions added "of which reloc" "of which ctors" "other"
for variant in none empty baseline envtrack portable; do
    added=$((total[$variant] - total[none]))
    r=$((reloc[$variant] - reloc[none]))
    i=$((init[$variant] - init[none]))
    printf '%-24s %12s %12s %14s %14s %12s\n' "$variant" "$(thousands "${total[$variant]}")" \
        "$(thousands $added)" "$(thousands $r)" "$(thousands $i)" "$(thousands $((added - r - i)))"
done

baseline_added=$((total[baseline] - total[none]))
envtrack_added=$((total[envtrack] - total[none]))
ratio=$(calc "$envtrack_added / $baseline_added")
row load "load: empty preload adds (instr)" "$(thousands $((total[empty] - total[none])))" "-" "info"
row load "load: C baseline adds (instr)" "$(thousands $baseline_added)" "-" "info"
row load "load: libenvtrack adds (instr)" "$(thousands $envtrack_added)" "-" "info"
row load "load: libenvtrack / baseline added" "$(printf '%.2f' "$ratio")" "<= 1.25" "$(check "$ratio" '<=' 1.25)"
portable_added=$((total[portable] - total[none]))
portable_ratio=$(calc "$portable_added / $baseline_added")
row load "load: portable libenvtrack adds (instr)" "$(thousands $portable_added)" "-" "info"
row load "load: portable / baseline added" "$(printf '%.2f' "$portable_ratio")" "<= 1.25" "$(check "$portable_ratio" '<=' 1.25)"

# Shared-library dependencies: ldd lists the loader and the vDSO too; the
# target is that libc.so.6 is the only real library.
so=$BIN/libenvtrack.so
note ""
note "ldd libenvtrack.so:"
ldd "$so" | sed 's/^[[:space:]]*/  /'
needed=$(ldd "$so" | awk '$1 !~ /^linux-(vdso|gate)/ && $1 !~ /ld-linux/ {print $1}' | sort | tr '\n' ' ' | sed 's/ $//')
row load "ldd libenvtrack.so" "${needed:-none}" "libc.so.6" "$([[ $needed == libc.so.6 ]] && echo PASS || echo FAIL)"

# Size after strip: what the release build should already be (it links with
# --strip-all); stripping a copy makes the figure independent of that.
strip -o "$RESULTS/libenvtrack.stripped.so" "$so"
size=$(stat -c %s "$RESULTS/libenvtrack.stripped.so")
note "libenvtrack.so: $(stat -c %s "$so") bytes as built, $size after strip"
row load "libenvtrack.so stripped (bytes)" "$size" "< 65536" "$(check "$size" '<' 65536)"
standalone_table load
