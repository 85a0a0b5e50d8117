"""Calibration against the record by approximate Bayesian computation (ABC-SMC, pyabc 0.13).

The fitted numbers are the calibration file's parameters (:mod:`cstosim.language.calibration_file`);
their priors are uniform on the ranges the scenarios declare (``ranges:``). One *particle* is a
value for each parameter: every record scenario is run with it (``replicates`` replicates of the
vector engine, cut at ``until`` if given) and scored by :func:`cstosim.analysis.scoring.score`;
the **distance** is the mean Brier score of all their observations jointly (each scenario's
observations weighted by its ``weight``). ABC-SMC (Del Moral et al. 2012; pyabc, Klinger et al.
2018) keeps the particles whose distance is below a threshold ε that falls generation by
generation (the median of the last generation's distances); its posterior is the record's
verdict on the parameters, given the model and the priors.

Reproducible and resumable:

* :class:`OrderedSampler` seeds NumPy's global generator (which pyabc's proposals and the model
  use) from ``(seed, generation, evaluation index)`` before each evaluation and keeps the first
  ``population`` accepted particles *in index order*, so the posterior depends on the seed only,
  not on the number of workers or on which worker finished first.
* Particles run together: :func:`_evaluate` runs pyabc's evaluations twice, first only to note
  each proposal, then again from the same seeds while the model answers what one run of the
  vector engine computed for all the noted particles (:meth:`RecordModel.evaluate_many`,
  :mod:`cstosim.engine.vector_batch`); every particle is bit for bit the one-pass particle.
* pyabc's SQLite history is the work in progress (``.NAME.abc-work/abc.db`` beside the target):
  a killed calibration restarts at the first generation not yet stored, with the same numbers.

The results folder is written at the end in one step (:func:`cstosim.store.folder.staged_folder`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel

from cstosim import __version__
from cstosim.analysis.scoring import (
    brier,
    engagement_holds,
    log_score,
    month_start,
    response_holds,
    score,
)
from cstosim.engine.vector import VectorRun, run_chunk, run_variants
from cstosim.engine.vector_batch import NotBatchable
from cstosim.language.calibration_file import (
    CalibrationFile,
    CalibrationParameter,
    load_calibration,
)
from cstosim.language.loader import load_scenario
from cstosim.language.scenario import (
    AlignmentObservation,
    ConsensusObservation,
    EngagementObservation,
    Invocation,
    ResponseObservation,
    Scenario,
    month_index,
    value_at,
)
from cstosim.language.yamlio import dump_yaml, shown
from cstosim.model.calendar import month_label
from cstosim.model.levels import STATES
from cstosim.store.folder import WORK_SUFFIX, staged_folder
from cstosim.store.manifest import sha256_file

BATCH = 100
"""Particles stepped together in one vector-engine run (:meth:`RecordModel.evaluate_many`)."""
FORMAT = "cstosim-calibration"
FORMAT_VERSION = 1


class CalibrationError(Exception):
    """A calibration that cannot run as asked (bad input: exit code 2)."""


# --------------------------------------------------------------------------------------------
# The problem: scenarios, parameters, priors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    """A fitted parameter: its name, the paths it sets and its uniform prior."""

    name: str
    paths: tuple[str, ...]
    low: float
    high: float
    scenarios: tuple[str, ...] = ()  # the scenario names it applies to; () = every one

    def applies_to(self, scenario_name: str) -> bool:
        return not self.scenarios or scenario_name in self.scenarios


@dataclass(frozen=True)
class Problem:
    """What a calibration fits: scenarios (with weights), priors, replicates, cut month."""

    scenarios: tuple[Scenario, ...]
    weights: tuple[float, ...]
    priors: tuple[Prior, ...]
    replicates: int
    until: str | None = None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.priors]

    def scenario_values(self) -> dict[str, float]:
        """Each parameter's value in the scenarios (the first that has one of its paths)."""
        out: dict[str, float] = {}
        for prior in self.priors:
            for scenario in self.scenarios:
                if not prior.applies_to(scenario.name):
                    continue
                data = scenario.model_dump(mode="json")
                for path in prior.paths:
                    value, problem = value_at(data, path)
                    if problem is None and isinstance(value, int | float):
                        out.setdefault(prior.name, float(value))
        return out


