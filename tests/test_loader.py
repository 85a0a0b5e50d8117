"""Loading scenarios: one test per class of error (message and line:column), extends, --set."""

from __future__ import annotations

from pathlib import Path

import pytest

from cstosim.language.loader import apply_sets, load_scenario, resolve, validate
from cstosim.language.scenario import (
    EVENT_TYPES,
    DiplomaticSignal,
    Invocation,
    ResponseObservation,
    Summit,
)
from cstosim.language.yamlio import Location, ScenarioError

DATA = Path(__file__).parent / "data"
EXT = DATA / "extends"

# Line numbers matter: the tests below point at them.
MINIMAL = """\
schema_version: 1
name: mini
title: Mini
sources:
  src: {title: A source}
calendar: {start: 2020-01, end: 2020-12}
members:
  LDR: {name: Leader, joined: 2000-01, leading: true}
  ALP: {name: Alpha, joined: 2000-01}
actors:
  AGG: {name: Aggressor, kind: aggressor}
  OUT: {name: Outside, kind: pole, pull: {ALP: 0.2}}
events:
  - id: call
    date: 2020-03
    type: invocation
    member: ALP
    crisis: interstate
    severity: 0.5
    label: Alpha calls
    source: src
observations:
  - {id: obs, date: 2020-04, kind: response, event: call, at_least: statements, label: A,
     source: src}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(path: Path, sets: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, sets)
    return [str(p) for p in info.value.problems]


def broken(tmp_path: Path, old: str, new: str) -> list[str]:
    assert old in MINIMAL, old
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    return [e.removeprefix(f"{path}:") for e in errors(path)]


def test_minimal_is_valid(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, MINIMAL))
    assert scenario.leader == "LDR"
    assert isinstance(scenario.events[0], Invocation)
    assert isinstance(scenario.observations[0], ResponseObservation)


# ---- one test per class of error --------------------------------------------------------------


def test_unknown_field(tmp_path: Path) -> None:
    assert broken(tmp_path, "    severity: 0.5\n", "    severity: 0.5\n    colour: red\n") == [
        "20:5: events[0].colour: unknown field 'colour'; expected one of: id, date, label, "
        "source, quote, type, member, crisis, severity, aggressor, requested, imposed_response"
    ]


def test_unknown_top_level_field(tmp_path: Path) -> None:
    (error,) = broken(tmp_path, "title: Mini\n", "title: Mini\ntitel: typo\n")
    assert error.startswith("4:1: titel: unknown field 'titel'; expected one of: schema_version,")


def test_out_of_range_value(tmp_path: Path) -> None:
    assert broken(tmp_path, "severity: 0.5", "severity: 1.5") == [
        "19:5: events[0].severity: Input should be less than or equal to 1 (got 1.5)"
    ]


def test_out_of_range_parameter(tmp_path: Path) -> None:
    assert broken(tmp_path, "members:\n", "parameters: {alignment_noise: -1}\nmembers:\n") == [
        "7:14: parameters.alignment_noise: Input should be greater than or equal to 0 (got -1)"
    ]


def test_wrong_type_is_not_coerced(tmp_path: Path) -> None:
    assert broken(tmp_path, "severity: 0.5", 'severity: "0.5"') == [
        "19:5: events[0].severity: Input should be a valid number (got '0.5')"
    ]
    assert broken(tmp_path, "leading: true", "leading: yes") == [
        "8:40: members.LDR.leading: Input should be a valid boolean (got 'yes')"
    ]


def test_missing_required_field(tmp_path: Path) -> None:
    assert broken(tmp_path, "    crisis: interstate\n", "") == [
        "14:5: events[0].crisis: missing required field 'crisis'"
    ]


def test_unknown_event_type(tmp_path: Path) -> None:
    (error,) = broken(tmp_path, "type: invocation", "type: invasion")
    assert error.startswith("16:5: events[0].type: Input tag 'invasion' found using 'type' does")
    assert "'invocation', 'war', 'attack', 'summit'" in error


def test_unknown_member_in_event(tmp_path: Path) -> None:
    assert broken(tmp_path, "member: ALP", "member: XYZ") == [
        "17:5: events[0].member: unknown code 'XYZ'; known members: ALP, LDR"
    ]


def test_unknown_actor_in_event(tmp_path: Path) -> None:
    assert broken(tmp_path, "    severity: 0.5\n", "    severity: 0.5\n    aggressor: ZZZ\n") == [
        "20:5: events[0].aggressor: unknown code 'ZZZ'; known members and actors: AGG, ALP, "
        "LDR, OUT"
    ]
    text = "  - {id: e, date: 2020-05, type: outside_engagement, member: ALP, partner: AGX,\n"
    text += "     strength: 0.5, label: x, source: src}\nobservations:\n"
    assert broken(tmp_path, "observations:\n", text) == [
        "22:67: events[1].partner: unknown code 'AGX'; known actors of kind pole: OUT"
    ]


def test_unknown_source(tmp_path: Path) -> None:
    assert broken(tmp_path, "    source: src\n", "    source: scr\n") == [
        "21:5: events[0].source: unknown source 'scr'; known sources: src"
    ]


def test_unknown_codes_in_members_and_actors(tmp_path: Path) -> None:
    assert broken(tmp_path, "pull: {ALP: 0.2}", "pull: {ALQ: 0.2}") == [
        "12:43: actors.OUT.pull.ALQ: unknown member 'ALQ'; known members: ALP, LDR"
    ]
    assert broken(
        tmp_path, "joined: 2000-01}\nactors", "joined: 2000-01, threats: {XX: 1}}\nactors"
    )[0] == (
        "9:49: members.ALP.threats.XX: unknown threat source 'XX'; known members and actors: "
        "AGG, ALP, LDR, OUT"
    )


def test_bad_code_or_slug_format(tmp_path: Path) -> None:
    # the other members' references to ALP are then unknown too
    assert broken(tmp_path, "  ALP: {name: Alpha", "  Alp: {name: Alpha") == [
        "9:3: members.Alp: expected a code of 2 to 12 upper-case letters, digits or _ (e.g. RUS), "
        "got 'Alp'",
        "12:43: actors.OUT.pull.ALP: unknown member 'ALP'; known members: Alp, LDR",
        "17:5: events[0].member: unknown code 'ALP'; known members: Alp, LDR",
    ]
    assert broken(tmp_path, "id: call", "id: Call 1") == [
        "14:5: events[0].id: expected a slug of lower-case letters, digits and - (e.g. "
        "arm-call-2022), got 'Call 1'",
        "23:46: observations[0].event: unknown invocation 'call'; known invocation events: Call 1",
    ]


def test_missing_event_type(tmp_path: Path) -> None:
    (error,) = broken(tmp_path, "    type: invocation\n", "")
    assert error == (
        "14:5: events[0].type: missing required field 'type'; expected one of: "
        + ", ".join(EVENT_TYPES)
    )


def test_event_date_outside_calendar(tmp_path: Path) -> None:
    assert broken(tmp_path, "date: 2020-03", "date: 2021-03") == [
        "15:5: events[0].date: date 2021-03 is outside the calendar 2020-01 to 2020-12"
    ]
    assert broken(tmp_path, "date: 2020-04", "date: 2019-12-31") == [
        "23:15: observations[0].date: date 2019-12-31 is outside the calendar 2020-01 to 2020-12"
    ]


@pytest.mark.parametrize("bad", ["2020-13", "2020-3", "2020-02-30", "March 2020", "2020"])
def test_malformed_dates(tmp_path: Path, bad: str) -> None:
    (error,) = broken(tmp_path, "date: 2020-03", f"date: {bad}")
    assert error.startswith("15:5: events[0].date: ")
    if bad != "2020":  # a bare year is a YAML number, not text
        assert error.endswith(
            f"expected a date as YYYY-MM or YYYY-MM-DD (e.g. 2022-01-05), got {bad!r}"
        )
    else:
        assert error.endswith("Input should be a valid string (got 2020)")


def test_malformed_calendar(tmp_path: Path) -> None:
    assert broken(tmp_path, "end: 2020-12}", "end: 2020-12-31}") == [
        "6:28: calendar.end: expected a month as YYYY-MM (e.g. 2022-01), got '2020-12-31'"
    ]
    assert broken(tmp_path, "end: 2020-12}", "end: 2019-12}") == [
        "6:1: calendar: calendar end 2019-12 is before start 2020-01"
    ]


def test_duplicate_ids(tmp_path: Path) -> None:
    text = "  - {id: call, date: 2020-05, type: treaty_renewal, label: x, source: src}\n"
    assert broken(tmp_path, "observations:\n", text + "observations:\n") == [
        "22:6: events[1].id: duplicate event id 'call' (also events[0])"
    ]
    text = "  - {id: obs, date: 2020-05, kind: engagement, member: ALP, equals: active, label: x,"
    assert broken(
        tmp_path, "     source: src}\n", "     source: src}\n" + text + " source: src}\n"
    )[0] == ("25:6: observations[1].id: duplicate observation id 'obs'")


def test_duplicate_keys(tmp_path: Path) -> None:
    assert broken(tmp_path, "title: Mini\n", "title: Mini\ntitle: Again\n") == [
        "4:1: title: duplicate key 'title'"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    assert broken(tmp_path, "  src: {title: A source}", "  src: {title: A source") == [
        "6:9: YAML syntax error: while parsing a flow mapping, expected ',' or '}', but got ':'"
    ]


def test_unsafe_yaml_tag(tmp_path: Path) -> None:
    assert broken(tmp_path, "title: Mini", "title: !!python/object/apply:os.getcwd []") == [
        "3:8: title: YAML tag !!python/object/apply:os.getcwd is not allowed (only plain YAML: "
        "maps, lists, scalars)"
    ]


def test_exactly_one_leader(tmp_path: Path) -> None:
    assert broken(tmp_path, ", leading: true}", "}") == [
        "7:1: members: exactly one member must be leading, found []"
    ]


def test_unknown_invocation_in_observation(tmp_path: Path) -> None:
    assert broken(tmp_path, "event: call", "event: cal") == [
        "23:46: observations[0].event: unknown invocation 'cal'; known invocation events: call"
    ]


def test_bad_shock_target(tmp_path: Path) -> None:
    text = "  - {id: s, date: 2020-05, type: parameter_shock, target: members.ALP.colour, set: 1,"
    text += "\n     label: x, source: src}\nobservations:\n"
    (error,) = broken(tmp_path, "observations:\n", text)
    assert error == (
        "22:51: events[1].target: member field 'colour' cannot be shocked; numeric fields: "
        + "capability, capacity, dependence, regime_insecurity, sanctions_exposure, "
        + "autonomy_cost, exit_cost"
    )


def test_model_validator_error_is_located_at_the_entry(tmp_path: Path) -> None:
    text = "  - {id: s, date: 2020-05, type: parameter_shock, target: parameters.hysteresis,\n"
    text += "     label: x, source: src}\nobservations:\n"
    assert broken(tmp_path, "observations:\n", text) == [
        "22:5: events[1]: give exactly one of `set` or `shift`"
    ]


def test_field_and_cross_reference_errors_together() -> None:
    path = DATA / "broken" / "many-errors.yaml"
    assert [e.removeprefix(f"{path}:") for e in errors(path)] == [
        "9:55: members.LDR.colour: unknown field 'colour'; expected one of: "
        + ", ".join(_member_fields()),
        "10:22: members.ALP.joined: expected a date as YYYY-MM or YYYY-MM-DD (e.g. 2022-01-05), "
        "got '2000-13'",
        "12:49: events[0].member: unknown code 'XYZ'; known members: ALP, LDR",
        "12:82: events[0].severity: Input should be less than or equal to 1 (got 1.5)",
        "14:17: events[1].date: date 2023-01 is outside the calendar 2020-01 to 2020-12",
        "14:72: events[1].source: unknown source 'nowhere'; known sources: src",
    ]


def _member_fields() -> list[str]:
    from cstosim.language.scenario import Member

    return list(Member.model_fields)


def test_cross_checks_survive_broken_parts(tmp_path: Path) -> None:
    # an invalid member still counts as known; an invalid calendar turns the date checks off;
    # an event of unknown type is left out; references to an invalid event are not reported
    text = MINIMAL.replace("{name: Alpha, joined: 2000-01}", "{name: Alpha, joined: 1}")
    text = text.replace("end: 2020-12}", "end: 2020-13}").replace("date: 2020-03", "date: 2030-01")
    text = text.replace("type: invocation", "type: invasion").replace(
        "source: src}\n",
        "source: src}\n  - {id: o2, date: 2020-04, kind: engagement, "
        "member: XYZ, equals: active, label: x, source: nope}\n",
    )
    found = [e.split(": ", 2)[1] for e in errors(write(tmp_path, text))]
    assert found == [
        "calendar.end",
        "members.ALP.joined",
        "events[0].type",
        "observations[1].member",
        "observations[1].source",
    ]


def test_whole_sections_of_the_wrong_shape(tmp_path: Path) -> None:
    members = "members:\n  LDR: {name: Leader, joined: 2000-01, leading: true}\n"
    members += "  ALP: {name: Alpha, joined: 2000-01}\n"
    found = broken(tmp_path, members, "members: [LDR, ALP]\n")
    assert found == ["7:1: members: Input should be an object"]
    found = broken(tmp_path, "events:\n  - id: call", "events: 3\nold:\n  - id: call")
    assert found[0] == "13:1: events: Input should be a valid array (got 3)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "1:1: expected a mapping of scenario fields, found a list"),
        ("just text\n", "1:1: expected a mapping of scenario fields, found a single value"),
        ("", "1:1: the file is empty; expected a mapping of scenario fields"),
    ],
)
def test_files_that_are_not_scenarios(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    (error,) = errors(path)
    assert error.startswith(f"{path}:{message}")


def test_validate_rejects_non_mappings() -> None:
    with pytest.raises(ScenarioError, match="expected a mapping"):
        validate([1, 2], {}, Location("x", 1, 1))


# ---- extends and overrides ----------------------------------------------------------------------


def test_child_patches_adds_and_edits_timelines() -> None:
    base = load_scenario(EXT / "base.yaml")
    child = load_scenario(EXT / "child.yaml")
    assert (child.name, child.title, child.description) == ("child", "Child", base.description)
    assert child.members["ALP"].dependence == 0.9  # patched field
    assert child.members["ALP"].name == "Alpha"  # untouched field kept
    assert child.members["ALP"].threats == {"AGG": 0.4, "LDR": 0.1}  # mappings merge
    assert child.members["BRV"].name == "Bravo"  # added member
    assert [e.id for e in child.events] == ["call", "summit", "brv-signal"]
    call = child.events[0]
    assert isinstance(call, Invocation)
    assert (call.severity, call.label, call.aggressor) == (0.9, "Alpha calls louder", "AGG")
    assert isinstance(child.events[2], DiplomaticSignal)
    assert [o.id for o in child.observations] == ["answered", "brv-out"]
    answered = child.observations[0]
    assert isinstance(answered, ResponseObservation)
    assert answered.at_least is not None and answered.at_least.value == "token-force"
    assert child.parameters == base.parameters
    assert child.sources == base.sources


def test_chain_of_two_levels() -> None:
    grand = load_scenario(EXT / "grandchild.yaml")
    assert grand.name == "grandchild"
    assert grand.title == "Child"  # inherited from the middle file
    assert grand.calendar.start == "2020-01" and grand.calendar.end == "2022-06"
    assert grand.parameters.alignment_noise == 0.05
    assert grand.members["ALP"].dependence == 0.9
    assert [e.id for e in grand.events] == ["call", "summit", "brv-signal", "late-summit"]
    signal = grand.events[2]
    assert isinstance(signal, DiplomaticSignal) and signal.strength == 0.9
    assert isinstance(grand.events[3], Summit)


def test_resolve_gives_plain_data_with_locations_in_each_file() -> None:
    data, locs = resolve(EXT / "grandchild.yaml")
    assert "extends" not in data and "add_events" not in data
    assert locs[("events", 3, "host")].file.endswith("grandchild.yaml")
    assert locs[("events", 2, "strength")].file.endswith("grandchild.yaml")
    assert locs[("events", 2, "member")].file.endswith("child.yaml")
    assert locs[("events", 0, "severity")].file.endswith("child.yaml")
    assert locs[("events", 0, "crisis")].file.endswith("base.yaml")
    assert locs[("members", "ALP", "name")].file.endswith("base.yaml")
    assert locs[("parameters", "alignment_noise")] == Location(str(EXT / "grandchild.yaml"), 4, 14)


def test_errors_in_a_child_point_into_the_child() -> None:
    path = EXT / "child-broken.yaml"
    assert [e.removeprefix(f"{path}:") for e in errors(path)] == [
        "4:9: members.ALP.dependence: Input should be less than or equal to 1 (got 1.5)",
        "5:17: remove_events[0]: no entry with id 'no-such-event' to remove; known: call, "
        "summit, drill",
        "7:3: patch_events.nope: no entry with id 'nope' to patch; known: call, summit, drill",
        "8:10: events[0].member: unknown code 'XYZ'; known members: ALP, LDR",
        "10:16: events[3].date: date 2025-01 is outside the calendar 2020-01 to 2021-12",
    ]


def test_resolve_raises_for_bad_edits() -> None:
    with pytest.raises(ScenarioError, match="no entry with id 'no-such-event' to remove"):
        resolve(EXT / "child-broken.yaml")


def test_extends_cycle() -> None:
    (error,) = errors(EXT / "cycle-a.yaml")
    assert error.startswith(f"{EXT / 'cycle-b.yaml'}:2:1: extends: cycle of extends: ")
    assert error.endswith(
        "cycle-a.yaml -> "
        + str((EXT / "cycle-b.yaml").resolve())
        + " -> "
        + str((EXT / "cycle-a.yaml").resolve())
    )


def test_extends_itself(tmp_path: Path) -> None:
    (error,) = errors(write(tmp_path, "name: x\nextends: s.yaml\n"))
    assert ":2:1: extends: cycle of extends: " in error


def test_missing_parent() -> None:
    assert errors(EXT / "missing-parent.yaml") == [
        f"{EXT / 'missing-parent.yaml'}:2:1: extends: file not found: "
        f"{EXT / 'no-such-parent.yaml'} (a path relative to this file, expected a YAML file)"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("extends: [base.yaml]", "2:1: extends: expected the path of a parent YAML file"),
        ("extends: ''", "2:1: extends: expected the path of a parent YAML file"),
        ("extends: .", "2:1: extends: is a directory: "),
    ],
)
def test_bad_extends_values(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, f"name: x\n{line}\n")
    (error,) = errors(path)
    assert error.startswith(f"{path}:{message}")


def test_parent_errors_are_reported_in_the_parent(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace("severity: 0.5", "severity: 7"), "parent.yaml")
    child = write(tmp_path, "extends: parent.yaml\nname: kid\n")
    assert errors(child) == [
        f"{tmp_path / 'parent.yaml'}:19:5: events[0].severity: Input should be less than or "
        "equal to 1 (got 7)"
    ]


@pytest.mark.parametrize(
    ("child", "message"),
    [
        (
            "events: []\n",
            "3:1: events: a file with `extends` edits `events` with remove_events, "
            "patch_events and add_events",
        ),
        ("remove_events: call\n", "3:1: remove_events: expected a list of ids"),
        ("patch_events: [call]\n", "3:1: patch_events: expected a mapping id -> fields"),
        (
            "patch_events: {call: 3}\n",
            "3:16: patch_events.call: expected a mapping of fields to change",
        ),
        ("add_events: {id: x}\n", "3:1: add_events: expected a list of entries"),
        (
            "patch_observations: {call: {label: x}}\n",
            "3:22: patch_observations.call: no entry with id 'call' to patch; known: obs",
        ),
        (
            "add_events:\n  - {id: x, date: 2020-05, type: war, label: x, source: src}\n",
            "4:5: events[1].initiator: missing required field 'initiator'",
        ),
    ],
)
def test_bad_timeline_edits(tmp_path: Path, child: str, message: str) -> None:
    write(tmp_path, MINIMAL, "parent.yaml")
    path = write(tmp_path, "extends: parent.yaml\nname: kid\n" + child)
    found = errors(path)
    assert found[0] == f"{path}:{message}"


def test_timeline_edits_need_extends(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "remove_events: [call]\n")
    assert errors(path) == [
        f"{path}:25:1: remove_events: only a file with `extends` may edit a timeline by id"
    ]


def test_edits_of_a_parent_timeline_that_is_not_a_list(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace("observations:\n", "observations: 3\nx:\n"), "parent.yaml")
    path = write(tmp_path, "extends: parent.yaml\nadd_observations: []\n")
    assert (
        f"{path}:2:1: add_observations: cannot edit `observations`: in the parent it is not a "
        "list" in errors(path)
    )


def test_child_replaces_scalars_and_adds_timelines_to_an_empty_parent(tmp_path: Path) -> None:
    parent = MINIMAL[: MINIMAL.index("events:")]
    write(tmp_path, parent, "parent.yaml")
    path = write(
        tmp_path,
        "extends: parent.yaml\nmembers: {ALP: {initial: {alignment: 0.1}}}\n"
        "add_events:\n  - {id: r, date: 2020-05, type: treaty_renewal, label: r, "
        "source: src}\n",
    )
    scenario = load_scenario(path)
    assert [e.id for e in scenario.events] == ["r"]
    assert scenario.members["ALP"].initial.alignment == 0.1
    assert scenario.observations == []


# ---- --set -------------------------------------------------------------------------------------


def test_set_valid_values() -> None:
    scenario = load_scenario(
        EXT / "base.yaml",
        [
            "parameters.alignment_noise=0.02",
            "members.ALP.dependence=0.8",
            "members.ALP.threats.LDR=0.3",
            "events.call.severity=0.1",
            "events.1.label=Renamed summit",
            "observations.answered.at_least=deployment",
            "calendar.start=2020-02",
            "title=A title: with a colon",
        ],
    )
    assert scenario.parameters.alignment_noise == 0.02
    assert scenario.members["ALP"].dependence == 0.8
    assert scenario.members["ALP"].threats == {"AGG": 0.4, "LDR": 0.3}
    call = scenario.events[0]
    assert isinstance(call, Invocation) and call.severity == 0.1
    assert scenario.events[1].label == "Renamed summit"
    assert scenario.calendar.start == "2020-02"
    assert scenario.title == "A title: with a colon"


def test_set_parameters_block_is_created(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, MINIMAL), ["parameters.hysteresis=0.2"])
    assert scenario.parameters.hysteresis == 0.2


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("members.XYZ.dependence=0.1", "members.XYZ: no 'XYZ' here; known: ALP, LDR"),
        (
            "events.nope.severity=0.1",
            "events.nope: no entry 'nope'; expected an index below 3 or an id: call, summit, drill",
        ),
        ("events.7.severity=0.1", "events.7: no entry '7'; expected an index below 3"),
        ("name.x=1", "name.x: cannot go into a str value"),
        ("nonsense", "nonsense: expected path=value, e.g. parameters.alignment_noise=0.02"),
        ("members..x=1", "members..x: expected path=value"),
        ("parameters.nope=1", "parameters.nope: unknown field 'nope'; expected one of: "),
        (
            "members.ALP.dependence=2",
            "members.ALP.dependence: Input should be less than or equal to 1 (got 2)",
        ),
        (
            "members.ALP.dependence=",
            "members.ALP.dependence: Input should be a valid number (got None)",
        ),
        (
            "members.ALP.dependence=[1",
            "members.ALP.dependence: Input should be a valid number (got '[1')",
        ),
    ],
)
def test_set_problems_are_located_at_set(item: str, message: str) -> None:
    found = errors(EXT / "base.yaml", ("title=ok", item))
    assert len(found) == 1
    assert found[0].startswith(f"--set:2:1: {message}")


def test_apply_sets_raises_and_leaves_input_alone() -> None:
    data, locs = resolve(EXT / "base.yaml")
    with pytest.raises(ScenarioError, match=r"--set:1:1: nope: no 'nope' here"):
        apply_sets(data, locs, ["nope.x=1"])
    out, out_locs = apply_sets(data, locs, ["members.ALP.threats={LDR: 0.5}"])
    assert out["members"]["ALP"]["threats"] == {"LDR": 0.5}
    assert data["members"]["ALP"]["threats"] == {"AGG": 0.4}
    assert out_locs[("members", "ALP", "threats", "LDR")] == Location("--set", 1, 1)
    assert ("members", "ALP", "threats", "AGG") not in out_locs
