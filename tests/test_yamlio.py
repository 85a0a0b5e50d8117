"""Safe YAML reading with locations: every failure is a ScenarioError with line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from cstosim.language.yamlio import (
    MAX_ALIAS_VALUES,
    Location,
    Problem,
    ScenarioError,
    dump_yaml,
    format_path,
    load_located,
    parse_located,
)


def only_problem(text: str) -> Problem:
    with pytest.raises(ScenarioError) as info:
        parse_located(text, "f.yaml")
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def test_locations_of_keys_and_values() -> None:
    data, locs = parse_located("a: 1\nb:\n  c: [x, y]\n  d: {e: 2022-01-05}\n", "f.yaml")
    assert data == {"a": 1, "b": {"c": ["x", "y"], "d": {"e": "2022-01-05"}}}
    assert locs[("a",)] == Location("f.yaml", 1, 1)  # a scalar field points at its key
    assert locs[("b", "c", 1)] == Location("f.yaml", 3, 10)
    assert locs[("b", "d", "e")] == Location("f.yaml", 4, 7)
    assert locs[()] == Location("f.yaml", 1, 1)


def test_timestamps_stay_text_and_scalars_are_typed() -> None:
    data, _ = parse_located(
        "d1: 2022-01\nd2: 2022-01-05\nd3: 2022-01-05 10:00:00\ni: 3\nf: 0.5\nb: true\n"
        "n: null\nyes_is_text: yes\nexplicit: !!str 12\n"
    )
    assert data == {
        "d1": "2022-01",
        "d2": "2022-01-05",
        "d3": "2022-01-05 10:00:00",
        "i": 3,
        "f": 0.5,
        "b": True,
        "n": None,
        "yes_is_text": "yes",
        "explicit": "12",
    }


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("a: [1, 2\nb: 3\n", (2, 2), "YAML syntax error: while parsing a flow sequence"),
        ("a: 1\n---\nb: 2\n", (2, 1), "expected a single document in the stream"),
        ("a:\tb\n", (1, 3), "found character '\\t' that cannot start any token"),
        ("a: *nope\n", (1, 4), "found undefined alias 'nope'"),
        ("a: 1\x00\n", (1, 5), "special characters are not allowed (character #x0000)"),
    ],
)
def test_syntax_errors_have_line_and_column(
    text: str, where: tuple[int, int], message: str
) -> None:
    problem = only_problem(text)
    assert (problem.location.line, problem.location.column) == where
    assert message in problem.message


@pytest.mark.parametrize(
    ("text", "where", "path", "tag"),
    [
        ("a: !!python/object:os.system x\n", (1, 4), "a", "!!python/object:os.system"),
        ("a:\n  b: !!python/name:os.system\n", (2, 6), "a.b", "!!python/name:os.system"),
        ("x: !!binary aGVsbG8=\n", (1, 4), "x", "!!binary"),
        ("x: !!set {a, b}\n", (1, 4), "x", "!!set"),
        ("x: !!omap [a: 1]\n", (1, 4), "x", "!!omap"),
        ("!foo\na: 1\n", (1, 1), "", "!foo"),
        ("l: !local [1]\n", (1, 4), "l", "!local"),
    ],
)
def test_unsafe_and_unknown_tags_are_refused(
    text: str, where: tuple[int, int], path: str, tag: str
) -> None:
    problem = only_problem(text)
    assert (problem.location.line, problem.location.column) == where
    assert problem.path == path
    assert problem.message.startswith(f"YAML tag {tag} is not allowed")


def test_python_object_tag_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    only_problem(text)
    assert not marker.exists()


def test_duplicate_keys() -> None:
    problem = only_problem("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert str(problem) == "f.yaml:4:3: b.c: duplicate key 'c'"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("? [a, b]\n: 1\n", (1, 3), "mapping keys must be plain text"),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", (3, 3), "YAML merge keys (<<) are not supported"),
        ("a: &x [*x]\n", (1, 4), "recursive YAML alias"),
        ("a: !!int abc\n", (1, 4), "'abc' is not a valid YAML int"),
        ("a: !!float abc\n", (1, 4), "'abc' is not a valid YAML float"),
        ("a: !!bool maybe\n", (1, 4), "'maybe' is not a valid YAML bool"),
    ],
)
def test_structural_problems(text: str, where: tuple[int, int], message: str) -> None:
    problem = only_problem(text)
    assert (problem.location.line, problem.location.column) == where
    assert message in problem.message


def test_alias_bomb_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cstosim.language.yamlio.MAX_ALIAS_VALUES", 5_000)  # the same, sooner
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for n in range(1, 8):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    problem = only_problem("\n".join(lines) + "\n")
    assert "more than 5000 values made by YAML aliases (the limit of alias expansion" in (
        problem.message
    )
    assert MAX_ALIAS_VALUES >= 100_000  # far above any real scenario


def test_every_problem_is_reported() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_located("a: 1\na: 2\nb: !!python/none x\nc: 3\nc: 4\n", "f.yaml")
    assert [str(p) for p in info.value.problems] == [
        "f.yaml:2:1: a: duplicate key 'a'",
        "f.yaml:3:4: b: YAML tag !!python/none is not allowed (only plain YAML: maps, lists, "
        "scalars)",
        "f.yaml:5:1: c: duplicate key 'c'",
    ]
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n"])
def test_empty_documents(text: str) -> None:
    problem = only_problem(text)
    assert str(problem).startswith("f.yaml:1:1: the file is empty")


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing.yaml": (1, 1, "file not found"),
        tmp_path: (1, 1, "is a directory, expected a YAML file"),
    }
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: ok\ntitle: caf\xe9\n".encode("latin-1"))
    cases[latin] = (2, 11, "not UTF-8 text (byte 0xe9); save the file as UTF-8")
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(range(256)))
    cases[junk] = (2, 118, "not UTF-8 text (byte 0x80)")
    for path, (line, column, message) in cases.items():
        with pytest.raises(ScenarioError) as info:
            load_located(path)
        (problem,) = info.value.problems
        assert (problem.location.line, problem.location.column) == (line, column), path
        assert problem.message.startswith(message)
        assert problem.location.file == str(path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text("a: 1\n")

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("cstosim.language.yamlio.os.open", refuse)
    with pytest.raises(ScenarioError, match="cannot read file: Permission denied"):
        load_located(path)


def test_utf8_with_bom_and_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffname: Ереван — Երևան\n".encode())
    data, locs = load_located(path)
    assert data == {"name": "Ереван — Երևան"}
    assert locs[("name",)].line == 1


def test_format_path_and_problem_text() -> None:
    assert format_path(()) == ""
    assert format_path(("events", 3, "severity")) == "events[3].severity"
    assert format_path((0, "a")) == "[0].a"
    loc = Location("f.yaml", 2, 5)
    assert str(Problem(loc, "a.b", "bad")) == "f.yaml:2:5: a.b: bad"
    assert str(Problem(loc, "", "bad")) == "f.yaml:2:5: bad"


def test_dump_yaml_round_trips_awkward_text() -> None:
    data = {
        "z": "2022-01-05",
        "a": ["yes", "null", "1e3", "#x", "a: b", "- x", "", " lead", "multi\nline", "n\x85l"],
        "u": "Ереван\u2028Երևան\u2029",
        "n": {"f": 1e-07, "i": 10**20, "b": False, "none": None},
    }
    text = dump_yaml(data)
    assert text.index("z:") < text.index("a:")  # keys keep their order
    assert parse_located(text)[0] == data
