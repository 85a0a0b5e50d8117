"""Named outcomes: reducers from the three tables of a run to one number per replicate.

An outcome is declared in an experiment file (``outcomes:``, see
:mod:`cstosim.language.experiment`) or in Python, and reduces the ``model``, ``members`` and
``events`` tables of any number of replicates (docs/INTERFACES.md) to one value per replicate:

==========================  ===================================================================
kind                        value per replicate
==========================  ===================================================================
``reached``                 1 if ``member`` was at ``rung`` or beyond in some month up to
                            ``by``, else 0 (its mean over replicates is a probability)
``time_to``                 months from the first simulated month to the first at ``rung`` or
                            beyond (``member``, or any member); the run's length if never
``metric``                  a model reporter (or, with ``member``, a member reporter) at ``at``
``exits``                   number of members exited by ``at``
``fracture``                1 if some month up to ``by`` had ≥ ``blocs_at_least`` blocs or an
                            engaged share below ``engaged_below``, else 0
``consensus_failures``      events whose collective decision was blocked (invocations, attacks,
                            summits, or one ``event_type``), up to ``by``
==========================  ===================================================================

Dates default to the last simulated month. Every value is a float and never NaN, so sensitivity
analysis and scenario discovery can use them as they are.

>>> from cstosim.analysis.outcomes import compute_outcomes
>>> frame = compute_outcomes(  # doctest: +SKIP
...     {"arm_exits": {"kind": "reached", "member": "ARM", "rung": "exited"}},
...     model, members, events)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter

from cstosim.language.experiment import (
    ConsensusFailures,
    Exits,
    Fracture,
    Metric,
    Outcome,
    Reached,
    TimeTo,
)
from cstosim.model.levels import LEVEL_OF

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Outcome)
BINARY_KINDS = ("reached", "fracture")
"""Outcomes whose values are 0 or 1 (scenario discovery takes them as they are)."""


def parse_outcome(spec: Any) -> Any:
    """An outcome model from a mapping such as ``{"kind": "reached", ...}`` (or the model)."""
    if isinstance(spec, Reached | TimeTo | Metric | Exits | Fracture | ConsensusFailures):
        return spec
    return _ADAPTER.validate_python(spec)


def is_binary(outcome: Any) -> bool:
    return str(parse_outcome(outcome).kind) in BINARY_KINDS


class _Tables:
    """The tables of some replicates as arrays: replicates × months (× members)."""

    def __init__(self, model: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame):
        if not _sorted(model):
            model = model.sort_values(["replicate", "date"], kind="stable")
        self.replicates = np.unique(model["replicate"].to_numpy())
        dates = pd.DatetimeIndex(model["date"].unique()).sort_values()
        self.months = dates.strftime("%Y-%m").tolist()
        self.r, self.t = len(self.replicates), len(self.months)
        if len(model) != self.r * self.t:
            raise ValueError("model table: expected one row per replicate and month")
        self._model = model
        self._members = members
        self._events = events
        self._cache: dict[Any, Any] = {}

    def metric(self, name: str) -> np.ndarray:
        if name not in self._cache:
            values = self._model[name].to_numpy(dtype=np.float64)
            self._cache[name] = values.reshape(self.r, self.t)
        out: np.ndarray = self._cache[name]
        return out

    def member_frame(self, code: str) -> pd.DataFrame:
        key = ("member", code)
        if key not in self._cache:
            m = self._members
            rows = m[_equals(m["member"], code)]
            if not _sorted(rows):
                rows = rows.sort_values(["replicate", "date"], kind="stable")
            if len(rows) != self.r * self.t:
                raise ValueError(f"members table: no complete rows for member {code!r}")
            self._cache[key] = rows
        frame: pd.DataFrame = self._cache[key]
        return frame

    def member_metric(self, code: str, name: str) -> np.ndarray:
        values = self.member_frame(code)[name].to_numpy(dtype=np.float64)
        return values.reshape(self.r, self.t)

    def levels(self, code: str | None) -> np.ndarray:
        """Engagement levels (−1 absent … 3 exited): (replicates, months[, members])."""
        key = ("levels", code)
        if key not in self._cache:
            if code is not None:
                frame = self.member_frame(code)
                self._cache[key] = _levels(frame["engagement"]).reshape(self.r, self.t)
            else:
                m = self._members.sort_values(["replicate", "date", "member"], kind="stable")
                n = m["member"].nunique()
                self._cache[key] = _levels(m["engagement"]).reshape(self.r, self.t, n)
        out: np.ndarray = self._cache[key]
        return out

    def month(self, when: str | None) -> int:
        """Index of month ``when`` (``YYYY-MM`` or a day in it; None: the last month)."""
        if when is None:
            return self.t - 1
        label = when[:7]
        if label not in self.months:
            raise ValueError(f"month {label} is not among the simulated months")
        return self.months.index(label)


def _levels(engagement: pd.Series) -> np.ndarray:
    """Integer levels of an ``engagement`` column (categorical or text)."""
    codes, names = pd.factorize(engagement, sort=False)
    lut = np.array([LEVEL_OF[str(name)] for name in names], dtype=np.int64)
    return lut[codes]


def _equals(column: pd.Series, value: str) -> np.ndarray:
    """``column == value`` for a text or categorical column, without converting it."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = list(column.cat.categories)
        if value not in categories:
            return np.zeros(len(column), dtype=bool)
        return np.asarray(column.cat.codes.to_numpy() == categories.index(value))
    return np.asarray(column.astype(str).to_numpy() == value)


