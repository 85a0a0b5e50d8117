"""The dashboard's pages rendered in-process with Solara (no browser): what they show and how
the controls change the tab's state. The same pages in a real Chromium: tests/browser/."""

from __future__ import annotations

from pathlib import Path

import ipyvuetify as v
import ipywidgets as widgets
import pytest
import solara

from cstosim.language.parameters import Parameters
from cstosim.views.dashboard import state
from cstosim.views.dashboard.app import Layout, routes
from cstosim.views.dashboard.counterfactual_page import CounterfactualPage, PairedView, run_pair
from cstosim.views.dashboard.ensemble_page import EnsemblePage, EnsembleView, run_baseline
from cstosim.views.dashboard.panel import ScenarioPanel, css_name
from cstosim.views.dashboard.replicate_page import ReplicatePage
from cstosim.views.dashboard.settings import RunOptions, Settings

ROOT = Path(__file__).resolve().parents[1]
TRIAD = str(ROOT / "scenarios" / "example-triad.yaml")
ANSWERED = str(ROOT / "scenarios" / "csto-cf-armenia-answered.yaml")


@pytest.fixture(autouse=True)
def fresh_state():
    """Outside a server the module-level reactives are global: start each test afresh."""
    saved = (state.baseline.value, state.counterfactual.value, state.options.value)
    state.baseline.set(Settings(path=TRIAD))
    state.counterfactual.set(Settings(path=TRIAD))
    state.options.set(RunOptions(30, 5))
    state.ensemble.set(None)
    state.paired.set(None)
    yield
    state.baseline.set(saved[0])
    state.counterfactual.set(saved[1])
    state.options.set(saved[2])
    state.ensemble.set(None)
    state.paired.set(None)


def texts(rc) -> list[str]:
    spans = rc.find(v.Html, tag="span").widgets
    return [str(c) for w in spans for c in w.children if isinstance(c, str)]


def with_class(root, css: str) -> list:
    """Every widget under ``root`` whose CSS classes include ``css``."""
    found = []
    if css in str(getattr(root, "class_", "") or "").split():
        found.append(root)
    for child in getattr(root, "children", None) or []:
        if hasattr(child, "keys"):
            found += with_class(child, css)
    return found


def slider(root, key: str):
    (column,) = with_class(root, f"slider-{css_name(key)}")
    return next(c for c in column.children if isinstance(c, v.Slider))


def html_of(rc) -> str:
    return "\n".join(w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets)


def test_ensemble_page_before_and_after_a_run() -> None:
    _box, rc = solara.render(solara.AppLayout(children=[EnsemblePage()]), handle_error=False)
    rc.find(v.Btn, children=["Run"]).assert_single()
    assert "cstosim run scenarios/example-triad.yaml --replicates 30 --seed 5" in html_of(rc)
    assert run_baseline() == ()
    ens = state.ensemble.value
    assert ens is not None and ens.replicates == 30 and ens.seed == 5
    assert any(t.startswith("Cohesion in 2022-12: median") for t in texts(rc))
    assert len(rc.find(widgets.Image).widgets) == 2
    assert 'class="cstosim-table cstosim-rungs"' in html_of(rc)
    rc.close()


def test_a_run_with_an_impossible_slider_combination_reports_it() -> None:
    state.baseline.set(Settings(path=TRIAD).moved("parameters.threshold_statements", 0.9, 0.1))
    problems = run_baseline()
    assert (
        problems
        and "increasing order" in problems[0]
        and "threshold_statements = 0.9" in problems[0]
    )
    assert state.ensemble.value is None


def test_ensemble_view_alone() -> None:
    state.baseline.set(Settings(path=TRIAD))
    run_baseline()
    assert state.ensemble.value is not None
    _box, rc = solara.render(EnsembleView(state.ensemble.value), handle_error=False)
    assert len(rc.find(widgets.Image).widgets) == 2
    rc.close()


def test_sliders_move_the_settings_and_show_the_scenario_value() -> None:
    settings = solara.reactive(Settings(path=TRIAD))
    box, rc = solara.render(ScenarioPanel(settings, "A", "css-a"), handle_error=False)
    assert rc.find(v.Slider).widgets == []  # sections are closed: no slider is made
    rc.find(v.Btn, children=["▸ Model-wide parameters"]).widget.click()
    sliders = rc.find(v.Slider).widgets
    assert len(sliders) == len(Parameters.model_fields)
    key = "parameters.hazard_base"
    hazard = slider(box, key)
    assert hazard.max == 1 and hazard.min == 0 and hazard.step == pytest.approx(0.01)
    hazard.v_model = 0.5
    assert settings.value.sets == ("parameters.hazard_base=0.5",)
    assert "hazard_base = 0.5  (scenario: 0.05)" in slider(box, key).label
    assert "1 slider moved" in texts(rc)
    rc.find(v.Btn, children=["Reset sliders"]).widget.click()
    assert settings.value.overrides == ()
    # a member's sliders
    rc.find(v.Btn, children=["▸ A member's fields"]).widget.click()
    rc.find(v.Select, label="Member").widget.v_model = "BRV"
    assert settings.value.member == "BRV"
    slider(box, "members.BRV.threats.AGG").v_model = 0.2
    assert settings.value.sets == ("members.BRV.threats.AGG=0.2",)
    # a filter that matches nothing
    rc.find(v.TextField, label="filter parameters").widget.v_model = "zzz"
    assert "no slider matches 'zzz'" in texts(rc)
    rc.close()


