"""Dask workers that start with the driver's changes.

>>> from distributed import Client                              # doctest: +SKIP
>>> import envtrack, envtrack.dask                              # doctest: +SKIP
>>> envtrack.activate()                                         # doctest: +SKIP
>>> envtrack.environ["PYTHONPATH"] = "/shared/mods"             # doctest: +SKIP
>>> client = Client("tcp://scheduler:8786")                     # doctest: +SKIP
>>> client.register_plugin(envtrack.dask.EnvtrackPlugin())      # doctest: +SKIP

Each nanny applies the snapshot to its own environment (list variables keep the
node's own elements) and restarts its worker, so the worker's interpreter starts
with the changes: ``PYTHONPATH``, ``LD_LIBRARY_PATH`` and ``MALLOC_*`` take effect.
Nannies that join later apply it before their worker first starts. The envtrack
package must be installed where the nannies run (as ``distributed`` is).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Mapping, Optional

from distributed.diagnostics.plugin import NannyPlugin

from . import _native, _snapshot

_SAVED = "_envtrack_before"


class EnvtrackPlugin(NannyPlugin):
    """A nanny plugin that starts every worker with the driver's tracked changes.

    Args:
        snapshot: what to carry; by default :func:`envtrack.snapshot` taken when
            the plugin is made (register a new plugin to carry later changes: it
            replaces this one, and the workers restart with the new snapshot).

    Register it once with ``client.register_plugin(EnvtrackPlugin())``. A
    variable the driver changed wins over the nanny's ``distributed.nanny.environ``
    and ``pre-spawn-environ`` settings for that variable (Dask's
    ``OMP_NUM_THREADS=1``, say). Unregistering it
    (``client.unregister_worker_plugin("envtrack", nanny=True)``) gives the nanny
    back its own environment for the next worker start.
    """

    name = "envtrack"
    restart = True
    idempotent = False

    def __init__(self, snapshot: Optional[Mapping[str, Any]] = None) -> None:
        self.snapshot: Dict[str, Any] = dict(snapshot) if snapshot is not None else _snapshot.snapshot()

    def setup(self, nanny: Any) -> None:
        """On each nanny: the worker it starts next gets the snapshot applied to
        the nanny's own environment (as it was before any envtrack plugin)."""
        before = getattr(nanny, _SAVED, None)
        if before is None:
            before = {
                "environ": dict(os.environb),
                "env": dict(nanny.env),
                "pre_spawn_env": dict(nanny.pre_spawn_env),
                "sys_path": list(sys.path),
            }
            setattr(nanny, _SAVED, before)
        target = _snapshot.applied_environment(self.snapshot, before["environ"])
        _snapshot.replace_environment(target, keep_own=_native.library_loaded())
        changed = {
            os.fsdecode(name)
            for name in set(target) | set(before["environ"])
            if target.get(name) != before["environ"].get(name)
        }
        # The nanny puts these into the worker's environment after ours: for what the
        # driver changed, the driver's value stands.
        for attribute in ("env", "pre_spawn_env"):
            settings = getattr(nanny, attribute)
            settings.clear()
            settings.update({k: v for k, v in before[attribute].items() if k not in changed})
        sys.path[:] = _with_python_path(before["sys_path"], target.get(b"PYTHONPATH"))

    def teardown(self, nanny: Any) -> None:
        """The nanny's own environment back, for its next worker start."""
        before = getattr(nanny, _SAVED, None)
        if before is None:
            return
        _snapshot.replace_environment(before["environ"], keep_own=_native.library_loaded())
        for attribute in ("env", "pre_spawn_env"):
            settings = getattr(nanny, attribute)
            settings.clear()
            settings.update(before[attribute])
        sys.path[:] = before["sys_path"]
        delattr(nanny, _SAVED)


def _with_python_path(nanny_path: List[str], python_path: Optional[bytes]) -> List[str]:
    """The nanny's ``sys.path`` with ``PYTHONPATH``'s entries where an interpreter
    puts them (after the script's directory). Dask starts a worker with
    multiprocessing's spawn, which gives the worker the nanny's ``sys.path``
    instead of the one its own ``PYTHONPATH`` makes."""
    if not python_path:
        return list(nanny_path)
    entries = [os.fsdecode(e) for e in python_path.split(b":") if e]
    added = [e for i, e in enumerate(entries) if e not in nanny_path and e not in entries[:i]]
    return [*nanny_path[:1], *added, *nanny_path[1:]]
