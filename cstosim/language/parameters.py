"""Model-wide coefficients of the alliance model: meaning, range, default and source.

Every coefficient is one pydantic field whose ``description`` is its one-line meaning and whose
``ge``/``le`` bounds are its admissible range; ``docs/MODEL.md`` (section 8, "Parameters") gives
the longer justification and the source of each default. A scenario's ``parameters:`` block
overrides any of them; ``cstosim schema`` exports them with their ranges. A ``parameter_shock``
that would push a coefficient out of its range is clipped to it (and logged, see docs/MODEL.md).
"""

from __future__ import annotations

import itertools
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

THRESHOLDS: tuple[str, ...] = (
    "threshold_statements",
    "threshold_fact_finding",
    "threshold_token_force",
    "threshold_deployment",
)
"""The outcome thresholds, which must be in this (non-decreasing) order."""


class Parameters(BaseModel):
    """Coefficients shared by every member (see docs/MODEL.md, section 8 "Parameters")."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- learning (credibility as a Beta posterior; grievance) -------------------------------
    learning_caller: float = Field(
        4.0, ge=0, le=50, description="Pseudo-observations the requesting state adds per answer"
    )
    learning_bystander: float = Field(
        1.0, ge=0, le=50, description="Pseudo-observations every other member adds per answer"
    )
    learning_attack: float = Field(
        2.0,
        ge=0,
        le=50,
        description="Pseudo-observations a member adds when attacked without any alliance answer",
    )
    learning_spillover: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Share of the evidence about one crisis type that also counts for the other",
    )
    credibility_memory: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Monthly share of credibility evidence forgotten (decay toward the prior)",
    )
    grievance_gain: float = Field(
        1.0, ge=0, le=10, description="Grievance added per unit of unanswered severity"
    )
    grievance_decay: float = Field(
        0.03, ge=0, le=1, description="Monthly share of grievance that fades"
    )
    grievance_cap: float = Field(
        10.0, ge=0, le=10, description="Largest grievance a member can accumulate"
    )

    # --- membership value ----------------------------------------------------------------------
    weight_security: float = Field(
        1.0, ge=0, le=5, description="Weight of credible protection against external threats"
    )
    weight_internal_threat: float = Field(
        1.0,
        ge=0,
        le=5,
        description="Weight of threats from the leader or a fellow member (unprotectable)",
    )
    weight_regime: float = Field(
        1.0, ge=0, le=5, description="Weight of credible protection of the incumbent regime"
    )
    weight_dependence: float = Field(
        0.6, ge=0, le=5, description="Weight of dependence on the leading state"
    )
    weight_capability: float = Field(
        0.5, ge=0, le=5, description="Weight of a member's say in the alliance (its capability)"
    )
    weight_entrapment: float = Field(
        1.0, ge=0, le=5, description="Weight of entrapment costs from the leading state's wars"
    )
    weight_autonomy: float = Field(
        0.5, ge=0, le=5, description="Weight of the autonomy cost of subordination"
    )
    weight_grievance: float = Field(
        0.5, ge=0, le=5, description="Weight of grievance from unanswered calls"
    )
    weight_outside: float = Field(
        1.0, ge=0, le=5, description="Weight of the outside option against membership value"
    )

    # --- alignment dynamics --------------------------------------------------------------------
    alignment_rate: float = Field(
        0.05, ge=0, le=1, description="Monthly rate at which alignment drifts toward its target"
    )
    value_sensitivity: float = Field(
        4.0, ge=0, le=50, description="Slope of the logistic map from net value to target alignment"
    )
    peer_influence: float = Field(
        0.05, ge=0, le=1, description="Monthly pull toward peers within the confidence bound"
    )
    confidence_bound: float = Field(
        0.25, ge=0, le=1, description="Largest alignment gap across which peers still influence"
    )
    leader_pressure: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Monthly pull toward the leading state's line, scaled by dependence",
    )
    alignment_noise: float = Field(
        0.01, ge=0, le=0.5, description="Standard deviation of monthly alignment noise"
    )
    signal_alignment_shift: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Alignment lost by a member per unit strength of its public signal",
    )
    cancelled_drill_signal: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Strength of the signal of distance sent by the host of a cancelled drill",
    )
    drill_alignment_gain: float = Field(
        0.01, ge=0, le=1, description="Share of the gap to full alignment closed by a held drill"
    )
    chair_alignment_gain: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of the gap to full alignment closed by taking the chair",
    )

    # --- invocations ---------------------------------------------------------------------------
    response_noise: float = Field(
        0.05, ge=0, le=1, description="Standard deviation of noise on each member's willingness"
    )
    grievance_dissent: float = Field(
        1.0,
        ge=0,
        le=10,
        description="Public dissent (absence, refusal to sign) per unit of grievance",
    )
    veto_threshold: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Willingness below which a member blocks collective action (consensus rule)",
    )
    regime_solidarity: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Willingness added by a member's own regime insecurity in a domestic crisis",
    )
    cost_domestic: float = Field(
        0.1, ge=0, le=5, description="Cost of helping per unit severity of a domestic crisis"
    )
    cost_interstate: float = Field(
        0.3, ge=0, le=5, description="Cost of helping per unit severity of an interstate attack"
    )
    cost_intercommunal: float = Field(
        0.6,
        ge=0,
        le=5,
        description="Cost of helping per unit severity of intercommunal violence inside a member",
    )
    need_per_severity: float = Field(
        1.0,
        ge=0,
        le=5,
        description="Response a crisis calls for per unit severity: answers are capped at ν·s",
    )
    unprompted_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of its answer the alliance gives to an attack nobody called for help on",
    )
    learning_member_conflict: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of learning and grievance from an attack by a fellow member",
    )
    weight_aggressor_ties: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Willingness lost per unit tie of the aggressor to the leader or the helper",
    )
    weight_capacity: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Leader's willingness lost per unit of its capacity drained by wars",
    )
    unilateral_share: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Share of its own effort the leader delivers when it acts alone",
    )
    response_delay_days: float = Field(
        14.0,
        ge=0,
        le=365,
        description="Delay of the answer, in days, as the response level nears 0",
    )
    threshold_statements: float = Field(
        0.1, ge=0, le=1, description="Response level from which the answer is 'statements'"
    )
    threshold_fact_finding: float = Field(
        0.3, ge=0, le=1, description="Response level from which the answer is 'fact-finding'"
    )
    threshold_token_force: float = Field(
        0.5, ge=0, le=1, description="Response level from which the answer is 'token-force'"
    )
    threshold_deployment: float = Field(
        0.7, ge=0, le=1, description="Response level from which the answer is 'deployment'"
    )

    # --- leading state's capacity ----------------------------------------------------------------
    capacity_recovery: float = Field(
        0.02, ge=0, le=1, description="Monthly share of the gap to the capacity target recovered"
    )

    # --- engagement and exit ---------------------------------------------------------------------
    hazard_base: float = Field(
        0.05, ge=0, le=1, description="Largest monthly probability of an engagement transition"
    )
    hazard_slope: float = Field(
        10.0, ge=0, le=100, description="Steepness of the logistic transition hazard"
    )
    engagement_threshold: float = Field(
        0.0, ge=-5, le=5, description="Net value below which an active member tends to step back"
    )
    engagement_step: float = Field(
        0.2,
        ge=0,
        le=5,
        description="Extra shortfall of net value needed for each further step of withdrawal",
    )
    hysteresis: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Extra net value needed to step back up, compared with stepping down",
    )
    exit_drift: float = Field(
        0.1,
        ge=0,
        le=2,
        description="Rise of the exit threshold per year a member has been frozen",
    )
    weight_exit_cost: float = Field(
        1.0, ge=0, le=10, description="Weight of the exit cost that deters the last step (exit)"
    )
    renewal_slope: float = Field(
        10.0, ge=0, le=100, description="Steepness of the logistic renewal decision"
    )
    renewal_threshold: float = Field(
        0.0,
        ge=-5,
        le=5,
        description="Net value (plus discounted exit cost) at which renewal is 50/50",
    )
    renewal_exit_discount: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the exit cost that still deters leaving when the treaty lapses",
    )

    # --- pulls of outside poles ------------------------------------------------------------------
    engagement_pull_gain: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Increase in a pole's pull per unit strength of an outside engagement",
    )

    # --- metrics -------------------------------------------------------------------------------
    weight_disengaged: float = Field(
        0.5, ge=0, le=1, description="Weight of a disengaged member in the cohesion index"
    )
    empty_chair_penalty: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a member's weight in cohesion lost while its summit chair is empty",
    )
    bloc_distance: float = Field(
        0.15, ge=0, le=1, description="Alignment gap that separates two blocs (single linkage)"
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Self:
        values = [getattr(self, name) for name in THRESHOLDS]
        if any(a > b for a, b in itertools.pairwise(values)):
            shown = ", ".join(f"{n} = {v:g}" for n, v in zip(THRESHOLDS, values, strict=True))
            raise ValueError(f"outcome thresholds must be in increasing order; got {shown}")
        return self
