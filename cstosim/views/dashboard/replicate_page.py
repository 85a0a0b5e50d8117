"""The stepped replicate: Mesa's SolaraViz over one replicate of scenario A, month by month.

The model is made inside the page component (one per tab), from the tab's scenario A with its
sliders and root seed; the replicate slider picks which replicate of the ensemble to show (press
Reset to apply it). Components: the members as a network (:mod:`.network`), the model reporters
(Mesa's ``make_plot_component``) and each member's alignment.
"""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from cstosim.views.dashboard import state
from cstosim.views.dashboard.catalogue import open_scenario
from cstosim.views.dashboard.network import network_figure
from cstosim.views.dashboard.panel import Problems
from cstosim.views.dashboard.stepped import SteppedAlliance
from cstosim.views.plots import member_colours, style

MODEL_MEASURES = {
    "cohesion": "#0072B2",
    "engaged_share": "#009E73",
    "credibility_mean": "#E69F00",
    "consensus_capacity": "#CC79A7",
}
"""Model reporters plotted month by month, with their colours (Okabe–Ito)."""


@solara.component
def NetworkView(model: SteppedAlliance) -> None:
    """The members as a network at the month just stepped."""
    update_counter.get()
    with solara.Column(classes=["cstosim-network"]):
        solara.FigureMatplotlib(network_figure(model), format="png", dpi=100)


def alignment_figure(model: SteppedAlliance) -> Figure:
    """Each member's alignment so far, one line per member in its colour."""
    codes = list(model.spec.members)
    colours = member_colours(codes)
    with style():
        fig = Figure(figsize=(5.6, 3.4))
        ax = fig.add_subplot()
        if model.t > 0:  # Mesa's agent table has no rows before the first step
            frame = model.datacollector.get_agent_vars_dataframe().reset_index()
            wide = frame.pivot(index="Step", columns="member", values="alignment")
            for code in codes:
                if code in wide:
                    colour, dash = colours[code]
                    ax.plot(wide.index, wide[code], color=colour, ls=dash, lw=1.2, label=code)
            ax.legend(loc="lower left", ncols=min(len(codes), 5), frameon=False)
        ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("month (step)")
        ax.set_ylabel("alignment")
        ax.set_title(f"{model.spec.name}: alignment, replicate {model.replicate}", loc="left")
        fig.tight_layout()
    return fig


@solara.component
def AlignmentView(model: SteppedAlliance) -> None:
    update_counter.get()
    solara.FigureMatplotlib(alignment_figure(model), format="png", dpi=100)


@solara.component
def ReplicatePage() -> None:
    """Route ``/replicate``: one replicate of scenario A in Mesa's SolaraViz."""
    solara.Title("cstosim · one replicate")
    settings = state.baseline.value
    options = state.options.value.valid()
    opened = open_scenario(settings.path, settings.sets, settings.revision)
    scenario = opened.scenario

    def make() -> SteppedAlliance | None:
        return None if scenario is None else SteppedAlliance(scenario, options.seed, 0)

    model = solara.use_memo(make, [settings, options.seed])
    if scenario is None or model is None:
        Problems(opened.problems, "Scenario A does not load (choose it on the Ensemble page):")
        return
    params: dict[str, Any] = {
        "spec": scenario,
        "root_seed": options.seed,
        "replicate": {
            "type": "SliderInt",
            "value": 0,
            "label": "Replicate (press Reset to show it)",
            "min": 0,
            "max": max(options.replicates - 1, 1),
            "step": 1,
        },
    }
    SolaraViz(
        model,
        components=[
            (NetworkView, 0),
            make_plot_component(MODEL_MEASURES),
            (AlignmentView, 0),
        ],
        model_params=params,
        name=f"cstosim · {scenario.name} · one replicate, month by month",
    )
