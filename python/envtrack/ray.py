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

import os
import re
import sys
from typing import Any, Dict, List, Mapping, Optional

from . import _snapshot

# What Ray's expansion of env_vars would alter in a value (os.path.expandvars, then
# the removal of any ${NAME} left): such a value is not carried.
_EXPANDED = re.compile(r"\$(\w+|\{[^}]*\})")


# What the node's value is written as for Ray, and what stands for it while
# envtrack-inject applies the snapshot (a value of the driver's cannot hold it).
_SENTINEL = "\x01envtrack-node-value\x01"
# Operations whose effect depends on the node's value, which Ray's expansion
# cannot decide: left out, unless a later operation replaces that value.
_CONDITIONAL = {"remove": "a removal from the node's value", "add": "set only where the node lacks it"}
# Ray removes what it could not expand only for names of this form.
_RAY_NAME = re.compile(r"[A-Z0-9_]+")


def env_vars(snapshot: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
    """The ``env_vars`` of :func:`runtime_env`: each variable the snapshot
    changes (tracked changes, then job and app directives, as a worker applies
    them), written in terms of the worker node's own value.

    What Ray cannot express is left out with one ``envtrack:`` line: removing a
    variable, a value containing ``$NAME`` or ``${…}`` (which Ray would expand),
    and a change relative to the node's value of a variable whose name Ray does
    not expand (lower-case letters, punctuation).
    """
    taken = dict(snapshot) if snapshot is not None else _snapshot.snapshot()
    names: List[str] = []
    conditional: Dict[str, str] = {}  # what depends on the node's value beyond placing it
    for entry in [*taken["tracked"], *taken["job"], *taken["app"]]:
        directive = _snapshot.to_directive(entry)
        if directive.name not in names and not _snapshot.is_own(os.fsencode(directive.name)):
            names.append(directive.name)
        if directive.op in _CONDITIONAL:
            conditional.setdefault(directive.name, _CONDITIONAL[directive.op])
    # The node's values are unknown here: apply on stand-ins, written as ${NAME} for Ray.
    base = {os.fsencode(name): _SENTINEL.encode() for name in names}
    applied = _snapshot.applied_environment(taken, base, tracked=False)
    out: Dict[str, str] = {}
    left_out: List[str] = []
    for name in names:
        value = applied.get(os.fsencode(name))
        if value is None:
            left_out.append("{} (removed)".format(name))
            continue
        text = os.fsdecode(value)
        if _SENTINEL in text and name in conditional:
            left_out.append("{} ({})".format(name, conditional[name]))
        elif text == _SENTINEL:
            continue  # unchanged on the node
        elif _EXPANDED.search(text.replace(_SENTINEL, "")):
            left_out.append("{} (Ray would expand its '$')".format(name))
        elif _SENTINEL in text and not _RAY_NAME.fullmatch(name):
            left_out.append("{} (a name Ray does not expand)".format(name))
        else:
            out[name] = text.replace(_SENTINEL, "${" + name + "}")
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
