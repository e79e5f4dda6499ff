#!/usr/bin/env python3
"""What the library adds to a Python program's subprocess.run, the way most
Python code starts a child, in a realistic environment.

A parent Python with 400 environment variables (the size of a login on a
cluster after a few modules: Slurm's, Open MPI's, EasyBuild's EBROOT*/
EBVERSION* pairs and the like, 20-60 bytes each) runs

    subprocess.run(["/bin/true"], env=that_env)

again and again, that_env being the same 400 variables. Python's subprocess
execs the child (vfork, then execve) through the C library, so with
LD_PRELOAD=libenvtrack.so in the parent it is the parent's hooks that build
the child's environment: copying the 400 entries, putting LD_PRELOAD back
(that_env has none) and writing the state. The child, /bin/true, then loads
the library too, as every process of a tracked tree does. Both costs are in
the figure: the whole call, as the program sees it.

Each batch is a fresh parent (this script, run with --batch), started with
exactly those 400 variables, and with LD_PRELOAD=<the release
libenvtrack.so> for the "with" batches; it times CALLS calls one by one.
Batches alternate without/with (ABAB…), so both see the same machine.
Reported: the median time per call of each (over all calls of its batches)
and their ratio. Target: with / without <= 1.10.

Each parent checks what it measures, and the script stops with an error if
it is wrong: its environment is the 400 variables (and LD_PRELOAD in the
"with" case); the library is in its /proc/self/maps or, without, is not; and
a child it starts sees an ENVTRACK_STATE or, without, none.

Usage: python3 benches/python_subprocess.py [PAIRS [CALLS]]
    PAIRS batches of each (default 10) of CALLS calls (default 300); the
    default takes some 30 s on a 2-core machine.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

VARIABLES = 400
WARMUP = 20  # untimed calls at the start of each batch

PACKAGES = [
    "GCCcore", "binutils", "zlib", "OpenMPI", "UCX", "libfabric", "PMIx", "hwloc", "CUDA", "cuDNN",
    "NCCL", "Python", "SciPy-bundle", "HDF5", "netCDF", "FFTW", "OpenBLAS", "ScaLAPACK", "Boost",
    "CMake", "SQLite", "libffi", "XZ", "bzip2", "ncurses", "OpenSSL", "Tcl", "PyTorch", "protobuf",
    "Eigen", "libxml2", "GMP", "MPFR", "Szip", "cURL", "Perl", "git", "numactl", "libevent", "Ninja",
]


def environment():
    """The 400 variables, the same on every call (a fixed seed)."""
    rng = random.Random(400)
    env = {
        "PATH": "/opt/tools/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/home/researcher",
        "LC_ALL": "C",
        "LANG": "C.UTF-8",
        "SHELL": "/bin/bash",
        "USER": "researcher",
        "LOGNAME": "researcher",
        "TERM": "xterm-256color",
        "HOSTNAME": "node042.cluster.example.org",
        "TMPDIR": "/local/scratch/researcher",
        "MODULEPATH": "/opt/apps/modules/all:/opt/site/modules",
    }
    job = rng.randrange(1_000_000, 9_999_999)
    for key, value in [
        ("JOB_ID", job), ("JOBID", job), ("JOB_NAME", "train_resnet50"), ("JOB_PARTITION", "gpu"),
        ("JOB_ACCOUNT", "proj-0421"), ("JOB_NUM_NODES", 4), ("JOB_NODELIST", "node[040-043]"),
        ("JOB_CPUS_PER_NODE", "32(x4)"), ("NTASKS", 16), ("NPROCS", 16), ("TASKS_PER_NODE", "4(x4)"),
        ("SUBMIT_DIR", "/home/researcher/projects/vision/runs"), ("SUBMIT_HOST", "login01"),
        ("CLUSTER_NAME", "example"), ("JOB_QOS", "normal"), ("MEM_PER_NODE", 256000),
        ("GPUS_ON_NODE", 4), ("JOB_GPUS", "0,1,2,3"), ("NODEID", 0), ("PROCID", 0), ("LOCALID", 0),
        ("TOPOLOGY_ADDR", "node042"), ("WORKING_CLUSTER", "example:slurmctld:6817:9984:109"),
    ]:
        env[f"SLURM_{key}"] = str(value)
    for name in PACKAGES:
        key = name.upper().replace("-", "MIN")
        version = f"{rng.randrange(1, 13)}.{rng.randrange(0, 10)}.{rng.randrange(0, 20)}"
        env[f"EBROOT{key}"] = f"/opt/apps/software/{name}/{version}"
        env[f"EBVERSION{key}"] = version
        env[f"EBDEVEL{key}"] = f"/opt/apps/software/{name}/{version}/eb"
        env[f"{key}_LIBDIR"] = f"/opt/apps/software/{name}/{version}/lib64"
    for key in ["btl", "pml", "osc", "coll_hcoll_enable", "btl_tcp_if_include", "oob_tcp_if_include",
                "plm_rsh_agent", "orte_base_help_aggregate", "hwloc_base_binding_policy", "rmaps_base_mapping_policy",
                "mpi_leave_pinned", "btl_openib_allow_ib", "pml_ucx_tls", "pml_ucx_devices", "opal_cuda_support"]:
        env[f"OMPI_MCA_{key}"] = rng.choice(["ucx", "^openib", "0", "1", "ib0", "core", "ssh", "all", "slot"])
    for key in ["DEBUG", "DEBUG_SUBSYS", "IB_HCA", "SOCKET_IFNAME", "NET_GDR_LEVEL", "P2P_LEVEL", "ALGO",
                "PROTO", "NCHANNELS_PER_NET_PEER", "IB_TIMEOUT", "ASYNC_ERROR_HANDLING", "CROSS_NIC"]:
        env[f"NCCL_{key}"] = rng.choice(["INFO", "WARN", "mlx5_0,mlx5_1", "ib0", "5", "SYS", "Ring,Tree", "Simple", "2", "22", "1", "0"])
    # The rest: the settings of the tools a job uses, of a few shapes.
    tools = ["TORCH", "HF", "WANDB", "MLFLOW", "DASK", "RAY", "MKL", "KMP", "CUDA", "UCX", "FI", "I_MPI",
             "PMIX", "XDG", "SPACK", "CONDA", "JULIA", "JAVA", "MAVEN", "CARGO", "NODE", "APPTAINER"]
    knobs = ["HOME", "CACHE_DIR", "CONFIG_DIR", "LOG_LEVEL", "NUM_THREADS", "VERBOSE", "TIMEOUT", "PROJECT",
             "DATA_DIR", "RUNTIME_DIR", "MODE", "DEVICE_ORDER", "MAX_SPLIT_SIZE", "PREFIX", "OPTS", "BIND"]
    while len(env) < VARIABLES:
        tool, knob = rng.choice(tools), rng.choice(knobs)
        if knob.endswith(("DIR", "HOME", "PREFIX")):
            value = f"/scratch/p0421/{tool.lower()}/{knob.lower()}"
        elif knob in ("NUM_THREADS", "TIMEOUT", "MAX_SPLIT_SIZE"):
            value = str(rng.choice([1, 4, 8, 32, 300, 4096, 65536]))
        else:
            value = rng.choice(["info", "warning", "1", "0", "spread", "fast", "PCI_BUS_ID", "core", "proj-0421"])
        env[f"{tool}_{knob}"] = value
    return env


def batch(calls):
    """One parent's measurement (run as `--batch CALLS`): checks, then CALLS
    timed subprocess.run calls; prints a JSON object."""
    env = environment()
    preload = os.environ.get("LD_PRELOAD")
    own = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    if own != env:
        extra = sorted(set(own) - set(env))
        missing = sorted(set(env) - set(own))
        changed = sorted(k for k in set(env) & set(own) if env[k] != own[k])
        raise SystemExit(f"python_subprocess: the parent's environment is not the 400 variables "
                         f"(extra {extra[:5]}, missing {missing[:5]}, changed {changed[:5]})")
    with open("/proc/self/maps") as f:
        maps = f.read()
    # (with: the very file preloaded; without: no libenvtrack of any build)
    loaded = os.path.realpath(preload) in maps if preload else "libenvtrack" in maps
    child = subprocess.run(["/usr/bin/env", "-0"], env=env, capture_output=True, check=True).stdout
    state = any(entry.startswith(b"ENVTRACK_STATE=") for entry in child.split(b"\0"))
    if preload and not (loaded and state):
        raise SystemExit(f"python_subprocess: LD_PRELOAD={preload}, but the library is "
                         f"{'' if loaded else 'not '}in the parent's maps and the child saw "
                         f"{'an' if state else 'no'} ENVTRACK_STATE")
    if not preload and (loaded or state):
        raise SystemExit("python_subprocess: the library is in the parent without LD_PRELOAD")
    times = []
    for n in range(WARMUP + calls):
        start = time.perf_counter_ns()
        subprocess.run(["/bin/true"], env=env, check=True)
        elapsed = time.perf_counter_ns() - start
        if n >= WARMUP:
            times.append(elapsed)
    json.dump({"times": times}, sys.stdout)


def run_batch(library, calls):
    env = environment()
    if library:
        env["LD_PRELOAD"] = library
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--batch", str(calls)],
                         env=env, stdout=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise SystemExit(f"python_subprocess: a batch {'with' if library else 'without'} the library failed")
    return json.loads(out.stdout)["times"]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        batch(int(sys.argv[2]))
        return
    if len(sys.argv) > 3:
        raise SystemExit(__doc__)
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    library = benchlib.library()
    env = environment()
    sizes = [len(k) + 1 + len(v) for k, v in env.items()]
    print(f"subprocess.run(['/bin/true'], env=...) with {len(env)} variables "
          f"({min(sizes)}-{max(sizes)} bytes, {sum(sizes)} in all; Python {sys.version.split()[0]}): "
          f"{pairs} batches of {calls} calls each, without and with the library, alternating")
    without, with_, batch_medians = [], [], ([], [])
    start = time.perf_counter()
    for _ in range(pairs):
        for times, medians, lib in ((without, batch_medians[0], None), (with_, batch_medians[1], library)):
            got = run_batch(lib, calls)
            times.extend(got)
            medians.append(statistics.median(got))
    base, ours = statistics.median(without) / 1e3, statistics.median(with_) / 1e3
    ratio = ours / base
    spread = [f"{min(m) / 1e3:.0f}-{max(m) / 1e3:.0f}" for m in batch_medians]
    print(f"median per call: without {base:.0f} us (batch medians {spread[0]}), "
          f"with libenvtrack.so {ours:.0f} us ({spread[1]}); "
          f"ratio {ratio:.2f} (target <= 1.10) {benchlib.check(ratio, 1.10)}  [{time.perf_counter() - start:.0f} s]")
    benchlib.write_rows("python", [
        ("python subprocess.run, 400 vars: without (us/call)", f"{base:.0f}", "-", "info"),
        ("python subprocess.run, 400 vars: with (us/call)", f"{ours:.0f}", "-", "info"),
        ("python subprocess.run: with / without", f"{ratio:.2f}", "<= 1.10", benchlib.check(ratio, 1.10)),
    ])


if __name__ == "__main__":
    main()
