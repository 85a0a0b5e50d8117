"""`cstosim validate` and `cstosim schema` through the real entry points and click's runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cstosim.cli import main
from cstosim.language.scenario import json_schema

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
DATA = Path(__file__).parent / "data"
EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"
CSTOSIM = Path(sys.executable).parent / "cstosim"


def run(*args: str | Path, module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cstosim"] if module or not CSTOSIM.exists() else [CSTOSIM]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


def test_console_script_validates_the_shipped_scenarios() -> None:
    result = run("validate", *(p.relative_to(ROOT) for p in SCENARIOS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"scenarios/{p.name}: ok" for p in SCENARIOS]
    assert result.stderr == ""


def test_broken_files_exit_2_with_located_errors_and_no_traceback(tmp_path: Path) -> None:
    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes(b"name: caf\xe9\n")
    result = run(
        "validate",
        EXAMPLE,
        DATA / "broken" / "many-errors.yaml",
        DATA / "broken" / "syntax.yaml",
        DATA / "broken" / "unsafe-tag.yaml",
        DATA / "extends" / "cycle-a.yaml",
        not_utf8,
        tmp_path,
        tmp_path / "missing.yaml",
        module=True,
    )
    assert result.returncode == 2
    assert result.stdout == f"{EXAMPLE}: ok\n"
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 12
    for line in lines:
        file, line_no, column, rest = line.split(":", 3)
        assert Path(file).exists() or file.endswith("missing.yaml")
        assert int(line_no) >= 1 and int(column) >= 1 and rest.startswith(" ")
    broken = str(DATA / "broken")
    assert (
        f"{broken}/many-errors.yaml:12:49: events[0].member: unknown code 'XYZ'; known "
        "members: ALP, LDR" in lines
    )
    assert (
        f"{broken}/syntax.yaml:4:6: YAML syntax error: while parsing a flow sequence, "
        "expected ',' or ']', but got ':'" in lines
    )
    assert lines[-1] == f"{tmp_path / 'missing.yaml'}:1:1: file not found"


def test_schema_prints_valid_json_schema() -> None:
    result = run("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json_schema()


# ---- the same through click's runner (in-process, for coverage) ---------------------------------


def test_runner_ok_and_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0
    assert result.output == f"{EXAMPLE}: ok\n"
    result = runner.invoke(main, ["validate", str(DATA / "extends" / "child-broken.yaml")])
    assert result.exit_code == 2
    assert "child-broken.yaml:5:17: remove_events[0]: no entry with id 'no-such-event'" in (
        result.stderr
    )


def test_runner_set_option() -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(EXAMPLE), "--set", "parameters.alignment_noise=0.02"])
    assert ok.exit_code == 0
    bad = runner.invoke(main, ["validate", str(EXAMPLE), "--set", "members.XYZ.dependence=0.1"])
    assert bad.exit_code == 2
    assert bad.stderr == "--set:1:1: members.XYZ: no 'XYZ' here; known: ALP, BRV, LDR\n"


def test_runner_needs_a_file() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "Missing argument 'FILES...'" in result.stderr


def test_an_unexpected_exception_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(path: object, sets: object = ()) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("cstosim.language.loader.load_scenario", explode)
    monkeypatch.setattr("cstosim.cli.load_scenario", explode, raising=False)  # if imported early
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "x.yaml:1:1: internal error while checking (RuntimeError: boom second line)\n"
    )


def test_runner_schema_indent() -> None:
    result = CliRunner().invoke(main, ["schema", "--indent", "0"])
    assert result.exit_code == 0
    assert json.loads(result.output)["$defs"]["ScenarioPatch"]["required"] == ["extends"]


def test_a_file_name_cannot_forge_an_ok_line(tmp_path) -> None:
    """The `ok` line escapes the file name: a newline in it cannot start a line of its own."""
    from click.testing import CliRunner

    from cstosim.cli import main

    source = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"
    name = tmp_path / "x\nfile: ok.yaml"
    name.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(name)])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 1
