"""The event log of many replicates at once, written as batches of rows (docs/INTERFACES.md).

A handler of the vectorised engine logs one *batch*: the replicates it concerns (a mask) and,
for each column, one value for all of them or one value per replicate. Batches are numbered in
the order they are logged; the table puts every replicate's rows in that order, which is the
order in which the Mesa model, stepping the same replicate alone, appends them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from cstosim.model.columns import EVENT_COLUMNS

Mask = NDArray[np.bool_]


def event_date(date: str) -> str:
    """The log's date: the event's day when given, else the first of its month."""
    return date if len(date) == 10 else f"{date[:7]}-01"


def labels(keys: Sequence[NDArray[Any]], label: Callable[..., str]) -> NDArray[np.object_]:
    """``label(*row)`` for every row of the integer ``keys`` columns, formatting each distinct
    row once (replicates share few distinct combinations of attendance, blockers and the like).
    """
    table = np.stack([np.asarray(k, dtype=np.int64) for k in keys], axis=-1)
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    text = np.array([label(*(int(v) for v in row)) for row in unique] + [""], dtype=object)
    return text[:-1][inverse.reshape(-1)]


def bits(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Each row of a (replicates, members) mask as one integer (bit i = member i)."""
    weights = np.left_shift(np.int64(1), np.arange(mask.shape[-1], dtype=np.int64))
    return (mask.astype(np.int64) * weights).sum(axis=-1)


class EventLog:
    """Batches of event-log rows for ``replicates`` replicates."""

    def __init__(self, replicates: int) -> None:
        self.replicates = replicates
        self.batches: list[tuple[NDArray[np.intp], dict[str, Any]]] = []

    def log(
        self,
        mask: Mask | None,
        date: str,
        event_id: str,
        type_: str,
        member: str | None = None,
        outcome: Any = None,
        detail: Any = "",
        response: Any = float("nan"),
        delay: Any = float("nan"),
        consensus: Any = None,
    ) -> None:
        """Log one row for every replicate in ``mask`` (all when None); array values are per
        replicate (length ``replicates``), other values shared."""
        rows = (
            np.arange(self.replicates)
            if mask is None
            else np.flatnonzero(np.broadcast_to(mask, (self.replicates,)))
        )
        if rows.size == 0:
            return
        values = {
            "date": event_date(date),
            "event_id": event_id,
            "type": type_,
            "member": member,
            "response": response,
            "outcome": outcome,
            "delay_days": delay,
            "consensus": consensus,
            "detail": detail,
        }
        self.batches.append((rows, values))

    def table(
        self, replicate_ids: NDArray[np.int64], event_ids: Collection[str] | None = None
    ) -> pd.DataFrame:
        """All rows (or those of ``event_ids``), ``replicate`` first, each replicate's rows in
        the order logged.

        Text columns come as pandas Categoricals (a batch mostly repeats a few values), numbers
        as float64, ``date`` as datetime64.
        """
        batches = self.batches
        if event_ids is not None:
            batches = [b for b in batches if b[1]["event_id"] in event_ids]
        if not batches:
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})
            frame["date"] = pd.to_datetime(frame["date"])
            frame[["response", "delay_days"]] = frame[["response", "delay_days"]].astype(float)
            frame.insert(0, "replicate", pd.Series(dtype=np.int64))
            return frame
        sizes = [r.size for r, _ in batches]
        rows = np.concatenate([r for r, _ in batches])
        order = np.lexsort((np.repeat(np.arange(len(batches)), sizes), rows))
        columns: dict[str, Any] = {"replicate": replicate_ids[rows[order]]}
        for name in EVENT_COLUMNS:
            values = [(r, v[name]) for r, v in batches]
            if name == "date":
                days = [np.full(r.size, np.datetime64(v, "D")) for r, v in values]
                columns[name] = np.concatenate(days)[order].astype("datetime64[ns]")
            elif name in ("response", "delay_days"):
                numbers = [_per_row(v, r, np.float64) for r, v in values]
                columns[name] = np.concatenate(numbers)[order]
            else:
                columns[name] = _categorical(values, order)
        return pd.DataFrame(columns)


def categorical(codes: NDArray[np.integer[Any]], categories: list[str]) -> Any:
    """A Categorical from integer codes (−1 for missing) without copying them to a list."""
    return pd.Categorical.from_codes(cast(Any, codes), categories=pd.Index(categories))


def _per_row(value: Any, rows: NDArray[np.intp], dtype: Any) -> NDArray[Any]:
    """A batch's value for each of its rows: a per-replicate array indexed, or a shared value."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value[rows].astype(dtype, copy=False)
    return np.full(rows.size, value, dtype=dtype)


def _categorical(values: list[tuple[NDArray[np.intp], Any]], order: NDArray[np.intp]) -> Any:
    """One text column of every batch as a Categorical (None stays missing)."""
    categories: dict[str, int] = {}
    parts = []
    for rows, value in values:
        if isinstance(value, np.ndarray) and value.ndim == 1:
            codes, uniques = pd.factorize(value[rows], use_na_sentinel=True)
            lookup = np.array([categories.setdefault(u, len(categories)) for u in uniques] + [-1])
            parts.append(lookup[codes])
        elif value is None:
            parts.append(np.full(rows.size, -1))
        else:
            parts.append(np.full(rows.size, categories.setdefault(value, len(categories))))
    codes = np.concatenate(parts)[order]
    return categorical(codes, list(categories))
