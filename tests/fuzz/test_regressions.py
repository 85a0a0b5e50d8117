"""Minimal reproductions of the defects the fuzzer found (docs/RELIABILITY.md, "Findings").

Each test names the defect as found, where it was and where it was fixed. A defect found in
code this work does not own, while it is open, is a strict xfail naming the file and function
(and an entry of ``oracle.KNOWN``, so the fuzzing tests count it apart); it fails (XPASS) once
the defect is fixed, as a reminder to make it a plain test and drop the entry.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cstosim.cli import main
from cstosim.language.yamlio import MAX_MESSAGE, ScenarioError

from .corpus import EXPERIMENT_SEEDS, ROOT
from .oracle import judge_lines

EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"


def validate(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["validate", *map(str, args)])


def problems(result: Result) -> list[str]:
    """The stderr lines of a rejected file, checked like the fuzzer checks them."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert judge_lines(lines, 0) == ("", "")
    return lines


def example_with(tmp_path: Path, old: str, new: str, name: str = "case.yaml") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# ---- 1. messages quoted huge values in full ----------------------------------------------------
# Found as: `extends:` naming a 100,000-character path printed one 100,217-character line
# ("extends: cannot read file: File name too long: <the whole path>"); a 400,000-character
# `source`, `date` or `target` was echoed whole in "unknown source '...'", "expected a date ...,
# got '...'", "cannot interpret target '...'". Fixed in cstosim/language/yamlio.py
# (Problem.__str__ cuts "field: message" after MAX_MESSAGE characters) and
# cstosim/language/scenario.py (_check_date, _check_year_month quote with shown()).


def test_a_huge_parent_path_is_cut_short(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {'a' * 100_000}.yaml\nname: child\n", encoding="utf-8")
    [line] = problems(validate(child))
    assert line.startswith(f"{child}:1:1: extends: cannot read file: File name too long")
    assert len(line) < len(str(child)) + MAX_MESSAGE + 10
    assert line.endswith("characters in all)")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("source: example", f"source: {'x' * 400_000}", "unknown source 'xxx"),
        ("date: 2020-03-02", f"date: '{' ' * 400_000}'", "got '      "),
        ("start: 2020-01", f"start: '{'1' * 100_000}'", "got '1111"),
        ("name: Leader", f"? {'k' * 100_000}\n    : Leader", "members.LDR.kkk"),
    ],
)
def test_huge_values_keys_and_ids_are_cut_short(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    lines = problems(validate(example_with(tmp_path, old, new)))
    assert any(expected in line for line in lines), lines
    assert all(len(line) < 300 + MAX_MESSAGE for line in lines)


def test_short_messages_are_untouched(tmp_path: Path) -> None:
    [line] = problems(validate(example_with(tmp_path, "source: example", "source: nope")))
    assert line.endswith("unknown source 'nope'; known sources: example")


# ---- 2. %YAML directives -----------------------------------------------------------------------
# Found as: a file starting with `%YAML 1.1` was read with YAML 1.1 types, so `leading: yes`
# was accepted as true (docs/SCENARIOS.md: "`yes` is text, not `true`"), and `%YAML 1.3` made
# validate print "internal error while checking (AssertionError: version minor part can only
# be 2 or 1, got (1, 3))" (`run` exited 1). Fixed in cstosim/language/yamlio.py
# (_Yaml12Parser refuses a %YAML directive other than 1.2, located at the directive).


@pytest.mark.parametrize("version", ["1.1", "1.3", "1.0"])
def test_yaml_versions_other_than_1_2_are_refused(tmp_path: Path, version: str) -> None:
    path = tmp_path / "case.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("leading: true", "leading: yes")
    path.write_text(f"%YAML {version}\n---\n{text}", encoding="utf-8")
    [line] = problems(validate(path))
    assert line == (
        f"{path}:1:1: only YAML 1.2 is read, not {version} (YAML 1.1 reads yes, no, on and off "
        "as booleans and 010 as an octal number); remove the %YAML line"
    )


def test_yaml_1_2_directive_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("%YAML 1.2\n---\n" + EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = validate(path)
    assert result.exit_code == 0 and result.stdout == f"{path}: ok\n"


def test_run_refuses_yaml_1_3_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("%YAML 1.3\n---\n" + EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "-n", "2", "-j", "1", "--out", str(out)])
    assert result.exit_code == 2 and "only YAML 1.2 is read" in result.stderr
    assert not out.exists()


# ---- 3. experiment files -------------------------------------------------------------------
# Found as: `scenario:` (or an entry of `scenarios:`) naming a path with a component over 255
# bytes made load_experiment raise OSError "[Errno 36] File name too long" from
# Path.is_file() (a traceback; `cstosim sweep` exited 1); and `scenarios:` listing the same
# file 300 times loaded and validated it 300 times before refusing the duplicate names (~10 s
# of CPU; 1,000 entries: minutes). Fixed by the lead in cstosim/language/experiment.py
# (load_experiment, _not_a_file; commit d608388).

needs_experiments = pytest.mark.skipif(
    not EXPERIMENT_SEEDS, reason="no scenarios/experiments/*.yaml in this tree"
)


def _experiment(tmp_path: Path, old: str, new: str) -> Path:
    """scenarios/experiments/armenia-exit.yaml copied beside a copy of its base scenario."""
    source = ROOT / "scenarios" / "experiments" / "armenia-exit.yaml"
    (tmp_path / "experiments").mkdir(exist_ok=True)
    base = ROOT / "scenarios" / "csto-2022-2023.yaml"
    (tmp_path / "csto-2022-2023.yaml").write_bytes(base.read_bytes())
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "experiments" / "case.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@needs_experiments
@pytest.mark.parametrize("ref", ["x" * 300, "a/" * 3000 + "a.yaml"])
def test_experiment_with_a_too_long_scenario_path(tmp_path: Path, ref: str) -> None:
    from cstosim.language.experiment import load_experiment

    path = _experiment(tmp_path, "scenario: ../csto-2022-2023.yaml", f"scenario: {ref}")
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    lines = [str(p) for p in info.value.problems]
    assert judge_lines(lines, 0) == ("", "")
    assert "File name too long" in lines[0]


@needs_experiments
def test_experiment_listing_one_base_many_times_is_refused_quickly(tmp_path: Path) -> None:
    from cstosim.language.experiment import load_experiment

    path = _experiment(tmp_path, "replicates: 20", "replicates: 20")
    started = time.process_time()
    load_experiment(path)
    one = time.process_time() - started
    many = ", ".join(["../csto-2022-2023.yaml"] * 300)
    path = _experiment(tmp_path, "scenario: ../csto-2022-2023.yaml", f"scenarios: [{many}]")
    started = time.process_time()
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    assert time.process_time() - started < 5 * one  # not 300 loads of the same file
    assert "the same scenario file as scenarios[0]" in str(info.value.problems[1])
