"""A rank (or worker) that reports what reached it, as one JSON line:
its node, the variables named in REPORT_NAMES (bytes as latin-1 so any
byte survives), whether tracking is active, and whether any process's
command line on this machine holds the value of SECRET_VALUE (it never
should)."""

import json
import os
import sys

names = os.environ.get("REPORT_NAMES", "").split(",")
secret = os.environb.get(b"SECRET_VALUE")
leaks = []
if secret:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if secret in f.read():
                        leaks.append(pid)
            except OSError:
                pass
report = {
    "node": os.environ.get("FAKE_NODE", "local"),
    "rank": os.environ.get("OMPI_COMM_WORLD_RANK") or os.environ.get("PMI_RANK") or os.environ.get("SLURM_PROCID"),
    "values": {n: (os.environb[n.encode()].decode("latin-1") if n.encode() in os.environb else None) for n in names if n},
    "tracked": b"libenvtrack.so" in os.environb.get(b"LD_PRELOAD", b"") and b"ENVTRACK_STATE" in os.environb,
    "cmdline_leaks": leaks,
    "argv": sys.argv[1:],
}
print("REPORT " + json.dumps(report), flush=True)
