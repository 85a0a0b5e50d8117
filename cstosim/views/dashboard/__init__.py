"""The browser dashboard (``cstosim app``): Solara pages over the engines, one idea per module.

Logic that needs no browser (tested in ``tests/test_dashboard*.py``):

* :mod:`.catalogue`: the shipped scenarios and opening a file with located errors;
* :mod:`.controls`: sliders from the declared ranges of parameters and member fields;
* :mod:`.settings`: what one tab has chosen (scenario, slider moves, replicates, seed);
* :mod:`.ensemble`: run an ensemble with the vector engine and summarise it (bands, shares,
  the rung table);
* :mod:`.paired`: the paired difference of two ensembles under common random numbers;
* :mod:`.figures` and :mod:`.network`: matplotlib figures of an ensemble, a comparison and one
  model's month;
* :mod:`.stepped`: the Mesa ``AllianceModel`` of one replicate of an ensemble, for SolaraViz.

Pages (Solara components): :mod:`.state` (per-tab reactive state), :mod:`.panel` (scenario and
sliders), :mod:`.ensemble_page`, :mod:`.counterfactual_page`, :mod:`.replicate_page` and
:mod:`.app` (the routes, served by ``cstosim app`` or ``solara run cstosim.views.dashboard.app``).
"""
