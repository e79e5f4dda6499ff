"""``envtrack.activate()``: this process and everything it starts, tracked."""

from __future__ import annotations

import os
import stat
import sys

from . import _native

TYPE_CHECKING = False  # as in _native: typing only for the type checker
if TYPE_CHECKING:
    from typing import List, Optional, Tuple, Union

_REEXEC = "ENVTRACK_REEXEC"

if TYPE_CHECKING:
    Arg = Union[str, bytes]


class ActivationError(RuntimeError):
    """:func:`activate` cannot run this interpreter again (an interactive session,
    a program read from standard input or a pipe)."""


ActivationError.__module__ = "envtrack"

# CPython's options that take a value (in the same word or the next one), and
# those that end the options (what follows is the program, not a script).
_WITH_VALUE = "WX"
_PROGRAM = "cm"
_LONG_WITH_VALUE = ("--check-hash-based-pycs",)


def _original_command_line() -> Optional[List[Arg]]:
    """The interpreter's command line as it was started: ``sys.orig_argv`` (3.10
    and later), else ``/proc/self/cmdline`` (``sys.argv`` may have been changed
    since, and interpreter options such as ``-u`` are not in it)."""
    orig = getattr(sys, "orig_argv", None)
    if orig:
        return list(orig)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return None
    return list(words[:-1]) if words and words[-1] == b"" else None


def _program(command: List[Arg]) -> Tuple[str, Optional[int]]:
    """What the interpreter runs, read from its command line as CPython reads
    it: ``("script", i)`` (a file, directory or zip archive at ``command[i]``),
    ``("module", None)``, ``("code", None)``, or ``("stdin", None)`` (``-``, or
    nothing: standard input or an interactive session)."""
    i = 1
    while i < len(command):
        word = os.fsdecode(command[i])
        if word == "--":
            return ("script", i + 1) if i + 1 < len(command) else ("stdin", None)
        if word == "-" or not word.startswith("-"):
            return ("stdin", None) if word == "-" else ("script", i)
        if word.startswith("--"):
            i += 2 if word in _LONG_WITH_VALUE else 1
            continue
        for position, option in enumerate(word[1:], start=1):
            if option in _PROGRAM:
                return ("module" if option == "m" else "code"), None
            if option in _WITH_VALUE:
                if position == len(word) - 1:
                    i += 1  # its value is the next word
                break
        i += 1
    return "stdin", None


def _start_directory(given: str, main_file: Optional[str]) -> Optional[str]:
    """The directory the interpreter started in, from a relative program path
    as given and the absolute path Python 3.9 and later made of it
    (``__main__.__file__``: the script, or ``__main__.py`` in a directory or zip
    archive). None when it cannot be told."""
    if not main_file or not os.path.isabs(main_file) or os.path.isabs(given):
        return None
    given = os.path.normpath(given)
    for made in (main_file, os.path.dirname(main_file)):
        made = os.path.normpath(made)
        if made.endswith(os.sep + given):
            return made[: -len(given) - 1] or os.sep
    return None


