"""Named outcomes: known answers on hand-made tables, and agreement with a real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from cstosim.analysis.outcomes import (
    OutcomeReducer,
    compute_outcomes,
    from_results,
    is_binary,
    parse_outcome,
)
from cstosim.language.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
MONTHS = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"])


def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two replicates, four months, members A and B.

    Replicate 0: A disengaged in month 1, frozen in month 2, exited in month 3; B active.
    Replicate 1: everyone active, except B disengaged in month 3.
    """
    levels = {
        (0, "AA"): ["active", "disengaged", "frozen", "exited"],
        (0, "BB"): ["active"] * 4,
        (1, "AA"): ["active"] * 4,
        (1, "BB"): ["active", "active", "active", "disengaged"],
    }
    members = []
    for r in (0, 1):
        for t, date in enumerate(MONTHS):
            for code in ("AA", "BB"):
                members.append(
                    {
                        "replicate": r,
                        "date": date,
                        "member": code,
                        "alignment": 0.5 + 0.1 * t + r,
                        "credibility": 0.5,
                        "engagement": levels[(r, code)][t],
                        "value": 0.0,
                        "outside_option": 0.0,
                        "grievance": float(t),
                    }
                )
    members_frame = pd.DataFrame(members)
    members_frame["member"] = pd.Categorical(members_frame["member"], ["AA", "BB"])
    model = pd.DataFrame(
        {
            "replicate": np.repeat([0, 1], 4),
            "date": np.tile(MONTHS, 2),
            "cohesion": [0.9, 0.8, 0.6, 0.4, 0.9, 0.9, 0.9, 0.85],
            "engaged_share": [1.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 0.5],
            "blocs": [1, 1, 2, 1, 1, 1, 1, 1],
            "exits": [0, 0, 0, 1, 0, 0, 0, 0],
        }
    )
    events = pd.DataFrame(
        {
            "replicate": [0, 0, 1, 1],
            "date": pd.to_datetime(["2020-01-15", "2020-03-02", "2020-02-01", "2020-04-01"]),
            "event_id": ["s1", "call", "s1", "call"],
            "type": ["summit", "invocation", "summit", "invocation"],
            "consensus": ["blocked", "blocked", "passed", "blocked"],
        }
    )
    return model, members_frame, events


CASES = {
    "a_frozen": ({"kind": "reached", "member": "AA", "rung": "frozen"}, [1, 0]),
    "a_frozen_by_feb": (
        {"kind": "reached", "member": "AA", "rung": "frozen", "by": "2020-02"},
        [0, 0],
    ),
    "b_disengaged": ({"kind": "reached", "member": "BB", "rung": "disengaged"}, [0, 1]),
    "a_exit_time": ({"kind": "time_to", "member": "AA", "rung": "exited"}, [3, 4]),
    "any_disengaged_time": ({"kind": "time_to", "rung": "disengaged"}, [1, 3]),
    "cohesion_end": ({"kind": "metric", "metric": "cohesion"}, [0.4, 0.85]),
    "cohesion_feb": ({"kind": "metric", "metric": "cohesion", "at": "2020-02"}, [0.8, 0.9]),
    "a_alignment": ({"kind": "metric", "metric": "alignment", "member": "AA"}, [0.8, 1.8]),
    "exits": ({"kind": "exits"}, [1, 0]),
    "exits_feb": ({"kind": "exits", "at": "2020-02"}, [0, 0]),
    "two_blocs": ({"kind": "fracture", "blocs_at_least": 2}, [1, 0]),
    "engaged_low": ({"kind": "fracture", "engaged_below": 0.75}, [1, 1]),
    "engaged_low_mar": ({"kind": "fracture", "engaged_below": 0.75, "by": "2020-03"}, [1, 0]),
    "blocked": ({"kind": "consensus_failures"}, [2, 1]),
    "blocked_summits": ({"kind": "consensus_failures", "event_type": "summit"}, [1, 0]),
    "blocked_by_day": ({"kind": "consensus_failures", "by": "2020-03-01"}, [1, 0]),
    "blocked_by_month": ({"kind": "consensus_failures", "by": "2020-03"}, [2, 0]),
}


@pytest.mark.parametrize("name", CASES)
def test_known_answers(name: str) -> None:
    spec, expected = CASES[name]
    frame = compute_outcomes({name: spec}, *tables())
    assert list(frame["replicate"]) == [0, 1]
    assert frame[name].tolist() == pytest.approx(expected)


def test_row_order_and_text_columns_do_not_matter() -> None:
    model, members, events = tables()
    shuffled = (
        model.sample(frac=1, random_state=1),
        members.sample(frac=1, random_state=2).astype({"member": str, "engagement": str}),
        events.sample(frac=1, random_state=3),
    )
    specs = {name: spec for name, (spec, _) in CASES.items()}
    pd.testing.assert_frame_equal(
        compute_outcomes(specs, *tables()), compute_outcomes(specs, *shuffled)
    )


def test_binary_kinds_and_validation() -> None:
    assert is_binary({"kind": "reached", "member": "AA", "rung": "exited"})
    assert is_binary({"kind": "fracture", "blocs_at_least": 2})
    assert not is_binary({"kind": "metric", "metric": "cohesion"})
    with pytest.raises(ValidationError, match="unknown model reporter"):
        parse_outcome({"kind": "metric", "metric": "happiness"})
    with pytest.raises(ValidationError, match="blocs_at_least, engaged_below"):
        parse_outcome({"kind": "fracture"})


def test_a_month_outside_the_run_is_an_error() -> None:
    with pytest.raises(ValueError, match="not among the simulated months"):
        compute_outcomes(
            {"c": {"kind": "metric", "metric": "cohesion", "at": "2021-01"}}, *tables()
        )


def test_agrees_with_the_tables_of_a_real_run(tmp_path: Path) -> None:
    from cstosim.engine.vector import run_chunk

    scenario = load_scenario(ROOT / "scenarios" / "example-triad.yaml")
    model, members, events = run_chunk(scenario, 7, range(30))
    reducer = OutcomeReducer(
        {
            "brv_dis": {"kind": "reached", "member": "BRV", "rung": "disengaged"},
            "cohesion": {"kind": "metric", "metric": "cohesion"},
            "exits": {"kind": "exits"},
            "blocked": {"kind": "consensus_failures"},
        }
    )
    frame = reducer(model, members, events)
    assert reducer.names == ["brv_dis", "cohesion", "exits", "blocked"]
    brv = members[members["member"].astype(str) == "BRV"]
    ever = brv.groupby("replicate")["engagement"].agg(
        lambda s: s.astype(str).isin(["disengaged", "frozen", "exited"]).any()
    )
    assert frame["brv_dis"].tolist() == ever.astype(float).tolist()
    last = model.groupby("replicate").tail(1)
    assert frame["cohesion"].tolist() == last["cohesion"].tolist()
    assert frame["exits"].tolist() == last["exits"].astype(float).tolist()
    blocked = events[events["consensus"].astype(str) == "blocked"].groupby("replicate").size()
    assert frame["blocked"].tolist() == blocked.reindex(range(30), fill_value=0).tolist()
    assert not frame.isna().any().any()
    # the same reducer on a results folder written as a run writes one
    for name, table in (("model", model), ("members", members), ("events", events)):
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
    pd.testing.assert_frame_equal(from_results(tmp_path, reducer.outcomes), frame)
