"""A driver with a LocalCluster (its nannies run in this process): the plugin
reaches the workers, and unregistering it leaves the driver's own later
changes alone. Prints one JSON line."""

import json
import os

import envtrack
import envtrack.dask
from distributed import Client, LocalCluster


def seen():
    import os

    return {name: os.environ.get(name) for name in ("STAGE", "LATE", "FROM_PLUGIN")}


if __name__ == "__main__":
    os.environ["STAGE"] = "1"
    envtrack.environ["FROM_PLUGIN"] = "yes"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.register_plugin(envtrack.dask.EnvtrackPlugin())
            registered = list(client.run(seen).values())[0]
            os.environ["LATE"] = "x"
            os.environ["STAGE"] = "2"
            client.unregister_worker_plugin("envtrack", nanny=True)
            driver = {name: os.environ.get(name) for name in ("STAGE", "LATE", "FROM_PLUGIN")}
    print(json.dumps({"worker": registered, "driver_after_unregister": driver}), flush=True)