def build_problem(spec: CalibrationFile, base: Path) -> Problem:
    """Load the scenarios of ``spec`` (paths relative to ``base``) and resolve the priors.

    A prior's bounds are the calibration file's ``low``/``high`` if given, else the range a
    scenario declares for one of the parameter's paths (scenarios that declare it must agree).
    Every path must exist in at least one scenario. Raises :class:`CalibrationError`.
    """
    scenarios = tuple(load_scenario(base / entry.file) for entry in spec.scenarios)
    weights = tuple(entry.weight for entry in spec.scenarios)
    dumps = [s.model_dump(mode="json") for s in scenarios]
    if spec.parameters == "all":
        wanted: dict[str, Any] = {}
        for s in scenarios:
            for path, r in s.ranges.items():
                if r is not None:
                    wanted.setdefault(path, None)
        items: list[tuple[str, CalibrationParameter | None]] = [(n, None) for n in wanted]
    else:
        items = list(spec.parameters.items())
    priors = []
    for name, entry in items:
        paths = tuple(entry.paths) if entry is not None and entry.paths else (name,)
        only = tuple(entry.scenarios) if entry is not None and entry.scenarios else ()
        unknown = [n for n in only if n not in {s.name for s in scenarios}]
        if unknown:
            known = ", ".join(s.name for s in scenarios)
            raise CalibrationError(
                f"{name}: scenarios: no scenario named {', '.join(unknown)} (known: {known})"
            )
        declared: set[tuple[float, float]] = set()
        for path in paths:
            found = False
            for s, data in zip(scenarios, dumps, strict=True):
                if only and s.name not in only:
                    continue
                value, missing = value_at(data, path)
                if missing is None:
                    if not isinstance(value, int | float) or isinstance(value, bool):
                        raise CalibrationError(f"{name}: {path} is not a number in {s.name}")
                    found = True
                r = s.ranges.get(path)
                if r is not None:
                    declared.add((r.low, r.high))
            if not found:
                raise CalibrationError(f"{name}: {path} is in no scenario")
        low = entry.low if entry is not None else None
        high = entry.high if entry is not None else None
        if low is None or high is None:
            if len(declared) != 1:
                what = "no scenario declares a range" if not declared else "scenarios disagree"
                raise CalibrationError(
                    f"{name}: {what} for {', '.join(paths)}; give low and high in the file"
                )
            (dlow, dhigh) = next(iter(declared))
            low = dlow if low is None else low
            high = dhigh if high is None else high
        if not low < high:
            raise CalibrationError(f"{name}: the prior needs low < high, got [{low}, {high}]")
        priors.append(Prior(name, paths, float(low), float(high), only))
    problem = Problem(scenarios, weights, tuple(priors), spec.replicates, spec.until)
    for corner in ("low", "high"):  # every prior's bounds must make valid scenarios
        values = {p.name: getattr(p, corner) for p in priors}
        for s in scenarios:
            try:
                Scenario.model_validate(apply_values(s, priors, values).model_dump(mode="json"))
            except ValueError as exc:
                message = f"the priors' {corner} bounds make {s.name} invalid: {exc}"
                raise CalibrationError(message) from None
    return problem


# --------------------------------------------------------------------------------------------
# Setting values without re-validating (a few µs instead of a few ms)
# --------------------------------------------------------------------------------------------


def set_path(node: Any, parts: Sequence[str], value: float) -> Any:
    """A copy of ``node`` with the value at ``parts`` replaced (as ``--set`` names paths)."""
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(node, BaseModel):
        child = getattr(node, head)
        return node.model_copy(update={head: set_path(child, rest, value)})
    if isinstance(node, dict):
        out = dict(node)
        out[head] = set_path(node[head], rest, value)
        return out
    if isinstance(node, list | tuple):
        ids = [getattr(e, "id", None) for e in node]
        i = ids.index(head) if head in ids else int(head)
        out_list = list(node)
        out_list[i] = set_path(node[i], rest, value)
        return out_list
    raise KeyError(head)


def apply_values(
    scenario: Scenario,
    priors: Sequence[Prior],
    values: Mapping[str, float],
    as_name: str | None = None,
) -> Scenario:
    """``scenario`` with each parameter's value at every one of its paths it has.

    A parameter limited to some scenarios applies when ``scenario``'s name (or ``as_name``: a
    forecast overlay stands for the scenario it extends) is one of them.
    """
    data = None
    name = as_name or scenario.name
    for prior in priors:
        if not prior.applies_to(name):
            continue
        for path in prior.paths:
            if data is None:
                data = scenario.model_dump(mode="json")
            if value_at(data, path)[1] is None:
                scenario = set_path(scenario, path.split("."), float(values[prior.name]))
    return scenario


# --------------------------------------------------------------------------------------------
# The model and the distance
# --------------------------------------------------------------------------------------------


def _needed_months(scenario: Scenario) -> list[pd.Timestamp]:
    months = set()
    for ob in scenario.observations:
        if isinstance(ob, EngagementObservation | AlignmentObservation):
            months.add(month_start(ob.date))
        if isinstance(ob, AlignmentObservation):
            months.add(month_start(ob.since))
    return sorted(months)


def score_run(
    scenario: Scenario, root_seed: int, replicates: int, until: str | None = None
) -> pd.DataFrame:
    """Run ``replicates`` replicates and score them: the scorer's table (one row per observation
    up to ``until``). The members table is cut to the months the observations look at first."""
    _, members, events = run_chunk(scenario, root_seed, range(replicates), until)
    last = members["date"].max() if len(members) else None
    keep = [*_needed_months(scenario), *([last] if last is not None else [])]
    members = members[members["date"].isin(keep)]
    members = members.astype({"member": str, "engagement": str})
    events = events.astype({c: object for c in ("event_id", "type", "member", "outcome")})
    return score(scenario, members, events, replicates).table


def _first_rows(events: pd.DataFrame, mask: Any, column: str) -> tuple[np.ndarray, list[Any]]:
    """Replicates and ``column`` values of the first row per replicate where ``mask`` holds."""
    rows = events[mask].drop_duplicates("replicate")
    return rows["replicate"].to_numpy(np.int64), list(rows[column].astype(object))


