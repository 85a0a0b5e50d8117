"""Reading scenario files: ``extends`` chains, overrides, ``--set`` values and located errors.

A file that ``extends: parent.yaml`` (a path relative to itself) starts from the parent's
resolved data and then

* deep-merges any mapping it gives (``parameters``, ``members``, ``actors``, ``sources``,
  ``calendar``): a member it names is patched field by field, a new code adds a member;
* replaces scalars (``name``, ``title``, ``description``);
* edits the timeline by id: ``remove_events: [id, ...]``, ``patch_events: {id: {field: value}}``,
  ``add_events: [event, ...]`` (and the same three keys for ``observations``).

Every problem found is reported, each as ``file:line:column: field.path: message``.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cstosim.scenario import Scenario, cross_check
from cstosim.yamlio import Location, Path_, Problem, ScenarioError, format_path, load_located

Locations = dict[Path_, Location]

_TIMELINES = ("events", "observations")
_EDIT_KEYS = tuple(f"{verb}_{t}" for t in _TIMELINES for verb in ("remove", "patch", "add"))


def load_scenario(path: str | Path, sets: Iterable[str] = ()) -> Scenario:
    """Load, resolve and validate a scenario file; ``sets`` are ``path=value`` overrides.

    Raises :class:`~cstosim.yamlio.ScenarioError` listing every problem found.
    """
    data, locs = resolve(Path(path))
    if sets:
        data, locs = apply_sets(data, locs, list(sets))
    return validate(data, locs, fallback=Location(str(path), 1, 1))


def resolve(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Locations]:
    """Read ``path`` and its ``extends`` ancestors into one plain data tree with locations."""
    resolved_path = path.resolve()
    if resolved_path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, resolved_path))
        raise ScenarioError([Problem(Location(str(path), 1, 1), "extends", f"cycle: {cycle}")])
    data, locs = load_located(path)
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(locs.get((), Location(str(path), 1, 1)), "", "expected a mapping of fields")]
        )
    if "extends" not in data:
        stray = [k for k in _EDIT_KEYS if k in data]
        if stray:
            raise ScenarioError(
                [Problem(locs[(k,)], k, "only a file with `extends` may edit a timeline by id")
                 for k in stray]
            )
        return data, locs
    parent_ref = data.pop("extends")
    if not isinstance(parent_ref, str):
        raise ScenarioError([Problem(locs[("extends",)], "extends", "expected a file path")])
    parent_path = path.parent / parent_ref
    if not parent_path.exists():
        raise ScenarioError(
            [Problem(locs[("extends",)], "extends", f"file not found: {parent_path}")]
        )
    base, base_locs = resolve(parent_path, (*_chain, resolved_path))
    return _apply_child(base, base_locs, data, locs)


def _apply_child(
    base: dict[str, Any], base_locs: Locations, child: dict[str, Any], locs: Locations
) -> tuple[dict[str, Any], Locations]:
    out = copy.deepcopy(base)
    out_locs = dict(base_locs)
    problems: list[Problem] = []
    for key, value in child.items():
        if key in _EDIT_KEYS:
            continue
        if key in _TIMELINES:
            problems.append(Problem(locs[(key,)], key, f"a file with `extends` edits `{key}` "
                                    f"with remove_{key}, patch_{key} and add_{key}"))
            continue
        _merge(out, out_locs, (key,), value, locs)
    for timeline in _TIMELINES:
        problems += _edit_timeline(out, out_locs, timeline, child, locs)
    if problems:
        raise ScenarioError(problems)
    return out, out_locs


def _merge(target: dict[str, Any], target_locs: Locations, path: Path_, value: Any,
           locs: Locations) -> None:
    """Deep-merge ``value`` (from the child, at ``path``) into ``target``."""
    key = path[-1]
    parent = target
    for part in path[:-1]:
        parent = parent[part]
    target_locs[path] = locs[path]
    if isinstance(value, dict) and isinstance(parent.get(key), dict):
        for sub in value:
            _merge(target, target_locs, (*path, sub), value[sub], locs)
        return
    _drop_prefix(target_locs, path)
    parent[key] = copy.deepcopy(value)
    _copy_prefix(locs, path, target_locs, path)


def _edit_timeline(out: dict[str, Any], out_locs: Locations, timeline: str,
                   child: dict[str, Any], locs: Locations) -> list[Problem]:
    problems: list[Problem] = []
    old: list[Any] = out.get(timeline, []) or []
    entries: list[tuple[Any, Locations, Path_]] = []  # (data, source locations, source prefix)
    for i, entry in enumerate(old):
        entries.append((entry, out_locs, (timeline, i)))
    ids = [e.get("id") if isinstance(e, dict) else None for e, _, _ in entries]

    remove_key, patch_key, add_key = (f"remove_{timeline}", f"patch_{timeline}", f"add_{timeline}")
    removals = child.get(remove_key) or []
    if not isinstance(removals, list):
        problems.append(Problem(locs[(remove_key,)], remove_key, "expected a list of ids"))
        removals = []
    for j, rid in enumerate(removals):
        if rid not in ids:
            problems.append(Problem(locs[(remove_key, j)], f"{remove_key}[{j}]",
                                    f"no entry with id {rid!r} to remove; known: {_ids(ids)}"))
    patches = child.get(patch_key) or {}
    if not isinstance(patches, dict):
        problems.append(Problem(locs[(patch_key,)], patch_key, "expected a mapping id -> fields"))
        patches = {}
    patched: dict[str, tuple[Any, Locations, Path_]] = {}
    for pid, fields in patches.items():
        if pid not in ids:
            problems.append(Problem(locs[(patch_key, pid)], f"{patch_key}.{pid}",
                                    f"no entry with id {pid!r} to patch; known: {_ids(ids)}"))
            continue
        if not isinstance(fields, dict):
            problems.append(Problem(locs[(patch_key, pid)], f"{patch_key}.{pid}",
                                    "expected a mapping of fields to change"))
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

    adds = child.get(add_key) or []
    if not isinstance(adds, list):
        problems.append(Problem(locs[(add_key,)], add_key, "expected a list of entries"))
        adds = []

    result: list[tuple[Any, Locations, Path_]] = []
    for (entry, src_locs, prefix), eid in zip(entries, ids, strict=True):
        if eid in removals:
            continue
        result.append(patched.get(eid, (entry, src_locs, prefix)) if isinstance(eid, str) else
                      (entry, src_locs, prefix))
    for j, entry in enumerate(adds):
        result.append((entry, locs, (add_key, j)))

    _drop_prefix(out_locs, (timeline,))
    if timeline in out or result:
        out_locs[(timeline,)] = out_locs.get((timeline,), locs.get((add_key,), Location("?", 1, 1)))
    out[timeline] = [copy.deepcopy(e) for e, _, _ in result]
    for k, (_, src_locs, prefix) in enumerate(result):
        _copy_prefix(src_locs, prefix, out_locs, (timeline, k))
    return problems


def _ids(ids: list[Any]) -> str:
    return ", ".join(str(i) for i in ids if i is not None) or "(none)"


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


def apply_sets(data: dict[str, Any], locs: Locations, sets: list[str]
               ) -> tuple[dict[str, Any], Locations]:
    """Apply ``path=value`` overrides (value parsed as a YAML scalar) to resolved data."""
    from ruamel.yaml import YAML

    out = copy.deepcopy(data)
    out_locs = dict(locs)
    problems: list[Problem] = []
    for n, item in enumerate(sets, start=1):
        where = Location("--set", n, 1)
        if "=" not in item:
            problems.append(Problem(where, item, "expected path=value, e.g. "
                                    "parameters.alignment_noise=0.02"))
            continue
        dotted, raw = item.split("=", 1)
        parts = dotted.strip().split(".")
        node: Any = out
        ok = True
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict):
                ok = False
                break
            if part not in node:
                if depth == 0 and part == "parameters":
                    node[part] = {}
                else:
                    known = ", ".join(sorted(node)) or "(none)"
                    problems.append(Problem(where, dotted, f"no {part!r} here; known: {known}"))
                    ok = False
                    break
            node = node[part]
        if not ok:
            continue
        if not isinstance(node, dict):
            problems.append(Problem(where, dotted, "this path does not lead to a field"))
            continue
        try:
            value = YAML(typ="safe", pure=True).load(raw)
        except Exception:
            value = raw
        node[parts[-1]] = value
        out_locs[tuple(parts)] = where
    if problems:
        raise ScenarioError(problems)
    return out, out_locs


# --------------------------------------------------------------------------------------------
# Validation with located messages
# --------------------------------------------------------------------------------------------


def validate(data: Any, locs: Locations, fallback: Location) -> Scenario:
    """Validate resolved data; map every pydantic and cross-reference error to a location."""
    try:
        scenario = Scenario.model_validate(data, context={"defer_cross_check": True})
    except ValidationError as exc:
        problems = [_problem_from_pydantic(err, data, locs, fallback) for err in exc.errors()]
        raise ScenarioError(_unique(problems)) from None
    crossed = cross_check(scenario)
    if crossed:
        raise ScenarioError(
            [Problem(_locate(path, locs, fallback), format_path(path), message)
             for path, message in crossed]
        )
    return scenario


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
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part in (node.get("type"), node.get("kind")):
            continue
        elif isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


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
    elif kind != "value_error" and "input" in err and not (
        isinstance(err["input"], dict | list)
    ):
        message = f"{message} (got {err['input']!r})"
    return Problem(_locate(path, locs, fallback), format_path(path), message)


def _expected_fields(path: Path_, data: Any) -> list[str]:
    """Names of the fields allowed at ``path`` (for 'unknown field' messages)."""
    annotation: Any = Scenario
    node = data
    for part in path:
        annotation = _step(annotation, part, node)
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None
        if annotation is None:
            return []
    cls = _pick_model(annotation, node)
    return list(cls.model_fields) if cls is not None else []


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _pick_model(annotation: Any, node: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    options = [a for a in typing.get_args(annotation)
               if isinstance(a, type) and issubclass(a, BaseModel)]
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
