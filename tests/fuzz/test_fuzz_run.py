"""Every mutated file that ``validate`` accepts also runs (issue 13, item 1).

The mutations here mostly keep a file valid (numbers at the edges of their range, dates at the
calendar's ends, members frozen or gone at the start, events dropped or shuffled), so most
cases are accepted and then run with two replicates:
``cstosim run FILE -n 2 -j 1 --no-plot -q --out DIR``, in-process (exit 0 with the folder
written, or exit 2 with one clear line; never a traceback). Accepted experiment files run one
chunk of their sweep. A few dozen runs in all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import fuzz_settings
from .corpus import EXPERIMENT_SEEDS, SCENARIO_SEEDS, Seed, seed, slices
from .mutate import VALID_OPS, Case, make_case
from .oracle import Verdict, check, check_run, check_sweep

FULL = [n for n in SCENARIO_SEEDS if "extends" not in seed(n).data]
ORIGINS = [
    seed("scenarios/example-triad.yaml"),
    *[s for name in FULL for s in slices(name)],
    *[seed(n) for n in SCENARIO_SEEDS if "extends" in seed(n).data],
]
numbers = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3)


def check_then_run(
    workspace: Path, case: Case, runner: Callable[[Path, Case, Path], Verdict], folder: Path
) -> None:
    """Check ``case``; if it is accepted, run it with ``runner`` in ``folder``."""
    verdict = check(workspace, case)
    assert verdict.acceptable, f"{case.describe()}\n{verdict.explain()}"
    if verdict.status == "accepted":
        ran = runner(workspace, case, folder)
        assert ran.ok, f"{case.describe()}\n{ran.explain()}"


@fuzz_settings(15)
@given(origin=st.sampled_from(ORIGINS), mutations=numbers)
def test_accepted_scenarios_run(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, origin: Seed, mutations: list[int]
) -> None:
    case = make_case(origin, mutations, "ci-run", VALID_OPS)
    check_then_run(workspace, case, check_run, tmp_path_factory.mktemp("run"))


@pytest.mark.skipif(not EXPERIMENT_SEEDS, reason="no scenarios/experiments/*.yaml in this tree")
@fuzz_settings(3)
@given(name=st.sampled_from(EXPERIMENT_SEEDS or ["none"]), mutations=numbers)
def test_accepted_experiments_sweep(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, name: str, mutations: list[int]
) -> None:
    case = make_case(seed(name), mutations, "ci-sweep", VALID_OPS)
    check_then_run(workspace, case, check_sweep, tmp_path_factory.mktemp("sweep"))
