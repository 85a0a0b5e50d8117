"""Putting a case through the real entry points and judging the outcome.

Scenario files go through ``cstosim validate`` (click's runner on :data:`cstosim.cli.main`,
in-process) and, when accepted, ``cstosim run FILE -n 2 -j 1 --no-plot -q --out DIR``.
Experiment files go through :func:`cstosim.language.experiment.load_experiment` (what
``cstosim sweep`` reads them with; there is no ``validate`` for them yet) and, when accepted,
one chunk of two runs of their sweep.

The contract (README, docs/SCENARIOS.md "Errors"):

* exit 0 and exactly ``FILE: ok`` on stdout, nothing on stderr; or
* exit 2 and one line per problem on stderr, each ``file:line:column: [field: ]message`` with
  the line and column inside the file named, printable (control characters escaped), short;
* never a traceback, never "internal error while checking", never another exit code;
* within :data:`CPU_BOUND` seconds of CPU (a case that blocks is stopped after
  :data:`WALL_BOUND` seconds of wall-clock time and counted as a hang).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from .mutate import Case

CPU_BOUND = 10.0
"""Seconds of CPU a case may take (validate, or load an experiment); three times as many when
a tracer (coverage, a debugger) slows the code down, see :func:`cpu_bound`. The costliest
legitimate cases, aliases that expand to just under the reader's limit of 100,000 values, take
1 to 2 s alone on the 2-core machine of the figures and up to 5 s while it is busy with other
work; ten seconds is far above them, so a loaded machine does not make a case fail."""
WALL_BOUND = 120.0
"""Seconds of wall-clock time after which a case is stopped and counted as a hang."""
RUN_WALL_BOUND = 300.0
"""Seconds a ``run`` of an accepted file may take before it counts as a hang."""
MAX_MESSAGE = 2100
"""Longest acceptable ``field: message`` part of a problem line (the longest real one, the
list of model parameters, has about 1,200 characters): values are quoted cut short."""

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*\S.*)$")
_BREAKS = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")


class CaseTimeout(BaseException):
    """Raised in the case's thread when it runs past the wall-clock bound (not an Exception,
    so no ``except Exception`` of the code under test can swallow it)."""


@contextmanager
def wall_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` if the block runs longer than ``seconds`` (main thread)."""

    def fire(signum: int, frame: Any) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Known:
    """A defect found by fuzzing and reported, not fixed here (its owner fixes it): cases that
    show it are counted apart, so CI stays green while it is open (tests/test_fuzz_finds.py holds
    a strict xfail for each, which fails once the defect is fixed: then drop the entry)."""

    id: str
    where: str
    matches: Callable[[Case, Verdict], bool]


KNOWN: list[Known] = []
"""Open defects found by fuzzing, reported and not fixed yet (none at the moment: the two found
in cstosim/language/experiment.py are fixed, see tests/test_fuzz_finds.py)."""


@dataclass
class Verdict:
    """What happened to a case: accepted, rejected (with located lines) or a failure."""

    status: str  # "accepted", "rejected", "failure", "skipped"
    failure: str = ""  # the kind of failure, e.g. "traceback", "unlocated", "hang"
    detail: str = ""
    cpu: float = 0.0
    wall: float = 0.0
    exit_code: int | None = None
    lines: tuple[str, ...] = ()
    known: str = ""  # the id of a known, reported defect this failure shows (see KNOWN)

    @property
    def ok(self) -> bool:
        return self.status != "failure"

    @property
    def acceptable(self) -> bool:
        """No failure, or only one of a known, reported defect."""
        return self.ok or bool(self.known)

    def explain(self) -> str:
        known = f" [known defect: {self.known}]" if self.known else ""
        head = f"{self.status} {self.failure}{known} (exit {self.exit_code}, {self.cpu:.2f} s CPU)"
        return "\n".join([head, self.detail, *self.lines[:20]])


# --------------------------------------------------------------------------------------------
# Writing cases
# --------------------------------------------------------------------------------------------


def write_case(workspace: Path, case: Case) -> Path:
    """Write the case's files and special paths into ``workspace``; return the file to check."""
    for rel, kind in case.specials.items():
        path = workspace / rel
        _remove(path)
        if kind == "dir":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind.startswith("link:"):
            os.symlink(kind.removeprefix("link:"), path)
    for rel, content in case.files.items():
        (workspace / rel).write_bytes(content)
    return workspace / case.main


def remove_case(workspace: Path, case: Case) -> None:
    for rel in [*case.files, *case.specials]:
        _remove(workspace / rel)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


