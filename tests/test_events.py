"""Every event handler, exercised on small scenarios (docs/MODEL.md §7.6, §7.10)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from model_helpers import STILL, scenario

from cstosim.language.parameters import Parameters
from cstosim.language.scenario import EVENT_TYPES, Outcome
from cstosim.model import rules
from cstosim.model.alliance import AllianceModel, simulate, tables
from cstosim.model.events import HANDLERS

AGG = {"AGG": {"name": "Aggressor", "kind": "aggressor", "ties": {"LDR": 0.9}}}
POLE = {"OUT": {"name": "Outside", "kind": "pole", "pull": {"AAA": 0.2}}}


def run(
    events: list[dict[str, Any]], params: dict[str, Any] | None = None, seed: int = 0, **kw: Any
) -> AllianceModel:
    model = AllianceModel(scenario(events=events, parameters=params or STILL, **kw), rng=seed)
    while model.running:
        model.step()
    return model


def entries(model: AllianceModel, event_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in model.event_log
        if e["event_id"] == event_id and e["type"] not in ("attendance", "signature")
    ]


def test_every_event_type_has_a_handler() -> None:
    assert set(HANDLERS) == set(EVENT_TYPES)


def test_invocation_domestic_is_answered_and_raises_credibility() -> None:
    call = {
        "id": "call",
        "date": "2020-03-02",
        "type": "invocation",
        "member": "AAA",
        "crisis": "domestic",
        "severity": 0.8,
    }
    model = run([call])
    (entry,) = entries(model, "call")
    assert entry["outcome"] == "deployment"
    assert entry["delay_days"] <= 2
    assert entry["detail"].startswith("consensus")
    assert entry["consensus"] == "passed"
    assert model.member_agents[1].credibility_domestic > 0.6


def test_invocation_against_leaders_partner_is_blocked() -> None:
    call = {
        "id": "call",
        "date": "2020-03",
        "type": "invocation",
        "member": "AAA",
        "crisis": "interstate",
        "severity": 0.8,
        "aggressor": "AGG",
    }
    model = run([call], actors=AGG)
    (entry,) = entries(model, "call")
    assert entry["outcome"] in ("none", "statements")
    assert "blocked by" in entry["detail"] and "leader acted alone" in entry["detail"]
    assert entry["consensus"] == "blocked"
    caller, bystander = model.member_agents[1], model.member_agents[2]
    assert caller.credibility_interstate < bystander.credibility_interstate < 0.6
    assert caller.grievance > 0


def test_invocation_against_a_fellow_member_and_unknown_aggressor() -> None:
    call = {
        "id": "call",
        "date": "2020-03",
        "type": "invocation",
        "member": "AAA",
        "crisis": "interstate",
        "severity": 0.5,
        "aggressor": "BBB",
    }
    (entry,) = entries(run([call]), "call")
    assert "blocked by" in entry["detail"] and "BBB" in entry["detail"]


def test_imposed_response_overrides_the_model() -> None:
    call = {
        "id": "call",
        "date": "2020-03",
        "type": "invocation",
        "member": "AAA",
        "crisis": "interstate",
        "severity": 0.8,
        "aggressor": "AGG",
        "imposed_response": "deployment",
    }
    model = run([call], actors=AGG)
    (entry,) = entries(model, "call")
    assert entry["outcome"] == "deployment"
    assert entry["response"] == pytest.approx(0.85)
    assert "imposed" in entry["detail"]
    assert model.member_agents[1].credibility_interstate > 0.6


def test_attack_counts_as_an_unanswered_call_for_the_target() -> None:
    """With no unprompted answer, an attack is an unanswered call for its target (§7.3)."""
    attack = {
        "id": "hit",
        "date": "2020-02",
        "type": "attack",
        "attacker": "AGG",
        "target": "BBB",
        "severity": 1.0,
    }
    model = run([attack], {**STILL, "unprompted_share": 0.0}, actors=AGG)
    (entry,) = entries(model, "hit")
    assert entry["outcome"] == "none"
    assert "no call for help" in entry["detail"]
    target, other = model.member_agents[2], model.member_agents[1]
    assert target.credibility_interstate < other.credibility_interstate == pytest.approx(0.6)
    assert target.grievance > 0


def test_the_alliance_may_answer_an_attack_unprompted() -> None:
    """An attack by an outsider with no ties: a willing alliance acts on its own, at
    unprompted_share of its answer, capped by what the crisis calls for; the target learns it
    was (partly) answered."""
    attack = {"id": "hit", "date": "2020-02", "type": "attack", "attacker": "FAR", "target": "BBB"}
    far = {"FAR": {"name": "Far", "kind": "state"}}
    quiet = run([{**attack, "severity": 0.8}], {**STILL, "unprompted_share": 0.0}, actors=far)
    acted = run([{**attack, "severity": 0.8}], {**STILL, "unprompted_share": 1.0}, actors=far)
    (entry,) = entries(acted, "hit")
    assert entry["outcome"] != "none" and entry["consensus"] == "passed"
    assert entry["response"] <= 0.8 * Parameters().need_per_severity + 1e-12
    assert (
        acted.member_agents[2].credibility_interstate
        > quiet.member_agents[2].credibility_interstate
    )
    assert acted.member_agents[2].grievance < quiet.member_agents[2].grievance


def test_a_fight_between_members_counts_less_than_an_outside_attack() -> None:
    """learning_member_conflict scales what the target learns from an attack by a member."""
    hit = {"id": "hit", "date": "2020-02", "type": "attack", "severity": 1.0, "target": "BBB"}
    params = {**STILL, "unprompted_share": 0.0}
    outsider = run([{**hit, "attacker": "AGG"}], params, actors=AGG)
    fellow = run([{**hit, "attacker": "AAA"}], params, actors=AGG)
    (entry,) = entries(fellow, "hit")
    assert "by a fellow member" in entry["detail"]
    loss = 0.6 - outsider.member_agents[2].credibility_interstate
    fellow_loss = 0.6 - fellow.member_agents[2].credibility_interstate
    assert 0 < fellow_loss < loss
    full = run(
        [{**hit, "attacker": "AAA"}], {**params, "learning_member_conflict": 1.0}, actors=AGG
    )
    assert 0.6 - full.member_agents[2].credibility_interstate == pytest.approx(loss)


def test_summits_and_drills_log_attendance_and_signature_per_member() -> None:
    summit = {"id": "s", "date": "2020-05", "type": "summit", "host": "LDR", "absentees": ["BBB"]}
    drill = {"id": "d", "date": "2020-06", "type": "drill", "host": "AAA", "skipped_by": ["AAA"]}
    model = run([summit, drill])
    rows = [e for e in model.event_log if e["type"] in ("attendance", "signature")]
    summit_rows = {(e["type"], e["member"]): e["outcome"] for e in rows if e["event_id"] == "s"}
    assert summit_rows[("attendance", "BBB")] == "absent"
    assert summit_rows[("attendance", "LDR")] == "attended"
    assert summit_rows[("signature", "AAA")] == "signed"
    drill_rows = {e["member"]: e["outcome"] for e in rows if e["event_id"] == "d"}
    assert drill_rows == {"LDR": "attended", "AAA": "absent", "BBB": "attended"}
    assert not any(e["type"] == "signature" and e["event_id"] == "d" for e in rows)


def test_a_member_refusing_to_sign_is_logged_and_blocks() -> None:
    summit = {"id": "s", "date": "2020-05", "type": "summit", "host": "LDR"}
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True, "capability": 0.8},
        "AAA": {"name": "A", "joined": "2000-01", "initial": {"alignment": 0.1}},
    }
    model = run([summit], members=members)
    (entry,) = entries(model, "s")
    assert entry["outcome"] == "blocked"
    signed = {e["member"]: e["outcome"] for e in model.event_log if e["type"] == "signature"}
    assert signed == {"LDR": "signed", "AAA": "refused"}


def test_war_drains_capacity_and_entraps_the_others() -> None:
    war = {
        "id": "war",
        "date": "2020-03",
        "type": "war",
        "initiator": "LDR",
        "target": "FAR",
        "drain": 0.5,
        "entrapment": 0.6,
        "ends": "2020-06",
    }
    far = {"FAR": {"name": "Far", "kind": "state"}}
    base = run([], actors=far)
    model = AllianceModel(scenario(events=[war], parameters=STILL, actors=far), rng=0)
    model.step(), model.step()
    assert model.capacity == 1.0
    model.step()
    assert model.capacity == pytest.approx(0.5 + 0.02 * 0.0, abs=1e-9)
    assert model.member_agents[1].value < base.member_agents[1].value
    assert model.member_agents[0].value == pytest.approx(base.member_agents[0].value)
    while model.running:
        model.step()
    assert 0.5 < model.capacity < 1.0  # recovering after the war ended
    assert model.member_agents[1].value == pytest.approx(base.member_agents[1].value)


def test_summit_given_absentee_empty_chair_and_post_hoc_approval() -> None:
    summit = {"id": "s", "date": "2020-05", "type": "summit", "host": "LDR", "absentees": ["BBB"]}
    model = run([summit])
    (entry,) = entries(model, "s")
    assert entry["outcome"] == "passed"
    assert "BBB (approves post hoc)" in entry["detail"]
    base = run([])
    assert model.cohesion < base.cohesion
    assert model.consensus_capacity < base.consensus_capacity


def test_one_absent_member_that_withholds_approval_blocks_consensus() -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True},
        "AAA": {"name": "A", "joined": "2000-01"},
        "BBB": {"name": "B", "joined": "2000-01", "initial": {"alignment": 0.1}},
    }
    summit = {"id": "s", "date": "2020-05", "type": "summit", "host": "LDR", "absentees": ["BBB"]}
    model = AllianceModel(scenario(members, [summit], STILL), rng=0)
    while model.running:
        model.step()
    (entry,) = entries(model, "s")
    assert entry["outcome"] == "blocked"
    assert "BBB (withholds approval post hoc)" in entry["detail"]


def test_one_attending_blocker_blocks_and_model_decides_attendance() -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True},
        "AAA": {"name": "A", "joined": "2000-01", "initial": {"alignment": 0.2}},
        "BBB": {"name": "B", "joined": "2000-01", "initial": {"engagement": "disengaged"}},
    }
    summit = {"id": "s", "date": "2020-05", "type": "summit", "host": "LDR"}
    chair = {"id": "c", "date": "2020-04", "type": "chair_rotation", "member": "BBB"}
    model = AllianceModel(scenario(members, [chair, summit], STILL), rng=0)
    while model.running:
        model.step()
    (entry,) = entries(model, "s")
    assert entry["outcome"] == "blocked"
    assert "blocked at the summit by AAA" in entry["detail"]
    assert "BBB" in entry["detail"].split(";")[0]  # the chair attends


def test_drills_held_skipped_and_cancelled() -> None:
    held = {"id": "d1", "date": "2020-02", "type": "drill", "host": "AAA", "skipped_by": ["BBB"]}
    cancelled = {
        "id": "d2",
        "date": "2020-02",
        "type": "drill",
        "host": "BBB",
        "status": "cancelled",
    }
    auto = {"id": "d3", "date": "2020-03", "type": "drill", "host": "LDR"}
    model = run([held, cancelled, auto])
    assert entries(model, "d1")[0]["outcome"] == "held"
    assert "skipped by: BBB" in entries(model, "d1")[0]["detail"]
    assert entries(model, "d2")[0]["outcome"] == "cancelled"
    assert entries(model, "d3")[0]["outcome"] == "held"
    a = {m.member: m.alignment for m in model.member_agents}
    assert a["AAA"] > 0.7 > a["BBB"]


def test_outside_engagement_raises_the_pull_and_saturates() -> None:
    eng = {
        "id": "o",
        "date": "2020-02",
        "type": "outside_engagement",
        "member": "AAA",
        "partner": "OUT",
        "strength": 0.4,
    }
    model = run([eng], actors=POLE)
    assert model.state.pulls[0, 1] == pytest.approx(0.2 + 0.5 * 0.4)
    assert model.member_agents[1].outside_option == pytest.approx(0.4)
    big = run(
        [{**eng, "strength": 1.0}], params={**STILL, "engagement_pull_gain": 5.0}, actors=POLE
    )
    assert big.state.pulls[0, 1] == 1.0


def test_diplomatic_signal_and_chair() -> None:
    signal = {
        "id": "sig",
        "date": "2020-02",
        "type": "diplomatic_signal",
        "member": "AAA",
        "signal": "recall_representative",
        "strength": 1.0,
    }
    chair = {"id": "ch", "date": "2020-02", "type": "chair_rotation", "member": "BBB"}
    model = run([signal, chair])
    assert model.member_agents[1].alignment == pytest.approx(0.6)
    assert model.member_agents[2].alignment == pytest.approx(0.7 + 0.02 * 0.3)
    assert model.chair == "BBB"


def test_treaty_renewal_low_value_member_leaves() -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True, "capability": 0.9},
        "AAA": {"name": "A", "joined": "2000-01", "dependence": 0.9},
        "BBB": {
            "name": "B",
            "joined": "2000-01",
            "threats": {"LDR": 0.9},
            "exit_cost": 0.0,
            "dependence": 0.0,
        },
    }
    renewal = {"id": "r", "date": "2020-06", "type": "treaty_renewal"}
    model = AllianceModel(scenario(members, [renewal], STILL), rng=0)
    while model.running:
        model.step()
    outcomes = {e["member"]: e["outcome"] for e in entries(model, "r")}
    assert outcomes == {"LDR": "renewed", "AAA": "renewed", "BBB": "exited"}
    assert model.member_agents[2].engagement == "exited"
    assert model.exits == 1


def test_join_returns_joins_early_reengages_and_reaffirms() -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True},
        "XIT": {"name": "X", "joined": "2000-01", "initial": {"engagement": "exited"}},
        "NEW": {"name": "N", "joined": "2020-10"},
        "FRZ": {"name": "F", "joined": "2000-01", "initial": {"engagement": "frozen"}},
    }
    events = [
        {"id": "j1", "date": "2020-03", "type": "join", "member": "XIT", "alignment": 0.9},
        {"id": "j2", "date": "2020-03", "type": "join", "member": "NEW"},
        {"id": "j3", "date": "2020-03", "type": "join", "member": "FRZ"},
        {"id": "j4", "date": "2020-03", "type": "join", "member": "LDR"},
    ]
    model = AllianceModel(scenario(members, events, STILL), rng=0)
    model.step()
    assert [m.engagement for m in model.member_agents] == ["active", "exited", "absent", "frozen"]
    assert model.cohesion == pytest.approx((0.7 + 0.0) / 2)  # XIT not in the roster yet
    while model.running:
        model.step()
    out = {e["member"]: e["outcome"] for e in model.event_log if e["type"] == "join"}
    assert out == {"XIT": "returned", "NEW": "joined", "FRZ": "reengaged", "LDR": "reaffirmed"}
    assert [m.engagement for m in model.member_agents] == ["active"] * 4
    assert model.member_agents[1].alignment == pytest.approx(0.9)


def test_member_joins_on_its_date() -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True},
        "NEW": {"name": "N", "joined": "2020-04-15"},
    }
    rep = simulate(scenario(members, [], STILL), 0)
    new = rep.members[rep.members.member == "NEW"]
    assert list(new.engagement[:3]) == ["absent"] * 3
    assert new.engagement.iloc[3] == "active"
    assert (rep.events.outcome == "joined").sum() == 1


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({"type": "invocation", "member": "XIT", "crisis": "domestic", "severity": 0.5}, "exited"),
        (
            {"type": "invocation", "member": "NEW", "crisis": "domestic", "severity": 0.5},
            "not joined",
        ),
        ({"type": "attack", "attacker": "LDR", "target": "XIT", "severity": 0.5}, "exited"),
        ({"type": "summit", "host": "XIT"}, "exited"),
        ({"type": "drill", "host": "NEW"}, "not joined"),
        (
            {"type": "outside_engagement", "member": "XIT", "partner": "OUT", "strength": 0.5},
            "exited",
        ),
        ({"type": "diplomatic_signal", "member": "XIT", "signal": "public_criticism"}, "exited"),
        ({"type": "chair_rotation", "member": "NEW"}, "not joined"),
    ],
)
def test_events_naming_absent_or_exited_members_are_skipped(
    event: dict[str, Any], why: str
) -> None:
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True},
        "XIT": {"name": "X", "joined": "2000-01", "initial": {"engagement": "exited"}},
        "NEW": {"name": "N", "joined": "2020-10"},
    }
    ev = {"id": "e", "date": "2020-02", **event}
    pole = {"OUT": {"name": "Outside", "kind": "pole", "pull": {"XIT": 0.2}}}
    model = AllianceModel(scenario(members, [ev], STILL, actors=pole), rng=0)
    while model.running:
        model.step()
    (entry,) = entries(model, "e")
    assert entry["outcome"] == "skipped"
    assert why in entry["detail"]


def test_parameter_shock_set_shift_ramp_and_clip() -> None:
    events = [
        {
            "id": "p1",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "parameters.veto_threshold",
            "set": 0.5,
        },
        {
            "id": "p2",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "members.AAA.dependence",
            "shift": 0.9,
        },  # 0.5 + 0.9 → clipped to 1
        {
            "id": "p3",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "actors.OUT.pull.AAA",
            "set": 0.6,
            "ramp_months": 4,
        },
        {
            "id": "p4",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "members.BBB.threats.OUT",
            "set": 0.3,
        },
        {
            "id": "p5",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "actors.OUT.pull_growth",
            "shift": -5,
        },
        {
            "id": "p6",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "actors.OUT.ties.LDR",
            "set": 0.4,
        },
        {
            "id": "p7",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "members.LDR.capacity",
            "set": 0.5,
        },
        {
            "id": "p8",
            "date": "2020-02",
            "type": "parameter_shock",
            "target": "parameters.hazard_slope",
            "shift": -500,
            "ramp_months": 2,
        },
    ]
    model = AllianceModel(scenario(events=events, parameters=STILL, actors=POLE), rng=0)
    model.step(), model.step()
    s = model.state
    assert model.params.veto_threshold == 0.5
    assert s.dependence[1] == 1.0
    assert s.pulls[0, 1] == pytest.approx(0.2 + 0.1)  # one of four steps of +0.1
    assert s.threats[2, s.sources.index("OUT")] == 0.3
    assert s.pull_growth[0] == -1.0
    assert s.ties[s.sources.index("OUT"), 0] == 0.4
    assert model.capacity == pytest.approx(0.5)
    for _ in range(4):
        model.step()
    # ramped to 0.6 (4 × 0.1), while the growth of −1/yr took away 4/12 from March to June
    assert s.pulls[0, 1] == pytest.approx(0.6 - 4 / 12)
    clipped = [e for e in model.event_log if e["outcome"] == "clipped"]
    assert {e["event_id"] for e in clipped} == {"p2", "p5", "p8"}
    assert len([e for e in clipped if e["event_id"] == "p8"]) == 1  # logged once per shock
    assert model.params.hazard_slope == 0.0
    assert not np.isnan(model.cohesion)


def test_ramped_set_reaches_its_target() -> None:
    shock = {
        "id": "p",
        "date": "2020-02",
        "type": "parameter_shock",
        "target": "actors.OUT.pull.AAA",
        "set": 0.6,
        "ramp_months": 3,
    }
    model = run([shock], actors=POLE)
    assert model.state.pulls[0, 1] == pytest.approx(0.6)
    assert not model.ramps


def test_war_started_by_an_actor_entraps_nobody() -> None:
    war = {
        "id": "w",
        "date": "2020-02",
        "type": "war",
        "initiator": "AGG",
        "target": "BBB",
        "drain": 0.5,
        "entrapment": 0.9,
    }
    model, base = run([war], actors=AGG), run([], actors=AGG)
    assert model.capacity == base.capacity
    np.testing.assert_allclose(model.state.value, base.state.value)


def test_lookups() -> None:
    model = AllianceModel(scenario(events=[], parameters=STILL, actors=AGG), rng=0)
    assert model.index("AAA") == 1 and model.index("AGG") is None
    assert model.source_index("AGG") == 3 and model.source_index("ZZZ") is None
    assert model.takes_part("AAA") and not model.takes_part("ZZZ")


def test_a_narrow_request_caps_the_answer_and_is_judged_against_itself() -> None:
    """Rule level: a call for consultations gets statements at most (docs/MODEL.md §7.2)."""
    p = Parameters()
    ceiling = rules.request_ceiling(Outcome.STATEMENTS.level, p)
    assert rules.outcome_index(ceiling, p) == Outcome.STATEMENTS.level
    assert rules.request_ceiling(Outcome.DEPLOYMENT.level, p) == 1.0
    assert rules.fulfilment(ceiling, ceiling) == 1.0
    assert rules.fulfilment(0.1, 0.2) == pytest.approx(0.5)
    np.testing.assert_allclose(rules.fulfilment(np.array([0.0, 0.5, 1.0]), 1.0), [0.0, 0.5, 1.0])


def test_requested_consultations_are_answered_with_statements_and_count_as_answered() -> None:
    """The same domestic call: troops asked ⇒ deployment; consultations asked ⇒ statements,
    and the caller's credibility still rises, since it got what it asked for."""
    found = {}
    for requested in ("deployment", "statements"):
        call = {
            "id": "call",
            "date": "2020-03",
            "type": "invocation",
            "member": "AAA",
            "crisis": "domestic",
            "severity": 0.8,
            "requested": requested,
        }
        model = run([call])
        (entry,) = entries(model, "call")
        found[requested] = (entry["outcome"], model.member_agents[1].credibility_domestic)
    assert found["deployment"][0] == "deployment"
    assert found["statements"][0] == "statements"
    assert found["statements"][1] > 0.6


