"""Reading scenario files: ``extends`` chains, overrides, ``--set`` values and located errors.

A file that ``extends: parent.yaml`` (a path relative to itself) starts from the parent's
resolved data and then

* deep-merges any mapping it gives (``parameters``, ``members``, ``actors``, ``sources``,
  ``calendar``): a member it names is patched field by field, a new code adds a member;
* replaces scalars (``name``, ``title``, ``description``);
* edits the timeline by id: ``remove_events: [id, ...]``, ``patch_events: {id: {field: value}}``,
  ``add_events: [event, ...]`` (and the same three keys for ``observations``).

Every problem found is reported, each as ``file:line:column: field.path: message``: problems
in the ``extends`` edits, ``--set`` values, field errors and cross-references (unknown ids, dates
outside the calendar) together. Only problems that leave nothing to check stop early: unreadable
files, YAML syntax errors, a missing parent file, a cycle of ``extends``.
"""

from __future__ import annotations

import copy
import json
import os
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from cstosim.language.parameters import Parameters
from cstosim.language.scenario import (
    EVENT_TYPES,
    Actor,
    ActorKind,
    Calendar,
    Event,
    Member,
    Observation,
    Scenario,
    Source,
    cross_check,
)
from cstosim.language.yamlio import (
    Location,
    Path_,
    Problem,
    ScenarioError,
    file_kind,
    format_path,
    listing,
    load_located,
    lone_surrogate,
    parse_located,
    shown,
)

Locations = dict[Path_, Location]

_TIMELINES = ("events", "observations")
_EDIT_KEYS = tuple(f"{verb}_{t}" for t in _TIMELINES for verb in ("remove", "patch", "add"))


def load_scenario(path: str | Path, sets: Iterable[str] = ()) -> Scenario:
    """Load, resolve and validate a scenario file; ``sets`` are ``path=value`` overrides.

    Raises :class:`~cstosim.language.yamlio.ScenarioError` listing every problem found.
    """
    data, locs, problems = _resolve(Path(path), ())
    if sets:
        data, locs, set_problems = _apply_sets(data, locs, list(sets))
        problems += set_problems
    try:
        scenario = validate(data, locs, fallback=Location(str(path), 1, 1))
    except ScenarioError as exc:
        problems += exc.problems
    if problems:
        files = list(dict.fromkeys(p.location.file for p in problems))
        problems.sort(
            key=lambda p: (files.index(p.location.file), p.location.line, p.location.column)
        )
        raise ScenarioError(_unique(problems))
    return scenario


def resolve(path: Path) -> tuple[dict[str, Any], Locations]:
    """Read ``path`` and its ``extends`` ancestors into one plain data tree with locations.

    Raises :class:`~cstosim.language.yamlio.ScenarioError` if a file cannot be read or an
    edit is invalid.
    """
    data, locs, problems = _resolve(path, ())
    if problems:
        raise ScenarioError(problems)
    return data, locs


def _resolve(
    path: Path, chain: tuple[Path, ...]
) -> tuple[dict[str, Any], Locations, list[Problem]]:
    """Resolve ``path``; fatal problems raise, the others are returned with the data."""
    data, locs = load_located(path)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({data!r:.40})"
        raise ScenarioError(
            [Problem(locs[()], "", f"expected a mapping of scenario fields, found {kind}")]
        )
    if "extends" not in data:
        problems = [
            Problem(locs[(k,)], k, "only a file with `extends` may edit a timeline by id")
            for k in _EDIT_KEYS
            if k in data
        ]
        for key in _EDIT_KEYS:
            data.pop(key, None)
        return data, locs, problems
    here = locs[("extends",)]
    parent_path = _parent_file(path, data.pop("extends"), here)
    own = (*chain, path.resolve())
    if parent_path.resolve() in own:
        cycle = " -> ".join(str(p) for p in (*own, parent_path.resolve()))
        raise ScenarioError([Problem(here, "extends", f"cycle of extends: {cycle}")])
    base, base_locs, problems = _resolve(parent_path, own)
    out, out_locs, child_problems = _apply_child(base, base_locs, data, locs)
    return out, out_locs, problems + child_problems


