"""``envtrack.activate()``: this process and everything it starts, tracked."""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from . import _native

_REEXEC = "ENVTRACK_REEXEC"


class ActivationError(RuntimeError):
    """:func:`activate` cannot re-run this interpreter (an interactive session,
    a program read from standard input, ``-c`` before Python 3.10)."""


def _command_line() -> Optional[List[str]]:
    """The interpreter's own command line, to run again; None when it cannot be
    run again."""
    argv0 = sys.argv[0] if sys.argv else ""
    if hasattr(sys, "ps1") or sys.flags.interactive or argv0 in ("", "-"):
        return None
    orig = getattr(sys, "orig_argv", None)  # Python 3.10 and later: exactly as given
    if orig:
        return [sys.executable, *orig[1:]]
    if argv0 == "-c":
        return None
    import subprocess

    flags = subprocess._args_from_interpreter_flags()  # noqa: SLF001 - the stdlib's own reconstruction
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name != "__main__":
        module = spec.name[: -len(".__main__")] if spec.name.endswith(".__main__") else spec.name
        return [sys.executable, *flags, "-m", module, *sys.argv[1:]]
    return [sys.executable, *flags, *sys.argv]


def is_active() -> bool:
    """Whether this process is tracked: ``libenvtrack.so`` is loaded and
    ``ENVTRACK`` does not turn it off."""
    return _native.library_loaded()


def activate() -> bool:
    """Makes this process, and every process it starts, tracked.

    Call it first thing in a script. If the library is not loaded yet, the
    interpreter is run again under it, with the same command line, once: what
    ran before the call runs twice. Then every change to the environment (through
    ``os.environ``, :data:`envtrack.environ` or C) travels to every child, and
    through ``mpirun``, ``srun`` and ``ssh`` to every worker.

    Where the library cannot be loaded (``envtrack-inject`` missing, a
    set-user-ID interpreter), the script goes on untracked after one
    ``envtrack:`` line on standard error.

    Returns:
        Whether this process is tracked.

    Raises:
        ActivationError: in an interactive session, or when the program cannot
            be run again (read from standard input; ``-c`` before Python 3.10).
            :data:`envtrack.environ` tracks without the library there.
    """
    marked = os.environ.get(_REEXEC) == "1"
    if marked:
        del os.environ[_REEXEC]  # never tracked: its removal does not travel
    if os.environ.get("ENVTRACK", "") in ("off", "0", "no", "false"):
        return False
    if is_active():
        return True
    if marked:
        sys.stderr.write(
            "envtrack: activate(): the interpreter was run again under {}, but it did not load "
            "(see the lines above, or a set-user-ID interpreter); going on untracked\n".format(_native.LIBRARY_NAME)
        )
        return False
    command = _command_line()
    if command is None:
        raise ActivationError(
            "envtrack.activate() cannot run this interpreter again (an interactive session, a program "
            "from standard input, or -c before Python 3.10); use envtrack.environ, which tracks what is set "
            "through it without the library, or start Python as: python -m envtrack -- python SCRIPT"
        )
    try:
        injector = _native.injector()
    except _native.EnvtrackError as error:
        sys.stderr.write("{}; going on untracked\n".format(error))
        return False
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    env = dict(os.environ)
    env[_REEXEC] = "1"
    try:
        os.execve(injector, [injector, "--", *command], env)
    except OSError as error:
        sys.stderr.write("envtrack: activate(): cannot run {}: {}; going on untracked\n".format(injector, error))
    return False
