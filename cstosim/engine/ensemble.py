"""Monte Carlo ensembles: replicates, seeding, chunks, engines and parallel execution.

Seeding. One root :class:`numpy.random.SeedSequence` is made from the root seed; replicate ``k``
(0-based) gets its child ``SeedSequence(root_seed).spawn(k + 1)[k]``, built directly as
``SeedSequence(root_seed, spawn_key=(k,))``. Replicate ``k`` is therefore the same whether 10 or
1,000 replicates are run, and whatever the number of processes or the chunk size.

Chunks. A chunk is a set of replicates run together (later: design points × replicates).
:func:`stream_ensemble` yields :class:`Chunk` objects in replicate order as they finish, so a
consumer (the results store) can write each one and let it go: memory does not grow with the
number of replicates. :func:`run_ensemble` collects every chunk into one in-memory
:class:`Ensemble` (tests, validation, benchmarks).

Engines. ``mesa`` runs the reference Mesa ``AllianceModel`` one replicate at a time
(``cstosim.model.alliance.simulate``); ``vector`` runs all replicates of a chunk at once as arrays
(``cstosim.engine.vector.run_chunk``). Both return the same three tables, ``replicate`` first.

Parallelism. With ``jobs > 1`` a pool of *spawned* processes (safe on every platform and with
threads) runs the chunks: a spawned worker pays about a second to import Mesa, so each chunk holds
many replicates. At most ``2 × jobs`` chunks are submitted ahead of the next one to hand out, so
chunks that finish early wait in a buffer of bounded size and are handed out in replicate order:
the tables are identical for any ``jobs``.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Generator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cstosim.engine.defaults import DEFAULT_ENGINE, DEFAULT_REPLICATES, DEFAULT_SEED, ENGINES
from cstosim.signals import held

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_REPLICATES",
    "DEFAULT_SEED",
    "ENGINES",
    "Chunk",
    "Ensemble",
    "Plan",
    "plan_ensemble",
    "run_ensemble",
    "stream_ensemble",
]

TABLES = ("model", "members", "events")

Progress = Callable[[int], None]
"""Called with the number of replicates just finished."""

Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]

MESA_CHUNK = 100
"""Replicates per chunk for the Mesa engine in one process (at most 200 with several)."""
VECTOR_CHUNK_MAX = 10_000
VECTOR_CHUNK_MIN = 250
VECTOR_ROWS_PER_CHUNK = 1_000_000
"""Vector engine: about this many members-table rows per chunk (~150 MB of tables)."""


@dataclass(frozen=True)
class Chunk:
    """The three tables of the replicates ``indices``, each with ``replicate`` first."""

    number: int
    indices: range
    model: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame


@dataclass(frozen=True)
class Plan:
    """How an ensemble is run: replicates, seed, engine, processes and chunks."""

    replicates: int
    root_seed: int
    until: str | None
    jobs: int
    engine: str
    chunk_size: int
    chunks: tuple[range, ...]


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
    engine: str = DEFAULT_ENGINE
    chunk_size: int | None = None

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


# --------------------------------------------------------------------------------------------
# Chunks
# --------------------------------------------------------------------------------------------


def default_chunk_size(
    replicates: int, jobs: int, engine: str = "mesa", rows_per_replicate: int | None = None
) -> int:
    """Replicates per chunk.

    ``mesa``: 100 in one process; with several, about 8 chunks per worker and at most 200 each
    (a spawned worker must amortise its start-up; several chunks per worker balance the load and
    move the progress bar). ``vector``: as many as keep a chunk near
    :data:`VECTOR_ROWS_PER_CHUNK` members rows (``rows_per_replicate``: months × members), between
    250 and 10,000, and at least 4 chunks per worker with several processes.
    """
    if engine == "mesa":
        if jobs <= 1:
            return MESA_CHUNK
        return max(1, min(200, math.ceil(replicates / (jobs * 8))))
    size = VECTOR_CHUNK_MAX
    if rows_per_replicate:
        size = max(VECTOR_CHUNK_MIN, min(size, VECTOR_ROWS_PER_CHUNK // rows_per_replicate))
    if jobs > 1:
        size = min(size, math.ceil(replicates / (jobs * 4)))
    return max(1, min(size, replicates))


def chunk_ranges(
    replicates: int,
    jobs: int,
    engine: str = "mesa",
    rows_per_replicate: int | None = None,
    size: int | None = None,
) -> list[range]:
    """Split ``range(replicates)`` into contiguous chunks of ``size`` replicates (default:
    :func:`default_chunk_size`)."""
    if replicates <= 0:
        return []
    if size is None:
        size = default_chunk_size(replicates, jobs, engine, rows_per_replicate)
    return [range(start, min(start + size, replicates)) for start in range(0, replicates, size)]


def rows_per_replicate(scenario: Scenario, until: str | None) -> int:
    """Months × members: the rows of one replicate's members table."""
    from cstosim.language.scenario import month_index

    (y0, m0), (y1, m1) = (
        month_index(scenario.calendar.start),
        month_index(until or scenario.calendar.end),
    )
    return max(1, (y1 - y0) * 12 + m1 - m0 + 1) * max(1, len(scenario.members))


