"""A worker (an MPI rank): prints what reached it."""

import os
import sys

sys.dont_write_bytecode = True  # the demo leaves no __pycache__ in examples/lib

rank = os.environ.get("OMPI_COMM_WORLD_RANK", "?")
node = os.environ.get("FAKE_NODE", "?")
try:
    import demo_helper  # importable only through the PYTHONPATH train.py set

    imported = demo_helper.greeting()
except ImportError:
    imported = "demo_helper NOT importable: PYTHONPATH did not reach this worker"
lines = [
    f"NCCL_DEBUG={os.environ.get('NCCL_DEBUG')!r}",
    f"PATH starts with {os.environ.get('PATH', '').split(':')[0]!r}",
    f"RUN_NOTE={os.environ.get('RUN_NOTE')!r}",
    imported,
]
print("\n".join(f"[rank {rank} on {node}] {line}" for line in lines), flush=True)
