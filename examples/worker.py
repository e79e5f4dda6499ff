"""A worker: prints what reached it."""

import os
import sys

rank = sys.argv[1]
node = os.environ.get("FAKE_NODE", "?")
try:
    import demo_helper  # importable only through the PYTHONPATH train.py set

    imported = demo_helper.greeting()
except ImportError:
    imported = "demo_helper NOT importable: PYTHONPATH did not reach this worker"
print(f"[rank {rank} on {node}] NCCL_DEBUG={os.environ.get('NCCL_DEBUG')!r}")
print(f"[rank {rank} on {node}] PATH starts with {os.environ.get('PATH', '').split(':')[0]!r}")
print(f"[rank {rank} on {node}] RUN_NOTE={os.environ.get('RUN_NOTE')!r}")
print(f"[rank {rank} on {node}] {imported}", flush=True)