# --------------------------------------------------------------------------------------------
# Judging output
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Extent:
    lines: int
    width: int


def _extent(path: Path) -> _Extent | None:
    """How many lines and how wide the file is, counted as generously as the YAML reader
    might (any of its line breaks; undecodable bytes as one character each)."""
    try:
        if not path.is_file():
            return None
        raw = path.read_bytes()
    except (OSError, ValueError):
        return None
    text = raw.decode("utf-8", "replace")
    for candidate in (
        (raw.decode("utf-16", "replace"),) if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ()
    ):
        text = candidate
    parts = _BREAKS.split(text)
    newline_parts = text.split("\n")
    lines = max(len(parts), len(newline_parts))
    width = max((len(p) for p in newline_parts), default=0)
    return _Extent(lines, width)


def judge_lines(lines: list[str], sets: int) -> tuple[str, str]:
    """("", "") if every line is a proper located problem, else (failure kind, the line)."""
    if not lines:
        return "silent-rejection", "exit 2 without any message"
    extents: dict[str, _Extent | None] = {}
    for line in lines:
        if "internal error" in line:
            return "internal-error", line
        if "Traceback (most recent call last)" in line:
            return "traceback", line
        if not all(c.isprintable() for c in line):
            return "unprintable", ascii(line[:300])
        match = LOCATED.match(line)
        if match is None:
            return "unlocated", line[:1000]
        if len(match["rest"]) > MAX_MESSAGE:
            return "overlong-message", line[:300] + f"... ({len(line)} characters)"
        file, row, col = match["file"], int(match["line"]), int(match["col"])
        if row < 1 or col < 1:
            return "bad-location", line
        if file == "--set":
            if row > max(sets, 1):
                return "bad-location", line
            continue
        if file not in extents:
            extents[file] = _extent(Path(file))
        extent = extents[file]
        if extent is not None and (row > extent.lines + 1 or col > extent.width + 2):
            return "bad-location", f"{line}  [file has {extent.lines} lines, {extent.width} wide]"
    return "", ""


def _traceback(exc: BaseException) -> str:
    """The traceback of ``exc``, each line cut to 300 characters (huge paths and values)."""
    import traceback

    lines = "".join(traceback.format_exception(exc)).splitlines()
    return "\n".join(line if len(line) <= 300 else line[:297] + "..." for line in lines)[-4000:]


def _timed(action: Callable[[], Any], wall: float) -> tuple[Any, float, float, bool]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    timed_out = False
    result = None
    try:
        with wall_limit(wall):
            result = action()
    except CaseTimeout:
        timed_out = True
    return result, time.process_time() - cpu0, time.perf_counter() - wall0, timed_out


def _main() -> Any:
    from cstosim.cli import main

    return main


def check_validate(workspace: Path, case: Case, bound: float = CPU_BOUND) -> Verdict:
    """``cstosim validate`` on a written case (scenario files)."""
    path = workspace / case.main
    args = ["validate", str(path), *(f"--set={s}" for s in case.sets)]
    runner = CliRunner()
    result, cpu, wall, timed_out = _timed(lambda: runner.invoke(_main(), args), WALL_BOUND)
    if timed_out:
        return Verdict("failure", "hang", f"no answer within {WALL_BOUND:.0f} s", cpu, wall)
    stdout, stderr = result.stdout, result.stderr
    lines = tuple(stderr.splitlines())
    verdict = Verdict("", "", "", cpu, wall, result.exit_code, lines)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        verdict.status, verdict.failure = "failure", "traceback"
        verdict.detail = _traceback(result.exception)
    elif result.exit_code == 0:
        if stdout != f"{path}: ok\n" or stderr:
            verdict.status, verdict.failure = "failure", "unexpected-output"
            verdict.detail = (stdout + stderr)[:1000]
        else:
            verdict.status = "accepted"
    elif result.exit_code == 2:
        failure, line = judge_lines(list(lines), len(case.sets))
        if stdout:
            failure, line = "unexpected-output", stdout[:1000]
        verdict.status, verdict.failure, verdict.detail = (
            ("failure", failure, line) if failure else ("rejected", "", "")
        )
    else:
        verdict.status, verdict.failure = "failure", "exit-code"
        verdict.detail = (stdout + stderr)[:1000]
    if verdict.status != "failure" and cpu > bound:
        verdict.status, verdict.failure = "failure", "slow"
        verdict.detail = f"{cpu:.1f} s of CPU (bound {bound:.0f} s)"
    return verdict


def check_experiment(workspace: Path, case: Case, bound: float = CPU_BOUND) -> Verdict:
    """:func:`load_experiment` on a written case (experiment files), judged like validate."""
    from cstosim.language.experiment import load_experiment
    from cstosim.language.yamlio import ScenarioError

    path = workspace / case.main
    outcome: dict[str, Any] = {}

    def action() -> None:
        try:
            outcome["loaded"] = load_experiment(path)
        except ScenarioError as exc:
            outcome["lines"] = [str(p) for p in exc.problems]
        except Exception as exc:  # the defect this harness looks for
            outcome["error"] = _traceback(exc)

    _, cpu, wall, timed_out = _timed(action, WALL_BOUND)
    if timed_out:
        return Verdict("failure", "hang", f"no answer within {WALL_BOUND:.0f} s", cpu, wall)
    if "error" in outcome:
        return Verdict("failure", "traceback", outcome["error"], cpu, wall, 1)
    if "lines" in outcome:
        failure, line = judge_lines(outcome["lines"], 0)
        status = "failure" if failure else "rejected"
        verdict = Verdict(status, failure, line, cpu, wall, 2, tuple(outcome["lines"]))
    else:
        verdict = Verdict("accepted", cpu=cpu, wall=wall, exit_code=0)
    if verdict.status != "failure" and cpu > bound:
        verdict.status, verdict.failure = "failure", "slow"
        verdict.detail = f"{cpu:.1f} s of CPU (bound {bound:.0f} s)"
    return verdict


def cpu_bound() -> float:
    """:data:`CPU_BOUND`, times 3 under a tracer such as coverage (which triples the cost).

    Coverage costs even while the fuzzing tests pause it (``conftest._no_coverage``), and a
    paused coverage is no longer "current": CI measured 15.7 s of CPU under ``pytest --cov``
    for a 25,001-level nesting case that takes under 10 s without it; the fixture that
    pauses it says so in :data:`UNDER_COVERAGE`.
    """
    import sys

    traced = sys.gettrace() is not None or any(
        sys.monitoring.get_tool(tool) is not None for tool in range(6)
    )
    return CPU_BOUND * (3 if traced or UNDER_COVERAGE else 1)


UNDER_COVERAGE = False
"""Set by ``conftest._no_coverage`` when it pauses a running coverage measurement."""


def check(workspace: Path, case: Case, bound: float | None = None) -> Verdict:
    """Write ``case``, check it with the entry point of its kind, remove it again."""
    bound = cpu_bound() if bound is None else bound
    write_case(workspace, case)
    try:
        if case.kind == "experiment":
            verdict = check_experiment(workspace, case, bound)
        else:
            verdict = check_validate(workspace, case, bound)
    finally:
        remove_case(workspace, case)
    if not verdict.ok:
        verdict.known = next((k.id for k in KNOWN if k.matches(case, verdict)), "")
    return verdict


# --------------------------------------------------------------------------------------------
# Running accepted files
# --------------------------------------------------------------------------------------------


def check_run(workspace: Path, case: Case, out_parent: Path) -> Verdict:
    """``cstosim run FILE -n 2 -j 1 --no-plot -q --out DIR`` on an accepted scenario case:
    exit 0 with the folder written, or exit 2 with one clear line; never a traceback."""
    path = write_case(workspace, case)
    out = out_parent / "x"
    args = ["run", str(path), "-n", "2", "-j", "1", "--no-plot", "-q", "--out", str(out)]
    args += [f"--set={s}" for s in case.sets]
    runner = CliRunner()
    try:
        result, cpu, wall, timed_out = _timed(lambda: runner.invoke(_main(), args), RUN_WALL_BOUND)
    finally:
        remove_case(workspace, case)
    if timed_out:
        return Verdict("failure", "run-hang", f"no answer within {RUN_WALL_BOUND:.0f} s", cpu, wall)
    verdict = Verdict(
        "accepted", "", "", cpu, wall, result.exit_code, tuple(result.stderr.splitlines())
    )
    leftovers = [p.name for p in out_parent.iterdir() if p.name != "x"]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        verdict.status, verdict.failure = "failure", "run-traceback"
        verdict.detail = _traceback(result.exception)
    elif result.exit_code == 0:
        if result.stdout.strip() != str(out) or not (out / "manifest.json").is_file():
            verdict.status, verdict.failure = "failure", "run-output"
            verdict.detail = result.stdout[:500] + result.stderr[:500]
    elif result.exit_code == 2:
        if len(verdict.lines) != 1 or out.exists():
            verdict.status, verdict.failure = "failure", "run-unclear"
            verdict.detail = result.stderr[:1000]
    else:
        verdict.status, verdict.failure = "failure", f"run-exit-{result.exit_code}"
        verdict.detail = (result.stdout + result.stderr)[:1000]
    if verdict.ok and leftovers:
        verdict.status, verdict.failure = "failure", "run-leftovers"
        verdict.detail = f"left beside the target: {leftovers}"
    if verdict.ok and result.exit_code == 0:
        trouble = results_problem(out)
        if trouble:
            verdict.status, verdict.failure, verdict.detail = "failure", "run-bad-results", trouble
    shutil.rmtree(out_parent, ignore_errors=True)
    out_parent.mkdir(parents=True, exist_ok=True)
    return verdict


