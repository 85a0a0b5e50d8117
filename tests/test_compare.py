"""`cstosim compare`: common random numbers, paired differences, folder checks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.analysis.compare import CompareError, check_pairable, compare_folders
from cstosim.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"


def invoke(*args: str):
    return CliRunner().invoke(main, [*args])


def make_run(folder: Path, seed: int, n: int = 4, *extra: str) -> Path:
    result = invoke(
        "run",
        str(EXAMPLE),
        "-n",
        str(n),
        "--seed",
        str(seed),
        "-j",
        "1",
        "--out",
        str(folder),
        "--no-plot",
        "-q",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return folder


def test_scenario_against_itself_is_exactly_zero(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke(
        "compare",
        str(EXAMPLE),
        str(EXAMPLE),
        "-n",
        "4",
        "--seed",
        "3",
        "-j",
        "1",
        "--out",
        str(out),
        "--no-plot",
    )
    assert result.exit_code == 0, result.output
    difference = pd.read_csv(out / "difference.csv")
    assert list(difference.columns) == ["date", "variable", "statistic", "value"]
    assert "cohesion" in set(difference["variable"])
    assert (difference["value"] == 0).all()
    members = pd.read_csv(out / "members.csv")
    assert list(members.columns) == ["member", "state", "p_a", "p_b", "difference"]
    assert (members["p_a"] == members["p_b"]).all() and (members["difference"] == 0).all()
    for side in ("a", "b"):
        assert (out / side / "manifest.json").exists()
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "a" / "model.parquet"), pd.read_parquet(out / "b" / "model.parquet")
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "cstosim-comparison"
    assert manifest["root_seed"] == 3 and manifest["replicates"] == 4
    assert "paired B − A: median" in result.output and "+0.000" in result.output
    assert f"comparison: {out}" in result.output


def test_counterfactual_by_set_b(tmp_path: Path) -> None:
    out = tmp_path / "cf"
    result = invoke(
        "compare",
        str(EXAMPLE),
        str(EXAMPLE),
        "-n",
        "3",
        "--seed",
        "3",
        "-j",
        "1",
        "--set-b",
        "parameters.alignment_noise=0.2",
        "--out",
        str(out),
        "--no-plot",
    )
    assert result.exit_code == 0, result.output
    difference = pd.read_csv(out / "difference.csv")
    cohesion = difference[
        (difference["variable"] == "cohesion") & (difference["statistic"] == "max_abs")
    ]
    assert cohesion["value"].max() > 0
    assert not (out / "figures").exists() and not (out / "b" / "figures").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["b"]["sets"] == ["parameters.alignment_noise=0.2"]
    assert manifest["a"]["sets"] == []


def test_results_folders_with_different_seeds_are_refused(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", seed=1)
    b = make_run(tmp_path / "b", seed=2)
    result = invoke("compare", str(a), str(b), "--out", str(tmp_path / "c"))
    assert result.exit_code == 2
    assert "root_seed 1 (A) != 2 (B)" in result.output
    assert not (tmp_path / "c").exists()
    with pytest.raises(CompareError, match="replicates"):
        compare_folders(a, make_run(tmp_path / "a6", seed=1, n=6))


def test_results_folders_with_equal_seeds(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", seed=5)
    b = make_run(tmp_path / "b", 5, 4, "--set", "members.BRV.exit_cost=0.9")
    out = tmp_path / "c"
    result = invoke("compare", str(a), str(b), "--out", str(out), "--format", "svg", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    assert b"<svg" in (out / "figures" / "members.svg").read_bytes()[:2000]
    assert not (out / "a").exists()  # folders are read, not copied
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["a"]["path"] == str(a) and manifest["b"]["sets"] == [
        "members.BRV.exit_cost=0.9"
    ]
    redrawn = invoke("plot", str(out), "--format", "pdf")
    assert redrawn.exit_code == 0, redrawn.output
    assert (out / "figures" / "difference.pdf").read_bytes().startswith(b"%PDF")
    comparison = compare_folders(a, b)
    check_pairable(comparison.a, comparison.b)
    assert set(comparison.members["member"]) == {"LDR", "ALP", "BRV"}


def test_scenario_next_to_a_folder_takes_its_seed(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", seed=8, n=3)
    out = tmp_path / "c"
    result = invoke("compare", str(a), str(EXAMPLE), "--out", str(out), "--no-plot", "-j", "1")
    assert result.exit_code == 0, result.output
    b_manifest = json.loads((out / "b" / "manifest.json").read_text())
    assert b_manifest["root_seed"] == 8 and b_manifest["replicates"] == 3
    assert (pd.read_csv(out / "difference.csv")["value"] == 0).all()  # same scenario, CRN
    refused = invoke(
        "compare",
        str(a),
        str(EXAMPLE),
        "--set-a",
        "members.ALP.exit_cost=0.5",
        "--out",
        str(tmp_path / "d"),
    )
    assert refused.exit_code == 2 and "cannot change results folder" in refused.output
    exists = invoke("compare", str(a), str(EXAMPLE), "--out", str(out), "--no-plot")
    assert exists.exit_code == 2 and "already exists" in exists.output


def test_compare_runs_both_sides_with_the_engine_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ("-n", "3", "--seed", "2", "-j", "1", "--no-plot", "-q", "--engine", "mesa")
    result = invoke("compare", str(EXAMPLE), str(EXAMPLE), *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    for side in ("a", "b"):
        assert json.loads((out / side / "manifest.json").read_text())["engine"] == "mesa"


def test_scenario_next_to_a_folder_takes_its_engine(tmp_path: Path) -> None:
    from cstosim.engine.defaults import DEFAULT_ENGINE, ENGINES

    other = next(e for e in ENGINES if e != DEFAULT_ENGINE)
    if other == "vector":
        pytest.importorskip("cstosim.engine.vector")
    a = make_run(tmp_path / "a", 6, 3, "--engine", other)
    out = tmp_path / "c"
    result = invoke("compare", str(a), str(EXAMPLE), "--out", str(out), "--no-plot", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "b" / "manifest.json").read_text())["engine"] == other
