"""The Python side of the soak: four threads change os.environ while the main
thread starts CHECKER through subprocess (vfork + exec) COUNT times.
Prints "launches=N failures=F rss_growth_kib=G"."""

import os
import resource
import subprocess
import sys
import threading

checker, count = sys.argv[1], int(sys.argv[2])
os.environ["STABLE"] = "yes"
stop = False


def churn(i):
    n = 0
    while not stop:
        name = "CHURN_%d_%d" % (i, n % 16)
        if n % 5 == 4:
            os.environ.pop(name, None)
        else:
            os.environ[name] = "v%d" % (n % 3)
        n += 1


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
before = rss_kib()
failures = 0
for i in range(count):
    failures += subprocess.run([checker]).returncode != 0
stop = True
for t in threads:
    t.join()
print(f"launches={count} failures={failures} rss_growth_kib={rss_kib() - before}")
