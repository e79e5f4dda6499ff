"""Starts /bin/true with an environment at the kernel's size limit.

usage: exec_at_e2big_edge.py search subprocess|posix_spawn
         prints `largest N`: the largest padding (in bytes of environment
         strings, NULs included) with which the exec still succeeds
       exec_at_e2big_edge.py run subprocess|posix_spawn N
         sets TRACKED=1 through os.environ, then starts /bin/true with the
         padding of N bytes as its whole environment; prints `exit STATUS`
         or `error ERRNO-NAME`

The padding is PAD_00=ppp…, PAD_01=…, each string at most 100,000 bytes.
"""
import errno
import os
import subprocess
import sys

CHUNK = 100_000


def padding(total):
    env = {}
    index = 0
    while total > 0:
        name = f"PAD_{index:02d}"
        size = min(total, CHUNK)
        # name + "=" + value + NUL
        env[name] = "p" * max(0, size - len(name) - 2)
        total -= size
        index += 1
    return env


def start(how, env):
    """Exit status, or raises OSError."""
    if how == "subprocess":
        return subprocess.run(["/bin/true"], env=env).returncode
    pid = os.posix_spawn("/bin/true", ["/bin/true"], env)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def works(how, total):
    try:
        return start(how, padding(total)) == 0
    except OSError as error:
        if error.errno != errno.E2BIG:
            raise
        return False


mode, how = sys.argv[1], sys.argv[2]
if mode == "search":
    low, high = 0, 8 << 20
    assert works(how, low) and not works(how, high)
    while high - low > 1:
        middle = (low + high) // 2
        if works(how, middle):
            low = middle
        else:
            high = middle
    print(f"largest {low}", flush=True)
else:
    os.environ["TRACKED"] = "1"
    try:
        print(f"exit {start(how, padding(int(sys.argv[3])))}", flush=True)
    except OSError as error:
        print(f"error {errno.errorcode.get(error.errno, error.errno)}", flush=True)