def _parent_file(child: Path, ref: Any, here: Location) -> Path:
    """The regular file that ``extends: ref`` in ``child`` names; else a located error."""
    if not isinstance(ref, str) or not ref.strip():
        raise ScenarioError([Problem(here, "extends", "expected the path of a parent YAML file")])
    parent = child.parent / ref
    if "\0" in ref:
        what = "a path with a NUL character"
    else:
        try:
            what = file_kind(os.stat(parent).st_mode) or ""
        except FileNotFoundError:
            what = "file not found"
        except (OSError, ValueError) as exc:  # too long, a symlink loop, not a folder...
            what = f"cannot read file: {getattr(exc, 'strerror', None) or exc}"
    if what:
        message = f"{what}: {parent} (a path relative to this file, expected a YAML file)"
        raise ScenarioError([Problem(here, "extends", message)])
    return parent


def _apply_child(
    base: dict[str, Any], base_locs: Locations, child: dict[str, Any], locs: Locations
) -> tuple[dict[str, Any], Locations, list[Problem]]:
    out = copy.deepcopy(base)
    out_locs = dict(base_locs)
    problems: list[Problem] = []
    for key, value in child.items():
        if key in _EDIT_KEYS:
            continue
        if key in _TIMELINES:
            problems.append(
                Problem(
                    locs[(key,)],
                    key,
                    f"a file with `extends` edits `{key}` "
                    f"with remove_{key}, patch_{key} and add_{key}",
                )
            )
            continue
        _merge(out, out_locs, (key,), value, locs)
    for timeline in _TIMELINES:
        problems += _edit_timeline(out, out_locs, timeline, child, locs)
    return out, out_locs, problems


def _merge(
    target: dict[str, Any], target_locs: Locations, path: Path_, value: Any, locs: Locations
) -> None:
    """Deep-merge ``value`` (from the child, at ``path``) into ``target``."""
    key = str(path[-1])
    parent = target
    for part in path[:-1]:
        parent = parent[str(part)]
    target_locs[path] = locs[path]
    if isinstance(value, dict) and isinstance(parent.get(key), dict):
        for sub in value:
            _merge(target, target_locs, (*path, sub), value[sub], locs)
        return
    _drop_prefix(target_locs, path)
    parent[key] = copy.deepcopy(value)
    _copy_prefix(locs, path, target_locs, path)


