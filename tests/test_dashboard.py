"""The dashboard's logic without a browser: scenarios, sliders, settings, ensembles, pairing,
figures, tables, the stepped replicate and the ``app`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from cstosim.engine.vector import run_chunk
from cstosim.language.loader import load_scenario
from cstosim.language.parameters import Parameters
from cstosim.views.dashboard import catalogue, controls, ensemble, figures, network, paired, tables
from cstosim.views.dashboard.settings import MAX_REPLICATES, RunOptions, Settings
from cstosim.views.dashboard.stepped import SteppedAlliance, replicate_seed

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
TRIAD = SCENARIOS / "example-triad.yaml"
ESSAY = SCENARIOS / "csto-2022-2023.yaml"
ANSWERED = SCENARIOS / "csto-cf-armenia-answered.yaml"

BROKEN = """\
schema_version: 1
name: broken
title: A broken scenario
sources: {s: {title: t}}
calendar: {start: 2020-01, end: 2020-06}
members:
  LDR: {name: Leader, joined: 2000-01, leading: true, dependence: 1.5}
"""


@pytest.fixture(scope="module")
def triad():
    return load_scenario(TRIAD)


@pytest.fixture(scope="module")
def triad_ensemble(triad):
    return ensemble.run_ensemble(triad, 7, 40)


# --- catalogue ---------------------------------------------------------------------------------


def test_shipped_scenarios_are_the_project_files() -> None:
    shipped = catalogue.shipped_scenarios()
    assert {"csto-2022-2023", "example-triad"} <= set(shipped)
    assert shipped["example-triad"] == TRIAD
    assert list(shipped) == sorted(shipped)
    assert catalogue.default_scenario() == str(ESSAY)


def test_scenario_folder_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(catalogue.SCENARIOS_ENV, str(tmp_path))
    assert catalogue.shipped_scenarios() == {}
    assert catalogue.default_scenario() == ""
    (tmp_path / "mine.yaml").write_text(TRIAD.read_text())
    assert catalogue.default_scenario() == str(tmp_path / "mine.yaml")
    assert catalogue.shipped_scenarios(tmp_path / "missing") == {}


def test_open_a_valid_scenario_with_sets() -> None:
    opened = catalogue.open_scenario(str(TRIAD), ["parameters.alignment_noise=0.02"])
    assert opened.ok and opened.problems == ()
    assert opened.scenario is not None
    assert opened.scenario.parameters.alignment_noise == 0.02
    # cached: the same object for the same path, sets and revision; a new revision reads again
    assert catalogue.open_scenario(str(TRIAD), ["parameters.alignment_noise=0.02"]) is opened
    assert catalogue.open_scenario(str(TRIAD), ["parameters.alignment_noise=0.02"], 1) is not opened


def test_a_broken_file_gives_located_problems(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    opened = catalogue.open_scenario(str(path))
    assert not opened.ok
    assert any(
        p.startswith(f"{path}:7:") and "members.LDR.dependence" in p for p in opened.problems
    ), opened.problems


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", "no scenario file"), ("/nonexistent/x.yaml", "file not found")],
)
def test_missing_files_are_problems_not_exceptions(path: str, expected: str) -> None:
    opened = catalogue.open_scenario(path)
    assert not opened.ok
    assert expected in opened.problems[0]


def test_unexpected_failures_are_one_line(monkeypatch) -> None:
    def explode(path, sets):
        raise RuntimeError("boom\non two lines")

    monkeypatch.setattr(catalogue, "load_scenario", explode)
    opened = catalogue.open_scenario("whatever.yaml", revision=99)
    assert opened.problems == ("whatever.yaml: cannot open: RuntimeError: boom on two lines",)
    assert catalogue.one_line(ValueError()) == "ValueError"


def test_display_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert catalogue.display_path(str(TRIAD)) == "scenarios/example-triad.yaml"
    assert catalogue.display_path(str(tmp_path)) == str(tmp_path)
    assert catalogue.display_path("") == ""


# --- controls ----------------------------------------------------------------------------------


def test_bounds_and_steps() -> None:
    assert controls.bounds(Parameters.model_fields["alignment_noise"]) == (0.0, 0.5)
    assert controls.nice_step(0, 0.5) == pytest.approx(0.005)
    assert controls.nice_step(0, 1) == pytest.approx(0.01)
    assert controls.nice_step(0, 100) == pytest.approx(1)
    assert controls.nice_step(0, 365) == pytest.approx(5)
    assert controls.nice_step(-5, 5) == pytest.approx(0.1)
    assert controls.nice_step(1, 1) == 1.0
    assert controls.slider_grid(0, 365, 14) == (0, 1.0)  # 14 is not on the grid of 5
    assert controls.slider_grid(-5, 5, -0.17) == (-5, 0.01)
    assert controls.slider_grid(0, 1, 0.123) == (0, 0.001)
    assert controls.slider_grid(0, 1, 1 / 3) == (0, 0.01)  # on no decimal grid
    spec = controls.SliderSpec("k", "k", 0, 1, 0.01, 1 / 3)
    assert not spec.moved(0.33) and spec.moved(0.32)


def test_a_slider_for_every_parameter(triad) -> None:
    specs = controls.parameter_sliders(triad)
    assert [s.label for s in specs] == list(Parameters.model_fields)
    for spec in specs:
        k = (spec.value - spec.minimum) / spec.step
        assert abs(k - round(k)) < 1e-6, spec  # the browser does not snap it
        name = spec.label
        assert spec.key == f"parameters.{name}"
        assert spec.minimum <= spec.value <= spec.maximum
        assert spec.value == getattr(triad.parameters, name)
        assert spec.description == Parameters.model_fields[name].description
    assert specs[0].clamp(-1) == specs[0].minimum
    assert specs[0].clamp(1e9) == specs[0].maximum


def test_member_sliders(triad) -> None:
    specs = {s.key: s for s in controls.member_sliders(triad, "BRV")}
    assert specs["members.BRV.dependence"].value == 0.5
    assert specs["members.BRV.initial.alignment"].value == 0.7
    assert specs["members.BRV.threats.AGG"].value == 0.8
    weight = specs["members.BRV.initial.credibility_weight"]
    assert weight.minimum > 0  # gt=0: the slider starts one step in
    assert weight.maximum == 1000
    assert "members.BRV.name" not in specs and "members.BRV.leading" not in specs
    assert controls.member_choices(triad) == ["LDR", "ALP", "BRV"]
    with pytest.raises(KeyError):
        controls.member_sliders(triad, "NOPE")


def test_slider_moves_are_set_options_the_loader_accepts() -> None:
    assert controls.format_value(0.1 + 0.2) == "0.3"
    assert controls.format_value(1) == "1.0"
    sets = controls.as_sets({"parameters.hazard_base": 0.1 + 0.2, "members.BRV.dependence": 1})
    assert sets == ("parameters.hazard_base=0.3", "members.BRV.dependence=1.0")
    assert controls.as_sets([("parameters.hazard_base", 0.25)]) == ("parameters.hazard_base=0.25",)
    scenario = load_scenario(TRIAD, sets)
    assert scenario.parameters.hazard_base == 0.3
    assert scenario.members["BRV"].dependence == 1.0
    line = controls.command_line("my file.yaml", sets, 100, 5)
    assert line == (
        "cstosim run 'my file.yaml' --replicates 100 --seed 5 "
        "--set parameters.hazard_base=0.3 --set members.BRV.dependence=1.0"
    )


# --- settings ----------------------------------------------------------------------------------


def test_settings_keep_only_real_moves() -> None:
    s = Settings(path="a.yaml")
    s = s.moved("parameters.hazard_base", 0.2, 0.05)
    s = s.moved("members.BRV.dependence", 0.9, 0.5)
    assert s.sets == ("parameters.hazard_base=0.2", "members.BRV.dependence=0.9")
    assert s.value("parameters.hazard_base", 0.05) == 0.2
    assert s.value("parameters.other", 0.5) == 0.5
    back = s.moved("parameters.hazard_base", 0.05 + 1e-12, 0.05)
    assert back.sets == ("members.BRV.dependence=0.9",)
    assert s.reset("members.").sets == ("parameters.hazard_base=0.2",)
    assert s.reset().overrides == ()
    other = s.with_member("BRV").with_path("b.yaml")
    assert other == Settings(path="b.yaml", revision=1)
    assert s.reloaded().revision == 1 and s.reloaded().overrides == s.overrides


def test_run_options_are_clipped() -> None:
    assert RunOptions(0, -3).valid() == RunOptions(1, 3)
    assert RunOptions(10**9, 5).valid().replicates == MAX_REPLICATES


# --- ensemble ----------------------------------------------------------------------------------


def test_ensemble_tables_and_bands(triad, triad_ensemble) -> None:
    e = triad_ensemble
    months = len(e.dates)
    assert months == 36 and e.last_date == pd.Timestamp("2022-12-01")
    assert len(e.model) == 40 * months
    q = ensemble.band(e.model)
    assert list(q.columns) == list(ensemble.QUANTILES)
    assert len(q) == months
    ordered = q.to_numpy()
    assert np.all(np.diff(ordered, axis=1) >= -1e-12)
    assert "Cohesion in 2022-12: median" in ensemble.headline(e)
    assert "40 replicates, seed 7" in ensemble.headline(e)


def test_quantiles_of_a_known_table() -> None:
    wide = pd.DataFrame([np.arange(101.0)], index=[pd.Timestamp("2020-01-01")])
    q = ensemble.quantiles(wide).iloc[0]
    assert q["median"] == 50 and q["q05"] == 5 and q["q95"] == 95


def test_engagement_shares_sum_to_one(triad_ensemble) -> None:
    shares = ensemble.engagement_shares(triad_ensemble.members)
    states = ["active", "disengaged", "frozen", "exited", "absent"]
    assert list(shares.columns) == ["date", "member", *states]
    assert np.allclose(shares[states].sum(axis=1), 1.0)
    rungs = ensemble.final_rungs(triad_ensemble.members, ["BRV", "ALP", "LDR"])
    assert list(rungs.index) == ["BRV", "ALP", "LDR"]
    assert "absent" not in rungs.columns
    assert np.allclose(rungs[["active", "disengaged", "frozen", "exited"]].sum(axis=1), 1.0)
    worse = rungs[["disengaged", "frozen", "exited"]].sum(axis=1)
    assert np.allclose(rungs["disengaged or worse"], worse)


def test_an_ensemble_needs_a_replicate(triad) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ensemble.run_ensemble(triad, 1, 0)


# --- paired ------------------------------------------------------------------------------------


def test_a_scenario_against_itself_differs_by_exactly_zero(triad, triad_ensemble) -> None:
    again = ensemble.run_ensemble(triad, 7, 40)
    p = paired.pair(triad_ensemble, again)
    assert (p.per_replicate.to_numpy() == 0).all()
    assert (p.difference.to_numpy() == 0).all()
    assert (p.rungs["change"] == 0).all()
    assert "median +0.000" in paired.headline(p)


def test_the_difference_is_paired_replicate_by_replicate(triad, triad_ensemble) -> None:
    moved = load_scenario(TRIAD, ["parameters.weight_outside=4.0"])
    b = ensemble.run_ensemble(moved, 7, 40)
    p = paired.pair(triad_ensemble, b)
    a_wide = ensemble.by_replicate(triad_ensemble.model, "cohesion")
    b_wide = ensemble.by_replicate(b.model, "cohesion")
    assert np.array_equal(p.per_replicate.to_numpy(), (b_wide - a_wide).to_numpy())
    assert p.difference["median"].iloc[-1] < 0  # a stronger outside pull lowers cohesion
    assert set(p.rungs.columns) == {"member", "rung", "p_a", "p_b", "change"}
    assert list(dict.fromkeys(p.rungs["member"])) == ["LDR", "ALP", "BRV"]
    top = paired.largest_changes(p, 3)
    assert len(top) <= 3 and "disengaged or worse" not in set(top["rung"])
    assert list(top["change"].abs()) == sorted(top["change"].abs(), reverse=True)


def test_unpaired_ensembles_are_refused(triad, triad_ensemble) -> None:
    with pytest.raises(paired.NotPaired, match="seed"):
        paired.pair(triad_ensemble, ensemble.run_ensemble(triad, 8, 40))
    a = pd.DataFrame({"replicate": [0], "date": [pd.Timestamp("2020-01-01")], "cohesion": [0.5]})
    b = a.assign(date=[pd.Timestamp("2021-01-01")])
    with pytest.raises(paired.NotPaired, match="no month in common"):
        paired.paired_difference(a, b, "cohesion")


# --- figures, network, tables --------------------------------------------------------------------


def test_ensemble_figures(triad_ensemble) -> None:
    for make in (figures.cohesion_figure, figures.engagement_figure):
        fig = make(triad_ensemble)
        assert isinstance(fig, Figure) and fig.axes


def test_difference_figure_marks_the_events_that_differ() -> None:
    a, b = load_scenario(ESSAY), load_scenario(ANSWERED)
    markers = figures.changed_markers(a, b)
    assert markers and all(m.label.startswith(("B: ", "A only: ")) for m in markers)
    assert len(figures.changed_markers(a, a)) == len(a.events) + len(a.observations)
    p = paired.pair(ensemble.run_ensemble(a, 3, 20), ensemble.run_ensemble(b, 3, 20))
    assert isinstance(figures.difference_figure(p), Figure)


def test_network_figure_of_a_stepped_replicate(triad) -> None:
    model = SteppedAlliance(triad, 7, 0)
    assert "initial state" in network.month_title(model)
    assert isinstance(network.network_figure(model), Figure)
    for _ in range(18):
        model.step()
    assert network.month_title(model).startswith("example-triad · 2021-06 · cohesion ")
    assert isinstance(network.network_figure(model), Figure)
    xy, outer = network.positions(3, 0, 2)
    assert np.allclose(xy[0], 0) and np.allclose(np.hypot(*xy[1:].T), 1)
    assert np.allclose(np.hypot(*outer.T), 1.75)


def test_percent_and_points() -> None:
    assert [tables.percent(p) for p in (0, 0.001, 0.734, 0.999, 1)] == [
        "0 %",
        "<1 %",
        "73 %",
        ">99 %",
        "100 %",
    ]
    assert [tables.points(c) for c in (0, 0.001, -0.001, 0.48, -0.03)] == [
        "0",
        "+<1 pt",
        "−<1 pt",
        "+48 pt",
        "−3 pt",
    ]


def test_tables_are_escaped_html(triad, triad_ensemble) -> None:
    rungs = ensemble.final_rungs(triad_ensemble.members, list(triad.members))
    rungs.index = ["<b>X</b>", *rungs.index[1:]]
    text = tables.rung_table_html(rungs, triad, "2022-12")
    assert "&lt;b&gt;X&lt;/b&gt;" in text and "ALP · Alpha" in text
    assert "member (2022-12)" in text
    changes = pd.DataFrame(
        {
            "member": ["ALP", "ALP", "ZZZ"],
            "rung": ["active", "exited", "active"],
            "p_a": [0.5, 0.1, 1.0],
            "p_b": [0.9, 0.0, 1.0],
            "change": [0.4, -0.1, 0.0],
        }
    )
    text = tables.change_table_html(changes, triad)
    assert 'class="num up">+40 pt' in text and 'class="num down">−10 pt' in text
    assert "<th>ZZZ</th>" in text


# --- the stepped replicate -----------------------------------------------------------------------


def test_the_stepped_replicate_is_that_replicate_of_the_ensemble(triad) -> None:
    model_df, _, _ = run_chunk(triad, 11, [3])
    model = SteppedAlliance(triad, root_seed=11, replicate=3)
    model.run()
    collected = model.datacollector.get_model_vars_dataframe()
    assert np.array_equal(collected["cohesion"].to_numpy(), model_df["cohesion"].to_numpy())
    assert model.replicate == 3 and model.root_seed == 11
    assert triad.parameters == load_scenario(TRIAD).parameters  # the caller's object unchanged
    with pytest.raises(ValueError, match="replicate"):
        replicate_seed(1, -1)


# --- the command ---------------------------------------------------------------------------------


def test_app_command_help_and_port() -> None:
    from cstosim.commands.app import app, free_port

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "127.0.0.1" in result.output
    assert 0 < free_port() < 65536
    assert CliRunner().invoke(app, ["--port", "70000"]).exit_code == 2


def test_app_command_serves_the_dashboard(monkeypatch) -> None:
    import uvicorn

    from cstosim.commands import app as command

    # valid values that the test restores afterwards (the command sets some of them)
    for key, value in {
        "SOLARA_APP": "other",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "1",
        "SOLARA_MODE": "production",
        "SOLARA_THEME_SHOW_BANNER": "false",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    }.items():
        monkeypatch.setenv(key, value)
    served = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: served.append(self.config))
    opened = []
    monkeypatch.setattr(command.webbrowser, "open", opened.append)
    result = CliRunner().invoke(command.app, ["--port", "0", "--open"])
    assert result.exit_code == 0, result.output
    config = served[0]
    assert config.host == "127.0.0.1" and config.port > 0
    assert result.output.startswith(f"cstosim dashboard at http://127.0.0.1:{config.port}/")
    assert opened == [f"http://127.0.0.1:{config.port}/"]
    assert os.environ["SOLARA_APP"] == "cstosim.views.dashboard.app"


def test_app_command_says_which_extra_is_missing(monkeypatch) -> None:
    from cstosim.commands.app import app

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1
    assert "pip install -e '.[viz]'" in result.output
