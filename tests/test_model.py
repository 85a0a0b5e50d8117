"""The model as a whole: contract, degenerate cases, determinism, invariants, Mesa tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_helpers import ARM_CALL, KAZ_CALL, STILL, UKR_WAR, mini_csto, scenario

from cstosim.language.loader import load_scenario
from cstosim.model import draws
from cstosim.model.alliance import AGENT_REPORTERS, MODEL_REPORTERS, AllianceModel, simulate

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"
UNIT_COLUMNS = (
    "cohesion",
    "credibility_mean",
    "engaged_share",
    "polarization",
    "consensus_capacity",
    "capacity",
)


@pytest.fixture(scope="module")
def example() -> Any:
    return load_scenario(EXAMPLE)


def test_runs_the_example_from_a_path_and_follows_the_contract(example: Any) -> None:
    model = AllianceModel(scenario=str(EXAMPLE), rng=42)
    model.run()
    assert not model.running
    assert model.t == 36
    assert model.spec.name == "example-triad"
    assert len(model.datacollector.model_vars["cohesion"]) == 36
    rep = simulate(example, 42)
    assert list(rep.model.columns) == ["date", *MODEL_REPORTERS]
    assert list(rep.members.columns) == ["date", *AGENT_REPORTERS]
    assert list(rep.events.columns) == [
        "date",
        "event_id",
        "type",
        "member",
        "response",
        "outcome",
        "delay_days",
        "consensus",
        "detail",
    ]
    assert rep.model.date.iloc[0] == pd.Timestamp("2020-01-01")
    assert rep.model.date.iloc[-1] == pd.Timestamp("2022-12-01")
    assert len(rep.members) == 36 * 3
    assert pd.api.types.is_datetime64_any_dtype(rep.events.date)
    call = rep.events.set_index("event_id").loc["alp-call"]
    assert call.date == pd.Timestamp("2020-03-02")
    assert call.outcome in ("token-force", "deployment")
    # every scenario event leaves at least one entry
    assert {e.id for e in example.events} <= set(rep.events.event_id)
    # same tables from the model run directly
    pd.testing.assert_frame_equal(
        rep.model.drop(columns="date"), simulate(example, 42).model.drop(columns="date")
    )


def test_until_extends_or_truncates(example: Any) -> None:
    longer = simulate(example, 1, until="2023-06")
    assert longer.model.date.iloc[-1] == pd.Timestamp("2023-06-01")
    assert len(longer.model) == 42
    shorter = simulate(example, 1, until="2020-06")
    assert len(shorter.model) == 6
    with pytest.raises(ValueError, match="before the calendar start"):
        AllianceModel(example, rng=1, until="2019-01")


def test_step_after_the_end_does_nothing(example: Any) -> None:
    model = AllianceModel(example, rng=0, until="2020-02")
    model.step(), model.step()
    assert not model.running
    model.step()
    assert len(model.datacollector.model_vars["cohesion"]) == 2


def test_determinism_same_seed_same_tables_other_seed_differs(example: Any) -> None:
    a, b, c = simulate(example, 7), simulate(example, 7), simulate(example, 8)
    for x, y in ((a.model, b.model), (a.members, b.members), (a.events, b.events)):
        pd.testing.assert_frame_equal(x, y)
    assert not a.members.alignment.equals(c.members.alignment)
    seq = np.random.SeedSequence(3)
    pd.testing.assert_frame_equal(simulate(example, seq).model, simulate(example, seq).model)


QUIET_MEMBERS = {
    "LDR": {"name": "L", "joined": "2000-01", "leading": True, "capability": 0.8},
    "AAA": {
        "name": "A",
        "joined": "2000-01",
        "threats": {"AGG": 0.5},
        "initial": {"alignment": 0.5, "credibility": 0.4},
    },
    "BBB": {"name": "B", "joined": "2000-01", "initial": {"alignment": 0.9}},
}
QUIET_ACTORS = {
    "AGG": {"name": "G", "kind": "aggressor", "ties": {"LDR": 0.3}},
    "OUT": {"name": "O", "kind": "pole", "pull": {"AAA": 0.4}},  # pull_growth 0
}
DRIFT_TERMS = ("alignment_rate", "peer_influence", "leader_pressure")


def test_no_events_and_no_noise_nothing_moves() -> None:
    """With no events, no noise and the three drift terms of §7.5 off, nothing moves.

    The scenario is not trivial (a threat, a pole's pull, unequal alignments and credibility),
    so value, outside option and credibility differ between members; the memory terms
    (credibility decay toward the prior, grievance fading, capacity recovery) are on but have
    nothing to act on (docs/MODEL.md §3 "Without events").
    """
    rep = simulate(scenario(QUIET_MEMBERS, [], STILL, QUIET_ACTORS, end="2022-12"), 0)
    for col in ("alignment", "credibility", "value", "outside_option", "grievance"):
        assert rep.members.groupby("member")[col].nunique().max() == 1, col
    assert rep.members.groupby("date").alignment.nunique().min() == 3  # members do differ
    assert (rep.members.engagement == "active").all()
    assert rep.model[list(MODEL_REPORTERS)].nunique().max() == 1
    assert rep.events.empty


@pytest.mark.parametrize("term", DRIFT_TERMS)
def test_without_events_each_drift_term_alone_moves_alignment(term: str) -> None:
    """The terms that move alignment without events (docs/MODEL.md §3): each one suffices."""
    params = {**STILL, term: 0.1}
    rep = simulate(scenario(QUIET_MEMBERS, [], params, QUIET_ACTORS, end="2020-12"), 0)
    moved = rep.members.groupby("member").alignment.nunique()
    assert moved.max() > 1, term


def test_no_events_no_noise_only_alignment_relaxes() -> None:
    """With the dynamics on but no drivers, beliefs, grievance and capacity stay put."""
    params = {"alignment_noise": 0.0, "response_noise": 0.0, "hazard_base": 0.0}
    rep = simulate(scenario(events=[], parameters=params, end="2022-12"), 0)
    for col in ("credibility", "outside_option", "grievance"):
        assert rep.members.groupby("member")[col].nunique().max() == 1, col
    assert rep.model.capacity.nunique() == 1


def test_identical_members_have_identical_trajectories() -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True, "capability": 0.8},
        "AAA": {"name": "A", "joined": "2000-01", "threats": {"AGG": 0.5}},
        "BBB": {"name": "B", "joined": "2000-01", "threats": {"AGG": 0.5}},
    }
    actors = {"AGG": {"name": "G", "kind": "aggressor", "ties": {"LDR": 0.3}}}
    events = [
        {
            "type": "invocation",
            "date": "2020-03",
            "member": "LDR",
            "crisis": "interstate",
            "severity": 0.5,
            "aggressor": "AGG",
        },
        {
            "type": "war",
            "date": "2020-05",
            "initiator": "LDR",
            "target": "AGG",
            "drain": 0.3,
            "entrapment": 0.4,
        },
        {"type": "summit", "date": "2020-08", "host": "LDR"},
    ]
    params = {"alignment_noise": 0.0, "response_noise": 0.0, "hazard_base": 0.0}
    rep = simulate(scenario(members, events, params, actors, end="2021-12"), 0)
    a = rep.members[rep.members.member == "AAA"].drop(columns="member").reset_index(drop=True)
    b = rep.members[rep.members.member == "BBB"].drop(columns="member").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert a.alignment.nunique() > 1  # they did move


def test_answered_call_raises_caller_credibility_unanswered_lowers_caller_most() -> None:
    def credibility(imposed: str) -> dict[str, float]:
        call = {
            "type": "invocation",
            "date": "2020-02",
            "member": "AAA",
            "crisis": "domestic",
            "severity": 0.8,
            "imposed_response": imposed,
        }
        rep = simulate(scenario(events=[call], parameters=STILL, end="2020-02"), 0)
        return dict(zip(rep.members.member, rep.members.credibility, strict=True))

    before = 0.6
    answered, unanswered = credibility("deployment"), credibility("none")
    assert answered["AAA"] > answered["BBB"] > before
    assert unanswered["AAA"] < unanswered["BBB"] < before
    assert before - unanswered["AAA"] > before - unanswered["BBB"]


@pytest.mark.parametrize("seed", [5, 6])
def test_member_order_does_not_matter(example: Any, seed: int) -> None:
    """Synchronous update and member-keyed draws: permuting the members changes nothing.

    Noise is on (alignment, willingness and approval noise, engagement hazards, model-decided
    attendance); every member's trajectory is the same whatever its position in the file, up
    to floating-point summation order.
    """
    data = example.model_dump(mode="json")
    data["parameters"].update(alignment_noise=0.05, response_noise=0.1, hazard_base=0.3)
    data["events"] = [
        {k: v for k, v in ev.items() if k not in ("absentees", "skipped_by")}
        for ev in data["events"]
    ]
    forward = type(example).model_validate(data)
    data["members"] = dict(reversed(list(data["members"].items())))
    backward = type(example).model_validate(data)
    assert list(forward.members) != list(backward.members)
    a, b = simulate(forward, seed).members, simulate(backward, seed).members
    a = a.sort_values(["date", "member"]).reset_index(drop=True)
    b = b.sort_values(["date", "member"]).reset_index(drop=True)
    pd.testing.assert_series_equal(a.engagement, b.engagement)
    for col in ("alignment", "credibility", "value", "outside_option", "grievance"):
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-9, err_msg=col)
    assert a.groupby("member").alignment.nunique().min() > 1  # noise did move them


def _common_numbers_scenario(with_summit: bool) -> Any:
    events: list[dict[str, Any]] = [
        {
            "id": "late-call",
            "type": "invocation",
            "date": "2020-09",
            "member": "AAA",
            "crisis": "interstate",
            "severity": 0.6,
            "aggressor": "AGG",
        },
        {"id": "late-renewal", "type": "treaty_renewal", "date": "2020-11"},
    ]
    if with_summit:  # every member active: all attend, so the summit changes no state
        events.insert(0, {"id": "quiet-summit", "type": "summit", "date": "2020-03", "host": "LDR"})
    params = {"alignment_noise": 0.05, "response_noise": 0.2, "hazard_base": 0.2}
    return scenario(QUIET_MEMBERS, events, params, QUIET_ACTORS, end="2021-06")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_removing_an_event_that_draws_leaves_every_other_draw_unchanged(seed: int) -> None:
    """Common random numbers (docs/MODEL.md §3): draws are keyed, not sequential.

    The summit draws approval noise and attendance uniforms but has no consequence here; with
    or without it, the monthly alignment noise, engagement draws and the later invocation's and
    renewal's draws are the same, so the two runs are identical apart from the summit's entry.
    """
    with_summit = simulate(_common_numbers_scenario(True), seed)
    without = simulate(_common_numbers_scenario(False), seed)
    assert "quiet-summit" in set(with_summit.events.event_id)
    pd.testing.assert_frame_equal(with_summit.members, without.members)
    pd.testing.assert_frame_equal(with_summit.model, without.model)
    pd.testing.assert_frame_equal(
        with_summit.events[with_summit.events.event_id != "quiet-summit"].reset_index(drop=True),
        without.events,
    )
    assert with_summit.members.groupby("member").alignment.nunique().min() > 1


def test_keyed_draws_depend_on_event_id_and_seed() -> None:
    a, b = (
        AllianceModel(_common_numbers_scenario(False), rng=3),
        AllianceModel(_common_numbers_scenario(False), rng=3),
    )
    assert a.key == b.key
    noise, unif = draws.EVENT_NOISE, draws.EVENT_UNIFORM
    np.testing.assert_array_equal(a.event_draws("x", noise), b.event_draws("x", noise))
    assert not np.array_equal(a.event_draws("x", noise), a.event_draws("y", noise))
    assert not np.array_equal(a.event_draws("x", noise), a.event_draws("x", unif))
    c = AllianceModel(_common_numbers_scenario(False), rng=4)
    assert not np.array_equal(a.event_draws("x", noise), c.event_draws("x", noise))
    u = a.event_draws("x", unif)
    assert ((u >= 0) & (u < 1)).all()


def test_pull_growth_only_where_a_pull_is_listed() -> None:
    """A pole's pull_growth grows the pulls it lists, and those set later by events only."""
    actors = {"OUT": {"name": "O", "kind": "pole", "pull": {"AAA": 0.2}, "pull_growth": 0.12}}
    engage = {
        "id": "eng",
        "type": "outside_engagement",
        "date": "2020-07",
        "member": "BBB",
        "partner": "OUT",
        "strength": 0.2,
    }
    model = AllianceModel(scenario(actors=actors, events=[engage], parameters=STILL), rng=0)
    codes = model.state.codes
    for _ in range(6):
        model.step()
    pulls = dict(zip(codes, model.state.pulls[0], strict=True))
    assert pulls["AAA"] == pytest.approx(0.2 + 0.06)
    assert pulls["LDR"] == 0.0 and pulls["BBB"] == 0.0  # not listed: no growth
    model.run()
    pulls = dict(zip(codes, model.state.pulls[0], strict=True))
    assert pulls["AAA"] == pytest.approx(0.32)
    assert pulls["LDR"] == 0.0  # the leader is never pulled unless listed
    # BBB: 0.5·0.2 from the engagement in July (after July's growth), then Aug..Dec growth
    assert pulls["BBB"] == pytest.approx(0.1 + 0.05)
    shock = {
        "id": "s",
        "type": "parameter_shock",
        "date": "2020-07",
        "target": "actors.OUT.pull.LDR",
        "set": 0.1,
    }
    model = AllianceModel(scenario(actors=actors, events=[shock], parameters=STILL), rng=0)
    model.run()
    assert model.state.pulls[0, codes.index("LDR")] == pytest.approx(0.1 + 0.05)


def test_mesa_batch_run() -> None:
    results = mesa.batch_run(
        AllianceModel,
        parameters={"scenario": str(EXAMPLE)},
        rng=[1, 2],
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    frame = pd.DataFrame(results)
    assert set(frame.iteration) == {0, 1}
    assert frame.Step.max() == 36
    assert {"cohesion", "alignment", "member", "engagement"} <= set(frame.columns)
    assert len(frame) == 2 * 36 * 3
    assert frame.cohesion.between(0, 1).all()


# ------------------------------------------------------------------ mechanism (not hard-coded)


def _answers(scn: Any, event_id: str, n: int = 100) -> pd.DataFrame:
    rows = []
    for seed in range(n):
        model = AllianceModel(scn, rng=seed)
        while model.running:
            model.step()
        (ev,) = [e for e in model.event_log if e["event_id"] == event_id]
        rows.append((ev["outcome"], ev["response"], ev["delay_days"]))
    return pd.DataFrame(rows, columns=["outcome", "response", "delay"])


def test_domestic_call_with_full_capacity_is_a_quick_deployment() -> None:
    base = mini_csto()
    scn = scenario(dict(base.members), [KAZ_CALL], {}, dict(base.actors), "2022-01", "2022-01")
    ans = _answers(scn, "kaz-call")
    quick = (ans.outcome == "deployment") & (ans.delay <= 2)
    assert quick.mean() >= 0.9


def test_interstate_call_against_leaders_partner_during_its_war_gets_little() -> None:
    base = mini_csto()
    with_war = scenario(
        dict(base.members), [UKR_WAR, ARM_CALL], {}, dict(base.actors), "2022-02", "2022-09"
    )
    without = scenario(dict(base.members), [ARM_CALL], {}, dict(base.actors), "2022-02", "2022-09")
    a, b = _answers(with_war, "arm-call"), _answers(without, "arm-call")
    low = a.outcome.isin(["none", "statements", "fact-finding"])
    assert low.mean() >= 0.9
    assert b.response.median() > a.response.median()


# ---------------------------------------------------------------------------- invariants

EVENT_POOL = [
    {"type": "invocation", "member": "ALP", "crisis": "domestic", "severity": 1.0},
    {
        "type": "invocation",
        "member": "BRV",
        "crisis": "interstate",
        "severity": 1.0,
        "aggressor": "AGG",
    },
    {"type": "attack", "attacker": "AGG", "target": "BRV", "severity": 1.0},
    {"type": "war", "initiator": "LDR", "target": "FAR", "drain": 1.0, "entrapment": 1.0},
    {"type": "summit", "host": "LDR"},
    {"type": "drill", "host": "ALP"},
    {"type": "outside_engagement", "member": "ALP", "partner": "OUT", "strength": 1.0},
    {"type": "diplomatic_signal", "member": "BRV", "signal": "public_criticism", "strength": 1},
    {"type": "treaty_renewal"},
    {"type": "join", "member": "BRV"},
    {"type": "parameter_shock", "target": "members.ALP.dependence", "shift": -3, "ramp_months": 3},
    {"type": "parameter_shock", "target": "parameters.alignment_noise", "set": 0.5},
]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.tuples(st.integers(0, len(EVENT_POOL) - 1), st.integers(1, 24)), max_size=12),
    noise=st.floats(0, 0.5),
    hazard=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_bounded_variables_stay_in_range_and_exited_members_take_no_part(
    example: Any, picks: list[tuple[int, int]], noise: float, hazard: float, seed: int
) -> None:
    events = []
    for k, (i, month) in enumerate(picks):
        ev = {
            **EVENT_POOL[i],
            "id": f"x{k}",
            "label": "x",
            "source": "example",
            "date": f"{2020 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}",
        }
        events.append(ev)
    data = example.model_dump(mode="json")
    data["parameters"].update(alignment_noise=noise, response_noise=noise, hazard_base=hazard)
    data.update(events=events, observations=[])
    scn = type(example).model_validate(data)
    rep = simulate(scn, seed)
    m, mem = rep.model, rep.members
    assert not m[list(MODEL_REPORTERS)].isna().any().any()
    for col in UNIT_COLUMNS:
        assert m[col].between(0, 1).all(), col
    assert (m.blocs >= 0).all() and (m.blocs <= 3).all()
    assert m.exits.is_monotonic_increasing
    assert (
        not mem[["alignment", "credibility", "value", "outside_option", "grievance"]]
        .isna()
        .any()
        .any()
    )
    for col in ("alignment", "credibility", "outside_option"):
        assert mem[col].between(0, 1).all(), col
    assert mem.grievance.between(0, 10).all()
    assert set(mem.engagement) <= {"active", "disengaged", "frozen", "exited"}
    # exited members take no part: alignment frozen while exited, never named as attending
    for code, rows in mem.groupby("member"):
        exited = rows.engagement.to_numpy() == "exited"
        a = rows.alignment.to_numpy()
        for t in range(1, len(rows)):
            if exited[t] and exited[t - 1]:
                assert a[t] == a[t - 1]
        # rows hold end-of-month states: a member that exits in month t still took part in
        # that month's earlier summit, so only months it *started* as exited count
        exited_before = np.concatenate([[False], exited[:-1]])
        months_out = set(rows.date[exited & exited_before])
        for _, ev in rep.events.iterrows():
            if ev.date.to_period("M").to_timestamp() in months_out and ev.outcome in (
                "passed",
                "blocked",
                "held",
            ):
                assert code not in ev.detail.split(";")[0]


def test_reporters_are_plain_attributes(example: Any) -> None:
    model = AllianceModel(example, rng=0)
    model.step()
    agent = model.member_agents[0]
    assert repr(agent).startswith("MemberState(LDR")
    assert agent.leading and not model.member_agents[1].leading
    for name in MODEL_REPORTERS:
        assert isinstance(getattr(model, name), float | int)
    for name in AGENT_REPORTERS:
        assert isinstance(getattr(agent, name), str | float)


def test_mesa_batch_run_with_deprecated_iterations_still_works() -> None:
    """Mesa 3.5 deprecates ``iterations=`` (use ``rng=[...]``); the model runs unchanged."""
    with pytest.warns(DeprecationWarning, match="iterations"):
        results = mesa.batch_run(
            AllianceModel,
            parameters={"scenario": str(EXAMPLE)},
            iterations=1,
            number_processes=1,
            data_collection_period=1,
            display_progress=False,
        )
    assert len(results) == 36 * 3


def test_member_table_matches_mesas_public_agent_dataframe(example: Any) -> None:
    """tables() reads Mesa's agent records directly for speed; it must agree with the public
    get_agent_vars_dataframe() (guards against a change of Mesa's private layout)."""
    from cstosim.model.alliance import AGENT_REPORTERS, tables

    model = AllianceModel(example, rng=5)
    model.run()
    ours = tables(model).members
    public = model.datacollector.get_agent_vars_dataframe().reset_index()
    assert len(ours) == len(public)
    for col in AGENT_REPORTERS:
        assert list(ours[col]) == list(public[col]), col
