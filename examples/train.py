"""A training script that configures its workers' environment the usual way,
through os.environ, and starts them on "nodes" whose environment is clean
(`env -i`: nothing is inherited, as on a remote node started by ssh)."""

import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))

os.environ["NCCL_DEBUG"] = "INFO"
os.environ["PATH"] = "/opt/demo/bin:" + os.environ["PATH"]
os.environ["PYTHONPATH"] = os.path.join(here, "lib")
os.environ["RUN_NOTE"] = "it's \"quoted\", has spaces and $(no shell)"

for rank in range(2):
    node = f"node{rank}"
    clean = ["env", "-i", f"FAKE_NODE={node}"]
    subprocess.run(clean + [sys.executable, os.path.join(here, "worker.py"), str(rank)], check=True)
