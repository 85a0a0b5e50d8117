"""Monte Carlo ensembles: replicates, seeding and parallel execution.

Seeding. One root :class:`numpy.random.SeedSequence` is made from the root seed; replicate ``k``
(0-based) gets its child ``SeedSequence(root_seed).spawn(k + 1)[k]``, built directly as
``SeedSequence(root_seed, spawn_key=(k,))``. Replicate ``k`` is therefore the same whether 10 or
1,000 replicates are run, and whatever the number of processes.

Parallelism. With ``jobs > 1`` a pool of *spawned* processes (safe on every platform and with
threads) runs chunks of many replicates each: a spawned worker pays about a second to import Mesa,
so it must amortise that over many replicates. The scenario is sent once per worker. Chunks come
back in any order and are put back in replicate order, so the tables are identical for any
``jobs``.

The model is reached only through the contract in ``docs/INTERFACES.md``:
``cstosim.model.simulate(scenario, seed, until) -> Replicate(model, members, events)``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario

DEFAULT_SEED = 20231123
"""Root seed used when none is given (the date of the essay the first scenario follows)."""

DEFAULT_REPLICATES = 200

TABLES = ("model", "members", "events")

Progress = Callable[[int], None]
"""Called with the number of replicates just finished."""


@dataclass(frozen=True)
class Ensemble:
    """The three tables of an ensemble, each with ``replicate`` (0-based int) first."""

    model: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    replicates: int
    root_seed: int
    jobs: int
    until: str | None

    def table(self, name: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(self, name)
        return frame


def replicate_seed(root_seed: int, k: int) -> np.random.SeedSequence:
    """The seed of replicate ``k``: equal to ``SeedSequence(root_seed).spawn(k + 1)[k]``."""
    if k < 0:
        raise ValueError(f"replicate index must be >= 0, got {k}")
    return np.random.SeedSequence(root_seed, spawn_key=(k,))


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def chunk_ranges(replicates: int, jobs: int) -> list[range]:
    """Split ``range(replicates)`` into contiguous chunks: about 8 per worker, at most 200 each
    (100 each in a single process).

    Several chunks per worker balance the load and let the progress bar move; many replicates
    per chunk keep the per-task overhead small.
    """
    if replicates <= 0:
        return []
    size = 100 if jobs <= 1 else max(1, min(200, math.ceil(replicates / (jobs * 8))))
    return [range(start, min(start + size, replicates)) for start in range(0, replicates, size)]


# --------------------------------------------------------------------------------------------
# Running replicates (in this process or in a worker)
# --------------------------------------------------------------------------------------------


def _simulate() -> Callable[..., Any]:
    from cstosim.model.alliance import simulate

    return simulate


def run_replicate(scenario: Scenario, root_seed: int, k: int, until: str | None) -> Any:
    """Run replicate ``k`` of an ensemble and return the model's ``Replicate``."""
    return _simulate()(scenario, replicate_seed(root_seed, k), until)


def run_chunk(
    scenario: Scenario,
    root_seed: int,
    indices: Sequence[int],
    until: str | None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run the replicates ``indices`` and return their three tables, ``replicate`` first.

    Tables are concatenated per chunk, so that few pandas objects stay alive between chunks
    (thousands of small DataFrames make Python's cyclic garbage collector slow).
    """
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for k in indices:
        rep = run_replicate(scenario, root_seed, k, until)
        for name in TABLES:
            parts[name].append(getattr(rep, name))
        if progress is not None:
            progress(1)
    model, members, events = (_with_replicates(parts[name], indices) for name in TABLES)
    return model, members, events


def _with_replicates(frames: list[pd.DataFrame], indices: Sequence[int]) -> pd.DataFrame:
    """Concatenate one table of several replicates and put ``replicate`` first."""
    lengths = [len(f) for f in frames]
    kept = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    out.insert(0, "replicate", np.repeat(np.asarray(indices, dtype=np.int64), lengths))
    return out


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return frames[0].iloc[0:0].copy() if frames else pd.DataFrame({"replicate": []})
    return pd.concat(non_empty, ignore_index=True)


# worker state, set once per spawned process by _init_worker
_WORKER: dict[str, Any] = {}


def _init_worker(scenario: Scenario, root_seed: int, until: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us
    _WORKER.update(scenario=scenario, root_seed=root_seed, until=until)
    _simulate()  # import the model now, once


def _worker_chunk(
    task: tuple[int, int, int],
) -> tuple[int, int, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    number, start, stop = task
    tables = run_chunk(
        _WORKER["scenario"], _WORKER["root_seed"], range(start, stop), _WORKER["until"]
    )
    return number, stop - start, tables


def run_ensemble(
    scenario: Scenario,
    replicates: int = DEFAULT_REPLICATES,
    root_seed: int = DEFAULT_SEED,
    until: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Ensemble:
    """Run ``replicates`` replicates of ``scenario``; tables are identical for any ``jobs``."""
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    jobs = min(jobs, replicates)
    chunks = chunk_ranges(replicates, jobs)
    results: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None] = [None] * len(chunks)
    if jobs == 1:
        for number, chunk in enumerate(chunks):
            results[number] = run_chunk(scenario, root_seed, chunk, until, progress)
    else:
        context = multiprocessing.get_context("spawn")
        tasks = [(n, c.start, c.stop) for n, c in enumerate(chunks)]
        with context.Pool(
            jobs, initializer=_init_worker, initargs=(scenario, root_seed, until)
        ) as pool:
            for number, done, tables in pool.imap_unordered(_worker_chunk, tasks):
                results[number] = tables
                if progress is not None:
                    progress(done)
    finished = [r for r in results if r is not None]
    model, members, events = (_concat([r[i] for r in finished]) for i in range(len(TABLES)))
    return Ensemble(
        model=model,
        members=members,
        events=events,
        replicates=replicates,
        root_seed=root_seed,
        jobs=jobs,
        until=until,
    )
