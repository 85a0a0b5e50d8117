"""The columns of the three tables every engine produces (docs/INTERFACES.md)."""

from __future__ import annotations

MODEL_REPORTERS = (
    "cohesion",
    "credibility_mean",
    "engaged_share",
    "polarization",
    "blocs",
    "consensus_capacity",
    "exits",
    "capacity",
)
AGENT_REPORTERS = (
    "member",
    "alignment",
    "credibility",
    "engagement",
    "value",
    "outside_option",
    "grievance",
)
EVENT_COLUMNS = (
    "date",
    "event_id",
    "type",
    "member",
    "response",
    "outcome",
    "delay_days",
    "consensus",
    "detail",
)
