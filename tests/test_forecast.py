"""Forecasts with parameter uncertainty (cstosim.analysis.forecast, cstosim forecast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.analysis.calibration import CalibrationError, Posterior, Prior, read_posterior
from cstosim.analysis.forecast import forecast
from cstosim.commands.calibrate import forecast as forecast_command
from cstosim.language.loader import load_scenario

SCENARIO = """\
schema_version: 1
name: tiny
title: Tiny alliance for forecast tests
sources: {t: {author: tests, title: tiny, date: "2026"}}
calendar: {start: 2020-01, end: 2020-12}
members:
  LDR: {name: Leader, joined: 2000-01, leading: true, capability: 0.8, capacity: 0.9,
        dependence: 0.0, exit_cost: 0.95, initial: {alignment: 0.9, credibility: 0.7}}
  ALP: {name: Alpha, joined: 2000-01, capability: 0.1, dependence: 0.2, autonomy_cost: 0.9,
        exit_cost: 0.2, initial: {alignment: 0.5, credibility: 0.3}}
events:
  - {id: summit-2020, date: 2020-11, type: summit, host: LDR, label: summit, source: t}
ranges:
  parameters.hazard_base: {low: 0.0, high: 0.5, note: tests}
"""

OVERLAY = """\
extends: tiny.yaml
name: tiny-scheduled
title: Tiny alliance with a scheduled summit
calendar: {start: 2020-01, end: 2021-12}
add_events:
  - {id: summit-2021, date: 2021-11, type: summit, host: LDR, label: summit, source: t}
