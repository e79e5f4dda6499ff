"""``python -m envtrack [ARGS]``: ``envtrack-inject ARGS``, e.g.
``python -m envtrack -- python train.py`` runs ``train.py`` tracked."""

from __future__ import annotations

import os
import sys

from ._native import EnvtrackError, injector


def main() -> None:
    try:
        program = injector()
    except EnvtrackError as error:
        sys.stderr.write("{}\n".format(error))
        sys.exit(2)
    sys.stdout.flush()
    try:
        os.execv(program, [program, *sys.argv[1:]])
    except OSError as error:
        sys.stderr.write("envtrack: cannot run {}: {}\n".format(program, error))
        sys.exit(127)


if __name__ == "__main__":
    main()
