"""Ray workers that start with the driver's changes.

>>> import ray, envtrack, envtrack.ray                                    # doctest: +SKIP
>>> envtrack.environ["NCCL_DEBUG"] = "INFO"                               # doctest: +SKIP
>>> ray.init(address="auto", runtime_env=envtrack.ray.runtime_env())      # doctest: +SKIP

Changes made after ``ray.init`` travel with a task or an actor that is given a
new runtime environment::

    envtrack.environ["STAGE"] = "2"
    task.options(runtime_env=envtrack.ray.runtime_env()).remote()

Ray sets ``env_vars`` in a worker before its interpreter starts, so
``PYTHONPATH`` and ``LD_LIBRARY_PATH`` take effect. A list change becomes
``"/opt/x:${PATH}"``, which Ray expands on the worker's node, keeping its own
elements (where the node lacks the variable, Ray leaves an empty element).
"""

from __future__ import annotations

import re
import sys
from typing import Any, Dict, List, Mapping, Optional

from . import _snapshot

# What Ray's expansion of env_vars would alter in a value (os.path.expandvars, then
# the removal of any ${NAME} left): such a value is not carried.
_EXPANDED = re.compile(r"\$(\w+|\{[^}]*\})")
_OWN = re.compile(r"^(ENVTRACK_STATE(_\d+)?|LD_PRELOAD)$")


def _placeholder(name: str) -> str:
    return "${" + name + "}"


def env_vars(snapshot: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
    """The ``env_vars`` of :func:`runtime_env`: each variable the snapshot
    changes (tracked changes, then job and app directives, as a worker applies
    them), written in terms of the worker node's own value.

    What Ray cannot express is left out with one ``envtrack:`` line: removing a
    variable, and a value containing ``$NAME`` or ``${…}`` (which Ray would expand).
    """
    taken = dict(snapshot) if snapshot is not None else _snapshot.snapshot()
    names: List[str] = []
    for entry in [*taken["tracked"], *taken["job"], *taken["app"]]:
        name = _snapshot.to_directive(entry).name
        if name not in names and not _OWN.match(name):
            names.append(name)
    # The node's values are unknown here: apply on placeholders Ray fills in there.
    base = {name.encode(): _placeholder(name).encode() for name in names if re.fullmatch(r"[A-Za-z0-9_]+", name)}
    applied = _snapshot.applied_environment(taken, base)
    out: Dict[str, str] = {}
    left_out: List[str] = []
    for name in names:
        value = applied.get(name.encode())
        if value is None:
            left_out.append("{} (removed)".format(name))
            continue
        text = value.decode("utf-8", "surrogateescape")
        if text == _placeholder(name):
            continue  # unchanged on the node
        literal = text.replace(_placeholder(name), "")
        if _EXPANDED.search(literal) or name.encode() not in base:
            left_out.append("{} ({})".format(name, "Ray would expand its '$'" if name.encode() in base else "a name Ray cannot expand"))
            continue
        out[name] = text
    if left_out:
        sys.stderr.write("envtrack: not carried to Ray workers: {}\n".format(", ".join(left_out)))
    return out


def runtime_env(extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A Ray ``runtime_env`` whose ``env_vars`` carry what is tracked here now
    (see :func:`env_vars`), for ``ray.init``, a task's or an actor's
    ``.options(runtime_env=…)``.

    Args:
        extra: a runtime environment to extend (``pip``, ``working_dir``, …); its
            own ``env_vars`` win over the tracked ones.
    """
    result: Dict[str, Any] = dict(extra or {})
    result["env_vars"] = {**env_vars(), **dict(result.get("env_vars") or {})}
    return result
