"""``summary.csv``: tidy statistics across replicates, built chunk by chunk.

Layout: ``date, member, variable, statistic, value`` (``member`` empty for model metrics).
Numeric variables get ``mean``, ``q05``, ``q25``, ``median``, ``q75``, ``q95``; ``engagement``
gets ``p_<state>`` and ``p_ever_frozen`` / ``p_ever_exited`` (results/README.md).

How it stays bounded in memory (:class:`Summariser`):

* engagement: counts per (month, member, state) and, per chunk, each replicate-member's running
  "ever frozen / ever exited" flags are added up as chunks arrive (exact, integers);
* mean and quantiles are exact (``numpy.quantile``, linear interpolation, as pandas): while the
  numeric values of the whole run fit in ``memory_budget`` bytes as float64 (256 MiB by default:
  about 35,000 essay or 1,600 history replicates) they are kept in arrays (replicates × cells)
  as chunks arrive; beyond that, they are computed after the run in a second pass over the written
  Parquet files, each pass reading one column and filling arrays for as many (month, member)
  cells as fit in the budget (rows are placed by position when the file is in replicate, month,
  member order, as the engines write it, else by their keys). Either way the result does not
  depend on the chunks or the number of processes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cstosim.model.levels import EXITED, FROZEN, LEVEL_OF, STATES

QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
STATISTICS = ("mean", *QUANTILES)
ENGAGEMENT_STATISTICS = (*(f"p_{state}" for state in STATES), "p_ever_frozen", "p_ever_exited")
MEMORY_BUDGET = 256 * 2**20
"""Bytes of float64 values kept for exact quantiles before falling back to a second pass."""

_LEVELS = np.array([LEVEL_OF[state] for state in STATES], dtype=np.int8)
_BATCH_ROWS = 1 << 20


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that get a mean and quantiles (numbers, not booleans, not keys)."""
    skip = {"replicate", "date", "member"}
    return [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _dates(values: Any) -> np.ndarray:
    """Dates (pandas, NumPy or Arrow) as a ``datetime64`` array, in their own unit."""
    if hasattr(values, "cast"):  # an Arrow date32 or timestamp column
        import pyarrow as pa

        return np.asarray(values.cast(pa.date32()).cast(pa.int32()), dtype="datetime64[D]")
    dates = np.asarray(values)
    return dates if dates.dtype.kind == "M" else pd.to_datetime(dates).to_numpy()


@dataclass
class _Rows:
    """Where the rows of a chunk go: replicate and cell of each row; ``first`` is the first
    replicate if the rows are in canonical order (replicate by replicate, every cell once, in
    cell order), else None."""

    replicate: np.ndarray
    cells: np.ndarray
    first: int | None


class _Grid:
    """The cells of one table: its months, times its members (first-seen order) if any."""

    def __init__(self, frame: pd.DataFrame, by_member: bool) -> None:
        self.dates = np.unique(_dates(frame["date"]).astype("datetime64[D]"))
        self.members: list[str] = [str(m) for m in pd.unique(frame["member"])] if by_member else []
        width = max(1, len(self.members))
        self.cell_dates = np.repeat(self.dates, width)
        self.cell_members = np.tile(np.arange(width), len(self.dates))

    @property
    def size(self) -> int:
        return len(self.dates) * max(1, len(self.members))

    def locate(self, frame: pd.DataFrame, replicates: int) -> _Rows:
        """The replicate and cell of every row of ``frame`` (ValueError for unknown keys)."""
        replicate = _replicates(frame["replicate"], replicates)
        dates = _dates(frame["date"])
        members = frame["member"] if self.members else None
        whole, extra = divmod(len(frame), self.size)
        if whole and not extra:  # the engines' order: check it cheaply, then skip the lookups
            first = int(replicate[0])
            if (
                np.array_equal(replicate, np.repeat(np.arange(first, first + whole), self.size))
                and np.array_equal(dates, np.tile(self.cell_dates.astype(dates.dtype), whole))
                and (
                    members is None
                    or np.array_equal(
                        _codes(members, self.members), np.tile(self.cell_members, whole)
                    )
                )
            ):
                return _Rows(replicate, np.tile(np.arange(self.size), whole), first)
        return _Rows(replicate, self.cells(dates.astype("datetime64[D]"), members), None)

    def cells(self, dates: np.ndarray, members: Any = None) -> np.ndarray:
        """The cell of each row (month × members + member); ValueError for unknown keys."""
        month = np.minimum(np.searchsorted(self.dates, dates), len(self.dates) - 1)
        unknown = self.dates[month] != dates
        if unknown.any():
            raise ValueError(f"month {dates[unknown][0]} is missing from the first chunk")
        if not self.members:
            return month
        codes = _codes(members, self.members)
        if (codes < 0).any():
            raise ValueError(f"member {np.asarray(members)[codes < 0][0]!r} not in the first chunk")
        return month * len(self.members) + codes


def _codes(values: Any, names: Any) -> np.ndarray:
    """Position of each value in ``names`` (−1 if absent or null); fast for categoricals."""
    index = pd.Index(names)
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes if hasattr(values, "cat") else values.codes)
        lookup = np.append(index.get_indexer(values.dtype.categories), -1)
        return lookup[codes].astype(np.intp)  # code −1 (null) picks the appended −1
    return index.get_indexer(pd.Index(values)).astype(np.intp)


