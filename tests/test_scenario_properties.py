"""Properties of the scenario language, checked on many generated scenarios (hypothesis).

* A resolved scenario dumped to YAML and read again is the same scenario.
* Random mutations of a valid scenario (deleted keys, wrong types, garbage values, at random
  paths, in a complete file, in a file that ``extends`` another, or in ``--set`` values) only
  ever raise :class:`ScenarioError`, whose every problem has a real location; and whatever the
  loader accepts, the exported JSON Schema accepts too.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cstosim.language.loader import load_scenario, resolve, validate
from cstosim.language.parameters import THRESHOLDS, Parameters
from cstosim.language.scenario import SHOCKABLE_MEMBER_FIELDS, Scenario, json_schema
from cstosim.language.yamlio import Location, ScenarioError, dump_yaml, load_located, parse_located

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"
EXTENDS = Path(__file__).parent / "data" / "extends"
BASE, _ = resolve(EXAMPLE)  # every event type, for the round trip
SMALL, _ = resolve(EXTENDS / "base.yaml")  # a short file: mutations are many and parsing is slow
CHILD, _ = load_located(EXTENDS / "child.yaml")
VALIDATOR = jsonschema.Draft202012Validator(json_schema())
FALLBACK = Location("generated.yaml", 1, 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

unit = st.floats(0, 1, allow_nan=False)
# any text a user could type, including YAML-significant characters and non-Latin scripts
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def _bounds(name: str) -> tuple[float, float]:
    low, high = 0.0, 1.0
    for meta in Parameters.model_fields[name].metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Variations of the example scenario: numbers, texts, parameters and a subset of events."""
    data = copy.deepcopy(BASE)
    data["title"] = draw(text)
    data["description"] = draw(text)
    for member in data["members"].values():
        member["name"] = draw(text)
        for field in SHOCKABLE_MEMBER_FIELDS:
            if draw(st.booleans()):
                member[field] = draw(unit)
        member["initial"]["alignment"] = draw(unit)
    for name in draw(st.sets(st.sampled_from(sorted(Parameters.model_fields)))):
        low, high = _bounds(name)
        data["parameters"][name] = draw(st.floats(low, high, allow_nan=False))
    # the outcome thresholds must stay ordered (Parameters validator)
    given = [n for n in THRESHOLDS if n in data["parameters"]]
    if given:
        values = sorted(
            data["parameters"].get(n, Parameters.model_fields[n].default) for n in THRESHOLDS
        )
        data["parameters"].update(zip(THRESHOLDS, values, strict=True))
    keep = draw(st.lists(st.booleans(), min_size=len(data["events"]), max_size=12))
    data["events"] = [e for e, k in zip(data["events"], keep, strict=False) if k]
    for event in data["events"]:
        event["label"] = draw(text)
        if draw(st.booleans()):
            event["quote"] = draw(st.none() | text)
    invocations = {e["id"] for e in data["events"] if e["type"] == "invocation"}
    data["observations"] = [
        o for o in data["observations"] if o["kind"] != "response" or o["event"] in invocations
    ]
    return Scenario.model_validate(data)


@settings(SETTINGS, max_examples=15)
@given(scenarios(), st.booleans())
def test_dump_and_reload_is_identity(scenario: Scenario, exclude_none: bool) -> None:
    text_ = dump_yaml(scenario.model_dump(mode="json", exclude_none=exclude_none))
    data, locs = parse_located(text_, "dumped.yaml")
    assert validate(data, locs, FALLBACK) == scenario


# ---- mutations ---------------------------------------------------------------------------------

garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.sampled_from(["2020-13", "2021-05", "2021-05-31", "XYZ", "LDR", "", "invocation", "-1"]),
    st.lists(st.integers() | text, max_size=3),
    st.dictionaries(st.sampled_from(["id", "type", "x", "LDR", "name"]), text, max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "add", "rename"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(garbage)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "id", "type", "kind", "extends"]))] = draw(
                garbage
            )
        elif action == "add":
            parent.insert(key, draw(garbage))
        elif isinstance(parent, dict):
            parent[f"{key}x"] = parent.pop(key)
        else:
            parent.reverse()
    return data


def _check_outcome(load: Any) -> Scenario | None:
    try:
        return load()  # type: ignore[no-any-return]
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.location.line >= 1 and problem.location.column >= 1, problem
            assert problem.message, problem
        return None


@SETTINGS
@given(mutated(SMALL))
def test_mutated_scenarios_only_raise_scenario_errors(data: dict[str, Any]) -> None:
    yaml_text = dump_yaml(data)

    def load() -> Scenario:
        parsed, locs = parse_located(yaml_text, "mutated.yaml")
        return validate(parsed, locs, FALLBACK)

    scenario = _check_outcome(load)
    if scenario is not None:  # what the loader accepts, the schema accepts
        assert list(VALIDATOR.iter_errors(data)) == []


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("family")
    shutil.copy(EXTENDS / "base.yaml", folder / "base.yaml")
    return folder


@SETTINGS
@given(data=mutated(CHILD))
def test_mutated_child_files_only_raise_scenario_errors(family: Path, data: dict[str, Any]) -> None:
    path = family / "child.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    scenario = _check_outcome(lambda: load_scenario(path))
    if scenario is not None:
        assert list(VALIDATOR.iter_errors(data)) == []


path_part = st.sampled_from(
    [
        "parameters",
        "members",
        "LDR",
        "ALP",
        "events",
        "call",
        "0",
        "99",
        "threats",
        "severity",
        "name",
        "calendar",
        "end",
        "",
        "x",
    ]
)


@SETTINGS
@given(
    st.lists(path_part, min_size=1, max_size=4),
    st.one_of(
        text,
        st.sampled_from(
            ["0.5", "2", "-1", "[1, 2]", "{a: 1}", "{", "!!python/none x", "2020-05", "true", "~"]
        ),
    ),
)
def test_random_set_values_only_raise_scenario_errors(parts: list[str], value: str) -> None:
    _check_outcome(lambda: load_scenario(EXTENDS / "base.yaml", [".".join(parts) + "=" + value]))
