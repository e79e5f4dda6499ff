"""``envtrack.environ``: ``os.environ`` that says what travels."""

from __future__ import annotations

import collections.abc
import os

from . import _snapshot

TYPE_CHECKING = False  # as in _native: typing only for the type checker
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Mapping, MutableMapping, Optional, Tuple

    _Mapping = MutableMapping[str, str]
else:
    _Mapping = collections.abc.MutableMapping


class Environ(_Mapping):
    """A drop-in for ``os.environ``: reading and writing it reads and writes
    ``os.environ`` (so ``os.getenv``, ``subprocess`` and C code see the same
    values), and what is set through it travels to every child and worker.

    With the library loaded, every change travels, whether made through this
    object, ``os.environ`` or C; this object then adds :meth:`tracked` and
    :attr:`directives`. Without the library (an interactive session, a notebook),
    the changes made through this object are the ones :func:`envtrack.snapshot`,
    :func:`envtrack.export`, the Dask plugin and the Ray runtime environment
    carry, as the seed's ``appliance_environ`` did, but in time for variables
    read when a worker's interpreter starts (``PYTHONPATH``).

    The seed's example, with ``envtrack.environ`` (here without the library):

    >>> import os
    >>> from envtrack import environ
    >>> environ["DATA_SHARD_SIZE"] = "64"        # tracked: travels to the workers
    >>> os.environ["DATA_SHARD_SIZE"]            # and seen as if set through os.environ
    '64'
    >>> os.environ["LOCAL_ONLY"] = "1"           # set around it: not carried
    >>> environ["DATA_SHARD_SIZE"], environ["LOCAL_ONLY"]
    ('64', '1')
    >>> sorted(environ.tracked())
    ['DATA_SHARD_SIZE']
    >>> environ.tracked()["DATA_SHARD_SIZE"]
    (Directive(op='set', name='DATA_SHARD_SIZE', value='64', sep=':'),)

    Unlike the seed's object, a change made after a job started still reaches
    every worker started after it, and ``PYTHONPATH`` set through it takes effect
    in the workers' interpreters.
    """

    def __init__(self) -> None:
        # name -> its value before the first change made through this object
        # (None: absent then), for exports without the library.
        self._before: Dict[bytes, Optional[bytes]] = {}

    def _note(self, key: str) -> None:
        name = os.fsencode(key)
        if name not in self._before:
            self._before[name] = os.environb.get(name)

    def _base_values(self) -> Dict[bytes, Optional[bytes]]:
        return dict(self._before)

    # The mapping: os.environ's own behaviour, errors included.
    def __getitem__(self, key: str) -> str:
        return os.environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        before = os.environb.get(os.fsencode(key)) if isinstance(key, str) else None
        os.environ[key] = value  # raises as os.environ does (a non-str, a '=' in the name)
        name = os.fsencode(key)
        if name not in self._before:
            self._before[name] = before

    def __delitem__(self, key: str) -> None:
        if key not in os.environ:
            raise KeyError(key)
        self._note(key)
        del os.environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)

    def __contains__(self, key: object) -> bool:
        return key in os.environ

    def __repr__(self) -> str:
        return "envtrack.environ({{{}}})".format(", ".join("{!r}: {!r}".format(k, v) for k, v in os.environ.items()))

    def __reduce__(self) -> str:
        # Pickled by reference: unpickled, it is this process's envtrack.environ.
        return "environ"

    def copy(self) -> Dict[str, str]:
        """A ``dict`` of the environment, as ``os.environ.copy()``."""
        return dict(os.environ)

    def setdefault(self, key: str, value: str) -> str:
        if key not in os.environ:
            self[key] = value
        return os.environ[key]

    def clear(self) -> None:
        for key in list(os.environ):
            del self[key]

    def __or__(self, other: Mapping[str, str]) -> Dict[str, str]:
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        merged = dict(os.environ)
        merged.update(other)
        return merged

    def __ror__(self, other: Mapping[str, str]) -> Dict[str, str]:
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        merged = dict(other)
        merged.update(os.environ)
        return merged

    def __ior__(self, other: Any) -> "Environ":  # type: ignore[misc]  # as os.environ's: in place
        self.update(other)
        return self

    # What envtrack adds.
    def tracked(self) -> Dict[str, Tuple[_snapshot.Directive, ...]]:
        """What is tracked here, by name: the changes a worker started now gets,
        with their values (``set``/``unset``, or a list's ``prepend`` and
        ``append``, which extend the worker's own value).

        >>> import envtrack
        >>> envtrack.environ["RUN_NOTE"] = "first try"
        >>> envtrack.environ.tracked()["RUN_NOTE"]
        (Directive(op='set', name='RUN_NOTE', value='first try', sep=':'),)
        """
        out: Dict[str, List[_snapshot.Directive]] = {}
        for entry in _snapshot.snapshot()["tracked"]:
            directive = _snapshot.to_directive(entry)
            out.setdefault(directive.name, []).append(directive)
        return {name: tuple(changes) for name, changes in out.items()}

    @property
    def directives(self) -> _snapshot.Directives:
        """The directives in effect here (from ``envtrack-inject --prepend …``, a
        directive file, or ``ENVTRACK_CONFIG``): job level, then app level, in
        the order they apply."""
        taken = _snapshot.snapshot()
        return _snapshot.Directives(
            tuple(_snapshot.to_directive(e) for e in taken["job"]),
            tuple(_snapshot.to_directive(e) for e in taken["app"]),
        )


environ = Environ()
"""The drop-in for ``os.environ`` (see :class:`Environ`)."""
