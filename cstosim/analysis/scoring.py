"""Scoring an ensemble against the record: one probability per observation, Brier and log scores.

A scenario's ``observations`` are what actually happened (never fed to the model). For each one
this module computes the share of replicates in which it holds — the ensemble's probability —
and scores it beside a naive baseline. All functions are pure except :func:`score_results`
(reads a results folder) and :func:`write_score` (writes into one).

**When an observation holds** (per replicate):

* ``EngagementObservation``: the member's engagement in the month of the observation's date
  (``members.parquet``, the state at the end of that month's step) satisfies every bound given,
  in the order active < disengaged < frozen < exited. A replicate in which the member is
  ``absent`` (not yet joined) or has no row that month does not satisfy it.
* ``ResponseObservation``: the invocation's row in ``events.parquet`` (``event_id`` = the
  observation's ``event``; the first row per replicate if there are several) has an ``outcome``
  that is an answer level (none < statements < fact-finding < token-force < deployment) within the
  bounds, and, if ``within_days`` is given, a ``delay_days`` that is known and ``<= within_days``.
  A replicate with no such row (the event was skipped) does not satisfy it.

**Scores.** Every observation is a fact that happened (outcome 1), so with ensemble probability
``p``: Brier ``(1 - p)^2`` (0 best, 1 worst) and log score ``-ln(clip(p))``, the negative
log-likelihood (0 best; lower is better, like Brier). Probabilities are clipped to
``[0.01, 0.99]`` (:data:`CLIP`) before the logarithm only, so that an ensemble of a few hundred
replicates that never shows a fact costs ``-ln 0.01 = 4.6`` rather than infinity. Totals are
plain means over observations, and the Brier skill score ``1 - Brier / Brier_baseline``
(positive: better than the baseline).

**Naive baseline** ("everything stays as at the start"):

* engagement: every member keeps its initial engagement (``members.<CODE>.initial.engagement``)
  for ever, and is absent before its ``joined`` date; so the baseline probability is 1 if that
  state satisfies the observation and 0 otherwise;
* responses: the treaty is taken at its word and honoured at the empirical rate of alliance
  commitments — a full deployment with no delay with probability 0.75 (Leeds, Long & Mitchell
  2000), no answer at all otherwise (:data:`BASELINE_RESPONSE`).

The baseline's probabilities are clipped in the same way for its log score.

**Columns of** ``score.csv`` (one row per observation, in scenario order):

=====================  ========================================================================
``observation_id``     the observation's id
``kind``               ``engagement`` or ``response``
``date``               the observation's date as written; ``month``: the month it is checked
``member``             member code (engagement; for responses the invoking member)
``event``              invocation event id (responses only)
``claim``              the checked fact in words, e.g. ``ARM engagement >= disengaged``
``source``             the observation's source id
``replicates``         replicates in the ensemble
``holds``              replicates in which the observation holds
``missing``            replicates with no row to check (absent member, skipped event)
``probability``        ``holds / replicates``
``baseline``           the naive baseline's probability
``brier``              ``(1 - probability)^2``; ``brier_baseline`` the same for the baseline
``log_score``          ``-ln(clip(probability))``; ``log_score_baseline`` likewise
=====================  ========================================================================

``score.json`` holds the totals: ``scenario``, ``observations``, ``replicates``, ``clip``,
``brier``, ``brier_baseline``, ``brier_skill``, ``log_score``, ``log_score_baseline`` and
``skipped``: the ids of observations left out because the run stopped before their month (a run
with ``--until`` earlier than ``calendar.end``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cstosim.language.scenario import (
    AlignmentObservation,
    AttendanceObservation,
    ConsensusObservation,
    Engagement,
    EngagementObservation,
    Invocation,
    Outcome,
    ResponseObservation,
    Scenario,
    SignatureObservation,
    month_index,
)

CLIP: tuple[float, float] = (0.01, 0.99)
"""Probabilities are clipped to this range before taking logarithms."""

BASELINE_RESPONSE: Mapping[str, float] = {"deployment": 0.75, "none": 0.25}
"""Naive baseline answer to any invocation: outcome → probability (deployments have no delay).

