"""The CSTO scenario files load, cite their sources and keep drivers and observations apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cstosim.language.loader import load_scenario
from cstosim.language.scenario import (
    DiplomaticSignal,
    Drill,
    Invocation,
    ParameterShock,
    ResponseObservation,
    Scenario,
    Summit,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ESSAY = SCENARIOS / "csto-2022-2023.yaml"
HISTORY = SCENARIOS / "csto-history-1992-2023.yaml"
COUNTERFACTUALS = sorted(SCENARIOS.glob("csto-cf-*.yaml"))
CSTO_FILES = [ESSAY, HISTORY, *COUNTERFACTUALS]
ISO3 = {"RUS", "BLR", "KAZ", "KGZ", "TJK", "ARM", "AZE", "GEO", "UZB"}


@pytest.fixture(scope="module")
def essay() -> Scenario:
    return load_scenario(ESSAY)


@pytest.fixture(scope="module")
def history() -> Scenario:
    return load_scenario(HISTORY)


@pytest.mark.parametrize("path", CSTO_FILES, ids=lambda p: p.name)
def test_scenario_loads_and_cites_sources(path: Path) -> None:
    s = load_scenario(path)
    assert set(s.members) <= ISO3
    for entry in [*s.events, *s.observations]:
        assert entry.source in s.sources, entry.id
    for code, member in s.members.items():
        assert member.note, f"{code} needs a note giving its sources or judgement"
    assert path.read_text().startswith("# yaml-language-server: $schema=")


def test_at_least_four_counterfactuals_extend_the_essay_scenario() -> None:
    names = {p.name for p in COUNTERFACTUALS}
    for required in (
        "csto-cf-armenia-answered.yaml",
        "csto-cf-no-invasion.yaml",
        "csto-cf-china-pull-2x.yaml",
    ):
        assert required in names
    assert len(names) >= 4
    for path in COUNTERFACTUALS:
        assert "extends: csto-2022-2023.yaml" in path.read_text()


def test_essay_period_and_roster(essay: Scenario) -> None:
    assert (essay.calendar.start, essay.calendar.end) == ("2021-12", "2023-11")
    assert set(essay.members) == {"RUS", "BLR", "KAZ", "KGZ", "TJK", "ARM"}
    assert essay.leader == "RUS"
    assert essay.actors["AZE"].kind == "aggressor"
    assert essay.actors["AZE"].ties.get("RUS", 0) > 0


def test_history_period_and_roster(history: Scenario) -> None:
    assert (history.calendar.start, history.calendar.end) == ("1992-05", "2023-11")
    assert set(history.members) == ISO3
    assert history.members["AZE"].joined.startswith("1993-09")
    assert history.members["GEO"].joined.startswith("1993-12")
    assert history.members["BLR"].joined.startswith("1993-12")
    types = {ev.type for ev in history.events}
    assert {"treaty_renewal", "join"} <= types


def test_observations_are_not_fed_to_the_model(essay: Scenario, history: Scenario) -> None:
    """Who skips a summit or drill is left to the model; members' signals are observations."""
    for s in (essay, history):
        for ev in s.events:
            if isinstance(ev, Summit):
                assert ev.absentees is None, ev.id
            if isinstance(ev, Drill):
                assert ev.skipped_by is None, ev.id
                assert ev.status == "held", ev.id
            assert not isinstance(ev, DiplomaticSignal), ev.id
            if isinstance(ev, Invocation):
                assert ev.imposed_response is None, ev.id


def test_every_invocation_has_an_observed_outcome(essay: Scenario, history: Scenario) -> None:
    for s in (essay, history):
        answered = {ob.event for ob in s.observations if isinstance(ob, ResponseObservation)}
        invoked = {ev.id for ev in s.events if isinstance(ev, Invocation)}
        assert invoked == answered


def test_history_repeats_the_essay_timeline(essay: Scenario, history: Scenario) -> None:
    """From December 2021 on, the history file carries the essay file's entries unchanged."""

    def late(entries: Sequence[Any]) -> dict[str, Any]:
        return {e.id: e.model_dump() for e in entries if e.date >= "2021-12"}

    essay_events = late(essay.events)
    history_events = late(history.events)
    for eid, ev in essay_events.items():
        assert history_events.get(eid) == ev, eid
    assert late(essay.observations).items() <= late(history.observations).items()


def test_counterfactual_edits(essay: Scenario) -> None:
    answered = load_scenario(SCENARIOS / "csto-cf-armenia-answered.yaml")
    call = next(ev for ev in answered.events if ev.id == "arm-invokes")
    assert isinstance(call, Invocation) and call.imposed_response == "deployment"
    no_war = load_scenario(SCENARIOS / "csto-cf-no-invasion.yaml")
    assert not any(ev.type == "war" for ev in no_war.events)
    assert len(no_war.events) < len(essay.events)
    china = load_scenario(SCENARIOS / "csto-cf-china-pull-2x.yaml")
    assert china.actors["CHN"].pull_growth == pytest.approx(2 * essay.actors["CHN"].pull_growth)
    shock = {ev.id: ev for ev in china.events}["china-pull-rises"]
    base = {ev.id: ev for ev in essay.events}["china-pull-rises"]
    assert isinstance(shock, ParameterShock) and isinstance(base, ParameterShock)
    assert shock.set is not None and base.set is not None
    assert shock.set == pytest.approx(2 * base.set)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("csto-*.yaml")), ids=lambda p: p.stem)
def test_shipped_values_lie_inside_their_declared_ranges(path: Path) -> None:
    """A scenario's own judgement numbers sit inside the ranges it declares."""
    from cstosim.language.scenario import value_at

    scenario = load_scenario(path)
    data = scenario.model_dump(mode="python", exclude={"ranges"})
    for where, r in scenario.ranges.items():
        if r is None:
            continue
        value, problem = value_at(data, where)
        assert problem is None, problem
        assert r.low <= value <= r.high, (
            f"{path.name}: {where} = {value} not in [{r.low}, {r.high}]"
        )
