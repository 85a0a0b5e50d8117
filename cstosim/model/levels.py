"""Engagement levels and crisis kinds as integers, defined once (docs/MODEL.md §2).

The names come from the scenario language (:class:`cstosim.language.scenario.Engagement`, in
order of withdrawal); the model stores them as small integers so that they can live in NumPy
arrays, with ``ABSENT`` (−1) for a member that has not joined yet.
"""

from __future__ import annotations

from cstosim.language.scenario import Crisis, Engagement

ABSENT = -1
ACTIVE = Engagement.ACTIVE.level
DISENGAGED = Engagement.DISENGAGED.level
FROZEN = Engagement.FROZEN.level
EXITED = Engagement.EXITED.level

LEVEL_NAMES: tuple[str, ...] = tuple(e.value for e in Engagement)
"""Names of levels 0..3 (``LEVEL_NAMES[level]``)."""

STATES: tuple[str, ...] = (*LEVEL_NAMES, "absent")
"""Every value of the ``engagement`` column of the members table."""

LEVEL_OF: dict[str, int] = {**{name: k for k, name in enumerate(LEVEL_NAMES)}, "absent": ABSENT}
"""Name → integer level, ``absent`` included."""


def level_name(level: int) -> str:
    """The name of an integer level, ``absent`` for −1."""
    return "absent" if level == ABSENT else LEVEL_NAMES[level]


DOMESTIC, INTERSTATE = 0, 1
"""Rows of the credibility arrays (α, β have shape (2, members)): domestic and interstate."""

CREDIBILITY_ROW: dict[Crisis, int] = {
    Crisis.DOMESTIC: DOMESTIC,
    Crisis.INTERCOMMUNAL: DOMESTIC,
    Crisis.INTERSTATE: INTERSTATE,
}
"""The belief a crisis of each kind tests: trouble at home, or an attack from outside."""

TRANSITION_OUTCOMES: dict[tuple[int, int], str] = {
    (ACTIVE, DISENGAGED): "disengaged",
    (DISENGAGED, FROZEN): "froze",
    (FROZEN, EXITED): "exited",
    (FROZEN, DISENGAGED): "returned",
    (DISENGAGED, ACTIVE): "reengaged",
}
"""Endogenous engagement changes: (old level, new level) → event-log outcome."""
