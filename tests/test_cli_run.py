"""`cstosim run` and `cstosim plot` through the real entry point (subprocess and CliRunner)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"
CSTOSIM = Path(sys.executable).with_name("cstosim")


def run(*args: str, **kwargs) -> object:
    return CliRunner().invoke(main, ["run", str(EXAMPLE), *args], **kwargs)


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_parquet(folder / f"{n}.parquet") for n in ("model", "members", "events")}


@pytest.mark.skipif(not CSTOSIM.exists(), reason="console script not installed")
def test_subprocess_run_jobs_2_equals_jobs_1(tmp_path: Path) -> None:
    """The real console script, two worker processes, figures; tables equal to --jobs 1."""
    out = tmp_path / "j2"
    done = subprocess.run(
        [str(CSTOSIM), "run", str(EXAMPLE), "-n", "6", "-j", "2", "--seed", "4", "--out",
         str(out), "--format", "svg"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Cohesion in 2022-12" in done.stdout
    assert "replicates" in done.stderr  # the progress bar
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "alignment.svg", "cohesion.svg", "engagement.svg", "exit.svg",
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"][1:3] == ["run", str(EXAMPLE)]
    assert manifest["jobs"] == 2
    assert manifest["files"]["figures"] == [
        "alignment.svg",
        "cohesion.svg",
        "engagement.svg",
        "exit.svg",
    ]
    one = run("-n", "6", "--seed", "4", "-j", "1", "--out", str(tmp_path / "j1"), "--no-plot")
    assert one.exit_code == 0, one.output
    a, b = tables(tmp_path / "j1"), tables(out)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert (tmp_path / "j1" / "summary.csv").read_text() == (out / "summary.csv").read_text()
    hashes = [
        {k: v["sha256"] for k, v in json.loads((f / "manifest.json").read_text())["files"].items()
         if isinstance(v, dict)}
        for f in (tmp_path / "j1", out)
    ]  # fmt: skip
    assert hashes[0] == hashes[1]  # the same bytes, whatever the chunks and processes
    bad = subprocess.run(
        [str(CSTOSIM), "run", str(EXAMPLE), "--set", "nope.x=1", "--out", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "nope" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_options_are_recorded(tmp_path: Path) -> None:
    out = tmp_path / "r"
    result = run(
        "--replicates",
        "3",
        "--seed",
        "77",
        "--jobs",
        "1",
        "--engine",
        "mesa",
        "--until",
        "2023-03",
        "--set",
        "members.ALP.exit_cost=0.55",
        "--set",
        "parameters.alignment_noise=0.02",
        "--out",
        str(out),
        "--no-plot",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicates"] == 3 and manifest["root_seed"] == 77
    assert manifest["until"] == "2023-03" and manifest["jobs"] == 1
    assert manifest["engine"] == "mesa" and manifest["chunk_size"] == 100
    assert manifest["sets"] == ["members.ALP.exit_cost=0.55", "parameters.alignment_noise=0.02"]
    model = pd.read_parquet(out / "model.parquet")
    assert str(model["date"].max()) == "2023-03-01"
    resolved = (out / "scenario.resolved.yaml").read_text()
    assert "exit_cost: 0.55" in resolved and "alignment_noise: 0.02" in resolved
    assert not (out / "figures").exists()  # --no-plot
    assert "Probability of each member's state" in result.output
    assert f"results: {out}" in result.output


def test_quiet_prints_only_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "q"
    result = run("-n", "2", "-j", "1", "--out", str(out), "--quiet", "--no-plot")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)


def test_default_out_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = run("-n", "2", "-j", "1", "--no-plot", "-q")
    second = run("-n", "2", "-j", "1", "--no-plot", "-q")
    assert first.exit_code == 0 and second.exit_code == 0
    runs = sorted((tmp_path / "results" / "example-triad").iterdir())
    assert len(runs) == 2  # two runs in the same second do not collide
    assert runs[0].name.endswith("Z") and (runs[0] / "manifest.json").exists()


def test_existing_folder_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "r"
    first = run("-n", "2", "-j", "1", "--seed", "1", "--out", str(out), "--format", "pdf")
    assert first.exit_code == 0, first.output
    assert len(list((out / "figures").glob("*.pdf"))) == 4  # run draws the figures by default
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = run("-n", "3", "-j", "1", "--seed", "2", "--out", str(out), "--no-plot")
    assert again.exit_code == 2
    assert "already exists" in again.output and "--force" in again.output
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    forced = run("-n", "3", "-j", "1", "--seed", "2", "--out", str(out), "--no-plot", "--force")
    assert forced.exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["root_seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_interrupted_run_leaves_no_folder(tmp_path: Path, monkeypatch) -> None:
    from cstosim.engine import ensemble

    real = ensemble.run_replicate
    calls = []

    def interrupt(scenario, seed, k, until):
        calls.append(k)
        if k == 3:
            raise KeyboardInterrupt
        return real(scenario, seed, k, until)

    monkeypatch.setattr(ensemble, "run_replicate", interrupt)
    out = tmp_path / "results" / "example" / "run"
    result = run("-n", "6", "-j", "1", "--engine", "mesa", "--out", str(out))
    assert result.exit_code == 130
    assert "no results folder" in result.output
    assert calls == [0, 1, 2, 3]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "members.NOPE.exit_cost=1"], "NOPE"),
        (["--set", "members.ALP.exit_cost=7"], "exit_cost"),
        (["--set", "noequals"], "path=value"),
        (["--until", "2023-13"], "YYYY-MM"),
        (["--until", "2020-06"], "before the calendar end"),
        (["--replicates", "0"], "replicates"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(*args, "--out", str(tmp_path / "x"), "--no-plot")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_missing_or_invalid_scenario_exits_2(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["run", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "file not found" in missing.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("severity: 0.6", "severity: 6"))
    result = CliRunner().invoke(main, ["run", str(broken), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "broken.yaml:" in result.output and "severity" in result.output


def test_failure_is_one_line_and_debug_shows_traceback(tmp_path: Path, monkeypatch) -> None:
    from cstosim.engine import ensemble

    def explode(*args, **kwargs):
        raise RuntimeError("model diverged\nsecond line")

    monkeypatch.setattr(ensemble, "run_replicate", explode)
    result = run("-n", "2", "-j", "1", "--engine", "mesa", "--out", str(tmp_path / "f"))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("error")]
    assert lines == [
        "error: RuntimeError: model diverged second line (run with --debug for the traceback)"
    ]
    debug = run("-n", "2", "-j", "1", "--engine", "mesa", "--out", str(tmp_path / "f"), "--debug")
    assert debug.exit_code == 1 and isinstance(debug.exception, RuntimeError)
    assert not (tmp_path / "f").exists()


def test_plot_command(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert run("-n", "3", "-j", "1", "--out", str(out), "--no-plot").exit_code == 0
    result = CliRunner().invoke(main, ["plot", str(out), "--format", "pdf"])
    assert result.exit_code == 0, result.output
    assert len(list((out / "figures").glob("*.pdf"))) == 4
    assert (out / "figures" / "cohesion.pdf").read_bytes().startswith(b"%PDF")
    not_results = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert not_results.exit_code == 2 and "not a cstosim results folder" in not_results.output
    shutil.rmtree(out / "figures")
    (out / "summary.csv").unlink()
    broken = CliRunner().invoke(main, ["plot", str(out)])
    assert broken.exit_code == 2 and "summary.csv: missing" in broken.output


@pytest.mark.parametrize("command", ["run", "plot", "compare"])
def test_help_explains_outputs(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "figures" in result.output
    if command != "plot":
        for option in (
            "--replicates",
            "--seed",
            "--jobs",
            "--engine",
            "--until",
            "--out",
            "--set",
            "--force",
            "--quiet",
            "--no-plot",
            "--format",
            "--debug",
        ):
            assert option in result.output
        text = " ".join(result.output.split())
        assert "vector: all replicates of a chunk at once as arrays" in text
        assert "mesa: the reference Mesa AllianceModel, one replicate at a time" in text
    if command == "run":
        assert "manifest.json" in result.output and "summary.csv" in result.output
        assert "20231123" in result.output


def test_unknown_engine_exits_2(tmp_path: Path) -> None:
    result = run("--engine", "gpu", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and "gpu" in result.output
    assert not (tmp_path / "x").exists()


def test_vector_engine_jobs_2_equals_jobs_1(tmp_path: Path) -> None:
    pytest.importorskip("cstosim.engine.vector")
    common = ("-n", "7", "--seed", "4", "--engine", "vector", "--no-plot", "-q")
    one = run(*common, "-j", "1", "--out", str(tmp_path / "j1"))
    two = run(*common, "-j", "2", "--out", str(tmp_path / "j2"))
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    a, b = tables(tmp_path / "j1"), tables(tmp_path / "j2")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    for file in ("summary.csv", "members.parquet", "events.parquet"):
        assert (tmp_path / "j1" / file).read_bytes() == (tmp_path / "j2" / file).read_bytes()
    manifest = json.loads((tmp_path / "j2" / "manifest.json").read_text())
    assert manifest["engine"] == "vector" and manifest["jobs"] == 2


HEAVY = ("pandas", "mesa", "matplotlib", "pyarrow")


def test_the_cli_imports_nothing_heavy() -> None:
    """`cstosim --help` and `cstosim validate` start fast: no pandas, Mesa, matplotlib or
    pyarrow at import time (they are imported by the commands that need them)."""
    code = f"import cstosim.cli, sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
    validate = (
        "import sys; from click.testing import CliRunner; from cstosim.cli import main; "
        f"r = CliRunner().invoke(main, ['validate', {str(EXAMPLE)!r}]); "
        f"print(r.exit_code, sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", validate], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "0 []"


def test_an_interrupt_a_library_wrapped_is_still_an_interrupt(tmp_path: Path, monkeypatch) -> None:
    """pyabc's SQLAlchemy session turns Ctrl-C during a flush into PendingRollbackError."""
    from cstosim.engine import ensemble

    def wrapped(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("session rolled back") from None  # context still set

    monkeypatch.setattr(ensemble, "run_replicate", wrapped)
    result = run("-n", "2", "-j", "1", "--engine", "mesa", "--out", str(tmp_path / "f"))
    assert result.exit_code == 130, result.output
    assert "interrupted: no results folder was written" in result.output
    assert not (tmp_path / "f").exists()