def _edit_timeline(
    out: dict[str, Any], out_locs: Locations, timeline: str, child: dict[str, Any], locs: Locations
) -> list[Problem]:
    problems: list[Problem] = []
    remove_key, patch_key, add_key = (f"remove_{timeline}", f"patch_{timeline}", f"add_{timeline}")
    old: Any = out.get(timeline) or []
    if not isinstance(old, list):
        return [
            Problem(locs[(k,)], k, f"cannot edit `{timeline}`: in the parent it is not a list")
            for k in (remove_key, patch_key, add_key)
            if k in child
        ]
    entries: list[tuple[Any, Locations, Path_]] = []  # (data, source locations, source prefix)
    old_locs = dict(out_locs)  # out_locs is rewritten below
    for i, entry in enumerate(old):
        entries.append((entry, old_locs, (timeline, i)))
    ids = [e.get("id") if isinstance(e, dict) else None for e, _, _ in entries]

    removals = child.get(remove_key, [])
    if not isinstance(removals, list):
        problems.append(Problem(locs[(remove_key,)], remove_key, "expected a list of ids"))
        removals = []
    for j, rid in enumerate(removals):
        if rid not in ids:
            problems.append(
                Problem(
                    locs[(remove_key, j)],
                    f"{remove_key}[{j}]",
                    f"no entry with id {shown(rid)} to remove; known: {_ids(ids)}",
                )
            )
    patches = child.get(patch_key, {})
    if not isinstance(patches, dict):
        problems.append(Problem(locs[(patch_key,)], patch_key, "expected a mapping id -> fields"))
        patches = {}
    patched: dict[str, tuple[Any, Locations, Path_]] = {}
    for pid, fields in patches.items():
        if pid not in ids:
            problems.append(
                Problem(
                    locs[(patch_key, pid)],
                    f"{patch_key}.{pid}",
                    f"no entry with id {shown(pid)} to patch; known: {_ids(ids)}",
                )
            )
            continue
        if not isinstance(fields, dict):
            problems.append(
                Problem(
                    locs[(patch_key, pid)],
                    f"{patch_key}.{pid}",
                    "expected a mapping of fields to change",
                )
            )
            continue
        index = ids.index(pid)
        entry, src_locs, prefix = entries[index]
        new_entry = copy.deepcopy(entry)
        new_locs: Locations = {}
        _copy_prefix(src_locs, prefix, new_locs, ("_",))
        for fname, fvalue in fields.items():
            new_entry[fname] = copy.deepcopy(fvalue)
            _drop_prefix(new_locs, ("_", fname))
            _copy_prefix(locs, (patch_key, pid, fname), new_locs, ("_", fname))
        patched[pid] = (new_entry, new_locs, ("_",))

    adds = child.get(add_key, [])
    if not isinstance(adds, list):
        problems.append(Problem(locs[(add_key,)], add_key, "expected a list of entries"))
        adds = []

    result: list[tuple[Any, Locations, Path_]] = []
    for (entry, src_locs, prefix), eid in zip(entries, ids, strict=True):
        if eid in removals:
            continue
        result.append(
            patched.get(eid, (entry, src_locs, prefix))
            if isinstance(eid, str)
            else (entry, src_locs, prefix)
        )
    for j, entry in enumerate(adds):
        result.append((entry, locs, (add_key, j)))

    anchor = out_locs.get((timeline,)) or locs.get((add_key,))
    _drop_prefix(out_locs, (timeline,))
    if anchor is not None:
        out_locs[(timeline,)] = anchor
    out[timeline] = [copy.deepcopy(e) for e, _, _ in result]
    for k, (_, src_locs, prefix) in enumerate(result):
        _copy_prefix(src_locs, prefix, out_locs, (timeline, k))
    return problems


def _ids(ids: list[Any]) -> str:
    return listing(i for i in ids if i is not None)


def _drop_prefix(locs: Locations, prefix: Path_) -> None:
    n = len(prefix)
    for key in [k for k in locs if k[:n] == prefix]:
        del locs[key]


def _copy_prefix(src: Locations, src_prefix: Path_, dst: Locations, dst_prefix: Path_) -> None:
    n = len(src_prefix)
    for key, loc in list(src.items()):
        if key[:n] == src_prefix:
            dst[(*dst_prefix, *key[n:])] = loc


# --------------------------------------------------------------------------------------------
# --set path=value
# --------------------------------------------------------------------------------------------


def apply_sets(
    data: dict[str, Any], locs: Locations, sets: list[str]
) -> tuple[dict[str, Any], Locations]:
    """Apply ``path=value`` overrides to resolved data; raise if any of them is malformed.

    ``path`` is dotted (``parameters.alignment_noise``, ``members.ARM.dependence``); inside
    ``events`` and ``observations`` an entry is named by its id or its 0-based index
    (``events.arm-call-2022.severity``). ``value`` is read as YAML (``0.3``, ``true``, ``[ARM]``,
    ``2022-05`` stays text). Problems are located at ``--set:N:1``, N counting the ``--set``
    options from 1.
    """
    out, out_locs, problems = _apply_sets(data, locs, sets)
    if problems:
        raise ScenarioError(problems)
    return out, out_locs


