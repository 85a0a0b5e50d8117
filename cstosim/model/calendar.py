"""Months of a run (docs/MODEL.md §3: one step is one calendar month)."""

from __future__ import annotations


def months_between(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """Every (year, month) from ``start`` to ``end`` inclusive."""
    first = start[0] * 12 + start[1] - 1
    last = end[0] * 12 + end[1] - 1
    return [(k // 12, k % 12 + 1) for k in range(first, last + 1)]


def month_label(month: tuple[int, int]) -> str:
    """``(2022, 1)`` → ``'2022-01'``."""
    return f"{month[0]:04d}-{month[1]:02d}"
