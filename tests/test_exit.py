"""Exit is reachable outside renewals (issue 9), tested on a synthetic member.

Member AAA has a fixed net value N set by its autonomy cost (weight_autonomy × 1; no events, no
noise in its value). Defaults: θ₁ = 0, θ₂ = −0.2, θ₃ = −0.4 − X. Its monthly exit hazard grows
with the years it has been frozen (``exit_drift``), so that over ten years P(exit) falls with the
exit cost X and rises as N falls, and stays near zero without the drift when N is above the
undrifted θ₃; a member whose value only reaches the disengagement zone mostly stays for years.
"""

from __future__ import annotations

from typing import Any

from model_helpers import scenario

from cstosim.engine import vector

REPLICATES = 400


def states(weight_autonomy: float, exit_cost: float, start: str, years: int, **params: Any):
    """Shares of AAA's engagement states after ``years`` (vectorised engine, 400 replicates)."""
    members = {
        "LDR": {"name": "L", "joined": "2000-01", "leading": True, "capability": 0.8},
        "AAA": {
            "name": "A",
            "joined": "2000-01",
            "dependence": 0.0,
            "autonomy_cost": 1.0,
            "exit_cost": exit_cost,
            "initial": {"alignment": 0.5, "engagement": start},
        },
    }
    coefficients = {
        "alignment_noise": 0.0,
        "response_noise": 0.0,
        "weight_autonomy": weight_autonomy,
        **params,
    }
    s = scenario(members, [], coefficients, start="2020-01", end=f"{2019 + years}-12")
    _, table, _ = vector.run_chunk(s, 1, range(REPLICATES))
    last = table[(table["member"] == "AAA") & (table["date"] == table["date"].max())]
    return last["engagement"].astype(str).value_counts(normalize=True).to_dict()


def test_exit_responds_to_exit_cost_and_value() -> None:
    """N ≈ −0.67: a cheap exit (X = 0.1, θ₃ = −0.5) is taken at once; a costly one (X = 0.9,
    θ₃ = −1.3) only once years frozen have raised θ₃; a lower value (N ≈ −0.97) sooner."""
    cheap = states(0.9, 0.1, "frozen", 10).get("exited", 0.0)
    costly_short = states(0.9, 0.9, "frozen", 3).get("exited", 0.0)
    costly = states(0.9, 0.9, "frozen", 10).get("exited", 0.0)
    worse = states(1.2, 0.9, "frozen", 10).get("exited", 0.0)
    assert cheap > costly > costly_short
    assert worse > costly > 0.3


def test_without_drift_a_frozen_member_above_the_exit_threshold_stays() -> None:
    drifting = states(0.9, 0.9, "frozen", 10).get("exited", 0.0)
    stuck = states(0.9, 0.9, "frozen", 10, exit_drift=0.0).get("exited", 0.0)
    assert stuck < 0.05 < 0.5 < drifting


def test_a_member_that_only_disengages_stays_for_years() -> None:
    """N ≈ −0.02, between θ₂ and θ₁: after five years most are disengaged, few have left."""
    share = states(0.25, 0.5, "active", 5, exit_drift=0.5)
    assert share.get("disengaged", 0.0) > 0.5
    assert share.get("exited", 0.0) < 0.05
