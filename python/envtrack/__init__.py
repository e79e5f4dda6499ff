"""envtrack: the environment variables a program sets, carried into every process
it starts and through ``mpirun``, ``srun``, ``ssh``, Dask and Ray to every worker.

>>> import envtrack
>>> envtrack.activate()          # doctest: +SKIP
True

At the top of a script, :func:`activate` makes the script and everything it starts
tracked. :data:`environ` is a drop-in for ``os.environ`` that also says what is
tracked. :func:`snapshot`, :func:`export` and :func:`apply` move what is tracked to
workers that start elsewhere; :mod:`envtrack.dask` and :mod:`envtrack.ray` do it
for Dask and Ray workers.
"""

from __future__ import annotations

from ._activate import ActivationError, activate, is_active
from ._environ import Environ, environ
from ._native import EnvtrackError, injector
from ._snapshot import Directive, Directives, Snapshot, apply, export, snapshot
from ._version import __version__

__all__ = [
    "ActivationError",
    "Directive",
    "Directives",
    "Environ",
    "EnvtrackError",
    "Snapshot",
    "__version__",
    "activate",
    "apply",
    "environ",
    "export",
    "injector",
    "is_active",
    "snapshot",
]