def _statistics(block: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean and quantiles along the replicates ``axis``, NaN skipped as pandas does: (6, cells).

    Partially sorts ``block`` along ``axis`` in place (no copy: each cell keeps its values, only
    their order changes); fastest when the replicates of a cell are contiguous (``axis=-1``)."""
    q = list(QUANTILES.values())
    if not np.isnan(block).any():
        mean = block.mean(axis=axis)
        return np.vstack([mean, np.quantile(block, q, axis=axis, overwrite_input=True)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells give NaN, as pandas
        mean = np.nanmean(block, axis=axis)
        return np.vstack([mean, np.nanquantile(block, q, axis=axis, overwrite_input=True)])


class _Numeric:
    """Mean and quantiles of the numeric columns of one table, per cell, across replicates."""

    def __init__(self, by_member: bool, replicates: int) -> None:
        self.by_member = by_member
        self.replicates = replicates
        self.grid: _Grid | None = None
        self.columns: list[str] = []
        self.count = np.zeros(0, dtype=np.int64)
        self.values: dict[str, np.ndarray] | None = None
        self._in_order = 0  # replicates seen in canonical order so far; -1: not canonical

    def start(self, frame: pd.DataFrame, budget: float) -> tuple[_Grid, float]:
        """Fix cells and columns from the first chunk; keep arrays if they fit in ``budget``.
        Returns the cells and the bytes used."""
        grid = self.grid = _Grid(frame, self.by_member)
        self.columns = numeric_columns(frame)
        self.count = np.zeros(grid.size, dtype=np.int64)
        need = 8.0 * self.replicates * grid.size * len(self.columns)
        if need > budget:
            return grid, 0.0
        shape = (self.replicates, grid.size)
        self.values = {c: np.full(shape, np.nan) for c in self.columns}
        return grid, need

    def add(self, frame: pd.DataFrame, rows: _Rows) -> None:
        """Count the rows of a chunk and keep their values if they fit in memory."""
        self.count += np.bincount(rows.cells, minlength=self.count.size)
        # replicates seen so far in canonical order from replicate 0 (-1: the file is not), so
        # that the second pass can place rows by position without reading the key columns
        in_order = rows.first is not None and rows.first == self._in_order
        self._in_order = self._in_order + len(rows.cells) // self.count.size if in_order else -1
        if self.values is not None:
            for column in self.columns:
                values = frame[column].to_numpy(np.float64)
                self.values[column][rows.replicate, rows.cells] = values

    def statistics(self, path: Path | None, budget: float) -> dict[str, np.ndarray]:
        """Column → (6, cells) statistics, from memory or from the Parquet file ``path``."""
        if self.grid is None:
            return {}
        if self.values is not None:
            return {c: _statistics(v) for c, v in self.values.items()}
        if path is None:
            raise ValueError("the summary needs a second pass but no Parquet file was given")
        return self._second_pass(self.grid, path, budget)

    def _second_pass(self, grid: _Grid, path: Path, budget: float) -> dict[str, np.ndarray]:
        """Read ``path`` back one column and as many cells as fit in ``budget`` at a time."""
        out = {c: np.full((len(STATISTICS), grid.size), np.nan) for c in self.columns}
        step = max(1, int(budget // (8.0 * self.replicates)))
        read = self._read_in_order if self._in_order == self.replicates else self._read_by_key
        memory = np.empty((min(step, grid.size), self.replicates))  # one block, reused
        for column in self.columns:
            for start in range(0, grid.size, step):
                stop = min(start + step, grid.size)
                block = memory[: stop - start]  # cells × replicates
                block.fill(np.nan)
                read(grid, path, column, start, block)
                out[column][:, start:stop] = _statistics(block, axis=1)
        return out

    def _read_in_order(
        self, grid: _Grid, path: Path, column: str, start: int, block: np.ndarray
    ) -> None:
        """Fill ``block`` (cells × replicates) from a file whose rows are replicate by
        replicate, cell by cell."""
        import pyarrow.parquet as pq

        size, stop = grid.size, start + block.shape[0]
        replicate, carry = 0, np.zeros(0)
        source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering reads the whole column
        for batch in source.iter_batches(_BATCH_ROWS, columns=[column]):
            values = np.asarray(batch.column(0).to_numpy(zero_copy_only=False), dtype=np.float64)
            values = np.concatenate([carry, values]) if len(carry) else values
            whole = len(values) // size
            rows = values[: whole * size].reshape(whole, size)
            block[:, replicate : replicate + whole] = rows[:, start:stop].T
            replicate, carry = replicate + whole, values[whole * size :]

    def _read_by_key(
        self, grid: _Grid, path: Path, column: str, start: int, block: np.ndarray
    ) -> None:
        """Fill ``block`` (cells × replicates) from any file, placing each row by its
        replicate, date and member."""
        import pyarrow.parquet as pq

        stop = start + block.shape[0]
        keys = ["replicate", "date", *(["member"] if self.by_member else [])]
        source = pq.ParquetFile(
            path, read_dictionary=["member"] if self.by_member else None, pre_buffer=False
        )
        for batch in source.iter_batches(_BATCH_ROWS, columns=[*keys, column]):
            members = batch.column("member").to_pandas() if self.by_member else None
            cells = grid.cells(_dates(batch.column("date")), members)
            keep = (cells >= start) & (cells < stop)
            replicate = _replicates(batch.column("replicate").to_numpy(), self.replicates)
            values = batch.column(column).to_numpy(zero_copy_only=False)
            block[cells[keep] - start, replicate[keep]] = values[keep]


def _replicates(values: Any, replicates: int) -> np.ndarray:
    replicate = np.asarray(values, dtype=np.int64)
    if len(replicate) and (replicate.min() < 0 or replicate.max() >= replicates):
        raise ValueError(f"replicate index outside 0 … {replicates - 1}")
    return replicate


class _Engagement:
    """Per (month, member): how many replicates are in each state, ever frozen, ever exited."""

    def __init__(self, grid: _Grid) -> None:
        self.grid = grid
        self.n = np.zeros(grid.size, dtype=np.int64)
        self.states = np.zeros((grid.size, len(STATES)), dtype=np.int64)
        self.ever = np.zeros((grid.size, 2), dtype=np.int64)

    def add(self, frame: pd.DataFrame, rows: _Rows) -> None:
        grid, cells = self.grid, rows.cells
        state = _codes(frame["engagement"], STATES)
        known = state >= 0
        self.n += np.bincount(cells, minlength=grid.size)
        flat = np.bincount(cells[known] * len(STATES) + state[known], minlength=self.states.size)
        self.states += flat.reshape(self.states.shape)
        # running "ever" flags per replicate and member along the months of this chunk
        level = np.where(known, _LEVELS[state], -1).astype(np.int8)
        months, width = len(grid.dates), len(grid.members)
        if rows.first is not None:  # canonical order: a reshape, every cell present
            highest = np.maximum.accumulate(level.reshape(-1, months, width), axis=1)
            present: np.ndarray | bool = True
        else:
            _, replicate = np.unique(rows.replicate, return_inverse=True)
            shape = (int(replicate.max()) + 1, months, width)
            month, member = np.divmod(cells, width)
            placed = np.full(shape, -1, dtype=np.int8)
            placed[replicate, month, member] = level
            present = np.zeros(shape, dtype=bool)
            present[replicate, month, member] = True
            highest = np.maximum.accumulate(placed, axis=1)
        for k, threshold in enumerate((FROZEN, EXITED)):
            self.ever[:, k] += ((highest >= threshold) & present).sum(axis=0).ravel()


class Summariser:
    """Build ``summary.csv`` from chunks of the model and members tables, in bounded memory.

    ``replicates`` is the number of replicates of the run (indices ``0 … replicates − 1``);
    ``memory_budget`` bounds the float64 values kept for exact quantiles (``None``: no bound).
    """

    def __init__(self, replicates: int, memory_budget: float | None = MEMORY_BUDGET) -> None:
        self.replicates = replicates
        self.budget = float("inf") if memory_budget is None else float(memory_budget)
        self._left = self.budget
        self._model = _Numeric(by_member=False, replicates=replicates)
        self._members = _Numeric(by_member=True, replicates=replicates)
        self._engagement: _Engagement | None = None

    @property
    def method(self) -> str:
        """``in-memory`` or ``second-pass`` (quantiles read back from the Parquet files)."""
        parts = [p for p in (self._model, self._members) if p.grid is not None and p.columns]
        return "second-pass" if any(p.values is None for p in parts) else "in-memory"

    def add(self, model: pd.DataFrame, members: pd.DataFrame) -> None:
        """Take one chunk of the model and members tables (``replicate`` first)."""
        for part, frame in ((self._model, model), (self._members, members)):
            if not len(frame):
                continue
            grid = part.grid
            if grid is None:
                grid, used = part.start(frame, self._left)
                self._left -= used
            rows = grid.locate(frame, self.replicates)
            part.add(frame, rows)
            if part.by_member:
                self._engagement = self._engagement or _Engagement(grid)
                self._engagement.add(frame, rows)

    def result(self, tables: Mapping[str, Path] | None = None) -> pd.DataFrame:
        """The tidy summary. ``tables``: paths of ``model``/``members`` Parquet files, needed
        only for the second pass."""
        paths = tables or {}
        parts = [
            self._numeric_rows(self._model, paths.get("model")),
            self._numeric_rows(self._members, paths.get("members")),
            self._engagement_rows(),
        ]
        return pd.concat(parts, ignore_index=True)

    def _numeric_rows(self, part: _Numeric, path: Path | None) -> pd.DataFrame:
        if part.grid is None or not part.columns:
            return _frame([], None, [], [], [])
        stats = part.statistics(path, self.budget)
        variables = sorted(part.columns)
        cube = np.stack([stats[v] for v in variables])  # (variables, statistics, cells)
        cells = _cell_order(part.grid)
        cells = cells[part.count[cells] > 0]
        values = cube[:, :, cells].transpose(2, 0, 1).ravel()
        per_cell = len(variables) * len(STATISTICS)
        return _frame(
            np.repeat(_cell_dates(part.grid, cells), per_cell),
            np.repeat(_cell_members(part.grid, cells), per_cell) if part.by_member else None,
            np.tile(np.repeat(variables, len(STATISTICS)), len(cells)),
            np.tile(STATISTICS, len(cells) * len(variables)),
            values,
        )

    def _engagement_rows(self) -> pd.DataFrame:
        part = self._engagement
        if part is None:
            return _frame([], None, [], [], [])
        cells = _cell_order(part.grid)
        cells = cells[part.n[cells] > 0]
        counts = np.hstack([part.states, part.ever])[cells]
        values = (counts / part.n[cells, None]).ravel()
        k = len(ENGAGEMENT_STATISTICS)
        return _frame(
            np.repeat(_cell_dates(part.grid, cells), k),
            np.repeat(_cell_members(part.grid, cells), k),
            np.full(len(values), "engagement", dtype=object),
            np.tile(ENGAGEMENT_STATISTICS, len(cells)),
            values,
        )


def _cell_order(grid: _Grid) -> np.ndarray:
    """Cells by month, then member code in alphabetical order."""
    m = max(1, len(grid.members))
    by_code = np.argsort(np.array(grid.members, dtype=object)) if grid.members else np.zeros(1)
    months = np.arange(len(grid.dates))
    return (months[:, None] * m + by_code.astype(np.intp)[None, :]).ravel()


def _cell_dates(grid: _Grid, cells: np.ndarray) -> np.ndarray:
    return grid.dates[cells // max(1, len(grid.members))]


def _cell_members(grid: _Grid, cells: np.ndarray) -> np.ndarray:
    return np.array(grid.members, dtype=object)[cells % len(grid.members)]


def _frame(dates: Any, members: Any, variables: Any, statistics: Any, values: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(np.asarray(dates, dtype="datetime64[s]")),
            "member": np.full(len(values), None, dtype=object) if members is None else members,
            "variable": np.asarray(variables, dtype=object),
            "statistic": np.asarray(statistics, dtype=object),
            "value": np.asarray(values, dtype=np.float64),
        }
    )


def summarize(model: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Tidy summary of whole tables in memory (any replicate ids): see :class:`Summariser`."""
    ids = np.unique(np.concatenate([model["replicate"], members["replicate"]]).astype(np.int64))
    summariser = Summariser(len(ids), memory_budget=None)
    summariser.add(_renumber(model, ids), _renumber(members, ids))
    return summariser.result()


def _renumber(frame: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    out = frame.copy()
    out["replicate"] = np.searchsorted(ids, frame["replicate"].to_numpy(np.int64))
    return out


def engagement_history(members: pd.DataFrame) -> pd.DataFrame:
    """Per replicate, member and month: engagement plus ``ever_frozen`` and ``ever_exited``."""
    frame = (
        members[["replicate", "date", "member", "engagement"]]
        .sort_values(["replicate", "member", "date"], kind="stable")
        .reset_index(drop=True)
    )
    level = frame["engagement"].map(LEVEL_OF).fillna(-1)
    group = [frame["replicate"], frame["member"]]
    frame["ever_frozen"] = (level >= FROZEN).astype(int).groupby(group).cummax() > 0
    frame["ever_exited"] = (level >= EXITED).astype(int).groupby(group).cummax() > 0
    return frame


def write_summary(summary: pd.DataFrame, path: Path) -> None:
    frame = summary.copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    frame.to_csv(path, index=False, float_format="%.6g")


def final_table(summary: pd.DataFrame) -> dict[str, Any]:
    """Figures for the end-of-run table: final cohesion quantiles and final state probabilities."""
    last = summary["date"].max()
    at_end = summary[summary["date"] == last]
    alliance = at_end[at_end["member"].isna() & (at_end["variable"] == "cohesion")]
    cohesion = dict(zip(alliance["statistic"], alliance["value"], strict=True))
    states = at_end[at_end["variable"] == "engagement"]
    members: dict[str, dict[str, float]] = {}
    for member, rows in states.groupby("member", sort=False):
        members[str(member)] = dict(
            zip(rows["statistic"], rows["value"].astype(float), strict=True)
        )
    return {"date": pd.Timestamp(last), "cohesion": cohesion, "members": members}