0.75 is the share of alliance commitments honoured when the casus foederis arises (Leeds, Long &
Mitchell 2000, in the fact sheet)."""

SCORE_CSV = "score.csv"
SCORE_JSON = "score.json"

COLUMNS: tuple[str, ...] = (
    "observation_id",
    "kind",
    "date",
    "month",
    "member",
    "event",
    "claim",
    "source",
    "replicates",
    "holds",
    "missing",
    "probability",
    "baseline",
    "brier",
    "brier_baseline",
    "log_score",
    "log_score_baseline",
)

_ENGAGEMENT_LEVEL: dict[str, int] = {e.value: e.level for e in Engagement}
_OUTCOME_LEVEL: dict[str, int] = {o.value: o.level for o in Outcome}

Obs = (
    EngagementObservation
    | ResponseObservation
    | AttendanceObservation
    | SignatureObservation
    | ConsensusObservation
    | AlignmentObservation
)
EventRowObservation = AttendanceObservation | SignatureObservation | ConsensusObservation

DIRECTION_BASELINE = 0.5
"""Baseline probability of a direction of alignment: nothing known, a coin flip."""


@dataclass(frozen=True)
class ScoreReport:
    """Per-observation rows (:data:`COLUMNS`) and the totals written to ``score.json``."""

    table: pd.DataFrame
    totals: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Single observations
# --------------------------------------------------------------------------------------------


def month_start(date: str) -> pd.Timestamp:
    """``'2022-01-06'`` or ``'2022-01'`` → ``Timestamp('2022-01-01')``."""
    year, month = month_index(date)
    return pd.Timestamp(year=year, month=month, day=1)


def within_bounds(
    level: int, at_least: int | None = None, at_most: int | None = None, equals: int | None = None
) -> bool:
    """True if ``level`` meets every bound that is not None."""
    if at_least is not None and level < at_least:
        return False
    if at_most is not None and level > at_most:
        return False
    return not (equals is not None and level != equals)


def _level(value: Engagement | Outcome | None) -> int | None:
    return None if value is None else value.level


def engagement_holds(ob: EngagementObservation, engagement: str | None) -> bool:
    """Whether a member whose engagement is ``engagement`` satisfies ``ob``.

    ``absent``, None or any unknown string satisfies nothing.
    """
    if engagement is None or engagement not in _ENGAGEMENT_LEVEL:
        return False
    return within_bounds(
        _ENGAGEMENT_LEVEL[engagement], _level(ob.at_least), _level(ob.at_most), _level(ob.equals)
    )


def response_holds(ob: ResponseObservation, outcome: str | None, delay_days: float | None) -> bool:
    """Whether an invocation answered with ``outcome`` after ``delay_days`` satisfies ``ob``.

    An outcome that is not an answer level (e.g. ``skipped``) satisfies nothing; with
    ``within_days`` an unknown (None/NaN) delay does not satisfy it.
    """
    if outcome is None or outcome not in _OUTCOME_LEVEL:
        return False
    bounds = (_level(ob.at_least), _level(ob.at_most), _level(ob.equals))
    if not within_bounds(_OUTCOME_LEVEL[outcome], *bounds):
        return False
    if ob.within_days is None:
        return True
    if delay_days is None or (isinstance(delay_days, float) and math.isnan(delay_days)):
        return False
    return float(delay_days) <= ob.within_days


def claim_text(ob: Obs) -> str:
    """The checked fact in words, e.g. ``'ARM engagement >= disengaged'``."""
    if isinstance(ob, AttendanceObservation):
        return f"{ob.member} {ob.equals.value} at {ob.event}"
    if isinstance(ob, SignatureObservation):
        return f"{ob.member} {ob.equals.value} at {ob.event}"
    if isinstance(ob, ConsensusObservation):
        return f"{ob.event} {ob.equals.value}"
    if isinstance(ob, AlignmentObservation):
        return f"{ob.member} alignment {ob.direction.value} from {ob.since}"
    bounds = [
        f"{sign} {level.value}"
        for sign, level in (
            ("==", ob.equals),
            (">=", ob.at_least),
            ("<=", ob.at_most),
        )
        if level is not None
    ]
    if isinstance(ob, EngagementObservation):
        return f"{ob.member} engagement " + " and ".join(bounds)
    if ob.within_days is not None:
        bounds.append(f"within {ob.within_days} days")
    return f"answer to {ob.event} " + " and ".join(bounds)


def _replicate_ids(members: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    ids: set[int] = set()
    for frame in (members, events):
        if "replicate" in frame.columns and len(frame):
            ids.update(int(r) for r in frame["replicate"].unique())
    return np.array(sorted(ids), dtype=np.int64)


def engagement_counts(
    ob: EngagementObservation, members: pd.DataFrame, replicates: np.ndarray
) -> tuple[int, int]:
    """``(holds, missing)`` over ``replicates`` for an engagement observation."""
    month = month_start(ob.date)
    rows = members[(members["member"] == ob.member) & (members["date"] == month)]
    rows = rows.drop_duplicates("replicate")
    state = dict(zip(rows["replicate"].astype(int), rows["engagement"], strict=True))
    holds = missing = 0
    for r in replicates:
        value = state.get(int(r))
        if value is None or value == "absent":
            missing += 1
        elif engagement_holds(ob, str(value)):
            holds += 1
    return holds, missing


def response_counts(
    ob: ResponseObservation, events: pd.DataFrame, replicates: np.ndarray
) -> tuple[int, int]:
    """``(holds, missing)`` over ``replicates`` for a response observation."""
    rows = events[events["event_id"] == ob.event].drop_duplicates("replicate")
    delays = rows["delay_days"] if "delay_days" in rows.columns else pd.Series(np.nan, rows.index)
    found = {
        int(r): (None if pd.isna(o) else str(o), None if pd.isna(d) else float(d))
        for r, o, d in zip(rows["replicate"], rows["outcome"], delays, strict=True)
    }
    holds = missing = 0
    for r in replicates:
        if int(r) not in found:
            missing += 1
            continue
        outcome, delay = found[int(r)]
        if response_holds(ob, outcome, delay):
            holds += 1
    return holds, missing


def event_row_counts(
    ob: EventRowObservation, scenario: Scenario, events: pd.DataFrame, replicates: np.ndarray
) -> tuple[int, int]:
    """``(holds, missing)`` for an observation of one row of the event log.

    Attendance and signature: the ``attendance``/``signature`` row of the member at the event
    (``outcome`` is attended/absent, signed/refused). Consensus: the event's own row (its
    ``consensus`` column is passed or blocked). No row (the event was skipped, the member was not
    expected) counts as missing and does not hold.
    """
    if isinstance(ob, ConsensusObservation):
        kind = next(ev.type for ev in scenario.events if ev.id == ob.event)
        rows = events[(events["event_id"] == ob.event) & (events["type"] == kind)]
        column = "consensus"
    else:
        rows = events[
            (events["event_id"] == ob.event)
            & (events["type"] == ob.kind)
            & (events["member"] == ob.member)
        ]
        column = "outcome"
    rows = rows.drop_duplicates("replicate")
    found = dict(zip(rows["replicate"].astype(int), rows[column].astype(object), strict=True))
    holds = missing = 0
    for r in replicates:
        value = found.get(int(r))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing += 1
        elif str(value) == ob.equals.value:
            holds += 1
    return holds, missing


def alignment_counts(
    ob: AlignmentObservation, members: pd.DataFrame, replicates: np.ndarray
) -> tuple[int, int]:
    """``(holds, missing)``: the member's alignment at ``date`` against ``since`` (per replicate,
    the month-end values of ``members.parquet``); no row in either month is missing."""
    mine = members[members["member"] == ob.member]
    ends = [
        dict(zip(rows["replicate"].astype(int), rows["alignment"].astype(float), strict=True))
        for rows in (
            mine[mine["date"] == month_start(when)].drop_duplicates("replicate")
            for when in (ob.since, ob.date)
        )
    ]
    holds = missing = 0
    for r in replicates:
        before, after = ends[0].get(int(r)), ends[1].get(int(r))
        if before is None or after is None:
            missing += 1
        elif (after < before) if ob.direction.value == "falls" else (after > before):
            holds += 1
    return holds, missing


def baseline_probability(
    scenario: Scenario, ob: Obs, response: Mapping[str, float] = BASELINE_RESPONSE
) -> float:
    """The naive baseline's probability that ``ob`` holds (see the module docstring)."""
    if isinstance(ob, EngagementObservation):
        member = scenario.members[ob.member]
        if month_index(ob.date) < month_index(member.joined):
            return 0.0
        return 1.0 if engagement_holds(ob, member.initial.engagement.value) else 0.0
    if isinstance(ob, AttendanceObservation):  # members attend while they stay active
        active = scenario.members[ob.member].initial.engagement == Engagement.ACTIVE
        return 1.0 if active == (ob.equals.value == "attended") else 0.0
    if isinstance(ob, SignatureObservation | ConsensusObservation):  # everyone agrees
        return 1.0 if ob.equals.value in ("signed", "passed") else 0.0
    if isinstance(ob, AlignmentObservation):
        return DIRECTION_BASELINE
    total = 0.0
    for outcome, p in response.items():
        delay = 0.0 if outcome != Outcome.NONE.value else None
        if response_holds(ob, outcome, delay):
            total += p
    return total


