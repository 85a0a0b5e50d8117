"""A small YAML writer for mutated data, which can write what a well-behaved dumper never does.

Besides dicts, lists and scalars it writes

* :class:`Raw`: YAML text written as it is (``.nan``, ``!!python/object ...``, ``*alias``, a
  deep ``[[[...]]]``, an alias bomb), on one line;
* :class:`Key`: a mapping key written as given; each ``Key`` is a distinct dict key even when
  its text equals another key's, so ``{"id": 1, Key("id"): 2}`` writes a duplicate key;
* :class:`Anchored`: a value with an anchor (``&name``), for aliases written later.

Strings are written plain when that reads back as the same string, else double-quoted with
escapes (so control characters and lone surrogates survive as ``\\x07`` or ``\\ud800``).
Mappings and lists are written in block style, or in flow style (as the shipped files write
events) when ``flow`` says so.
"""

from __future__ import annotations

import json
import math
import random
import re
from typing import Any


class Raw(str):
    """YAML text to write as it is, in place of a value (one line)."""


class Key(str):
    """A mapping key written as it is (no quoting); distinct from every other key."""

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


class Anchored:
    """``value`` written with the anchor ``&name``."""

    def __init__(self, name: str, value: Any):
        self.name = name
        self.value = value


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$|^\d{4}-\d{2}(-\d{2})?$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "nan", "inf"}


def scalar(value: Any) -> str:
    """The YAML text of a scalar."""
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, Key):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return quoted(text)


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar; everything unprintable written as an escape."""
    out = []
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c.isprintable() and not ("\ud800" <= c <= "\udfff"):
            out.append(c)
        elif ord(c) <= 0xFF:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def _is_leaf(value: Any) -> bool:
    if isinstance(value, Anchored):
        return _is_leaf(value.value)
    return not isinstance(value, dict | list) or not value


def flow(value: Any) -> str:
    """``value`` in flow style, on one line."""
    if isinstance(value, Anchored):
        return f"&{value.name} {flow(value.value)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def key(k: Any) -> str:
    if isinstance(k, Key | Raw):
        return str(k)
    if isinstance(k, str):
        return scalar(k) if not isinstance(k, bool) else quoted(str(k))
    return scalar(k)


def emit(data: Any, rnd: random.Random | None = None, flow_share: float = 0.0) -> str:
    """YAML text of ``data``; with ``rnd``, each mapping or list in a list is written in flow
    style with probability ``flow_share`` (the shipped files write events that way)."""
    lines: list[str] = []
    _block(data, 0, lines, rnd, flow_share)
    return "\n".join(lines) + "\n"


def _use_flow(value: Any, rnd: random.Random | None, share: float) -> bool:
    return rnd is not None and share > 0 and rnd.random() < share


def _block(
    data: Any, indent: int, lines: list[str], rnd: random.Random | None, share: float
) -> None:
    pad = " " * indent
    anchor = ""
    if isinstance(data, Anchored):
        anchor, data = f"&{data.name} ", data.value
    if _is_leaf(data):
        lines.append(pad + anchor + flow(data))
        return
    if anchor:  # a top-level anchored collection: write it in flow style
        lines.append(pad + anchor + flow(data))
        return
    if isinstance(data, dict):
        for k, v in data.items():
            _entry(f"{pad}{key(k)}:", v, indent, lines, rnd, share)
        return
    for item in data:
        inner = item.value if isinstance(item, Anchored) else item
        mark = f"&{item.name} " if isinstance(item, Anchored) else ""
        if _is_leaf(inner) or _use_flow(inner, rnd, share) or mark:
            lines.append(f"{pad}- {mark}{flow(inner)}")
        elif isinstance(inner, dict):
            sub: list[str] = []
            _block(inner, indent + 2, sub, rnd, share)
            lines.append(f"{pad}- {sub[0].lstrip()}")
            lines.extend(sub[1:])
        else:
            lines.append(f"{pad}-")
            _block(inner, indent + 2, lines, rnd, share)


def _entry(
    head: str, value: Any, indent: int, lines: list[str], rnd: random.Random | None, share: float
) -> None:
    anchor = ""
    inner = value
    if isinstance(value, Anchored):
        anchor, inner = f" &{value.name}", value.value
    if _is_leaf(inner) or _use_flow(inner, rnd, share * 0.3):
        lines.append(f"{head}{anchor} {flow(inner)}")
        return
    lines.append(f"{head}{anchor}")
    _block(inner, indent + 2, lines, rnd, share)


def to_json_safe(value: Any) -> Any:
    """``value`` with the writer's markers replaced by plain data (for logs)."""
    if isinstance(value, Anchored):
        return {"&" + value.name: to_json_safe(value.value)}
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if value is None or isinstance(value, int | float | str) else json.dumps(value)