def _apply_sets(
    data: dict[str, Any], locs: Locations, sets: list[str]
) -> tuple[dict[str, Any], Locations, list[Problem]]:
    out = copy.deepcopy(data)
    out_locs = dict(locs)
    problems: list[Problem] = []
    for n, item in enumerate(sets, start=1):
        where = Location("--set", n, 1)
        bad = lone_surrogate(item)
        if bad is not None:  # from bytes that are not UTF-8 in the command line
            message = f"not valid UTF-8 text ({bad!r}: a byte that is not UTF-8, or a surrogate)"
            problems.append(Problem(where, "", message))
            continue
        dotted, eq, raw = item.partition("=")
        dotted = dotted.strip()
        parts = dotted.split(".")
        if not eq or not all(parts):
            message = "expected path=value, e.g. parameters.alignment_noise=0.02"
            problems.append(Problem(where, dotted, message))
            continue
        path: list[str | int] = []
        node: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            key, problem = _set_step(node, part, creating=last or [*path, part] == ["parameters"])
            if problem is not None:
                problems.append(Problem(where, format_path((*path, part)), problem))
                break
            path.append(key)
            if not last:
                if isinstance(node, dict) and key not in node:  # only `parameters` may be new
                    node[key] = {}
                node = node[key]
        else:
            value, value_locs = _parse_value(raw)
            node[path[-1]] = value
            _drop_prefix(out_locs, tuple(path))
            for sub in value_locs:
                out_locs[(*path, *sub)] = where
    return out, out_locs, problems


def _set_step(node: Any, part: str, creating: bool) -> tuple[str | int, str | None]:
    """The key or index that ``part`` names in ``node``, or a message saying what was expected."""
    if isinstance(node, list):
        ids = [e.get("id") if isinstance(e, dict) else None for e in node]
        if part in ids:
            return ids.index(part), None
        if part.isdigit() and int(part) < len(node):
            return int(part), None
        return part, f"no entry {part!r}; expected an index below {len(node)} or an id: {_ids(ids)}"
    if not isinstance(node, dict):
        return part, f"cannot go into a {type(node).__name__} value"
    if part in node or (creating and part != ""):
        return part, None
    return part, f"no {part!r} here; known: {listing(sorted(map(str, node)))}"


def _parse_value(raw: str) -> tuple[Any, Locations]:
    if not raw.strip():
        return None, {(): Location("--set", 1, 1)}
    try:
        value, locs = parse_located(raw, "--set")
    except ScenarioError:
        return raw, {(): Location("--set", 1, 1)}
    if isinstance(value, dict | list) and raw.strip()[:1] not in ("{", "["):
        return raw, {(): Location("--set", 1, 1)}  # `title=A: b` is text, not a mapping
    return value, locs


# --------------------------------------------------------------------------------------------
# Validation with located messages
# --------------------------------------------------------------------------------------------


def validate(data: Any, locs: Locations, fallback: Location) -> Scenario:
    """Validate resolved data; map every pydantic and cross-reference error to a location.

    When some fields are invalid, the cross-references (unknown ids, dates outside the calendar,
    duplicate ids) are still checked on the parts that are valid on their own, so one run
    reports both kinds of problem. An event or observation with a field error of its own is
    cross-checked only once that error is fixed.
    """
    if not isinstance(data, dict):
        raise ScenarioError([Problem(fallback, "", "expected a mapping of scenario fields")])
    try:
        scenario = Scenario.model_validate_json(
            _json(data), strict=True, context={"defer_cross_check": True}
        )
    except ValidationError as exc:
        errors = exc.errors()
        problems = [_problem_from_pydantic(err, data, locs, fallback) for err in errors]
        crossed = _partial_cross_check(data, errors)
        problems += [
            Problem(_locate(path, locs, fallback), format_path(path), message)
            for path, message in crossed
        ]
        raise ScenarioError(_unique(problems)) from None
    crossed = cross_check(scenario)
    if crossed:
        raise ScenarioError(
            [
                Problem(_locate(path, locs, fallback), format_path(path), message)
                for path, message in crossed
            ]
        )
    return scenario


_EVENT: TypeAdapter[Any] = TypeAdapter(Event)
_OBSERVATION: TypeAdapter[Any] = TypeAdapter(Observation)
_WIDE_CALENDAR = Calendar.model_construct(start="0000-01", end="9999-12")


def _json(data: Any) -> str:
    """``data`` as JSON text, for pydantic's strict JSON mode.

    Validating YAML data in strict *JSON* mode accepts exactly what the exported JSON Schema
    accepts: ``"0.5"`` is not a number, ``yes`` or ``1`` is not a boolean, ``2022`` is not a
    string, while enum values and the numbers 1 and 1.0 are fine either way.
    """
    return json.dumps(data, allow_nan=True)


