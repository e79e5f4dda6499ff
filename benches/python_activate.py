#!/usr/bin/env python3
"""What `envtrack.activate()` adds to a Python script's start.

Three scripts, each run as a fresh `python3 SCRIPT` with a small clean
environment, alternating (ABCABC…) so all see the same machine:

    bare      `pass`
    import    `import envtrack`
    activate  `import envtrack; envtrack.activate()`

activate() runs the interpreter again under the library (an exec), after one
`envtrack-inject apply --print-env` run: its cost is one more interpreter
start with the library loaded, plus that run. Reported: the median of each,
what `import envtrack` adds to `pass`, and what activate() adds to the
import. Target (mine): activate() adds at most one bare interpreter start
plus 25 ms.

The interpreter is /usr/bin/python3 where there is one. The package is taken
from python/ (PYTHONPATH) and envtrack-inject from the
release build (ENVTRACK_INJECT), whose libenvtrack.so is beside it. Each
activated run is checked: it must end with the library loaded.

Usage: python3 benches/python_activate.py [RUNS]   (default 30 of each)
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import RESULTS, ROOT, check, write_rows

SCRIPTS = {
    "bare": "pass\n",
    "import": "import envtrack\n",
    "activate": "import envtrack\nassert envtrack.activate(), 'not activated'\n",
}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "envtrack-inject", "-p", "envtrack-preload"],
                   cwd=ROOT, check=True)
    injector = os.path.join(ROOT, "target", "release", "envtrack-inject")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8",
           "PYTHONPATH": os.path.join(ROOT, "python"), "ENVTRACK_INJECT": injector,
           "PYTHONPYCACHEPREFIX": os.path.join(RESULTS, "pycache")}
    # Debian's Python where there is one (the one the tests' venvs use), else this one.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    times = {name: [] for name in SCRIPTS}
    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for name, text in SCRIPTS.items():
            paths[name] = os.path.join(scratch, name + ".py")
            with open(paths[name], "w") as f:
                f.write(text)
        for _ in range(runs):
            for name in SCRIPTS:
                start = time.perf_counter()
                subprocess.run([python, paths[name]], env=env, check=True)
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    imported = medians["import"] - medians["bare"]
    added = medians["activate"] - medians["import"]
    limit = medians["bare"] + 25
    for name, value in medians.items():
        print(f"  {name:9} {value:6.1f} ms (median of {runs})")
    print(f"  import envtrack adds {imported:.1f} ms; activate() adds {added:.1f} ms "
          f"(target <= one bare start + 25 ms = {limit:.1f} ms)")
    write_rows("activate", [
        ("import envtrack, added to a bare Python start", f"{imported:.1f} ms", "report", "-"),
        ("envtrack.activate(), added to the import", f"{added:.1f} ms", f"<= {limit:.1f} ms", check(added, limit)),
    ])


if __name__ == "__main__":
    main()
