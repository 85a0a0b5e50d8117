"""Known-answer tests for every rule function, on floats and on arrays (docs/MODEL.md §7)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cstosim.language.parameters import Parameters
from cstosim.model import rules

P = Parameters()


def test_logistic_scalar_array_and_overflow() -> None:
    assert rules.logistic(0.0) == 0.5
    assert isinstance(rules.logistic(0.3), float)
    out = rules.logistic(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0])
    assert rules.logistic(2.0) == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_beta_prior_mean_and_learning() -> None:
    a0, b0 = rules.beta_prior(0.6, 10.0)
    assert (a0, b0) == pytest.approx((6.0, 4.0))
    assert rules.beta_mean(a0, b0) == pytest.approx(0.6)
    # a fully answered call adds λ successes, an unanswered one λ failures
    assert rules.learn(6.0, 4.0, 1.0, 4.0) == pytest.approx((10.0, 4.0))
    assert rules.learn(6.0, 4.0, 0.0, 4.0) == pytest.approx((6.0, 8.0))
    assert rules.learn(6.0, 4.0, 0.25, 4.0) == pytest.approx((7.0, 7.0))
    a, b = rules.learn(np.array([6.0, 6.0]), np.array([4.0, 4.0]), 0.0, np.array([4.0, 1.0]))
    c = rules.beta_mean(a, b)
    np.testing.assert_allclose(c, [6 / 14, 6 / 11])
    assert c[0] < c[1] < 0.6  # the caller loses more than a bystander


def test_forget_decays_toward_prior() -> None:
    assert rules.forget(10.0, 4.0, 6.0, 4.0, 0.5) == pytest.approx((8.0, 4.0))
    assert rules.forget(10.0, 8.0, 6.0, 4.0, 1.0) == pytest.approx((6.0, 4.0))
    a, b = rules.forget(np.array([10.0, 6.0]), np.array([4.0, 4.0]), 6.0, 4.0, 0.0)
    np.testing.assert_allclose(a, [10.0, 6.0])
    np.testing.assert_allclose(b, [4.0, 4.0])


def test_grievance() -> None:
    assert rules.grievance_step(1.0, 0.1) == pytest.approx(0.9)
    assert rules.grievance_add(0.0, 0.8, 0.0, 1.0) == pytest.approx(0.8)
    assert rules.grievance_add(0.0, 0.8, 1.0, 1.0) == 0.0
    assert rules.grievance_add(9.9, 1.0, 0.0, 5.0) == 10.0  # capped
    np.testing.assert_allclose(
        rules.grievance_add(np.zeros(2), np.array([0.5, 1.0]), 0.5, 2.0), [0.5, 1.0]
    )


def test_value_terms() -> None:
    # external 0.8 protectable, credibility 0.5, an internal threat of 0.3
    assert rules.security_value(0.8, 0.3, 0.5, P) == pytest.approx(0.4 - 0.3)
    assert rules.structural_value(0.5, 0.1, 0.2, P) == pytest.approx(0.3 + 0.05 - 0.1)
    v = rules.membership_value(0.1, 0.2, 0.25, 0.1, 0.4, P)
    assert v == pytest.approx(0.1 + 0.2 + 0.25 - 0.1 - 0.2)
    assert rules.net_value(0.5, 0.2, P) == pytest.approx(0.3)
    arr = rules.security_value(np.array([0.8, 0.0]), np.array([0.0, 0.5]), 0.5, P)
    np.testing.assert_allclose(arr, [0.4, -0.5])


def test_combine_independent() -> None:
    assert rules.combine_independent([0.5, 0.5]) == pytest.approx(0.75)
    assert rules.combine_independent([]) == 0.0
    np.testing.assert_allclose(
        rules.combine_independent(np.array([[0.5, 0.0], [0.5, 0.2]]), axis=0), [0.75, 0.2]
    )


def test_target_alignment() -> None:
    assert rules.target_alignment(0.0, 4.0) == 0.5
    assert rules.target_alignment(0.5, 4.0) == pytest.approx(1 / (1 + np.exp(-2.0)))
    t = rules.target_alignment(np.array([-1.0, 1.0]), 4.0)
    assert t[0] < 0.5 < t[1]


def test_peer_pull_bounded_confidence() -> None:
    a = np.array([0.5, 0.6, 0.9])
    present = np.array([True, True, True])
    np.testing.assert_allclose(rules.peer_pull(a, present, 0.2), [0.1, -0.1, 0.0])
    # an absent peer has no influence
    np.testing.assert_allclose(
        rules.peer_pull(a, np.array([True, False, True]), 0.2), [0.0, 0.0, 0.0]
    )
    # ensembles: (replicates, members)
    out = rules.peer_pull(np.vstack([a, a[::-1]]), np.ones((2, 3), dtype=bool), 0.2)
    np.testing.assert_allclose(out, [[0.1, -0.1, 0.0], [0.0, -0.1, 0.1]])


def test_alignment_step_known_and_clipped() -> None:
    p = Parameters(alignment_rate=0.1, peer_influence=0.5, leader_pressure=0.2, alignment_noise=0.1)
    new = rules.alignment_step(0.5, 1.0, 0.1, 0.4, 0.5, 1.0, p)
    assert new == pytest.approx(0.5 + 0.05 + 0.05 + 0.04 + 0.1)
    arr = rules.alignment_step(np.array([0.99, 0.01]), 1.0, 0.0, 0.0, 0.0, np.array([5, -5]), p)
    np.testing.assert_allclose(arr, [1.0, 0.0])
    assert rules.nudge(0.5, 0.1) == pytest.approx(0.55)


def test_willingness_domestic_and_interstate() -> None:
    # domestic: a + σ_R·R − c_d·s
    w = rules.willingness(0.7, 0.6, 0.9, 0.0, 0.0, "domestic", 0.0, P)
    assert w == pytest.approx(0.7 + 0.3 - 0.09)
    # interstate against an aggressor tied 0.6 to the leader
    w = rules.willingness(0.7, 0.6, 0.7, 0.6, 0.0, "interstate", 0.0, P)
    assert w == pytest.approx(0.7 - 0.21 - 0.3)
    # the leader's drained capacity
    w = rules.willingness(0.9, 0.0, 0.7, 0.6, 0.6, "interstate", 0.0, P)
    assert w == pytest.approx(0.9 - 0.21 - 0.3 - 0.3)
    assert rules.willingness(0.5, 0.0, 1.0, 1.0, 1.0, "interstate", 0.0, P) == 0.0  # clipped at 0
    arr = rules.willingness(
        np.array([1.0, 0.2]), 0.0, 0.0, 0.0, 0.0, "interstate", np.array([0.5, 0]), P
    )
    np.testing.assert_allclose(arr, [1.0, 0.2])
    # intercommunal violence: no regime solidarity, its own cost
    w = rules.willingness(0.7, 0.6, 0.5, 0.0, 0.0, "intercommunal", 0.0, P)
    assert w == pytest.approx(0.7 - P.cost_intercommunal * 0.5)


def test_answer_ceiling_and_fulfilment() -> None:
    """Nobody sends more than was asked nor more than the crisis calls for (ν·s)."""
    deployment = 4
    assert rules.answer_ceiling(deployment, 0.4, P) == pytest.approx(0.4 * P.need_per_severity)
    assert rules.answer_ceiling(1, 0.9, P) == pytest.approx(rules.outcome_level(1, P))
    assert rules.answer_ceiling(deployment, 0.0, P) == 0.0
    assert rules.fulfilment(0.0, 0.0) == 1.0  # nothing called for, nothing owed
    assert rules.fulfilment(0.2, 0.4) == pytest.approx(0.5)
    assert rules.fulfilment(0.9, 0.4) == 1.0


def test_exit_threshold_drifts_up_while_frozen() -> None:
    """θ₃ rises by exit_drift per year frozen, never above θ₂ (freezing)."""
    base = rules.step_threshold(3, 0.5, P)
    assert rules.step_threshold(3, 0.5, P, 2.0) == pytest.approx(base + 2 * P.exit_drift)
    assert rules.step_threshold(3, 0.5, P, 1000.0) == pytest.approx(rules.step_threshold(2, 0.5, P))
    assert rules.step_threshold(2, 0.5, P, 5.0) == rules.step_threshold(2, 0.5, P)


def test_collective_response_consensus_and_unilateral() -> None:
    cap = np.array([0.8, 0.1, 0.1])
    leader = np.array([True, False, False])
    part = np.array([True, True, False])  # index 2 is the caller
    r, blocked = rules.collective_response(np.array([0.9, 0.7, 1.0]), cap, part, leader, 1.0, P)
    assert not blocked
    assert r == pytest.approx((0.8 * 0.9 + 0.1 * 0.7) / 0.9)
    # leader's effort capped by free capacity
    r, _ = rules.collective_response(np.array([0.9, 0.7, 1.0]), cap, part, leader, 0.5, P)
    assert r == pytest.approx((0.8 * 0.5 + 0.1 * 0.7) / 0.9)
    # one member below the veto threshold blocks; the leader acts alone
    r, blocked = rules.collective_response(np.array([0.9, 0.1, 1.0]), cap, part, leader, 1.0, P)
    assert blocked
    assert r == pytest.approx(0.8 * 0.9)
    # nobody takes part
    r, blocked = rules.collective_response(np.zeros(3), cap, np.zeros(3, bool), leader, 1.0, P)
    assert (r, blocked) == (0.0, False)
    # ensembles
    rr, bb = rules.collective_response(
        np.array([[0.9, 0.7, 1.0], [0.9, 0.1, 1.0]]), cap, part, leader, 1.0, P
    )
    np.testing.assert_allclose(rr, [(0.8 * 0.9 + 0.07) / 0.9, 0.72])
    assert list(bb) == [False, True]


def test_outcomes_levels_and_delay() -> None:
    levels = [0.0, 0.1, 0.35, 0.5, 0.95]
    assert [rules.outcome_index(x, P) for x in levels] == [0, 1, 2, 3, 4]
    assert list(rules.outcome_index(np.array(levels), P)) == [0, 1, 2, 3, 4]
    assert [rules.outcome_level(k, P) for k in range(5)] == pytest.approx(
        [0.05, 0.2, 0.4, 0.6, 0.85]
    )
    assert all(rules.outcome_index(rules.outcome_level(k, P), P) == k for k in range(5))
    assert rules.delay_days(1.0, P) == 0.0
    assert rules.delay_days(0.0, P) == P.response_delay_days
    assert rules.delay_days(0.5, P) == pytest.approx(P.response_delay_days / 4)


def test_engagement_thresholds_and_hazards() -> None:
    assert rules.step_threshold(1, 0.5, P) == pytest.approx(0.0)
    assert rules.step_threshold(2, 0.5, P) == pytest.approx(-0.2)
    assert rules.step_threshold(3, 0.5, P) == pytest.approx(-0.4 - 0.5)
    # deep negative value: stepping down at nearly the full base hazard, never up
    down, up = rules.engagement_hazards(-5.0, 0, 0.0, P)
    assert down == pytest.approx(P.hazard_base)
    assert up == 0.0
    # exited is absorbing (only a join event brings a member back)
    down, up = rules.engagement_hazards(np.array([5.0, -5.0]), np.array([3, 3]), 0.0, P)
    np.testing.assert_allclose(down, 0.0)
    np.testing.assert_allclose(up, 0.0)
    # hysteresis: at the threshold, stepping down is likelier than stepping back up
    down, up = rules.engagement_hazards(0.0, 1, 0.0, P)
    d1, _ = rules.engagement_hazards(0.0, 0, 0.0, P)
    assert up < d1
    # exit cost deters the last step
    d_cheap, _ = rules.engagement_hazards(-0.5, 2, 0.0, P)
    d_dear, _ = rules.engagement_hazards(-0.5, 2, 0.9, P)
    assert d_dear < d_cheap


def test_engagement_transition() -> None:
    assert rules.engagement_transition(0, 0.1, 0.0, 0.05) == 1
    assert rules.engagement_transition(2, 0.0, 0.1, 0.95) == 1
    assert rules.engagement_transition(1, 0.1, 0.1, 0.5) == 1
    out = rules.engagement_transition(np.array([0, 1]), np.array([0.5, 0]), np.array([0, 0.5]), 0.6)
    assert list(out) == [0, 0]


def test_renewal_probability() -> None:
    assert rules.renewal_probability(0.0, 0.0, P) == 0.5
    assert rules.renewal_probability(0.5, 0.0, P) > 0.99
    assert rules.renewal_probability(-0.5, 0.0, P) < 0.01
    low, high = rules.renewal_probability(np.array([-0.2, -0.2]), np.array([0.0, 0.8]), P)
    assert low < 0.5 < high  # the exit cost deters leaving


def test_capacity() -> None:
    assert rules.capacity_target(1.0, [0.5, 0.2]) == pytest.approx(0.4)
    assert rules.capacity_target(0.9, []) == 0.9
    assert rules.capacity_step(0.4, 1.0, 0.5) == pytest.approx(0.7)
    assert rules.capacity_drain(0.8, 0.5) == pytest.approx(0.4)
    np.testing.assert_allclose(
        rules.capacity_target(np.array([1.0, 0.5]), np.array([[0.5], [0.0]])), [0.5, 0.5]
    )


def test_coefficients_may_be_arrays() -> None:
    """A namespace of per-replicate arrays works as ``p`` (future ensemble engine)."""
    p = SimpleNamespace(**{k: np.array([v, v]) for k, v in P.model_dump().items()})
    p.weight_security = np.array([1.0, 2.0])
    np.testing.assert_allclose(rules.security_value(0.5, 0.0, 0.5, p), [0.25, 0.5])