def score_variants(
    scenario: Scenario, run: VectorRun, count: int, replicates: int
) -> list[tuple[float, list[float]]]:
    """Score each of the ``count`` variants of a batched run (replicate ``k·replicates + j`` is
    replicate j of variant k; :func:`cstosim.engine.vector.run_variants`): per variant, the sum
    of its Brier scores and its probabilities, in observation order, exactly as
    :func:`cstosim.analysis.scoring.score` gives them for the variant run alone (observations
    checked after the run's last month are left out, as there)."""
    last = month_start(f"{month_label(run.months[run.t - 1])}-01") if run.t else None
    dates = {ev.id: ev.date for ev in scenario.events}
    watched = {str(e) for ob in scenario.observations if (e := getattr(ob, "event", None))}
    events = run.log.table(np.arange(run.r, dtype=np.int64), watched)
    member = {code: i for i, code in enumerate(run.shared.codes)}
    holds = []
    for ob in scenario.observations:
        event = getattr(ob, "event", None)
        if last is not None and month_start(dates[event] if event else ob.date) > last:
            continue
        good: np.ndarray
        if isinstance(ob, EngagementObservation | AlignmentObservation):
            when = month_index(ob.date)
            i = member.get(ob.member)
            now = run.recorded(
                "engagement" if isinstance(ob, EngagementObservation) else "alignment", when
            )
            if i is None or now is None:
                good = np.zeros(0, dtype=np.int64)
            elif isinstance(ob, EngagementObservation):
                fits = np.array([engagement_holds(ob, name) for name in STATES[:-1]] + [False])
                good = np.flatnonzero(fits[now[:, i]])  # ABSENT (−1) is the last entry
            else:
                before = run.recorded("alignment", month_index(ob.since))
                if before is None:
                    good = np.zeros(0, dtype=np.int64)
                else:
                    falls = ob.direction.value == "falls"
                    moved = now[:, i] < before[:, i] if falls else now[:, i] > before[:, i]
                    good = np.flatnonzero(moved)
        elif isinstance(ob, ResponseObservation):
            mine = events["event_id"] == ob.event
            rows = events[mine].drop_duplicates("replicate")
            ok = [
                response_holds(ob, None if pd.isna(o) else str(o), None if pd.isna(d) else float(d))
                for o, d in zip(rows["outcome"].astype(object), rows["delay_days"], strict=True)
            ]
            good = rows["replicate"].to_numpy(np.int64)[np.array(ok, dtype=bool)]
        else:
            if isinstance(ob, ConsensusObservation):
                kind = next(ev.type for ev in scenario.events if ev.id == ob.event)
                mask = (events["event_id"] == ob.event) & (events["type"] == kind)
                reps, values = _first_rows(events, mask, "consensus")
            else:
                mask = (
                    (events["event_id"] == ob.event)
                    & (events["type"] == ob.kind)
                    & (events["member"] == ob.member)
                )
                reps, values = _first_rows(events, mask, "outcome")
            ok = [
                v is not None
                and not (isinstance(v, float) and math.isnan(v))
                and str(v) == ob.equals.value
                for v in values
            ]
            good = reps[np.array(ok, dtype=bool)]
        holds.append(np.bincount(good // replicates, minlength=count))
    out = []
    for k in range(count):
        probabilities = [int(h[k]) / replicates for h in holds]
        briers = pd.Series([brier(p) for p in probabilities], dtype=np.float64)
        out.append((float(briers.sum()), probabilities))
    return out


def record_distance(x: Mapping[str, Any], x0: Mapping[str, Any]) -> float:
    """pyabc's distance: the model already returns the weighted mean Brier score."""
    return float(x["brier"])


class RecordModel:
    """pyabc's model: parameter values → ``{"brier": mean Brier, "probability": per observation}``.

    The replicates' root seed is drawn from NumPy's global generator, which
    :class:`OrderedSampler` seeds per evaluation: a particle's simulation is then a function of
    the seed, its generation and its index.
    """

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, pars: Mapping[str, float]) -> dict[str, Any]:
        root = int(np.random.randint(0, 2**62))
        values = {k: float(pars[k]) for k in self.problem.names}
        if _BATCH.proposals is not None:  # first pass of a batch: note the particle only
            _BATCH.proposals.append((self, values, root))
            return {"brier": 1.0, "probability": np.zeros(0)}
        if _BATCH.answers:  # second pass: the answer computed for this very particle
            noted, result = _BATCH.answers.pop(0)
            if noted != (values, root):
                raise RuntimeError("a batched evaluation did not repeat its proposal")
            return result
        return self.evaluate(values, root)

    def evaluate(
        self, values: Mapping[str, float], root: int, replicates: int | None = None
    ) -> dict[str, Any]:
        pr = self.problem
        total = weight = 0.0
        probabilities: list[float] = []
        for s, w in zip(pr.scenarios, pr.weights, strict=True):
            table = score_run(
                apply_values(s, pr.priors, values), root, replicates or pr.replicates, pr.until
            )
            total += w * float(table["brier"].sum())
            weight += w * len(table)
            probabilities.extend(table["probability"].astype(float))
        return {
            "brier": total / weight if weight else 0.0,
            "probability": np.asarray(probabilities, dtype=np.float64),
        }

    def evaluate_many(
        self, particles: Sequence[tuple[Mapping[str, float], int]]
    ) -> list[dict[str, Any]]:
        """:meth:`evaluate` of each ``(values, root)``, the particles of each scenario stepped
        together in runs of :data:`BATCH` particles (one by one if they cannot be batched):
        the same numbers as one by one, bit for bit."""
        pr = self.problem
        sums = [[0.0, 0.0] for _ in particles]
        probabilities: list[list[float]] = [[] for _ in particles]
        for s, w in zip(pr.scenarios, pr.weights, strict=True):
            for start in range(0, len(particles), BATCH):
                part = particles[start : start + BATCH]
                variants = [apply_values(s, pr.priors, values) for values, _ in part]
                roots = [root for _, root in part]
                try:
                    run = run_variants(variants, roots, pr.replicates, pr.until)
                    scored = score_variants(s, run, len(part), pr.replicates)
                except NotBatchable:
                    scored = []
                    for variant, root in zip(variants, roots, strict=True):
                        table = score_run(variant, root, pr.replicates, pr.until)
                        scored.append(
                            (float(table["brier"].sum()), list(table["probability"].astype(float)))
                        )
                for k, (total, ps) in enumerate(scored, start):
                    sums[k][0] += w * total
                    sums[k][1] += w * len(ps)
                    probabilities[k].extend(ps)
        return [
            {
                "brier": total / weight if weight else 0.0,
                "probability": np.asarray(ps, dtype=np.float64),
            }
            for (total, weight), ps in zip(sums, probabilities, strict=True)
        ]


# --------------------------------------------------------------------------------------------
# A deterministic sampler for pyabc
# --------------------------------------------------------------------------------------------


def evaluation_seed(seed: int, t: int, index: int) -> int:
    """The NumPy seed of evaluation ``index`` of generation ``t`` (-1: a calibration sample,
    -2: the main process before generation ``index``; 10 000 and 20 000: predictive draws)."""
    return int(np.random.SeedSequence([seed, t + 2, index]).generate_state(1)[0])


_WORKER_CACHE: dict[str, Callable[[], Any]] = {}


def _evaluate_chunk(payload: bytes, digest: str, seed: int, t: int, indices: list[int]) -> list:
    """Worker task: evaluate ``indices`` with pyabc's ``simulate_one`` (sent pickled)."""
    fn = _WORKER_CACHE.get(digest)
    if fn is None:
        import cloudpickle

        _WORKER_CACHE.clear()
        fn = _WORKER_CACHE[digest] = cloudpickle.loads(payload)
    return _evaluate(fn, seed, t, indices)


@dataclass
class _Batch:
    """The state of :func:`_evaluate`'s two passes (module-wide, as pyabc calls the model)."""

    proposals: list[tuple[RecordModel, dict[str, float], int]] | None = None
    answers: list[tuple[tuple[dict[str, float], int], dict[str, Any]]] = field(default_factory=list)


_BATCH = _Batch()


def _evaluate(fn: Callable[[], Any], seed: int, t: int, indices: Sequence[int]) -> list:
    """pyabc's ``simulate_one`` for each index, seeded by (seed, t, index).

    In two passes, so that the particles' simulations run together (:meth:`RecordModel.
    evaluate_many`): the first only notes each particle's values and root seed (the model
    answers a stand-in, and the particle is dropped); the second runs every evaluation again
    from the same seed (same proposal, same root seed) and the model answers what the batch
    computed for it. Each evaluation is thus exactly the one-pass evaluation (bit for bit)."""
    _BATCH.proposals = []
    try:
        for i in indices:
            np.random.seed(evaluation_seed(seed, t, i))
            fn()
        noted = _BATCH.proposals
    finally:
        _BATCH.proposals = None
    if noted:
        model = noted[0][0]
        results = model.evaluate_many([(values, root) for _, values, root in noted])
        _BATCH.answers = [((v, r), x) for (_, v, r), x in zip(noted, results, strict=True)]
    out = []
    try:
        for i in indices:
            np.random.seed(evaluation_seed(seed, t, i))
            out.append(fn())
        if _BATCH.answers:
            raise RuntimeError("a batched evaluation did not repeat its proposal")
    finally:
        _BATCH.answers = []
    return out


def _make_sampler_class() -> type:
    from pyabc.sampler import Sampler

    class OrderedSampler(Sampler):
        """Evaluations seeded by index, run in batches on ``executor`` (or here), and the first
        ``n`` accepted *by index* kept: the same sample for any number of workers."""

        def __init__(self, seed: int, executor: Executor | None = None, workers: int = 1):
            super().__init__()
            self.seed = seed
            self.executor = executor
            self.workers = max(1, workers)
            self.rate = 0.5
            self.evaluations_run: dict[int, int] = {}

        def sample_until_n_accepted(
            self,
            n: int,
            simulate_one: Callable[[], Any],
            t: int,
            *,
            max_eval: float = np.inf,
            all_accepted: bool = False,
            ana_vars: Any = None,
        ) -> Any:
            sample = self._create_empty_sample()
            payload = digest = None
            if self.executor is not None:
                import cloudpickle

                payload = cloudpickle.dumps(simulate_one)
                digest = hashlib.sha256(payload).hexdigest()
            rate = 1.0 if all_accepted or t == 0 else max(self.rate * 0.7, 0.01)
            index = used = accepted = 0
            while accepted < n and index < max_eval:
                batch = math.ceil((n - accepted) / rate * 1.1)
                batch = max(batch, 2 * self.workers) if self.executor is not None else batch
                batch = int(min(batch, 20 * n, max_eval - index))
                particles = self._run(payload, digest, simulate_one, t, index, batch)
                index += batch
                for particle in particles:
                    if accepted >= n:
                        break
                    sample.append(particle)
                    used += 1
                    accepted += bool(particle.accepted)
                rate = max(accepted / used, 0.01) if used else rate
            self.nr_evaluations_ = used
            self.evaluations_run[t] = index
            if not all_accepted and used:
                self.rate = max(accepted / used, 0.01)
            if accepted < n:
                sample.ok = False
            return sample

        def _run(
            self,
            payload: bytes | None,
            digest: str | None,
            simulate_one: Callable[[], Any],
            t: int,
            start: int,
            count: int,
        ) -> list:
            indices = list(range(start, start + count))
            if self.executor is None or payload is None or digest is None:
                return _evaluate(simulate_one, self.seed, t, indices)
            size = max(1, math.ceil(count / (4 * self.workers)))
            chunks = [indices[k : k + size] for k in range(0, count, size)]
            results = self.executor.map(
                _evaluate_chunk,
                [payload] * len(chunks),
                [digest] * len(chunks),
                [self.seed] * len(chunks),
                [t] * len(chunks),
                chunks,
            )
            return [p for chunk in results for p in chunk]

    return OrderedSampler


def tie_breaking_epsilon(alpha: float = 0.5, first: bool = True) -> Any:
    """pyabc's quantile epsilon (α-quantile of the last generation's weighted distances) that
    always shrinks: with discrete distances (few observations, few replicates) half the
    particles can share the largest one, and the plain quantile would then stay there for
    ever; this one then takes the next smaller distance. Depends on the last generation only,
    so a resumed run takes the same thresholds. ``first``: the threshold is 1 (Brier <= 1, so
    generation 0 is a sample of the prior); otherwise it comes from the stored generation."""
    import pyabc

    class TieBreakingEpsilon(pyabc.QuantileEpsilon):
        def _update(self, t: int, weighted_distances: pd.DataFrame) -> None:
            super()._update(t, weighted_distances)
            distances = weighted_distances["distance"].to_numpy(float)
            top = float(distances.max()) if distances.size else np.inf
            if self._look_up[t] >= top:
                below = distances[distances < top]
                if below.size:
                    self._look_up[t] = float(below.max())

    return TieBreakingEpsilon(initial_epsilon=1.0 if first else "from_sample", alpha=alpha)


def ordered_sampler(seed: int, executor: Executor | None = None, workers: int = 1) -> Any:
    """An :class:`OrderedSampler` (a ``pyabc.sampler.Sampler``; pyabc is imported lazily)."""
    return _make_sampler_class()(seed, executor, workers)


@contextmanager
def executor_for(workers: int, dask: str | None = None) -> Iterator[Executor | None]:
    """Worker processes (``spawn``), a Dask cluster (``local`` or an address), or None (here)."""
    if dask is not None:
        from distributed import Client, LocalCluster

        if dask == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
            client = Client(cluster)
        else:
            cluster, client = None, Client(dask)
        try:
            yield client.get_executor()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------
# Running a calibration
# --------------------------------------------------------------------------------------------


@dataclass
class CalibrationRun:
    """What :func:`calibrate` did: the folder written and a summary of the generations."""

    folder: Path
    resumed_from: int | None
    populations: pd.DataFrame
    seconds: float
    stopped: str
    parameters: pd.DataFrame = field(default_factory=pd.DataFrame)


def fingerprint(spec: CalibrationFile, problem: Problem) -> str:
    """A hash of what determines the particles (not workers, generations or time limits)."""
    keep = spec.model_dump(
        mode="json",
        exclude={"workers", "dask", "generations", "max_minutes", "min_acceptance", "predictive"},
    )
    parts = {
        "spec": keep,
        "priors": [p.__dict__ for p in problem.priors],
        "scenarios": [s.model_dump(mode="json") for s in problem.scenarios],
        "cstosim": __version__,
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def work_folder(target: Path) -> Path:
    return target.with_name(f".{target.name}{WORK_SUFFIX}")


def calibrate(
    spec_path: Path,
    out: Path,
    *,
    force: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    generations: int | None = None,
    population: int | None = None,
    max_minutes: float | None = None,
    predictive: bool = True,
    finish: Callable[[Path], None] | None = None,
    command: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
) -> CalibrationRun:
    """Run (or resume) the calibration of ``spec_path`` and write the results folder ``out``.

    Options given here override the file's. Raises :class:`CalibrationError` for bad input and
    :class:`cstosim.store.folder.OutputExistsError` if ``out`` exists without ``force``.
    """
    import pyabc

    from cstosim.store.folder import check_target

    spec_path = Path(spec_path)
    spec = load_calibration(spec_path)
    overrides = {
        "workers": workers,
        "dask": dask,
        "generations": generations,
        "population": population,
        "max_minutes": max_minutes,
    }
    spec = spec.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    problem = build_problem(spec, spec_path.parent)
    check_target(out, force)
    work = work_folder(out)
    key = fingerprint(spec, problem)
    db_path = work / "abc.db"
    resumed_from: int | None = None
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    say = log or (lambda _m: None)
    if work.exists():
        info = _read_json(work / "work.json") if (work / "work.json").is_file() else {}
        if info.get("fingerprint") != key:
            raise CalibrationError(
                f"{work} holds another calibration's work (different file, scenarios or "
                "settings); delete it to start afresh"
            )
        if not db_path.is_file():
            shutil.rmtree(work)
    if not work.exists():
        work.mkdir(parents=True)
        (work / "work.json").write_text(json.dumps({"fingerprint": key}, indent=2) + "\n")
    prior = pyabc.Distribution(
        **{p.name: pyabc.RV("uniform", p.low, p.high - p.low) for p in problem.priors}
    )
    db_url = f"sqlite:///{db_path}"
    with executor_for(spec.workers, spec.dask) as executor:
        sampler = ordered_sampler(spec.seed, executor, spec.workers)
        sampler.show_progress = False
        done = _stored_generations(db_url) if db_path.is_file() else 0
        if done > 0:
            resumed_from = done
            say(f"resuming {spec.name} at generation {done} ({work})")
        elif db_path.exists():
            db_path.unlink()
        stopped = "generations"
        # one generation per pyabc run, each started from the database: an uninterrupted run
        # and a resumed one then take exactly the same path (same particle order, thresholds)
        while done < spec.generations:
            abc = pyabc.ABCSMC(
                RecordModel(problem),
                prior,
                record_distance,
                population_size=spec.population,
                sampler=sampler,
                eps=tie_breaking_epsilon(0.5, first=done == 0),
            )
            if done == 0:
                abc.new(db_url, {"brier": 0.0})
            else:
                abc.load(db_url, 1)
            np.random.seed(evaluation_seed(spec.seed, -2, done))
            abc.run(max_nr_populations=1)
            now = _stored_generations(db_url)
            if now <= done:
                stopped = "sampling failed"
                break
            done = now
            last = pyabc.History(db_url, _id=1).get_all_populations().iloc[-1]
            rate = int(last["particles"]) / max(int(last["samples"]), 1)
            say(
                f"generation {done - 1}: epsilon {float(last['epsilon']):.4f}, "
                f"acceptance {rate:.3f}, {time.perf_counter() - started:.0f} s"
            )
            if done >= spec.generations:
                break
            if float(last["epsilon"]) <= spec.min_epsilon:
                stopped = "min_epsilon"
                break
            if rate < spec.min_acceptance:
                stopped = "min_acceptance"
                break
            if (
                spec.max_minutes is not None
                and time.perf_counter() - started >= 60 * spec.max_minutes
            ):
                stopped = "max_minutes"
                break
        history = pyabc.History(db_url)
        populations, particles = export_history(history, problem.names)
        populations["evaluations_run"] = [
            sampler.evaluations_run.get(int(t), np.nan) for t in populations["generation"]
        ]
        posterior = read_particles(particles)
        predictive_tables: dict[str, pd.DataFrame] = {}
        if predictive and spec.predictive.draws > 0:
            say(f"posterior predictive: {spec.predictive.draws} draws")
            predictive_tables = posterior_predictive(
                problem,
                posterior,
                spec.predictive.draws,
                spec.predictive.replicates,
                spec.seed,
                executor,
            )
    parameters = parameter_table(problem, posterior)
    seconds = time.perf_counter() - started
    with staged_folder(out, force) as tmp:
        shutil.copy2(spec_path, tmp / "calibration.yaml")
        (tmp / "scenarios").mkdir()
        for s in problem.scenarios:
            (tmp / "scenarios" / f"{s.name}.resolved.yaml").write_text(
                dump_yaml(s.model_dump(mode="json", exclude_defaults=False)), encoding="utf-8"
            )
        particles.to_parquet(tmp / "particles.parquet", index=False)
        populations.to_csv(tmp / "populations.csv", index=False)
        parameters.to_csv(tmp / "parameters.csv", index=False)
        for name, table in predictive_tables.items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        shutil.copy2(db_path, tmp / "abc.db")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "sha256": {"particles.parquet": sha256_file(tmp / "particles.parquet")},
            "name": spec.name,
            "calibration_file": str(spec_path),
            "calibration": spec.model_dump(mode="json"),
            "priors": [
                {
                    "name": p.name,
                    "paths": list(p.paths),
                    "low": p.low,
                    "high": p.high,
                    "scenarios": list(p.scenarios),
                }
                for p in problem.priors
            ],
            "scenarios": {
                s.name: {"file": e.file, "weight": e.weight}
                for s, e in zip(problem.scenarios, spec.scenarios, strict=True)
            },
            "fingerprint": key,
            "seed": spec.seed,
            "distance": "weighted mean Brier score of every observation (cstosim score)",
            "sampler": "OrderedSampler (evaluations seeded by (seed, generation, index))",
            "generations": len(populations),
            "final_epsilon": float(populations["epsilon"].iloc[-1]) if len(populations) else None,
            "stopped": stopped,
            "resumed_from_generation": resumed_from,
            "command": list(command) or sys.argv,
            "started": started_at.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "versions": versions(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if finish is not None:
            finish(tmp)  # e.g. the figures (cstosim.views.calibration), drawn before the commit
    shutil.rmtree(work, ignore_errors=True)
    return CalibrationRun(out, resumed_from, populations, seconds, stopped, parameters)


def _stored_generations(db_url: str) -> int:
    import pyabc

    try:
        history = pyabc.History(db_url, _id=1)
        return int(history.max_t) + 1 if history.max_t is not None else 0
    except Exception:  # an empty or half-created database
        return 0


def export_history(history: Any, names: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """pyabc's history as two tables: one row per generation, one per particle."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    rows = []
    prows = []
    for t in pops["t"]:
        population = history.get_population(t=int(t))
        weights = np.array([p.weight for p in population.particles], dtype=float)
        weights = weights / weights.sum()
        for k, (p, w) in enumerate(zip(population.particles, weights, strict=True)):
            prows.append(
                {
                    "generation": int(t),
                    "particle": k,
                    "weight": float(w),
                    "distance": float(p.distance),
                    **{n: float(p.parameter[n]) for n in names},
                }
            )
        row = pops[pops["t"] == t].iloc[0]
        accepted = len(population.particles)
        rows.append(
            {
                "generation": int(t),
                "epsilon": float(row["epsilon"]),
                "evaluations": int(row["samples"]),
                "accepted": accepted,
                "acceptance_rate": accepted / int(row["samples"]) if row["samples"] else np.nan,
                "ess": float(1.0 / np.sum(weights**2)),
                "seconds": float(row.get("wall_time", np.nan)),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(prows)


# --------------------------------------------------------------------------------------------
# Reading a posterior back, summaries, predictive checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Posterior:
    """The last generation's particles: values (one column per parameter) and weights."""

    values: pd.DataFrame
    weights: np.ndarray
    priors: tuple[Prior, ...] = ()

    @property
    def names(self) -> list[str]:
        return list(self.values.columns)

    def draws(self, count: int, seed: int) -> pd.DataFrame:
        """``count`` particles resampled by weight (systematic resampling, seeded)."""
        rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
        cumulative = np.cumsum(self.weights / self.weights.sum())
        points = (rng.random() + np.arange(count)) / count
        index = np.minimum(np.searchsorted(cumulative, points), len(cumulative) - 1)
        return self.values.iloc[index].reset_index(drop=True)


def read_particles(particles: pd.DataFrame, priors: Sequence[Prior] = ()) -> Posterior:
    last = particles[particles["generation"] == particles["generation"].max()]
    names = [
        c for c in particles.columns if c not in ("generation", "particle", "weight", "distance")
    ]
    return Posterior(
        last[names].reset_index(drop=True), last["weight"].to_numpy(float), tuple(priors)
    )


def read_posterior(folder: Path) -> Posterior:
    """The posterior of a calibration results folder (``particles.parquet``, ``manifest.json``).

    The folder is input like any other (docs/RELIABILITY.md): a manifest of another format or
    a newer version, priors that are not a list of ``{name, paths, low, high}``, a particles
    table whose SHA-256 differs from the manifest's or that lacks a prior's column, or weights
    that are not finite and positive, each raise :class:`CalibrationError` naming the file.
    """
    folder = Path(folder)
    manifest_path, particles_path = folder / "manifest.json", folder / "particles.parquet"
    if not manifest_path.is_file() or not particles_path.is_file():
        raise CalibrationError(f"{folder} is not a calibration results folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{manifest_path}: cannot read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CalibrationError(f"{folder} is not a calibration results folder")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CalibrationError(
            f"{manifest_path}: format version {shown(version)}; this cstosim reads version "
            f"{FORMAT_VERSION} (a newer cstosim wrote it?)"
        )
    try:
        priors = [
            Prior(str(p["name"]), tuple(str(x) for x in p["paths"]), float(p["low"]),
                  float(p["high"]), tuple(str(x) for x in p.get("scenarios", [])))
            for p in manifest["priors"]
        ]  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise CalibrationError(
            f"{manifest_path}: priors: expected a list of {{name, paths, low, high}} "
            "(the manifest was edited or damaged)"
        ) from None
    expected = (manifest.get("sha256") or {}).get("particles.parquet")
    if expected is not None and sha256_file(particles_path) != expected:
        raise CalibrationError(
            f"{particles_path}: not the file this calibration wrote (its SHA-256 differs from "
            "the manifest's)"
        )
    try:
        particles = pd.read_parquet(particles_path)
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{particles_path}: cannot read: {exc}") from None
    missing = [c for c in ("generation", "weight", *(p.name for p in priors)) if c not in particles]
    if missing:
        raise CalibrationError(f"{particles_path}: no column {', '.join(missing)}")
    posterior = read_particles(particles, priors)
    weights = posterior.weights
    usable = len(weights) and np.all(np.isfinite(weights)) and (weights >= 0).all()
    if not usable or not weights.sum() > 0:
        raise CalibrationError(f"{particles_path}: weights must be finite, >= 0, sum above 0")
    return posterior


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cumulative = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cumulative, v))


def parameter_table(problem: Problem, posterior: Posterior) -> pd.DataFrame:
    """Per parameter: prior, scenario value, posterior mean, sd, 5/50/95 % and width ratios.

    ``width_ratio`` is the 90 % credible interval's width over the prior's (0.9 · (high − low)):
    near 1 the record leaves the parameter free; well below 1 the record pins it down.
    """
    rows = []
    scenario_values = problem.scenario_values()
    w = posterior.weights / posterior.weights.sum()
    for prior in problem.priors:
        v = posterior.values[prior.name].to_numpy(float)
        mean = float(np.sum(w * v))
        sd = float(np.sqrt(np.sum(w * (v - mean) ** 2)))
        q05, q50, q95 = (weighted_quantile(v, w, q) for q in (0.05, 0.5, 0.95))
        width = prior.high - prior.low
        rows.append(
            {
                "parameter": prior.name,
                "paths": " ".join(prior.paths),
                "prior_low": prior.low,
                "prior_high": prior.high,
                "scenario_value": scenario_values.get(prior.name, np.nan),
                "mean": mean,
                "sd": sd,
                "q05": q05,
                "median": q50,
                "q95": q95,
                "width_ratio": (q95 - q05) / (0.9 * width),
                "sd_ratio": sd / (width / math.sqrt(12.0)),
            }
        )
    return pd.DataFrame(rows)


def _predictive_task(
    problem: Problem, values: dict[str, float] | None, root: int, replicates: int
) -> dict[str, Any]:
    """One parameter draw (None: the scenarios' own values), the full record (no ``until``):
    per observation its probability, and final engagement and answers per member."""
    out: dict[str, Any] = {"observations": [], "final": [], "answers": []}
    for s in problem.scenarios:
        scen = apply_values(s, problem.priors, values) if values is not None else s
        _, members, events = run_chunk(scen, root, range(replicates))
        members = members.astype({"member": str, "engagement": str})
        events = events.astype({c: object for c in ("event_id", "type", "member", "outcome")})
        table = score(scen, members, events, replicates).table
        for ob_id, p in zip(table["observation_id"], table["probability"], strict=True):
            out["observations"].append((s.name, str(ob_id), float(p)))
        last = members[members["date"] == members["date"].max()]
        shares = last.groupby("member")["engagement"].value_counts(normalize=True)
        for key, share in shares.items():
            member, state = cast(tuple[str, str], key)
            out["final"].append((s.name, member, state, float(share)))
        calls = {ev.id for ev in scen.events if isinstance(ev, Invocation)}
        rows = events[events["event_id"].isin(calls)].drop_duplicates(["event_id", "replicate"])
        counts = rows.groupby(["event_id", "outcome"]).size()
        for key, count in counts.items():
            call, outcome = cast(tuple[str, str], key)
            out["answers"].append((s.name, call, outcome, int(count) / replicates))
    return out


def _predictive_star(args: tuple[Any, ...]) -> dict[str, Any]:
    return _predictive_task(*args)


def posterior_predictive(
    problem: Problem,
    posterior: Posterior,
    draws: int,
    replicates: int,
    seed: int,
    executor: Executor | None = None,
) -> dict[str, pd.DataFrame]:
    """Posterior predictive checks on the *whole* record (no cut): ``draws`` parameter draws of
    ``replicates`` replicates each, beside the scenarios' own values (``draws × replicates``
    replicates). Tables: ``predictive`` (per observation: the scenario values' probability,
    the posterior predictive probability, its 5–95 % interval over draws, Brier and log scores,
    whether the observation was in the fit), ``final_engagement`` and ``answers``."""
    sample = posterior.draws(draws, seed)
    tasks: list[tuple[Any, ...]] = [(problem, None, seed, draws * replicates)]
    for d in range(draws):
        values = {n: float(sample[n].iloc[d]) for n in posterior.names}
        tasks.append((problem, values, evaluation_seed(seed, 10_000, d), replicates))
    mapped = (
        executor.map(_predictive_star, tasks)
        if executor is not None
        else map(_predictive_star, tasks)
    )
    results = list(mapped)
    base, per_draw = results[0], results[1:]
    cut = month_index(problem.until) if problem.until else None
    info = {}
    for s in problem.scenarios:
        dates = {ev.id: ev.date for ev in s.events}
        for ob in s.observations:
            event = getattr(ob, "event", None)
            checked = dates[event] if event is not None else ob.date
            info[(s.name, ob.id)] = (ob.date, cut is None or month_index(checked) <= cut)
    base_p = {(sc, ob): p for sc, ob, p in base["observations"]}
    matrix: dict[tuple[str, str], list[float]] = {}
    for result in per_draw:
        for sc, ob, p in result["observations"]:
            matrix.setdefault((sc, ob), []).append(p)
    rows = []
    for key, p0 in base_p.items():
        ps = np.asarray(matrix.get(key, [np.nan]), dtype=float)
        p = float(np.mean(ps))
        rows.append(
            {
                "scenario": key[0],
                "observation_id": key[1],
                "date": info[key][0],
                "in_fit": info[key][1],
                "p_scenario": p0,
                "p_posterior": p,
                "p_q05": float(np.quantile(ps, 0.05)),
                "p_q95": float(np.quantile(ps, 0.95)),
                "brier_scenario": brier(p0),
                "brier_posterior": brier(p),
                "log_score_scenario": log_score(p0),
                "log_score_posterior": log_score(p),
            }
        )
    return {
        "predictive": pd.DataFrame(rows),
        "final_engagement": _compare(base["final"], per_draw, "final", ["member", "engagement"]),
        "answers": _compare(base["answers"], per_draw, "answers", ["event", "outcome"]),
    }


def _compare(
    base: list[tuple[Any, ...]], per_draw: list[dict[str, Any]], key: str, columns: list[str]
) -> pd.DataFrame:
    cols = ["scenario", *columns, "p"]
    b = pd.DataFrame(base, columns=cols).rename(columns={"p": "p_scenario"})
    frames = [pd.DataFrame(r[key], columns=cols).assign(draw=d) for d, r in enumerate(per_draw)]
    if not frames:
        return b
    allp = pd.concat(frames)
    idx = ["scenario", *columns]
    full = (
        allp.set_index([*idx, "draw"])["p"]
        .unstack("draw")
        .fillna(0.0)
        .reindex(columns=range(len(per_draw)), fill_value=0.0)
    )
    post = pd.DataFrame(
        {
            "p_posterior": full.mean(axis=1),
            "p_q05": full.quantile(0.05, axis=1),
            "p_q95": full.quantile(0.95, axis=1),
        }
    ).reset_index()
    merged = b.merge(post, on=idx, how="outer").fillna(
        {"p_scenario": 0.0, "p_posterior": 0.0, "p_q05": 0.0, "p_q95": 0.0}
    )
    return merged.sort_values(idx).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {
        "cstosim": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in ("pyabc", "numpy", "pandas", "mesa", "pydantic", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    out["cpu_count"] = str(os.cpu_count())
    return out


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
