"""Sensitivity analysis: analytic checks (Ishigami, linear), designs, and `cstosim sensitivity`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.analysis.sensitivity import analyse, convergence, ranked, unit_sample
from cstosim.commands.explore import sensitivity, sweep_to_folder
from cstosim.language.experiment import ResolvedFactor, Sampler

ROOT = Path(__file__).resolve().parent.parent
TRIAD = ROOT / "scenarios" / "example-triad.yaml"
NAMES = ["x1", "x2", "x3"]


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """Analytic first-order and total Sobol' indices of the Ishigami function."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return [v1 / var, v2 / var, 0.0], [(v1 + v13) / var, v2 / var, v13 / var]


def factors(k: int, low: float, high: float) -> list[ResolvedFactor]:
    return [
        ResolvedFactor(name=f"x{i + 1}", kind="continuous", low=low, high=high) for i in range(k)
    ]


def test_ishigami_sobol_indices_match_the_analytic_values() -> None:
    fs = factors(3, -math.pi, math.pi)
    unit = unit_sample(Sampler(method="sobol", n=4096), fs, seed=3)
    assert unit.shape == (4096 * 5, 3)
    x = -math.pi + 2 * math.pi * unit
    assert [f.value(u) for f, u in zip(fs, unit[7], strict=True)] == pytest.approx(x[7])
    result = analyse("sobol", unit, ishigami(x), NAMES, 4096, seed=3, resamples=200)
    s1, st = ishigami_indices()
    table = result.table.set_index("factor")
    assert table["S1"].tolist() == pytest.approx(s1, abs=0.03)
    assert table["ST"].tolist() == pytest.approx(st, abs=0.03)
    # the analytic values lie inside the 95 % intervals (with a little slack for the estimator)
    for name, true_s1, true_st in zip(NAMES, s1, st, strict=True):
        assert abs(table.loc[name, "S1"] - true_s1) <= 1.5 * table.loc[name, "S1_conf"] + 0.01
        assert abs(table.loc[name, "ST"] - true_st) <= 1.5 * table.loc[name, "ST_conf"] + 0.01
    assert list(ranked(result)["factor"]) == ["x1", "x2", "x3"]


def test_sobol_design_of_2n_starts_with_the_design_of_n() -> None:
    fs = factors(3, 0.0, 1.0)
    small = unit_sample(Sampler(method="sobol", n=64), fs, seed=5)
    large = unit_sample(Sampler(method="sobol", n=128), fs, seed=5)
    np.testing.assert_array_equal(small, large[: len(small)])


def test_convergence_repeats_at_n_over_4_n_over_2_and_n() -> None:
    fs = factors(3, -math.pi, math.pi)
    unit = unit_sample(Sampler(method="sobol", n=1024), fs, seed=1)
    x = -math.pi + 2 * math.pi * unit
    table = convergence("sobol", unit, ishigami(x), NAMES, 1024, seed=1)
    assert sorted(table["n"].unique()) == [256, 512, 1024]
    widths = table.groupby("n")["ST_conf"].mean()
    assert widths[1024] < widths[256]  # intervals shrink as N grows


def test_morris_ranks_a_linear_function() -> None:
    fs = factors(3, 0.0, 1.0)
    unit = unit_sample(Sampler(method="morris", n=50, levels=4), fs, seed=2)
    assert unit.shape == (50 * 4, 3)
    y = 10 * unit[:, 0] + 2 * unit[:, 1] + 0 * unit[:, 2]
    table = analyse("morris", unit, y, NAMES, 50, seed=2).table.set_index("factor")
    assert table["mu_star"].tolist() == pytest.approx([10, 2, 0], abs=1e-9)
    assert table["sigma"].tolist() == pytest.approx([0, 0, 0], abs=1e-9)


def test_constant_outcome_has_zero_indices() -> None:
    fs = factors(2, 0.0, 1.0)
    unit = unit_sample(Sampler(method="sobol", n=16), fs, seed=2)
    result = analyse("sobol", unit, np.ones(len(unit)), ["x1", "x2"], 16)
    assert result.variance == 0.0 and (result.table["ST"] == 0).all()