def _partial_cross_check(data: dict[str, Any], errors: list[Any]) -> list[tuple[Path_, str]]:
    """Cross-check the parts of ``data`` that are valid on their own (see :func:`validate`).

    Invalid members, actors and sources still count as known codes (so references to them are
    not reported twice). An event or observation with field errors is checked on its other
    fields (the invalid ones get placeholders whose problems are not reported); one whose type
    is unknown is left out. An invalid calendar disables the date checks. If ``members``,
    ``actors`` or ``sources`` is not a mapping at all, nothing is cross-checked.
    """
    paths = [_data_path(tuple(err["loc"]), data) for err in errors]
    tops = {path[:1] for path in paths}
    for key in ("members", "actors", "sources"):
        if (key,) in tops and not isinstance(data.get(key, {}), dict):
            return []
    if ("members",) in tops and "members" not in data:
        return []
    bad = {path[:3] for path in paths if len(path) >= 3}

    def entries(key: str, model: type[BaseModel], stub: Any) -> tuple[dict[str, Any], bool]:
        out: dict[str, Any] = {}
        stubbed = False
        for code, raw in (data.get(key) or {}).items():
            try:
                out[code] = model.model_validate_json(_json(raw), strict=True)
            except ValidationError:
                out[code] = stub(raw)
                stubbed = True
        return out, stubbed

    def member_stub(raw: Any) -> Member:
        leading = isinstance(raw, dict) and raw.get("leading") is True
        return Member.model_construct(name="", joined="0000-01", leading=leading, threats={})

    members, members_stubbed = entries("members", Member, member_stub)
    actors, _ = entries(
        "actors", Actor, lambda raw: Actor.model_construct(name="", kind=ActorKind.STATE)
    )
    sources, _ = entries("sources", Source, lambda raw: Source.model_construct(title=""))
    try:
        calendar = Calendar.model_validate_json(_json(data.get("calendar")), strict=True)
    except ValidationError:
        calendar = _WIDE_CALENDAR

    def timeline(
        key: str, adapter: TypeAdapter[Any], tag: str, lenient: bool
    ) -> tuple[list[Any], list[int]]:
        kept: list[Any] = []
        index: list[int] = []
        raw_list = data.get(key) or []
        for i, raw in enumerate(raw_list if isinstance(raw_list, list) else []):
            try:
                kept.append(adapter.validate_json(_json(raw), strict=True))
            except ValidationError:
                if not lenient or not isinstance(raw, dict):
                    continue
                model = _pick_model(Event if key == "events" else Observation, raw)
                if model is None:
                    continue
                fields = {
                    name: value
                    for name, value in raw.items()
                    if name in model.model_fields and (key, i, name) not in bad
                }
                for name, field in model.model_fields.items():
                    if field.is_required() and name not in fields and name != tag:
                        text = raw.get(name) if isinstance(raw.get(name), str) else "#invalid"
                        fields[name] = calendar.start if "date" in name else text
                kept.append(model.model_construct(**fields))
            index.append(i)
        return kept, index

    raw_events = data.get("events") if isinstance(data.get("events"), list) else []
    raw_ids = {e.get("id") for e in raw_events or [] if isinstance(e, dict) and _is_text(e, "id")}
    out: list[tuple[Path_, str]] = []
    for lenient in (True, False):
        events, event_index = timeline("events", _EVENT, "type", lenient)
        observations, observation_index = timeline("observations", _OBSERVATION, "kind", lenient)
        partial = Scenario.model_construct(
            schema_version=1,
            name="partial",
            title="",
            calendar=calendar,
            parameters=Parameters(),
            sources=sources,
            members=members,
            actors=actors,
            events=events,
            observations=observations,
        )
        try:
            crossed = cross_check(partial)
        except Exception:  # a placeholder the cross-check cannot digest: retry without them
            continue
        for path, message in crossed:
            if path == ("members",) and members_stubbed:
                continue  # the leading flag of an invalid member is unknown
            named = observations[int(path[1])] if path[:1] == ("observations",) else None
            if path[2:] == ("event",) and getattr(named, "event", None) in raw_ids:
                continue  # it names an event that has errors of its own
            if path[:1] in (("events",), ("observations",)):
                index = event_index if path[0] == "events" else observation_index
                path = (path[0], index[int(path[1])], *path[2:])
                if path[:3] in bad:
                    continue  # that field has an error of its own
            out.append((path, message))
        break
    return out


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def _locate(path: Path_, locs: Locations, fallback: Location) -> Location:
    for n in range(len(path), -1, -1):
        if path[:n] in locs:
            return locs[path[:n]]
    return fallback