def _cwd() -> Optional[str]:
    """The working directory, None when it was removed."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _command_line() -> Tuple[Optional[List[Arg]], Optional[str], str]:
    """The command line to run this interpreter again with and the directory to
    run it in (None: here), or (None, None, why it cannot be run again)."""
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return None, None, "an interactive session"
    command = _original_command_line()
    if command is None:
        return None, None, "its command line is unknown (no sys.orig_argv and no /proc/self/cmdline)"
    command[0] = sys.executable  # the same interpreter, and so the same virtual environment
    kind, index = _program(command)
    main = sys.modules.get("__main__")
    here = _cwd()
    if kind == "stdin":
        return None, None, "its program was read from standard input"
    if kind == "module":
        # python -m finds the module from the directory it started in, which sys.path[0]
        # holds: run it again from there if the program has changed directory since.
        spec = getattr(main, "__spec__", None)
        first = sys.path[0] if sys.path else ""
        origin = getattr(spec, "origin", None) or ""
        if os.path.isabs(first) and origin.startswith(os.path.join(first, "")) and here != first:
            return command, first, ""
        return command, None, ""
    if kind == "code":
        return command, None, ""
    assert index is not None
    given = os.fsdecode(command[index])
    main_file = getattr(main, "__file__", None)
    start = _start_directory(given, main_file)
    if start or here:
        program = os.path.join(start or here or "", given)
    else:
        program = main_file if main_file and os.path.isabs(main_file) else given
    try:
        mode = os.stat(program).st_mode
    except OSError:
        mode = 0
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return None, None, "its program {!r} is not a file that can be read again (a pipe?)".format(given)
    # From the directory it started in, as it was given (the same sys.argv[0]), when the
    # program has changed directory since; else by its absolute path.
    if start is not None:
        return command, (start if start != here else None), ""
    command[index] = program if os.path.isabs(program) else os.path.join(here or "/", program)
    return command, None, ""


def is_active() -> bool:
    """Whether this process is tracked: ``libenvtrack.so`` is loaded and
    ``ENVTRACK`` does not turn it off."""
    return _native.library_loaded()


def _untracked(reason: str) -> bool:
    sys.stderr.write("envtrack: activate(): {}; going on untracked\n".format(reason))
    return False


def activate() -> bool:
    """Makes this process, and every process it starts, tracked.

    Call it first thing in a script. If the library is not loaded yet, the
    interpreter is run again under it (``exec``: the same process), with the same
    command line, once: what ran before the call runs twice. Then every change to
    the environment (through ``os.environ``, :data:`envtrack.environ` or C)
    travels to every child, and through ``mpirun``, ``srun`` and ``ssh`` to
    every worker.

    Where the library cannot be loaded (``envtrack-inject`` or the library
    missing, a set-user-ID interpreter), the script goes on untracked after one
    ``envtrack:`` line on standard error. ``ENVTRACK=off`` turns it off without
    a word.

    Returns:
        Whether this process is tracked.

    Raises:
        ActivationError: in an interactive session, or when the program cannot
            be read again (standard input, a pipe). :data:`envtrack.environ`
            tracks without the library there.
    """
    marked = os.environ.get(_REEXEC) == str(os.getpid())
    if _REEXEC in os.environ:
        del os.environ[_REEXEC]  # never tracked: its removal does not travel
    if os.environ.get("ENVTRACK", "") in ("off", "0", "no", "false"):
        return False
    if is_active():
        return True
    if marked:
        return _untracked(
            "the interpreter was run again with {} preloaded, but it did not load (see any line above; "
            "a set-user-ID interpreter ignores LD_PRELOAD)".format(_native.LIBRARY_NAME)
        )
    command, directory, why = _command_line()
    if command is None:
        raise ActivationError(
            "envtrack.activate() cannot run this interpreter again: {}; use envtrack.environ, which tracks "
            "what is set through it without the library, or start Python as: "
            "python -m envtrack -- python SCRIPT".format(why)
        )
    # The environment it starts with, from envtrack-inject: here, where a failure can
    # still be reported and the script go on, not after this process is replaced.
    from . import _snapshot

    try:
        env = _snapshot.applied_environment_here(dict(os.environb))
    except _native.EnvtrackError as error:
        return _untracked(str(error).replace("envtrack: ", "", 1))
    if not any(_native.is_library(e) for e in env.get(b"LD_PRELOAD", b"").split(b":")):
        return _untracked("{} gave no environment with the library".format(_native.injector()))
    # Marked here, whatever envtrack-inject gave: the run it starts is the last.
    env[_REEXEC.encode()] = str(os.getpid()).encode()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    here = _cwd()
    try:
        if directory is not None:
            os.chdir(directory)
        os.execve(sys.executable, command, env)
    except OSError as error:
        if here is not None and directory is not None:
            os.chdir(here)
        return _untracked("cannot run {} again: {}".format(sys.executable, error))
    return False  # not reached
