"""The results folder's layout and its atomic creation (staging folder, rename at the end).

The folder is built in a hidden staging folder beside the target (``.NAME.partial-XXXX``) and
renamed into place at the end; an exception, Ctrl-C or SIGTERM removes the staging folder, so no
half-written results folder is ever left. While it runs, a process holds an exclusive lock on
``.NAME.lock`` beside the target (``fcntl.flock``, released by the kernel when the process dies),
so a second run into the same target stops at once instead of after its whole run. A process
killed with SIGKILL cannot remove its staging folder; the next run into the same parent folder
finds staging folders whose lock is free, removes them and says so (logger ``cstosim.store``).

An existing target is never replaced without ``force``; with ``force`` it is replaced by two
renames (old folder aside, new folder in, old folder deleted), and only if it is empty or a
cstosim results folder. A target that is a symbolic link to a results folder is replaced by the
new folder; the folder it pointed to is left alone. The renames run with SIGINT and SIGTERM
held back, so an interrupt cannot fall between them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cstosim.signals import held

FORMAT = "cstosim-results"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.resolved.yaml"
SUMMARY = "summary.csv"
FIGURES = "figures"
TABLE_FILES = {"model": "model.parquet", "members": "members.parquet", "events": "events.parquet"}
STAGING = ".partial-"
ASIDE = ".old-"
LOCK_SUFFIX = ".lock"
WORK_SUFFIX = ".abc-work"
"""A calibration's resumable work folder beside its target (cstosim.analysis.calibration)."""

log = logging.getLogger("cstosim.store")

_held: set[str] = set()  # lock files this process holds

#: Folders this process has renamed into place (the CLI reports them if interrupted afterwards).
committed: list[Path] = []


class OutputError(Exception):
    """The output folder cannot be written where it was asked for."""


class OutputExistsError(OutputError):
    """The output folder exists and may not be replaced."""


class OutputBusyError(OutputError):
    """Another live process is writing the same output folder."""


class ResultsError(Exception):
    """A folder is not a readable cstosim results folder."""


