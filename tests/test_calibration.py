"""ABC calibration (cstosim.analysis.calibration, cstosim calibrate) on a small synthetic
scenario whose true parameter is known: recovery, determinism per seed, resume after a kill."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.analysis.calibration import (
    CalibrationError,
    RecordModel,
    apply_values,
    build_problem,
    calibrate,
    read_posterior,
    score_run,
    set_path,
    work_folder,
)
from cstosim.commands.calibrate import calibrate as calibrate_command
from cstosim.engine.vector import run_chunk
from cstosim.language.calibration_file import load_calibration
from cstosim.language.loader import load_scenario
from cstosim.language.yamlio import ScenarioError

TRUE_SEVERITY = 0.45
"""The synthetic record was made with this severity: every call answered by fact-finding
within about 4 days (answers are capped at the severity, docs/MODEL.md §7.2)."""

SCENARIO = """\
schema_version: 1
name: synthetic
title: Synthetic record for calibration tests
sources: {syn: {author: tests, title: synthetic record, date: "2026"}}
calendar: {start: 2020-01, end: 2020-05}
parameters: {response_noise: 0.05}
members:
  LDR: {name: Leader, joined: 2000-01, leading: true, capability: 0.8, capacity: 0.9,
        dependence: 0.0, exit_cost: 0.95, initial: {alignment: 0.9, credibility: 0.7}}
  ALP: {name: Alpha, joined: 2000-01, capability: 0.1, dependence: 0.6,
        regime_insecurity: 0.7, exit_cost: 0.4, initial: {alignment: 0.8, credibility: 0.6}}
events:
  - {id: call-0, date: 2020-02, type: invocation, member: ALP, crisis: domestic,
     severity: SEV, label: first call, source: syn}
  - {id: call-1, date: 2020-03, type: invocation, member: ALP, crisis: domestic,
     severity: SEV, label: second call, source: syn}
  - {id: call-2, date: 2020-04, type: invocation, member: ALP, crisis: domestic,
     severity: SEV, label: third call, source: syn}
observations:
  - {id: o1, date: 2020-02, kind: response, event: call-0, at_least: statements,
     within_days: 9, label: answered within nine days, source: syn}
  - {id: o2, date: 2020-02, kind: response, event: call-0, at_least: statements,
     within_days: 7, label: answered within a week, source: syn}
  - {id: o3, date: 2020-03, kind: response, event: call-1, at_least: fact-finding,
     label: at least fact-finding, source: syn}
  - {id: o4, date: 2020-03, kind: response, event: call-1, at_least: fact-finding,
     within_days: 5, label: fact-finding within five days, source: syn}
  - {id: o5, date: 2020-04, kind: response, event: call-2, at_most: token-force,
     label: at most a token force, source: syn}
  - {id: o6, date: 2020-04, kind: response, event: call-2, at_most: fact-finding,
     label: at most fact-finding, source: syn}
ranges:
  events.call-0.severity: {low: 0.1, high: 0.9, note: synthetic}
"""

CALIBRATION = """\
schema_version: 1
name: syn
scenarios:
  - file: synthetic.yaml
parameters:
  severity:
    paths: [events.call-0.severity, events.call-1.severity, events.call-2.severity]
  parameters.hazard_base: {low: 0.0, high: 0.2}
replicates: 2
population: 20
generations: GEN
seed: 7
predictive: {draws: 4, replicates: 2}
"""


def write_case(folder: Path, generations: int = 3, severity: float = 0.25) -> Path:
    """The synthetic scenario (at a wrong ``severity``: the fit must move it) and its
    calibration file; returns the calibration file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "synthetic.yaml").write_text(SCENARIO.replace("SEV", str(severity)))
    path = folder / "calibration.yaml"
    path.write_text(CALIBRATION.replace("GEN", str(generations)))
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fit")
    spec = write_case(base / "case")
    calibrate(spec, base / "out", predictive=True)
    return base / "out"


def test_the_synthetic_record_holds_at_the_true_value(tmp_path: Path) -> None:
    spec = write_case(tmp_path)
    problem = build_problem(load_calibration(spec), tmp_path)
    scenario = problem.scenarios[0]
    truth = apply_values(
        scenario, problem.priors, {"severity": TRUE_SEVERITY, "parameters.hazard_base": 0.05}
    )
    assert score_run(truth, 1, 20)["probability"].tolist() == [1.0] * 6
    assert score_run(scenario, 1, 20)["probability"].tolist() != [1.0] * 6


def test_setting_values_equals_set_overrides(tmp_path: Path) -> None:
    write_case(tmp_path)
    path = tmp_path / "synthetic.yaml"
    direct = set_path(load_scenario(path), ["events", "call-1", "severity"], 0.6)
    direct = set_path(direct, ["parameters", "hazard_base"], 0.1)
    loaded = load_scenario(path, ["events.call-1.severity=0.6", "parameters.hazard_base=0.1"])
    assert direct.model_dump() == loaded.model_dump()
    a = run_chunk(direct, 3, range(4))[1]
    b = run_chunk(loaded, 3, range(4))[1]
    pd.testing.assert_frame_equal(a, b)


