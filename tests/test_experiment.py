"""The experiment language: loading, resolved factors, located errors, JSON Schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cstosim.cli import main
from cstosim.language.experiment import (
    SCENARIO_FACTOR,
    apply_values,
    design_size,
    json_schema,
    load_experiment,
    scenario_data,
)
from cstosim.language.yamlio import ScenarioError, parse_located

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted((ROOT / "scenarios" / "experiments").glob("*.yaml"))
TRIAD = ROOT / "scenarios" / "example-triad.yaml"

BASE = f"""\
schema_version: 1
name: triad-test
title: A test experiment
scenario: {TRIAD}
factors:
  parameters.weight_grievance: {{}}
  members.BRV.exit_cost: {{low: 0.1, high: 0.6}}
outcomes:
  brv_frozen: {{kind: reached, member: BRV, rung: frozen}}
sampler: {{method: sobol, n: 8}}
replicates: 4
"""


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_load_and_match_the_schema(path: Path) -> None:
    loaded = load_experiment(path)
    assert loaded.factors and loaded.outcome_names
    data, _ = parse_located(path.read_text(encoding="utf-8"), str(path))
    jsonschema.validate(data, json_schema())
    assert path.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../../docs/experiment.schema.json"
    )


def test_shipped_schema_file_is_current() -> None:
    shipped = json.loads((ROOT / "docs" / "experiment.schema.json").read_text(encoding="utf-8"))
    assert shipped == json_schema(), "regenerate: cstosim schema --experiment"
    printed = CliRunner().invoke(main, ["schema", "--experiment"])
    assert printed.exit_code == 0 and json.loads(printed.output) == shipped


def test_factors_default_to_the_declared_ranges(tmp_path: Path) -> None:
    loaded = load_experiment(write(tmp_path, BASE))
    grievance, exit_cost = loaded.factors
    assert (grievance.low, grievance.high) == (0.0, 5.0)  # Parameters declares [0, 5]
    assert grievance.declared == (0.0, 5.0)
    assert (exit_cost.low, exit_cost.high) == (0.1, 0.6)
    assert exit_cost.base == (loaded.scenarios["example-triad"].members["BRV"].exit_cost,)
    assert design_size(loaded.spec.sampler, loaded.factors) == 8 * (2 + 2)


def test_every_kind_of_path_resolves_and_applies(tmp_path: Path) -> None:
    text = BASE.replace(
        "  members.BRV.exit_cost: {low: 0.1, high: 0.6}\n",
        "  members.BRV.exit_cost: {low: 0.1, high: 0.6}\n"
        "  members.BRV.initial.alignment: {low: 0.3, high: 0.9}\n"
        "  actors.OUT.pull.ALP: {distribution: triangular, low: 0, mode: 0.1, high: 0.5}\n"
        "  events.brv-call.severity: {distribution: normal, mean: 0.6, sd: 0.1, low: 0.3,"
        " high: 0.9}\n"
        "  events.brv-call.imposed_response: {levels: [none, deployment]}\n"
        "  parameters.hazard_slope: {distribution: loguniform, low: 1, high: 100}\n",
    )
    loaded = load_experiment(write(tmp_path, text))
    by_name = {f.name: f for f in loaded.factors}
    assert by_name["events.brv-call.imposed_response"].kind == "categorical"
    assert by_name["events.brv-call.imposed_response"].value(0.99) == "deployment"
    assert by_name["actors.OUT.pull.ALP"].value(0.0) == 0.0
    assert by_name["parameters.hazard_slope"].value(0.5) == pytest.approx(10.0)
    normal = by_name["events.brv-call.severity"]
    assert normal.value(0.5) == pytest.approx(0.6)
    assert 0.3 <= normal.value(0.0001) < normal.value(0.9999) <= 0.9
    values = {f.name: f.value(0.25) for f in loaded.factors}
    scenario = apply_values(scenario_data(loaded.scenarios["example-triad"]), values)
    assert scenario.members["BRV"].initial.alignment == pytest.approx(0.45)
    assert scenario.members["BRV"].exit_cost == pytest.approx(0.225)
    event = next(e for e in scenario.events if e.id == "brv-call")
    assert str(event.imposed_response) == "none"
    assert scenario.actors["OUT"].pull["ALP"] == pytest.approx(values["actors.OUT.pull.ALP"])


def test_several_base_scenarios_make_a_categorical_factor(tmp_path: Path) -> None:
    child = write(
        tmp_path,
        f"extends: {TRIAD}\nname: triad-child\nparameters: {{hysteresis: 0.2}}\n",
        "child.yaml",
    )
    text = BASE.replace(f"scenario: {TRIAD}", f"scenarios: [{TRIAD}, {child.name}]")
    loaded = load_experiment(write(tmp_path, text))
    first = loaded.factors[0]
    assert first.name == SCENARIO_FACTOR
    assert first.levels == ("example-triad", "triad-child")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "parameters.weight_grievance: {}",
            "parameters.weight_grievanse: {}",
            "exp.yaml:6:3: factors.parameters.weight_grievanse: unknown model parameter "
            "'weight_grievanse'",
        ),
        (
            "{low: 0.1, high: 0.6}",
            "{low: 0.1, high: 1.6}",
            "exp.yaml:7:37: factors.members.BRV.exit_cost.high: 1.6 is above the admissible "
            "range [0, 1]",
        ),
        (
            "members.BRV.exit_cost",
            "members.XYZ.exit_cost",
            "exp.yaml:7:3: factors.members.XYZ.exit_cost: unknown member 'XYZ'; known: ",
        ),
        (
            "member: BRV, rung: frozen}",
            "member: XYZ, rung: frozen}",
            "exp.yaml:9:31: outcomes.brv_frozen.member: unknown member 'XYZ' in scenario "
            "example-triad",
        ),
        (
            "rung: frozen}",
            "rung: frozen, by: 2030-01}",
            "exp.yaml:9:58: outcomes.brv_frozen.by: 2030-01 is outside the simulated months "
            "2020-01 to 2022-12 of scenario example-triad (set until to project)",
        ),
        (
            "n: 8}",
            "n: 10}",
            "exp.yaml:10:1: sampler: sobol needs n to be a power of 2",
        ),
        (
            "replicates: 4",
            "replicates: 4\ncolour: red",
            "exp.yaml:12:1: colour: unknown field 'colour'; expected one of: schema_version",
        ),
        (
            "{kind: reached,",
            "{kind: reachd,",
            "exp.yaml:9:16: outcomes.brv_frozen.kind: expected kind to be one of: reached",
        ),
        (
            "{low: 0.1, high: 0.6}",
            "{low: 0.1, high: 0.6, levels: [1, 2]}",
            "exp.yaml:7:3: factors.members.BRV.exit_cost: give either levels or a range",
        ),
        (
            f"scenario: {TRIAD}",
            "scenario: missing.yaml",
            "exp.yaml:4:1: scenario: file not found: ",
        ),
    ],
)
def test_bad_files_give_located_errors(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new))
    found = problems(path)
    assert any(p.startswith(f"{tmp_path}/{expected}") for p in found), found


def test_thresholds_that_could_cross_are_rejected(tmp_path: Path) -> None:
    text = BASE.replace(
        "parameters.weight_grievance: {}",
        "parameters.threshold_token_force: {low: 0.2, high: 0.8}",
    )
    found = problems(write(tmp_path, text))
    assert any("the outcome thresholds must stay ordered" in p for p in found), found


def test_non_numeric_field_needs_levels_and_levels_are_checked(tmp_path: Path) -> None:
    text = BASE.replace("parameters.weight_grievance: {}", "events.brv-call.imposed_response: {}")
    assert any("give levels" in p for p in problems(write(tmp_path, text)))
    text = BASE.replace(
        "parameters.weight_grievance: {}",
        "events.brv-call.imposed_response: {levels: [none, everything]}",
    )
    found = problems(write(tmp_path, text))
    assert any("levels[1]" in p and "everything" in p for p in found), found


def test_syntax_errors_and_non_mappings_are_located(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "name: [unclosed\n"))[0].startswith(f"{tmp_path}/exp.yaml:")
    assert "expected a mapping" in problems(write(tmp_path, "- a\n- b\n"))[0]


def test_triangular_and_loguniform_need_their_parameters(tmp_path: Path) -> None:
    text = BASE.replace(
        "parameters.weight_grievance: {}",
        "parameters.weight_grievance: {distribution: triangular}",
    )
    assert any("needs mode" in p for p in problems(write(tmp_path, text)))
    text = BASE.replace(
        "parameters.weight_grievance: {}",
        "parameters.weight_grievance: {distribution: loguniform}",
    )
    assert any("low > 0" in p for p in problems(write(tmp_path, text)))


def test_factor_values_stay_in_range_at_the_edges(tmp_path: Path) -> None:
    loaded = load_experiment(write(tmp_path, BASE))
    for factor in loaded.factors:
        for u in (0.0, 1e-12, 0.5, 1 - 1e-12, 1.0):
            value = factor.value(u)
            assert factor.low <= value <= factor.high
            assert math.isfinite(value)


def test_factors_default_to_the_scenarios_declared_ranges(tmp_path: Path) -> None:
    child = write(
        tmp_path,
        f"extends: {TRIAD}\nname: triad-ranges\n"
        "ranges:\n"
        "  parameters.weight_grievance: {low: 0.5, high: 1.5, note: judgement}\n"
        "  members.BRV.dependence: {low: 0.3, high: 0.7, note: judgement}\n",
        "child.yaml",
    )
    loaded = load_experiment(write(tmp_path, BASE.replace(str(TRIAD), child.name)))
    grievance = loaded.factors[0]
    assert (grievance.low, grievance.high, grievance.origin) == (0.5, 1.5, "scenario ranges")
    assert loaded.factors[1].origin == "experiment"
    text = BASE.replace(str(TRIAD), child.name).replace(
        "factors:\n", "factors_from_ranges: true\nfactors:\n"
    )
    names = [f.name for f in load_experiment(write(tmp_path, text)).factors]
    assert names == [
        "parameters.weight_grievance",
        "members.BRV.exit_cost",
        "members.BRV.dependence",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("replicates: 4", "replicates: 4\nuntil: 2019-01", "until: 2019-01 is before the calendar"),
        (
            "outcomes:\n",
            "outcomes:\n  c: {kind: metric, metric: happiness}\n",
            "unknown model reporter 'happiness'",
        ),
        (
            "outcomes:\n",
            "outcomes:\n  f: {kind: fracture}\n",
            "give blocs_at_least, engaged_below or both",
        ),
        ("outcomes:\n", "outcomes:\n  Bad-Name: {kind: exits}\n", "expected a name of lower-case"),
        ("sampler: {method: sobol, n: 8}", "sampler: {method: latin}", "latin needs n"),
        (
            "sampler: {method: sobol, n: 8}",
            "sampler: {method: full-factorial, n: 3}",
            "full-factorial takes levels",
        ),
        (
            "sampler: {method: sobol, n: 8}",
            "sampler: {method: morris, n: 8, levels: 3}",
            "even number of levels",
        ),
        (
            "parameters.weight_grievance: {}",
            "parameters.weight_grievance: {low: 2, high: 1}",
            "low (2) must be below high (1)",
        ),
        (
            "parameters.weight_grievance: {}",
            "parameters.weight_grievance: {distribution: triangular, mode: 9}",
            "mode 9 is outside the range [0, 5]",
        ),
        (
            "parameters.weight_grievance: {}",
            "parameters.weight_grievance: {levels: [1, 1]}",
            "levels must be distinct",
        ),
        ("parameters.weight_grievance: {}", "events.nope.severity: {}", "no event with id 'nope'"),
        ("parameters.weight_grievance: {}", "events.brv-call: {}", "names a whole event"),
        ("parameters.weight_grievance: {}", "events.brv-call.type: {}", "cannot be a factor"),
        ("parameters.weight_grievance: {}", "members.BRV: {}", "names a whole member"),
        ("parameters.weight_grievance: {}", "members.BRV.colour: {}", "unknown field 'colour'"),
        ("parameters.weight_grievance: {}", "members.BRV.threats.ZZZ: {}", "unknown code 'ZZZ'"),
        ("parameters.weight_grievance: {}", "calendar.start: {}", "cannot interpret"),
        ("parameters.weight_grievance: {}", "members.BRV.name: {}", "is not a number"),
        (f"scenario: {TRIAD}", f"scenario: {TRIAD}\nscenarios: [a.yaml, b.yaml]", "not both"),
    ],
)
def test_more_located_errors(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in BASE
    found = problems(write(tmp_path, BASE.replace(old, new)))
    assert any(expected in p and p.startswith(f"{tmp_path}/exp.yaml:") for p in found), found


def test_integer_fields_and_duplicate_base_names(tmp_path: Path) -> None:
    text = BASE.replace(
        "parameters.weight_grievance: {}",
        "events.pull-rise.ramp_months: {low: 0, high: 12}",
    )
    factor = load_experiment(write(tmp_path, text)).factors[0]
    assert factor.integer and factor.value(0.51) == 6 and isinstance(factor.value(0.51), int)
    assert factor.grid(4) == [0, 4, 8, 12]
    text = BASE.replace(f"scenario: {TRIAD}", f"scenarios: [{TRIAD}, {TRIAD}]")
    found = problems(write(tmp_path, text))
    assert any("scenarios[1]: the same scenario file as scenarios[0]" in p for p in found)
    copy = write(tmp_path, TRIAD.read_text(encoding="utf-8"), "copy.yaml")
    text = BASE.replace(f"scenario: {TRIAD}", f"scenarios: [{TRIAD}, {copy.name}]")
    assert any("two base scenarios are named" in p for p in problems(write(tmp_path, text)))
    text = BASE.replace(f"scenario: {TRIAD}", f"scenario: {'x' * 300}.yaml")
    assert any(
        "cannot read file (File name too long)" in p for p in problems(write(tmp_path, text))
    )
