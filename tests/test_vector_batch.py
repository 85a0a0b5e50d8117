"""Variants of a scenario stepped in one vectorised run (cstosim.engine.vector_batch).

Known answers: each variant's rows in the batch are bit for bit those of the variant run alone
(``run_chunk``), whatever the other variants in the batch; variants equal to the scenario give
the scenario's own tables; what cannot take one value per replicate is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_vector_agreement import _plain

from cstosim.analysis.calibration import apply_values, build_problem
from cstosim.engine.vector import run_chunk, run_variants
from cstosim.engine.vector_batch import PER_REPLICATE_PARAMETERS, NotBatchable, variation
from cstosim.language.calibration_file import load_calibration
from cstosim.language.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "scenarios" / "calibration" / "csto-record.yaml"
ESSAY = ROOT / "scenarios" / "csto-2022-2023.yaml"


def _split(run, count: int, replicates: int) -> list[tuple[pd.DataFrame, ...]]:
    """The run's three tables cut per variant, replicate ids restarting at 0."""
    chunk = run.tables(np.arange(count * replicates))
    out = []
    for k in range(count):
        parts = []
        for frame in (chunk.model, chunk.members, chunk.events):
            rows = frame[frame["replicate"] // replicates == k].reset_index(drop=True)
            parts.append(rows.assign(replicate=rows["replicate"] - k * replicates))
        out.append(tuple(parts))
    return out


def _same(batch: tuple[pd.DataFrame, ...], alone: tuple[pd.DataFrame, ...]) -> None:
    """Equal tables, floats bit for bit (categories compared as values: a batch has more)."""
    for got, want in zip(batch, alone, strict=True):
        pd.testing.assert_frame_equal(_plain(got), _plain(want), check_exact=True)


def _draws(problem, count: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [
        {p.name: float(rng.uniform(p.low, p.high)) for p in problem.priors} for _ in range(count)
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_batch_equals_one_by_one_for_the_record_calibration(index: int) -> None:
    problem = build_problem(load_calibration(SPEC), SPEC.parent)
    scenario = problem.scenarios[index]
    values = _draws(problem, 3, index)
    variants = [apply_values(scenario, problem.priors, v) for v in values]
    roots, replicates = [11, 12, 11], 3
    until = "2005-12" if index == 0 else None  # the history's first years are enough here
    run = run_variants(variants, roots, replicates, until)
    for k, part in enumerate(_split(run, len(variants), replicates)):
        _same(part, run_chunk(variants[k], roots[k], range(replicates), until))


def test_variants_equal_to_the_scenario_give_its_own_bits() -> None:
    scenario = load_scenario(ESSAY)
    run = run_variants([scenario, scenario.model_copy()], [5, 6], 2)
    for k, part in enumerate(_split(run, 2, 2)):
        _same(part, run_chunk(scenario, 5 + k, range(2)))


@pytest.mark.parametrize("name", sorted(PER_REPLICATE_PARAMETERS))
def test_every_per_replicate_coefficient(name: str) -> None:
    scenario = load_scenario(ESSAY)
    value = float(getattr(scenario.parameters, name))
    other = value * 0.5 if value else 0.1
    variant = scenario.model_copy(
        update={"parameters": scenario.parameters.model_copy(update={name: other})}
    )
    variants = [scenario, variant]
    run = run_variants(variants, [3, 3], 2)
    for k, part in enumerate(_split(run, 2, 2)):
        _same(part, run_chunk(variants[k], 3, range(2)))


def test_what_cannot_vary_per_replicate_is_refused() -> None:
    scenario = load_scenario(ESSAY)
    group = np.array([0, 1])
    noisy = scenario.model_copy(
        update={"parameters": scenario.parameters.model_copy(update={"response_noise": 0.01})}
    )
    with pytest.raises(NotBatchable, match="response_noise"):
        variation([scenario, noisy], group)
    later = scenario.model_copy(
        update={"calendar": scenario.calendar.model_copy(update={"end": "2023-06"})}
    )
    with pytest.raises(NotBatchable, match="calendar"):
        variation([scenario, later], group)
    assert variation([scenario, scenario], group).params == {}
