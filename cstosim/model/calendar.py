"""Months of a run (docs/MODEL.md §3: one step is one calendar month)."""

from __future__ import annotations

from collections.abc import Sequence

from cstosim.language.scenario import Event, day_of, month_index


def months_between(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """Every (year, month) from ``start`` to ``end`` inclusive."""
    first = start[0] * 12 + start[1] - 1
    last = end[0] * 12 + end[1] - 1
    return [(k // 12, k % 12 + 1) for k in range(first, last + 1)]


def month_label(month: tuple[int, int]) -> str:
    """``(2022, 1)`` → ``'2022-01'``."""
    return f"{month[0]:04d}-{month[1]:02d}"


def events_by_month(events: Sequence[Event]) -> dict[tuple[int, int], list[Event]]:
    """The scenario's events by month, each month's in date order (a bare month before its
    dated days; ties in file order), as the month applies them (docs/MODEL.md §3)."""
    order = sorted(
        enumerate(events), key=lambda ie: (month_index(ie[1].date), day_of(ie[1].date) or 0, ie[0])
    )
    out: dict[tuple[int, int], list[Event]] = {}
    for _, ev in order:
        out.setdefault(month_index(ev.date), []).append(ev)
    return out