_INF = float("inf")
MODEL_RANGES = {
    "cohesion": (0.0, 1.0),
    "credibility_mean": (0.0, 1.0),
    "engaged_share": (0.0, 1.0),
    "polarization": (0.0, _INF),
    "blocs": (0.0, _INF),  # 0 in months when no member takes part (results/README.md)
    "consensus_capacity": (0.0, 1.0),
    "exits": (0.0, _INF),
    "capacity": (0.0, 1.0),
}
MEMBER_RANGES = {
    "alignment": (0.0, 1.0),
    "credibility": (0.0, 1.0),
    "outside_option": (0.0, 1.0),
    "grievance": (0.0, _INF),
    "value": (-_INF, _INF),
}
"""The ranges results/README.md gives for the columns of model.parquet and members.parquet."""


def results_problem(folder: Path) -> str:
    """ "" if every number of the results lies in its documented range, else what does not
    (NaN or infinite values, shares above 1...): a valid scenario must give sane results."""
    import numpy as np
    import pandas as pd

    tables = [
        ("model.parquet", pd.read_parquet(folder / "model.parquet"), MODEL_RANGES),
        ("members.parquet", pd.read_parquet(folder / "members.parquet"), MEMBER_RANGES),
    ]
    for name, table, ranges in tables:
        if "engagement" in table:
            table = table[table["engagement"] != "absent"]
        for column, (low, high) in ranges.items():
            if column not in table:
                continue
            values = table[column].to_numpy(dtype=np.float64)
            bad = ~np.isfinite(values) | (values < low - 1e-9) | (values > high + 1e-9)
            if bad.any():
                rows = table[bad].head(3).to_dict("records")
                return (
                    f"{name}: {int(bad.sum())} values of {column} outside [{low}, {high}]: {rows}"
                )
    return ""


MAX_SWEEP_POINTS = 20_000
"""Accepted experiments with larger designs are not swept (making the design alone is slow)."""
MAX_SWEEP_RUNS = 200_000
"""Nor those with more runs (design points × replicates): chunks of two runs would be many."""


def check_sweep(workspace: Path, case: Case, out_parent: Path) -> Verdict:
    """One chunk of two runs of an accepted experiment's sweep (what ``cstosim sweep`` does
    first); a sweep interrupted after it, as planned, is a success."""
    from cstosim.commands.explore import BadInput, Interrupted, sweep_to_folder
    from cstosim.language.experiment import design_size, load_experiment
    from cstosim.language.yamlio import ScenarioError

    path = write_case(workspace, case)
    try:
        loaded = load_experiment(path)
        points = design_size(loaded.spec.sampler, loaded.factors)
        runs = points * loaded.spec.replicates
        if points > MAX_SWEEP_POINTS or runs > MAX_SWEEP_RUNS:
            return Verdict("skipped", detail=f"design of {points} points, {runs} runs")
        outcome: dict[str, Any] = {}

        def action() -> None:
            try:
                sweep_to_folder(path, out_parent / "x", jobs=1, runs_per_chunk=2, stop_after=1)
            except Interrupted:
                outcome["ok"] = True
            except (ScenarioError, BadInput) as exc:  # exit 2: allowed, with one clear line
                outcome["refused"] = str(exc)
            except Exception as exc:
                outcome["error"] = _traceback(exc)
            else:
                outcome["ok"] = True

        _, cpu, wall, timed_out = _timed(action, RUN_WALL_BOUND)
    finally:
        remove_case(workspace, case)
        shutil.rmtree(out_parent, ignore_errors=True)
        out_parent.mkdir(parents=True, exist_ok=True)
    if timed_out:
        return Verdict("failure", "run-hang", "", cpu, wall)
    if "error" in outcome:
        return Verdict("failure", "run-traceback", outcome["error"], cpu, wall)
    return Verdict("accepted", cpu=cpu, wall=wall, exit_code=0)
