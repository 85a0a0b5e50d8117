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

from cstosim.loader import load_scenario
from cstosim.model import AGENT_REPORTERS, MODEL_REPORTERS, AllianceModel, simulate

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


def test_no_events_and_no_noise_nothing_moves() -> None:
    rep = simulate(scenario(events=[], parameters=STILL, end="2022-12"), 0)
    for col in ("alignment", "credibility", "value", "outside_option", "grievance"):
        assert rep.members.groupby("member")[col].nunique().max() == 1, col
    assert (rep.members.engagement == "active").all()
    assert rep.model[list(MODEL_REPORTERS)].nunique().max() == 1
    assert rep.events.empty


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


def test_agent_order_does_not_matter(example: Any) -> None:
    """Synchronous update: shuffling Mesa's agent set changes nothing."""
    a = AllianceModel(example, rng=5)
    b = AllianceModel(example, rng=5)
    b.agents.shuffle(inplace=True)
    for _ in range(36):
        a.step(), b.step()
    np.testing.assert_array_equal(a.state.alignment, b.state.alignment)
    np.testing.assert_array_equal(a.state.level, b.state.level)


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
