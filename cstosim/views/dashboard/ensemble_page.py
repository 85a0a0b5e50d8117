"""The ensemble page: scenario A with its sliders, Run, the band chart, shares and rung table."""

from __future__ import annotations

import html

import solara
import solara.lab

from cstosim.views.dashboard import state
from cstosim.views.dashboard.catalogue import display_path, one_line, open_scenario
from cstosim.views.dashboard.controls import command_line
from cstosim.views.dashboard.ensemble import Ensemble, final_rungs, headline, run_ensemble
from cstosim.views.dashboard.figures import cohesion_figure, engagement_figure
from cstosim.views.dashboard.panel import Heading, Problems, RunOptionsPanel, ScenarioPanel
from cstosim.views.dashboard.tables import TABLE_CSS, rung_table_html

FIGURE_DPI = 110
"""Resolution of the figures sent to the browser (PNG)."""


def run_baseline() -> tuple[str, ...]:
    """Run scenario A with the tab's sliders; store the ensemble; return problems, if any."""
    settings = state.baseline.value
    options = state.options.value.valid()
    opened = open_scenario(settings.path, settings.sets, settings.revision)
    if opened.scenario is None:
        return opened.problems
    state.ensemble.set(run_ensemble(opened.scenario, options.seed, options.replicates))
    return ()


@solara.component
def Command() -> None:
    """The command line that runs the same ensemble, and the slider moves as ``--set``."""
    s, o = state.baseline.value, state.options.value.valid()
    text = command_line(display_path(s.path), s.sets, o.replicates, o.seed)
    solara.HTML(
        tag="pre",
        unsafe_innerHTML=html.escape(text),
        classes=["cstosim-command"],
        style="white-space: pre-wrap; font-size: 12px; background: #f4f4f4; padding: 6px;",
    )


@solara.component
def EnsembleView(ensemble: Ensemble) -> None:
    """Headline, cohesion bands with events, engagement shares, rung probabilities."""
    solara.Text(headline(ensemble), classes=["cstosim-headline"])
    cohesion = solara.use_memo(lambda: cohesion_figure(ensemble), [ensemble])
    shares = solara.use_memo(lambda: engagement_figure(ensemble), [ensemble])
    with solara.Column(classes=["cstosim-cohesion"]):
        solara.FigureMatplotlib(cohesion, dependencies=[ensemble], format="png", dpi=FIGURE_DPI)
    Heading(f"Engagement at the end ({ensemble.last_date:%Y-%m})")
    rungs = final_rungs(ensemble.members, list(ensemble.scenario.members))
    solara.HTML(
        unsafe_innerHTML=rung_table_html(rungs, ensemble.scenario, f"{ensemble.last_date:%Y-%m}")
    )
    Heading("Engagement shares per member, month by month")
    with solara.Column(classes=["cstosim-engagement"]):
        solara.FigureMatplotlib(shares, dependencies=[ensemble], format="png", dpi=FIGURE_DPI)


@solara.component
def EnsemblePage() -> None:
    """Route ``/``: run scenario A as an ensemble."""
    solara.Title("cstosim · ensemble")
    solara.Style(TABLE_CSS)
    task = solara.lab.use_task(run_baseline, dependencies=None, raise_error=False)
    with solara.Sidebar():
        ScenarioPanel(state.baseline, "Scenario", "cstosim-scenario-a")
        RunOptionsPanel(state.options)
    with solara.Column(classes=["cstosim-ensemble-page"]):
        with solara.Row(style={"align-items": "center"}):
            solara.Button(
                "Run",
                on_click=task,
                disabled=task.pending,
                color="primary",
                classes=["cstosim-run"],
            )
            if task.pending:
                solara.Text("running…", classes=["cstosim-running"])
        Command()
        solara.ProgressLinear(task.pending)
        if task.error and task.exception is not None:
            Problems([one_line(task.exception)], "The run failed:")
        elif task.finished and task.value:
            Problems(task.value, "The scenario with these sliders does not load:")
        ensemble = state.ensemble.value
        if ensemble is None:
            solara.Info("Choose a scenario, move sliders if you like, and press Run.")
        else:
            EnsembleView(ensemble)
