"""Streamed Parquet tables: one fixed schema per table, chunks appended as row groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cstosim.store.tables import TableWriter, arrow_schema, read_table, to_arrow


def events(replicate: int, text: str = "str", rows: int = 2) -> pd.DataFrame:
    """A chunk of an events table; text columns as pandas ``str``, ``object`` or categories."""
    frame = pd.DataFrame(
        {
            "replicate": np.full(rows, replicate, dtype=np.int64),
            "date": pd.to_datetime(["2022-01-05", "2022-02-01"][:rows]),
            "event_id": ["a", "endogenous:ARM:froze:2022-02"][:rows],
            "type": ["summit", "engagement"][:rows],
            "member": [None, "ARM"][:rows],
            "response": [np.nan, 0.5][:rows],
            "outcome": ["passed", "froze"][:rows],
            "delay_days": [np.nan, 2.0][:rows],
            "consensus": [None, None][:rows],
            "detail": ["x", "y"][:rows],
        }
    )
    text_columns = ["event_id", "type", "member", "outcome", "consensus", "detail"]
    if text == "object":
        frame[text_columns] = frame[text_columns].astype(object)
    elif text == "category":
        frame[text_columns] = frame[text_columns].astype("category")
    return frame


def test_schema_is_fixed_and_text_is_string() -> None:
    schema = arrow_schema(events(0, "category"), "events")
    assert schema.field("replicate").type == pa.int64()
    assert schema.field("date").type == pa.date32()
    for name in ("event_id", "type", "member", "outcome", "consensus", "detail"):
        assert schema.field(name).type == pa.string(), name
    assert schema.field("response").type == pa.float64()
    assert arrow_schema(events(0, "object"), "events") == schema
    assert arrow_schema(events(0, "str"), "events") == schema


def test_chunks_of_any_text_kind_append_in_fixed_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    writer = TableWriter(path, "events", row_group_rows=4)
    writer.write(events(0, "category"))
    writer.write(events(1, "object").iloc[0:0])  # a chunk without events
    writer.write(events(2, "str"))
    writer.write(events(3, "object")[["detail", *events(3).columns[:-1]]])  # another column order
    assert writer.close() == 6
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4, 2]
    assert pq.read_schema(path).field("consensus").type == pa.string()
    back = read_table(path)
    assert list(back["replicate"]) == [0, 0, 2, 2, 3, 3]
    assert list(back.columns) == list(events(0).columns)
    assert back["member"].isna().tolist() == [True, False] * 3
    assert str(back["date"].iloc[0].date()) == "2022-01-05"


def test_file_bytes_do_not_depend_on_the_chunks(tmp_path: Path) -> None:
    whole = pd.concat([events(k) for k in range(9)], ignore_index=True)
    files = []
    for size in (1, 2, 5, 18):
        path = tmp_path / f"chunks-{size}.parquet"
        writer = TableWriter(path, "events", row_group_rows=4)
        for start in range(0, len(whole), size):
            writer.write(whole.iloc[start : start + size])
        writer.close()
        files.append(path.read_bytes())
    assert pq.ParquetFile(tmp_path / "chunks-1.parquet").num_row_groups == 5  # 4+4+4+4+2 rows
    assert all(data == files[0] for data in files)


def test_a_chunk_with_other_columns_is_refused(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path / "events.parquet", "events")
    writer.write(events(0))
    with pytest.raises(ValueError, match=r"columns differ between chunks.*extra=\['x'\]"):
        writer.write(events(1).assign(x=1.0))
    writer.abort()


def test_no_rows_at_all_keeps_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    writer = TableWriter(path, "events")
    writer.write(events(0, rows=0))
    assert writer.close() == 0
    back = pd.read_parquet(path)
    assert list(back.columns) == list(events(0).columns) and len(back) == 0
    assert pq.read_schema(path).field("event_id").type == pa.string()


def test_to_arrow_casts_timestamps_to_dates() -> None:
    frame = events(0)
    table = to_arrow(frame, arrow_schema(frame, "events"))
    assert table.column("date").to_pylist()[1].isoformat() == "2022-02-01"
