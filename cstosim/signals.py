"""Holding SIGINT and SIGTERM back for a few lines that must not be cut in two.

Used where an interrupt would leave something half done: the renames that put a results folder
in place (:mod:`cstosim.store.folder`) and the start of worker processes, whose set-up data
the parent writes down a pipe (:mod:`cstosim.engine.ensemble`, :mod:`cstosim.engine.cluster`;
cut there, a worker dies with a traceback on reading it). A module of the standard library
alone, below every layer (docs/INTERFACES.md).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends, then act as they would have.

    Python-level handlers, not the thread's signal mask: a signal sent to the process may be
    delivered to any of its threads (pyarrow's, BLAS's), and Python runs handlers in the main
    thread anyway. Outside the main thread handlers cannot be changed; the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for number in pending:
            handler = previous[signal.Signals(number)]
            if callable(handler):
                handler(number, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(number)
