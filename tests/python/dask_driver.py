"""A Dask driver: tracked, it sets variables, registers envtrack's nanny plugin and
prints (as JSON lines) what every worker sees before and after.

usage: dask_driver.py SCHEDULER MODULE_DIR            (sets, registers, probes)
       dask_driver.py SCHEDULER --probe               (probes only, untracked)
"""

import envtrack

if "--probe" not in __import__("sys").argv:
    envtrack.activate()

import json
import os
import sys

from distributed import Client

import envtrack.dask

# Defined in __main__, so that the task carries it by value to workers that lack this file.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")) as source:
    exec(source.read())  # noqa: S102 - defines probe()

RUN_NOTE = "it's \"quoted\", has spaces, a\ttab and $(no shell)"


def report(client, label):
    for worker, seen in sorted(client.run(probe).items()):
        print(json.dumps({"when": label, "worker": worker, **seen}), flush=True)


address = sys.argv[1]
with Client(address, timeout=30) as client:
    if sys.argv[2] == "--probe":
        report(client, "probe")
        sys.exit(0)
    report(client, "before")
    os.environ["PYTHONPATH"] = sys.argv[2]
    os.environ["MALLOC_ARENA_MAX"] = "2"
    os.environ["RUN_NOTE"] = RUN_NOTE
    os.environ["PATH"] = "/opt/envtrack-dask/bin:" + os.environ["PATH"]
    os.environ["OMP_NUM_THREADS"] = "3"  # Dask's nanny sets 1 unless told otherwise
    client.register_plugin(envtrack.dask.EnvtrackPlugin())
    report(client, "after")
