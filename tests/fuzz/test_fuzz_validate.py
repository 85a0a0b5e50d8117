"""Mutated scenario and experiment files through the real entry point (issue 13, item 1).

Every case ends in exit 0, or exit 2 with one located line per problem; never a traceback,
never "internal error", within 10 s of CPU (``oracle.check``). About 1,700 cases in all
(``CSTOSIM_FUZZ_SCALE`` scales them); the long run is ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import fuzz_settings
from .corpus import EXPERIMENT_SEEDS, SCENARIO_SEEDS, Seed, seed, slices
from .mutate import HOSTILE_OPS, TEXT_OPS, Case, make_case
from .oracle import check

FULL = [n for n in SCENARIO_SEEDS if "extends" not in seed(n).data]
SLICES = [s for name in FULL for s in slices(name)]
CI_MAX_SIZE = 20_000
"""Longest strings (characters) of the CI cases; the long run goes to 400,000."""
mutations = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3)


def assert_clean(workspace: Path, case: Case) -> None:
    verdict = check(workspace, case)
    assert verdict.acceptable, f"{case.describe()}\n{verdict.explain()}"


@fuzz_settings(650)
@given(origin=st.sampled_from(SLICES), numbers=mutations)
def test_mutated_slices(workspace: Path, origin: Seed, numbers: list[int]) -> None:
    """Slices of the complete scenarios (a few events each): cheap, so the most cases."""
    case = make_case(origin, numbers, "ci-slice", max_size=CI_MAX_SIZE)
    assert_clean(workspace, case)


@pytest.mark.parametrize("name", [*SCENARIO_SEEDS, *EXPERIMENT_SEEDS])
def test_mutated_shipped_files(workspace: Path, name: str) -> None:
    """Every shipped file as it is written: scenarios, counterfactuals (``extends``) included,
    through validate; experiment files through load_experiment."""

    @fuzz_settings(20)
    @given(numbers=mutations)
    def inner(numbers: list[int]) -> None:
        assert_clean(workspace, make_case(seed(name), numbers, "ci-full", max_size=CI_MAX_SIZE))

    inner()


SMALL = [seed("scenarios/example-triad.yaml"), *slices("scenarios/example-triad.yaml"), *SLICES[:2]]


@fuzz_settings(200)
@given(origin=st.sampled_from(SMALL), numbers=mutations)
def test_hostile_structures(workspace: Path, origin: Seed, numbers: list[int]) -> None:
    """Deep nesting, alias bombs, long values, odd or cyclic parents, tags, unicode."""
    case = make_case(origin, numbers, "ci-hostile", HOSTILE_OPS, max_size=CI_MAX_SIZE)
    assert_clean(workspace, case)


@fuzz_settings(550)
@given(origin=st.sampled_from(SMALL), numbers=mutations)
def test_mutated_bytes(workspace: Path, origin: Seed, numbers: list[int]) -> None:
    """Flipped, inserted and cut bytes, truncation, lines moved, other encodings."""
    case = make_case(origin, numbers, "ci-bytes", TEXT_OPS, CI_MAX_SIZE)
    assert_clean(workspace, case)
