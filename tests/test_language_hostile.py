"""Hostile and odd scenario files (issue 14): every one is a located error, one line per problem.

Through the real entry point (`cstosim validate`, in-process with click's runner, or as a
process where a file could block or exhaust memory), plus unit checks of the limits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from cstosim.cli import main
from cstosim.language.loader import load_scenario, resolve, validate
from cstosim.language.scenario import Calendar, json_schema
from cstosim.language.yamlio import (
    MAX_DEPTH,
    Location,
    ScenarioError,
    dump_yaml,
    escape,
    parse_located,
    shown,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"
BASE = Path(__file__).parent / "data" / "extends" / "base.yaml"
TOO_DEEP = f"nesting too deep (limit {MAX_DEPTH} levels of mappings and lists)"


def validate_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["validate", *map(str, args)])


def problem_lines(result: Result) -> list[str]:
    """stderr lines of a failed `validate`, checked: exit 2, no internal error, no traceback."""
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result.stderr.splitlines()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def child(tmp_path: Path, extends: str, name: str = "child.yaml") -> Path:
    """A file that extends ``extends`` (a YAML scalar, written as given)."""
    return write(tmp_path / name, f"extends: {extends}\nname: child\n")


# ---- item 1: the calendar is bounded ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            ["calendar.start=0000-01"],
            "--set:1:1: calendar.start: year 0 is outside the years a calendar may cover, "
            "1800 to 2200 (got '0000-01')",
        ),
        (
            ["calendar.end=9999-12"],
            "--set:1:1: calendar.end: year 9999 is outside the years a calendar may cover, "
            "1800 to 2200 (got '9999-12')",
        ),
        (
            ["calendar.start=1800-01", "calendar.end=2100-01"],
            f"{EXAMPLE}:18:1: calendar: calendar 1800-01 to 2100-01 is 3601 months long; "
            "at most 3600 (300 years)",
        ),
    ],
)
def test_calendar_out_of_bounds_is_refused(sets: list[str], expected: str) -> None:
    options = [arg for item in sets for arg in ("--set", item)]
    assert problem_lines(validate_cli(EXAMPLE, *options)) == [expected]


def test_calendar_bounds_themselves_are_fine(tmp_path: Path) -> None:
    result = validate_cli(
        EXAMPLE, "--set", "calendar.start=1800-01", "--set", "calendar.end=2099-12"
    )
    assert result.exit_code == 0, result.stderr
    text = BASE.read_text().replace(
        "{start: 2020-01, end: 2021-12}", "{start: 1799-12, end: 2021-12}"
    )
    path = write(tmp_path / "early.yaml", text)
    assert problem_lines(validate_cli(path)) == [
        f"{path}:7:12: calendar.start: year 1799 is outside the years a calendar may cover, "
        "1800 to 2200 (got '1799-12')"
    ]


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("1800-01", "2099-12", True),
        ("1901-01", "2200-12", True),
        ("1900-01", "2200-12", False),  # 301 years: only the loader sees the length
        ("1799-12", "1800-01", False),
        ("2200-12", "2201-01", False),
        ("0000-01", "2020-01", False),
    ],
)
def test_calendar_model_and_schema_agree(start: str, end: str, ok: bool) -> None:
    pattern = json_schema()["$defs"]["Calendar"]["properties"]["start"]["pattern"]
    years = jsonschema.Draft202012Validator({"pattern": pattern})
    in_range = all(1800 <= int(month[:4]) <= 2200 for month in (start, end))
    assert all(years.is_valid(month) for month in (start, end)) == in_range
    try:
        Calendar.model_validate({"start": start, "end": end})
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == ok


# ---- item 2: no checker crashes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: " + "[" * 600 + "]" * 600 + "\n", "1:67"),  # RecursionError in the composer
        ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "1:67"),
        ("a:\n" + "".join(" " * i + "k:\n" for i in range(1, 3000)), "65:65"),
        ("members: " + "{a: " * 254 + "1" + "}" * 254 + "\n", "1:262"),
        ("x: " + "[" * 300 + "]" * 300 + "\n", "1:67"),  # was "Invalid JSON" and the whole file
    ],
)
def test_deep_nesting_is_one_located_error(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path / "deep.yaml", text)
    assert problem_lines(validate_cli(path)) == [f"{path}:{where}: {TOO_DEEP}"]


def test_nesting_at_the_limit_is_checked_as_usual(tmp_path: Path) -> None:
    text = "x: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n"
    data, _ = parse_located(text)
    lines = problem_lines(validate_cli(write(tmp_path / "s.yaml", text)))
    assert len(data["x"]) == 1 and any("x: unknown field 'x'" in line for line in lines)


def test_aliases_cannot_nest_deeper_than_the_limit(tmp_path: Path) -> None:
    deep = "[" * 60 + "1" + "]" * 60
    text = f"a: &a {deep}\nb: &b {deep.replace('1', '*a')}\nc: {deep.replace('1', '*b')}\n"
    path = write(tmp_path / "aliases.yaml", text)
    assert problem_lines(validate_cli(path)) == [f"{path}:1:10: {TOO_DEEP}"]


def test_bad_extends_paths_are_located_errors(tmp_path: Path) -> None:
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    (tmp_path / "folder").mkdir()
    cases = {
        child(tmp_path, "a" * 300, "long.yaml"): "cannot read file: File name too long",
        child(tmp_path, '"base\\0.yaml"', "nul.yaml"): "a path with a NUL character",
        child(tmp_path, "loop-a", "loop.yaml"): "cannot read file: Too many levels of symbolic",
        child(tmp_path, "/dev/zero", "zero.yaml"): "not a regular file (a character device)",
        child(tmp_path, "folder", "dir.yaml"): "is a directory",
        child(tmp_path, "missing.yaml", "orphan.yaml"): "file not found",
    }
    result = validate_cli(*cases)
    lines = problem_lines(result)
    assert len(lines) == len(cases)
    for (path, message), line in zip(cases.items(), lines, strict=True):
        assert line.startswith(f"{path}:1:1: extends: {message}"), line
        assert line.endswith("(a path relative to this file, expected a YAML file)")


def test_lone_surrogate_in_extends(tmp_path: Path) -> None:
    path = child(tmp_path, '"base\\ud800.yaml"')
    assert problem_lines(validate_cli(path)) == [
        f"{path}:1:10: extends: text with a lone surrogate '\\ud800', which is not valid Unicode"
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_devices_fifos_and_folders_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    ext_fifo = child(tmp_path, "pipe.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "cstosim", "validate", "/dev/zero", fifo, tmp_path, ext_fifo],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "/dev/zero:1:1: not a regular file (a character device), expected a YAML file",
        f"{fifo}:1:1: not a regular file (a FIFO), expected a YAML file",
        f"{tmp_path}:1:1: is a directory, expected a YAML file",
        f"{ext_fifo}:1:1: extends: not a regular file (a FIFO): {fifo} (a path relative to "
        "this file, expected a YAML file)",
    ]


def test_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cstosim.language.yamlio.MAX_FILE_BYTES", 3 * 2**20)  # the same, sooner
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * (3 * 2**20 // 10 + 1))
    assert problem_lines(validate_cli(big)) == [
        f"{big}:1:1: cannot read file: the file is larger than 3 MiB (the limit for a scenario "
        "file)"
    ]


def test_real_size_cap_fits_a_large_scenario() -> None:
    from cstosim.language.yamlio import MAX_FILE_BYTES

    assert MAX_FILE_BYTES == 32 * 2**20  # 10^5 events in flow style are about 12 MB


# ---- item 3: folded block scalars ---------------------------------------------------------------


def test_folded_block_scalars_are_folded() -> None:
    data, _ = parse_located("a: >\n  one\n  two\n\n  three\nb: |\n  x\n  y\n")
    assert data == {"a": "one two\nthree\n", "b": "x\ny\n"}


def _controls(text: str) -> set[str]:
    return {c for c in text if unicodedata.category(c) == "Cc" and c != "\n"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_dump_and_reload_equal(path: Path) -> None:
    scenario = load_scenario(path)
    text = dump_yaml(scenario.model_dump(mode="json", exclude_none=True))  # as in the results
    assert _controls(text) == set()
    assert "\\a" not in text  # BEL, as YAML writes it in a double-quoted scalar
    data, locs = parse_located(text, "resolved.yaml")
    assert validate(data, locs, Location("resolved.yaml", 1, 1)) == scenario
    resolved, _ = resolve(path)  # the raw resolved data too
    assert parse_located(dump_yaml(resolved))[0] == resolved
    assert all(_controls(v) == set() for v in (scenario.title, scenario.description))


# ---- item 5: messages quote values, not documents, and point at the right line -------------------


def test_lone_surrogate_is_located_and_does_not_dump_the_file(tmp_path: Path) -> None:
    text = BASE.read_text().replace("title: Base", 'title: "Base \\ud800"')
    path = write(tmp_path / "s.yaml", text)
    assert problem_lines(validate_cli(path)) == [
        f"{path}:4:8: title: text with a lone surrogate '\\ud800', which is not valid Unicode"
    ]
    key = write(tmp_path / "key.yaml", BASE.read_text().replace("title:", '"t\\udc80":', 1))
    assert problem_lines(validate_cli(key)) == [
        f"{key}:4:1: key with a lone surrogate '\\udc80', which is not valid Unicode"
    ]


def test_set_values_that_are_not_utf8(tmp_path: Path) -> None:
    result = validate_cli(BASE, "--set", "title=a\udced\udca0b", "--set", "parameters.\udcff=1")
    assert problem_lines(result) == [
        "--set:1:1: not valid UTF-8 text ('\\udced': a byte that is not UTF-8, or a surrogate)",
        "--set:2:1: not valid UTF-8 text ('\\udcff': a byte that is not UTF-8, or a surrogate)",
    ]


def test_invalid_json_never_echoes_the_data() -> None:
    data, locs = resolve(BASE)
    data["title"] = "x\ud800"  # only a program can get here: files and --set refuse it
    with pytest.raises(ScenarioError) as info:
        validate(data, locs, Location("f.yaml", 1, 1))
    text = str(info.value)
    assert "cannot check the data (Invalid JSON: " in text
    assert '"schema_version"' not in text and len(text) < 200


def test_long_values_are_cut_short(tmp_path: Path) -> None:
    text = BASE.read_text().replace("severity: 0.5", f"severity: {'9' * 5000}x")
    (line,) = problem_lines(validate_cli(write(tmp_path / "s.yaml", text)))
    assert line.endswith(
        "events[0].severity: Input should be a valid number (got '99999999999"
        "99999999999999999999999999999999999999999999...')"
    )
    assert shown("a" * 10) == "'aaaaaaaaaa'"
    assert len(shown("a" * 1000)) == 60


# ---- item 6: echoed keys and values are escaped -------------------------------------------------


def test_a_crafted_key_cannot_forge_a_line(tmp_path: Path) -> None:
    text = BASE.read_text().replace("title: Base", 'title: Base\n"x\\nfile: ok\\r\\e[2K": 1')
    path = write(tmp_path / "s.yaml", text)
    lines = problem_lines(validate_cli(path))
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:5:1: x\\nfile: ok\\r\\x1b[2K: unknown field ")
    assert "file: ok" not in [line.strip() for line in lines]


def test_control_characters_in_values_and_file_names_are_escaped(tmp_path: Path) -> None:
    text = BASE.read_text().replace("host: LDR", 'host: "LD\\u2028R"')
    path = write(tmp_path / "s.yaml", text)
    (line,) = problem_lines(validate_cli(path))
    assert "got 'LD\\u2028R'" in line and "\u2028" not in line
    missing = tmp_path / "m\nfile: ok"
    assert problem_lines(validate_cli(missing)) == [f"{tmp_path}/m\\nfile: ok:1:1: file not found"]


def test_escape() -> None:
    assert escape("plain: Ереван ☃ \\n") == "plain: Ереван ☃ \\n"
    assert escape("a\nb\r\tc\x00\x1b\x85\u2028\u202e\ud800") == (
        "a\\nb\\r\\tc\\x00\\x1b\\x85\\u2028\\u202e\\ud800"
    )


# ---- item 10: many values are fine; only aliases are capped, and the message says so -------------


def test_many_values_without_aliases_are_not_an_alias_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cstosim.language.yamlio.MAX_ALIAS_VALUES", 100)  # the same, sooner
    events = "".join(
        f"  - {{id: e{i}, date: 2021-05, type: drill, host: ALP, label: D, source: src}}\n"
        for i in range(2000)
    )
    text = BASE.read_text().split("events:")[0] + "events:\n" + events
    result = validate_cli(write(tmp_path / "many.yaml", text))
    assert result.exit_code == 0, result.stderr
    bomb = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [" + ", ".join(["*a"] * 10) + "]\n"
    (line,) = problem_lines(validate_cli(write(tmp_path / "bomb.yaml", bomb)))
    assert line.endswith(
        "more than 100 values made by YAML aliases (the limit of alias expansion; an alias "
        "expanding to a huge document?)"
    )


def test_a_few_aliases_are_fine() -> None:
    data, _ = parse_located("a: &a {x: 1}\nb: *a\nc: [*a, *a]\n")
    assert data == {"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 1}]}


def test_a_reused_anchor_name_is_plain_yaml_not_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ruamel would print a multi-line warning to stderr
        data, _ = parse_located("a: &x 1\nb: &x 2\nc: *x\n")
    assert data == {"a": 1, "b": 2, "c": 2}
