"""Which scenarios the dashboard offers, and opening one with every problem located.

The shipped scenarios are the ``*.yaml`` files of the project's ``scenarios/`` folder (or of the
folder named by ``$CSTOSIM_SCENARIOS``). Any other file can be opened by its path. Opening never
raises: a file that does not load gives its problems as ``file:line:column: field: message``
lines (what ``cstosim validate`` prints), and any other failure gives one line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cstosim.language.loader import load_scenario
from cstosim.language.scenario import Scenario
from cstosim.language.yamlio import ScenarioError

SCENARIOS_ENV = "CSTOSIM_SCENARIOS"
"""Environment variable naming the folder of shipped scenarios (default: the project's)."""

PREFERRED = "csto-2022-2023"
"""The scenario a new tab starts with, when it is shipped."""


def scenario_folder() -> Path:
    """The folder of shipped scenarios: ``$CSTOSIM_SCENARIOS``, else the project's ``scenarios/``
    (beside the package in a source checkout), else ``./scenarios``."""
    named = os.environ.get(SCENARIOS_ENV)
    if named:
        return Path(named)
    beside = Path(__file__).resolve().parents[3] / "scenarios"
    return beside if beside.is_dir() else Path.cwd() / "scenarios"


def shipped_scenarios(folder: Path | None = None) -> dict[str, Path]:
    """``{file stem: path}`` of every ``*.yaml`` file in ``folder`` (default
    :func:`scenario_folder`), in name order; empty if the folder does not exist."""
    where = scenario_folder() if folder is None else folder
    if not where.is_dir():
        return {}
    return {p.stem: p for p in sorted(where.glob("*.yaml")) if p.is_file()}


def default_scenario(folder: Path | None = None) -> str:
    """The path a new tab starts with: :data:`PREFERRED` if shipped, else the first shipped
    scenario, else an empty string (the user types a path)."""
    shipped = shipped_scenarios(folder)
    if PREFERRED in shipped:
        return str(shipped[PREFERRED])
    return str(next(iter(shipped.values()), ""))


@dataclass(frozen=True)
class Opened:
    """A scenario file as opened: the validated scenario, or the problems that stop it."""

    path: str
    sets: tuple[str, ...]
    scenario: Scenario | None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.scenario is not None


def open_scenario(path: str, sets: Iterable[str] = (), revision: int = 0) -> Opened:
    """Load ``path`` with ``sets`` (``path=value`` overrides, as ``--set``); never raises.

    Results are cached by ``(path, sets, revision)``: a caller bumps ``revision`` to read the
    file again after it changed on disk. The cached scenarios are shared by every tab and must
    not be changed in place (the engines copy what they change).
    """
    return _open(path.strip(), tuple(sets), revision)


@functools.lru_cache(maxsize=64)
def _open(path: str, sets: tuple[str, ...], revision: int) -> Opened:
    if not path:
        return Opened(path, sets, None, ("no scenario file: choose one or type its path",))
    try:
        scenario = load_scenario(Path(path), sets)
    except ScenarioError as exc:
        return Opened(path, sets, None, tuple(str(p) for p in exc.problems))
    except Exception as exc:  # a failure outside the language's checks: one line, no traceback
        return Opened(path, sets, None, (f"{path}: cannot open: {one_line(exc)}",))
    return Opened(path, sets, scenario)


def display_path(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it (shorter to read and to
    paste into a command), else as given."""
    if not path:
        return path
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return path


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (for messages shown instead of tracebacks)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