def test_shock_on_an_outcome_threshold_is_clipped_to_its_neighbours() -> None:
    """Thresholds stay ordered at run time: a shock past a neighbour is clipped to it."""
    shock = {
        "id": "p",
        "date": "2020-02",
        "type": "parameter_shock",
        "target": "parameters.threshold_token_force",
        "set": 0.9,  # above threshold_deployment = 0.7
    }
    model = run([shock])
    assert model.params.threshold_token_force == pytest.approx(0.7)
    (applied, clipped) = entries(model, "p")
    assert applied["outcome"] == "applied"
    assert clipped["outcome"] == "clipped" and "[0.3, 0.7]" in clipped["detail"]


def test_cancelled_drill_signal_strength_is_a_parameter() -> None:
    drill = {"id": "d", "date": "2020-02", "type": "drill", "host": "AAA", "status": "cancelled"}
    params = {**STILL, "cancelled_drill_signal": 1.0, "signal_alignment_shift": 0.2}
    model = run([drill], params)
    assert model.state.alignment[1] == pytest.approx(0.7 - 0.2)


def test_grievance_cap_is_a_parameter() -> None:
    attack = {"type": "attack", "attacker": "LDR", "target": "AAA", "severity": 1.0}
    events = [{**attack, "id": f"a{k}", "date": f"2020-{k + 1:02d}"} for k in range(3)]
    params = {**STILL, "grievance_cap": 1.5, "grievance_decay": 0.0}
    model = run(events, params)
    assert model.state.grievance[1] == pytest.approx(1.5)


@pytest.mark.parametrize("field", ["set", "shift"])
def test_non_finite_shock_that_bypassed_validation_is_skipped_not_nan(field: str) -> None:
    """Loading rejects NaN/inf (tests/test_scenario.py); a shock built around validation is
    skipped at run time, so no NaN can reach the state or the tables."""
    shock = {"id": "p", "date": "2020-02", "type": "parameter_shock"}
    shock.update({"target": "members.AAA.dependence", field: 0.1})
    scn = scenario(events=[shock], parameters=STILL)
    setattr(scn.events[0], field, float("nan"))  # no validate_assignment on scenario objects
    model = AllianceModel(scn, rng=0)
    model.run()
    assert np.isfinite(model.state.dependence).all()
    assert model.state.dependence[1] == 0.5
    assert [e["outcome"] for e in entries(model, "p")] == ["applied", "skipped"]
    frame = tables(model).members
    assert not frame[["alignment", "value"]].isna().any().any()
