#!/usr/bin/env python3
"""A real multi-process build under the library: `make -j2` of a C project
this script writes (80 translation units and a link), built clean again and
again with and without LD_PRELOAD=libenvtrack.so, runs alternating so both see
the same machine. Reports the median wall times (target: within 3%) and
checks that both builds produce the same program.

Usage: python3 benches/workload.py [RUNS]
"""

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = os.path.join(ROOT, "target/release/libenvtrack.so")
UNITS = 80


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
                "clean:\n\trm -f *.o program\n")


def build(directory, preload):
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C"}
    if preload:
        env["LD_PRELOAD"] = LIBRARY
    subprocess.run(["make", "-s", "clean"], cwd=directory, env=env, check=True)
    start = time.perf_counter()
    subprocess.run(["make", "-s", "-j2"], cwd=directory, env=env, check=True)
    elapsed = time.perf_counter() - start
    with open(os.path.join(directory, "program"), "rb") as f:
        return elapsed, hashlib.sha256(f.read()).hexdigest()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    if not os.path.exists(LIBRARY):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "envtrack-preload"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as directory:
        write_project(directory)
        build(directory, False)  # warm the caches
        plain, tracked, digests = [], [], set()
        for _ in range(runs):
            for preload, times in ((False, plain), (True, tracked)):
                elapsed, digest = build(directory, preload)
                times.append(elapsed)
                digests.add(digest)
    base, ours = statistics.median(plain), statistics.median(tracked)
    same = "the same program" if len(digests) == 1 else "DIFFERENT programs"
    print(f"make -j2, {UNITS + 1} compiles and a link: without {base:.3f} s, with libenvtrack.so {ours:.3f} s "
          f"(medians of {runs}): {100 * (ours / base - 1):+.1f}% (target within 3%) "
          f"{'PASS' if ours / base <= 1.03 else 'FAIL'}; {same}")


if __name__ == "__main__":
    main()
