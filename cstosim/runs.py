"""From a scenario to a results folder: run the ensemble, write the folder, draw the figures.

This is the one place where the layers meet (engine → store → views): the engine yields chunks
of replicates, the store writes each one as it comes, the views draw from the written folder.
``cstosim.cli`` calls it and ``cstosim compare`` reuses :func:`produce`. Nothing below imports
this module, and importing it costs no more than the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cstosim.engine.defaults import DEFAULT_ENGINE, DEFAULT_REPLICATES, DEFAULT_SEED

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario

Progress = Callable[[int], None]


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
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=Console(stderr=True), transient=False) as bar:
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

    from cstosim.language.scenario import (
        LAST_YEAR,
        MAX_MEMBER_MONTHS,
        calendar_months,
        member_months_message,
        month_index,
    )

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
    if month_index(until)[0] > LAST_YEAR:
        raise InputError(f"--until {until}: after {LAST_YEAR}, the last year a scenario may cover")
    months = calendar_months(scenario.calendar.start, until)
    if len(scenario.members) * months > MAX_MEMBER_MONTHS:
        raise InputError(
            f"--until {until}: " + member_months_message(len(scenario.members), months)
        )
    return until


@dataclass
class RunRequest:
    """How to run an ensemble and what to record about it."""

    replicates: int = DEFAULT_REPLICATES
    seed: int = DEFAULT_SEED
    jobs: int = 1
    until: str | None = None
    engine: str = DEFAULT_ENGINE
    chunk_size: int | None = None  # None: the engine's default (cstosim.engine.ensemble)
    figure_format: str | None = "png"  # None: no figures
    quiet: bool = False
    command: Sequence[str] = ()
    scenario_file: str | None = None
    sets: Sequence[str] = ()
    label: str = "replicates"


def produce(folder: Any, scenario: Scenario, request: RunRequest) -> dict[str, Any]:
    """Run the ensemble into the existing ``folder`` chunk by chunk, then draw the figures.

    Each chunk of replicates is written as it arrives (``store.results.ResultsWriter``), so memory
    does not grow with ``request.replicates``. Returns the manifest.
    """
    from cstosim.engine.ensemble import plan_ensemble, stream_ensemble
    from cstosim.store.results import ResultsWriter, RunInfo, finish_manifest, utc_now

    started = utc_now()
    try:
        plan = plan_ensemble(
            scenario,
            request.replicates,
            request.seed,
            request.until,
            request.jobs,
            request.engine,
            request.chunk_size,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    info = RunInfo(
        scenario_file=request.scenario_file,
        sets=list(request.sets),
        command=list(request.command),
        started=started,
        jobs_requested=request.jobs,
    )
    with ResultsWriter(folder, scenario, plan.replicates) as writer:
        with (
            progress_bar(plan.replicates, request.label, request.quiet) as advance,
            closing(stream_ensemble(scenario, plan, advance)) as chunks,
        ):
            for chunk in chunks:
                writer.add(chunk.model, chunk.members, chunk.events)
        manifest = writer.finish(plan, info)
    if request.figure_format is not None:
        from cstosim.views.plots import plot_results

        plot_results(folder, request.figure_format)
    finish_manifest(folder)
    return manifest


def run_to_folder(
    target: Any, scenario: Scenario, request: RunRequest, force: bool = False
) -> dict[str, Any]:
    """:func:`produce` into ``target`` atomically: all of it or, on any failure, nothing."""
    from pathlib import Path

    from cstosim.store.results import staged_folder

    with staged_folder(Path(target), force) as tmp:
        return produce(tmp, scenario, request)
