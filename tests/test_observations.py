"""Observations at the level of the record (issue 9): attendance, signature, consensus, the
direction of alignment, answers given exactly; and the scenario's ``ranges`` of judgement numbers.

Known answers on hand-made tables, located errors for bad references, and one run of the
vectorised engine whose event log the scorer reads.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from cstosim.analysis.scoring import baseline_probability, claim_text, score
from cstosim.engine import vector
from cstosim.language.scenario import Scenario

SUMMIT = {
    "id": "s",
    "date": "2020-02",
    "type": "summit",
    "host": "LDR",
    "label": "s",
    "source": "t",
}
CALL = {
    "id": "call",
    "date": "2020-01-05",
    "type": "invocation",
    "member": "ALP",
    "crisis": "interstate",
    "severity": 0.5,
    "label": "call",
    "source": "t",
}
BASE: dict[str, Any] = {
    "schema_version": 1,
    "name": "obs",
    "title": "obs",
    "sources": {"t": {"title": "test"}},
    "calendar": {"start": "2020-01", "end": "2020-04"},
    "members": {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True, "capability": 0.8},
        "ALP": {"name": "A", "joined": "2000-01"},
    },
    "events": [CALL, SUMMIT],
}


def scenario(observations: list[dict[str, Any]], **changes: Any) -> Scenario:
    data = copy.deepcopy(BASE)
    for k, ob in enumerate(observations):
        ob.setdefault("id", f"ob-{k}")
        ob.setdefault("label", "x")
        ob.setdefault("source", "t")
    data["observations"] = observations
    data.update(changes)
    return Scenario.model_validate(data)


def log(rows: list[tuple[int, str, str, str | None, str | None, str | None]]) -> pd.DataFrame:
    """Event rows (replicate, event_id, type, member, outcome, consensus)."""
    frame = pd.DataFrame(
        rows, columns=["replicate", "event_id", "type", "member", "outcome", "consensus"]
    )
    frame["delay_days"] = np.nan
    return frame


def members(alignment: dict[tuple[int, str], float]) -> pd.DataFrame:
    """ALP's alignment per (replicate, month)."""
    return pd.DataFrame(
        [
            {
                "replicate": r,
                "date": pd.Timestamp(f"{month}-01"),
                "member": "ALP",
                "engagement": "active",
                "alignment": a,
            }
            for (r, month), a in alignment.items()
        ]
    )


def test_attendance_signature_and_consensus_known_answers() -> None:
    s = scenario(
        [
            {
                "date": "2020-02",
                "kind": "attendance",
                "event": "s",
                "member": "ALP",
                "equals": "absent",
            },
            {
                "date": "2020-02",
                "kind": "signature",
                "event": "s",
                "member": "ALP",
                "equals": "refused",
            },
            {"date": "2020-02", "kind": "consensus", "event": "s", "equals": "blocked"},
            {"date": "2020-01-05", "kind": "consensus", "event": "call", "equals": "passed"},
        ]
    )
    events = log(
        [
            (0, "s", "summit", "LDR", "blocked", "blocked"),
            (0, "s", "attendance", "ALP", "absent", None),
            (0, "s", "signature", "ALP", "refused", None),
            (0, "call", "invocation", "ALP", "statements", "passed"),
            (1, "s", "summit", "LDR", "passed", "passed"),
            (1, "s", "attendance", "ALP", "attended", None),
            (1, "s", "signature", "ALP", "signed", None),
            (1, "call", "invocation", "ALP", "none", "blocked"),
            # replicate 2: the summit was skipped, no member rows; the call was passed
            (2, "s", "summit", "LDR", "skipped", None),
            (2, "call", "invocation", "ALP", "statements", "passed"),
        ]
    )
    table = score(s, members({(r, "2020-02"): 0.5 for r in range(3)}), events, 3).table
    assert table["holds"].tolist() == [1, 1, 1, 2]
    assert table["missing"].tolist() == [1, 1, 1, 0]
    assert table["probability"].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3])
    assert table["claim"].tolist() == [
        "ALP absent at s",
        "ALP refused at s",
        "s blocked",
        "call passed",
    ]


