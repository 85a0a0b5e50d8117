"""The vectorised engine and the Mesa model give the same tables, replicate for replicate.

Both engines use the same rules, the same keyed draws and the same metrics, so the tables are
compared for *exact* equality: categories identical and floats bit for bit (the member-axis sums
run in the same order in both engines, so no tolerance is needed; should one ever be, 1e-12 is
the bound issue 8 allows). Shipped scenarios are checked at a few seeds, and hypothesis varies
a scenario that uses every event type: coefficients anywhere in their ranges (fast hazards make
members leave, so that later events meet exited members and are skipped), initial states,
which events happen and when a pull is shocked out of its range.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cstosim.engine import ensemble, vector
from cstosim.language.loader import load_scenario
from cstosim.language.parameters import THRESHOLDS, Parameters
from cstosim.language.scenario import Scenario
from cstosim.model.alliance import simulate

TABLES = ("model", "members", "events")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text and categorical columns as Python objects (None for missing), index reset."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        dtype = out[column].dtype
        text = isinstance(dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(dtype)
        if text and column != "date":
            values = out[column].astype(object)
            out[column] = values.where(values.notna(), None)
    return out


def mesa_tables(scenario: Scenario, seed: int, replicates: int, until: Any) -> list[pd.DataFrame]:
    """The reference: the Mesa model, one replicate at a time, ``replicate`` put first."""
    runs = [simulate(scenario, ensemble.replicate_seed(seed, k), until) for k in range(replicates)]
    out = []
    for name in TABLES:
        frames = [getattr(run, name).assign(replicate=k) for k, run in enumerate(runs)]
        frame = pd.concat(frames, ignore_index=True)
        out.append(frame[["replicate", *frame.columns[:-1]]])
    return out


def assert_same_tables(scenario: Scenario, seed: int, replicates: int, until: Any = None) -> None:
    fast = vector.run_chunk(scenario, seed, range(replicates), until)
    reference = mesa_tables(scenario, seed, replicates, until)
    for name, a, b in zip(TABLES, fast, reference, strict=True):
        a, b = _plain(a), _plain(b)
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=0, atol=0, obj=name)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_agree(path: Path) -> None:
    replicates = 6 if "history" in path.name else 12
    assert_same_tables(load_scenario(path), seed=11, replicates=replicates)


def test_agree_when_projecting_past_the_end() -> None:
    assert_same_tables(load_scenario(ROOT / "scenarios/example-triad.yaml"), 5, 8, "2024-06")


def test_replicates_do_not_depend_on_their_chunk() -> None:
    """Replicate 7 is the same alone, in a chunk of ten, or in a chunk starting at 5."""
    scenario = load_scenario(ROOT / "scenarios/example-triad.yaml")
    whole = vector.run_chunk(scenario, 3, range(10))
    alone = vector.run_chunk(scenario, 3, [7])
    part = vector.run_chunk(scenario, 3, range(5, 10))
    for a, b, c in zip(whole, alone, part, strict=True):
        rows = _plain(a[a["replicate"] == 7])
        pd.testing.assert_frame_equal(rows, _plain(b), check_dtype=False)
        pd.testing.assert_frame_equal(rows, _plain(c[c["replicate"] == 7]), check_dtype=False)


TRIAD = load_scenario(ROOT / "scenarios/example-triad.yaml").model_dump(
    mode="json", exclude_none=True
)
unit = st.floats(0.0, 1.0, allow_nan=False)


def _bounds(name: str) -> tuple[float, float]:
    low, high = 0.0, 1.0
    for meta in Parameters.model_fields[name].metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


@st.composite
def variations(draw: st.DrawFn) -> Scenario:
    data = copy.deepcopy(TRIAD)
    data["observations"] = []
    names = sorted(set(Parameters.model_fields) - set(THRESHOLDS))
    for name in draw(st.sets(st.sampled_from(names), max_size=8)):
        data["parameters"][name] = draw(st.floats(*_bounds(name), allow_nan=False))
    if draw(st.booleans()):  # members move fast: exits, returns, skipped events
        data["parameters"].update(hazard_base=draw(st.floats(0.2, 1.0)), engagement_threshold=2)
    for member in data["members"].values():
        for field in ("dependence", "exit_cost", "regime_insecurity"):
            if draw(st.booleans()):
                member[field] = draw(unit)
        member["initial"]["alignment"] = draw(unit)
        if not member.get("leading") and draw(st.booleans()):
            member["initial"]["engagement"] = draw(
                st.sampled_from(["active", "disengaged", "frozen", "exited"])
            )
    keep = draw(st.lists(st.booleans(), min_size=len(data["events"]), max_size=40))
    data["events"] = [e for e, k in zip(data["events"], keep, strict=False) if k]
    extra = draw(st.sampled_from(["none", "pull-shock", "imposed", "join"]))
    month = draw(st.sampled_from(["2020-05", "2021-03", "2022-01"]))
    common = {"label": extra, "source": "example", "date": month}
    if extra == "pull-shock":
        data["events"].append(
            {
                "id": "pull-shock",
                "type": "parameter_shock",
                "target": "actors.OUT.pull.BRV",
                "shift": draw(st.floats(-1.0, 1.0)),
                "ramp_months": draw(st.integers(0, 6)),
                **common,
            }
        )
    elif extra == "imposed":
        data["events"].append(
            {
                "id": "imposed-call",
                "type": "invocation",
                "member": "ALP",
                "crisis": "interstate",
                "severity": draw(unit),
                "requested": draw(st.sampled_from(["statements", "deployment"])),
                "imposed_response": draw(st.sampled_from(["none", "token-force"])),
                **common,
            }
        )
    elif extra == "join":
        data["events"].append({"id": "rejoin", "type": "join", "member": "ALP", **common})
    return Scenario.model_validate(data)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(variations(), st.integers(0, 2**32 - 1))
def test_generated_scenarios_agree(scenario: Scenario, seed: int) -> None:
    assert_same_tables(scenario, seed, replicates=4)


def test_draws_are_shared_between_engines() -> None:
    """The keys the vector engine computes are the keys the Mesa model draws."""
    from cstosim.model import draws
    from cstosim.model.alliance import AllianceModel

    scenario = load_scenario(ROOT / "scenarios/example-triad.yaml")
    keys = draws.replicate_keys(42, range(3))
    for k in range(3):
        rng = np.random.default_rng(ensemble.replicate_seed(42, k))
        assert AllianceModel(scenario, rng=rng).key == int(keys[k])
