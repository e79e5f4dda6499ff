/* setenv's steady-state cost, with and without a preload.
 *
 * Usage: setenv_loop N
 *
 * main() sets NVARS distinct variables (BENCH_VAR_0 .. BENCH_VAR_999, none of
 * them inherited) and then warms up: it gives every variable every value of
 * the small fixed set once. glibc keeps every "NAME=VALUE" string setenv ever
 * made and reuses it, and a preload's tables see every name, so after the
 * warm-up nothing grows and every call in the measured loop does the same kind
 * of work.
 *
 * bench_loop() then calls setenv(key, value, 1) N times, round-robin over the
 * keys; each round moves every key to the next value of the set, so each call
 * really changes the variable. run.sh measures bench_loop alone with
 * `valgrind --tool=callgrind --toggle-collect=bench_loop` and divides its
 * instruction count by N: instructions per setenv.
 *
 * Build: gcc -O2 -o setenv_loop setenv_loop.c */
#include <stdio.h>
#include <stdlib.h>

#define NVARS 1000
#define NVALUES 4

static char keys[NVARS][32];
static const char *const values[NVALUES] = {
    "bench-value-alpha",
    "bench-value-bravo",
    "bench-value-charlie",
    "bench-value-delta",
};

static int check(int status, const char *what) {
    if (status != 0) {
        perror(what);
        exit(1);
    }
    return status;
}

/* Measured: N setenv calls, nothing else but the loop. Keys round-robin; the
 * value index advances by one per round (and differs between neighbouring
 * keys), so a key never gets the value it already has. */
__attribute__((noinline, noclone)) void bench_loop(long n) {
    int key = 0, round = 0;
    for (long i = 0; i < n; i++) {
        check(setenv(keys[key], values[(key + round) % NVALUES], 1), "setenv");
        if (++key == NVARS) {
            key = 0;
            round++;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s N\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n <= 0 || n % NVARS != 0) {
        fprintf(stderr, "%s: N must be a positive multiple of %d\n", argv[0], NVARS);
        return 2;
    }
    for (int k = 0; k < NVARS; k++) {
        snprintf(keys[k], sizeof keys[k], "BENCH_VAR_%d", k);
        check(setenv(keys[k], "bench-initial", 1), "setenv");
    }
    /* Warm-up: every (key, value) pair once, the last round leaving key k
     * with values[(k + NVALUES - 1) % NVALUES]; bench_loop's round 0 then
     * moves it to values[k % NVALUES], a change. */
    for (int round = 0; round < NVALUES; round++)
        for (int k = 0; k < NVARS; k++)
            check(setenv(keys[k], values[(k + round) % NVALUES], 1), "setenv");
    bench_loop(n);
    return 0;
}
