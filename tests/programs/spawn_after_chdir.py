"""Sets MARK=m through os.environ, changes directory to /, then starts
  1. /usr/bin/env -0
  2. /usr/bin/env -i /usr/bin/env -0         (its child, in an empty environment)
  3. python3 running subprocess.run(["/usr/bin/env", "-0"], env={})
and writes each one's output to stdout followed by "@@END@@\\0".
"""
import os
import subprocess
import sys

os.environ["MARK"] = "m"
os.chdir("/")
inner = "import subprocess\nsubprocess.run(['/usr/bin/env', '-0'], env={})"
commands = [
    ["/usr/bin/env", "-0"],
    ["/usr/bin/env", "-i", "/usr/bin/env", "-0"],
    [sys.executable, "-c", inner],
]
for command in commands:
    output = subprocess.run(command, stdout=subprocess.PIPE, timeout=60).stdout
    sys.stdout.buffer.write(output + b"@@END@@\0")
sys.stdout.flush()
