"""The snapshot: what this process hands on (its tracked changes and the
directives), as ``envtrack-inject export`` writes it, and applying one here."""

from __future__ import annotations

import base64
import errno
import json
import os
import stat
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


# The kernel refuses an environment string this long (MAX_ARG_STRLEN, with its NUL).
_MAX_STRING = 32 * 4096


def _oversized(name: bytes, value: Optional[bytes]) -> bool:
    return value is not None and len(name) + 1 + len(value) + 1 > _MAX_STRING


def _entry(op: str, name: bytes, value: Optional[bytes]) -> Dict[str, Any]:
    """A snapshot entry, with ``_b64`` fields for bytes that are not UTF-8."""
    entry: Dict[str, Any] = {"op": op}
    for key, data in (("name", name), ("value", value)):
        if data is None:
            continue
        try:
            entry[key] = data.decode("utf-8")
        except UnicodeDecodeError:
            entry[key + "_b64"] = base64.b64encode(data).decode("ascii")
    entry["sep"] = ":"
    return entry


def _taken_without_library() -> Snapshot:
    """The snapshot of a process without the library: what it inherited, and
    the changes made through ``envtrack.environ``, found by ``envtrack-inject
    export --base`` against their values before, in ``os.environ`` as Python
    sees it (C code such as readline may have changed the process's own
    environment around it). A value too long for the kernel to pass to
    ``envtrack-inject`` is carried as a ``set`` (or its removal as an
    ``unset``) from here."""
    changed = _changed_by_environ()
    current = dict(os.environb)
    base = dict(current)
    long_ones = []
    for name, value in changed.items():
        if _oversized(name, value) or _oversized(name, current.get(name)):
            long_ones.append(name)
            base.pop(name, None)
            current.pop(name, None)
        elif value is None:
            base.pop(name, None)
        else:
            base[name] = value
    stdin = b"".join(name + b"=" + value + b"\0" for name, value in base.items())
    out = _native.run_injector(["export", "--allow-untracked", "--base", "-"], stdin=stdin, env=current)
    taken: Snapshot = json.loads(out)
    for name in long_ones:
        now = os.environb.get(name)
        if now != changed[name]:
            taken["tracked"].append(_entry("set" if now is not None else "unset", name, now))
    return taken


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
    if _native.library_loaded():
        return json.loads(_native.run_injector(["export", "--allow-untracked"]))
    return _taken_without_library()


def export(path: Union[str, "os.PathLike[str]"]) -> None:
    """Writes :func:`snapshot` to ``path`` as JSON with mode 0600 (also when the
    file was there before), for ``envtrack-inject apply --snapshot PATH`` or
    :func:`apply` on a worker. Never through a symbolic link, and never into
    anything but a regular file (a FIFO would block).

    Raises:
        OSError: the file cannot be written (the message names it).
        EnvtrackError: ``envtrack-inject`` is missing or refused the state.
    """
    text = json.dumps(snapshot(), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO no one reads, opened without blocking
            raise OSError(errno.EINVAL, "not a regular file (a FIFO?)", os.fspath(path)) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        os.fchmod(descriptor, 0o600)
        os.ftruncate(descriptor, 0)
        view = memoryview(text)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def applied_environment(
    source: Union[str, "os.PathLike[str]", Mapping[str, Any]],
    base: Mapping[bytes, bytes],
) -> Dict[bytes, bytes]:
    """The environment a worker gets when ``source`` (a snapshot file, or a
    snapshot as :func:`snapshot` returns it) is applied on ``base``: list changes
    extend ``base``'s own values, and the library is preloaded with the state, so
    tracking goes on in the worker. ``base`` is handed over on standard input,
    not as ``envtrack-inject``'s own environment (it may hold an ``LD_PRELOAD``
    or values the kernel would refuse)."""
    stdin = b"".join(name + b"=" + value + b"\0" for name, value in base.items())
    if isinstance(source, Mapping):
        snapshot_arg, pipe = _native.PIPE, json.dumps(source, ensure_ascii=False).encode("utf-8")
    else:
        snapshot_arg, pipe = os.fspath(source), None
    args = ["apply", "--snapshot", snapshot_arg, "--print-env", "--on", "-"]
    return _parse_env(_native.run_injector(args, stdin=stdin, pipe=pipe))


def applied_environment_here(env: Mapping[bytes, bytes]) -> Dict[bytes, bytes]:
    """The environment a program started from ``env`` under the library gets:
    what ``envtrack-inject -- PROGRAM`` would give it (the inherited state and
    its directives applied, the library preloaded)."""
    return _parse_env(_native.run_injector(["apply", "--print-env"], env=dict(env)))


def _parse_env(out: bytes) -> Dict[bytes, bytes]:
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