def test_priors_come_from_the_ranges_and_paths_are_checked(tmp_path: Path) -> None:
    spec = write_case(tmp_path)
    problem = build_problem(load_calibration(spec), tmp_path)
    severity, hazard = problem.priors
    assert (severity.low, severity.high) == (0.1, 0.9)  # the scenario's range
    assert (hazard.low, hazard.high) == (0.0, 0.2)  # given in the file
    assert problem.scenario_values()["severity"] == 0.25
    spec.write_text(CALIBRATION.replace("GEN", "2").replace("events.call-2", "events.nope"))
    with pytest.raises(CalibrationError, match=r"events.nope.severity is in no scenario"):
        build_problem(load_calibration(spec), tmp_path)
    spec.write_text(
        CALIBRATION.replace("GEN", "2").replace(
            "parameters.hazard_base: {low: 0.0, high: 0.2}", "members.LDR.dependence: {}"
        )
    )
    with pytest.raises(CalibrationError, match="no scenario declares a range"):
        build_problem(load_calibration(spec), tmp_path)


def test_calibration_file_errors_are_located(tmp_path: Path) -> None:
    spec = write_case(tmp_path)
    spec.write_text(CALIBRATION.replace("GEN", "0").replace("replicates: 2", "replicate: 2"))
    with pytest.raises(ScenarioError) as err:
        load_calibration(spec)
    text = str(err.value)
    assert f"{spec}:11:1: generations:" in text
    assert f"{spec}:9:1: replicate: Extra inputs" in text
    assert "replicate" in text


def test_posterior_covers_the_true_value(fitted: Path) -> None:
    table = pd.read_csv(fitted / "parameters.csv").set_index("parameter")
    row = table.loc["severity"]
    assert row["q05"] <= TRUE_SEVERITY <= row["q95"]
    assert row["width_ratio"] < 0.6  # the record pins the severity down
    assert table.loc["parameters.hazard_base", "width_ratio"] > 0.6  # and says nothing of this
    pops = pd.read_csv(fitted / "populations.csv")
    assert list(pops["generation"]) == [0, 1, 2]
    assert pops["epsilon"].is_monotonic_decreasing
    assert ((pops["acceptance_rate"] > 0) & (pops["acceptance_rate"] <= 1)).all()
    manifest = json.loads((fitted / "manifest.json").read_text())
    assert manifest["format"] == "cstosim-calibration" and manifest["seed"] == 7
    assert manifest["versions"]["pyabc"].startswith("0.13")
    predictive = pd.read_csv(fitted / "predictive.csv")
    assert len(predictive) == 6
    assert predictive["brier_posterior"].mean() < predictive["brier_scenario"].mean()
    posterior = read_posterior(fitted)
    assert np.isclose(posterior.weights.sum(), 1.0)
    assert len(posterior.draws(10, 1)) == 10


