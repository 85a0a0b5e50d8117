"""Model-wide coefficients of the alliance model: meaning, range, default and source.

Every coefficient is one pydantic field whose ``description`` is its one-line meaning and whose
``ge``/``le`` bounds are its admissible range; ``docs/MODEL.md`` (section "Parameters") gives the
longer justification and the source of each default. A scenario's ``parameters:`` block overrides
any of them; ``cstosim schema`` exports them with their ranges.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Parameters(BaseModel):
    """Coefficients shared by every member (see docs/MODEL.md, "Parameters")."""

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
    credibility_memory: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Monthly share of credibility evidence forgotten (decay toward the prior)",
    )
    grievance_decay: float = Field(
        0.03, ge=0, le=1, description="Monthly share of grievance that fades"
    )

    # --- membership value ----------------------------------------------------------------------
    weight_security: float = Field(
        1.0, ge=0, le=5, description="Weight of credible protection against external threats"
    )
    weight_regime: float = Field(
        1.0, ge=0, le=5, description="Weight of credible protection of the incumbent regime"
    )
    weight_dependence: float = Field(
        0.6, ge=0, le=5, description="Weight of dependence on the leading state"
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

    # --- invocations ---------------------------------------------------------------------------
    response_noise: float = Field(
        0.05, ge=0, le=1, description="Standard deviation of noise on each member's willingness"
    )
    veto_threshold: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Willingness below which a member blocks collective action (consensus rule)",
    )

    # --- leading state's capacity ----------------------------------------------------------------
    capacity_recovery: float = Field(
        0.02, ge=0, le=1, description="Monthly share of drained capacity that recovers"
    )

    # --- engagement and exit ---------------------------------------------------------------------
    hazard_base: float = Field(
        0.05, ge=0, le=1, description="Largest monthly probability of an engagement transition"
    )
    hazard_slope: float = Field(
        10.0, ge=0, le=100, description="Steepness of the logistic transition hazard"
    )
    hysteresis: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Extra net value needed to step back up, compared with stepping down",
    )

    # --- pulls of outside poles ------------------------------------------------------------------
    engagement_pull_gain: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Increase in a pole's pull per unit strength of an outside engagement",
    )

    # --- metrics -------------------------------------------------------------------------------
    bloc_distance: float = Field(
        0.15, ge=0, le=1, description="Alignment gap that separates two blocs (single linkage)"
    )
