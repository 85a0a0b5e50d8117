"""Per-tab state of the dashboard: Solara reactive variables.

A ``solara.reactive`` made at module level holds one value *per browser tab* (per Solara
kernel), so two tabs never see each other's choices or results. Only immutable settings and
finished results live here; no Mesa model does (a model made at module level would be shared by
every tab): the stepped replicate is made inside its page component.
"""

from __future__ import annotations

import solara

from cstosim.views.dashboard.catalogue import default_scenario
from cstosim.views.dashboard.ensemble import Ensemble
from cstosim.views.dashboard.paired import Paired
from cstosim.views.dashboard.settings import RunOptions, Settings

baseline: solara.Reactive[Settings] = solara.reactive(Settings(path=default_scenario()))
"""Scenario A: the one the ensemble page runs and the stepped replicate shows."""

counterfactual: solara.Reactive[Settings] = solara.reactive(Settings(path=default_scenario()))
"""Scenario B of the counterfactual page (starts as a copy of A: move sliders or pick another)."""

options: solara.Reactive[RunOptions] = solara.reactive(RunOptions())
"""Replicates and root seed, shared by A and B so that they are paired."""

ensemble: solara.Reactive[Ensemble | None] = solara.reactive(None)
"""The last ensemble run on the ensemble page."""

paired: solara.Reactive[Paired | None] = solara.reactive(None)
"""The last comparison run on the counterfactual page."""