def test_picking_and_typing_a_scenario(tmp_path: Path) -> None:
    settings = solara.reactive(Settings(path=TRIAD))
    _box, rc = solara.render(ScenarioPanel(settings, "A", "css-a"), handle_error=False)
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "csto-2022-2023"
    assert settings.value.path.endswith("csto-2022-2023.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: 1\nname: [unclosed\n")
    rc.find(v.TextField, label="…or a scenario file on disk").widget.v_model = str(broken)
    rc.find(v.Btn, children=["Open"]).widget.click()
    assert settings.value.path == str(broken)
    shown = html_of(rc)
    assert f"{broken}:3:1: YAML syntax error" in shown
    assert any("does not load" in t for t in texts(rc))
    revision = settings.value.revision
    rc.find(v.Btn, children=["Reload"]).widget.click()
    assert settings.value.revision == revision + 1
    rc.close()


def test_options_are_clipped_as_typed() -> None:
    _box, rc = solara.render(solara.AppLayout(children=[EnsemblePage()]), handle_error=False)
    for label, typed in (("Replicates", "0"), ("Root seed", "-12")):
        field = rc.find(v.TextField, label=label).widget
        field.v_model = typed
        field.fire_event("focusout", None)
    assert state.options.value == RunOptions(1, 12)
    rc.close()


def test_counterfactual_page_shows_the_paired_difference() -> None:
    _box, rc = solara.render(solara.AppLayout(children=[CounterfactualPage()]), handle_error=False)
    rc.find(v.Btn, children=["Run A and B"]).assert_single()
    state.counterfactual.set(Settings(path=TRIAD).moved("parameters.weight_outside", 4.0, 1.0))
    assert run_pair() == ()
    p = state.paired.value
    assert p is not None and p.difference["median"].iloc[-1] < 0
    assert any(
        t.startswith("B − A, cohesion in 2022-12: median −") or "median -" in t for t in texts(rc)
    )
    assert 'class="cstosim-table cstosim-changes"' in html_of(rc)
    rc.find(v.Btn, children=["B = copy of A"]).widget.click()
    assert state.counterfactual.value == state.baseline.value
    rc.close()


def test_counterfactual_problems_name_the_side() -> None:
    state.counterfactual.set(Settings(path="/nonexistent.yaml"))
    problems = run_pair()
    assert problems and problems[0].startswith("[B] /nonexistent.yaml:1:1: file not found")
    assert state.paired.value is None


def test_paired_view_alone() -> None:
    state.counterfactual.set(Settings(path=TRIAD).moved("parameters.weight_outside", 4.0, 1.0))
    run_pair()
    assert state.paired.value is not None
    _box, rc = solara.render(PairedView(state.paired.value), handle_error=False)
    assert len(rc.find(widgets.Image).widgets) == 1
    rc.close()


def test_replicate_page_steps_a_mesa_model() -> None:
    _box, rc = solara.render(solara.AppLayout(children=[ReplicatePage()]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"])
    step.assert_single()
    images = rc.find(widgets.Image).widgets
    assert len(images) == 3  # network, model reporters, alignment
    before = images[0].value
    step.widget.click()
    step.widget.click()
    assert rc.find(widgets.Image).widgets[0].value != before
    assert any("Time: 2" in t for t in texts(rc))
    rc.close()


def test_replicate_page_with_a_broken_scenario() -> None:
    state.baseline.set(Settings(path="/nonexistent.yaml"))
    _box, rc = solara.render(solara.AppLayout(children=[ReplicatePage()]), handle_error=False)
    assert "file not found" in html_of(rc)
    rc.close()


def test_layout_names_every_page() -> None:
    assert [r.label for r in routes] == ["Ensemble", "Counterfactual", "One replicate"]
    page = solara.RoutingProvider(
        children=[Layout(children=[solara.Text("page")])], routes=routes, pathname="/"
    )
    _box, rc = solara.render(page, handle_error=False)
    assert "page" in texts(rc)
    rc.close()