def plan_ensemble(
    scenario: Scenario,
    replicates: int = DEFAULT_REPLICATES,
    root_seed: int = DEFAULT_SEED,
    until: str | None = None,
    jobs: int = 1,
    engine: str = DEFAULT_ENGINE,
    chunk_size: int | None = None,
) -> Plan:
    """Check the inputs and cut the replicates into chunks (raises ``ValueError``)."""
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "vector" and importlib.util.find_spec("cstosim.engine.vector") is None:
        raise ValueError("the vector engine is not available in this version; use --engine mesa")
    jobs = min(jobs, replicates)
    if chunk_size is None:
        rows = rows_per_replicate(scenario, until) if engine == "vector" else None
        chunk_size = default_chunk_size(replicates, jobs, engine, rows)
    chunks = chunk_ranges(replicates, jobs, size=chunk_size)
    return Plan(replicates, root_seed, until, jobs, engine, chunk_size, tuple(chunks))


# --------------------------------------------------------------------------------------------
# Running replicates (in this process or in a worker)
# --------------------------------------------------------------------------------------------


def _simulate() -> Callable[..., Any]:
    from cstosim.model.alliance import simulate

    return simulate


def _vector_run_chunk() -> Callable[..., Any]:
    vector = importlib.import_module("cstosim.engine.vector")
    run: Callable[..., Any] = vector.run_chunk
    return run


def run_replicate(scenario: Scenario, root_seed: int, k: int, until: str | None) -> Any:
    """Run replicate ``k`` of an ensemble with the Mesa model and return its ``Replicate``."""
    return _simulate()(scenario, replicate_seed(root_seed, k), until)


def run_mesa_chunk(
    scenario: Scenario,
    root_seed: int,
    indices: Sequence[int],
    until: str | None,
    progress: Progress | None = None,
) -> Tables:
    """Run the replicates ``indices`` one by one with the Mesa model; tables with ``replicate``.

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


def run_chunk(
    scenario: Scenario,
    root_seed: int,
    indices: Sequence[int],
    until: str | None,
    engine: str = DEFAULT_ENGINE,
    progress: Progress | None = None,
) -> Tables:
    """Run the replicates ``indices`` with ``engine``; three tables, ``replicate`` first."""
    if engine == "mesa":
        return run_mesa_chunk(scenario, root_seed, indices, until, progress)
    result = _vector_run_chunk()(scenario, root_seed, indices, until)
    if progress is not None:
        progress(len(indices))
    if isinstance(result, tuple):
        model, members, events = result
        return model, members, events
    return result.model, result.members, result.events


def _with_replicates(frames: list[pd.DataFrame], indices: Sequence[int]) -> pd.DataFrame:
    """Concatenate one table of several replicates and put ``replicate`` first."""
    lengths = [len(f) for f in frames]
    kept = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    out.insert(0, "replicate", np.repeat(np.asarray(indices, dtype=np.int64), lengths))
    return out


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One table from its chunks; text columns as pandas ``str`` whatever the engine gave
    (categories differ from chunk to chunk), so the table does not depend on the chunks."""
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        out = frames[0].iloc[0:0].copy() if frames else pd.DataFrame({"replicate": []})
    else:
        out = pd.concat(non_empty, ignore_index=True)
    text = [
        c
        for c in out.columns
        if out[c].dtype == object or isinstance(out[c].dtype, pd.CategoricalDtype)
    ]
    return out.astype(dict.fromkeys(text, "str")) if text else out


