"""The ``cstosim`` console script and ``python -m cstosim``: signals first, then the commands.

SIGTERM and Ctrl-C arriving while the command's modules load end the process with one line and
exit 143 or 130 (nothing has been written yet); from then on :class:`cstosim.commands.guard.Main`
and each command's guard handle them. This module imports only the standard library, so the
window in which Python's own handling applies is Python's start-up alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from cstosim.exits import EXIT_INTERRUPTED, EXIT_TERMINATED


def _terminated(signum: int, frame: Any) -> None:
    sys.stderr.write("interrupted: nothing was written\n")
    sys.exit(EXIT_TERMINATED)


def run() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from cstosim.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was written\n")
        sys.exit(EXIT_INTERRUPTED)
    try:
        main()
    except SystemExit as exc:
        if exc.code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            _end_now(exc.code)
        raise


def _end_now(code: int) -> None:
    """End an interrupted process at once, its clean-up done (staging folder removed, pool
    terminated, message printed): Python's own shutdown, with a worker pool's threads stopped
    half-way by the interrupt, can crash (a fault test saw a segmentation fault there)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
