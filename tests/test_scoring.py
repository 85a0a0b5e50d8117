"""Known-answer tests of cstosim.analysis.scoring on hand-made tiny tables."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cstosim.analysis.scoring import (
    BASELINE_RESPONSE,
    CLIP,
    COLUMNS,
    SCORE_CSV,
    SCORE_JSON,
    ScoreReport,
    baseline_probability,
    brier,
    claim_text,
    engagement_holds,
    format_report,
    log_score,
    response_holds,
    score,
    within_bounds,
    write_score,
)
from cstosim.language.scenario import EngagementObservation, ResponseObservation, Scenario


def tiny_scenario(**changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "schema_version": 1,
        "name": "tiny",
        "title": "Tiny",
        "sources": {"s": {"title": "A source"}},
        "calendar": {"start": "2020-01", "end": "2020-03"},
        "members": {
            "LDR": {"name": "Leader", "joined": "2000-01", "leading": True},
            "ALP": {"name": "Alpha", "joined": "2000-01"},
            "LATE": {"name": "Latecomer", "joined": "2020-03"},
        },
        "events": [
            {
                "id": "call",
                "date": "2020-01-05",
                "type": "invocation",
                "member": "ALP",
                "crisis": "domestic",
                "severity": 0.5,
                "label": "call",
                "source": "s",
            },
        ],
        "observations": [
            {
                "id": "alp-out",
                "date": "2020-02-10",
                "kind": "engagement",
                "member": "ALP",
                "at_least": "disengaged",
                "label": "Alpha steps back",
                "source": "s",
            },
            {
                "id": "answered",
                "date": "2020-01-05",
                "kind": "response",
                "event": "call",
                "at_least": "deployment",
                "within_days": 2,
                "label": "answered",
                "source": "s",
            },
        ],
    }
    data.update(changes)
    return Scenario.model_validate(data)


def members_table(
    states: list[str], month: str = "2020-02-01", member: str = "ALP"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "replicate": np.arange(len(states)),
            "date": pd.to_datetime([month] * len(states)),
            "member": [member] * len(states),
            "engagement": states,
        }
    )


def events_table(outcomes: list[str | None], delays: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "replicate": np.arange(len(outcomes)),
            "date": pd.to_datetime(["2020-01-05"] * len(outcomes)),
            "event_id": ["call"] * len(outcomes),
            "type": ["invocation"] * len(outcomes),
            "member": ["ALP"] * len(outcomes),
            "response": [0.5] * len(outcomes),
            "outcome": outcomes,
            "delay_days": delays,
            "detail": [""] * len(outcomes),
        }
    )


def eng(**bounds: str) -> EngagementObservation:
    return EngagementObservation.model_validate(
        {
            "id": "o",
            "date": "2020-02",
            "kind": "engagement",
            "member": "ALP",
            "label": "l",
            "source": "s",
            **bounds,
        }
    )


def resp(**bounds: Any) -> ResponseObservation:
    return ResponseObservation.model_validate(
        {
            "id": "o",
            "date": "2020-01",
            "kind": "response",
            "event": "call",
            "label": "l",
            "source": "s",
            **bounds,
        }
    )


# ---- single checks ------------------------------------------------------------------------


def test_within_bounds() -> None:
    assert within_bounds(2)
    assert within_bounds(2, at_least=1, at_most=2)
    assert not within_bounds(0, at_least=1)
    assert not within_bounds(3, at_most=2)
    assert within_bounds(1, equals=1)
    assert not within_bounds(2, equals=1)


@pytest.mark.parametrize(
    ("bounds", "state", "expected"),
    [
        ({"at_least": "disengaged"}, "active", False),
        ({"at_least": "disengaged"}, "disengaged", True),
        ({"at_least": "disengaged"}, "exited", True),
        ({"at_most": "frozen"}, "exited", False),
        ({"at_most": "frozen"}, "frozen", True),
        ({"equals": "active"}, "active", True),
        ({"equals": "active"}, "disengaged", False),
        ({"at_least": "disengaged", "at_most": "frozen"}, "frozen", True),
        ({"at_least": "disengaged", "at_most": "frozen"}, "exited", False),
        ({"at_most": "exited"}, "absent", False),
        ({"at_most": "exited"}, None, False),
    ],
)
def test_engagement_holds(bounds: dict[str, str], state: str | None, expected: bool) -> None:
    assert engagement_holds(eng(**bounds), state) is expected


@pytest.mark.parametrize(
    ("bounds", "outcome", "delay", "expected"),
    [
        ({"at_least": "deployment", "within_days": 2}, "deployment", 1.0, True),
        ({"at_least": "deployment", "within_days": 2}, "deployment", 2.0, True),
        ({"at_least": "deployment", "within_days": 2}, "deployment", 3.0, False),
        ({"at_least": "deployment", "within_days": 2}, "deployment", float("nan"), False),
        ({"at_least": "deployment", "within_days": 2}, "token-force", 0.0, False),
        ({"at_most": "fact-finding"}, "fact-finding", float("nan"), True),
        ({"at_most": "fact-finding"}, "none", None, True),
        ({"at_most": "fact-finding"}, "token-force", 5.0, False),
        ({"at_most": "fact-finding"}, "skipped", None, False),
        ({"at_most": "fact-finding"}, None, None, False),
        ({"within_days": 10}, "statements", 3.0, True),
    ],
)
def test_response_holds(
    bounds: dict[str, Any], outcome: str | None, delay: float | None, expected: bool
) -> None:
    assert response_holds(resp(**bounds), outcome, delay) is expected


def test_claim_text() -> None:
    assert claim_text(eng(at_least="disengaged", at_most="frozen")) == (
        "ALP engagement >= disengaged and <= frozen"
    )
    assert claim_text(eng(equals="active")) == "ALP engagement == active"
    assert claim_text(resp(at_least="deployment", within_days=2)) == (
        "answer to call >= deployment and within 2 days"
    )


def test_brier_and_log_score_known_values() -> None:
    assert brier(1.0) == 0.0
    assert brier(0.0) == 1.0
    assert brier(0.75) == pytest.approx(0.0625)
    assert log_score(0.5) == pytest.approx(math.log(2))
    assert log_score(0.0) == pytest.approx(-math.log(CLIP[0]))  # clipped, not infinite
    assert log_score(1.0) == pytest.approx(-math.log(CLIP[1]))
    assert log_score(0.0, clip=(0.1, 0.9)) == pytest.approx(-math.log(0.1))


def test_baseline_probabilities() -> None:
    s = tiny_scenario()
    assert baseline_probability(s, eng(at_least="disengaged")) == 0.0  # starts active
    assert baseline_probability(s, eng(equals="active")) == 1.0
    assert (
        baseline_probability(s, resp(at_least="deployment", within_days=2))
        == (BASELINE_RESPONSE["deployment"])
    )
    assert baseline_probability(s, resp(at_most="fact-finding")) == BASELINE_RESPONSE["none"]
    # a member observed before it joins is absent under the baseline
    late = EngagementObservation.model_validate(
        {
            "id": "o",
            "date": "2020-02",
            "kind": "engagement",
            "member": "LATE",
            "equals": "active",
            "label": "l",
            "source": "s",
        }
    )
    assert baseline_probability(s, late) == 0.0


# ---- whole ensembles --------------------------------------------------------------------------


def test_score_known_answer() -> None:
    s = tiny_scenario()
    members = members_table(["active", "disengaged", "frozen", "exited"])
    events = events_table(
        ["deployment", "deployment", "token-force", "deployment"], [1.0, 3.0, 0.0, 0.0]
    )
    report = score(s, members, events)
    t = report.table.set_index("observation_id")
    assert list(report.table.columns) == list(COLUMNS)
    # engagement: 3 of 4 replicates at least disengaged in Feb 2020
    assert t.loc["alp-out", "holds"] == 3
    assert t.loc["alp-out", "probability"] == pytest.approx(0.75)
    assert t.loc["alp-out", "brier"] == pytest.approx(0.0625)
    assert t.loc["alp-out", "log_score"] == pytest.approx(-math.log(0.75))
    assert t.loc["alp-out", "baseline"] == 0.0
    assert t.loc["alp-out", "brier_baseline"] == 1.0
    assert t.loc["alp-out", "log_score_baseline"] == pytest.approx(-math.log(0.01))
    assert t.loc["alp-out", "month"] == "2020-02"
    # response: deployment within 2 days in replicates 0 and 3 only
    assert t.loc["answered", "holds"] == 2
    assert t.loc["answered", "probability"] == pytest.approx(0.5)
    assert t.loc["answered", "member"] == "ALP"
    assert t.loc["answered", "event"] == "call"
    assert t.loc["answered", "baseline"] == pytest.approx(0.75)
    tot = report.totals
    assert tot["observations"] == 2
    assert tot["replicates"] == 4
    assert tot["brier"] == pytest.approx((0.0625 + 0.25) / 2)
    assert tot["brier_baseline"] == pytest.approx((1.0 + 0.0625) / 2)
    assert tot["brier_skill"] == pytest.approx(1 - 0.15625 / 0.53125)
    assert tot["log_score"] == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)
    assert tot["clip"] == list(CLIP)


def test_other_months_and_members_are_ignored() -> None:
    s = tiny_scenario()
    members = pd.concat(
        [
            members_table(["exited", "exited"], month="2020-01-01"),
            members_table(["active", "active"], month="2020-02-01"),
            members_table(["exited", "exited"], month="2020-02-01", member="LDR"),
        ]
    )
    report = score(s, members, events_table(["none", "none"], [np.nan, np.nan]))
    t = report.table.set_index("observation_id")
    assert t.loc["alp-out", "probability"] == 0.0
    assert t.loc["answered", "probability"] == 0.0


def test_missing_rows_count_as_not_holding() -> None:
    s = tiny_scenario()
    members = members_table(["absent", "disengaged"])
    events = events_table(["deployment"], [0.0])  # replicate 1 has no row for the call
    report = score(s, members, events, replicates=3)  # replicate 2 has nothing at all
    t = report.table.set_index("observation_id")
    assert t.loc["alp-out", "replicates"] == 3
    assert t.loc["alp-out", "holds"] == 1
    assert t.loc["alp-out", "missing"] == 2
    assert t.loc["answered", "holds"] == 1
    assert t.loc["answered", "missing"] == 2
    assert t.loc["answered", "probability"] == pytest.approx(1 / 3)


def test_duplicate_event_rows_use_the_first() -> None:
    s = tiny_scenario()
    events = pd.concat([events_table(["deployment"], [0.0]), events_table(["none"], [np.nan])])
    report = score(s, members_table(["active"]), events)
    assert report.table.set_index("observation_id").loc["answered", "holds"] == 1


def test_no_observations_gives_empty_table() -> None:
    s = tiny_scenario(observations=[])
    report = score(s, members_table(["active"]), events_table(["none"], [np.nan]))
    assert len(report.table) == 0
    assert report.totals["brier"] is None
    assert report.totals["observations"] == 0


def test_bad_clip_is_refused() -> None:
    with pytest.raises(ValueError, match="clip"):
        score(
            tiny_scenario(),
            members_table(["active"]),
            events_table(["none"], [0.0]),
            clip=(0.0, 1.0),
        )


def test_write_score_atomic_and_no_clobber(tmp_path: Path) -> None:
    s = tiny_scenario()
    report = score(
        s, members_table(["active", "exited"]), events_table(["deployment", "none"], [0.0, np.nan])
    )
    paths = write_score(report, tmp_path)
    assert sorted(p.name for p in paths) == [SCORE_CSV, SCORE_JSON]
    back = pd.read_csv(tmp_path / SCORE_CSV)
    assert list(back.columns) == list(COLUMNS)
    assert back["probability"].tolist() == pytest.approx([0.5, 0.5])
    totals = json.loads((tmp_path / SCORE_JSON).read_text())
    assert totals["replicates"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    # a second write refuses and changes nothing
    other = ScoreReport(table=report.table.head(0), totals={"scenario": "other"})
    with pytest.raises(FileExistsError):
        write_score(other, tmp_path)
    assert json.loads((tmp_path / SCORE_JSON).read_text())["replicates"] == 2
    write_score(other, tmp_path, overwrite=True)
    assert json.loads((tmp_path / SCORE_JSON).read_text()) == {"scenario": "other"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_format_report_mentions_every_observation() -> None:
    s = tiny_scenario()
    report = score(s, members_table(["disengaged"]), events_table(["deployment"], [0.0]))
    text = format_report(report)
    assert "alp-out" in text and "answered" in text
    assert "clipped to [0.01, 0.99]" in text


def test_observations_after_the_end_of_the_run_are_skipped() -> None:
    s = tiny_scenario()
    members = members_table(["active", "active"], month="2020-01-01")  # run stopped in Jan 2020
    report = score(s, members, events_table(["deployment", "none"], [0.0, np.nan]))
    assert report.table["observation_id"].tolist() == ["answered"]
    assert report.totals["skipped"] == ["alp-out"]
    assert report.totals["observations"] == 1


def test_score_results_reads_a_results_folder(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cstosim.analysis.scoring import score_results
    from cstosim.cli import main

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"
    out = tmp_path / "run"
    args = ["run", str(scenario), "-n", "4", "--jobs", "1", "--no-plot", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = score_results(out)
    assert report.table["observation_id"].tolist() == ["alp-answered", "brv-steps-back"]
    assert (report.table["replicates"] == 4).all()
    assert report.totals["scenario"] == "example-triad"
    assert 0.0 <= report.totals["brier"] <= 1.0
    write_score(report, out)
    assert (out / SCORE_CSV).is_file() and (out / SCORE_JSON).is_file()