# worker state, set once per spawned process by _init_worker
_WORKER: dict[str, Any] = {}


def _init_worker(scenario: Scenario, root_seed: int, until: str | None, engine: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us
    _WORKER.update(scenario=scenario, root_seed=root_seed, until=until, engine=engine)
    if engine == "mesa":  # import the engine now, once
        _simulate()
    else:
        _vector_run_chunk()


def _worker_chunk(task: tuple[int, range]) -> tuple[int, int, Tables]:
    number, indices = task
    w = _WORKER
    tables = run_chunk(w["scenario"], w["root_seed"], indices, w["until"], w["engine"])
    return number, len(indices), tables


def stream_ensemble(
    scenario: Scenario, plan: Plan, progress: Progress | None = None
) -> Generator[Chunk]:
    """Run ``plan`` and yield its chunks in replicate order, each as soon as it can be.

    With several processes, chunks that finish before their turn are held (at most about
    ``2 × jobs`` of them); closing the iterator early (an error or Ctrl-C in the consumer)
    terminates the workers.
    """
    if plan.jobs == 1:
        for number, indices in enumerate(plan.chunks):
            tables = run_chunk(scenario, plan.root_seed, indices, plan.until, plan.engine, progress)
            yield Chunk(number, indices, *tables)
        return
    context = multiprocessing.get_context("spawn")
    finished: queue.Queue[Any] = queue.Queue()
    initargs = (scenario, plan.root_seed, plan.until, plan.engine)
    with ExitStack() as stack:
        with held():  # each worker's set-up data is written whole (docs/RELIABILITY.md)
            pool = stack.enter_context(
                context.Pool(plan.jobs, initializer=_init_worker, initargs=initargs)
            )

        def submit(number: int) -> None:
            task = (number, plan.chunks[number])
            pool.apply_async(
                _worker_chunk, (task,), callback=finished.put, error_callback=finished.put
            )

        def receive() -> tuple[int, int, Tables]:
            item = finished.get()
            if isinstance(item, BaseException):
                raise item
            result: tuple[int, int, Tables] = item
            return result

        ordered = _in_order(len(plan.chunks), 2 * plan.jobs, submit, receive, progress)
        for number, tables in ordered:
            yield Chunk(number, plan.chunks[number], *tables)


def _in_order[T](
    count: int,
    window: int,
    submit: Callable[[int], None],
    receive: Callable[[], tuple[int, int, T]],
    progress: Progress | None = None,
) -> Generator[tuple[int, T]]:
    """Yield the results of tasks ``0 … count − 1`` in order, whatever order they finish in.

    ``submit(n)`` starts task ``n``; ``receive()`` returns ``(n, replicates, result)`` of any
    finished task. Only tasks ``next … next + window − 1`` are ever started (``next``: the next
    one to yield), so at most ``window`` results are running or held at any time.
    """
    held: dict[int, T] = {}
    submitted = 0
    for number in range(count):
        while submitted < min(count, number + window):
            submit(submitted)
            submitted += 1
        while number not in held:
            done_number, done, result = receive()
            held[done_number] = result
            if progress is not None:
                progress(done)
        yield number, held.pop(number)


def run_ensemble(
    scenario: Scenario,
    replicates: int = DEFAULT_REPLICATES,
    root_seed: int = DEFAULT_SEED,
    until: str | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    engine: str = DEFAULT_ENGINE,
    chunk_size: int | None = None,
) -> Ensemble:
    """Run ``replicates`` replicates of ``scenario`` and keep every table in memory.

    Tables are identical for any ``jobs`` and ``chunk_size``. For large runs, stream the chunks
    to disk instead (:func:`stream_ensemble`, ``cstosim.runs``).
    """
    plan = plan_ensemble(scenario, replicates, root_seed, until, jobs, engine, chunk_size)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for chunk in stream_ensemble(scenario, plan, progress):
        for name in TABLES:
            parts[name].append(getattr(chunk, name))
    model, members, events = (_concat(parts[name]) for name in TABLES)
    return Ensemble(
        model=model,
        members=members,
        events=events,
        replicates=replicates,
        root_seed=root_seed,
        jobs=plan.jobs,
        until=until,
        engine=plan.engine,
        chunk_size=plan.chunk_size,
    )
