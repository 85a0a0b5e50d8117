"""The rules give the same answer on scalars and on arrays (issue 8: one set of equations).

For every element-wise rule, hypothesis draws scalar inputs, evaluates the rule on them one at a
time and on the arrays that stack them, and requires equal results; for the rules that combine
members (last axis), a (replicates, members) array must give row by row what each row gives on
its own. Known answers for the rules added with the vectorised engine come first.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cstosim.language.parameters import Parameters
from cstosim.model import metrics, rules

P = Parameters()
unit = st.floats(0.0, 1.0, allow_nan=False)
signed = st.floats(-3.0, 3.0, allow_nan=False)


# ------------------------------------------------------------------------------ known answers


def test_threat_split() -> None:
    threats = np.array([[0.0, 0.5, 0.8], [0.3, 0.0, 0.0]])  # members × sources
    inside = np.array([True, False, False])  # source 0 is a member taking part
    ties = np.array([0.0, 0.0, 0.5])  # source 2 is tied to the leader
    external, internal = rules.threat_split(threats, inside, ties)
    np.testing.assert_allclose(external, [0.5 + 0.4, 0.0])
    np.testing.assert_allclose(internal, [0.0, 0.3])


def test_war_entrapment_only_while_the_initiator_takes_part() -> None:
    mine = np.array([True, False, False])
    np.testing.assert_allclose(rules.war_entrapment(0.4, True, mine), [0.0, 0.4, 0.4])
    np.testing.assert_allclose(rules.war_entrapment(0.4, False, mine), [0.0, 0.0, 0.0])


def test_outside_option_and_pulls() -> None:
    assert rules.outside_option(np.array([[0.5], [0.5]]))[0] == pytest.approx(0.75)
    assert rules.outside_option(np.zeros((0, 3))) == 0.0
    grown = rules.pull_growth_step(np.array([0.2, 0.995]), np.array([True, True]), 0.12)
    np.testing.assert_allclose(grown, [0.21, 1.0])
    assert rules.pull_growth_step(0.2, False, 0.12) == 0.2
    assert rules.pull_gain(0.9, 1.0, P) == 1.0
    assert rules.pull_gain(0.2, 0.5, P) == pytest.approx(0.2 + P.engagement_pull_gain * 0.5)


def test_signals_attendance_and_approval() -> None:
    assert rules.signal_shift(0.5, 1.0, P) == pytest.approx(0.5 - P.signal_alignment_shift)
    assert rules.signal_shift(0.01, 1.0, P) == 0.0
    level = np.array([0, 1, 1, 2])
    np.testing.assert_array_equal(
        rules.attends(level, np.array([0.1, 0.6, 0.6, 1.0]), np.array([0.9, 0.5, 0.7, 0.0]), 0, P),
        [True, True, False, False],
    )
    # grievance turns into dissent: an active member with d = 0.5 stays away when u ≥ 0.5
    grieved = rules.attends(np.array([0, 0]), 0.9, np.array([0.4, 0.6]), 0.5, P)
    np.testing.assert_array_equal(grieved, [True, False])
    assert rules.dissent(5.0, P) == 1.0
    v = P.veto_threshold
    np.testing.assert_array_equal(
        rules.approves(np.array([v, v]), np.array([0.0, -0.01]), 0.0, P), [1, 0]
    )


def test_blockers_and_request_cap() -> None:
    will = np.array([0.9, 0.1, 0.1])
    part = np.array([True, True, False])
    np.testing.assert_array_equal(rules.blockers(will, part, P), [False, True, False])
    assert rules.cap_response(0.9, 0.2) == 0.2
    assert rules.cap_response(0.1, 0.2) == 0.1


def test_reported_credibility() -> None:
    assert rules.reported_credibility(0.2, 0.8, 1.0, 1.0) == pytest.approx(0.5)
    assert rules.reported_credibility(0.2, 0.8, 3.0, 1.0) == pytest.approx(0.65)
    assert rules.reported_credibility(0.2, 0.8, 0.0, 0.0) == pytest.approx(0.5)


def test_hazards_use_the_step_thresholds() -> None:
    """h↓ from level ℓ uses θ_{ℓ+1}, h↑ uses θ_ℓ (step_threshold, with the exit cost at k=3)."""
    net, cost = np.array([-0.5, -0.5, -0.5]), np.array([0.4, 0.4, 0.4])
    down, up = rules.engagement_hazards(net, np.array([0, 1, 2]), cost, P)
    for level in range(3):
        theta = rules.step_threshold(level + 1, 0.4, P)
        expect = P.hazard_base * rules.logistic(P.hazard_slope * (theta - (-0.5)))
        assert down[level] == pytest.approx(expect)
    theta = rules.step_threshold(2, 0.4, P)
    assert up[2] == pytest.approx(
        P.hazard_base * rules.logistic(P.hazard_slope * (-0.5 - theta - P.hysteresis))
    )
    assert up[0] == 0.0


# ------------------------------------------------------------- scalars and arrays agree


def _int(x, scale):
    """A level from a unit float, on scalars and arrays alike."""
    return (np.asarray(x) * scale).astype(int)


def _elementwise(rule, *columns):
    """The rule on each tuple of scalars, and on the stacked arrays."""
    one_by_one = [rule(*values) for values in zip(*columns, strict=True)]
    at_once = rule(*(np.array(c) for c in columns))
    return np.array(one_by_one, dtype=float), np.asarray(at_once, dtype=float)


ELEMENTWISE = {
    "logistic": (lambda x: rules.logistic(x), [signed]),
    "beta_mean": (lambda a, b: rules.beta_mean(a + 0.1, b + 0.1), [unit, unit]),
    "learn": (lambda a, b, r, w: rules.learn(a, b, r, w)[0], [unit, unit, unit, unit]),
    "forget": (lambda a, b, m: rules.forget(a, b, 0.5, 0.5, m)[1], [unit, unit, unit]),
    "grievance_add": (lambda g, s, r: rules.grievance_add(g, s, r, 1.0), [unit, unit, unit]),
    "security_value": (lambda e, i, c: rules.security_value(e, i, c, P), [unit, unit, unit]),
    "structural_value": (lambda d, k, a: rules.structural_value(d, k, a, P), [unit, unit, unit]),
    "net_value": (lambda v, o: rules.net_value(v, o, P), [signed, unit]),
    "target_alignment": (lambda n: rules.target_alignment(n, 4.0), [signed]),
    "nudge": (lambda a, g: rules.nudge(a, g), [unit, unit]),
    "signal_shift": (lambda a, s: rules.signal_shift(a, s, P), [unit, unit]),
    "pull_gain": (lambda p, s: rules.pull_gain(p, s, P), [unit, unit]),
    "pull_growth_step": (lambda p, g: rules.pull_growth_step(p, True, g), [unit, signed]),
    "attends": (
        lambda lv, a, u, g: rules.attends(_int(lv, 3), a, u, g, P),
        [unit, unit, unit, unit],
    ),
    "approves": (lambda a, e, g: rules.approves(a, e, g, P), [unit, signed, unit]),
    "dissent": (lambda g: rules.dissent(g * 3, P), [unit]),
    "cap_response": (lambda r, c: rules.cap_response(r, c), [unit, unit]),
    "fulfilment": (lambda r, c: rules.fulfilment(r, c + 0.01), [unit, unit]),
    "delay_days": (lambda r: rules.delay_days(r, P), [unit]),
    "outcome_index": (lambda r: rules.outcome_index(r, P), [unit]),
    "reported_credibility": (
        lambda d, i, t, r: rules.reported_credibility(d, i, t, r),
        [unit, unit, unit, unit],
    ),
    "step_threshold": (
        lambda k, x, y: rules.step_threshold(1 + _int(k, 2.99), x, P, y * 10),
        [unit, unit, unit],
    ),
    "answer_ceiling": (lambda s: rules.answer_ceiling(4, s, P), [unit]),
    "hazards": (
        lambda n, lv, x: rules.engagement_hazards(n, _int(lv, 3.99), x, P)[0],
        [signed, unit, unit],
    ),
    "transition": (
        lambda lv, d, u: rules.engagement_transition(_int(lv, 2.99), d, 0.1, u),
        [unit, unit, unit],
    ),
    "renewal_probability": (lambda n, x: rules.renewal_probability(n, x, P), [signed, unit]),
    "capacity_step": (lambda k, t: rules.capacity_step(k, t, 0.1), [unit, unit]),
    "capacity_drain": (lambda k, d: rules.capacity_drain(k, d), [unit, unit]),
    "war_entrapment": (lambda e, p, i: rules.war_entrapment(e, p > 0.5, i > 0.5), [unit] * 3),
    "willingness": (
        lambda a, r, s, t, e: rules.willingness(a, r, s, t, 0.0, "domestic", e - 0.5, P),
        [unit, unit, unit, unit, unit],
    ),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_elementwise_rules_agree_on_scalars_and_arrays(name: str, data: st.DataObject) -> None:
    rule, strategies = ELEMENTWISE[name]
    size = data.draw(st.integers(1, 6))
    columns = [data.draw(st.lists(s, min_size=size, max_size=size)) for s in strategies]
    one_by_one, at_once = _elementwise(rule, *columns)
    np.testing.assert_array_equal(one_by_one, at_once)


members = st.integers(1, 6)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_member_rules_agree_row_by_row(data: st.DataObject) -> None:
    """Rules and metrics over the member axis: a (replicates, members) array = row by row."""
    n = data.draw(members)
    rows = data.draw(st.integers(1, 4))
    grid = st.lists(st.lists(unit, min_size=n, max_size=n), min_size=rows, max_size=rows)
    a = np.array(data.draw(grid))
    present = np.array(data.draw(grid)) > 0.3
    level = (np.array(data.draw(grid)) * 3.99).astype(int)
    chairs = np.array(data.draw(grid)) > 0.7
    capability = np.array(data.draw(grid))[0]
    leader = np.arange(n) == 0
    checks = {
        "peer_pull": lambda x, p, lv, e: rules.peer_pull(x, p, 0.3),
        "collective_response": lambda x, p, lv, e: rules.collective_response(
            x, capability, p, leader, 0.6, P
        )[0],
        "blocked": lambda x, p, lv, e: rules.collective_response(x, capability, p, leader, 0.6, P)[
            1
        ],
        "outside_option": lambda x, p, lv, e: rules.outside_option(x[..., None, :]),
        "cohesion": lambda x, p, lv, e: metrics.cohesion(x, lv, e.astype(float), p, P),
        "credibility_mean": lambda x, p, lv, e: metrics.credibility_mean(x, p),
        "engaged_share": lambda x, p, lv, e: metrics.engaged_share(lv, p),
        "polarization": lambda x, p, lv, e: metrics.polarization(x, p),
        "blocs": lambda x, p, lv, e: metrics.blocs(x, p, 0.15),
        "consensus_capacity": lambda x, p, lv, e: metrics.consensus_capacity(
            x, e.astype(float), p, P
        ),
    }
    for name, rule in checks.items():
        together = np.asarray(rule(a, present, level, chairs), dtype=float)
        alone = np.array(
            [
                np.asarray(rule(a[k], present[k], level[k], chairs[k]), dtype=float)
                for k in range(rows)
            ]
        )
        np.testing.assert_array_equal(together, alone, err_msg=name)
