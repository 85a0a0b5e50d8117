"""The results folder's layout and its atomic creation (staging folder, rename at the end).

The folder is built in a hidden temporary folder beside the target (``.NAME.partial-XXXX``) and
renamed into place at the end; an exception or Ctrl-C removes the temporary folder, so no
half-written results folder is ever left. An existing target is never replaced without ``force``;
with ``force`` it is replaced by two renames (old folder aside, new folder in, old folder
deleted), and only if it is empty or a cstosim results folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FORMAT = "cstosim-results"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.resolved.yaml"
SUMMARY = "summary.csv"
FIGURES = "figures"
TABLE_FILES = {"model": "model.parquet", "members": "members.parquet", "events": "events.parquet"}


class OutputExistsError(Exception):
    """The output folder exists and may not be replaced."""


class ResultsError(Exception):
    """A folder is not a readable cstosim results folder."""


def is_results_folder(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_target(target: Path, force: bool) -> None:
    """Raise :class:`OutputExistsError` unless ``target`` may be (re)placed."""
    if not target.exists() and not target.is_symlink():
        return
    if not force:
        raise OutputExistsError(
            f"output folder {target} already exists; use --force to replace it or --out elsewhere"
        )
    if not target.is_dir() or not (is_results_folder(target) or not any(target.iterdir())):
        raise OutputExistsError(
            f"{target} is not a cstosim results folder (no {MANIFEST}); refusing to replace it "
            "even with --force"
        )


@contextmanager
def staged_folder(target: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; rename it to ``target`` if the block succeeds.

    On any exception (including KeyboardInterrupt) the temporary folder, and any parent folders
    this call created, are removed and the exception propagates; ``target`` is left untouched.
    """
    target = Path(target)
    check_target(target, force)
    created: list[Path] = []
    parent = target.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a results folder is not
    try:
        yield tmp
        _commit(tmp, target, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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


def _commit(tmp: Path, target: Path, force: bool) -> None:
    check_target(target, force)  # again: something may have appeared while we were running
    if not target.exists():
        os.rename(tmp, target)
        return
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