def _sorted(frame: pd.DataFrame) -> bool:
    """Rows in (replicate, date) order already (as every engine writes them)?"""
    rep = frame["replicate"].to_numpy()
    if len(rep) < 2:
        return True
    if (np.diff(rep) < 0).any():
        return False
    dates = frame["date"].to_numpy()
    same = rep[1:] == rep[:-1]
    return not bool((dates[1:][same] < dates[:-1][same]).any())


def compute_outcomes(
    outcomes: Mapping[str, Any],
    model: pd.DataFrame,
    members: pd.DataFrame,
    events: pd.DataFrame,
) -> pd.DataFrame:
    """One row per replicate (``replicate`` first, ascending) and one column per outcome.

    ``outcomes`` maps names to outcome models or to mappings (``{"kind": ..., ...}``); the
    tables are those of any engine, for one scenario.
    """
    tables = _Tables(model, members, events)
    out: dict[str, Any] = {"replicate": tables.replicates.astype(np.int64)}
    for name, spec in outcomes.items():
        out[name] = reduce(parse_outcome(spec), tables).astype(np.float64)
    return pd.DataFrame(out)


def reduce(outcome: Any, tables: _Tables) -> np.ndarray:
    """The value of ``outcome`` for each replicate of ``tables``."""
    if isinstance(outcome, Reached):
        upto = tables.month(outcome.by) + 1
        levels = tables.levels(outcome.member)[:, :upto]
        return np.asarray((levels >= LEVEL_OF[outcome.rung]).any(axis=1), dtype=np.float64)
    if isinstance(outcome, TimeTo):
        levels = tables.levels(outcome.member)
        hit = levels >= LEVEL_OF[outcome.rung]
        if hit.ndim == 3:
            hit = hit.any(axis=2)
        first = np.argmax(hit, axis=1).astype(np.float64)
        return np.where(hit.any(axis=1), first, float(tables.t))
    if isinstance(outcome, Metric):
        t = tables.month(outcome.at)
        if outcome.member is not None:
            return tables.member_metric(outcome.member, outcome.metric)[:, t]
        return tables.metric(outcome.metric)[:, t]
    if isinstance(outcome, Exits):
        return tables.metric("exits")[:, tables.month(outcome.at)]
    if isinstance(outcome, Fracture):
        upto = tables.month(outcome.by) + 1
        split = np.zeros((tables.r, upto), dtype=bool)
        if outcome.blocs_at_least is not None:
            split |= tables.metric("blocs")[:, :upto] >= outcome.blocs_at_least
        if outcome.engaged_below is not None:
            split |= tables.metric("engaged_share")[:, :upto] < outcome.engaged_below
        return np.asarray(split.any(axis=1), dtype=np.float64)
    if isinstance(outcome, ConsensusFailures):
        return _consensus_failures(outcome, tables)
    raise TypeError(f"not an outcome: {outcome!r}")  # pragma: no cover - the union is closed


def _consensus_failures(outcome: ConsensusFailures, tables: _Tables) -> np.ndarray:
    events = tables._events
    counts = np.zeros(tables.r)
    if not len(events):
        return counts
    mask = _equals(events["consensus"], "blocked")
    if outcome.event_type is not None:
        mask &= _equals(events["type"], outcome.event_type)
    if outcome.by is not None:
        when = pd.Timestamp(outcome.by if len(outcome.by) == 10 else f"{outcome.by}-01")
        if len(outcome.by) == 7:
            when = when + pd.offsets.MonthBegin(1)
            mask &= (pd.to_datetime(events["date"]) < when).to_numpy()
        else:
            mask &= (pd.to_datetime(events["date"]) <= when).to_numpy()
    blocked = events.loc[mask, "replicate"].to_numpy()
    index = np.searchsorted(tables.replicates, blocked)
    np.add.at(counts, index, 1.0)
    return counts


def from_results(path: str | Path, outcomes: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`compute_outcomes` on the tables of a ``cstosim run`` results folder."""
    from cstosim.store.tables import read_table

    folder = Path(path)
    tables = [read_table(folder / f"{name}.parquet") for name in ("model", "members", "events")]
    return compute_outcomes(outcomes, *tables)


class OutcomeReducer:
    """A picklable reducer ``(model, members, events) -> outcomes frame`` for sweep workers."""

    def __init__(self, outcomes: Mapping[str, Any]):
        self.outcomes = {name: parse_outcome(spec) for name, spec in outcomes.items()}

    @property
    def names(self) -> list[str]:
        return list(self.outcomes)

    def __call__(
        self, model: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame
    ) -> pd.DataFrame:
        return compute_outcomes(self.outcomes, model, members, events)