def test_latin_and_factorial_designs() -> None:
    fs = [*factors(2, 0.0, 1.0), ResolvedFactor("c", "categorical", levels=("a", "b"))]
    latin = unit_sample(Sampler(method="latin", n=10), fs, seed=1)
    assert latin.shape == (10, 3)
    for column in latin[:, :2].T:  # one point in each tenth of each axis
        assert sorted(np.floor(column * 10).astype(int)) == list(range(10))
    grid = unit_sample(Sampler(method="full-factorial", levels=3), fs, seed=1)
    assert grid.shape == (3 * 3 * 2, 3)
    assert {fs[2].value(u) for u in grid[:, 2]} == {"a", "b"}
    assert sorted({fs[0].value(u) for u in grid[:, 0]}) == [0.0, 0.5, 1.0]


EXPERIMENT = """\
schema_version: 1
name: triad-sobol
title: Sobol sweep of the example scenario
scenario: {triad}
factors:
  parameters.hazard_base: {{low: 0.0, high: 0.3, label: transition hazard}}
  parameters.weight_grievance: {{low: 0.0, high: 3.0}}
  members.BRV.exit_cost: {{low: 0.1, high: 0.9}}
outcomes:
  brv_disengaged: {{kind: reached, member: BRV, rung: disengaged, label: BRV steps back}}
  cohesion: {{kind: metric, metric: cohesion}}
  exits: {{kind: exits}}
sampler: {{method: {method}, n: {n}}}
replicates: 4
seed: 5
"""


@pytest.fixture(scope="module")
def sobol_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sobol")
    path = folder / "experiment.yaml"
    path.write_text(EXPERIMENT.format(triad=TRIAD, method="sobol", n=8), encoding="utf-8")
    sweep_to_folder(path, folder / "sweep")
    return folder / "sweep"


def test_cli_sensitivity_writes_indices_figures_and_a_table(sobol_sweep: Path) -> None:
    result = CliRunner().invoke(sensitivity, [str(sobol_sweep)])
    assert result.exit_code == 0, result.output
    out = sobol_sweep / "sensitivity"
    assert f"sensitivity: {out}" in result.output
    assert "BRV steps back (brv_disengaged), N = 8" in result.output
    indices = pd.read_csv(out / "indices.csv")
    assert set(indices["outcome"]) == {"brv_disengaged", "cohesion", "exits"}
    assert sorted(indices["n"].unique()) == [4, 8]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    for name in ("brv_disengaged", "cohesion", "exits"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}-convergence.png").is_file()
    record = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert record["method"] == "sobol" and record["versions"]["SALib"]
    # the hazard drives stepping back in this scenario
    brv = indices[(indices["outcome"] == "brv_disengaged") & (indices["n"] == 8)]
    assert brv.set_index("factor")["ST"].idxmax() == "parameters.hazard_base"
    # never replaced silently; --force replaces; one outcome only
    again = CliRunner().invoke(sensitivity, [str(sobol_sweep)])
    assert again.exit_code == 2 and "already exists; use --force" in again.output
    forced = CliRunner().invoke(
        sensitivity, [str(sobol_sweep), "--force", "--outcome", "cohesion", "--format", "svg"]
    )
    assert forced.exit_code == 0, forced.output
    assert (out / "figures" / "cohesion.svg").is_file()
    assert not (out / "figures" / "exits.png").exists()


def test_cli_sensitivity_bad_inputs_exit_2(sobol_sweep: Path, tmp_path: Path) -> None:
    unknown = CliRunner().invoke(sensitivity, [str(sobol_sweep), "--outcome", "nope"])
    assert unknown.exit_code == 2 and "unknown outcome 'nope'" in unknown.output
    missing = CliRunner().invoke(sensitivity, [str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no such sweep folder" in missing.output
    path = tmp_path / "latin.yaml"
    path.write_text(EXPERIMENT.format(triad=TRIAD, method="latin", n=4), encoding="utf-8")
    sweep_to_folder(path, tmp_path / "latin")
    latin = CliRunner().invoke(sensitivity, [str(tmp_path / "latin")])
    assert latin.exit_code == 2 and "need a sobol or morris design" in latin.output


def test_cli_sensitivity_morris(tmp_path: Path) -> None:
    path = tmp_path / "morris.yaml"
    path.write_text(EXPERIMENT.format(triad=TRIAD, method="morris", n=4), encoding="utf-8")
    sweep_to_folder(path, tmp_path / "morris")
    result = CliRunner().invoke(sensitivity, [str(tmp_path / "morris")])
    assert result.exit_code == 0, result.output
    indices = pd.read_csv(tmp_path / "morris" / "sensitivity" / "indices.csv")
    assert {"mu_star", "mu_star_conf", "sigma", "mu"} <= set(indices.columns)
