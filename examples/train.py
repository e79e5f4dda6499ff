"""A training script that configures its workers' environment the usual way,
through os.environ, and starts them with Open MPI's mpirun on two nodes whose
environment is clean (examples/fake-ssh stands in for ssh: it runs each
node's command with nothing inherited, as sshd does). No -x option anywhere."""

import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))

os.environ["NCCL_DEBUG"] = "INFO"
os.environ["PATH"] = "/opt/demo/bin:" + os.environ["PATH"]
os.environ["PYTHONPATH"] = os.path.join(here, "lib")
os.environ["RUN_NOTE"] = "it's \"quoted\", has spaces and $(no shell)"

subprocess.run(
    [
        "mpirun", "--allow-run-as-root", "--oversubscribe", "-n", "2", "--host", "nodeA,nodeB",
        "--mca", "plm_rsh_agent", os.path.join(here, "fake-ssh"),
        sys.executable, os.path.join(here, "worker.py"),
    ],
    check=True,
)
