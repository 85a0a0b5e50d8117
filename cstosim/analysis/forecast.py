"""Projections with parameter uncertainty: parameters drawn from a calibration's posterior,
replicates within each draw (docs/CALIBRATION.md §3, "Forecast to the end of 2026").

For each of ``draws`` particles resampled by weight, the scenario (or a counterfactual overlay
that ``extends`` it, e.g. scheduled summits and chair rotations past the record) is run to
``until`` with the particle's values at every path it has; each draw runs ``replicates``
replicates of its own root seed. The tables pool every draw × replicate with equal weight:

* ``cohesion``: per month, quantiles of the cohesion index (5, 25, 50, 75, 95 %) and the 5–95 %
  of the draws' means (the parameters' share of the spread);
* ``rungs``: per month and member, the probability of each engagement rung;
* ``draws``: the parameter values of each draw.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cstosim.analysis.calibration import Posterior, apply_values, evaluation_seed
from cstosim.engine.vector import run_chunk
from cstosim.language.scenario import Scenario


@dataclass
class Forecast:
    cohesion: pd.DataFrame
    rungs: pd.DataFrame
    draws: pd.DataFrame


def _one_draw(
    scenario: Scenario,
    posterior: Posterior,
    values: dict[str, float],
    root: int,
    replicates: int,
    until: str | None,
    as_name: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    scen = apply_values(scenario, posterior.priors, values, as_name)
    model, members, _ = run_chunk(scen, root, range(replicates), until)
    counts = (
        members.astype({"member": str, "engagement": str})
        .groupby(["date", "member", "engagement"])
        .size()
        .rename("count")
        .reset_index()
    )
    return model[["replicate", "date", "cohesion"]], counts


def _star(args: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _one_draw(*args)


def forecast(
    scenario: Scenario,
    posterior: Posterior,
    until: str | None,
    draws: int = 40,
    replicates: int = 25,
    seed: int = 0,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    as_name: str | None = None,
) -> Forecast:
    """Run ``draws`` posterior draws × ``replicates`` replicates of ``scenario`` to ``until``.

    ``as_name``: the calibrated scenario that ``scenario`` stands for (an overlay extending it),
    for parameters the calibration limited to some scenarios.
    """
    if draws < 1 or replicates < 1:
        raise ValueError("draws and replicates must be at least 1")
    sample = posterior.draws(draws, seed)
    tasks = [
        (
            scenario,
            posterior,
            {n: float(sample[n].iloc[d]) for n in posterior.names},
            evaluation_seed(seed, 20_000, d),
            replicates,
            until,
            as_name,
        )
        for d in range(draws)
    ]
    results = executor.map(_star, tasks) if executor is not None else map(_star, tasks)
    cohesion_frames, count_frames = [], []
    for d, (model, counts) in enumerate(results):
        cohesion_frames.append(model.assign(draw=d))
        count_frames.append(counts)
        if progress is not None:
            progress(d + 1)
    cohesion = pd.concat(cohesion_frames, ignore_index=True)
    by_month = cohesion.groupby("date")["cohesion"]
    fan = pd.DataFrame(
        {
            "q05": by_month.quantile(0.05),
            "q25": by_month.quantile(0.25),
            "median": by_month.quantile(0.5),
            "q75": by_month.quantile(0.75),
            "q95": by_month.quantile(0.95),
            "mean": by_month.mean(),
        }
    )
    draw_means = cohesion.groupby(["date", "draw"])["cohesion"].mean().groupby("date")
    fan["draw_mean_q05"] = draw_means.quantile(0.05)
    fan["draw_mean_q95"] = draw_means.quantile(0.95)
    fan = fan.reset_index()
    counts = pd.concat(count_frames, ignore_index=True)
    total = draws * replicates
    rungs = (
        (counts.groupby(["date", "member", "engagement"])["count"].sum() / total)
        .rename("probability")
        .reset_index()
    )
    rungs = rungs[rungs["probability"] > 0].reset_index(drop=True)
    return Forecast(cohesion=fan, rungs=rungs, draws=sample.assign(draw=np.arange(draws)))
