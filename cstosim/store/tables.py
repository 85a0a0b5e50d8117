"""The Parquet tables of a results folder, written chunk by chunk.

Each table has one fixed schema, taken from its first non-empty chunk: ``replicate`` int64,
``date`` date32 (a calendar date), text columns string (pandas ``str``, ``object`` or
``Categorical`` alike), other columns as pandas gives them. Every later chunk is cast to it.

Rows are written in row groups of exactly :data:`ROW_GROUP_ROWS` rows (the last one shorter), as
soon as that many have arrived: a writer holds less than one row group plus one chunk, and the
file's bytes depend only on its rows, not on how they were cut into chunks (so the same seed gives
the same SHA-256 for any ``--jobs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1 << 20
"""Rows per Parquet row group (pyarrow's default maximum)."""

STRING_COLUMNS = {
    "members": ("member", "engagement"),
    "events": ("event_id", "type", "member", "outcome", "consensus", "detail"),
}
"""Text columns of each table (always ``string`` in Parquet, also when all null)."""


def arrow_schema(frame: pd.DataFrame, name: str) -> pa.Schema:
    """The fixed Parquet schema of table ``name`` from one chunk of it."""
    import pyarrow as pa

    inferred = pa.Schema.from_pandas(frame, preserve_index=False)
    fields = []
    for field in inferred:
        kind = field.type
        if field.name == "date":
            kind = pa.date32()
        elif field.name == "replicate":
            kind = pa.int64()
        elif field.name in STRING_COLUMNS.get(name, ()) or _is_text(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind))
    return pa.schema(fields)


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(
        pa.types.is_null(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
    )


def to_arrow(frame: pd.DataFrame, schema: pa.Schema, name: str = "table") -> pa.Table:
    """``frame`` as an Arrow table of ``schema`` (same columns, any order; raises ValueError)."""
    import pyarrow as pa

    if set(frame.columns) != set(schema.names):
        missing = sorted(set(schema.names) - set(frame.columns))
        extra = sorted(set(frame.columns) - set(schema.names))
        raise ValueError(f"{name} table: columns differ between chunks: {missing=} {extra=}")
    table = pa.Table.from_pandas(frame[schema.names], preserve_index=False)
    columns = []
    for field, column in zip(schema, table.columns, strict=True):
        if pa.types.is_date32(field.type) and pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("s"))
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _options(schema: pa.Schema) -> dict[str, Any]:
    """Parquet writer options: dictionary encoding for keys and text only (measured: floats
    rarely repeat, and trying to dictionary-encode them halves the writing speed)."""
    import pyarrow as pa

    return {"use_dictionary": [f.name for f in schema if not pa.types.is_floating(f.type)]}


class TableWriter:
    """Append chunks of one table to a Parquet file in row groups of ``row_group_rows`` rows."""

    def __init__(self, path: Path, name: str, row_group_rows: int | None = None) -> None:
        self.path = Path(path)
        self.name = name
        self.rows = 0
        self.row_group_rows = row_group_rows or ROW_GROUP_ROWS
        self.schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None
        self._empty: pd.DataFrame | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (an empty one only fixes the columns if nothing else comes)."""
        if not len(frame):
            if self.schema is None:
                self._empty = frame
            return
        import pyarrow.parquet as pq

        if self._writer is None or self.schema is None:
            self.schema = arrow_schema(frame, self.name)
            self._writer = pq.ParquetWriter(self.path, self.schema, **_options(self.schema))
        self._pending.append(to_arrow(frame, self.schema, self.name))
        self._pending_rows += len(frame)
        self.rows += len(frame)
        if self._pending_rows >= self.row_group_rows:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        """Write the whole row groups held (and the rest too if ``final``)."""
        import pyarrow as pa

        if self._writer is None or not self._pending:
            return
        table = pa.concat_tables(self._pending)
        size = self.row_group_rows
        whole = len(table) if final else len(table) // size * size
        self._writer.write_table(table.slice(0, whole), row_group_size=size)
        rest = table.slice(whole)
        self._pending = [rest] if len(rest) else []
        self._pending_rows = len(rest)

    def close(self) -> int:
        """Finish the file (an empty table with the columns seen if no row came); the rows."""
        if self._writer is not None:
            self._flush(final=True)
            self._writer.close()
            self._writer = None
        elif not self.path.exists():
            import pyarrow.parquet as pq

            empty = self._empty if self._empty is not None else pd.DataFrame({"replicate": []})
            schema = arrow_schema(empty, self.name)
            pq.write_table(to_arrow(empty, schema, self.name), self.path, **_options(schema))
        return self.rows

    def abort(self) -> None:
        """Close the file after a failure (its folder is about to be removed)."""
        self._pending = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def write_table(frame: pd.DataFrame, path: Path, name: str) -> None:
    """Write one whole table as Parquet: ``date`` as a calendar date, text columns as strings."""
    writer = TableWriter(path, name)
    writer.write(frame)
    writer.close()


def read_table(path: Path) -> pd.DataFrame:
    """A table read back, ``date`` as datetime64."""
    frame = pd.read_parquet(path)
    if "date" in frame.columns:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame
