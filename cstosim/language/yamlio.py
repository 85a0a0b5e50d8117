"""Safe YAML loading that remembers where every value came from.

Scenario errors must name the file, line and column of the offending field, so the loader builds
plain Python data (dicts, lists, str, int, float, bool, None) together with a *location map* from
each path (a tuple of keys and list indices) to ``(file, line, column)``, 1-based.

Only the YAML 1.2 core schema is accepted: any explicit tag such as ``!!python/object`` or
``!foo`` is an error, so a scenario file can never construct arbitrary objects, and a
``%YAML 1.1`` directive is an error (it would make ``yes`` a boolean). Timestamps are kept as
the strings the user wrote (``2022-01`` and ``2022-01-05`` stay text), and duplicate mapping keys
are errors, as are recursive aliases and text that is not valid Unicode (lone surrogates).

Hostile input meets limits, each named in its message: only regular files of at most
``MAX_FILE_BYTES`` are read (never a device or a FIFO), mappings and lists nest at most
``MAX_DEPTH`` levels, and aliases may add at most ``MAX_ALIAS_VALUES`` values ("billion laughs").
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import ReaderError

Path_ = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_NULL = f"{_CORE}null"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}

MAX_FILE_BYTES = 32 * 1024 * 1024  # 32 MiB: a scenario with 10^5 events is about 12 MB
MAX_DEPTH = 64  # levels of nested mappings and lists; a real scenario uses at most 5
MAX_ALIAS_VALUES = 100_000  # values that aliases (*name) may add; real scenarios add a few
MAX_MESSAGE = 2000  # characters of a problem's "field: message" printed; the rest is cut


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
    """One thing wrong with a scenario: where, which field, and what was expected.

    Printed on one line, with control characters escaped (see :func:`escape`), so no key, value
    or file name can break the line or forge another one; a message that quotes something
    huge is cut after ``MAX_MESSAGE`` characters.
    """

    location: Location
    path: str
    message: str

    def __str__(self) -> str:
        field = f"{self.path}: " if self.path else ""
        text = escape(f"{field}{self.message}")
        if len(text) > MAX_MESSAGE:  # a huge key, id or path quoted in full: cut it short
            text = f"{text[: MAX_MESSAGE - 40]}... (cut; {len(text)} characters in all)"
        return f"{escape(str(self.location))}: {text}"


class ScenarioError(Exception):
    """A scenario file (or its chain of ``extends``) is not valid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def escape(text: str) -> str:
    """``text`` with every unprintable character (line breaks, controls, lone surrogates...)
    written as its Python escape (``\\n``, ``\\x1b``, ``\\u2028``, ``\\ud800``)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` (not valid Unicode, cannot be written as UTF-8)."""
    return next((c for c in text if "\ud800" <= c <= "\udfff"), None)


class _Limit(Exception):
    """A limit was hit while reading: stop at once, with ruamel's mark and the limit's message."""

    def __init__(self, mark: Any, message: str):
        self.mark = mark
        self.message = message


class _DepthLimitedComposer(Composer):
    """ruamel's composer, which recurses once per level, refusing more than MAX_DEPTH levels."""

    def __init__(self, loader: Any = None):
        super().__init__(loader)
        self._nesting = 0
        self.warn_double_anchors = False  # reusing an anchor's name is plain YAML, not a warning
        self.alias_marks: list[Any] = []  # where each alias (*name) is written, in order

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            self.alias_marks.append(event.start_mark)
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        if self._nesting >= MAX_DEPTH:
            raise _Limit(event.start_mark, _too_deep())
        self._nesting += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1


class _Yaml12Parser(Parser):
    """ruamel's parser, refusing a ``%YAML`` directive for another version than 1.2: YAML 1.1
    would read ``yes`` as true and ``010`` as 8, and ruamel fails on ``%YAML 1.3``."""

    def process_directives(self) -> Any:
        mark = self.scanner.peek_token().start_mark
        try:
            value = super().process_directives()
        except AssertionError:  # ruamel asserts that a %YAML 1.x has x = 1 or 2
            value = (self.scanner.yaml_version, None)
        version = value[0]
        if version is not None and tuple(version) != (1, 2):
            message = (
                f"only YAML 1.2 is read, not {version[0]}.{version[1]} (YAML 1.1 reads yes, no, "
                "on and off as booleans and 010 as an octal number); remove the %YAML line"
            )
            raise _Limit(mark, message)
        return value


def _too_deep() -> str:
    return f"nesting too deep (limit {MAX_DEPTH} levels of mappings and lists)"


class _Converter:
    """Turns the composed nodes into plain data and the location map, collecting problems."""

    def __init__(self, file: str):
        self.file = file
        self.locations: dict[Path_, Location] = {}
        self.problems: list[Problem] = []
        self._scalars: SafeConstructor = YAML(typ="safe", pure=True).constructor
        self._open: set[int] = set()  # ids of the collection nodes being converted (alias cycles)

    def loc(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def count_aliases(self, root: Node, marks: list[Any]) -> None:
        """Refuse, before anything is expanded, a document whose aliases would make more than
        MAX_ALIAS_VALUES values ("billion laughs"), at the alias that passes the limit.

        Walks the document as written (each node once, in order; ``marks`` are the aliases'
        places in that order) and adds, at each alias, the size of what it expands to: a bomb
        costs as much as its text, not as its expansion."""
        sizes: dict[int, int] = {}
        seen: set[int] = set()
        aliased = 0
        places = iter(marks)
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) not in seen:
                seen.add(id(node))
                stack.extend(reversed(_nodes_under(node, keys=True)))
                continue
            aliased += _size(node, sizes)
            mark = next(places, node.start_mark)
            if aliased > MAX_ALIAS_VALUES:
                message = (
                    f"more than {MAX_ALIAS_VALUES} values made by YAML aliases "
                    "(the limit of alias expansion; an alias expanding to a huge document?)"
                )
                raise _Limit(mark, message)

    def convert(self, node: Node, path: Path_) -> Any:
        self.locations[path] = self.loc(node)
        tag = _tag(node)
        if isinstance(node, MappingNode | SequenceNode):
            if len(path) >= MAX_DEPTH:  # aliases can nest deeper than the text
                raise _Limit(node.start_mark, _too_deep())
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
            return self._text(node, path)
        try:
            return self._scalars.construct_object(node, deep=True)
        except (ValueError, KeyError, TypeError, YAMLError):
            kind = tag.replace(_CORE, "")
            self._problem(node, path, f"{shown(node.value)} is not a valid YAML {kind}")
            return None

    def _text(self, node: Node, path: Path_) -> str | None:
        text = str(node.value)
        bad = lone_surrogate(text)
        if bad is not None:
            message = f"text with a lone surrogate {bad!r}, which is not valid Unicode"
            self._problem(node, path, message)
            return None
        return text

    def _mapping(self, node: MappingNode, path: Path_, tag: str) -> Any:
        if tag != f"{_CORE}map":
            return self._bad_tag(node, path, tag)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "mapping keys must be plain text")
                continue
            key = str(key_node.value)
            bad = lone_surrogate(key)
            if bad is not None:
                message = f"key with a lone surrogate {bad!r}, which is not valid Unicode"
                self._problem(key_node, path, message)
                continue
            if key == "<<":
                self._problem(key_node, path, "YAML merge keys (<<) are not supported")
                continue
            if key in out:
                self._problem(key_node, (*path, key), f"duplicate key {shown(key)}")
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
        written = tag.replace(_CORE, "!!")
        self._problem(
            node, path, f"YAML tag {written} is not allowed (only plain YAML: maps, lists, scalars)"
        )
        return None


def _nodes_under(node: Node, keys: bool = False) -> list[Node]:
    """The nodes directly under ``node``, in the order written: values (and ``keys``)."""
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in (pair if keys else pair[1:])]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _size(root: Node, sizes: dict[int, int]) -> int:
    """How many values converting ``root`` makes (itself and everything under it, aliases
    expanded), at most just above MAX_ALIAS_VALUES; ``sizes`` memoises it by node id. Without
    recursion, so aliases may nest as deep as they like; a value that contains itself (an error
    :class:`_Converter` reports) counts once where it recurs."""
    cap = MAX_ALIAS_VALUES + 1
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, below_done = stack.pop()
        if id(node) in sizes:
            continue
        below = _nodes_under(node)
        if below_done:
            sizes[id(node)] = min(cap, 1 + sum(sizes.get(id(n), 1) for n in below))
        elif id(node) not in visiting:  # visiting but not sized: an ancestor (a cycle)
            visiting.add(id(node))
            stack.append((node, True))
            stack.extend((n, False) for n in below)
    return sizes[id(root)]


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters: messages quote values, not documents."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def listing(names: Iterable[Any], limit: int = 30) -> str:
    """``'a, b, c'``, at most ``limit`` names (then ``'..., and 12 more'``), or ``'(none)'``."""
    items = [str(n) for n in names]
    more = f", and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more or "(none)"


def format_path(path: Path_) -> str:
    """``('events', 3, 'severity')`` → ``events[3].severity``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_located(path: Path) -> tuple[Any, dict[Path_, Location]]:
    """Parse one YAML file safely; return its data and the location of every value.

    Raises :class:`ScenarioError` for unreadable files (missing, not a regular file, over
    ``MAX_FILE_BYTES``), syntax errors, tags, duplicate keys and the limits of the module.
    """
    name = str(path)
    try:
        raw = read_capped(path)
    except FileNotFoundError:
        raise _error(name, 1, 1, "file not found") from None
    except _NotRegular as exc:
        raise _error(name, 1, 1, f"{exc}, expected a YAML file") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _error(name, 1, 1, f"cannot read file: {reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(exc.object[: exc.start].decode("utf-8", "replace"))
        message = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8"
        raise _error(name, line, col, message) from None
    return parse_located(text.replace("\r\n", "\n").replace("\r", "\n"), name)


class _NotRegular(OSError):
    """A path that is not a regular file (a directory, a device, a FIFO, a socket)."""


def file_kind(mode: int) -> str | None:
    """None for a regular file's ``st_mode``; otherwise what the path is, e.g. 'is a directory'."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    kinds = {
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISSOCK: "a socket",
    }
    kind = next((text for test, text in kinds.items() if test(mode)), "a special file")
    return f"not a regular file ({kind})"


def read_capped(path: Path) -> bytes:
    """The bytes of the regular file ``path``; never blocks on a FIFO or reads a device.

    Raises :class:`OSError` (``FileNotFoundError``, a ``_NotRegular`` one saying what the path
    is, or one saying the file is over ``MAX_FILE_BYTES``).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens at once
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise _NotRegular(kind)
        with open(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        limit = f"{MAX_FILE_BYTES // 2**20} MiB"
        raise OSError(0, f"the file is larger than {limit} (the limit for a scenario file)")
    return data


def parse_located(text: str, name: str = "<string>") -> tuple[Any, dict[Path_, Location]]:
    """Like :func:`load_located`, for YAML ``text`` that claims to come from file ``name``."""
    # The plain (safe) composer, not the round-trip one: the round-trip scanner marks each fold
    # of a folded block scalar (`>`) with a BEL character, which only its own constructor strips.
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _DepthLimitedComposer
    yaml.Parser = _Yaml12Parser
    try:
        node = yaml.compose(text)
    except _Limit as exc:
        raise _error(name, exc.mark.line + 1, exc.mark.column + 1, exc.message) from None
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
        converter.count_aliases(node, yaml.composer.alias_marks)
        data = converter.convert(node, ())
    except _Limit as exc:
        raise _error(name, exc.mark.line + 1, exc.mark.column + 1, exc.message) from None
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