def _data_path(loc: tuple[str | int, ...], data: Any) -> Path_:
    """Drop discriminator tags and validator names that pydantic puts into error locations."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if _has(node, part):
            out.append(part)
            node = node[part]
        elif (isinstance(node, dict) and part in (node.get("type"), node.get("kind"))) or (
            isinstance(part, str) and ("[" in part or part.startswith("function-"))
        ):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


_PATTERNS = {
    "^[A-Z][A-Z0-9_]{1,11}$": "a code of 2 to 12 upper-case letters, digits or _ (e.g. RUS)",
    "^[a-z0-9][a-z0-9-]*$": "a slug of lower-case letters, digits and - (e.g. arm-call-2022)",
}


def _problem_from_pydantic(err: Any, data: Any, locs: Locations, fallback: Location) -> Problem:
    path = _data_path(tuple(err["loc"]), data)
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        fields = _expected_fields(path[:-1], data)
        message = f"unknown field {path[-1]!r}" + (
            f"; expected one of: {', '.join(fields)}" if fields else ""
        )
    elif kind == "missing":
        message = f"missing required field {path[-1]!r}" if path else "missing required field"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(err.get("ctx", {}).get("discriminator", "'type'")).strip("'")
        path = (*path, tag)
        if kind == "union_tag_not_found":
            tags = EVENT_TYPES if tag == "type" else ("engagement", "response")
            message = f"missing required field {tag!r}; expected one of: {', '.join(tags)}"
    elif kind == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        expected = _PATTERNS.get(pattern, f"text matching {pattern}")
        message = f"expected {expected}, got {shown(err['input'])}"
    elif kind == "too_long" and isinstance(err.get("input"), dict | list):
        limit = err.get("ctx", {}).get("max_length")
        message = f"{len(err['input'])} entries; at most {limit} (a limit; docs/RELIABILITY.md)"
    elif kind == "json_invalid":  # its input is the whole scenario: never echo it
        message = f"cannot check the data ({message})"
    elif kind != "value_error" and "input" in err and not (isinstance(err["input"], dict | list)):
        message = f"{message} (got {shown(err['input'])})"
    return Problem(_locate(path, locs, fallback), format_path(path), message)


def _expected_fields(path: Path_, data: Any) -> list[str]:
    """Names of the fields allowed at ``path`` (for 'unknown field' messages)."""
    annotation: Any = Scenario
    node = data
    for part in path:
        annotation = _step(annotation, part, node)
        node = node[part] if _has(node, part) else None
        if annotation is None:
            return []
    cls = _pick_model(annotation, node)
    return list(cls.model_fields) if cls is not None else []


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _pick_model(annotation: Any, node: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    options = [
        a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)
    ]
    if isinstance(node, dict):
        tag = node.get("type", node.get("kind"))
        for option in options:
            for field in ("type", "kind"):
                f = option.model_fields.get(field)
                if f is not None and tag in typing.get_args(f.annotation):
                    return option
    return None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _step(annotation: Any, part: str | int, node: Any) -> Any:
    annotation = _unwrap(annotation)
    model = _pick_model(annotation, node)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict:
        return args[1]
    if origin is list:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _step(non_none[0], part, node)
    return None


def _is_text(entry: dict[str, Any], key: str) -> bool:
    return isinstance(entry.get(key), str)
