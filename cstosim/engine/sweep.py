"""Sweeps: many design points of an experiment, each run for many replicates, in chunks.

A **chunk** is "these design points × these replicates" (:class:`SweepChunk`). Running one
(:func:`run_sweep_chunk`) takes, for each design point, the base scenario with the point's
factor values applied (:func:`cstosim.language.experiment.apply_values`), runs the replicates
with the engine (the vectorised engine by default: one call per design point) and reduces the
three tables to one row of outcomes per replicate with the sweep's *reducer* (a picklable
callable such as :class:`cstosim.analysis.outcomes.OutcomeReducer`, handed in by the caller so
that the engine does not import the analysis layer).

Seeds. Every design point runs replicates ``0 … R−1`` with the **same root seed**: replicate k
of every design point draws the same keyed random numbers (common random numbers across design
points, which sharpens differences and suits variance-based sensitivity analysis). A chunk's
result depends only on its design points and replicates, never on which process or machine runs
it, in which order, or how the sweep was cut into chunks: :mod:`cstosim.engine.cluster` runs
chunks in this process, in a pool of processes or on a Dask cluster with the same results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cstosim.language.experiment import (
    ResolvedFactor,
    apply_values,
    split_values,
)

Reducer = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], pd.DataFrame]
"""``(model, members, events) -> frame`` with ``replicate`` first and one column per outcome."""

RUNS_PER_CHUNK = 4_000
"""Design points × replicates per chunk by default: a few seconds of work for the essay."""
MAX_REPLICATES_PER_CHUNK = 10_000


@dataclass(frozen=True)
class SweepChunk:
    """Design points ``points`` × replicates ``replicates``; ``number`` orders the chunks."""

    number: int
    points: range
    replicates: range

    @property
    def runs(self) -> int:
        return len(self.points) * len(self.replicates)


@dataclass(frozen=True)
class SweepSpec:
    """Everything a worker needs besides the chunk: sent once to each process or worker."""

    bases: dict[str, dict[str, Any]]  # base scenario name -> scenario data (scenario_data)
    factors: tuple[ResolvedFactor, ...]
    root_seed: int
    until: str | None
    engine: str
    reducer: Reducer

    @property
    def default_base(self) -> str:
        return next(iter(self.bases))


def default_runs_per_chunk(total_runs: int, workers: int) -> int:
    """Runs per chunk: :data:`RUNS_PER_CHUNK`, or fewer so that every worker gets about four
    chunks (a small sweep still spreads over the workers and moves the progress bar)."""
    return max(1, min(RUNS_PER_CHUNK, math.ceil(total_runs / (4 * max(1, workers)))))


def plan_chunks(
    points: int,
    replicates: int,
    runs_per_chunk: int = RUNS_PER_CHUNK,
) -> list[SweepChunk]:
    """Cut ``points`` × ``replicates`` into chunks of about ``runs_per_chunk`` runs.

    With fewer replicates than ``runs_per_chunk``, a chunk holds whole design points (all
    replicates of several points); otherwise one point and a block of replicates.
    """
    if points < 1 or replicates < 1:
        return []
    runs_per_chunk = max(1, runs_per_chunk)
    chunks: list[SweepChunk] = []
    if replicates <= runs_per_chunk:
        per = max(1, runs_per_chunk // replicates)
        for start in range(0, points, per):
            chunks.append(
                SweepChunk(len(chunks), range(start, min(start + per, points)), range(replicates))
            )
        return chunks
    block = min(runs_per_chunk, MAX_REPLICATES_PER_CHUNK)
    blocks = math.ceil(replicates / block)
    block = math.ceil(replicates / blocks)
    for p in range(points):
        for start in range(0, replicates, block):
            chunks.append(
                SweepChunk(
                    len(chunks), range(p, p + 1), range(start, min(start + block, replicates))
                )
            )
    return chunks


def point_values(factors: Sequence[ResolvedFactor], unit_row: Sequence[float]) -> dict[str, Any]:
    """A design point's factor values from its row of the unit sample."""
    return {f.name: f.value(float(u)) for f, u in zip(factors, unit_row, strict=True)}


def point_scenario(spec: SweepSpec, unit_row: Sequence[float]) -> Any:
    """The scenario of one design point (a validated :class:`Scenario`)."""
    base, values = split_values(point_values(spec.factors, unit_row))
    return apply_values(spec.bases[base or spec.default_base], values)


def _engine_run(spec: SweepSpec, scenario: Any, indices: range) -> tuple[Any, Any, Any]:
    if spec.engine == "vector":
        from cstosim.engine.vector import run_chunk

        return run_chunk(scenario, spec.root_seed, indices, spec.until)
    from cstosim.engine.ensemble import run_chunk as run_any

    model, members, events = run_any(scenario, spec.root_seed, indices, spec.until, spec.engine)
    return model, members, events


def run_sweep_chunk(spec: SweepSpec, chunk: SweepChunk, unit_rows: np.ndarray) -> pd.DataFrame:
    """Outcomes of every run of ``chunk``: ``design_point``, ``replicate``, then one column per
    outcome, rows by design point then replicate. ``unit_rows`` are the chunk's rows of the
    unit sample, in the order of ``chunk.points``."""
    frames = []
    for p, row in zip(chunk.points, np.asarray(unit_rows), strict=True):
        scenario = point_scenario(spec, row)
        frame = spec.reducer(*_engine_run(spec, scenario, chunk.replicates))
        frame.insert(0, "design_point", np.int64(p))
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["design_point"] = out["design_point"].astype(np.int64)
    out["replicate"] = out["replicate"].astype(np.int64)
    return out
