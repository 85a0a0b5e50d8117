"""Mutations of a seed file into a *case*: the files to write, the file to check, a log.

A case is a pure function of a seed and a list of integers (one per mutation), so a failure is
reproduced from ``(seed, mutations)`` alone. Each integer seeds a PRNG that picks one
operator and its operands:

* operators on the data (then written with :mod:`.emit`): deleted, duplicated and renamed keys,
  wrong types, NaN/inf/huge numbers, unicode (controls, bidi, zero-width, lone surrogates as
  escapes), very long strings and lists, deep nesting, aliases (billion laughs, reused and
  recursive anchors, merge keys), tags, values moved elsewhere, edited timelines, ``extends``
  cycles, missing, odd or special parents (folders, devices, FIFOs, symlink loops), mutated
  parents; for experiment files: factor paths and specs, samplers, outcomes, base scenarios;
  and changes that keep a file valid (values at the edges of their range, dates at the
  calendar's ends, engagements), so that enough files are accepted to be run;
* operators on the bytes (applied after the data operators): bit and byte flips, inserted
  and deleted bytes, truncation, duplicated, deleted, swapped and re-indented lines, raw
  values written into a line, pieces of other seeds spliced in, documents and directives,
  other encodings.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cstosim.language import scenario as scenario_language

from .corpus import EXPERIMENT_SEEDS, HEADER, SCENARIO_SEEDS, Seed, seed
from .emit import Anchored, Key, Raw, emit, quoted, to_json_safe
from .emit import key as key_text


@dataclass
class Case:
    """A mutated input: files (relative to the workspace) and the one to check."""

    seed: str
    kind: str  # "scenario" or "experiment"
    main: str
    files: dict[str, bytes] = field(default_factory=dict)
    specials: dict[str, str] = field(default_factory=dict)  # path -> dir | fifo | link:TARGET
    sets: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "kind": self.kind,
            "main": self.main,
            "files": sorted(self.files),
            "specials": self.specials,
            "sets": self.sets,
            "mutations": self.log,
        }


# --------------------------------------------------------------------------------------------
# Pools of awkward values
# --------------------------------------------------------------------------------------------

NUMBERS = [
    ".nan",
    ".NaN",
    "-.nan",
    ".inf",
    "-.inf",
    "+.inf",
    ".Inf",
    "1e309",
    "-1e309",
    "1.7976931348623157e308",
    "5e-324",
    "-0.0",
    "-0",
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "1.0000000000000002",
    "0.9999999999999999",
    "1e-12",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1" + "0" * 400,
    "-" + "9" * 5000,
    "0x10",
    "0o17",
    "010",
    "1_000",
    "+1",
    ".5",
    "1.",
    "1e3",
    "1E-3",
    "6.02e23",
    "12:30:00",
    "1,5",
    "0b101",
    "!!float 1",
    "!!int '3'",
    "!!float .nan",
    "!!float '1e999'",
    "!!int 0x7fffffffffffffffffffffffffff",
]
OTHER_TYPES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    3,
    0.5,
    1e300,
    "",
    " ",
    "x",
    "0.5",
    "yes",
    "no",
    "on",
    "null",
    "~",
    [],
    {},
    [1, "a"],
    {"a": 1},
    [[[]]],
    {"id": "x", "type": "join"},
    "2022-13",
    "2022-02-30",
    "2023-02-29",
    "2024-02-29",
    "0000-01",
    "9999-12",
    "1799-12",
    "1800-01",
    "2200-12",
    "2201-01",
    "2022-1",
    "22-01",
    "2022-01-01T00:00:00Z",
    "2022-01-05 10:00",
    "-2022-01",
    "+2022-01",
    "2022-01-00",
    "2022-12-32",
    Raw("2022-01-05"),
    Raw("2022-01-05T10:00:00+02:00"),
    Raw("!!timestamp 2022-01-05"),
    Raw("yes"),
    Raw("Off"),
    Raw("~"),
    Raw("''"),
    Raw("|-\n"),
]
SPECIAL_CHARS = [
    "\x00",
    "\x07",
    "\x08",
    "\x1b[31m",
    "\x7f",
    "\r",
    "\n",
    "\t",
    "\x85",
    "\xa0",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200f",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\U0001f600",
    "e\u0301",
    "\u0301",
    "\ud800",
    "\udfff",
    "\ud83d",
    "\uff21",
    "\u0410",
    "\u01c5",
    "\U0010ffff",
    "\U000e0001",
    "\u0000x",
    "\\",
    '"',
    "'",
    ": ",
    " #",
    "{",
    "[",
    "&",
    "*",
    "!",
    "%",
    "@",
    "`",
    "|",
    ">",
    "\nx.yaml: ok",
    "\x1b]0;title\x07",
]
KNOWN_FIELDS = [
    "extends",
    "events",
    "observations",
    "add_events",
    "remove_events",
    "patch_events",
    "add_observations",
    "remove_observations",
    "patch_observations",
    "ranges",
    "parameters",
    "members",
    "actors",
    "sources",
    "calendar",
    "schema_version",
    "name",
    "title",
    "id",
    "type",
    "kind",
    "date",
    "member",
    "leading",
    "joined",
    "initial",
    "threats",
    "ties",
    "pull",
    "pull_growth",
    "imposed_response",
    "requested",
    "scenario",
    "scenarios",
    "factors",
    "outcomes",
    "sampler",
    "replicates",
    "seed",
    "until",
    "factors_from_ranges",
    "engine",
    "levels",
    "low",
    "high",
    "<<",
    "",
]
SHOCK_TARGETS = [
    "parameters.hysteresis",
    "parameters.nope",
    "parameters.threshold_deployment",
    "parameters.threshold_statements",
    "members.ARM.exit_cost",
    "members.ARM.initial.alignment",
    "members.ARM",
    "members.ARM.threats.AZE",
    "members.ARM.threats.NOPE",
    "members.NOPE.exit_cost",
    "members.LDR.capacity",
    "members.ALP.ties.BRV",
    "actors.WEST.pull.ARM",
    "actors.WEST.pull.NOPE",
    "actors.WEST.pull_growth",
    "actors.AGG.ties.LDR",
    "actors.OUT.pull.ALP",
    "actors.CHN.kind",
    "events.x.severity",
    "calendar.end",
    "",
    ".",
    "a..b",
    "parameters.",
    "members.ARM.exit_cost.x",
]
FACTOR_PATHS = [
    *SHOCK_TARGETS,
    "members.ARM.initial.credibility",
    "members.ARM.initial.engagement",
    "members.ARM.name",
    "members.ARM.leading",
    "members.ARM.joined",
    "members.KAZ.dependence",
    "events.arm-invokes.severity",
    "events.arm-invokes.date",
    "events.arm-invokes.type",
    "events.arm-invokes.id",
    "events.arm-invokes.imposed_response",
    "events.arm-invokes.aggressor",
    "events.eagle-partner-2023.strength",
    "events.nope.severity",
    "parameters.weight_grievance",
    "parameters.learning_caller",
    "parameters.hazard_base",
    "parameters.threshold_token_force",
    "parameters.threshold_fact_finding",
    "scenario",
    "sources.x.title",
    "ranges.x.low",
]
EXTENDS_ODD: list[Any] = [
    "no-such-parent.yaml",
    ".",
    "..",
    "experiments",
    "/",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
    "/dev/stdin",
    "/proc/self/mem",
    "/proc/self/status",
    "/etc/passwd",
    "x" * 300,
    "a/" * 3000,
    "a\x00b.yaml",
    "\ud800.yaml",
    "csto-2022-2023.yaml\n",
    " csto-2022-2023.yaml",
    "CSTO-2022-2023.YAML",
    "csto-2022-2023.yaml/",
    "csto-2022-2023.yml",
    "example-triad.yaml",
    "csto-history-1992-2023.yaml",
    "csto-cf-armenia-answered.yaml",
    "experiments/armenia-exit.yaml",
    "../scenarios/csto-2022-2023.yaml",
    "./csto-2022-2023.yaml",
    "~/csto-2022-2023.yaml",
    "file:///etc/passwd",
    "https://example.org/x.yaml",
    "",
    " ",
    5,
    0.5,
    True,
    None,
    [],
    ["csto-2022-2023.yaml"],
    {"a": 1},
]
SAMPLERS: list[Any] = [
    {"method": "sobol", "n": 2},
    {"method": "sobol", "n": 0},
    {"method": "sobol", "n": 3},
    {"method": "sobol", "n": 1},
    {"method": "sobol", "n": 1 << 20},
    {"method": "sobol", "n": 1 << 19},
    {"method": "sobol", "n": 2, "levels": 4},
    {"method": "morris", "n": 2},
    {"method": "morris", "n": 2, "levels": 3},
    {"method": "morris", "n": 1, "levels": 1000},
    {"method": "morris", "n": 1_000_000},
    {"method": "latin", "n": 1},
    {"method": "latin", "n": 2},
    {"method": "latin", "n": 10_000_000},
    {"method": "full-factorial"},
    {"method": "full-factorial", "levels": 2},
    {"method": "full-factorial", "levels": 1000},
    {"method": "full-factorial", "n": 4},
    {"method": "grid", "n": 2},
    {"method": "latin"},
    {},
    {"method": "latin", "n": 2.5},
    {"method": "latin", "n": "2"},
    {"method": "latin", "n": True},
]
OUTCOMES: list[Any] = [
    {"kind": "reached", "member": "ARM", "rung": "exited"},
    {"kind": "reached", "member": "NOPE", "rung": "exited"},
    {"kind": "reached", "member": "ARM", "rung": "active"},
    {"kind": "reached", "member": "ARM", "rung": "frozen", "by": "1800-01"},
    {"kind": "reached", "member": "ARM", "rung": "frozen", "by": "2200-12"},
    {"kind": "reached", "member": "ARM", "rung": "frozen", "by": "2022-13"},
    {"kind": "time_to", "rung": "frozen"},
    {"kind": "time_to", "member": "KAZ", "rung": "disengaged"},
    {"kind": "metric", "metric": "cohesion"},
    {"kind": "metric", "metric": "alignment", "member": "ARM"},
    {"kind": "metric", "metric": "alignment"},
    {"kind": "metric", "metric": "nope", "at": "2023-01"},
    {"kind": "metric", "metric": "cohesion", "at": "1999-01"},
    {"kind": "exits"},
    {"kind": "exits", "at": "2023-11"},
    {"kind": "fracture"},
    {"kind": "fracture", "blocs_at_least": 2},
    {"kind": "fracture", "engaged_below": 0.0},
    {"kind": "fracture", "blocs_at_least": 101, "engaged_below": 1.5},
    {"kind": "consensus_failures"},
    {"kind": "consensus_failures", "event_type": "summit", "by": "2023-11-23"},
    {"kind": "consensus_failures", "event_type": "war"},
    {"kind": "nope"},
    {},
    [],
    None,
]


def _pick(rnd: random.Random, pool: list[Any]) -> Any:
    return copy.deepcopy(pool[rnd.randrange(len(pool))])


def funny_text(rnd: random.Random, base: str = "") -> str:
    """``base`` with one to three awkward characters inserted."""
    text = base
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randint(0, len(text))
        text = text[:at] + _pick(rnd, SPECIAL_CHARS) + text[at:]
    return text


_CAP: list[int] = []  # the max_size of the make_case call under way (see make_case)


def _capped(size: int) -> int:
    return min(size, _CAP[-1]) if _CAP else size


def long_text(rnd: random.Random) -> str:
    size = _capped(rnd.choice([256, 1000, 4097, 20_000, 100_000, 400_000]))
    unit = rnd.choice(["x", "ab", "é", "\U0001f600", "a-", "A", " ", "\\n", "0"])
    return (unit * (size // len(unit) + 1))[:size]


def deep_raw(rnd: random.Random) -> Raw:
    depth = rnd.choice([32, 63, 64, 65, 66, 100, 255, 256, 493, 1000, 5000, 100_000])
    depth = min(depth, max(_capped(depth * 4) // 4, 66))
    style = rnd.randrange(4)
    if style == 0:
        return Raw("[" * depth + "]" * depth)
    if style == 1:
        return Raw("{a: " * depth + "1" + "}" * depth)
    if style == 2:
        return Raw("[{a: " * (depth // 2) + "x" + "}]" * (depth // 2))
    return Raw("[" * depth + "1" + ", 2]" + "]" * (depth - 1))


def deep_data(rnd: random.Random) -> Any:
    depth = rnd.choice([30, 60, 62, 63, 64, 65, 120])
    node: Any = rnd.choice([1, "x", [], {}])
    for _ in range(depth):
        node = {"a": node} if rnd.random() < 0.5 else [node]
    return node


def bomb(rnd: random.Random, name: str) -> Raw:
    """A "billion laughs" value: each level repeats the previous one ``k`` times."""
    if rnd.random() < 0.3:  # wide: one anchor, many aliases
        size, count = rnd.choice([(10, 5), (100, 999), (100, 1001), (1000, 200), (10, 20_000)])
        first = f"&{name}0 [" + ", ".join(["lol"] * size) + "]"
        return Raw("[" + ", ".join([first, *([f"*{name}0"] * count)]) + "]")
    k = rnd.randint(2, 10)
    levels = rnd.randint(2, 12)
    parts = [f"&{name}0 [" + ", ".join(["lol"] * k) + "]"]
    for i in range(1, levels):
        parts.append(f"&{name}{i} [" + ", ".join([f"*{name}{i - 1}"] * k) + "]")
    if rnd.random() < 0.5:
        return Raw("[" + ", ".join(parts) + "]")
    inner = "{" + ", ".join(f"l{i}: {p}" for i, p in enumerate(parts)) + "}"
    return Raw(inner)


TAGGED = [
    "!!python/object/apply:os.system ['echo pwned > /tmp/fuzz-pwned']",
    "!!python/name:os.system",
    "!!python/object:builtins.dict {}",
    "!!python/tuple [1, 2]",
    "!foo bar",
    "!!binary aGVsbG8=",
    "!!set {a: null}",
    "!!omap [{a: 1}]",
    "!!pairs [{a: 1}]",
    "!!str 5",
    "!!str",
    "!!int '7'",
    "!!float '0.5'",
    "!!bool 'yes'",
    "!!null ''",
    "!!timestamp 2022-01-01",
    "!<tag:yaml.org,2002:str> x",
    "!<tag:yaml.org,2002:float> .nan",
    "!<!> x",
    "! x",
    "!!map {a: 1}",
    "!!seq [1]",
    "!!merge x",
    "!!value x",
    "!e!x 1",
    "!<tag:yaml.org,2002:python/object:os.system> x",
]


# --------------------------------------------------------------------------------------------
# Walking the data
# --------------------------------------------------------------------------------------------

Path_ = tuple[Any, ...]


def paths(node: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path into ``node`` in document order (not into anchors or raw text)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def get(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


def put(root: Any, path: Path_, value: Any) -> None:
    get(root, path[:-1])[path[-1]] = value


def leaves(data: Any, want: Callable[[Any], bool]) -> list[Path_]:
    return [p for p in paths(data)[1:] if want(get(data, p))]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


@cache
def bounds_by_name() -> dict[str, tuple[float | None, float | None]]:
    """Field name -> (minimum, maximum) from the JSON Schemas of the two languages."""
    from cstosim.language.scenario import json_schema

    schemas: list[Any] = [json_schema()]
    try:
        from cstosim.language.experiment import json_schema as experiment_schema

        schemas.append(experiment_schema())
    except ImportError:  # pragma: no cover - a tree without the experiment language
        pass
    out: dict[str, tuple[float | None, float | None]] = {}

    def walk(node: Any, name: str | None) -> None:
        if isinstance(node, dict):
            low = node.get("minimum", node.get("exclusiveMinimum"))
            high = node.get("maximum", node.get("exclusiveMaximum"))
            if name is not None and (low is not None or high is not None):
                out.setdefault(name, (low, high))
            for k, v in node.items():
                if k == "properties" and isinstance(v, dict):
                    for prop, sub in v.items():
                        walk(sub, prop)
                else:
                    walk(v, name if k in ("patternProperties", "additionalProperties") else None)
                    if k in ("anyOf", "oneOf", "allOf"):
                        for sub in v:
                            walk(sub, name)
        elif isinstance(node, list):
            for v in node:
                walk(v, name)

    for schema in schemas:
        walk(schema, None)
    return out


# --------------------------------------------------------------------------------------------
# The builder of a case
# --------------------------------------------------------------------------------------------


class Builder:
    """The state of a case while mutations are applied."""

    def __init__(self, origin: Seed, tag: str):
        self.origin = origin
        self.tag = tag
        self.data: Any = None  # set by the first data mutation
        self.text = origin.text
        folder = origin.folder
        self.folder = folder
        self.main = f"{folder}/fz-{tag}.yaml"
        self.case = Case(seed=origin.name, kind=origin.kind, main=self.main)

    def ensure_data(self) -> Any:
        if self.data is None:
            self.data = copy.deepcopy(self.origin.data)
        return self.data

    def log(self, text: str) -> None:
        self.case.log.append(text if len(text) < 300 else text[:297] + "...")


def _show(value: Any) -> str:
    try:
        text = json.dumps(to_json_safe(value), ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _fmt(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "<root>"


# ---- operators on the data ----------------------------------------------------------------


def op_delete(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    candidates = paths(data)[1:]
    if not candidates:
        return
    path = rnd.choice(candidates)
    parent = get(data, path[:-1])
    del parent[path[-1]]
    b.log(f"delete {_fmt(path)}")


def _list_at(data: dict[str, Any], key: str) -> list[Any]:
    """``data[key]`` if it is a list, else a new empty list."""
    value = data.get(key)
    return value if isinstance(value, list) else []


def _dict_at(data: dict[str, Any], key: str) -> dict[Any, Any]:
    """``data[key]`` if it is a mapping, else a new empty mapping."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _mappings(data: Any) -> list[Path_]:
    return [p for p in paths(data) if isinstance(get(data, p), dict) and get(data, p)]