def test_alignment_direction() -> None:
    s = scenario(
        [
            {
                "date": "2020-03",
                "kind": "alignment",
                "member": "ALP",
                "since": "2020-01",
                "direction": "falls",
            }
        ]
    )
    table = members(
        {(0, "2020-01"): 0.8, (0, "2020-03"): 0.6, (1, "2020-01"): 0.5, (1, "2020-03"): 0.7}
        | {(2, "2020-01"): 0.5}
    )
    result = score(s, table, log([]), 3).table.iloc[0]
    assert (result["holds"], result["missing"]) == (1, 1)
    assert baseline_probability(s, s.observations[0]) == 0.5
    assert claim_text(s.observations[0]) == "ALP alignment falls from 2020-01"


def test_response_equals_is_two_sided() -> None:
    s = scenario(
        [{"date": "2020-01-05", "kind": "response", "event": "call", "equals": "statements"}]
    )
    events = log(
        [
            (0, "call", "invocation", "ALP", "statements", "passed"),
            (1, "call", "invocation", "ALP", "fact-finding", "passed"),
            (2, "call", "invocation", "ALP", "none", "blocked"),
        ]
    )
    assert score(s, members({}), events, 3).table["holds"].tolist() == [1]


def test_baselines_for_event_level_observations() -> None:
    s = scenario(
        [
            {
                "date": "2020-02",
                "kind": "attendance",
                "event": "s",
                "member": "ALP",
                "equals": "absent",
            },
            {
                "date": "2020-02",
                "kind": "signature",
                "event": "s",
                "member": "ALP",
                "equals": "signed",
            },
            {"date": "2020-02", "kind": "consensus", "event": "s", "equals": "blocked"},
        ]
    )
    assert [baseline_probability(s, ob) for ob in s.observations] == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("observation", "message"),
    [
        (
            {"kind": "attendance", "event": "call", "member": "ALP", "equals": "absent"},
            "unknown summit or drill 'call'",
        ),
        (
            {"kind": "signature", "event": "s", "member": "XXX", "equals": "signed"},
            "unknown member 'XXX'",
        ),
        (
            {"kind": "consensus", "event": "nope", "equals": "passed"},
            "unknown summit or invocation 'nope'",
        ),
        (
            {"kind": "alignment", "member": "ALP", "since": "2020-03", "direction": "falls"},
            "must be a month before",
        ),
        ({"kind": "attendance", "event": "s", "member": "ALP", "equals": "maybe"}, "attended"),
    ],
)
def test_bad_observations_are_refused(observation: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        scenario([{"date": "2020-02", **observation}])


def test_ranges_are_checked_against_the_scenario() -> None:
    ok = {"members.ALP.dependence": {"low": 0.0, "high": 0.6, "note": "facts"}}
    assert scenario([], ranges=ok).ranges["members.ALP.dependence"].high == 0.6
    # a prior, not a constraint: the scenario's value may lie outside (an ablation)
    outside = {"members.ALP.dependence": {"low": 0.6, "high": 0.9, "note": "n"}}
    assert scenario([], ranges=outside).members["ALP"].dependence < 0.6
    with pytest.raises(ValidationError, match="no entry 'gone'"):
        scenario([], ranges={"events.gone.severity": {"low": 0, "high": 1, "note": "n"}})
    with pytest.raises(ValidationError, match="not a number"):
        scenario([], ranges={"members.ALP.name": {"low": 0, "high": 1, "note": "n"}})
    with pytest.raises(ValidationError, match="above high"):
        scenario([], ranges={"events.call.severity": {"low": 0.9, "high": 0.1, "note": "n"}})
    dropped = scenario([], ranges={"events.gone.severity": None})
    assert dropped.ranges == {"events.gone.severity": None}


def test_the_scorer_reads_the_engines_event_log() -> None:
    """End to end: a summit where ALP is told to stay away is scored from the log rows."""
    summit = {**SUMMIT, "absentees": ["ALP"]}
    s = scenario(
        [
            {
                "date": "2020-02",
                "kind": "attendance",
                "event": "s",
                "member": "ALP",
                "equals": "absent",
            },
            {
                "date": "2020-02",
                "kind": "attendance",
                "event": "s",
                "member": "LDR",
                "equals": "absent",
            },
        ],
        events=[CALL, summit],
    )
    _, table, events = vector.run_chunk(s, 1, range(5))
    table["engagement"] = table["engagement"].astype(str)
    result = score(s, table, events.astype({"member": object, "outcome": object}), 5).table
    assert result["probability"].tolist() == [1.0, 0.0]
