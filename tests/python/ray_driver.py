"""A Ray driver: tracked, it sets variables, connects to a running head with
envtrack's runtime_env and prints (as JSON lines) what a task and an actor see,
then a task given a new runtime_env after a change made after ray.init.

usage: ray_driver.py ADDRESS MODULE_DIR
"""

import envtrack

envtrack.activate()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import ray  # noqa: E402

import envtrack.ray  # noqa: E402

# Defined in __main__, so that the task carries it by value to workers that lack this file.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")) as source:
    exec(source.read())  # noqa: S102 - defines probe()

RUN_NOTE = "it's \"quoted\", has spaces, a\ttab and $(no shell)"

os.environ["PYTHONPATH"] = sys.argv[2]
os.environ["RUN_NOTE"] = RUN_NOTE
os.environ["PATH"] = "/opt/envtrack-ray/bin:" + os.environ["PATH"]
ray.init(address=sys.argv[1], runtime_env=envtrack.ray.runtime_env(), logging_level="ERROR", log_to_driver=False)


@ray.remote
def task():
    return probe()


@ray.remote
class Actor:
    def look(self):
        return probe()


print(json.dumps({"when": "task", **ray.get(task.remote())}), flush=True)
actor = Actor.remote()
print(json.dumps({"when": "actor", **ray.get(actor.look.remote())}), flush=True)
os.environ["LATE"] = "set after ray.init"
late = task.options(runtime_env=envtrack.ray.runtime_env()).remote()
print(json.dumps({"when": "late", **ray.get(late)}), flush=True)
ray.shutdown()
