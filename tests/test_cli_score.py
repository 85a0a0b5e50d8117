"""`cstosim score` through the real entry point (click's runner and a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.cli import main

EXAMPLE = Path(__file__).parent.parent / "scenarios" / "example-triad.yaml"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("score") / "run"
    args = ["run", str(EXAMPLE), "-n", "8", "--jobs", "1", "--no-plot", "--quiet"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_score_prints_table_and_writes_files(results: Path) -> None:
    result = CliRunner().invoke(main, ["score", str(results)])
    assert result.exit_code == 0, result.output
    assert "alp-answered" in result.output and "brv-steps-back" in result.output
    table = pd.read_csv(results / "score.csv")
    assert list(table.observation_id) == ["alp-answered", "brv-steps-back"]
    assert table.probability.between(0, 1).all()
    totals = json.loads((results / "score.json").read_text())
    assert totals["replicates"] == 8 and totals["observations"] == 2


def test_score_refuses_to_overwrite_without_force(results: Path) -> None:
    CliRunner().invoke(main, ["score", str(results), "--force"])
    before = (results / "score.csv").read_text()
    result = CliRunner().invoke(main, ["score", str(results)])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert (results / "score.csv").read_text() == before
    assert CliRunner().invoke(main, ["score", str(results), "--force"]).exit_code == 0


def test_score_on_a_missing_folder_exits_2_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cstosim", "score", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "nothing" in proc.stderr
