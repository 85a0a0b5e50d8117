"""Scenario discovery: PRIM recovers a planted box; feature scores; `cstosim discover`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.analysis.discovery import cases, feature_scores, prim_boxes
from cstosim.commands.explore import discover, sweep_to_folder

ROOT = Path(__file__).resolve().parent.parent
TRIAD = ROOT / "scenarios" / "example-triad.yaml"


def planted(n: int = 2000, noise: float = 0.03) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(42)
    x = pd.DataFrame(rng.uniform(size=(n, 4)), columns=["a", "b", "c", "d"])
    x["scenario"] = pd.Categorical(rng.choice(["base", "alt"], n))
    inside = (x["a"] > 0.6).to_numpy() & (x["b"] < 0.3).to_numpy()
    flip = rng.uniform(size=n) < noise
    return x, inside ^ flip


def test_prim_recovers_a_planted_box() -> None:
    x, y = planted()
    result = prim_boxes(x, y, "y", "y = 1", min_coverage=0.8)
    limits = result.limits.set_index("factor")
    assert set(limits.index) == {"a", "b"}
    assert limits.loc["a", "min"] == pytest.approx(0.6, abs=0.04)
    assert limits.loc["b", "max"] == pytest.approx(0.3, abs=0.04)
    assert limits.loc["a", "qp_low"] < 1e-10
    stats = result.stats
    assert stats["coverage"] >= 0.8 and stats["density"] >= 0.9
    assert result.positives == int(y.sum()) and result.cases == len(y)
    trajectory = result.trajectory
    assert trajectory["coverage"].iloc[0] == 1.0
    assert trajectory["density"].iloc[0] == pytest.approx(y.mean())
    # a box can also be picked by number
    assert prim_boxes(x, y, box=0).limits.empty


def test_categorical_factors_named_like_emas_own_columns_take_part() -> None:
    """EMA Workbench drops columns named `scenario`, `policy` or `model`: they are renamed."""
    x, _ = planted(1500)
    y = (x["scenario"] == "alt").to_numpy() & (x["a"] > 0.5).to_numpy()
    limits = prim_boxes(x, y, min_coverage=0.9).limits.set_index("factor")
    assert limits.loc["scenario", "min"] == "alt"
    scores = feature_scores(x, pd.DataFrame({"y": y.astype(float)}))
    assert set(scores["y"].nlargest(2).index) == {"scenario", "a"}


def test_prim_refuses_outcomes_with_nothing_to_find() -> None:
    x, _ = planted(200)
    with pytest.raises(ValueError, match="no case satisfies"):
        prim_boxes(x, np.zeros(200, dtype=bool))
    with pytest.raises(ValueError, match="every case satisfies"):
        prim_boxes(x, np.ones(200, dtype=bool))


def test_feature_scores_find_the_driving_factor() -> None:
    x, y = planted(1500)
    outcomes = pd.DataFrame(
        {"boxed": y.astype(float), "linear": 3 * x["c"].to_numpy(), "flat": np.ones(len(y))}
    )
    scores = feature_scores(x, outcomes)
    assert scores["linear"].idxmax() == "c"
    assert set(scores["boxed"].nlargest(2).index) == {"a", "b"}
    assert (scores["flat"] == 0).all()
    assert list(scores.index) == list(x.columns)


def test_cases_per_run_and_per_point() -> None:
    design = pd.DataFrame({"design_point": [0, 1, 2], "f": [0.1, 0.5, 0.9]})
    outcomes = pd.DataFrame(
        {
            "design_point": np.repeat([0, 1, 2], 2),
            "replicate": np.tile([0, 1], 3),
            "hit": [0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
            "level": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        }
    )
    x, y, rule = cases(design, outcomes, "hit", ["f"])
    assert len(x) == 6 and y.tolist() == [False, False, True, False, True, True]
    assert rule == "hit = 1" and x["f"].tolist() == [0.1, 0.1, 0.5, 0.5, 0.9, 0.9]
    x, y, rule = cases(design, outcomes, "hit", ["f"], per="point")
    assert y.tolist() == [False, False, True] and rule == "mean hit > 0.5"
    x, y, rule = cases(design, outcomes, "level", ["f"], above=0.35)
    assert y.sum() == 3 and rule == "level > 0.35"
    with pytest.raises(ValueError, match="not binary"):
        cases(design, outcomes, "level", ["f"])


EXPERIMENT = f"""\
schema_version: 1
name: triad-latin
title: Latin hypercube over the example scenario
scenario: {TRIAD}
factors:
  parameters.hazard_base: {{low: 0.0, high: 0.3, label: transition hazard}}
  members.BRV.exit_cost: {{low: 0.1, high: 0.9}}
  actors.OUT.pull.ALP: {{low: 0.0, high: 0.8}}
outcomes:
  alp_disengaged: {{kind: reached, member: ALP, rung: disengaged}}
  cohesion: {{kind: metric, metric: cohesion}}
sampler: {{method: latin, n: 40}}
replicates: 5
seed: 9
"""


@pytest.fixture(scope="module")
def latin_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("latin")
    path = folder / "experiment.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    sweep_to_folder(path, folder / "sweep")
    return folder / "sweep"


def test_cli_discover_writes_box_trajectory_scores_and_figures(latin_sweep: Path) -> None:
    result = CliRunner().invoke(discover, [str(latin_sweep), "--outcome", "alp_disengaged"])
    assert result.exit_code == 0, result.output
    out = latin_sweep / "discovery-alp_disengaged"
    assert f"discovery: {out}" in result.output
    assert "alp_disengaged = 1:" in result.output and "Limits of box" in result.output
    trajectory = pd.read_csv(out / "trajectory.csv")
    assert {"box", "coverage", "density", "mass", "res_dim", "n"} <= set(trajectory.columns)
    box = pd.read_csv(out / "box.csv")
    assert {"factor", "min", "max", "qp_low", "qp_high", "full_min", "full_max"} <= set(box.columns)
    scores = pd.read_csv(out / "feature-scores.csv", index_col="factor")
    assert list(scores.columns) == ["alp_disengaged", "cohesion"]
    for name in ("tradeoff", "box", "feature-scores"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    record = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert record["rule"] == "alp_disengaged = 1" and record["cases"] == 200
    again = CliRunner().invoke(discover, [str(latin_sweep), "--outcome", "alp_disengaged"])
    assert again.exit_code == 2 and "use --force" in again.output


def test_cli_discover_thresholds_and_bad_inputs(latin_sweep: Path) -> None:
    result = CliRunner().invoke(
        discover, [str(latin_sweep), "--outcome", "cohesion", "--below", "0.5", "--per", "point"]
    )
    assert result.exit_code == 0, result.output
    assert "cohesion < 0.5" in result.output
    not_binary = CliRunner().invoke(discover, [str(latin_sweep), "--outcome", "cohesion"])
    assert not_binary.exit_code == 2
    assert "not binary (0/1); give --above X or --below X" in not_binary.output
    unknown = CliRunner().invoke(discover, [str(latin_sweep), "--outcome", "nope"])
    assert unknown.exit_code == 2 and "unknown outcome 'nope'" in unknown.output
    nothing = CliRunner().invoke(
        discover, [str(latin_sweep), "--outcome", "cohesion", "--above", "5", "--force"]
    )
    assert nothing.exit_code == 2 and "no case satisfies cohesion > 5" in nothing.output
