"""From a scenario to a results folder: run the ensemble, write the folder, draw the figures.

This is the one place where the layers meet (engine → store → views); ``cstosim.cli`` calls it
and ``cstosim compare`` reuses :func:`produce`. Nothing below imports this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cstosim.engine.ensemble import (
    DEFAULT_REPLICATES,
    DEFAULT_SEED,
    Ensemble,
    Progress,
    run_ensemble,
)

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario


@contextmanager
def progress_bar(
    total: int, description: str = "replicates", quiet: bool = False
) -> Iterator[Progress]:
    """A rich progress bar on stderr (nothing at all when ``quiet``); yields the callback."""
    if quiet:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


# --------------------------------------------------------------------------------------------
# From a scenario to a results folder (used by ``cstosim run`` and ``cstosim compare``)
# --------------------------------------------------------------------------------------------


class InputError(Exception):
    """Bad input from the user (exit code 2), other than scenario errors."""


def check_until(scenario: Scenario, until: str | None) -> str | None:
    """Validate ``--until``: a ``YYYY-MM`` month no earlier than the calendar end."""
    if until is None:
        return None
    import re

    from cstosim.language.scenario import month_index

    match = re.fullmatch(r"(\d{4})-(\d{2})", until)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"--until: expected a month as YYYY-MM (e.g. 2025-12), got {until!r}")
    end = scenario.calendar.end
    if month_index(until) < month_index(end):
        raise InputError(
            f"--until {until} is before the calendar end {end} of scenario "
            f"{scenario.name}; --until only projects past the end"
        )
    if month_index(until)[0] - month_index(end)[0] > 200:
        raise InputError(f"--until {until}: more than 200 years past the calendar end {end}")
    return until


@dataclass
class RunRequest:
    """How to run an ensemble and what to record about it."""

    replicates: int = DEFAULT_REPLICATES
    seed: int = DEFAULT_SEED
    jobs: int = 1
    until: str | None = None
    figure_format: str | None = "png"  # None: no figures
    quiet: bool = False
    command: Sequence[str] = ()
    scenario_file: str | None = None
    sets: Sequence[str] = ()
    label: str = "replicates"


def produce(folder: Any, scenario: Scenario, request: RunRequest) -> Ensemble:
    """Run the ensemble and write a complete results folder into the existing ``folder``."""
    from cstosim.store.results import RunInfo, finish_manifest, utc_now, write_results

    started = utc_now()
    with progress_bar(request.replicates, request.label, request.quiet) as advance:
        ensemble = run_ensemble(
            scenario, request.replicates, request.seed, request.until, request.jobs, advance
        )
    info = RunInfo(
        scenario_file=request.scenario_file,
        sets=list(request.sets),
        command=list(request.command),
        started=started,
        jobs_requested=request.jobs,
    )
    write_results(folder, ensemble, scenario, info)
    if request.figure_format is not None:
        from cstosim.views.plots import plot_results

        plot_results(folder, request.figure_format)
    finish_manifest(folder)
    return ensemble


def run_to_folder(
    target: Any, scenario: Scenario, request: RunRequest, force: bool = False
) -> Ensemble:
    """:func:`produce` into ``target`` atomically: all of it or, on any failure, nothing."""
    from pathlib import Path

    from cstosim.store.results import staged_folder

    with staged_folder(Path(target), force) as tmp:
        return produce(tmp, scenario, request)
