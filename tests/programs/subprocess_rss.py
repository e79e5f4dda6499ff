"""Runs /bin/true through subprocess.run (vfork on Linux) RUNS times from
THREADS threads, after WARMUP runs, and prints how much the process's VmRSS
grew meanwhile: `rss_growth_kib N`.

usage: subprocess_rss.py RUNS THREADS WARMUP
"""
import subprocess
import sys
import threading


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS in /proc/self/status")


def run(times):
    for _ in range(times):
        subprocess.run(["/bin/true"], check=True)


runs, threads, warmup = (int(a) for a in sys.argv[1:4])
run(warmup)
before = rss_kib()
workers = [threading.Thread(target=run, args=(runs // threads,)) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(f"rss_growth_kib {rss_kib() - before}", flush=True)
