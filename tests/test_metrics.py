"""Known-answer tests for the alliance-level indices (docs/MODEL.md §7.9)."""

from __future__ import annotations

import numpy as np
import pytest

from cstosim.language.parameters import Parameters
from cstosim.model import metrics

P = Parameters()
T = np.array([True, True, True])


def test_cohesion_weights_engagement_exits_and_empty_chairs() -> None:
    a = np.array([1.0, 0.8, 0.6])
    assert metrics.cohesion(a, np.array([0, 0, 0]), np.zeros(3), T, P) == pytest.approx(0.8)
    # disengaged counts half, exited nothing, roster size unchanged
    c = metrics.cohesion(a, np.array([0, 1, 3]), np.zeros(3), T, P)
    assert c == pytest.approx((1.0 + 0.5 * 0.8) / 3)
    # an empty chair costs half the member's weight
    c = metrics.cohesion(a, np.array([0, 0, 0]), np.array([0.0, 0.0, 1.0]), T, P)
    assert c == pytest.approx((1.0 + 0.8 + 0.3) / 3)
    # members not yet in the roster do not count
    c = metrics.cohesion(a, np.array([0, 0, -1]), np.zeros(3), np.array([True, True, False]), P)
    assert c == pytest.approx(0.9)
    assert metrics.cohesion(a, np.zeros(3, int), np.zeros(3), np.zeros(3, bool), P) == 0.0
    # ensembles: (replicates, members)
    out = metrics.cohesion(np.vstack([a, a]), np.zeros((2, 3), int), np.zeros((2, 3)), T, P)
    np.testing.assert_allclose(out, [0.8, 0.8])


def test_credibility_mean_and_engaged_share() -> None:
    c = np.array([0.2, 0.4, 0.9])
    assert metrics.credibility_mean(c, np.array([True, True, False])) == pytest.approx(0.3)
    assert metrics.credibility_mean(c, np.zeros(3, bool)) == 0.0
    assert metrics.engaged_share(np.array([0, 1, 3]), T) == pytest.approx(1 / 3)
    assert metrics.engaged_share(np.array([0, 1, 3]), np.zeros(3, bool)) == 0.0


def test_polarization() -> None:
    two_camps = np.array([0.0, 0.0, 1.0, 1.0])
    assert metrics.polarization(two_camps, np.ones(4, bool)) == pytest.approx(1.0)
    assert metrics.polarization(np.full(4, 0.7), np.ones(4, bool)) == 0.0
    assert metrics.polarization(np.array([0.2, 0.9]), np.array([True, False])) == 0.0
    assert metrics.polarization(np.array([0.2, 0.6]), np.array([True, True])) == pytest.approx(0.4)


def test_blocs_single_linkage() -> None:
    a = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    assert metrics.blocs(a, np.ones(5, bool), 0.15) == 2
    assert metrics.blocs(a, np.ones(5, bool), 0.05) == 5
    assert metrics.blocs(a, np.ones(5, bool), 0.6) == 1
    assert metrics.blocs(a, np.zeros(5, bool), 0.15) == 0
    # an absent member does not bridge two blocs
    assert metrics.blocs(np.array([0.1, 0.5, 0.9]), np.array([True, False, True]), 0.45) == 2


def test_consensus_capacity_is_the_weakest_link() -> None:
    a = np.array([0.9, 0.65, 1.0])
    q = metrics.consensus_capacity(a, np.zeros(3), T, P)
    assert q == pytest.approx((0.65 - 0.3) / 0.7)
    # one member at or below the veto threshold: no consensus possible
    assert metrics.consensus_capacity(np.array([0.9, 0.25]), np.zeros(2), T[:2], P) == 0.0
    # an empty chair halves the margin
    q = metrics.consensus_capacity(np.array([1.0, 1.0]), np.array([0.0, 1.0]), T[:2], P)
    assert q == pytest.approx(0.5)
    assert metrics.consensus_capacity(a, np.zeros(3), np.zeros(3, bool), P) == 0.0
