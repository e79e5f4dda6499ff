"""The snapshot: what this process hands on (its tracked changes and the
directives), as ``envtrack-inject export`` writes it, and applying one here."""

from __future__ import annotations

import collections
import collections.abc
import errno
import os
import stat
import sys

from . import _native

TYPE_CHECKING = False  # as in _native: typing only for the type checker
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

    Snapshot = Dict[str, Any]
    Source = Union[str, bytes, "os.PathLike[str]", Mapping[str, Any]]
else:
    Snapshot = dict
"""A snapshot as :func:`snapshot` returns it: the JSON of ``envtrack-inject export``
(keys ``envtrack_snapshot``, ``tracked``, ``job``, ``app``; each entry has ``op``,
``name``, ``value`` and ``sep``, or ``name_b64``/``value_b64`` for bytes that are
not UTF-8)."""


if TYPE_CHECKING:

    class Directive(NamedTuple):
        op: str
        name: str
        value: Optional[str]
        sep: str

    class Directives(NamedTuple):
        job: Tuple[Directive, ...]
        app: Tuple[Directive, ...]

else:
    Directive = collections.namedtuple("Directive", "op name value sep", module="envtrack")
    Directives = collections.namedtuple("Directives", "job app", module="envtrack")

Directive.__doc__ = """One operation on one variable: a tracked change or a directive.

``op`` is ``set``, ``add``, ``unset``, ``prepend``, ``append`` or ``remove``;
``value`` is ``None`` for ``unset``; ``sep`` is the list separator.
Names and values are ``str`` decoded as ``os.environ`` decodes them.
"""
Directives.__doc__ = """The directives in effect here: ``job`` level (every process) and ``app``
level (the application processes: ranks, workers), each a tuple of :class:`Directive`."""


def _field(entry: Mapping[str, Any], key: str) -> Optional[str]:
    if key in entry:
        return str(entry[key])
    if key + "_b64" in entry:
        import base64

        return os.fsdecode(base64.b64decode(entry[key + "_b64"]))
    return None


def to_directive(entry: Mapping[str, Any]) -> Directive:
    """A snapshot entry as a :class:`Directive`."""
    op = str(entry["op"])
    return Directive(op, _field(entry, "name") or "", None if op == "unset" else _field(entry, "value") or "", str(entry.get("sep", ":")))


def _changed_by_environ() -> Dict[bytes, Optional[bytes]]:
    from ._environ import environ

    return environ._base_values()  # noqa: SLF001 - the package's own object


def _taken_without_library() -> Snapshot:
    """The snapshot of a process without the library: what it inherited, and
    the changes made through ``envtrack.environ``, found by ``envtrack-inject
    export --base`` against their values before, in ``os.environ`` as Python
    sees it (C code such as readline may have changed the process's own
    environment around it). Both environments go through a pipe and standard
    input, so no value is too long."""
    import json

    current = dict(os.environb)
    base = dict(current)
    for name, value in _changed_by_environ().items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    out = _native.run_injector(
        ["export", "--allow-untracked", "--base", _native.PIPE, "--on", "-"],
        stdin=_native.env_bytes(current),
        pipe=_native.env_bytes(base),
        env=_native.control_env(),
    )
    taken: Snapshot = json.loads(out)
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
    import json

    if _native.library_loaded():
        taken: Snapshot = json.loads(_native.run_injector(["export", "--allow-untracked"]))
        return taken
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
    import json

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


def applied_environment(source: Source, base: Mapping[bytes, bytes], *, tracked: bool = True) -> Dict[bytes, bytes]:
    """The environment a worker gets when ``source`` (a snapshot file, or a
    snapshot as :func:`snapshot` returns it) is applied on ``base``: list changes
    extend ``base``'s own values and, ``tracked``, the library is preloaded with
    the state, so tracking goes on in the worker. ``base`` goes to
    ``envtrack-inject`` on its standard input, not as its own environment (it
    may hold an ``LD_PRELOAD``, or values the kernel would not pass)."""
    import json

    if isinstance(source, collections.abc.Mapping):
        snapshot_arg, pipe = _native.PIPE, json.dumps(source, ensure_ascii=False).encode("utf-8")
    else:
        snapshot_arg, pipe = os.fsdecode(os.fspath(source)), None
    args = ["apply", "--snapshot", snapshot_arg, "--print-env", "--on", "-"] + ([] if tracked else ["--untracked"])
    out = _native.run_injector(args, stdin=_native.env_bytes(base), pipe=pipe, env=_native.control_env())
    return _native.parse_env(out)


def applied_environment_or_values(source: Source, base: Mapping[bytes, bytes], where: str) -> Dict[bytes, bytes]:
    """:func:`applied_environment`, else, where tracking cannot go on (the
    library cannot be preloaded from where it is installed: a path with a
    space), the values alone after one ``envtrack:`` line saying so."""
    try:
        return applied_environment(source, base)
    except _native.EnvtrackError as tracked_error:
        try:
            values = applied_environment(source, base, tracked=False)
        except _native.EnvtrackError:
            raise tracked_error from None
        sys.stderr.write("{}; {} get the values, untracked\n".format(tracked_error, where))
        return values


def applied_environment_here(env: Mapping[bytes, bytes]) -> Dict[bytes, bytes]:
    """The environment a program started from ``env`` under the library gets:
    what ``envtrack-inject -- PROGRAM`` would give it (the inherited state and
    its directives applied, the library preloaded)."""
    out = _native.run_injector(["apply", "--print-env", "--on", "-"], stdin=_native.env_bytes(env), env=_native.control_env())
    return _native.parse_env(out)


def too_long(name: bytes, value: bytes) -> bool:
    """Whether the kernel would refuse ``NAME=VALUE`` in an environment (128 KiB
    with its NUL). ``envtrack-inject`` moves such a value into the state it hands
    on, where the library restores it in the children: it stays here as it is."""
    return len(name) + len(value) + 2 > 32 * 4096


def is_own(name: bytes) -> bool:
    """envtrack's own variables, the state, which a library loaded here hands
    on itself (it also puts itself in ``LD_PRELOAD``, whatever else is there)."""
    return name == b"ENVTRACK_STATE" or name.startswith(b"ENVTRACK_STATE_")


def replace_environment(target: Mapping[bytes, bytes], *, keep_own: bool) -> Dict[bytes, Tuple[Optional[bytes], Optional[bytes]]]:
    """Makes ``os.environ`` equal to ``target``; returns what it changed, by
    name: (the value before, the value now; None: absent). With ``keep_own``,
    envtrack's own variables (:func:`is_own`) are left to the library loaded
    here; a value too long for an environment string (:func:`too_long`) stays."""
    changed: Dict[bytes, Tuple[Optional[bytes], Optional[bytes]]] = {}
    for name in set(os.environb) | set(target):
        before, after = os.environb.get(name), target.get(name)
        if before == after or (keep_own and is_own(name)):
            continue
        if after is None:
            assert before is not None
            if too_long(name, before):
                continue
            del os.environb[name]
        else:
            os.environb[name] = after
        changed[name] = (before, after)
    return changed


def apply(source: Source) -> List[str]:
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
    target = applied_environment_or_values(source, dict(os.environb), "this process's children")
    return [os.fsdecode(name) for name in replace_environment(target, keep_own=_native.library_loaded())]