def brier(p: float) -> float:
    """Brier score of probability ``p`` for an event that happened: ``(1 - p)^2``."""
    return (1.0 - p) ** 2


def log_score(p: float, clip: tuple[float, float] = CLIP) -> float:
    """Negative log-likelihood of an event that happened, ``-ln(clip(p))`` (lower is better)."""
    return -math.log(min(max(p, clip[0]), clip[1]))


# --------------------------------------------------------------------------------------------
# A whole ensemble
# --------------------------------------------------------------------------------------------


def score(
    scenario: Scenario,
    members: pd.DataFrame,
    events: pd.DataFrame,
    replicates: int | None = None,
    clip: tuple[float, float] = CLIP,
    response_baseline: Mapping[str, float] = BASELINE_RESPONSE,
) -> ScoreReport:
    """Score an ensemble (tables with a ``replicate`` column) against ``scenario.observations``.

    ``replicates`` is the ensemble size (default: the distinct replicate ids in the tables).
    ``members`` needs ``replicate, date, member, engagement``; ``events`` needs ``replicate,
    event_id, outcome`` and, for ``within_days``, ``delay_days``. Dates are datetime64 (first
    day of the month).
    """
    if not 0 < clip[0] <= clip[1] < 1:
        raise ValueError(f"clip must satisfy 0 < low <= high < 1, got {clip}")
    ids = _replicate_ids(members, events)
    if replicates is not None:
        ids = np.arange(replicates, dtype=np.int64) if len(ids) <= replicates else ids
    n = len(ids)
    dates = {ev.id: ev.date for ev in scenario.events}
    invocations = {ev.id: ev for ev in scenario.events if isinstance(ev, Invocation)}
    rows: list[dict[str, Any]] = []
    last = _last_month(members)
    skipped: list[str] = []
    for ob in scenario.observations:
        event = getattr(ob, "event", None)
        checked = dates[event] if event is not None else ob.date
        if last is not None and month_start(checked) > last:
            skipped.append(ob.id)  # the run stopped before this month (``until``)
            continue
        member = getattr(ob, "member", None)
        if isinstance(ob, EngagementObservation):
            holds, missing = engagement_counts(ob, members, ids)
        elif isinstance(ob, ResponseObservation):
            holds, missing = response_counts(ob, events, ids)
            member = invocations[ob.event].member
        elif isinstance(ob, AlignmentObservation):
            holds, missing = alignment_counts(ob, members, ids)
        else:
            holds, missing = event_row_counts(ob, scenario, events, ids)
        p = holds / n if n else float("nan")
        b = baseline_probability(scenario, ob, response_baseline)
        rows.append(
            {
                "observation_id": ob.id,
                "kind": ob.kind,
                "date": ob.date,
                "month": month_start(ob.date).strftime("%Y-%m"),
                "member": member,
                "event": event,
                "claim": claim_text(ob),
                "source": ob.source,
                "replicates": n,
                "holds": holds,
                "missing": missing,
                "probability": p,
                "baseline": b,
                "brier": brier(p),
                "brier_baseline": brier(b),
                "log_score": log_score(p, clip) if n else float("nan"),
                "log_score_baseline": log_score(b, clip),
            }
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    summary = totals(table, scenario.name, n, clip)
    summary["skipped"] = skipped
    return ScoreReport(table=table, totals=summary)


def _last_month(members: pd.DataFrame) -> pd.Timestamp | None:
    """The last month the run reached (None if the table is empty)."""
    if not len(members):
        return None
    return pd.Timestamp(members["date"].max())


def totals(
    table: pd.DataFrame, scenario: str, replicates: int, clip: tuple[float, float]
) -> dict[str, Any]:
    """Means over observations and the Brier skill score against the baseline."""

    def mean(column: str) -> float | None:
        return float(table[column].mean()) if len(table) else None

    b, b0 = mean("brier"), mean("brier_baseline")
    skill = None if b is None or not b0 else 1.0 - b / b0
    return {
        "scenario": scenario,
        "observations": len(table),
        "replicates": replicates,
        "clip": list(clip),
        "brier": b,
        "brier_baseline": b0,
        "brier_skill": skill,
        "log_score": mean("log_score"),
        "log_score_baseline": mean("log_score_baseline"),
    }


def score_results(results_dir: Path) -> ScoreReport:
    """Score the results folder ``results_dir`` against its resolved scenario's observations."""
    from cstosim.store.results import read_results

    results = read_results(Path(results_dir))
    replicates = results.manifest.get("replicates")
    return score(
        results.scenario,
        results.members,
        results.events,
        replicates=int(replicates) if replicates is not None else None,
    )


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def write_score(report: ScoreReport, results_dir: Path, overwrite: bool = False) -> list[Path]:
    """Write ``score.csv`` and ``score.json`` into ``results_dir``; return their paths.

    Each file is written to a temporary file in the same folder and then moved into place in
    one step, so a reader never sees half a file. Existing score files are not replaced unless
    ``overwrite`` (raises :class:`FileExistsError`, having written nothing).
    """
    folder = Path(results_dir)
    targets = {SCORE_CSV: folder / SCORE_CSV, SCORE_JSON: folder / SCORE_JSON}
    if not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise FileExistsError(f"score files exist: {', '.join(existing)} (use overwrite)")
    texts = {
        SCORE_CSV: report.table.to_csv(index=False, float_format="%.6g"),
        SCORE_JSON: json.dumps(report.totals, indent=2) + "\n",
    }
    for name, text in texts.items():
        _atomic_write(targets[name], text, overwrite)
    return list(targets.values())


def _atomic_write(target: Path, text: str, overwrite: bool) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        tmp.chmod(0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails with FileExistsError instead of clobbering
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def format_report(report: ScoreReport) -> str:
    """A plain-text table of the report (for the terminal and for docs)."""
    t = report.table
    lines = [
        f"{'observation':<34} {'month':<7} {'claim':<48} {'p':>5} {'base':>5} "
        f"{'Brier':>6} {'log':>6}"
    ]
    for row in t.to_dict("records"):
        oid, claim = str(row["observation_id"])[:34], str(row["claim"])[:48]
        lines.append(
            f"{oid:<34} {row['month']!s:<7} {claim:<48} {row['probability']:5.2f} "
            f"{row['baseline']:5.2f} {row['brier']:6.3f} {row['log_score']:6.3f}"
        )
    tot = report.totals
    if tot.get("brier") is not None:
        lines.append(
            f"mean over {tot['observations']} observations, {tot['replicates']} replicates: "
            f"Brier {tot['brier']:.3f} (baseline {tot['brier_baseline']:.3f}), "
            f"log score {tot['log_score']:.3f} (baseline {tot['log_score_baseline']:.3f}); "
            f"probabilities clipped to [{tot['clip'][0]}, {tot['clip'][1]}] for the log score"
        )
    return "\n".join(lines)
