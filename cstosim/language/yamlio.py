"""Safe YAML loading that remembers where every value came from.

Scenario errors must name the file, line and column of the offending field, so the loader builds
plain Python data (dicts, lists, str, int, float, bool, None) together with a *location map* from
each path (a tuple of keys and list indices) to ``(file, line, column)``, 1-based.

Only the YAML core schema is accepted: any explicit tag such as ``!!python/object`` or ``!foo``
is an error, so a scenario file can never construct arbitrary objects. Timestamps are kept as
the strings the user wrote (``2022-01`` and ``2022-01-05`` stay text), and duplicate mapping keys
are errors, as are recursive aliases and alias "bombs" (more than ``MAX_NODES`` values).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

Path_ = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_NULL = f"{_CORE}null"
MAX_NODES = 200_000  # far above any real scenario; stops "billion laughs" alias expansion
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
        self._open: set[int] = set()  # ids of the collection nodes being converted (alias cycles)
        self._count = 0

    def loc(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: Path_) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise _TooLarge(self.loc(node))
        self.locations[path] = self.loc(node)
        tag = _tag(node)
        if isinstance(node, MappingNode | SequenceNode):
            if id(node) in self._open:
                self._problem(node, path, "recursive YAML alias (a value that contains itself)")
                return None
            self._open.add(id(node))
            try:
                if isinstance(node, MappingNode):
                    return self._mapping(node, path, tag)
                return self._sequence(node, path, tag)
            finally:
                self._open.discard(id(node))
        if tag not in _SCALAR_TAGS:
            return self._bad_tag(node, path, tag)
        if tag.endswith(("str", "timestamp")):
            return str(node.value)
        try:
            return self._scalars.construct_object(node, deep=True)
        except (ValueError, KeyError, TypeError, YAMLError):
            kind = tag.replace(_CORE, "")
            self._problem(node, path, f"{node.value!r} is not a valid YAML {kind}")
            return None

    def _mapping(self, node: MappingNode, path: Path_, tag: str) -> Any:
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
                self._problem(key_node, (*path, key), f"duplicate key {key!r}")
                continue
            out[key] = self.convert(value_node, (*path, key))
            # a "field.path: message" points at the field's key, where the field is written
            self.locations[(*path, key)] = self.loc(key_node)
        return out

    def _sequence(self, node: SequenceNode, path: Path_, tag: str) -> Any:
        if tag != f"{_CORE}seq":
            return self._bad_tag(node, path, tag)
        return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]

    def _problem(self, node: Node, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.loc(node), format_path(path), message))

    def _bad_tag(self, node: Node, path: Path_, tag: str) -> None:
        shown = tag.replace(_CORE, "!!")
        self._problem(
            node, path, f"YAML tag {shown} is not allowed (only plain YAML: maps, lists, scalars)"
        )
        return None


class _TooLarge(Exception):
    def __init__(self, location: Location):
        self.location = location


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
        raise _error(name, 1, 1, "file not found") from None
    except IsADirectoryError:
        raise _error(name, 1, 1, "is a directory, expected a YAML file") from None
    except UnicodeDecodeError as exc:
        line, col = _line_col(exc.object[: exc.start].decode("utf-8", "replace"))
        message = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8"
        raise _error(name, line, col, message) from None
    except OSError as exc:
        raise _error(name, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    return parse_located(text, name)


def parse_located(text: str, name: str = "<string>") -> tuple[Any, dict[Path_, Location]]:
    """Like :func:`load_located`, for YAML ``text`` that claims to come from file ``name``."""
    yaml = YAML(typ="rt")
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        parts = [str(p).strip() for p in (exc.context, exc.problem) if p]
        message = "YAML syntax error: " + (", ".join(parts) or "cannot parse")
        raise _error(name, line, col, message) from None
    except ReaderError as exc:
        line, col = _line_col(text[: exc.position])
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        message = f"YAML error: {exc.reason} (character #x{char:04x})"
        raise _error(name, line, col, message) from None
    except YAMLError as exc:  # pragma: no cover - every ruamel error found so far is one of above
        raise _error(name, 1, 1, f"YAML error: {exc}") from None
    if node is None or (isinstance(node, ScalarNode) and node.value == "" and _tag(node) == _NULL):
        raise _error(name, 1, 1, "the file is empty; expected a mapping of scenario fields")
    converter = _Converter(name)
    try:
        data = converter.convert(node, ())
    except _TooLarge as exc:
        message = f"more than {MAX_NODES} values (an alias expanding to a huge document?)"
        raise ScenarioError([Problem(exc.location, "", message)]) from None
    if converter.problems:
        raise ScenarioError(converter.problems)
    return data, converter.locations


def _error(name: str, line: int, column: int, message: str) -> ScenarioError:
    return ScenarioError([Problem(Location(name, line, column), "", message)])


def _line_col(prefix: str) -> tuple[int, int]:
    """1-based line and column of the character that follows ``prefix``."""
    return prefix.count("\n") + 1, len(prefix) - (prefix.rfind("\n") + 1) + 1


def dump_yaml(data: Any) -> str:
    """Plain block-style YAML text for ``data`` (dicts, lists and scalars only)."""
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 100
    yaml.representer.add_representer(str, _represent_str)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks for a YAML reader, not for Python


def _represent_str(representer: Any, value: str) -> Any:
    """Strings with exotic line breaks are double-quoted, where they are written as escapes."""
    if any(c in value for c in _BREAKS):
        return representer.represent_scalar(f"{_CORE}str", value, style='"')
    return representer.represent_str(value)


def _tag(node: Node) -> str:
    return str(getattr(node.tag, "value", node.tag))