def _some_mapping(data: Any, rnd: random.Random) -> tuple[Path_, dict[Any, Any]] | None:
    """The path of a random non-empty mapping of ``data``, and the mapping (None: none)."""
    maps = _mappings(data)
    if not maps:
        return None
    path = rnd.choice(maps)
    return path, get(data, path)


def op_duplicate_key(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    if (found := _some_mapping(data, rnd)) is None:
        return
    path, node = found
    name = rnd.choice(list(node))
    value = copy.deepcopy(node[name]) if rnd.random() < 0.5 else _pick(rnd, OTHER_TYPES)
    items = list(node.items())
    at = rnd.randint(0, len(items))
    items.insert(at, (Key(_key_text(name)), value))
    node.clear()
    node.update(items)
    b.log(f"duplicate key {_fmt((*path, name))} = {_show(value)}")


def _key_text(name: Any) -> str:
    return key_text(name)


def op_wrong_type(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    candidates = paths(data)[1:]
    if not candidates:
        return
    path = rnd.choice(candidates)
    value = _pick(rnd, OTHER_TYPES)
    put(data, path, value)
    b.log(f"type {_fmt(path)} = {_show(value)}")


def op_number(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    numbers = leaves(data, _is_number)
    candidates = numbers if numbers and rnd.random() < 0.8 else paths(data)[1:]
    if not candidates:
        return
    path = rnd.choice(candidates)
    value = Raw(rnd.choice(NUMBERS))
    put(data, path, value)
    b.log(f"number {_fmt(path)} = {value[:40]}")


def op_unicode(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    texts = leaves(data, lambda v: isinstance(v, str) and not isinstance(v, Raw))
    if rnd.random() < 0.3:  # a key
        if (found := _some_mapping(data, rnd)) is None:
            return
        path, node = found
        old = rnd.choice(list(node))
        new = funny_text(rnd, str(old))
        items = [((Key(quoted(new)) if k == old else k), v) for k, v in node.items()]
        node.clear()
        node.update(items)
        b.log(f"unicode key {_fmt((*path, old))} -> {new!a}")
        return
    if not texts:
        return
    path = rnd.choice(texts)
    new = funny_text(rnd, get(data, path))
    raw = rnd.random() < 0.25 and all(c.isprintable() or c == "\t" for c in new)
    put(data, path, Raw('"' + new.replace("\\", "\\\\").replace('"', '\\"') + '"') if raw else new)
    b.log(f"unicode {_fmt(path)} = {new!a}"[:200])


def op_long(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    choice = rnd.randrange(4)
    if choice == 0:  # a long value
        texts = leaves(data, lambda v: isinstance(v, str)) or paths(data)[1:]
        path = rnd.choice(texts)
        value = long_text(rnd)
        put(data, path, value)
        b.log(f"long value {_fmt(path)} ({len(value)} chars)")
    elif choice == 1:  # a long key
        if (found := _some_mapping(data, rnd)) is None:
            return
        path, node = found
        node[long_text(rnd)] = 1
        b.log(f"long key in {_fmt(path)}")
    elif choice == 2:  # a long list made of copies of one of its items
        lists = [p for p in paths(data) if isinstance(get(data, p), list) and get(data, p)]
        if not lists:
            return
        path = rnd.choice(lists)
        node = get(data, path)
        count = min(rnd.choice([10, 50, 300, 600]), max(_capped(24_000) // 40, 10))
        item = rnd.choice(node)
        node.extend(copy.deepcopy(item) for _ in range(count))
        b.log(f"long list {_fmt(path)} (+{count} copies)")
    else:  # a long slug id or code: valid forms, long
        ids = leaves(data, lambda v: isinstance(v, str)) or paths(data)[1:]
        path = rnd.choice(ids)
        size = _capped(rnd.choice([100, 5000, 100_000]))
        value = "a" * size if rnd.random() < 0.5 else "A" * size
        put(data, path, value)
        b.log(f"long slug {_fmt(path)} ({size})")


def _put_anywhere(b: Builder, rnd: random.Random, value: Any, what: str) -> None:
    """Put ``value`` at a random place of the data; log ``what`` (``{path}`` for the place)."""
    data = b.ensure_data()
    path = rnd.choice(paths(data)[1:] or [("x",)])
    put(data, path, value)
    b.log(what.format(path=_fmt(path)))


def op_deep(b: Builder, rnd: random.Random) -> None:
    value = deep_raw(rnd) if rnd.random() < 0.6 else deep_data(rnd)
    size = len(str(value)) if isinstance(value, Raw) else "block"
    _put_anywhere(b, rnd, value, f"deep {{path}} ({size})")


def op_alias(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    all_paths = paths(data)[1:]
    if len(all_paths) < 2:
        return
    kind = rnd.randrange(6)
    name = f"fz{rnd.randrange(1000)}"
    if kind == 0:
        path = rnd.choice(all_paths)
        put(data, path, bomb(rnd, name))
        b.log(f"alias bomb at {_fmt(path)}")
    elif kind == 1:  # reuse an earlier value later (duplicate ids, members as actors...)
        i, j = sorted(rnd.sample(range(len(all_paths)), 2))
        first, later = all_paths[i], all_paths[j]
        if later[: len(first)] == first:
            return _recursive(b, data, first, later, name)
        value = get(data, first)
        put(data, later, Raw(f"*{name}"))
        put(data, first, Anchored(name, value))
        b.log(f"alias {_fmt(later)} = *{_fmt(first)}")
    elif kind == 2:
        path = rnd.choice(all_paths)
        put(data, path, Raw(rnd.choice([f"&{name} [*{name}]", f"&{name} {{a: *{name}}}"])))
        b.log(f"recursive alias at {_fmt(path)}")
    elif kind == 3:  # merge key
        maps = _mappings(data)
        if len(maps) < 2:
            return
        i, j = sorted(rnd.sample(range(len(maps)), 2))
        first, later = maps[i], maps[j]
        if later[: len(first)] == first:
            return
        get(data, later)[Key("<<")] = Raw(f"*{name}")
        put(data, first, Anchored(name, get(data, first)))
        b.log(f"merge key in {_fmt(later)} from {_fmt(first)}")
    elif kind == 4:
        path = rnd.choice(all_paths)
        put(data, path, Raw(rnd.choice(["*nope", "&a", "& x", "*", "&a *b", "[&a 1, &a 2, *a]"])))
        b.log(f"odd anchor at {_fmt(path)}")
    else:  # an alias as a key
        if (found := _some_mapping(data, rnd)) is None:
            return
        path, node = found
        node[Key(f"&{name} k")] = 1
        node[Key(f"? *{name}")] = 2
        b.log(f"alias key in {_fmt(path)}")
    return None


def _recursive(b: Builder, data: Any, first: Path_, later: Path_, name: str) -> None:
    put(data, later, Raw(f"*{name}"))
    put(data, first, Anchored(name, get(data, first)))
    b.log(f"recursive alias {_fmt(later)} inside {_fmt(first)}")


def op_tag(b: Builder, rnd: random.Random) -> None:
    value = Raw(rnd.choice(TAGGED))
    _put_anywhere(b, rnd, value, "tag {path} = " + str(value).replace("{", "{{").replace("}", "}}"))


def op_move(b: Builder, rnd: random.Random) -> None:
    """A value from elsewhere in the same file: realistic values in the wrong place."""
    data = b.ensure_data()
    all_paths = paths(data)[1:]
    if len(all_paths) < 2:
        return
    src, dst = rnd.sample(all_paths, 2)
    if dst[: len(src)] == src:
        return
    value = copy.deepcopy(get(data, src))
    put(data, dst, value)
    b.log(f"move {_fmt(src)} -> {_fmt(dst)}")


def op_rename(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    if (found := _some_mapping(data, rnd)) is None:
        return
    path, node = found
    old = rnd.choice(list(node))
    text = str(old)
    new = rnd.choice(
        [
            text.upper(),
            text + "s",
            text[:-1],
            " " + text,
            text + " ",
            text.replace("a", "\u0430"),
            text + "\u200b",
            rnd.choice(KNOWN_FIELDS),
            rnd.choice(KNOWN_FIELDS),
        ]
    )
    items = [((new if k == old else k), v) for k, v in node.items()]
    if new in node and new != old:
        items = [((Key(_key_text(new)) if k == new else k), v) for k, v in items]
    node.clear()
    node.update(items)
    b.log(f"rename {_fmt((*path, old))} -> {new!a}")


def _parent_name(b: Builder) -> str | None:
    data = b.origin.data
    if b.origin.kind == "scenario":
        ref = data.get("extends")
    else:
        ref = data.get("scenario") or (data.get("scenarios") or [None])[0]
    return ref if isinstance(ref, str) else None


def op_extends(b: Builder, rnd: random.Random) -> None:
    """``extends`` (or an experiment's ``scenario``) naming something odd."""
    data = b.ensure_data()
    field_name = "extends" if b.origin.kind == "scenario" else "scenario"
    me = f"fz-{b.tag}.yaml"
    choice = rnd.randrange(10)
    if choice == 0:  # itself
        ref: Any = rnd.choice([me, f"./{me}", f"../{b.folder.rsplit('/', 1)[-1]}/{me}"])
    elif choice == 1 and b.origin.kind == "scenario":  # a cycle of two or three files
        length = rnd.choice([2, 3])
        names = [me] + [f"fz-{b.tag}-c{i}.yaml" for i in range(1, length)]
        for i in range(1, length):
            nxt = names[(i + 1) % length]
            body = f"extends: {nxt}\nname: cycle-{i}\n"
            if rnd.random() < 0.5:
                body = f"name: cycle-{i}\nextends: {nxt}\nmembers: {{X: 1}}\n"
            b.case.files[f"{b.folder}/{names[i]}"] = body.encode()
        ref = names[1]
    elif choice == 2:  # a special file
        kind = rnd.choice(["dir", "fifo", "loop", "dangling", "zero", "devnull", "linkdir"])
        name = f"fz-{b.tag}-{kind}"
        special = {
            "dir": "dir",
            "fifo": "fifo",
            "loop": f"link:fz-{b.tag}-loop",
            "dangling": "link:no-such-file.yaml",
            "zero": "link:/dev/zero",
            "devnull": "link:/dev/null",
            "linkdir": "link:.",
        }[kind]
        b.case.specials[f"{b.folder}/{name}"] = special
        ref = name
    elif choice == 3:  # a valid parent under an awkward file name
        default = "csto-2022-2023.yaml" if b.origin.kind == "scenario" else "../csto-2022-2023.yaml"
        parent = _parent_name(b) or default
        odd = funny_text(rnd, "p").replace("/", "_").replace("\x00", "_")
        odd = "".join(c for c in odd if not ("\ud800" <= c <= "\udfff"))
        name = f"fz-{b.tag}-{odd}.yaml"
        source = f"{b.folder}/{parent}"
        b.case.files[f"{b.folder}/{name}"] = seed_text(source)
        ref = name
    else:
        ref = _pick(rnd, EXTENDS_ODD)
    data[field_name] = ref
    b.log(f"{field_name} = {_show(ref)}")


@cache
def seed_text(path: str) -> bytes:
    from .corpus import ROOT

    return (ROOT / path).read_bytes()


def op_parent(b: Builder, rnd: random.Random) -> None:
    """Mutate the parent (or an experiment's base scenario) and point at the mutated copy."""
    parent = _parent_name(b)
    if parent is None:
        return op_extends(b, rnd)
    from posixpath import normpath

    source = normpath(f"{b.folder}/{parent}")
    if source not in SCENARIO_SEEDS:
        return op_extends(b, rnd)
    inner = make_case(seed(source), [rnd.randrange(2**32)], f"{b.tag}-parent")
    for path, content in inner.files.items():
        b.case.files[path] = content
    b.case.specials.update(inner.specials)
    data = b.ensure_data()
    rel = inner.main.rsplit("/", 1)[-1]
    if b.folder != source.rsplit("/", 1)[0]:
        rel = "../" + rel
    if b.origin.kind == "experiment" and isinstance(data.get("scenarios"), list):
        data["scenarios"][:1] = [rel]  # an earlier mutation may have emptied the list
    else:
        data["extends" if b.origin.kind == "scenario" else "scenario"] = rel
    b.log(f"parent {source}: " + "; ".join(inner.log))


EVENT_TYPES = [*scenario_language.EVENT_TYPES, "nope"]


def op_timeline(b: Builder, rnd: random.Random) -> None:
    data = b.ensure_data()
    if not isinstance(data, dict):
        return
    if "extends" in data:
        return _child_timeline(b, data, rnd)
    events = _list_at(data, "events")
    observations = _list_at(data, "observations")
    entries = [("events", i) for i in range(len(events))] + [
        ("observations", i) for i in range(len(observations))
    ]
    choice = rnd.randrange(9)
    if choice == 0 or not entries:  # the calendar
        calendar = data.setdefault("calendar", {})
        if not isinstance(calendar, dict):
            return
        key = rnd.choice(["start", "end"])
        value = _pick(rnd, ["1800-01", "2200-12", "1799-12", "2201-01", "1900-01", "2100-12"])
        if rnd.random() < 0.3:
            value = calendar.get("end" if key == "start" else "start", value)
        calendar[key] = value
        b.log(f"calendar.{key} = {value}")
        return
    where, i = rnd.choice(entries)
    entry = data[where][i]
    if not isinstance(entry, dict):
        return
    if choice == 1:  # the same id twice
        data[where].insert(rnd.randint(0, len(data[where])), copy.deepcopy(entry))
        b.log(f"duplicate {where}[{i}]")
    elif choice == 2:  # another type
        field_name = "type" if where == "events" else "kind"
        entry[field_name] = rnd.choice(EVENT_TYPES if where == "events" else KINDS)
        b.log(f"{where}[{i}].{field_name} = {entry[field_name]}")
    elif choice == 3:  # a date at or past the edges
        calendar = _dict_at(data, "calendar")
        options = [
            calendar.get("start"),
            calendar.get("end"),
            "1800-01",
            "2200-12-31",
            "2022-02-29",
            "2024-02-29",
            "2022-13",
            "2022-00-10",
            "1799-12-31",
        ]
        field_name = rnd.choice(["date", "ends", "since", "joined"])
        entry[field_name] = rnd.choice(options)
        b.log(f"{where}[{i}].{field_name} = {entry[field_name]}")
    elif choice == 4:  # a code that does not fit
        codes = list((data.get("members") or {}).keys()) + list((data.get("actors") or {}).keys())
        field_name = rnd.choice(
            ["member", "aggressor", "target", "initiator", "attacker", "host", "partner"]
        )
        entry[field_name] = rnd.choice([*codes, "NOPE", "X", "arm", "ARM ", ""])
        b.log(f"{where}[{i}].{field_name} = {entry[field_name]!a}")
    elif choice == 5:  # a parameter shock anywhere
        entry.update({"type": "parameter_shock", "target": rnd.choice(SHOCK_TARGETS)})
        entry.pop("severity", None)
        entry[rnd.choice(["set", "shift"])] = rnd.choice([0.5, -2.0, 1e300, 0, 1, 600])
        if rnd.random() < 0.5:
            entry["ramp_months"] = rnd.choice([0, 1, 600, 601, -1, 10**9])
        b.log(f"{where}[{i}] -> shock on {entry['target']}")
    elif choice == 6:  # an observation that names the wrong event
        ids = [e.get("id") for e in events if isinstance(e, dict)]
        entry["event"] = rnd.choice([*ids, "nope", None, 5])
        b.log(f"{where}[{i}].event = {entry['event']!a}")
    elif choice == 7:
        entry[rnd.choice(["imposed_response", "requested", "status", "signal", "crisis"])] = (
            rnd.choice(["none", "deployment", "held", "cancelled", "domestic", "x", None])
        )
        b.log(f"{where}[{i}] odd enum")
    else:  # an entry without its id, or with someone else's
        ids = [e.get("id") for e in [*events, *observations] if isinstance(e, dict)] or [None]
        if rnd.random() < 0.5:
            entry.pop("id", None)
        else:
            entry["id"] = rnd.choice(ids)
        b.log(f"{where}[{i}].id -> {entry.get('id')!a}")
    return None


KINDS = ["engagement", "response", "attendance", "signature", "consensus", "alignment", "nope"]


def _child_timeline(b: Builder, data: dict[str, Any], rnd: random.Random) -> None:
    parent = seed_data_of(b)
    # (no parent that is a shipped scenario, e.g. `extends` mutated: ids that name nothing)
    ids = [e.get("id") for e in parent.get("events", []) if isinstance(e, dict)] or ["nope"]
    obs = [o.get("id") for o in parent.get("observations", []) if isinstance(o, dict)] or ["x"]
    choice = rnd.randrange(7)
    if choice == 0:
        data["remove_events"] = rnd.sample(ids, min(len(ids), rnd.randint(1, 3))) + rnd.choice(
            [[], ["nope"], [5], [None]]
        )
    elif choice == 1:
        target = rnd.choice([*ids, "nope"])
        data.setdefault("patch_events", {})
        if isinstance(data["patch_events"], dict):
            data["patch_events"][target] = rnd.choice(
                [
                    {"severity": 2},
                    {"type": "war"},
                    {"id": "renamed"},
                    {"date": "1800-01"},
                    {"nope": 1},
                    None,
                    [],
                    "x",
                    {"imposed_response": "deployment"},
                ]
            )
    elif choice == 2:
        data["add_events"] = [
            rnd.choice(
                [
                    {"id": rnd.choice(ids)},
                    {"id": "new", "date": "2022-05", "type": "treaty_renewal", "label": "x"},
                    None,
                    5,
                    [],
                    {"type": "join"},
                ]
            )
        ]
    elif choice == 3:
        data["remove_observations"] = [*rnd.sample(obs, min(len(obs), 2)), "nope"]
    elif choice == 4:
        data["patch_observations"] = {rnd.choice([*obs, "nope"]): rnd.choice([{"x": 1}, 5])}
    elif choice == 5:
        data[rnd.choice(["events", "observations"])] = []
    else:
        victim = rnd.choice([*ids, "nope"])
        data["remove_events"] = [victim]
        data["patch_events"] = {victim: {"severity": 0.5}}
    b.log(f"child timeline edit {choice}")


def seed_data_of(b: Builder) -> dict[str, Any]:
    parent = _parent_name(b)
    from posixpath import normpath

    if parent is None:
        return {}
    source = normpath(f"{b.folder}/{parent}")
    return seed(source).data if source in SCENARIO_SEEDS else {}


def op_edge(b: Builder, rnd: random.Random) -> None:
    """A number at an edge of its admissible range (files stay valid more often than not)."""
    data = b.ensure_data()
    numbers = leaves(data, _is_number)
    if not numbers:
        return
    path = rnd.choice(numbers)
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    low, high = bounds_by_name().get(name, (None, None))
    options = [0, 1, 0.5]
    if low is not None:
        options += [low, low, low + 1e-9]
    if high is not None:
        options += [high, high, high - 1e-9]
    value = rnd.choice(options)
    if isinstance(get(data, path), int) and not isinstance(value, int) and value == int(value):
        value = int(value)
    put(data, path, value)
    b.log(f"edge {_fmt(path)} = {value!r}")


def op_valid(b: Builder, rnd: random.Random) -> None:
    """Changes that mostly keep a file valid: engagements, dates at the calendar's ends..."""
    data = b.ensure_data()
    if not isinstance(data, dict):
        return
    if b.origin.kind == "experiment":
        return _valid_experiment(b, data, rnd)
    members = _dict_at(data, "members")
    events = _list_at(data, "events")
    calendar = _dict_at(data, "calendar")
    choice = rnd.randrange(7)
    if choice == 0 and members:
        code = rnd.choice(list(members))
        if isinstance(members[code], dict):
            members[code].setdefault("initial", {})
            if isinstance(members[code]["initial"], dict):
                members[code]["initial"]["engagement"] = rnd.choice(
                    ["active", "disengaged", "frozen", "exited"]
                )
                b.log(f"members.{code}.initial.engagement = {members[code]['initial']}")
    elif choice == 1 and events and calendar:
        i = rnd.randrange(len(events))
        if isinstance(events[i], dict):
            events[i]["date"] = rnd.choice([calendar.get("start"), calendar.get("end")])
            b.log(f"events[{i}].date = {events[i]['date']}")
    elif choice == 2 and isinstance(calendar.get("end"), str):
        year, month = int(calendar["end"][:4]), int(calendar["end"][5:7])
        months = year * 12 + month - 1 + rnd.choice([1, 12, 60])
        calendar["end"] = f"{months // 12:04d}-{months % 12 + 1:02d}"
        b.log(f"calendar.end = {calendar['end']}")
    elif choice == 3 and events:
        i = rnd.randrange(len(events))
        del events[i]
        b.log(f"drop events[{i}]")
    elif choice == 4 and events:
        rnd.shuffle(events)
        b.log("shuffle events")
    elif choice == 5:
        params = data.setdefault("parameters", {})
        if isinstance(params, dict):
            from cstosim.language.parameters import Parameters

            name = rnd.choice(list(Parameters.model_fields))
            low, high = bounds_by_name().get(name, (0, 1))
            low = 0 if low is None else low
            high = low + 1 if high is None else high
            params[name] = rnd.choice([low, high, (low + high) / 2])
            b.log(f"parameters.{name} = {params[name]}")
    elif members:
        code = rnd.choice(list(members))
        if isinstance(members[code], dict) and calendar.get("start"):
            members[code]["joined"] = rnd.choice([calendar["start"], calendar.get("end")])
            b.log(f"members.{code}.joined = {members[code]['joined']}")
    return None


def _valid_experiment(b: Builder, data: dict[str, Any], rnd: random.Random) -> None:
    choice = rnd.randrange(4)
    if choice == 0:
        data["sampler"] = rnd.choice(
            [
                {"method": "latin", "n": 2},
                {"method": "sobol", "n": 2},
                {"method": "morris", "n": 2},
                {"method": "full-factorial", "levels": 2},
            ]
        )
    elif choice == 1:
        data["replicates"] = rnd.choice([1, 2, 3])
    elif choice == 2 and isinstance(data.get("factors"), dict) and data["factors"]:
        name = rnd.choice(list(data["factors"]))
        data["factors"][name] = rnd.choice([None, {}, {"label": "x"}])
    else:
        data["until"] = rnd.choice(["2024-01", "2030-12", "2200-12"])
    b.log(f"valid experiment edit {choice}")


def op_experiment(b: Builder, rnd: random.Random) -> None:
    """Experiment fields: factor paths and specs, samplers, outcomes, scenarios, until."""
    data = b.ensure_data()
    if not isinstance(data, dict):
        return
    choice = rnd.randrange(7)
    factors = _dict_at(data, "factors")
    if choice == 0:
        path = rnd.choice(FACTOR_PATHS)
        factors[path] = _factor_spec(rnd)
        data["factors"] = factors
        b.log(f"factor {path} = {_show(factors[path])}")
    elif choice == 1 and factors:
        name = rnd.choice(list(factors))
        factors[name] = _factor_spec(rnd)
        b.log(f"factor {name} = {_show(factors[name])}")
    elif choice == 2:
        data["sampler"] = _pick(rnd, SAMPLERS)
        b.log(f"sampler = {_show(data['sampler'])}")
    elif choice == 3:
        outcomes = _dict_at(data, "outcomes")
        name = rnd.choice(["x", "arm_exits", "Bad-Name", "", "a" * 300])
        outcomes[name] = _pick(rnd, OUTCOMES)
        data["outcomes"] = outcomes
        b.log(f"outcome {name[:20]} = {_show(outcomes[name])}")
    elif choice == 4:
        refs = ["../csto-2022-2023.yaml", "../example-triad.yaml", "../csto-cf-no-invasion.yaml"]
        data.pop("scenario", None)
        data["scenarios"] = rnd.choice(
            [
                refs[:2],
                [refs[0], refs[0]],
                [refs[0], refs[2]],
                [refs[0]],
                [],
                [refs[0], "nope.yaml"],
                [refs[0], 5],
            ]
        )
        b.log(f"scenarios = {data['scenarios']}")
    elif choice == 5:
        data["until"] = rnd.choice(["2023-11", "2022-01", "2200-12", "2201-01", "1800-01", 2025])
        b.log(f"until = {data['until']}")
    else:
        key = rnd.choice(["replicates", "seed", "engine", "factors_from_ranges"])
        data[key] = rnd.choice([0, 1, 100_000, 100_001, -1, 2**63, "mesa", "gpu", True, None])
        b.log(f"{key} = {data[key]}")
    return None


def _factor_spec(rnd: random.Random) -> Any:
    spec: dict[str, Any] = {}
    for key in rnd.sample(["low", "high", "mode", "mean", "sd", "distribution", "levels"], 3):
        if key == "distribution":
            spec[key] = rnd.choice(["uniform", "triangular", "normal", "loguniform", "beta"])
        elif key == "levels":
            spec[key] = rnd.choice(
                [[0, 1], [0.1, 0.1], ["deployment", "none"], [True, False], [1], [], [0, "a"]]
            )
        else:
            spec[key] = rnd.choice([0, 1, 0.5, -1, 2, 1e-9, float("nan"), float("inf"), 50, 1e6])
    return rnd.choice([spec, spec, {}, None, [], 5, "x"])


def op_set(b: Builder, rnd: random.Random) -> None:
    """A ``--set`` option (scenarios only)."""
    if b.origin.kind != "scenario":
        return op_wrong_type(b, rnd)
    data = b.origin.data
    parts = [".".join(map(str, p)) for p in paths(data)[1:] if len(p) <= 4]
    target = rnd.choice(parts + SHOCK_TARGETS)
    value = rnd.choice(
        [
            "0.5",
            "2",
            "-1",
            ".nan",
            "[1, 2]",
            "{a: 1}",
            "{",
            "!!python/none x",
            "2020-05",
            "true",
            "~",
            "",
            "0000-01",
            "9999-12",
            "a: b",
            "\ud800",
            "x" * 10_000,
            "[" * 100 + "]" * 100,
        ]
    )
    b.case.sets.append(f"{target}={value}")
    b.log(f"--set {target[:60]}={value[:40]!a}")


# ---- operators on the bytes ---------------------------------------------------------------

INSERTS = [
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\r",
    b"\t",
    b"\x1b",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b"'",
    b"&a ",
    b"*a ",
    b"!",
    b"%",
    b"#",
    b"|",
    b">",
    b"---\n",
    b"...\n",
    b"? ",
    b",",
    b"\n",
    b"  ",
    b"\\",
    b"\xe2\x80\xa8",
    b"\xc2\x85",
    b"@",
    b"`",
]


def _lines(text: bytes) -> list[bytes]:
    return text.split(b"\n")


def op_flip(b: Builder, rnd: random.Random) -> None:
    data = bytearray(b.text)
    if not data:
        return
    for _ in range(rnd.randint(1, 8)):
        at = rnd.randrange(len(data))
        data[at] = data[at] ^ (1 << rnd.randrange(8)) if rnd.random() < 0.6 else rnd.randrange(256)
    b.text = bytes(data)
    b.log("flip bytes")


def op_insert(b: Builder, rnd: random.Random) -> None:
    at = rnd.randint(0, len(b.text))
    piece = rnd.choice(INSERTS) if rnd.random() < 0.8 else rnd.randbytes(rnd.randint(1, 16))
    b.text = b.text[:at] + piece + b.text[at:]
    b.log(f"insert {piece!r} at {at}")


def op_cut(b: Builder, rnd: random.Random) -> None:
    if not b.text:
        return
    at = rnd.randrange(len(b.text))
    size = rnd.choice([1, 2, 3, 10, 50, 200])
    b.text = b.text[:at] + b.text[at + size :]
    b.log(f"cut {size} bytes at {at}")


def op_truncate(b: Builder, rnd: random.Random) -> None:
    at = rnd.randint(0, len(b.text))
    b.text = b.text[:at]
    b.log(f"truncate at {at}")


def op_line(b: Builder, rnd: random.Random) -> None:
    lines = _lines(b.text)
    i = rnd.randrange(len(lines))
    choice = rnd.randrange(5)
    if choice == 0:
        lines.insert(i, lines[i])
        b.log(f"duplicate line {i + 1}")
    elif choice == 1:
        del lines[i]
        b.log(f"delete line {i + 1}")
    elif choice == 2:
        j = rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        b.log(f"swap lines {i + 1} and {j + 1}")
    elif choice == 3:
        shift = rnd.choice([-4, -2, -1, 1, 2, 4])
        line = lines[i]
        lines[i] = line[-shift:] if shift < 0 and line[:-shift].strip() == b"" else line
        if shift > 0:
            lines[i] = b" " * shift + line
        b.log(f"indent line {i + 1} by {shift}")
    else:
        lines[i] = lines[i].replace(b"  ", b"\t", 1)
        b.log(f"tab in line {i + 1}")
    b.text = b"\n".join(lines)


def op_raw_value(b: Builder, rnd: random.Random) -> None:
    """Replace the value of a ``key: value`` line with raw YAML text."""
    lines = _lines(b.text)
    candidates = [
        i for i, line in enumerate(lines) if b": " in line and not line.lstrip().startswith(b"#")
    ]
    if not candidates:
        return
    i = rnd.choice(candidates)
    head = lines[i].split(b": ", 1)[0]
    choice = rnd.randrange(7)
    if choice == 0:
        value = rnd.choice(NUMBERS)
    elif choice == 1:
        value = rnd.choice(TAGGED)
    elif choice == 2:
        value = quoted(funny_text(rnd, "x"))
    elif choice == 3:
        value = str(deep_raw(rnd))
    elif choice == 4:
        value = str(bomb(rnd, "fzb"))
    elif choice == 5:
        value = quoted(long_text(rnd))
    else:
        value = rnd.choice(
            ['"unterminated', "'x", "[a, b", "{a: 1", "|", ">-", "*x", "&x", "a: b: c"]
        )
    lines[i] = head + b": " + value.encode("utf-8", "surrogatepass")
    b.text = b"\n".join(lines)
    b.log(f"line {i + 1}: {head.decode('utf-8', 'replace').strip()}: {value[:40]!a}")


def op_splice(b: Builder, rnd: random.Random) -> None:
    other = seed(rnd.choice([*SCENARIO_SEEDS, *EXPERIMENT_SEEDS])).text
    src = _lines(other)
    start = rnd.randrange(len(src))
    piece = src[start : start + rnd.randint(1, 20)]
    lines = _lines(b.text)
    at = rnd.randint(0, len(lines))
    lines[at:at] = piece
    b.text = b"\n".join(lines)
    b.log(f"splice {len(piece)} lines at {at + 1}")


def op_document(b: Builder, rnd: random.Random) -> None:
    choice = rnd.randrange(6)
    if choice == 0:
        b.text = (
            rnd.choice([b"%YAML 1.1", b"%YAML 1.2", b"%YAML 1.3", b"%FOO x"]) + b"\n---\n" + b.text
        )
    elif choice == 1:
        b.text = (
            rnd.choice([b"%YAML 2.0", b"%YAML 1.9", b"%YAML 1.1\n%YAML 1.2"]) + b"\n---\n" + b.text
        )
    elif choice == 2:
        b.text = b"%TAG !e! tag:example.com,2000:\n---\n" + b.text + b"\nextra: !e!foo 1\n"
    elif choice == 3:
        b.text = b.text + b"\n---\nname: second-document\n"
    elif choice == 4:
        b.text = b"---\n" + b.text + b"\n...\n"
    else:
        b.text = b"--- !!map\n" + b.text
    b.log(f"document edit {choice}")


def op_encoding(b: Builder, rnd: random.Random) -> None:
    text = b.text.decode("utf-8", "surrogateescape")
    choice = rnd.randrange(6)
    try:
        if choice == 0:
            b.text = text.encode("utf-16", "surrogateescape")
        elif choice == 1:
            b.text = text.encode("utf-16-le", "surrogateescape")
        elif choice == 2:
            b.text = b"\xef\xbb\xbf" + b.text
        elif choice == 3:
            b.text = b.text.replace(b"\n", b"\r\n")
        elif choice == 4:
            b.text = b.text.replace(b"\n", b"\r")
        else:
            b.text = text.replace("e", "\xe9").encode("latin-1", "replace")
    except UnicodeError:
        return
    b.log(f"encoding edit {choice}")


# --------------------------------------------------------------------------------------------
# Choosing operators
# --------------------------------------------------------------------------------------------

Op = Callable[[Builder, random.Random], None]

DATA_OPS: list[tuple[Op, int]] = [
    (op_delete, 6),
    (op_duplicate_key, 4),
    (op_wrong_type, 6),
    (op_number, 6),
    (op_unicode, 5),
    (op_long, 2),
    (op_deep, 2),
    (op_alias, 3),
    (op_tag, 2),
    (op_move, 4),
    (op_rename, 3),
    (op_extends, 3),
    (op_parent, 2),
    (op_timeline, 5),
    (op_edge, 6),
    (op_valid, 5),
    (op_set, 1),
]
EXPERIMENT_OPS: list[tuple[Op, int]] = [(op_experiment, 12)]
TEXT_OPS: list[tuple[Op, int]] = [
    (op_flip, 5),
    (op_insert, 4),
    (op_cut, 3),
    (op_truncate, 3),
    (op_line, 6),
    (op_raw_value, 6),
    (op_splice, 2),
    (op_document, 1),
    (op_encoding, 2),
]
VALID_OPS: list[tuple[Op, int]] = [(op_edge, 3), (op_valid, 4)]
"""Operators for cases meant to be accepted (and run)."""
HOSTILE_OPS: list[tuple[Op, int]] = [
    (op_deep, 3),
    (op_alias, 4),
    (op_long, 3),
    (op_extends, 4),
    (op_parent, 1),
    (op_tag, 2),
    (op_unicode, 3),
    (op_number, 2),
    (op_duplicate_key, 2),
]
"""The operators aimed at the reader's limits: nesting, aliases, sizes, parents, tags."""


def pool_for(origin: Seed) -> list[tuple[Op, int]]:
    """Every operator that applies to ``origin``."""
    pool = DATA_OPS + TEXT_OPS
    return pool + EXPERIMENT_OPS if origin.kind == "experiment" else pool


def _choose(rnd: random.Random, ops: list[tuple[Op, int]]) -> Op:
    total = sum(w for _, w in ops)
    x = rnd.randrange(total)
    for op, w in ops:
        x -= w
        if x < 0:
            return op
    raise AssertionError  # pragma: no cover


def make_case(
    origin: Seed,
    mutations: list[int],
    tag: str,
    pool: list[tuple[Op, int]] | None = None,
    max_size: int | None = None,
) -> Case:
    """The case made from ``origin`` by one mutation per integer in ``mutations``, each an
    operator of ``pool`` (default: every operator that applies, :func:`pool_for`); long
    strings, lists and nestings are cut to about ``max_size`` (characters) if given."""
    if max_size is not None:
        _CAP.append(max_size)
        try:
            return make_case(origin, mutations, tag, pool)
        finally:
            _CAP.pop()
    b = Builder(origin, tag)
    ops = pool if pool is not None else pool_for(origin)
    chosen: list[tuple[Op, random.Random]] = []
    for number in mutations:
        rnd = random.Random(number)
        chosen.append((_choose(rnd, ops), rnd))
    text_ops = {op for op, _ in TEXT_OPS}
    for op, rnd in chosen:
        if op not in text_ops:
            op(b, rnd)
    if b.data is not None:
        flow_rnd = random.Random(mutations[0] if mutations else 0)
        b.text = (HEADER + emit(b.data, flow_rnd, flow_share=flow_rnd.random())).encode(
            "utf-8", "surrogatepass"
        )
    for op, rnd in chosen:
        if op in text_ops:
            op(b, rnd)
    b.case.files[b.main] = b.text
    return b.case
