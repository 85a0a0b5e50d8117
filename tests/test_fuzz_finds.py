"""Minimal reproductions of the defects the fuzzer found (docs/RELIABILITY.md, "What it
found"): each section names the defect as found, where it was and where it was fixed.

The fuzzing harness itself is ``tests/fuzz`` (package ``fuzz``, which these tests borrow the
oracle's checks from). A defect found and reported but not fixed yet gets an entry of
``fuzz.oracle.KNOWN`` (the fuzzing tests count its cases apart) and a strict xfail here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fuzz.corpus import EXPERIMENT_SEEDS, ROOT
from fuzz.oracle import judge_lines

from cstosim.cli import main
from cstosim.language.yamlio import MAX_MESSAGE, ScenarioError, parse_located

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
def test_experiment_with_a_too_long_scenario_path(tmp_path: Path) -> None:
    # (a 300-character file name: tests/test_experiment.py; here a 6,000-character path)
    ref = "a/" * 3000 + "a.yaml"
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


# ---- 4. alias bombs took seconds to refuse -----------------------------------------------------
# Found as: two "billion laughs" values at `events.4.date` of a scenario took 5.8 s of CPU
# before validate refused them ("more than 100000 values made by YAML aliases"): the reader
# expanded aliases value by value and counted until the limit. Fixed in
# cstosim/language/yamlio.py (_Converter.count_aliases, _size): before anything is expanded,
# each alias adds the size of what it stands for (memoised per node), and the document is
# refused at the alias that passes the limit, so a bomb costs about as much as its text.

LIMIT_MESSAGE = (
    "more than 100000 values made by YAML aliases (the limit of alias expansion; an alias "
    "expanding to a huge document?)"
)


def laughs(levels: int, width: int, indent: str = "") -> str:
    """A billion-laughs value: level i lists level i - 1 ``width`` times."""
    parts = [f"&l0 [{', '.join(['lol'] * width)}]"]
    parts += [f"&l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "[" + f",\n{indent}".join(parts) + "]"


def refused_quickly(text: str, seconds: float = 1.0) -> list[str]:
    """The problems of ``text``, which must be refused within ``seconds`` of CPU."""
    started = time.process_time()
    with pytest.raises(ScenarioError) as info:
        parse_located(text, "bomb.yaml")
    assert time.process_time() - started < seconds  # milliseconds in fact; it took seconds
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("levels", "width"), [(9, 10), (12, 10), (30, 2), (6, 100)])
def test_a_billion_laughs_is_refused_at_once(levels: int, width: int) -> None:
    [line] = refused_quickly(f"a: {laughs(levels, width)}\n")
    assert line.endswith(LIMIT_MESSAGE)


def test_the_bomb_is_located_at_the_alias_that_passes_the_limit() -> None:
    # the aliases of lines 2 to 4 make 110 + 1,110 + 11,110 values, each *l3 of line 5 makes
    # 11,111 more: the eighth passes 100,000
    text = "a: " + laughs(6, 10, indent="   ") + "\n"
    [line] = refused_quickly(text)
    row = text.splitlines()[4]
    assert line == f"bomb.yaml:5:{row.index('*l3') + 1 + 7 * len('*l3, ')}: {LIMIT_MESSAGE}"


def test_one_anchor_with_many_aliases_is_refused_at_once() -> None:
    text = "a: [&x [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol], " + "*x, " * 20_000 + "x]\n"
    [line] = refused_quickly(text, seconds=5.0)  # (reading the 100 kB of text takes most)
    assert line.startswith("bomb.yaml:1:") and line.endswith(LIMIT_MESSAGE)


def test_the_scenario_of_the_find_is_refused_quickly(tmp_path: Path) -> None:
    bombs = f"{laughs(12, 6)}\n"
    path = example_with(tmp_path, "date: 2020-03-02", f"date: {bombs}")
    started = time.process_time()
    [line] = problems(validate(path))
    assert time.process_time() - started < 2.0
    assert line.endswith(LIMIT_MESSAGE)


@pytest.mark.parametrize(
    ("links", "message"),
    [(400, "nesting too deep (limit 64 levels of mappings and lists)"), (5000, LIMIT_MESSAGE)],
)
def test_long_chains_of_aliases_are_refused(links: int, message: str) -> None:
    chain = "\n".join(f"k{i}: &a{i} [*a{i - 1}]" for i in range(1, links))
    [line] = refused_quickly(f"k0: &a0 [x]\n{chain}\n", seconds=5.0)
    assert line.endswith(message)


def test_aliases_below_the_limit_still_expand() -> None:
    data, _ = parse_located(f"a: {laughs(4, 10)}\nb: *l3\n", "ok.yaml")
    assert len(data["b"]) == 10 and data["b"][0][0][0] == ["lol"] * 10
    problem = refused_quickly("a: &x [1, *x]\n")
    assert problem == ["bomb.yaml:1:4: a[1]: recursive YAML alias (a value that contains itself)"]


def test_nothing_is_expanded_before_a_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from cstosim.language import yamlio

    converted: list[object] = []
    original = yamlio._Converter.convert

    def convert(self: yamlio._Converter, node: object, path: yamlio.Path_) -> object:
        converted.append(path)
        return original(self, node, path)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlio._Converter, "convert", convert)
    refused_quickly(f"a: {laughs(9, 10)}\n")
    assert converted == []
