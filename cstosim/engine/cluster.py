"""Where sweep chunks run: this process, a pool of processes, or a Dask cluster.

Each runner takes ``(chunk, unit rows)`` tasks and yields ``(chunk, outcomes frame)`` as the
chunks finish, in any order (the sweep folder stores each chunk on its own, so order does not
matter). The worker function is always :func:`cstosim.engine.sweep.run_sweep_chunk` and the
sweep's :class:`~cstosim.engine.sweep.SweepSpec` is sent once per process or Dask worker, so
results are the same for any runner, any number of workers and any order.

* :class:`LocalRunner`: one chunk after another in this process (``--jobs 1``).
* :class:`PoolRunner`: ``jobs`` spawned processes (``--jobs N``); at most ``2 × jobs`` chunks
  are handed out ahead, so memory stays bounded however many chunks the sweep has.
* :class:`DaskRunner`: a Dask distributed cluster, either one at ``tcp://HOST:PORT``
  (``--scheduler``; its workers need cstosim installed) or a ``LocalCluster`` started here
  (``--dask local``, ``jobs`` worker processes of one thread each).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cstosim.engine.sweep import SweepChunk, SweepSpec, run_sweep_chunk
from cstosim.signals import held

Task = tuple[SweepChunk, np.ndarray]
Result = tuple[SweepChunk, pd.DataFrame]


class Runner(Protocol):
    """Runs sweep chunks; ``close()`` stops the workers (``abort`` after an error or Ctrl-C)."""

    description: str

    def run(self, tasks: Iterable[Task]) -> Iterator[Result]: ...

    def close(self, abort: bool = False) -> None: ...


class LocalRunner:
    """Every chunk in this process, one after another."""

    def __init__(self, spec: SweepSpec):
        self.spec = spec
        self.description = "1 process"

    def run(self, tasks: Iterable[Task]) -> Iterator[Result]:
        for chunk, rows in tasks:
            yield chunk, run_sweep_chunk(self.spec, chunk, rows)

    def close(self, abort: bool = False) -> None:
        return None


_WORKER: dict[str, Any] = {}


def _init_worker(spec: SweepSpec) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us
    _WORKER["spec"] = spec


def _pool_task(chunk: SweepChunk, rows: np.ndarray) -> Result:
    return chunk, run_sweep_chunk(_WORKER["spec"], chunk, rows)


class PoolRunner:
    """Chunks on ``jobs`` spawned processes (each imports the engine once)."""

    def __init__(self, spec: SweepSpec, jobs: int):
        self.jobs = jobs
        self.description = f"{jobs} processes"
        context = multiprocessing.get_context("spawn")
        pool = None
        try:
            with held():  # each worker's set-up data is written whole (docs/RELIABILITY.md)
                pool = context.Pool(jobs, initializer=_init_worker, initargs=(spec,))
        except BaseException:  # an interrupt held back during the start, delivered now
            if pool is not None:
                pool.terminate()
            raise
        self._pool = pool

    def run(self, tasks: Iterable[Task]) -> Iterator[Result]:
        finished: queue.Queue[Any] = queue.Queue()
        pending = 0
        source = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and pending < 2 * self.jobs:
                task = next(source, None)
                if task is None:
                    exhausted = True
                    break
                self._pool.apply_async(
                    _pool_task, task, callback=finished.put, error_callback=finished.put
                )
                pending += 1
            if pending == 0:
                return
            item = finished.get()
            pending -= 1
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self, abort: bool = False) -> None:
        if abort:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


class DaskRunner:
    """Chunks on a Dask distributed cluster: at ``address``, or a ``LocalCluster`` of ``jobs``."""

    def __init__(self, spec: SweepSpec, address: str | None = None, jobs: int = 2):
        from dask.distributed import Client, LocalCluster

        self._cluster: Any = None
        if address is None:
            self._cluster = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)
            self.description = f"Dask LocalCluster, {jobs} workers"
        else:
            self._client = Client(address, timeout=30)
            self.description = f"Dask scheduler {address}"
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        self._spec = self._client.scatter(spec, broadcast=True)

    def run(self, tasks: Iterable[Task]) -> Iterator[Result]:
        from dask.distributed import as_completed

        source = iter(tasks)
        window = 2 * self.workers + 2
        futures = as_completed()
        pending = 0
        exhausted = False
        while True:
            while not exhausted and pending < window:
                task = next(source, None)
                if task is None:
                    exhausted = True
                    break
                chunk, rows = task
                futures.add(
                    self._client.submit(_dask_task, self._spec, chunk, rows, pure=False, retries=1)
                )
                pending += 1
            if pending == 0:
                return
            future = next(futures)
            pending -= 1
            result: Result = future.result()
            future.release()
            yield result

    def close(self, abort: bool = False) -> None:
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def _dask_task(spec: SweepSpec, chunk: SweepChunk, rows: np.ndarray) -> Result:
    return chunk, run_sweep_chunk(spec, chunk, rows)


def make_runner(
    spec: SweepSpec, jobs: int = 1, scheduler: str | None = None, dask_local: bool = False
) -> Runner:
    """The runner for ``--jobs``, ``--scheduler`` and ``--dask local``."""
    if scheduler is not None:
        return DaskRunner(spec, scheduler)
    if dask_local:
        return DaskRunner(spec, None, max(1, jobs))
    if jobs > 1:
        return PoolRunner(spec, jobs)
    return LocalRunner(spec)