def is_results_folder(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_target(target: Path, force: bool, marker: str = MANIFEST) -> None:
    """Raise :class:`OutputError` unless ``target`` may be (re)placed.

    With ``force`` an existing folder is replaced only if it is empty or holds ``marker`` (the
    file that makes it one of ours: a results folder's manifest by default).
    """
    _check_ancestors(target)
    if not target.exists() and not target.is_symlink():
        return
    if not force:
        elsewhere = " or --out elsewhere" if marker == MANIFEST else ""
        raise OutputExistsError(
            f"output folder {target} already exists; use --force to replace it{elsewhere}"
        )
    if not target.is_dir() or not ((target / marker).is_file() or not any(target.iterdir())):
        what = "a cstosim results folder" if marker == MANIFEST else "a cstosim folder"
        raise OutputExistsError(
            f"{target} is not {what} (no {marker}); refusing to replace it even with --force"
        )


def _check_ancestors(target: Path) -> None:
    """The nearest existing ancestor of ``target`` must be a folder we can write into."""
    parent = target.parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {target}: {parent} is not writable")


@contextmanager
def target_lock(target: Path) -> Iterator[None]:
    """Hold the lock ``.NAME.lock`` beside ``target`` for the block.

    Raises :class:`OutputBusyError` at once if another live process holds it. The lock file is
    removed when the block ends (a file left by a killed process is taken over by the next one).
    The parent folder is created if missing.
    """
    _check_ancestors(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {target.parent}: {exc.strerror}") from None
    path = _lock_path(target)
    key = os.path.abspath(path)
    if key in _held:  # this process holds it already (a command locks, then stages)
        yield
        return
    fd = _try_lock(path)
    if fd is None:
        raise OutputBusyError(
            f"another cstosim process is writing {target} now; wait for it or choose another --out"
        )
    _held.add(key)
    try:
        yield
    finally:
        _held.discard(key)
        _release(path, fd)


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}{LOCK_SUFFIX}"


def _try_lock(path: Path) -> int | None:
    """The locked descriptor of ``path`` (created if missing), or None if a live process holds it.

    A file that was unlinked (or replaced) between our open and our lock is retried, so two
    processes can never both hold "the" lock of one path.
    """
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot create the lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _release(path: Path, fd: int) -> None:
    try:
        path.unlink(missing_ok=True)  # while still holding the lock: see _try_lock
    finally:
        os.close(fd)


def clean_leftovers(parent: Path, held: str | None = None) -> list[Path]:
    """Remove what killed runs left in ``parent``; return what was removed.

    A staging folder ``.NAME.partial-*``, an aside ``.NAME.old-*``, a lock file ``.NAME.lock`` or
    a calibration's work folder ``.NAME.abc-work`` whose ``NAME`` is complete (killed after its
    rename) belongs to a dead process when nobody holds ``.NAME.lock`` (``held``: the name whose
    lock this process holds itself). An aside whose target is missing (a run killed with SIGKILL
    between its two renames) is renamed back, not deleted. Nothing else is touched
    (:func:`_leftover`).
    """
    removed: list[Path] = []
    try:
        entries = sorted(p for p in parent.iterdir() if p.name.startswith("."))
    except OSError:
        return removed
    names: dict[str, list[Path]] = {}
    for entry in entries:
        kind, name = _leftover(entry)
        if kind == "lock":
            names.setdefault(name, [])
        elif kind:
            names.setdefault(name, []).append(entry)
    for name, leftovers in names.items():
        target = parent / name
        lock = _lock_path(target)
        fd = None if name == held else _try_lock(lock)
        if fd is None and name != held:
            continue  # a live run owns them
        try:
            for entry in leftovers:
                missing = not target.exists() and not target.is_symlink()
                kind = _leftover(entry)[0]
                if kind == "work" and missing:
                    continue  # a calibration to resume, not a leftover
                if kind == "aside" and missing:
                    os.rename(entry, target)
                    log.warning("restored %s from %s (left by a killed run)", target, entry.name)
                    continue
                _remove(entry)
                removed.append(entry)
                log.warning("removed %s (left by a killed run)", entry)
        finally:
            if fd is not None:
                _release(lock, fd)
    return removed


_LEFTOVER = re.compile(
    r"^\.(?P<name>.+?)"
    r"(?:(?P<staging>\.partial-[a-z0-9_]{8})|(?P<aside>\.old-[0-9a-f]{8})|(?P<lock>\.lock)"
    r"|(?P<work>\.abc-work))$"
)


def _leftover(entry: Path) -> tuple[str, str]:
    """``(kind, target name)`` if ``entry`` is exactly what a run of ours leaves, else ``("", "")``.

    Only our exact forms count, so that a user's own hidden files are never touched: a staging
    folder ``.NAME.partial-`` + 8 characters of ``mkdtemp``, an aside ``.NAME.old-`` + 8 hex
    digits (a folder or a link), an empty lock file ``.NAME.lock``.
    """
    match = _LEFTOVER.match(entry.name)
    if match is None:
        return "", ""
    if match["staging"] and entry.is_dir() and not entry.is_symlink():
        return "staging", match["name"]
    if match["aside"] and (entry.is_dir() or entry.is_symlink()):
        return "aside", match["name"]
    if match["lock"] and entry.is_file() and not entry.is_symlink() and entry.stat().st_size == 0:
        return "lock", match["name"]
    if match["work"] and entry.is_dir() and not entry.is_symlink():
        return "work", match["name"]
    return "", ""


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def staged_folder(target: Path, force: bool = False, marker: str = MANIFEST) -> Iterator[Path]:
    """Yield a staging folder beside ``target``; rename it to ``target`` if the block succeeds.

    On any exception (including KeyboardInterrupt) the staging folder, and any parent folders
    this call created, are removed and the exception propagates; ``target`` is left untouched.
    Raises :class:`OutputError` before anything runs if ``target`` exists (without ``force``;
    with it, unless it holds ``marker``), cannot be created, or is being written by another
    process.
    """
    target = Path(target)
    check_target(target, force, marker)
    created: list[Path] = []
    parent = target.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {target.parent}: {exc.strerror}") from None
    try:
        with target_lock(target):
            clean_leftovers(target.parent, held=target.name)
            check_target(target, force, marker)  # again, now that we hold the lock
            try:
                tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING}", dir=target.parent))
            except OSError as exc:
                raise OutputError(f"cannot write into {target.parent}: {exc.strerror}") from None
            tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a results folder is not
            try:
                yield tmp
                _commit(tmp, target, force, marker)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except BaseException:
        for folder in created:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _commit(tmp: Path, target: Path, force: bool, marker: str = MANIFEST) -> None:
    with held():
        check_target(
            target, force, marker
        )  # again: something may have appeared while we were running
        replace_folder(tmp, target)


def replace_folder(tmp: Path, target: Path) -> None:
    """Rename the finished folder ``tmp`` to ``target``, replacing what is there.

    An existing ``target`` is first renamed aside and deleted only once ``tmp`` is in place (a
    symbolic link is unlinked, never followed). SIGINT and SIGTERM wait until it is done.
    """
    with held():
        pause_point("rename")
        if not target.exists() and not target.is_symlink():
            os.rename(tmp, target)
            committed.append(target)
            return
        aside = target.with_name(f".{target.name}{ASIDE}{uuid.uuid4().hex[:8]}")
        os.rename(target, aside)
        pause_point("between-renames")
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(aside, target)
            raise
        committed.append(target)
        _remove(aside)


PAUSE_VARIABLE = "CSTOSIM_PAUSE_AT"


def pause_point(name: str) -> None:
    """Stop this process (SIGSTOP) here if ``$CSTOSIM_PAUSE_AT`` names this point.

    For the fault-injection tests (``tests/test_faults.py``): they wait for the stop, send a
    signal and let the process continue, to hit the moments no random delay finds reliably.
    """
    if os.environ.get(PAUSE_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGSTOP)