"""


def write_posterior(folder: Path, hazards: list[float]) -> Path:
    """A calibration folder as `cstosim calibrate` writes it (only what forecasts read)."""
    folder.mkdir(parents=True)
    n = len(hazards)
    particles = pd.DataFrame(
        {
            "generation": [1] * n,
            "particle": range(n),
            "weight": [1.0 / n] * n,
            "distance": [0.1] * n,
            "parameters.hazard_base": hazards,
        }
    )
    particles.to_parquet(folder / "particles.parquet", index=False)
    manifest = {
        "format": "cstosim-calibration",
        "format_version": 1,
        "priors": [
            {
                "name": "parameters.hazard_base",
                "paths": ["parameters.hazard_base"],
                "low": 0.0,
                "high": 0.5,
            }
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def case(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    (tmp_path / "overlay.yaml").write_text(OVERLAY)
    return tmp_path


def test_rung_probabilities_sum_to_one_and_follow_the_posterior(case: Path) -> None:
    scenario = load_scenario(case / "tiny.yaml")
    still = read_posterior(write_posterior(case / "still", [0.0, 0.0]))
    moving = read_posterior(write_posterior(case / "moving", [0.5, 0.5]))
    a = forecast(scenario, still, "2021-06", draws=3, replicates=5, seed=1)
    b = forecast(scenario, moving, "2021-06", draws=3, replicates=5, seed=1)
    for result in (a, b):
        sums = result.rungs.groupby(["date", "member"])["probability"].sum()
        assert np.allclose(sums, 1.0)
        assert str(result.rungs["date"].max())[:7] == "2021-06"
        assert (result.cohesion["q05"] <= result.cohesion["median"]).all()
        assert (result.cohesion["median"] <= result.cohesion["q95"]).all()
    # no hazard: nobody ever moves; the largest hazard moves Alpha (low value) off `active`
    assert set(a.rungs["engagement"]) == {"active"}
    alpha = b.rungs[(b.rungs["member"] == "ALP") & (b.rungs["engagement"] == "active")]
    assert alpha["probability"].iloc[-1] < 1.0


def test_same_seed_same_forecast(case: Path) -> None:
    scenario = load_scenario(case / "tiny.yaml")
    posterior = Posterior(
        pd.DataFrame({"parameters.hazard_base": [0.1, 0.3, 0.5]}),
        np.array([0.2, 0.3, 0.5]),
        (Prior("parameters.hazard_base", ("parameters.hazard_base",), 0.0, 0.5),),
    )
    a = forecast(scenario, posterior, "2021-03", draws=4, replicates=3, seed=9)
    b = forecast(scenario, posterior, "2021-03", draws=4, replicates=3, seed=9)
    pd.testing.assert_frame_equal(a.rungs, b.rungs)
    pd.testing.assert_frame_equal(a.cohesion, b.cohesion)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    with pytest.raises(ValueError):
        forecast(scenario, posterior, "2021-03", draws=0)


def test_the_command_with_an_overlay(case: Path) -> None:
    posterior = write_posterior(case / "post", [0.1, 0.2, 0.3])
    out = case / "fc"
    runner = CliRunner()
    args = [
        str(case / "tiny.yaml"),
        "--posterior",
        str(posterior),
        "--until",
        "2021-12",
        "--overlay",
        str(case / "overlay.yaml"),
        "--draws",
        "3",
        "--replicates",
        "4",
        "--out",
        str(out),
    ]
    done = runner.invoke(forecast_command, args)
    assert done.exit_code == 0, done.output
    assert "ALP" in done.output and done.output.strip().endswith(str(out))
    for name in (
        "cohesion.csv",
        "rungs.csv",
        "draws.csv",
        "manifest.json",
        "figures/fan.png",
        "figures/rungs.png",
    ):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["forecast_from"] == "2020-12-01" and manifest["until"] == "2021-12"
    assert len(pd.read_csv(out / "draws.csv")) == 3
    again = runner.invoke(forecast_command, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_bad_input_exits_2(case: Path) -> None:
    runner = CliRunner()
    posterior = write_posterior(case / "post", [0.1])
    (case / "x.yaml").write_text(SCENARIO)
    (case / "other.yaml").write_text(OVERLAY.replace("extends: tiny.yaml", "extends: x.yaml"))
    base = [str(case / "tiny.yaml"), "--posterior"]
    cases = [
        ([*base, str(case), "--until", "2021-01"], "not a calibration results folder"),
        ([*base, str(posterior), "--until", "2021-13"], "--until"),
        (
            [*base, str(posterior), "--until", "2021-01", "--overlay", str(case / "other.yaml")],
            "must `extends`",
        ),
    ]
    for args, message in cases:
        done = runner.invoke(forecast_command, [*args, "--out", str(case / "never")])
        assert done.exit_code == 2, done.output
        assert message in done.output
    with pytest.raises(CalibrationError):
        read_posterior(case / "nothing")


@pytest.mark.parametrize(
    "damage, message",
    [
        ({"format_version": 2}, "format version 2; this cstosim reads version 1"),
        ({"format_version": None}, "format version None"),
        ({"priors": None}, "priors: expected a list"),
        ({"priors": [{"name": "x"}]}, "priors: expected a list"),
        ({"priors": [{"name": "nope", "paths": ["a"], "low": 0, "high": 1}]}, "no column nope"),
        ({"sha256": {"particles.parquet": "0" * 64}}, "not the file this calibration wrote"),
    ],
)
def test_damaged_posterior_folders_exit_2(case: Path, damage: dict, message: str) -> None:
    posterior = write_posterior(case / "post", [0.1, 0.2])
    manifest = json.loads((posterior / "manifest.json").read_text())
    (posterior / "manifest.json").write_text(json.dumps({**manifest, **damage}))
    args = [str(case / "tiny.yaml"), "--posterior", str(posterior), "--until", "2021-01"]
    done = CliRunner().invoke(forecast_command, [*args, "--out", str(case / "never")])
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not (case / "never").exists()


def test_posterior_weights_must_be_usable(case: Path) -> None:
    posterior = write_posterior(case / "post", [0.1, 0.2])
    table = pd.read_parquet(posterior / "particles.parquet")
    table["weight"] = [np.nan, 1.0]
    table.to_parquet(posterior / "particles.parquet", index=False)
    with pytest.raises(CalibrationError, match="weights must be finite"):
        read_posterior(posterior)


def test_the_shipped_overlay_extends_the_essay_scenario() -> None:
    root = Path(__file__).resolve().parents[1] / "scenarios"
    overlay = load_scenario(root / "calibration" / "csto-scheduled-2024-2026.yaml")
    essay = load_scenario(root / "csto-2022-2023.yaml")
    assert overlay.calendar.end == "2026-12"
    added = {e.id for e in overlay.events} - {e.id for e in essay.events}
    assert {"summit-2024", "summit-2025", "summit-2026"} <= added
    assert overlay.observations == essay.observations
