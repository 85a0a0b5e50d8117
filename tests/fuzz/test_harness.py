"""The fuzzing harness itself: seeds are valid, every operator applies, the oracle can fail."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from cstosim.language.loader import validate
from cstosim.language.yamlio import Location, ScenarioError, parse_located

from .corpus import EXPERIMENT_SEEDS, SCENARIO_SEEDS, seed, slices
from .emit import Anchored, Key, Raw, emit
from .mutate import (
    DATA_OPS,
    EXPERIMENT_OPS,
    TEXT_OPS,
    VALID_OPS,
    Builder,
    make_case,
)
from .oracle import check, judge_lines

FULL = [n for n in SCENARIO_SEEDS if "extends" not in seed(n).data]


@pytest.mark.parametrize("name", [*SCENARIO_SEEDS, *EXPERIMENT_SEEDS])
def test_unmutated_seeds_are_accepted(workspace: Path, name: str) -> None:
    verdict = check(workspace, make_case(seed(name), [], "unmutated"))
    assert verdict.status == "accepted", verdict.explain()


@pytest.mark.parametrize("name", FULL)
def test_slices_are_valid_and_cover_every_event(workspace: Path, name: str) -> None:
    parts = slices(name)
    ids = {e["id"] for s in parts for e in s.data["events"]}
    assert ids == {e["id"] for e in seed(name).data["events"]}
    for part in parts:
        verdict = check(workspace, make_case(part, [], "slice"))
        assert verdict.status == "accepted", (part.name, verdict.explain())


@pytest.mark.parametrize("name", [*SCENARIO_SEEDS, *EXPERIMENT_SEEDS])
def test_the_writer_round_trips_the_seeds(name: str) -> None:
    data = seed(name).data
    text = emit(data, random.Random(1), flow_share=0.5)
    assert parse_located(text, "x.yaml")[0] == data


def test_the_writer_writes_what_a_dumper_would_not() -> None:
    data = {"a": Anchored("x", [1, 2]), "b": Raw("*x"), "c": "\x07\ud800", Key("c"): 1}
    text = emit(data)
    assert text == 'a: &x\n  - 1\n  - 2\nb: *x\nc: "\\x07\\ud800"\nc: 1\n'
    with pytest.raises(ScenarioError, match="duplicate key 'c'"):
        parse_located(text, "x.yaml")


@pytest.mark.parametrize("op", [op for op, _ in DATA_OPS + TEXT_OPS + EXPERIMENT_OPS])
def test_every_operator_applies_to_every_seed(op: object) -> None:
    for name in [*SCENARIO_SEEDS, *EXPERIMENT_SEEDS]:
        for number in range(6):
            builder = Builder(seed(name), "op")
            op(builder, random.Random(number))  # type: ignore[operator]


def test_cases_are_reproducible() -> None:
    origin = seed("scenarios/csto-cf-no-invasion.yaml")
    for number in range(40):
        one, two = make_case(origin, [number], "t"), make_case(origin, [number], "t")
        assert one.files == two.files and one.specials == two.specials and one.log == two.log


def test_valid_operators_keep_most_files_valid() -> None:
    origin = seed("scenarios/example-triad.yaml")
    accepted = 0
    for number in range(20):
        case = make_case(origin, [number], "v", VALID_OPS)
        data, locs = parse_located(case.files[case.main].decode("utf-8"), "v.yaml")
        try:
            validate(data, locs, Location("v.yaml", 1, 1))
        except Exception:
            continue
        accepted += 1
    assert accepted >= 10


@pytest.mark.parametrize(
    ("lines", "failure"),
    [
        ([], "silent-rejection"),
        (["x.yaml:1:1: internal error while checking (RecursionError: ...)"], "internal-error"),
        (["Traceback (most recent call last):"], "traceback"),
        (["x.yaml: something went wrong"], "unlocated"),
        (["x.yaml:0:1: field: message"], "bad-location"),
        (["x.yaml:1:1: a\x07b"], "unprintable"),
        (["x.yaml:1:1: " + "x" * 5000], "overlong-message"),
        (["--set:3:1: parameters.x: no 'x' here"], "bad-location"),
        (["x.yaml:1:1: field: message", "--set:1:1: parameters.x: no 'x' here"], ""),
    ],
)
def test_the_oracle_flags_broken_contracts(lines: list[str], failure: str) -> None:
    assert judge_lines(lines, sets=1)[0] == failure


def test_the_oracle_checks_locations_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb: 2\n")
    assert judge_lines([f"{path}:2:3: b: wrong"], 0)[0] == ""
    assert judge_lines([f"{path}:40:1: b: wrong"], 0)[0] == "bad-location"
    assert judge_lines([f"{path}:1:400: b: wrong"], 0)[0] == "bad-location"


def test_the_oracle_catches_a_crash(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cstosim.language.loader as loader

    def boom(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(loader, "load_scenario", boom)
    verdict = check(workspace, make_case(seed("scenarios/example-triad.yaml"), [], "crash"))
    assert verdict.failure == "internal-error"
