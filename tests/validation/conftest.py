"""Seeded ensembles shared by the validation suite (one run per scenario per session).

Every ensemble uses the same root seed, so replicate k of a counterfactual and replicate k of
the record start from the same random stream ("paired by seed"). Sizes are chosen so the whole
suite runs in a few minutes on two cores; ``CSTOSIM_VALIDATION_REPLICATES`` overrides them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from cstosim.engine.ensemble import Ensemble, default_jobs, run_ensemble
from cstosim.language.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ROOT_SEED = 20231123
REPLICATES = int(os.environ.get("CSTOSIM_VALIDATION_REPLICATES", "300"))
HISTORY_REPLICATES = int(os.environ.get("CSTOSIM_VALIDATION_HISTORY_REPLICATES", "300"))
JOBS = min(2, default_jobs())


def ensemble(file: str, replicates: int = REPLICATES) -> Ensemble:
    scenario = load_scenario(SCENARIOS / file)
    return run_ensemble(scenario, replicates=replicates, root_seed=ROOT_SEED, jobs=JOBS)


@pytest.fixture(scope="session")
def record() -> Ensemble:
    return ensemble("csto-2022-2023.yaml")


@pytest.fixture(scope="session")
def history() -> Ensemble:
    return ensemble("csto-history-1992-2023.yaml", HISTORY_REPLICATES)


@pytest.fixture(scope="session")
def cf_answered() -> Ensemble:
    return ensemble("csto-cf-armenia-answered.yaml")


@pytest.fixture(scope="session")
def cf_no_invasion() -> Ensemble:
    return ensemble("csto-cf-no-invasion.yaml")


def at_month(members: pd.DataFrame, member: str, month: str) -> pd.DataFrame:
    """One row per replicate: ``member``'s state in ``month`` ('YYYY-MM'), indexed by replicate."""
    rows = members[(members["member"] == member) & (members["date"] == pd.Timestamp(f"{month}-01"))]
    return rows.set_index("replicate").sort_index()


def invocation(events: pd.DataFrame, event_id: str) -> pd.DataFrame:
    """One row per replicate: the answer to invocation ``event_id``, indexed by replicate."""
    rows = events[events["event_id"] == event_id].drop_duplicates("replicate")
    return rows.set_index("replicate").sort_index()
