"""Sliders from the scenario language: each with the range its pydantic field declares.

A slider is named by the ``--set`` path it changes (``parameters.alignment_noise``,
``members.KAZ.dependence``, ``members.ARM.initial.alignment``, ``members.ARM.threats.AZE``), so
a tab's slider moves become ``--set path=value`` overrides that the scenario loader validates like
any other (and that ``cstosim run`` accepts as they are: see :func:`command_line`).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo

from cstosim.language.parameters import Parameters
from cstosim.language.scenario import InitialState, Member, Scenario

THREAT_RANGE = (0.0, 1.0)
"""Range of a member's threat level by source (``Unit`` in the scenario language)."""


@dataclass(frozen=True)
class SliderSpec:
    """One slider: the ``--set`` path it changes, its range, step, the scenario's value."""

    key: str
    label: str
    minimum: float
    maximum: float
    step: float
    value: float
    description: str = ""

    def clamp(self, value: float) -> float:
        """``value`` within the slider's range."""
        return min(max(float(value), self.minimum), self.maximum)

    def moved(self, value: float) -> bool:
        """True if ``value`` is a move away from the scenario's value, not the browser snapping
        that value to the slider's grid (a change of less than half a step)."""
        return abs(float(value) - self.value) >= self.step / 2


def bounds(field: FieldInfo) -> tuple[float, float] | None:
    """``(low, high)`` of a numeric field from its ``ge``/``gt``/``le``/``lt`` constraints, or
    None unless both ends are declared."""
    low: float | None = None
    high: float | None = None
    for item in field.metadata:
        if isinstance(item, Ge | Gt):
            low = float(item.ge if isinstance(item, Ge) else item.gt)  # type: ignore[arg-type]
        elif isinstance(item, Le | Lt):
            high = float(item.le if isinstance(item, Le) else item.lt)  # type: ignore[arg-type]
    if low is None or high is None:
        return None
    return low, high


def nice_step(low: float, high: float, ticks: int = 100) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about ``ticks`` positions over the range."""
    span = high - low
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def slider_grid(low: float, high: float, value: float) -> tuple[float, float]:
    """``(minimum, step)`` of a slider over ``[low, high]`` whose grid ``minimum + k·step``
    holds ``value``: a browser slider snaps its value to that grid, and a scenario value off the
    grid would be moved by merely showing the slider.

    The step is :func:`nice_step`, made finer (÷2, ÷5, ÷10, down to a thousandth) until
    ``value`` lies on it; for a value on no such grid (1/3, say) it stays coarse, and the
    dashboard counts a snap of less than half a step as no move (see :meth:`SliderSpec.moved`).
    """
    coarse = nice_step(low, high)
    for factor in (1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001):
        step = float(f"{coarse * factor:.12g}")
        k = (value - low) / step
        if abs(k - round(k)) < 1e-6:
            return low, step
    return low, coarse


def _spec(key: str, label: str, field: FieldInfo, value: float) -> SliderSpec | None:
    ends = bounds(field)
    if ends is None:
        return None
    low, high = ends
    if any(isinstance(m, Gt) for m in field.metadata):  # an open lower end: start one step in
        low += nice_step(low, high)
    start, step = slider_grid(low, high, float(value))
    return SliderSpec(key, label, start, high, step, float(value), field.description or "")


def parameter_sliders(scenario: Scenario) -> list[SliderSpec]:
    """A slider for every model-wide coefficient, at the scenario's value, in declared order."""
    specs = []
    for name, field in Parameters.model_fields.items():
        spec = _spec(f"parameters.{name}", name, field, getattr(scenario.parameters, name))
        if spec is not None:
            specs.append(spec)
    return specs


def _is_number(field: FieldInfo) -> bool:
    return field.annotation in (float, int)


def member_sliders(scenario: Scenario, code: str) -> list[SliderSpec]:
    """Sliders for member ``code``: its numeric fields, its initial state, its threats.

    Raises KeyError if ``code`` is not a member of ``scenario``.
    """
    member = scenario.members[code]
    specs: list[SliderSpec] = []
    prefix = f"members.{code}"
    for name, field in Member.model_fields.items():
        if _is_number(field):
            spec = _spec(f"{prefix}.{name}", name, field, getattr(member, name))
            if spec is not None:
                specs.append(spec)
    for name, field in InitialState.model_fields.items():
        if _is_number(field):
            value = getattr(member.initial, name)
            spec = _spec(f"{prefix}.initial.{name}", f"initial.{name}", field, value)
            if spec is not None:
                specs.append(spec)
    for source, level in member.threats.items():
        start, step = slider_grid(*THREAT_RANGE, float(level))
        specs.append(
            SliderSpec(
                f"{prefix}.threats.{source}",
                f"threats.{source}",
                start,
                THREAT_RANGE[1],
                step,
                float(level),
                f"Interstate threat level from {source}",
            )
        )
    return specs


def member_choices(scenario: Scenario) -> list[str]:
    """Member codes in scenario order (the choices of the member selector)."""
    return list(scenario.members)


def format_value(value: float) -> str:
    """A slider value as ``--set`` text: the shortest form that reads back as the same float,
    after rounding away binary noise (``0.30000000000000004`` → ``0.3``)."""
    rounded = round(float(value), 10)
    return repr(rounded) if rounded != int(rounded) else f"{int(rounded)}.0"


def as_sets(overrides: Mapping[str, float] | Iterable[tuple[str, float]]) -> tuple[str, ...]:
    """Overrides as ``--set`` strings, ``path=value``, in the given order."""
    pairs = overrides.items() if isinstance(overrides, Mapping) else overrides
    return tuple(f"{key}={format_value(value)}" for key, value in pairs)


def command_line(
    path: str, sets: Iterable[str], replicates: int, seed: int, extra: Iterable[str] = ()
) -> str:
    """The ``cstosim run`` command that runs the same ensemble from the command line."""
    words: list[Any] = ["cstosim", "run", path, "--replicates", replicates, "--seed", seed]
    for item in sets:
        words += ["--set", item]
    words += list(extra)
    return " ".join(shlex.quote(str(w)) for w in words)
