"""The counterfactual page: scenario A against scenario B, paired replicate by replicate.

B is another scenario (e.g. ``csto-cf-armenia-answered``) or A with moved sliders ("B = copy of
A" then move them). Both run with the same root seed and replicate count, so replicate k of A and
of B drew the same random numbers and ``B_k − A_k`` isolates what differs.
"""

from __future__ import annotations

import solara
import solara.lab

from cstosim.views.dashboard import state
from cstosim.views.dashboard.catalogue import one_line, open_scenario
from cstosim.views.dashboard.ensemble import run_ensemble
from cstosim.views.dashboard.ensemble_page import FIGURE_DPI
from cstosim.views.dashboard.figures import difference_figure
from cstosim.views.dashboard.paired import Paired, headline, pair
from cstosim.views.dashboard.panel import Heading, Problems, RunOptionsPanel, ScenarioPanel
from cstosim.views.dashboard.tables import TABLE_CSS, change_table_html


def run_pair() -> tuple[str, ...]:
    """Run A and B with one seed, pair them and store the comparison; return any problems."""
    options = state.options.value.valid()
    problems: list[str] = []
    scenarios = []
    for side, settings in (("A", state.baseline.value), ("B", state.counterfactual.value)):
        opened = open_scenario(settings.path, settings.sets, settings.revision)
        if opened.scenario is None:
            problems += [f"[{side}] {line}" for line in opened.problems]
        scenarios.append(opened.scenario)
    if problems:
        return tuple(problems)
    a, b = (run_ensemble(s, options.seed, options.replicates) for s in scenarios if s is not None)
    state.paired.set(pair(a, b))
    return ()


@solara.component
def PairedView(paired: Paired) -> None:
    """Headline, difference band chart, rung probabilities in A and B."""
    solara.Text(headline(paired), classes=["cstosim-difference-headline"])
    a, b = paired.a.scenario, paired.b.scenario
    solara.Text(f"A: {a.name} ({a.title}) · B: {b.name} ({b.title})", style={"font-size": "13px"})
    figure = solara.use_memo(lambda: difference_figure(paired), [paired])
    with solara.Column(classes=["cstosim-difference"]):
        solara.FigureMatplotlib(figure, dependencies=[paired], format="png", dpi=FIGURE_DPI)
    month = f"{paired.difference.index[-1]:%Y-%m}"
    Heading(f"Engagement in {month}: A, B and the change B − A")
    solara.HTML(unsafe_innerHTML=change_table_html(paired.rungs, a))


@solara.component
def CounterfactualPage() -> None:
    """Route ``/counterfactual``: the paired difference B − A."""
    solara.Title("cstosim · counterfactual")
    solara.Style(TABLE_CSS)
    task = solara.lab.use_task(run_pair, dependencies=None, raise_error=False)
    with solara.Sidebar():
        with solara.lab.Tabs(grow=True):
            with solara.lab.Tab("A: baseline", classes=["cstosim-tab-a"]):
                ScenarioPanel(state.baseline, "Scenario A", "cstosim-scenario-a")
            with solara.lab.Tab("B: counterfactual", classes=["cstosim-tab-b"]):
                solara.Button(
                    "B = copy of A",
                    on_click=lambda: state.counterfactual.set(state.baseline.value),
                    text=True,
                    classes=["cstosim-copy-a"],
                )
                ScenarioPanel(state.counterfactual, "Scenario B", "cstosim-scenario-b")
        RunOptionsPanel(state.options)
    with solara.Column(classes=["cstosim-counterfactual-page"]):
        with solara.Row(style={"align-items": "center"}):
            solara.Button(
                "Run A and B",
                on_click=task,
                disabled=task.pending,
                color="primary",
                classes=["cstosim-run-pair"],
            )
            if task.pending:
                solara.Text("running…")
        solara.ProgressLinear(task.pending)
        if task.error and task.exception is not None:
            Problems([one_line(task.exception)], "The run failed:")
        elif task.finished and task.value:
            Problems(task.value, "A scenario with these sliders does not load:")
        paired = state.paired.value
        if paired is None:
            solara.Info(
                "Pick scenario B (another file, or a copy of A with sliders moved) and press "
                "Run A and B: both run with the same seed, replicate by replicate."
            )
        else:
            PairedView(paired)
