"""How every command ends: exit codes and one-line messages, never a traceback.

Exit codes (README, results/README.md): 0 success; 2 bad input (a located scenario error, an
output folder that exists, is busy or cannot be created, a damaged results folder); 1 a failure
while running, including an error of the file system such as a full disk (one line; ``--debug``
raises the exception); 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM. SIGTERM is
turned into the same clean stop as Ctrl-C, so a killed run removes its staging folder.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from cstosim.exits import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that it cleans up as after Ctrl-C."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


class Main(click.Group):
    """The ``cstosim`` group: SIGTERM and Ctrl-C end every command the same way.

    A command's own :func:`guard` says what was kept; an interrupt outside it (while options
    are parsed or a command's modules load) ends here instead of click's "Aborted!" (exit 1).
    Before that, while the modules load, :mod:`cstosim.entry` does the same.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        signal.signal(signal.SIGTERM, _terminate)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            click.echo("interrupted: nothing was written", err=True)
            sys.exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM in ``exc``'s chain of causes, if any (a fault test found pyabc's
    SQLAlchemy session raising PendingRollbackError for an interrupt during a flush)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class _NoteHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from cstosim.language.yamlio import escape

        click.echo(f"note: {escape(record.getMessage())}", err=True)


def _notes() -> None:
    """Print the store's warnings (e.g. leftovers of killed runs removed) as ``note:`` lines."""
    logger = logging.getLogger("cstosim.store")
    if not any(isinstance(h, _NoteHandler) for h in logger.handlers):
        logger.addHandler(_NoteHandler())
        logger.propagate = False


def guard(
    debug: bool,
    action: Callable[[], Any],
    bad_input: tuple[type[Exception], ...] = (),
    interrupted: str = "no results folder was written",
) -> Any:
    """Run ``action``; map what it raises to a message on stderr and the exit code.

    ``bad_input``: the command's own exception classes that mean bad input (exit 2), besides
    scenario errors and the store's output and results errors. ``interrupted``: what Ctrl-C
    leaves behind, said after "interrupted:" unless a folder had already been renamed into place.
    """
    from cstosim.language.yamlio import ScenarioError, escape
    from cstosim.store import folder

    expected: tuple[type[Exception], ...] = (folder.OutputError, folder.ResultsError, *bad_input)
    folder.committed.clear()  # this command's folders only (tests run many in one process)
    _notes()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return action()
    except ScenarioError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except expected as exc:
        click.echo(escape(f"error: {exc}".replace("\n", " ")), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt as exc:
        if exc.args:  # the command says what it kept
            done = str(exc.args[0])
        elif folder.committed:
            done = f"{folder.committed[-1]} was written completely before the interrupt"
        else:
            done = interrupted
        click.echo(f"interrupted: {escape(done)}", err=True)
        terminated = isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated)
        sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    except Exception as exc:
        cause = _interrupt_behind(exc)
        if cause is not None:  # a library turned Ctrl-C into its own error (SQLAlchemy does)
            click.echo(f"interrupted: {escape(interrupted)}", err=True)
            terminated = isinstance(cause, Terminated)
            sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        if debug:
            raise
        if isinstance(exc, OSError) and exc.strerror:
            where = f": {exc.filename}" if exc.filename else ""
            message = f"error: {exc.strerror}{where}"
        else:
            message = f"error: {type(exc).__name__}: {exc}"
        message = escape(message.replace("\n", " "))
        click.echo(f"{message} (run with --debug for the traceback)", err=True)
        sys.exit(EXIT_FAILURE)
