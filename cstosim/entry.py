"""The ``cstosim`` console script and ``python -m cstosim``: signals first, then the commands.

SIGTERM and Ctrl-C arriving while the command's modules load end the process with one line and
exit 143 or 130 (nothing has been written yet); from then on :class:`cstosim.commands.guard.Main`
and each command's guard handle them. This module imports only the standard library, so the
window in which Python's own handling applies is Python's start-up alone.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


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
    main()
