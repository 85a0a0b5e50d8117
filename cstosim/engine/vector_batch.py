"""Variants of one scenario stepped together: values per replicate in one :class:`VectorRun`.

A calibration runs the same scenario with many parameter values (particles). The vectorised
engine holds what no draw changes once for all replicates; here some of those numbers may
instead differ from replicate to replicate, so that many variants of a scenario (each with its
own replicates) are stepped in *one* run. The equations are those of the engine; only the shape
of a few inputs changes (one value per replicate instead of one for all):

* model-wide coefficients of :data:`PER_REPLICATE_PARAMETERS` (used only element-wise on
  (replicates, members) arrays), as (replicates, 1) columns;
* credibility priors (``members.X.initial.credibility`` and its weight): ``alpha0``/``beta0``
  and the initial ``alpha``/``beta``;
* ties (``members.X.ties.Y``, ``actors.X.ties.Y``): (replicates, sources, members);
* the severity of invocations (``events.ID.severity``), one per replicate.

Variants that differ in anything else, or whose parameter shocks target a coefficient that
differs, raise :class:`NotBatchable` (run them one by one instead). Each replicate's draws are
keyed by its own key and no replicate reads another's state, so a variant's rows in a batch are
bit for bit those of the variant run alone (``tests/test_vector_batch.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cstosim.language.scenario import Invocation, ParameterShock, Scenario
from cstosim.model.state import AllianceState, build_state

Float = NDArray[np.float64]

PER_REPLICATE_PARAMETERS: frozenset[str] = frozenset(
    {
        "hazard_base",
        "hazard_slope",
        "hysteresis",
        "engagement_threshold",
        "engagement_step",
        "exit_drift",
        "weight_exit_cost",
        "renewal_threshold",
        "renewal_slope",
        "renewal_exit_discount",
        "learning_caller",
        "learning_bystander",
        "weight_grievance",
        "weight_security",
        "weight_internal_threat",
        "weight_regime",
        "weight_entrapment",
        "grievance_dissent",
        "value_sensitivity",
    }
)
"""Coefficients that may take one value per replicate (each is only combined element-wise with
(replicates, members) arrays in the engine, so a (replicates, 1) column broadcasts exactly)."""

PER_REPLICATE_STATE: tuple[str, ...] = ("alpha", "beta", "alpha0", "beta0", "ties")
"""Fields of :class:`~cstosim.model.state.AllianceState` that may differ between variants."""


class NotBatchable(ValueError):
    """Variants that differ in something the engine holds once for all replicates."""


@dataclass
class Variation:
    """What differs between replicates: coefficients as (replicates, 1) columns, state fields
    stacked on a first replicate axis, invocation severities per replicate (by event id)."""

    params: dict[str, Float] = field(default_factory=dict)
    state: dict[str, Float] = field(default_factory=dict)
    severity: dict[str, Float] = field(default_factory=dict)


def _state_arrays(state: AllianceState) -> dict[str, Any]:
    return {k: v for k, v in vars(state).items() if k not in ("codes", "actors")}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def variation(variants: Sequence[Scenario], group: NDArray[np.int64]) -> Variation:
    """How ``variants`` differ, spread over replicates (replicate k runs ``variants[group[k]]``).

    Raises :class:`NotBatchable` if they differ in anything but the values listed above.
    """
    base = variants[0]
    out = Variation()
    others = [v for v in variants[1:] if v is not base]
    if not others:
        return out
    skip = {"parameters", "members", "actors", "events"}
    for name in type(base).model_fields:
        if name not in skip and any(getattr(v, name) != getattr(base, name) for v in others):
            raise NotBatchable(f"the variants differ in {name}")
    # coefficients
    dumps = [v.parameters.model_dump() for v in variants]
    shocked = {
        ev.target.split(".")[1]
        for ev in base.events
        if isinstance(ev, ParameterShock) and ev.target.startswith("parameters.")
    }
    for name, value in dumps[0].items():
        if all(d[name] == value for d in dumps[1:]):
            continue
        if name not in PER_REPLICATE_PARAMETERS or name in shocked:
            raise NotBatchable(f"parameters.{name} cannot take one value per replicate")
        column = np.array([float(d[name]) for d in dumps], dtype=np.float64)
        out.params[name] = column[group][:, None]
    # members and actors, through the state the engine builds from them
    states = [_state_arrays(build_state(v)) for v in variants]
    for name, value in states[0].items():
        if all(_same(s[name], value) for s in states[1:]):
            continue
        if name not in PER_REPLICATE_STATE:
            raise NotBatchable(f"the variants differ in the state's {name}")
        out.state[name] = np.stack([np.asarray(s[name], dtype=np.float64) for s in states])[group]
    # events: only an invocation's severity may differ
    if any(len(v.events) != len(base.events) for v in others):
        raise NotBatchable("the variants have different events")
    for k, ev in enumerate(base.events):
        evs = [v.events[k] for v in variants]
        if all(e is ev or e == ev for e in evs[1:]):
            continue
        if not isinstance(ev, Invocation) or any(
            not isinstance(e, Invocation) or e.model_copy(update={"severity": ev.severity}) != ev
            for e in evs[1:]
        ):
            raise NotBatchable(f"the variants differ in event {ev.id} beyond its severity")
        column = np.array([float(e.severity) for e in evs], dtype=np.float64)  # type: ignore[union-attr]
        out.severity[ev.id] = column[group]
    return out
