"""The snapshot: what this process hands on (its tracked changes and the
directives), as ``envtrack-inject export`` writes it, and applying one here."""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _native

Snapshot = Dict[str, Any]
"""A snapshot as :func:`snapshot` returns it: the JSON of ``envtrack-inject export``
(keys ``envtrack_snapshot``, ``tracked``, ``job``, ``app``; each entry has ``op``,
``name``, ``value`` and ``sep``, or ``name_b64``/``value_b64`` for bytes that are
not UTF-8)."""


class Directive(NamedTuple):
    """One operation on one variable: a tracked change or a directive.

    ``op`` is ``set``, ``add``, ``unset``, ``prepend``, ``append`` or ``remove``;
    ``value`` is ``None`` for ``unset``; ``sep`` is the list separator.
    Names and values are ``str`` decoded as ``os.environ`` decodes them.
    """

    op: str
    name: str
    value: Optional[str]
    sep: str


class Directives(NamedTuple):
    """The directives in effect here: ``job`` level (every process) and ``app``
    level (the application processes: ranks, workers)."""

    job: Tuple[Directive, ...]
    app: Tuple[Directive, ...]


def _field(entry: Mapping[str, Any], key: str) -> Optional[str]:
    if key in entry:
        return str(entry[key])
    if key + "_b64" in entry:
        return os.fsdecode(base64.b64decode(entry[key + "_b64"]))
    return None


def to_directive(entry: Mapping[str, Any]) -> Directive:
    """A snapshot entry as a :class:`Directive`."""
    op = str(entry["op"])
    return Directive(op, _field(entry, "name") or "", None if op == "unset" else _field(entry, "value") or "", str(entry.get("sep", ":")))


def _changed_by_environ() -> Dict[bytes, Optional[bytes]]:
    from ._environ import environ

    return environ._base_values()  # noqa: SLF001 - the package's own object


def _export_args() -> Tuple[List[str], Optional[bytes], Optional[Dict[bytes, bytes]]]:
    """``export``'s arguments, standard input and environment: with the library
    loaded it knows every change; without it, the changes made through
    ``envtrack.environ`` are found against their values before (``--base``), in
    ``os.environ`` as Python sees it (C code such as readline may have changed
    the process's own environment around it)."""
    if _native.library_loaded():
        return [], None, None
    changed = _changed_by_environ()
    base = dict(os.environb)
    for name, value in changed.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    stdin = b"".join(name + b"=" + value + b"\0" for name, value in base.items())
    return ["--base", "-"], stdin, dict(os.environb)


def snapshot() -> Snapshot:
    """What this process would hand on to a worker now: its tracked changes,
    values included, and the directives.

    With the library loaded (:func:`envtrack.activate`, ``LD_PRELOAD``, or
    ``python -m envtrack``) that is every change this process and its ancestors
    made since tracking began; without it, what was set through
    :data:`envtrack.environ`.

    Raises:
        EnvtrackError: ``envtrack-inject`` is missing or refused the state.
    """
    args, stdin, env = _export_args()
    return json.loads(_native.run_injector(["export", "--allow-untracked", *args], stdin=stdin, env=env))


def export(path: Union[str, "os.PathLike[str]"]) -> None:
    """Writes :func:`snapshot` to ``path`` as JSON, created with mode 0600 (never
    through a symbolic link), for ``envtrack-inject apply --snapshot PATH`` or
    :func:`apply` on a worker."""
    args, stdin, env = _export_args()
    _native.run_injector(["export", "--allow-untracked", "-o", os.fspath(path), *args], stdin=stdin, env=env)


def _source_args(source: Union[str, "os.PathLike[str]", Mapping[str, Any]]) -> Tuple[List[str], Optional[bytes]]:
    if isinstance(source, Mapping):
        return ["--snapshot", "-"], json.dumps(source, ensure_ascii=False).encode("utf-8")
    return ["--snapshot", os.fspath(source)], None


def applied_environment(
    source: Union[str, "os.PathLike[str]", Mapping[str, Any]],
    base: Mapping[bytes, bytes],
) -> Dict[bytes, bytes]:
    """The environment a worker gets when ``source`` (a snapshot file, or a
    snapshot as :func:`snapshot` returns it) is applied on ``base``: list changes
    extend ``base``'s own values, and the library is preloaded with the state, so
    tracking goes on in the worker."""
    args, stdin = _source_args(source)
    out = _native.run_injector(["apply", *args, "--print-env"], stdin=stdin, env=dict(base))
    result: Dict[bytes, bytes] = {}
    for entry in out.split(b"\0"):
        if entry:
            name, _, value = entry.partition(b"=")
            result[name] = value
    return result


_OWN = (b"ENVTRACK_STATE", b"LD_PRELOAD")


def replace_environment(target: Mapping[bytes, bytes], *, keep_own: bool) -> List[str]:
    """Makes ``os.environ`` equal to ``target``; returns the names changed. With
    ``keep_own``, envtrack's own variables (the state, ``LD_PRELOAD``) are left
    to the library loaded here, which hands them on itself."""

    def own(name: bytes) -> bool:
        return keep_own and (name in _OWN or name.startswith(b"ENVTRACK_STATE_"))

    changed = []
    for name in [n for n in os.environb if n not in target and not own(n)]:
        del os.environb[name]
        changed.append(os.fsdecode(name))
    for name, value in target.items():
        if not own(name) and os.environb.get(name) != value:
            os.environb[name] = value
            changed.append(os.fsdecode(name))
    return changed


def apply(source: Union[str, "os.PathLike[str]", Mapping[str, Any]]) -> List[str]:
    """Applies a snapshot to this process's environment, in a worker, before it
    starts anything: what it sets, removes and extends (list variables keep this
    node's own elements) is in ``os.environ`` for every child it starts, and
    those children are tracked.

    ``source`` is a file from :func:`export` or ``envtrack-inject export``, or a
    snapshot as :func:`snapshot` returns it. Variables read when the interpreter
    started (``PYTHONPATH``, ``LD_LIBRARY_PATH``, ``MALLOC_*``) take effect in the
    children, not in this interpreter; to have them here, start it with
    ``envtrack-inject apply --snapshot FILE -- python …``.

    Returns:
        The names whose values changed.

    Raises:
        EnvtrackError: the snapshot is malformed (nothing is changed then).
    """
    target = applied_environment(source, dict(os.environb))
    return replace_environment(target, keep_own=_native.library_loaded())
