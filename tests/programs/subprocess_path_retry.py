"""subprocess.run(["env", "-0"], env=ENV) for environments whose total size
steps from FROM to TO bytes by STEP (RUNS times each), where ENV's PATH lists
four directories that do not exist before /usr/bin: Python's vfork child
tries each candidate in turn, and the first four execs fail with ENOENT.
Meanwhile a thread keeps calling libc's setenv (through ctypes, which
releases the GIL) on CHURN. TRACKED=t is set through os.environ first.

Checks each child's environment: every entry of ENV byte-exact and
TRACKED=t. Prints `bad SIZE: WHAT` for the first ten children that fail a
check, then `bad_children N`, `children N` and `rss_growth_kib N` (VmRSS after all runs minus after the
first size's runs).

usage: subprocess_path_retry.py FROM TO STEP RUNS
"""
import ctypes
import os
import subprocess
import sys
import threading

PATH = "/nonexistent/a:/nonexistent/b:/nonexistent/c:/nonexistent/d:/usr/bin"


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS")


def environment(total):
    """PATH, then PAD_nn entries up to `total` bytes of strings (NULs included)."""
    env = {"PATH": PATH}
    left = total - (len("PATH=") + len(PATH) + 1)
    index = 0
    while left > 16:
        name = f"PAD_{index:02d}"
        size = min(left, 1000)
        env[name] = "".join(chr(97 + (index + i) % 26) for i in range(size - len(name) - 2))
        left -= size
        index += 1
    return env


libc = ctypes.CDLL(None)
stop = False


def churn():
    n = 0
    while not stop:
        libc.setenv(b"CHURN", str(n % 1000).encode(), 1)
        n += 1


low, high, step, runs = (int(a) for a in sys.argv[1:5])
os.environ["TRACKED"] = "t"
thread = threading.Thread(target=churn)
thread.start()
children = 0
bad = 0
baseline = None


def report(total, what):
    global bad
    bad += 1
    if bad <= 10:
        print(f"bad {total}: {what}", flush=True)


try:
    for total in range(low, high + 1, step):
        env = environment(total)
        wanted = [f"{k}={v}".encode() for k, v in env.items()] + [b"TRACKED=t"]
        for _ in range(runs):
            out = subprocess.run(["env", "-0"], env=env, stdout=subprocess.PIPE, timeout=60)
            children += 1
            got = set(out.stdout.split(b"\0"))
            if out.returncode != 0:
                report(total, f"exit status {out.returncode}")
            missing = [w[:40] for w in wanted if w not in got]
            if missing:
                report(total, f"missing or altered {len(missing)} entries, first {missing[0]!r}")
        if baseline is None:
            baseline = rss_kib()
finally:
    stop = True
    thread.join()
print(f"bad_children {bad}", flush=True)
print(f"children {children}", flush=True)
print(f"rss_growth_kib {rss_kib() - baseline}", flush=True)
