"""Sensitivity analysis (SALib): sample → evaluate → analyse, as three small steps.

1. :func:`make_design` draws the experiment's design in the unit hypercube (one column per
   factor, values in [0, 1]) with SALib's Sobol' (Saltelli) or Morris sampler, a Latin
   hypercube, or a full-factorial grid, and maps it to factor values (the *design table*).
2. The sweep (:mod:`cstosim.engine.sweep`) evaluates every design point ``replicates`` times.
3. :func:`analyse` reduces each outcome to its mean over replicates per design point and runs
   SALib's Sobol' analysis (first-order S1 and total ST indices with bootstrap confidence
   intervals) or Morris analysis (μ*, σ); :func:`convergence` repeats it on the first N/4, N/2
   and all N base samples (a Sobol' design of N base samples starts with the one of N/2).

Categorical factors (levels, or several base scenarios) are sampled like the others in [0, 1)
and map to ``levels[floor(u·k)]``, as EMA Workbench does.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cstosim.language.experiment import LoadedExperiment, ResolvedFactor, Sampler

SENSITIVITY_METHODS = ("sobol", "morris")


def problem(names: Sequence[str]) -> dict[str, Any]:
    """A SALib problem over the unit hypercube with one variable per factor."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def unit_sample(sampler: Sampler, factors: Sequence[ResolvedFactor], seed: int) -> np.ndarray:
    """The design in the unit hypercube: one row per design point, one column per factor."""
    names = [f.name for f in factors]
    prob = problem(names)
    seed = int(seed % 2**32)
    if sampler.method == "sobol":
        from SALib.sample import sobol

        assert sampler.n is not None
        return np.asarray(
            sobol.sample(prob, sampler.n, calc_second_order=False, scramble=True, seed=seed)
        )
    if sampler.method == "morris":
        from SALib.sample import morris

        assert sampler.n is not None
        return np.asarray(morris.sample(prob, sampler.n, num_levels=sampler.levels or 4, seed=seed))
    if sampler.method == "latin":
        from SALib.sample import latin

        assert sampler.n is not None
        return np.asarray(latin.sample(prob, sampler.n, seed=seed))
    return _factorial(sampler.levels or 3, factors)


def _factorial(levels: int, factors: Sequence[ResolvedFactor]) -> np.ndarray:
    axes = []
    for f in factors:
        if f.kind == "categorical":
            k = len(f.levels)
            axes.append((np.arange(k) + 0.5) / k)
        else:
            k = len(f.grid(levels))
            axes.append(np.linspace(0.0, 1.0, k))
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def design_values(factors: Sequence[ResolvedFactor], unit: np.ndarray) -> pd.DataFrame:
    """The design table: ``design_point`` and each factor's value (categorical levels as text)."""
    out: dict[str, Any] = {"design_point": np.arange(len(unit), dtype=np.int64)}
    for j, f in enumerate(factors):
        column = [f.value(float(u)) for u in unit[:, j]]
        if f.kind == "categorical":
            out[f.name] = pd.Categorical([str(v) for v in column], [str(v) for v in f.levels])
        else:
            out[f.name] = np.asarray(column, dtype=np.float64)
    return pd.DataFrame(out)


def make_design(experiment: LoadedExperiment) -> tuple[pd.DataFrame, np.ndarray]:
    """The experiment's design table and its unit-hypercube sample."""
    unit = unit_sample(experiment.spec.sampler, experiment.factors, experiment.spec.seed)
    return design_values(experiment.factors, unit), unit


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


@dataclass
class Indices:
    """Sensitivity indices of one outcome: one row per factor (and per sample size)."""

    outcome: str
    method: str
    table: pd.DataFrame  # factor, n, and S1, S1_conf, ST, ST_conf or mu_star, ..., sigma
    variance: float  # of the outcome's per-point means (0: nothing to attribute)


def point_means(outcomes: pd.DataFrame, names: Sequence[str], points: int) -> pd.DataFrame:
    """Mean of each outcome over the replicates of each design point (rows 0..points−1)."""
    means = outcomes.groupby("design_point", sort=True)[list(names)].mean()
    return means.reindex(range(points))


def analyse(
    method: str,
    unit: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    base_samples: int,
    seed: int = 0,
    outcome: str = "y",
    conf_level: float = 0.95,
    resamples: int = 1000,
) -> Indices:
    """Sobol' or Morris indices of ``y`` (one value per design point, in design order).

    ``base_samples`` is N (Sobol': N·(D+2) points; Morris: N trajectories of D+1 points); only
    the first rows of that many base samples are used, so a design of 2N analyses at N too.
    """
    d = len(names)
    rows = base_samples * (d + 2 if method == "sobol" else d + 1)
    y = np.asarray(y, dtype=np.float64)[:rows]
    x = np.asarray(unit)[:rows]
    if np.isnan(y).any():
        raise ValueError(f"{outcome}: missing values (is the sweep complete?)")
    variance = float(np.var(y))
    prob = problem(names)
    columns: dict[str, Any] = {"factor": list(names), "n": base_samples}
    if variance == 0.0:
        keys = (
            ("S1", "S1_conf", "ST", "ST_conf")
            if method == "sobol"
            else ("mu_star", "mu_star_conf", "sigma", "mu")
        )
        columns.update(dict.fromkeys(keys, 0.0))
        return Indices(outcome, method, pd.DataFrame(columns), variance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "sobol":
            from SALib.analyze import sobol

            result = sobol.analyze(
                prob,
                y,
                calc_second_order=False,
                num_resamples=resamples,
                conf_level=conf_level,
                seed=seed,
            )
            for key in ("S1", "S1_conf", "ST", "ST_conf"):
                columns[key] = np.asarray(result[key], dtype=np.float64)
        elif method == "morris":
            from SALib.analyze import morris

            result = morris.analyze(
                prob,
                x,
                y,
                num_resamples=resamples,
                conf_level=conf_level,
                num_levels=_levels_of(x),
                seed=seed,
            )
            for key in ("mu_star", "mu_star_conf", "sigma", "mu"):
                columns[key] = np.asarray(result[key], dtype=np.float64)
        else:
            raise ValueError(f"sensitivity analysis needs a sobol or morris design, not {method}")
    return Indices(outcome, method, pd.DataFrame(columns), variance)


def _levels_of(x: np.ndarray) -> int:
    """The number of grid levels of a Morris design (the distinct values of a column)."""
    return max(2, max(len(np.unique(np.round(col, 12))) for col in x.T))


def convergence(
    method: str,
    unit: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    base_samples: int,
    seed: int = 0,
    outcome: str = "y",
    steps: int = 3,
) -> pd.DataFrame:
    """The indices at N/4, N/2 and N base samples (at most ``steps`` sizes, each ≥ 4)."""
    sizes = sorted({max(1, base_samples >> k) for k in range(steps)})
    sizes = [n for n in sizes if n >= 4] or [base_samples]
    frames = [analyse(method, unit, y, names, n, seed, outcome).table for n in sizes]
    return pd.concat(frames, ignore_index=True)


def ranked(indices: Indices) -> pd.DataFrame:
    """The table at the largest N, factors by decreasing ST (Sobol') or μ* (Morris)."""
    table = indices.table[indices.table["n"] == indices.table["n"].max()]
    key = "ST" if indices.method == "sobol" else "mu_star"
    return table.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
