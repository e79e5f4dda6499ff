"""Finding and running ``envtrack-inject``, the program that does envtrack's work.

The wheel installs ``envtrack-inject`` in the environment's ``bin`` directory and
``libenvtrack.so`` in its ``lib`` directory, the layout both find each other in (as
in a ``PREFIX`` install). Everything this package knows about snapshots it asks
``envtrack-inject``, so the rules live in one place.
"""

from __future__ import annotations

import os
import sys

# Not `typing.TYPE_CHECKING`: importing typing (and subprocess, json, …) would
# cost every `import envtrack` several milliseconds, twice under activate().
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Mapping, Optional, Sequence

LIBRARY_NAME = "libenvtrack.so"


class EnvtrackError(RuntimeError):
    """``envtrack-inject`` could not be found, or refused what it was given.

    The message says which, and what ``envtrack-inject`` said.
    """


def _installed_injector() -> Optional[str]:
    """The ``envtrack-inject`` installed with this distribution, from its RECORD."""
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python 3.8 has it
        return None
    try:
        files = metadata.files("envtrack") or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "envtrack-inject":
            path = os.path.normpath(str(file.locate()))
            if os.access(path, os.X_OK):
                return path
    return None


def _beside_package() -> Optional[str]:
    """``bin/envtrack-inject`` in a directory above this package: the prefix it
    was installed into (``PREFIX/lib/pythonX.Y/site-packages/envtrack``; the
    target of ``pip --target``)."""
    directory = os.path.dirname(os.path.abspath(__file__))
    for _ in range(4):
        directory = os.path.dirname(directory)
        candidate = os.path.join(directory, "bin", "envtrack-inject")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


_found: Optional[str] = None


def injector() -> str:
    """The path of the ``envtrack-inject`` this package runs.

    In order: ``ENVTRACK_INJECT`` (the variable the library also reads), the one
    installed with this package (in ``bin/`` of the prefix above it, else where
    its installation record says), then the first on ``PATH``. Found once: a program that
    changes ``PATH`` later still finds the same one.

    Raises:
        EnvtrackError: none was found.
    """
    global _found
    explicit = os.environ.get("ENVTRACK_INJECT")
    if explicit:
        return explicit
    if _found is None:
        import shutil

        # Beside the package first: where pip puts it for every kind of install, found in
        # microseconds; the installation record (importlib.metadata: tens of milliseconds) when
        # the layout is another.
        _found = _beside_package() or _installed_injector() or shutil.which("envtrack-inject")
    if _found:
        return _found
    raise EnvtrackError(
        "envtrack: envtrack-inject not found (not installed with the envtrack package, not on PATH, "
        "and ENVTRACK_INJECT is not set); install the envtrack wheel or set ENVTRACK_INJECT to its path"
    )


PIPE = "\0pipe"
"""An argument of :func:`run_injector` that stands for a file holding its ``pipe`` bytes."""


def run_injector(
    args: Sequence[str],
    *,
    stdin: Optional[bytes] = None,
    env: Optional[Mapping[bytes, bytes]] = None,
    pipe: Optional[bytes] = None,
) -> bytes:
    """Runs ``envtrack-inject ARGS`` and returns its standard output.

    ``pipe``: bytes it reads from the file named by the :data:`PIPE` argument
    (``/dev/fd/N``, a pipe written by a thread here), besides its standard input.
    Its standard error passes through, except when it fails: then it is in the
    raised error.

    Raises:
        EnvtrackError: it could not be started or exited non-zero.
    """
    import subprocess

    program = injector()
    shown = " ".join("<snapshot>" if a == PIPE else a for a in args)
    reader = writer = -1
    feeder = None
    if pipe is not None:
        import threading

        reader, writer = os.pipe()
        args = ["/dev/fd/{}".format(reader) if a == PIPE else a for a in args]

        def feed() -> None:
            try:
                view = memoryview(pipe)
                while view:
                    view = view[os.write(writer, view):]
            except OSError:
                pass  # it stopped reading: its error says why
            finally:
                os.close(writer)

        feeder = threading.Thread(target=feed, daemon=True)
    try:
        if feeder is not None:
            feeder.start()
        done = subprocess.run(
            [program, *args],
            input=stdin if stdin is not None else b"",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=(reader,) if reader >= 0 else (),
            check=False,
        )
    except OSError as error:
        raise EnvtrackError("envtrack: cannot run {}: {}".format(program, error)) from None
    finally:
        if reader >= 0:
            os.close(reader)
        if feeder is not None:
            feeder.join()
    if done.stderr and done.returncode == 0:
        sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()
        raise EnvtrackError(
            "envtrack: {} {} failed (exit status {}): {}".format(program, shown, done.returncode, said)
        )
    return done.stdout


def control_env() -> Dict[bytes, bytes]:
    """The environment ``envtrack-inject`` runs with when the environment it
    works on comes on its standard input: envtrack's settings alone
    (``ENVTRACK_LISTS``, ``ENVTRACK_LOG``, …), so that no value, however long,
    and no ``LD_PRELOAD`` of the caller's stands in its way."""
    return {
        name: value
        for name, value in os.environb.items()
        if name.startswith(b"ENVTRACK_") and not name.startswith(b"ENVTRACK_STATE")
    }


def env_bytes(env: Mapping[bytes, bytes]) -> bytes:
    """An environment as ``/proc/PID/environ`` holds it: ``NAME=VALUE`` entries,
    each ended by a NUL byte."""
    return b"".join(name + b"=" + value + b"\0" for name, value in env.items())


def parse_env(out: bytes) -> Dict[bytes, bytes]:
    """The reverse of :func:`env_bytes` (the first entry of a name wins)."""
    result: Dict[bytes, bytes] = {}
    for entry in out.split(b"\0"):
        if entry:
            name, _, value = entry.partition(b"=")
            result.setdefault(name, value)
    return result


def is_library(path: bytes) -> bool:
    """Whether a mapped file is envtrack's library: ``libenvtrack.so``, or a copy
    or version of it under a name of that form (``libenvtrack-1.so``,
    ``libenvtrack.so.0``), so that it is never loaded twice."""
    name = path.rsplit(b"/", 1)[-1]
    return name.startswith(b"libenvtrack") and (name.endswith(b".so") or b".so." in name)


def library_loaded() -> bool:
    """Whether ``libenvtrack.so`` is loaded in this process (and envtrack is not off here)."""
    if os.environ.get("ENVTRACK", "") in ("off", "0", "no", "false"):
        return False
    try:
        with open("/proc/self/maps", "rb") as maps:
            return any(is_library(line.rstrip(b"\n").replace(b" (deleted)", b"").split(b" ")[-1]) for line in maps)
    except OSError:
        return False
