"""Run an ensemble with the vector engine and summarise it for the dashboard.

The summaries are computed here from the engine's tables (numpy/pandas), not read from a results
folder: the dashboard keeps nothing on disk. Conventions follow the saved results: quantile
columns ``q05``, ``q25``, ``median``, ``q75``, ``q95`` (the 90 % and 50 % bands and the median
across replicates, month by month); engagement states in the order of withdrawal, then
``absent`` (not yet joined).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cstosim.engine.vector import run_chunk
from cstosim.language.scenario import Scenario
from cstosim.model.levels import STATES

QUANTILES: dict[str, float] = {
    "q05": 0.05,
    "q25": 0.25,
    "median": 0.5,
    "q75": 0.75,
    "q95": 0.95,
}
"""Column name → quantile of the band summaries."""


@dataclass(eq=False)
class Ensemble:
    """The three tables of ``replicates`` replicates of one scenario, with root seed ``seed``.

    Replicate k of any scenario run with the same seed draws the same random numbers (common
    random numbers), so two ensembles with equal ``seed`` and ``replicates`` are paired.
    """

    scenario: Scenario
    seed: int
    replicates: int
    model: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    seconds: float

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(sorted(self.model["date"].unique()))

    @property
    def last_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.model["date"].max())


def run_ensemble(
    scenario: Scenario, seed: int, replicates: int, until: str | None = None
) -> Ensemble:
    """Replicates ``0 … replicates − 1`` of ``scenario`` with root seed ``seed`` (vector engine)."""
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    start = time.perf_counter()
    model, members, events = run_chunk(scenario, seed, range(replicates), until)
    seconds = time.perf_counter() - start
    return Ensemble(scenario, seed, replicates, model, members, events, seconds)


def by_replicate(model: pd.DataFrame, variable: str) -> pd.DataFrame:
    """``variable`` as a (date × replicate) table."""
    return model.pivot(index="date", columns="replicate", values=variable).sort_index()


def band(model: pd.DataFrame, variable: str = "cohesion") -> pd.DataFrame:
    """Month-by-month quantiles of ``variable`` across replicates (columns of :data:`QUANTILES`)."""
    return quantiles(by_replicate(model, variable))


def quantiles(wide: pd.DataFrame) -> pd.DataFrame:
    """Quantiles across the columns of a (date × replicate) table, one row per date."""
    values = wide.to_numpy(dtype=float)
    q = np.nanquantile(values, list(QUANTILES.values()), axis=1)
    return pd.DataFrame(q.T, index=wide.index, columns=list(QUANTILES))


def engagement_shares(members: pd.DataFrame) -> pd.DataFrame:
    """Share of replicates in each engagement state, per member and month.

    Columns: ``date``, ``member``, then one per state of ``STATES`` (active … exited, absent);
    each row sums to 1.
    """
    state = members["engagement"].astype(str)
    counts = (
        pd.crosstab([members["date"], members["member"].astype(str)], state)
        .reindex(columns=list(STATES), fill_value=0)
        .astype(float)
    )
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares.columns.name = None
    return shares.reset_index().rename(columns={"row_0": "member"})


def final_rungs(members: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Probability of each rung of engagement at the last month, one row per member.

    Columns: the states of ``STATES`` (``absent`` only if some replicate has it), then
    ``disengaged or worse`` (disengaged, frozen or exited). Rows follow ``order`` (scenario
    order) when given.
    """
    last = members[members["date"] == members["date"].max()]
    shares = engagement_shares(last).drop(columns="date").set_index("member")
    if "absent" in shares and not shares["absent"].any():
        shares = shares.drop(columns="absent")
    shares["disengaged or worse"] = shares[["disengaged", "frozen", "exited"]].sum(axis=1)
    if order is not None:
        shares = shares.reindex([c for c in order if c in shares.index])
    shares.index.name = "member"
    return shares


def headline(ensemble: Ensemble, variable: str = "cohesion") -> str:
    """One line: the median and bands of ``variable`` in the last month, and what ran."""
    q = band(ensemble.model, variable).iloc[-1]
    month = ensemble.last_date.strftime("%Y-%m")
    return (
        f"{variable.capitalize()} in {month}: median {q['median']:.2f} "
        f"(50 % band {q['q25']:.2f}–{q['q75']:.2f}, 90 % band {q['q05']:.2f}–{q['q95']:.2f}); "
        f"{ensemble.replicates:,} replicates, seed {ensemble.seed}, "
        f"{ensemble.seconds:.2f} s"
    )
