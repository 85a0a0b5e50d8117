"""The dashboard's Solara app: three pages under one layout.

Serve it with ``cstosim app`` (127.0.0.1, see :mod:`cstosim.commands.app`) or
``solara run cstosim.views.dashboard.app``. Pages:

* ``/`` (:mod:`.ensemble_page`): scenario A, sliders, an ensemble with bands and rung table;
* ``/counterfactual`` (:mod:`.counterfactual_page`): A against B, paired under common random
  numbers;
* ``/replicate`` (:mod:`.replicate_page`): one replicate stepped month by month in Mesa's
  SolaraViz.

Every tab has its own state (:mod:`.state`); nothing here holds a model. Solara's telemetry is
switched off, and with ``solara-assets`` installed (the ``viz`` extra) the page loads nothing from
outside the server.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")

import solara
import solara.lab
import solara.server.settings

from cstosim.views.dashboard.counterfactual_page import CounterfactualPage
from cstosim.views.dashboard.ensemble_page import EnsemblePage
from cstosim.views.dashboard.replicate_page import ReplicatePage

solara.server.settings.telemetry.mixpanel_enable = False
solara.server.settings.theme.show_banner = False
solara.server.settings.theme.title = "cstosim"

TITLE = "cstosim: alliance cohesion"
COLOUR = "#0072B2"


@solara.component
def Layout(children: list[Any] | None = None) -> None:
    """The app bar with a tab per page (labelled), the sidebar and the page."""
    route, all_routes = solara.use_route()
    index = all_routes.index(route) if route in all_routes else 0
    tabs = [
        solara.lab.Tab(r.label or r.path, path_or_route=r, classes=[f"cstosim-nav-{_name(r)}"])
        for r in all_routes
    ]
    bar = solara.AppBar(children=[solara.lab.Tabs(value=index, align="center", children=tabs)])
    solara.AppLayout(children=[bar, *(children or [])], title=TITLE, color=COLOUR)


def _name(route: solara.Route) -> str:
    return route.path.strip("/") or "ensemble"


routes = [
    solara.Route(path="/", component=EnsemblePage, label="Ensemble", layout=Layout),
    solara.Route(path="counterfactual", component=CounterfactualPage, label="Counterfactual"),
    solara.Route(path="replicate", component=ReplicatePage, label="One replicate"),
]
"""Solara's routes (read by ``solara run``)."""
