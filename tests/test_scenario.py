"""The scenario language itself: models, cross-references, shock targets and the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from cstosim.language.loader import load_scenario, resolve
from cstosim.language.scenario import (
    EVENT_TYPES,
    Engagement,
    Outcome,
    Scenario,
    check_shock_target,
    cross_check,
    day_of,
    json_schema,
    month_index,
)
from cstosim.language.yamlio import ScenarioError, load_located

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"
DATA = Path(__file__).parent / "data"
EDITOR_HINT = "# yaml-language-server: $schema=../docs/scenario.schema.json"


def example_data() -> dict[str, Any]:
    data, _ = resolve(EXAMPLE)
    return data


def test_dates() -> None:
    assert month_index("2022-01-05") == (2022, 1)
    assert month_index("1992-05") == (1992, 5)
    assert day_of("2022-01-05") == 5
    assert day_of("2022-01") is None


def test_ordered_enums() -> None:
    assert [e.level for e in Engagement] == [0, 1, 2, 3]
    assert Outcome.NONE.level < Outcome.TOKEN_FORCE.level < Outcome.DEPLOYMENT.level


def test_example_uses_every_event_type() -> None:
    scenario = load_scenario(EXAMPLE)
    assert {e.type for e in scenario.events} == set(EVENT_TYPES)
    assert scenario.leader == "LDR"


def test_direct_validation_runs_the_cross_check() -> None:
    data = example_data()
    data["events"][0]["member"] = "XYZ"
    with pytest.raises(ValidationError, match=r"events\.0\.member: unknown code 'XYZ'"):
        Scenario.model_validate(data)
    deferred = Scenario.model_validate(data, context={"defer_cross_check": True})
    assert cross_check(deferred) == [
        (("events", 0, "member"), "unknown code 'XYZ'; known members: ALP, BRV, LDR")
    ]


def test_cross_check_of_everything_that_can_refer() -> None:
    data = example_data()
    data["actors"]["ALP"] = {"name": "Alpha twin", "kind": "state"}
    data["actors"]["OUT"]["ties"] = {"NOPE": 0.1}
    data["events"][3]["ends"] = "2021-01"  # war-far starts 2021-02
    data["events"][6]["member"] = "OUT"  # outside_engagement member must be a member
    data["events"][8]["absentees"] = ["ALP", "ZZ"]
    data["events"][2]["skipped_by"] = ["QQ"]
    data["observations"][1]["member"] = "AGG"
    data["observations"][1]["source"] = "nope"
    data["observations"].append(dict(data["observations"][1], id="brv-steps-back", member="BRV"))
    data["observations"][2]["source"] = "example"
    problems = cross_check(Scenario.model_validate(data, context={"defer_cross_check": True}))
    assert [(".".join(map(str, path)), message.split(";")[0]) for path, message in problems] == [
        ("actors.ALP", "ALP is both a member and an actor"),
        ("actors.OUT.ties.NOPE", "unknown member 'NOPE'"),
        ("events.2.skipped_by.0", "unknown member 'QQ'"),
        ("events.3.ends", "war ends (2021-01) before it starts (2021-02)"),
        ("events.6.member", "unknown code 'OUT'"),
        ("events.8.absentees.1", "unknown member 'ZZ'"),
        ("observations.1.source", "unknown source 'nope'"),
        ("observations.1.member", "unknown member 'AGG'"),
        ("observations.2.id", "duplicate observation id 'brv-steps-back'"),
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("parameters.hysteresis", None),
        ("members.ALP.dependence", None),
        ("members.ALP.threats.AGG", None),
        ("members.ALP.threats.BRV", None),
        (
            "members.ALP.threats.ZZZ",
            "unknown threat source 'ZZZ'; known members and actors: AGG, ALP, BRV, FAR, LDR, OUT",
        ),
        ("actors.OUT.pull.ALP", None),
        ("actors.AGG.ties.LDR", None),
        ("actors.OUT.pull_growth", None),
        ("parameters.nope", "unknown model parameter 'nope'; known: learning_caller"),
        ("members.XX.dependence", "unknown member 'XX'; known members: ALP, BRV, LDR"),
        ("members.ALP.name", "member field 'name' cannot be shocked; numeric fields: capability"),
        ("members.ALP.initial.alignment", "cannot interpret target"),
        ("members.ALP.foo.bar", "cannot interpret target"),
        ("actors.XX.pull.ALP", "unknown actor 'XX'; known actors: AGG, FAR, OUT"),
        ("actors.OUT.pull.XX", "unknown member 'XX'; known members: ALP, BRV, LDR"),
        ("actors.XX.pull_growth", "unknown actor 'XX'"),
        ("calendar.end", "cannot interpret target 'calendar.end'; expected parameters.<name>"),
    ],
)
def test_shock_targets(target: str, message: str | None) -> None:
    scenario = load_scenario(EXAMPLE)
    found = check_shock_target(scenario, target)
    if message is None:
        assert found is None
    else:
        assert found is not None and found.startswith(message)


@pytest.mark.parametrize(
    ("index", "patch", "message"),
    [
        (9, {"set": 0.5}, "give exactly one of `set` or `shift`"),
        (9, {"shift": None}, "give exactly one of `set` or `shift`"),
    ],
)
def test_event_model_validators(index: int, patch: dict[str, Any], message: str) -> None:
    data = example_data()
    data["events"][index].update(patch)
    with pytest.raises(ValidationError, match=message):
        Scenario.model_validate(data)


def test_observation_model_validators() -> None:
    data = example_data()
    data["observations"][0].pop("at_least")
    data["observations"][0].pop("within_days")
    data["observations"][1].pop("at_least")
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    messages = [e["msg"] for e in info.value.errors()]
    assert messages == [
        "Value error, give at least one of `equals`, `at_least`, `at_most`, `within_days`",
        "Value error, give at least one of `at_least`, `at_most`, `equals`",
    ]


# ---- JSON Schema -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_schema_file_is_up_to_date() -> None:
    shipped = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    assert shipped == json_schema(), "run: cstosim schema > docs/scenario.schema.json"


def test_there_are_shipped_scenarios_with_and_without_extends() -> None:
    texts = [path.read_text() for path in SCENARIOS]
    assert any("\nextends:" in t for t in texts) or (DATA / "extends" / "child.yaml").exists()
    assert EXAMPLE in SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_files_carry_the_editor_hint(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == EDITOR_HINT


@pytest.mark.parametrize(
    "path",
    SCENARIOS + [DATA / "extends" / f"{n}.yaml" for n in ("base", "child", "grandchild")],
    ids=lambda p: p.name,
)
def test_schema_accepts_every_valid_file(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    load_scenario(path)  # the loader accepts it ...
    data, _ = load_located(path)  # ... and so does the schema, file by file
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(colour="red"), "'colour' was unexpected"),
        (lambda d: d["members"].update(Ldr=d["members"]["LDR"]), "'Ldr' does not match"),
        (lambda d: d["members"]["ALP"].update(capability=1.5), "1.5 is greater than"),
        (lambda d: d["members"]["ALP"].update(capability="0.5"), "'0.5' is not of type 'number'"),
        (lambda d: d["members"]["ALP"].update(leading="yes"), "'yes' is not of type 'boolean'"),
        (lambda d: d["calendar"].update(start="2020-13"), "'2020-13' does not match"),
        (lambda d: d["events"][0].update(date="5 March 2020"), "is not valid under any"),
        (lambda d: d["events"][0].update(type="invasion"), "is not valid under any"),
        (lambda d: d.update(remove_events=["alp-call"]), "'remove_events' was unexpected"),
        (lambda d: d.pop("members"), "'members' is a required property"),
    ],
)
def test_schema_rejects_what_the_loader_rejects(
    mutate: Any, fragment: str, validator: jsonschema.Draft202012Validator
) -> None:
    data, _ = load_located(EXAMPLE)
    mutate(data)
    messages = [e.message for e in validator.iter_errors(data)]
    assert any(fragment in m for m in messages), messages


@pytest.mark.parametrize(
    ("child", "fragment"),
    [
        ({"events": []}, "'events' was unexpected"),
        ({"add_events": [{"id": "x"}]}, "is not valid under any"),
        ({"remove_events": "x"}, "'x' is not of type 'array'"),
        ({"patch_events": {"x": {"colour": 1}}}, "'colour' is not one of"),
        ({"members": {"ALP": {"capability": 2}}}, "2 is greater than the maximum"),
        ({"members": {"ALP": {"colour": 2}}}, "'colour' was unexpected"),
        ({"calendar": {"end": "2030"}}, "'2030' does not match"),
        ({"extends": ""}, "should be non-empty"),
    ],
)
def test_schema_of_child_files(
    child: dict[str, Any], fragment: str, validator: jsonschema.Draft202012Validator
) -> None:
    data = {"extends": "base.yaml", **child}
    messages = [e.message for e in validator.iter_errors(data)]
    assert any(fragment in m for m in messages), messages
    assert list(validator.iter_errors({"extends": "base.yaml", "members": {"NEW": {}}})) == []


# ---- docs/SCENARIOS.md -------------------------------------------------------------------------

DOC = (ROOT / "docs" / "SCENARIOS.md").read_text(encoding="utf-8")


def _yaml_blocks() -> list[str]:
    parts = DOC.split("```yaml\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


def test_doc_names_every_event_type_and_field() -> None:
    from cstosim.language.scenario import (
        Actor,
        EngagementObservation,
        InitialState,
        Member,
        ResponseObservation,
        Source,
        _union_models,
    )
    from cstosim.language.scenario import Event as EventUnion

    for event_type in EVENT_TYPES:
        assert f"### `{event_type}`" in DOC
    models = [*_union_models(EventUnion), Member, InitialState, Actor, Source]
    models += [EngagementObservation, ResponseObservation]
    missing = [
        f"{model.__name__}.{field}"
        for model in models
        for field in model.model_fields
        if f"`{field}`" not in DOC
    ]
    assert missing == []


def test_doc_examples_are_valid(tmp_path: Path, validator: jsonschema.Draft202012Validator) -> None:
    from pydantic import TypeAdapter

    from cstosim.language.scenario import Event as EventUnion
    from cstosim.language.yamlio import parse_located

    adapter: TypeAdapter[Any] = TypeAdapter(EventUnion)
    events = 0
    for block in _yaml_blocks():
        if all(line.startswith("#") for line in block.splitlines()):
            continue  # the editor hint alone
        data, _ = parse_located(block, "SCENARIOS.md")
        if isinstance(data, list) and all("type" in entry for entry in data):
            for entry in data:
                adapter.validate_json(json.dumps(entry), strict=True)
                events += 1
        elif isinstance(data, dict) and {"schema_version", "members"} <= set(data):
            path = tmp_path / "first.yaml"
            path.write_text(block, encoding="utf-8")
            load_scenario(path)
        if isinstance(data, dict) and (
            "extends" in data or {"schema_version", "members"} <= set(data)
        ):
            assert list(validator.iter_errors(data)) == []
    assert events == len(EVENT_TYPES)


# ------------------------------------------------------------------ load-time checks (review)


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    from cstosim.language.yamlio import dump_yaml

    path = tmp_path / "s.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path


def _load_errors(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    return "\n".join(str(p) for p in info.value.problems)


def _shock(**fields: Any) -> dict[str, Any]:
    return {
        "id": "shock-x",
        "date": "2021-01",
        "type": "parameter_shock",
        "label": "x",
        "source": "example",
        **fields,
    }


@pytest.mark.parametrize("field", ["set", "shift"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_shock_is_a_load_error(tmp_path: Path, field: str, value: float) -> None:
    data = example_data()
    data["events"].append(_shock(target="parameters.hysteresis", **{field: value}))
    message = _load_errors(tmp_path, data)
    assert f"events[{len(data['events']) - 1}].{field}: Input should be a finite number" in message


def test_unknown_threat_source_of_a_shock_is_a_load_error(tmp_path: Path) -> None:
    data = example_data()
    data["events"].append(_shock(target="members.ALP.threats.ZZZ", set=0.5))
    message = _load_errors(tmp_path, data)
    assert "unknown threat source 'ZZZ'" in message
    assert "known members and actors: AGG, ALP, BRV, FAR, LDR, OUT" in message


def test_unknown_member_tie_is_a_load_error(tmp_path: Path) -> None:
    data = example_data()
    data["members"]["ALP"]["ties"] = {"ZZZ": 0.5, "LDR": 0.7}
    message = _load_errors(tmp_path, data)
    assert "members.ALP.ties.ZZZ" in message and "unknown member 'ZZZ'" in message


def test_outside_engagement_partner_must_be_a_pole(tmp_path: Path) -> None:
    data = example_data()
    (k, ev), *_ = [
        (k, e) for k, e in enumerate(data["events"]) if e["type"] == "outside_engagement"
    ]
    ev["partner"] = "AGG"  # an aggressor, not a pole
    message = _load_errors(tmp_path, data)
    assert f"events[{k}].partner" in message
    assert "unknown code 'AGG'; known actors of kind pole: OUT" in message


def test_outcome_thresholds_must_be_ordered(tmp_path: Path) -> None:
    from cstosim.language.parameters import Parameters

    Parameters(threshold_statements=0.3, threshold_fact_finding=0.3)  # ties are allowed
    with pytest.raises(ValidationError, match="outcome thresholds must be in increasing order"):
        Parameters(threshold_token_force=0.8)  # above threshold_deployment = 0.7
    data = example_data()
    data.setdefault("parameters", {})["threshold_statements"] = 0.5
    assert "outcome thresholds must be in increasing order" in _load_errors(tmp_path, data)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_elsewhere_are_load_errors(tmp_path: Path, value: float) -> None:
    """Every other number of a scenario is bounded, so NaN and inf are rejected too."""
    data = example_data()
    data["members"]["ALP"]["capability"] = value
    data["actors"]["OUT"]["pull_growth"] = value
    data.setdefault("parameters", {})["hysteresis"] = value
    message = _load_errors(tmp_path, data)
    for path in ("members.ALP.capability", "actors.OUT.pull_growth", "parameters.hysteresis"):
        assert path in message, path
