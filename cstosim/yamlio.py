"""Safe YAML loading that remembers where every value came from.

Scenario errors must name the file, line and column of the offending field, so the loader builds
plain Python data (dicts, lists, str, int, float, bool, None) together with a *location map* from
each path (a tuple of keys and list indices) to ``(file, line, column)``, 1-based.

Only the YAML core schema is accepted: any explicit tag such as ``!!python/object`` or ``!foo``
is an error, so a scenario file can never construct arbitrary objects. Timestamps are kept as
the strings the user wrote (``2022-01`` and ``2022-01-05`` stay text), and duplicate mapping keys
are errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path_ = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(frozen=True)
class Location:
    """Where a value was written: file name, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, which field, and what was expected."""

    location: Location
    path: str
    message: str

    def __str__(self) -> str:
        field = f"{self.path}: " if self.path else ""
        return f"{self.location}: {field}{self.message}"


class ScenarioError(Exception):
    """A scenario file (or its chain of ``extends``) is not valid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Converter:
    def __init__(self, file: str):
        self.file = file
        self.locations: dict[Path_, Location] = {}
        self.problems: list[Problem] = []
        self._scalars: SafeConstructor = YAML(typ="safe", pure=True).constructor

    def loc(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: Path_) -> Any:
        self.locations[path] = self.loc(node)
        tag = node.tag.value if hasattr(node.tag, "value") else str(node.tag)
        if isinstance(node, MappingNode):
            if tag != f"{_CORE}map":
                return self._bad_tag(node, path, tag)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    self._problem(key_node, path, "mapping keys must be plain text")
                    continue
                key = str(key_node.value)
                if key == "<<":
                    self._problem(key_node, path, "YAML merge keys (<<) are not supported")
                    continue
                if key in out:
                    self._problem(key_node, path, f"duplicate key {key!r}")
                    continue
                self.locations[(*path, key)] = self.loc(key_node)
                out[key] = self.convert(value_node, (*path, key))
                # the key's own position is the more useful anchor for "field X: ..." messages
                if isinstance(value_node, ScalarNode):
                    self.locations[(*path, key)] = self.loc(key_node)
            return out
        if isinstance(node, SequenceNode):
            if tag != f"{_CORE}seq":
                return self._bad_tag(node, path, tag)
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        if tag not in _SCALAR_TAGS:
            return self._bad_tag(node, path, tag)
        if tag.endswith(("str", "timestamp")):
            return str(node.value)
        return self._scalars.construct_object(node, deep=True)

    def _problem(self, node: Node, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.loc(node), format_path(path), message))

    def _bad_tag(self, node: Node, path: Path_, tag: str) -> None:
        shown = tag.replace(_CORE, "!!")
        self._problem(
            node, path, f"YAML tag {shown} is not allowed (only plain YAML: maps, lists, scalars)"
        )
        return None


def format_path(path: Path_) -> str:
    """``('events', 3, 'severity')`` → ``events[3].severity``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_located(path: Path) -> tuple[Any, dict[Path_, Location]]:
    """Parse one YAML file safely; return its data and the location of every value.

    Raises :class:`ScenarioError` for unreadable files, syntax errors, tags and duplicate keys.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(Location(name, 0, 0), "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(Location(name, 0, 0), "", f"cannot read file: {exc}")]) from None
    yaml = YAML(typ="rt")
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise ScenarioError([Problem(Location(name, line, col), "", message)]) from None
    except YAMLError as exc:
        raise ScenarioError([Problem(Location(name, 0, 0), "", f"YAML error: {exc}")]) from None
    if node is None:
        raise ScenarioError([Problem(Location(name, 1, 1), "", "the file is empty")])
    converter = _Converter(name)
    data = converter.convert(node, ())
    if converter.problems:
        raise ScenarioError(converter.problems)
    return data, converter.locations


def dump_yaml(data: Any) -> str:
    """Plain block-style YAML text for ``data`` (dicts, lists and scalars only)."""
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()