def test_same_seed_same_posterior_for_any_number_of_workers(fitted: Path, tmp_path: Path) -> None:
    spec = write_case(tmp_path / "case")
    calibrate(spec, tmp_path / "again", workers=2, predictive=False)
    a = pd.read_parquet(fitted / "particles.parquet")
    b = pd.read_parquet(tmp_path / "again" / "particles.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_an_existing_folder_is_not_replaced(fitted: Path, tmp_path: Path) -> None:
    from cstosim.store.folder import OutputExistsError

    spec = write_case(tmp_path / "case")
    with pytest.raises(OutputExistsError):
        calibrate(spec, fitted)


def test_a_killed_calibration_resumes_with_the_same_numbers(fitted: Path, tmp_path: Path) -> None:
    spec = write_case(tmp_path / "case", generations=3)
    out = tmp_path / "out"
    db = work_folder(out) / "abc.db"
    code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        import cstosim.analysis.calibration as c
        original = c.RecordModel.__call__
        def slow(self, pars):
            time.sleep(0.05)
            return original(self, pars)
        c.RecordModel.__call__ = slow
        c.calibrate(Path({str(spec)!r}), Path({str(out)!r}), predictive=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and _generations(db) < 1:
            time.sleep(0.05)
        assert _generations(db) >= 1, "the first generation never finished"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert not out.exists() and db.is_file()
    kept = _generations(db)
    assert kept < 3
    run = calibrate(spec, out, predictive=False)
    assert run.resumed_from == kept
    assert not work_folder(out).exists()
    pd.testing.assert_frame_equal(
        pd.read_parquet(fitted / "particles.parquet"), pd.read_parquet(out / "particles.parquet")
    )


def _generations(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            rows = con.execute("select count(*) from populations where t >= 0").fetchone()
    except sqlite3.Error:
        return 0
    return int(rows[0])


def test_the_command_writes_figures_and_exit_codes(tmp_path: Path) -> None:
    spec = write_case(tmp_path / "case", generations=2)
    runner = CliRunner()
    out = tmp_path / "cli"
    done = runner.invoke(calibrate_command, [str(spec), "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith(str(out))
    for name in ("marginals", "pairs", "pinned", "predictive"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    again = runner.invoke(calibrate_command, [str(spec), "--out", str(out), "-q"])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: BAD NAME\n")
    failed = runner.invoke(calibrate_command, [str(bad)])
    assert failed.exit_code == 2
    assert f"{bad}:2:1: name: String should match" in failed.output


@pytest.mark.parametrize("name", ["csto-record", "csto-record-to-2021"])
def test_the_shipped_calibration_files_resolve(name: str) -> None:
    spec_path = Path(__file__).resolve().parents[1] / "scenarios" / "calibration" / f"{name}.yaml"
    spec = load_calibration(spec_path)
    problem = build_problem(spec, spec_path.parent)
    assert len(problem.priors) >= 8 and len(problem.scenarios) == 2
    aze = next(p for p in problem.priors if p.name == "aze-ties-rus")
    assert aze.paths == ("actors.AZE.ties.RUS", "members.AZE.ties.RUS")
    values = problem.scenario_values()
    assert set(values) == set(problem.names)


def test_batched_evaluations_equal_one_by_one(
    fitted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sampler's two passes (particles stepped together) give the particles of one pass,
    one particle per run, bit for bit."""
    import cstosim.analysis.calibration as c

    def one_pass(fn, seed, t, indices):  # type: ignore[no-untyped-def]
        out = []
        for i in indices:
            np.random.seed(c.evaluation_seed(seed, t, i))
            out.append(fn())
        return out

    monkeypatch.setattr(c, "_evaluate", one_pass)
    spec = write_case(tmp_path / "case")
    calibrate(spec, tmp_path / "plain", predictive=False)
    pd.testing.assert_frame_equal(
        pd.read_parquet(fitted / "particles.parquet"),
        pd.read_parquet(tmp_path / "plain" / "particles.parquet"),
    )


def test_evaluate_many_equals_evaluate_on_the_record() -> None:
    spec_path = Path(__file__).resolve().parents[1] / "scenarios/calibration/csto-record.yaml"
    problem = build_problem(load_calibration(spec_path), spec_path.parent)
    problem = dataclasses.replace(problem, replicates=3)
    model = RecordModel(problem)
    rng = np.random.default_rng(3)
    particles = [
        ({p.name: float(rng.uniform(p.low, p.high)) for p in problem.priors}, 100 + k)
        for k in range(4)
    ]
    for (values, root), got in zip(particles, model.evaluate_many(particles), strict=True):
        want = model.evaluate(values, root)
        assert got["brier"] == want["brier"]
        assert np.array_equal(got["probability"], want["probability"])


def test_a_parameter_limited_to_one_scenario(tmp_path: Path) -> None:
    """The same path in two scenarios may mean two things (a belief in 1992 and in 2021): a
    parameter with `scenarios:` sets it only in those, and a forecast overlay stands for the
    scenario it extends."""
    write_case(tmp_path)
    (tmp_path / "other.yaml").write_text(
        SCENARIO.replace("SEV", "0.35").replace("name: synthetic", "name: synthetic-two")
    )
    spec = tmp_path / "two.yaml"
    spec.write_text(
        CALIBRATION.replace("GEN", "2").replace(
            "  - file: synthetic.yaml\n", "  - file: synthetic.yaml\n  - file: other.yaml\n"
        ).replace(
            "    paths: [events.call-0.severity, events.call-1.severity, events.call-2.severity]",
            "    paths: [events.call-0.severity]\n    scenarios: [synthetic-two]",
        )
    )  # fmt: skip
    problem = build_problem(load_calibration(spec), tmp_path)
    first, second = problem.scenarios
    values = {"severity": 0.8, "parameters.hazard_base": 0.1}
    severity = next(p for p in problem.priors if p.name == "severity")
    assert severity.scenarios == ("synthetic-two",)
    assert apply_values(first, problem.priors, values).events[0].severity == 0.25
    assert apply_values(second, problem.priors, values).events[0].severity == 0.8
    assert (
        apply_values(first, problem.priors, values, as_name="synthetic-two").events[0].severity
        == 0.8
    )
    assert problem.scenario_values()["severity"] == 0.35  # the value in synthetic-two
    spec.write_text(spec.read_text().replace("scenarios: [synthetic-two]", "scenarios: [nope]"))
    with pytest.raises(CalibrationError, match="no scenario named nope"):
        build_problem(load_calibration(spec), tmp_path)
