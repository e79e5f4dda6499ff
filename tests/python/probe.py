"""What a worker sees, for the Dask and Ray drivers (pickled by value with the task)."""

NAMES = ["RUN_NOTE", "MALLOC_ARENA_MAX", "PYTHONPATH", "PATH", "OMP_NUM_THREADS", "LATE"]


def probe():
    import os
    import subprocess

    try:
        import envtrack_probe_module

        module = envtrack_probe_module.WHERE
    except ImportError as error:
        module = "not importable: {}".format(error)
    with open("/proc/self/environ", "rb") as f:
        initial = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    child = subprocess.run(["sh", "-c", 'printf %s "$RUN_NOTE"'], stdout=subprocess.PIPE, check=True).stdout
    return {
        "values": {name: os.environ.get(name) for name in NAMES},
        "module": module,
        "initial_malloc_arena_max": (initial.get(b"MALLOC_ARENA_MAX") or b"").decode() or None,
        "child_run_note": child.decode(),
        "tracking": "libenvtrack.so" in os.environ.get("LD_PRELOAD", ""),
    }
