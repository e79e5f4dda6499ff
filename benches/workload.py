#!/usr/bin/env python3
"""A real multi-process build inside a tracked tree: `make -j2` of a C
project this script writes (80 translation units and a link), built clean
again and again with and without the library, runs alternating so both see
the same machine.

The build starts the way it does in a job whose shell has set things up: a
shell exports 50 variables and execs make,

    bash -c 'export V1=… … V50=…; exec make -s -j2'

in both cases, so make and everything it starts (a shell per recipe, gcc,
cc1, as, collect2, ld) run in an environment 50 variables larger. With
LD_PRELOAD=libenvtrack.so given to that bash, the 50 are tracked changes:
every process of the build inherits a state of 50 records, reads it when the
library loads, and passes it on. Without, the same 50 variables and no
library. Checked before the timing: a recipe's environment holds the 50 and,
with the library, a state naming those 50 and no others but make's own
MAKEFLAGS, MAKELEVEL and MFLAGS (without, no state).

Reports the median wall times (target: with / without <= 1.03, within 3%)
and checks that both builds produce the same program. The figure is also a
row of run.sh's table (benches/results/figures/workload).

Usage: python3 benches/workload.py [RUNS]
"""

import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import envstate  # noqa: E402

UNITS = 80
EXPORTED = {f"V{i}": f"/opt/modules/software/package-{i}/1.2.3/lib" for i in range(1, 51)}
# The shell that starts make; make's arguments follow.
SHELL = "export " + " ".join(f"{name}={value}" for name, value in EXPORTED.items()) + "; exec make -s"


def write_project(directory):
    for i in range(UNITS):
        with open(os.path.join(directory, f"unit{i}.c"), "w") as f:
            f.write(f"#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n"
                    f"int unit{i}(int x) {{ char b[64]; snprintf(b, sizeof b, \"%d\", x * {i + 3});"
                    f" return (int)strlen(b) + atoi(b) % 7; }}\n")
    with open(os.path.join(directory, "main.c"), "w") as f:
        f.write("".join(f"int unit{i}(int);\n" for i in range(UNITS)))
        f.write("int main(void) { int s = 0;\n" + "".join(f"  s += unit{i}({i});\n" for i in range(UNITS)) + "  return s & 1; }\n")
    objects = " ".join(f"unit{i}.o" for i in range(UNITS))
    with open(os.path.join(directory, "Makefile"), "w") as f:
        f.write(f"CFLAGS = -O2\nprogram: main.o {objects}\n\t$(CC) -o $@ $^\n%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"
                "clean:\n\trm -f *.o program\n"
                # What a recipe's processes get (for the check; not part of the build).
                "environment:\n\t@env -0 > environment.out\n")


def environment(library):
    """The environment bash starts in."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C"}
    if library:
        env["LD_PRELOAD"] = library
    return env


def check_environment(directory, library):
    """Fails unless a recipe sees the 50 variables and, with the library, a
    state of exactly those 50 tracked changes (without it, no state)."""
    subprocess.run(["bash", "-c", SHELL + " environment"], cwd=directory, env=environment(library), check=True)
    path = os.path.join(directory, "environment.out")
    with open(path, "rb") as f:
        env = envstate.parse_environment(f.read())
    os.remove(path)
    got = {name: env.get(name.encode(), b"").decode() for name in EXPORTED}
    if got != EXPORTED:
        raise SystemExit("workload: a recipe does not see the 50 exported variables")
    try:
        state = envstate.state_of(env)
        names = None if state is None else sorted(n.decode() for n in envstate.tracked_names(state))
    except ValueError as e:
        raise SystemExit(f"workload: a recipe's ENVTRACK_STATE: {e}")
    # make's own (MAKEFLAGS, MAKELEVEL, MFLAGS) are tracked too: make sets them.
    if library and (names is None or sorted(n for n in names if not n.startswith(("MAKE", "MFLAGS"))) != sorted(EXPORTED)):
        raise SystemExit(f"workload: with the library, a recipe's state tracks "
                         f"{'nothing (no state)' if names is None else names}, not the 50 exported variables")
    if not library and state is not None:
        raise SystemExit("workload: without the library, a recipe has an ENVTRACK_STATE")


def build(directory, library):
    subprocess.run(["make", "-s", "clean"], cwd=directory, env=environment(None), check=True)
    start = time.perf_counter()
    subprocess.run(["bash", "-c", SHELL + " -j2"], cwd=directory, env=environment(library), check=True)
    elapsed = time.perf_counter() - start
    with open(os.path.join(directory, "program"), "rb") as f:
        return elapsed, hashlib.sha256(f.read()).hexdigest()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    library = benchlib.library()
    with tempfile.TemporaryDirectory() as directory:
        write_project(directory)
        check_environment(directory, None)
        check_environment(directory, library)
        build(directory, None)  # warm the caches
        plain, tracked, digests = [], [], set()
        for _ in range(runs):
            for lib, times in ((None, plain), (library, tracked)):
                elapsed, digest = build(directory, lib)
                times.append(elapsed)
                digests.add(digest)
    base, ours = statistics.median(plain), statistics.median(tracked)
    ratio = ours / base
    same = len(digests) == 1
    print(f"make -j2, {UNITS + 1} compiles and a link, 50 exported variables: without {base:.3f} s, "
          f"with libenvtrack.so (50 tracked changes) {ours:.3f} s (medians of {runs}): {100 * (ratio - 1):+.1f}% "
          f"(target within 3%) {benchlib.check(ratio, 1.03)}; {'the same program' if same else 'DIFFERENT programs'}")
    benchlib.write_rows("workload", [
        ("make -j2, 50 exported: without (s)", f"{base:.3f}", "-", "info"),
        ("make -j2, 50 tracked changes: with (s)", f"{ours:.3f}", "-", "info"),
        ("make -j2: with / without", f"{ratio:.3f}", "<= 1.03", benchlib.check(ratio, 1.03)),
        ("make -j2: the same program with and without", "yes" if same else "NO", "same", "PASS" if same else "FAIL"),
    ])


if __name__ == "__main__":
    main()
