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
from typing import Any, Dict, List, Mapping, Optional, Tuple

from distributed.diagnostics.plugin import NannyPlugin

from . import _native, _snapshot

_SAVED = "_envtrack_before"


class EnvtrackPlugin(NannyPlugin):  # type: ignore[misc]  # distributed has no type information
    """A nanny plugin that starts every worker with the driver's tracked changes.

    Args:
        snapshot: what to carry; by default :func:`envtrack.snapshot` taken when
            the plugin is made (register a new plugin to carry later changes: it
            replaces this one, and the workers restart with the new snapshot).

    Register it once with ``client.register_plugin(EnvtrackPlugin())``. A
    variable the driver changed wins over the nanny's ``distributed.nanny.environ``
    and ``pre-spawn-environ`` settings for that variable (Dask's
    ``OMP_NUM_THREADS=1``, say). Unregistering it
    (``client.unregister_worker_plugin("envtrack", nanny=True)``) takes back what
    it changed in the nanny (what changed since is left alone) for the next
    worker start.
    """

    name = "envtrack"
    restart = True
    idempotent = False

    def __init__(self, snapshot: Optional[Mapping[str, Any]] = None) -> None:
        self.snapshot: Dict[str, Any] = dict(snapshot) if snapshot is not None else _snapshot.snapshot()

    def setup(self, nanny: Any) -> None:
        """On each nanny: the worker it starts next gets the snapshot applied to
        the nanny's own environment."""
        _undo(nanny)  # a plugin registered before (this one replaces it)
        target = _snapshot.applied_environment_or_values(self.snapshot, dict(os.environb), "the Dask workers")
        done = _Done()
        done.environ = _snapshot.replace_environment(target, keep_own=_native.library_loaded())
        # The nanny puts these into the worker's environment after ours: for what the
        # driver changed, the driver's value stands.
        changed = {os.fsdecode(name) for name in done.environ}
        for attribute in ("env", "pre_spawn_env"):
            settings = getattr(nanny, attribute)
            for name in changed & set(settings):
                done.settings.append((attribute, name, settings.pop(name)))
        done.sys_path = _python_path_entries(sys.path, target.get(b"PYTHONPATH"))
        sys.path[1:1] = done.sys_path
        setattr(nanny, _SAVED, done)

    def teardown(self, nanny: Any) -> None:
        """Takes back what :meth:`setup` changed, for the nanny's next worker start."""
        _undo(nanny)


class _Done:
    """What a plugin's setup changed in a nanny (and its process), to be taken back."""

    def __init__(self) -> None:
        self.environ: Dict[bytes, Tuple[Optional[bytes], Optional[bytes]]] = {}
        self.settings: List[Tuple[str, str, str]] = []
        self.sys_path: List[str] = []


def _undo(nanny: Any) -> None:
    """Takes back what the plugin changed, where it is still as the plugin left
    it: with a LocalCluster the nannies run in the driver, whose later changes
    stay."""
    done = getattr(nanny, _SAVED, None)
    if done is None:
        return
    for name, (before, after) in done.environ.items():
        if os.environb.get(name) != after:
            continue
        if before is None:
            del os.environb[name]
        else:
            os.environb[name] = before
    for attribute, name, value in done.settings:
        getattr(nanny, attribute).setdefault(name, value)
    for entry in done.sys_path:
        if entry in sys.path:
            sys.path.remove(entry)
    delattr(nanny, _SAVED)


def _python_path_entries(nanny_path: List[str], python_path: Optional[bytes]) -> List[str]:
    """``PYTHONPATH``'s entries the nanny's ``sys.path`` lacks, to go where an
    interpreter puts them (after the script's directory). Dask starts a worker
    with multiprocessing's spawn, which gives the worker the nanny's
    ``sys.path`` instead of the one its own ``PYTHONPATH`` makes."""
    if not python_path:
        return []
    entries = [os.fsdecode(e) for e in python_path.split(b":") if e]
    return [e for i, e in enumerate(entries) if e not in nanny_path and e not in entries[:i]]
