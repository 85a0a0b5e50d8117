"""The experiment language: what to vary, what to measure, how to sample (docs/EXPLORING.md).

An experiment file names one base scenario (or several, which then form a categorical
factor ``base_scenario``), the uncertain **factors** as dotted paths into the scenario with
their ranges or distributions, the named **outcomes** to compute from every run, a
**sampler** (Sobol, Morris, Latin hypercube, full factorial), the number of **replicates** per
design point and a **seed**::

    schema_version: 1
    name: armenia-exit
    title: What makes Armenia leave?
    scenario: ../csto-2022-2023.yaml          # relative to this file
    until: 2025-12                            # project past the calendar end
    factors:
      parameters.weight_grievance: {}         # the scenario's `ranges`, else [0, 5]
      members.ARM.exit_cost: {low: 0.1, high: 0.6}
      actors.WEST.pull.ARM: {distribution: triangular, low: 0, mode: 0.2, high: 0.35}
      events.arm-invokes.severity: {}
    outcomes:
      arm_exits: {kind: reached, member: ARM, rung: exited, by: 2025-12}
    sampler: {method: sobol, n: 256}
    replicates: 20
    seed: 20231123

Files are read with the scenario loader's located YAML reading
(:mod:`cstosim.language.yamlio`): every problem is reported as
``file:line:column: field.path: message`` (a :class:`~cstosim.language.yamlio.ScenarioError`),
including factor paths that do not exist in a base scenario, ranges outside the admissible
ones and outcome members or dates the scenario does not have. :func:`load_experiment` returns a
:class:`LoadedExperiment`: the validated file, its base scenarios and every factor resolved
(kind, range, distribution, levels). :func:`apply_values` puts one design point's values into a
base scenario (the dumped scenario data, validated again as a :class:`Scenario`).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cstosim.language.parameters import THRESHOLDS, Parameters
from cstosim.language.scenario import EventDate, Scenario, Slug, YearMonth, month_index
from cstosim.language.yamlio import (
    Location,
    Path_,
    Problem,
    ScenarioError,
    format_path,
    listing,
    load_located,
    shown,
)

SCHEMA_VERSION = 1
DEFAULT_SEED = 20231123
"""The experiment's root seed when none is given (the runner's default, docs/SCENARIOS.md)."""

MAX_REPLICATES = 100_000
MAX_DESIGN_POINTS = 10_000_000
SCENARIO_FACTOR = "base_scenario"
"""Name of the categorical factor that picks the base scenario when there are several."""

METRICS: tuple[str, ...] = (
    "cohesion",
    "credibility_mean",
    "engaged_share",
    "polarization",
    "blocs",
    "consensus_capacity",
    "exits",
    "capacity",
)
"""Model reporters an outcome of kind ``metric`` may read (docs/MODEL.md §7.9)."""
MEMBER_METRICS: tuple[str, ...] = (
    "alignment",
    "credibility",
    "value",
    "outside_option",
    "grievance",
)
"""Member reporters an outcome of kind ``metric`` with a ``member`` may read."""
RUNGS: tuple[str, ...] = ("disengaged", "frozen", "exited")
"""Engagement levels an outcome can ask about, in order of withdrawal ('at or beyond')."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------
# Factors
# --------------------------------------------------------------------------------------------


class Distribution(StrEnum):
    """How a continuous factor's values spread over its range."""

    UNIFORM = "uniform"
    TRIANGULAR = "triangular"
    NORMAL = "normal"
    LOGUNIFORM = "loguniform"


Level = float | int | bool | str


class Factor(_Strict):
    """An uncertain value: a range (default: the range the field declares) or a list of levels.

    Continuous: ``low``/``high`` (default: the range the base scenario's ``ranges`` declares
    for the path, else the range the field admits) and a ``distribution``:
    ``uniform`` (default), ``triangular`` (with ``mode``), ``normal`` (``mean``, ``sd``;
    truncated to [low, high]) or ``loguniform`` (low > 0). Categorical: ``levels``, a list of
    the values to choose among (any field, e.g. an invocation's ``imposed_response``).
    """

    low: float | None = Field(None, description="Lowest value (default: the declared minimum)")
    high: float | None = Field(None, description="Highest value (default: the declared maximum)")
    distribution: Distribution = Field(
        Distribution.UNIFORM, description="uniform, triangular, normal (truncated) or loguniform"
    )
    mode: float | None = Field(None, description="Most likely value (triangular)")
    mean: float | None = Field(None, description="Mean (normal)")
    sd: float | None = Field(None, gt=0, description="Standard deviation (normal)")
    levels: list[Level] | None = Field(
        None, min_length=2, description="Values to choose among (a categorical factor)"
    )
    label: str | None = Field(None, description="Short name shown on figures")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        given = {k for k in ("low", "high", "mode", "mean", "sd") if getattr(self, k) is not None}
        if self.levels is not None:
            if given or self.distribution != Distribution.UNIFORM:
                raise ValueError("give either levels or a range/distribution, not both")
            if len({json.dumps(v) for v in self.levels}) != len(self.levels):
                raise ValueError("levels must be distinct")
            return self
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        needs = {
            Distribution.TRIANGULAR: {"mode"},
            Distribution.NORMAL: {"mean", "sd"},
        }.get(self.distribution, set())
        missing = needs - given
        if missing:
            raise ValueError(
                f"a {self.distribution.value} distribution needs {', '.join(sorted(missing))}"
            )
        extra = {"mode", "mean", "sd"} & given - needs
        if extra:
            raise ValueError(
                f"{', '.join(sorted(extra))} is not used by a {self.distribution.value} "
                "distribution"
            )
        return self


# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------

OutcomeName = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="Outcome name (a column name)")
]
Rung = Literal["disengaged", "frozen", "exited"]
MemberCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,11}$")]


class _Outcome(_Strict):
    label: str | None = Field(None, description="Short description shown on figures")


class Reached(_Outcome):
    """1 if ``member`` is at ``rung`` or beyond (disengaged < frozen < exited) in some month up
    to ``by`` (default: the last month), else 0; its mean over replicates is a probability."""

    kind: Literal["reached"]
    member: MemberCode
    rung: Rung
    by: YearMonth | None = Field(None, description="Last month counted (default: the last)")


class TimeTo(_Outcome):
    """Months from the first simulated month to the first month in which ``member`` (any
    member if omitted) is at ``rung`` or beyond; the run's length in months if it never is
    (censored at the horizon)."""

    kind: Literal["time_to"]
    member: MemberCode | None = None
    rung: Rung


class Metric(_Outcome):
    """A model reporter (``cohesion``, ``engaged_share``, ...) or, with ``member``, a member
    reporter (``alignment``, ``credibility``, ...) in month ``at`` (default: the last)."""

    kind: Literal["metric"]
    metric: str = Field(description="Reporter name (docs/MODEL.md §7.9)")
    member: MemberCode | None = None
    at: YearMonth | None = Field(None, description="Month (default: the last)")

    @model_validator(mode="after")
    def _known(self) -> Self:
        names = MEMBER_METRICS if self.member is not None else METRICS
        if self.metric not in names:
            what = "member reporter" if self.member is not None else "model reporter"
            raise ValueError(f"unknown {what} {self.metric!r}; expected one of: {', '.join(names)}")
        return self


class Exits(_Outcome):
    """Number of members that have exited by month ``at`` (default: the last)."""

    kind: Literal["exits"]
    at: YearMonth | None = None


class Fracture(_Outcome):
    """1 if in some month up to ``by`` the alliance has ``blocs_at_least`` alignment blocs or
    more, or an engaged share below ``engaged_below`` (whichever are given), else 0."""

    kind: Literal["fracture"]
    blocs_at_least: int | None = Field(None, ge=2, le=100)
    engaged_below: float | None = Field(None, gt=0, le=1)
    by: YearMonth | None = None

    @model_validator(mode="after")
    def _some(self) -> Self:
        if self.blocs_at_least is None and self.engaged_below is None:
            raise ValueError("give blocs_at_least, engaged_below or both")
        return self


class ConsensusFailures(_Outcome):
    """Number of events whose collective decision was blocked by a veto (invocations, attacks
    on a member, summits; or only ``event_type``), up to ``by`` (default: the last month)."""

    kind: Literal["consensus_failures"]
    event_type: Literal["invocation", "attack", "summit"] | None = None
    by: EventDate | None = None


Outcome = Annotated[
    Reached | TimeTo | Metric | Exits | Fracture | ConsensusFailures, Field(discriminator="kind")
]
OUTCOME_KINDS = ("reached", "time_to", "metric", "exits", "fracture", "consensus_failures")


# --------------------------------------------------------------------------------------------
# Sampler and experiment
# --------------------------------------------------------------------------------------------

Method = Literal["sobol", "morris", "latin", "full-factorial"]


class Sampler(_Strict):
    """The design: ``sobol`` (N base samples, a power of 2: N·(D+2) design points, Saltelli
    design for first-order and total indices), ``morris`` (N trajectories on a grid of
    ``levels``, default 4: N·(D+1) points), ``latin`` (N points of a Latin hypercube) or
    ``full-factorial`` (every combination of ``levels`` values per continuous factor, default 3,
    and of every categorical level)."""

    method: Method
    n: int | None = Field(None, ge=1, le=1_000_000, description="Samples (not full-factorial)")
    levels: int | None = Field(None, ge=2, le=1000, description="Grid levels (morris, factorial)")

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.method == "full-factorial":
            if self.n is not None:
                raise ValueError("full-factorial takes levels (per factor), not n")
            return self
        if self.n is None:
            raise ValueError(f"{self.method} needs n (number of samples)")
        if self.method == "sobol" and self.n & (self.n - 1):
            lower = 1 << (self.n.bit_length() - 1)
            raise ValueError(
                f"sobol needs n to be a power of 2 (Sobol' sequences balance only then); "
                f"got {self.n}, try {lower} or {lower * 2}"
            )
        if self.method in ("sobol", "latin") and self.levels is not None:
            raise ValueError(f"{self.method} takes no levels")
        if self.method == "morris" and self.levels is not None and self.levels % 2:
            raise ValueError("morris needs an even number of levels (e.g. 4)")
        return self


class Experiment(_Strict):
    """An experiment file (docs/EXPLORING.md)."""

    schema_version: Literal[1] = Field(description="Version of the experiment language")
    name: Slug
    title: str
    description: str = ""
    scenario: str | None = Field(None, description="Base scenario file, relative to this file")
    scenarios: list[str] | None = Field(
        None,
        min_length=2,
        description="Several base scenarios (a categorical factor `base_scenario`), relative paths",
    )
    until: YearMonth | None = Field(None, description="Project every run to this month")
    factors: dict[str, Factor | None] = Field(
        default_factory=dict,
        description="Dotted path into the scenario -> range, distribution or levels (default: "
        "the range the scenario's `ranges` declares for the path, else the field's admissible "
        "range)",
    )
    factors_from_ranges: bool = Field(
        False,
        description="Also make a factor of every path the base scenario's `ranges` declares "
        "(over that range)",
    )
    outcomes: dict[OutcomeName, Outcome] = Field(min_length=1, description="Name -> outcome")
    sampler: Sampler
    replicates: int = Field(ge=1, le=MAX_REPLICATES, description="Runs per design point")
    seed: int = Field(DEFAULT_SEED, ge=0, lt=2**63, description="Root seed (the same for all)")
    engine: Literal["vector", "mesa"] = Field("vector", description="Simulation engine")

    @model_validator(mode="after")
    def _one_base(self) -> Self:
        if (self.scenario is None) == (self.scenarios is None):
            raise ValueError("give either scenario (one file) or scenarios (a list), not both")
        if not self.factors and not self.factors_from_ranges:
            raise ValueError("give factors, or factors_from_ranges: true")
        return self

    @property
    def scenario_files(self) -> list[str]:
        return [self.scenario] if self.scenario is not None else list(self.scenarios or [])


def json_schema() -> dict[str, Any]:
    """The JSON Schema of experiment files (draft 2020-12)."""
    schema = Experiment.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://cstosim.org/schema/experiment-v1.json",
        **schema,
        "title": "cstosim experiment",
    }


# --------------------------------------------------------------------------------------------
# Resolved factors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedFactor:
    """One factor with everything filled in: the sampler maps u ∈ [0, 1) to a value."""

    name: str  # the dotted path (or ``scenario``), also the design table's column
    kind: Literal["continuous", "categorical"]
    low: float = math.nan
    high: float = math.nan
    distribution: str = Distribution.UNIFORM.value
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    levels: tuple[Any, ...] = ()
    integer: bool = False
    label: str = ""
    declared: tuple[float, float] | None = None
    base: tuple[Any, ...] = ()  # the value in each base scenario
    origin: str = ""  # where the range comes from: experiment, scenario ranges, admissible range

    def value(self, u: float) -> Any:
        """The factor's value at quantile ``u`` of its distribution (``levels[floor(u·k)]``)."""
        if self.kind == "categorical":
            return self.levels[min(int(u * len(self.levels)), len(self.levels) - 1)]
        x = self._quantile(min(max(u, 0.0), 1.0))
        x = min(max(x, self.low), self.high)
        return round(x) if self.integer else x

    def _quantile(self, u: float) -> float:
        lo, hi = self.low, self.high
        if self.distribution == Distribution.TRIANGULAR:
            c = ((self.mode if self.mode is not None else lo) - lo) / (hi - lo)
            if u < c:
                return lo + math.sqrt(u * (hi - lo) * (c * (hi - lo)))
            return hi - math.sqrt((1 - u) * (hi - lo) * ((1 - c) * (hi - lo)))
        if self.distribution == Distribution.LOGUNIFORM:
            return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        if self.distribution == Distribution.NORMAL:
            from scipy.stats import truncnorm

            mean, sd = float(self.mean or 0.0), float(self.sd or 1.0)
            a, b = (lo - mean) / sd, (hi - mean) / sd
            return float(truncnorm.ppf(u, a, b, loc=mean, scale=sd))
        return lo + u * (hi - lo)

    def grid(self, levels: int) -> list[Any]:
        """Values of a full-factorial grid: every level, or ``levels`` evenly spaced values."""
        if self.kind == "categorical":
            return list(self.levels)
        values = [self.low + (self.high - self.low) * i / (levels - 1) for i in range(levels)]
        if self.integer:
            return list(dict.fromkeys(round(v) for v in values))
        return values

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass
class LoadedExperiment:
    """A validated experiment with its base scenarios and resolved factors."""

    spec: Experiment
    file: str
    text: str  # the experiment file as written (kept with the results)
    scenarios: dict[str, Scenario]  # base scenario name -> scenario, in file order
    scenario_files: list[str]
    factors: list[ResolvedFactor]
    outcome_names: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

Locations = dict[Path_, Location]


def load_experiment(path: str | Path) -> LoadedExperiment:
    """Read, validate and resolve an experiment file and its base scenarios.

    Raises :class:`~cstosim.language.yamlio.ScenarioError` listing every problem found (with
    file, line and column), in the experiment file or in a base scenario.
    """
    from cstosim.language.loader import load_scenario
    from cstosim.language.yamlio import read_capped

    path = Path(path)
    data, locs = load_located(path)
    fallback = Location(str(path), 1, 1)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(fallback, "", "expected a mapping of experiment fields")])
    try:
        spec = Experiment.model_validate_json(json.dumps(data, allow_nan=True), strict=True)
    except ValidationError as exc:
        found = [_problem(err, data, locs, fallback) for err in exc.errors()]
        raise ScenarioError(_unique(found)) from None
    text = read_capped(path).decode("utf-8")
    scenarios: dict[str, Scenario] = {}
    problems: list[Problem] = []
    key = "scenario" if spec.scenario is not None else "scenarios"
    seen: dict[str, str] = {}  # resolved file -> the field that listed it first
    for i, ref in enumerate(spec.scenario_files):
        where = locs.get((key,) if key == "scenario" else (key, i), fallback)
        field_path = key if key == "scenario" else f"{key}[{i}]"
        file = path.parent / ref
        what = _not_a_file(file)
        if what is not None:
            message = f"{what}: {shown(str(file), 120)} (a path relative to this file)"
            problems.append(Problem(where, field_path, message))
            continue
        real = str(file.resolve())
        if real in seen:  # refused before loading it again
            message = f"the same scenario file as {seen[real]}; list each base once"
            problems.append(Problem(where, field_path, message))
            continue
        seen[real] = field_path
        try:
            scenario = load_scenario(file)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        if scenario.name in scenarios:
            message = f"two base scenarios are named {scenario.name!r}; names must differ"
            problems.append(Problem(where, field_path, message))
            continue
        scenarios[scenario.name] = scenario
    if problems:
        raise ScenarioError(problems)
    base = list(scenarios.values())
    problems += _check_until(spec, base, locs, fallback)
    factors: list[ResolvedFactor] = []
    if len(base) > 1:
        factors.append(
            ResolvedFactor(
                name=SCENARIO_FACTOR,
                kind="categorical",
                levels=tuple(scenarios),
                label="base scenario",
                base=tuple(scenarios),
            )
        )
    wanted: dict[str, Factor | None] = dict(spec.factors)
    if spec.factors_from_ranges:
        for name in _declared_paths(base):
            wanted.setdefault(name, None)
        if not wanted:
            where = locs.get(("factors_from_ranges",), fallback)
            message = "the base scenario declares no ranges; list factors instead"
            problems.append(Problem(where, "factors_from_ranges", message))
    for name, given in wanted.items():
        where = locs.get(("factors", name), locs.get(("factors_from_ranges",), fallback))
        resolved, found = resolve_factor(name, given or Factor(), base, where, locs)
        problems += found
        if resolved is not None:
            factors.append(resolved)
    problems += _check_thresholds(factors, base, locs, fallback)
    problems += _check_outcomes(spec, base, locs, fallback)
    if not problems:
        problems += _check_size(spec, factors, locs, fallback)
    if problems:
        raise ScenarioError(_unique(problems))
    return LoadedExperiment(
        spec=spec,
        file=str(path),
        text=text,
        scenarios=scenarios,
        scenario_files=[str(path.parent / f) for f in spec.scenario_files],
        factors=factors,
        outcome_names=list(spec.outcomes),
    )


def _not_a_file(file: Path) -> str | None:
    """None if ``file`` is a regular file; otherwise what it is (never raises)."""
    from cstosim.language.yamlio import file_kind

    try:
        return file_kind(os.stat(file).st_mode)
    except FileNotFoundError:
        return "file not found"
    except (OSError, ValueError) as exc:  # a name too long, a symlink loop, a NUL byte...
        return f"cannot read file ({getattr(exc, 'strerror', None) or exc})"


def _check_until(
    spec: Experiment, base: list[Scenario], locs: Locations, fallback: Location
) -> list[Problem]:
    if spec.until is None:
        return []
    out = []
    for s in base:
        if month_index(spec.until) < month_index(s.calendar.end):
            message = (
                f"{spec.until} is before the calendar end {s.calendar.end} of scenario "
                f"{s.name}; until only projects past the end"
            )
            out.append(Problem(locs.get(("until",), fallback), "until", message))
    return out


def _last_month(spec: Experiment, s: Scenario) -> str:
    return spec.until or s.calendar.end


def _check_outcomes(
    spec: Experiment, base: list[Scenario], locs: Locations, fallback: Location
) -> list[Problem]:
    out: list[Problem] = []
    for name, outcome in spec.outcomes.items():
        for key in ("member",):
            code = getattr(outcome, key, None)
            if code is None:
                continue
            for s in base:
                if code not in s.members:
                    where = locs.get(("outcomes", name, key), fallback)
                    message = (
                        f"unknown member {code!r} in scenario {s.name}; known members: "
                        f"{listing(s.members)}"
                    )
                    out.append(Problem(where, f"outcomes.{name}.{key}", message))
        for key in ("by", "at"):
            when = getattr(outcome, key, None)
            if when is None:
                continue
            for s in base:
                first, last = s.calendar.start, _last_month(spec, s)
                if not month_index(first) <= month_index(when) <= month_index(last):
                    where = locs.get(("outcomes", name, key), fallback)
                    message = (
                        f"{when} is outside the simulated months {first} to {last} of "
                        f"scenario {s.name}" + ("" if spec.until else " (set until to project)")
                    )
                    out.append(Problem(where, f"outcomes.{name}.{key}", message))
    return out


def _check_size(
    spec: Experiment, factors: list[ResolvedFactor], locs: Locations, fallback: Location
) -> list[Problem]:
    points = design_size(spec.sampler, factors)
    if points <= MAX_DESIGN_POINTS:
        return []
    message = f"the design would have {points} points; at most {MAX_DESIGN_POINTS}"
    return [Problem(locs.get(("sampler",), fallback), "sampler", message)]


def design_size(sampler: Sampler, factors: Sequence[ResolvedFactor]) -> int:
    """Number of design points the sampler makes for ``factors``."""
    d = len(factors)
    n = sampler.n or 0
    if sampler.method == "sobol":
        return n * (d + 2)
    if sampler.method == "morris":
        return n * (d + 1)
    if sampler.method == "latin":
        return n
    levels = sampler.levels or 3
    return math.prod(len(f.grid(levels)) for f in factors)


# --------------------------------------------------------------------------------------------
# Factor paths into a scenario
# --------------------------------------------------------------------------------------------

_PATH_HELP = (
    "expected parameters.<name>, members.<CODE>.<field> (also initial.<field>, "
    "threats.<SOURCE>, ties.<MEMBER>), actors.<CODE>.pull.<MEMBER>, actors.<CODE>.ties.<MEMBER>, "
    "actors.<CODE>.pull_growth or events.<id>.<field>"
)


@dataclass(frozen=True)
class _Target:
    """What a path names in one scenario: its annotation, bounds and current value."""

    annotation: Any
    bounds: tuple[float | None, float | None, bool, bool]  # low, high, low open, high open
    value: Any


def resolve_factor(
    name: str, given: Factor, base: list[Scenario], where: Location, locs: Locations
) -> tuple[ResolvedFactor | None, list[Problem]]:
    """Check that ``name`` is a path into every base scenario and fill in the factor's range."""
    targets: list[_Target] = []
    for s in base:
        target, message = locate_path(s, name)
        if target is None:
            suffix = f" (in scenario {s.name})" if len(base) > 1 else ""
            return None, [Problem(where, f"factors.{name}", f"{message}{suffix}")]
        targets.append(target)
    annotation = targets[0].annotation
    kind = _value_kind(annotation)
    path = f"factors.{name}"
    problems: list[Problem] = []

    def at(key: str) -> Location:
        return locs.get(("factors", name, key), where)

    if given.levels is not None:
        for j, level in enumerate(given.levels):
            trouble = _level_problem(annotation, level, targets[0].bounds)
            if trouble is not None:
                problems.append(Problem(at("levels"), f"{path}.levels[{j}]", trouble))
        factor = ResolvedFactor(
            name=name,
            kind="categorical",
            levels=tuple(given.levels),
            label=given.label or "",
            base=tuple(t.value for t in targets),
        )
        return (None if problems else factor), problems
    if kind not in ("float", "int"):
        message = (
            f"{name} is not a number ({_describe(annotation)}); give levels: [...] to choose "
            "among values"
        )
        return None, [Problem(where, path, message)]
    lo_decl, hi_decl, lo_open, hi_open = targets[0].bounds
    declared = scenario_range(name, base)
    low = given.low if given.low is not None else (declared[0] if declared else lo_decl)
    high = given.high if given.high is not None else (declared[1] if declared else hi_decl)
    if given.low is not None and given.high is not None:
        origin = "experiment"
    elif declared is not None:
        origin = "scenario ranges"
    else:
        origin = "admissible range"
    for key, value in (("low", low), ("high", high)):
        if value is None:
            message = f"{name} declares no {'lower' if key == 'low' else 'upper'} bound; give {key}"
            problems.append(Problem(where, path, message))
        elif not math.isfinite(value):
            problems.append(Problem(at(key), f"{path}.{key}", f"{key} must be finite"))
    if problems or low is None or high is None:
        return None, problems
    admissible = f"[{_num(lo_decl)}, {_num(hi_decl)}]"
    if lo_decl is not None and (low < lo_decl or (lo_open and low == lo_decl)):
        problems.append(
            Problem(at("low"), f"{path}.low", f"{low:g} is below the admissible range {admissible}")
        )
    if hi_decl is not None and (high > hi_decl or (hi_open and high == hi_decl)):
        problems.append(
            Problem(
                at("high"), f"{path}.high", f"{high:g} is above the admissible range {admissible}"
            )
        )
    if not low < high:
        problems.append(
            Problem(where, path, f"empty range: low {low:g} is not below high {high:g} ({origin})")
        )
    if given.distribution == Distribution.LOGUNIFORM and low <= 0:
        problems.append(Problem(at("low"), f"{path}.low", "a loguniform range needs low > 0"))
    for key in ("mode", "mean"):
        value = getattr(given, key)
        if value is not None and not low <= value <= high:
            message = f"{key} {value:g} is outside the range [{low:g}, {high:g}]"
            problems.append(Problem(at(key), f"{path}.{key}", message))
    if problems:
        return None, problems
    factor = ResolvedFactor(
        name=name,
        kind="continuous",
        low=float(low),
        high=float(high),
        distribution=given.distribution.value,
        mode=given.mode,
        mean=given.mean,
        sd=given.sd,
        integer=kind == "int",
        label=given.label or "",
        declared=(lo_decl, hi_decl) if lo_decl is not None and hi_decl is not None else None,
        base=tuple(t.value for t in targets),
        origin=origin,
    )
    return factor, []


def scenario_range(path: str, base: Sequence[Scenario]) -> tuple[float, float] | None:
    """The plausible range the base scenarios declare for ``path`` (their ``ranges``; the
    union over several bases), or None if none declares one."""
    found = []
    for s in base:
        entry = (getattr(s, "ranges", None) or {}).get(path)
        if entry is not None:
            found.append((float(entry.low), float(entry.high)))
    if not found:
        return None
    return min(lo for lo, _ in found), max(hi for _, hi in found)


def _declared_paths(base: Sequence[Scenario]) -> list[str]:
    """Paths every base scenario declares a range for, in the first one's order."""
    first = [p for p, r in (getattr(base[0], "ranges", None) or {}).items() if r is not None]
    return [p for p in first if all((getattr(s, "ranges", None) or {}).get(p) for s in base)]


def _num(value: float | None) -> str:
    return "-inf" if value is None else f"{value:g}"


def locate_path(scenario: Scenario, dotted: str) -> tuple[_Target | None, str]:
    """What ``dotted`` names in ``scenario``, or None and a message saying what was expected."""
    parts = dotted.split(".")
    if len(parts) < 2 or not all(parts):
        return None, f"cannot interpret {shown(dotted)}; {_PATH_HELP}"
    head = parts[0]
    if head == "parameters":
        if len(parts) != 2 or parts[1] not in Parameters.model_fields:
            known = listing(Parameters.model_fields, limit=80)
            return None, f"unknown model parameter {parts[1]!r}; known: {known}"
        return _field_target(Parameters, parts[1], getattr(scenario.parameters, parts[1]))
    if head in ("members", "actors"):
        table: Mapping[str, BaseModel] = getattr(scenario, head)
        if parts[1] not in table:
            what = "member" if head == "members" else "actor"
            return None, f"unknown {what} {parts[1]!r}; known: {listing(table)}"
        if len(parts) < 3:
            return None, f"{dotted} names a whole {head[:-1]}; name one of its fields"
        return _walk(table[parts[1]], parts[2:], dotted, scenario)
    if head == "events":
        ids = [e.id for e in scenario.events]
        if parts[1] not in ids:
            return None, f"no event with id {parts[1]!r}; known: {listing(ids)}"
        if len(parts) < 3:
            return None, f"{dotted} names a whole event; name one of its fields"
        event = scenario.events[ids.index(parts[1])]
        if parts[2] in ("id", "type"):
            return None, f"an event's {parts[2]} cannot be a factor"
        return _walk(event, parts[2:], dotted, scenario)
    return None, f"cannot interpret {shown(dotted)}; {_PATH_HELP}"


def _walk(model: BaseModel, rest: list[str], dotted: str, scenario: Scenario) -> Any:
    part = rest[0]
    cls = type(model)
    if part not in cls.model_fields:
        return None, f"unknown field {part!r} of {cls.__name__}; known: {listing(cls.model_fields)}"
    value = getattr(model, part)
    if len(rest) == 1:
        return _field_target(cls, part, value)
    if isinstance(value, BaseModel):
        return _walk(value, rest[1:], dotted, scenario)
    annotation = _unwrap(cls.model_fields[part].annotation)
    if typing.get_origin(annotation) is dict and len(rest) == 2:
        key = rest[1]
        known = set(scenario.members) | set(scenario.actors)
        if key not in known:
            return None, f"unknown code {key!r}; known members and actors: {listing(sorted(known))}"
        item = typing.get_args(annotation)[1]
        return _Target(item, _bounds(item, []), (value or {}).get(key, 0.0)), ""
    return None, f"cannot go into {part!r} of {cls.__name__}; {_PATH_HELP}"


def _field_target(cls: type[BaseModel], name: str, value: Any) -> tuple[_Target, str]:
    info = cls.model_fields[name]
    annotation = info.annotation
    return _Target(annotation, _bounds(annotation, list(info.metadata)), value), ""


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _bounds(annotation: Any, metadata: list[Any]) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low exclusive, high exclusive) from pydantic's ge/gt/le/lt constraints."""
    items = list(metadata)
    stack = [annotation]
    while stack:
        a = stack.pop()
        if typing.get_origin(a) is Annotated:
            args = typing.get_args(a)
            stack.append(args[0])
            for extra in args[1:]:
                items += list(getattr(extra, "metadata", []) or [extra])
        elif typing.get_origin(a) in (typing.Union, types.UnionType):
            stack += [x for x in typing.get_args(a) if x is not type(None)]
    low = high = None
    low_open = high_open = False
    for item in items:
        for attr, is_low, is_open in (("ge", 1, 0), ("gt", 1, 1), ("le", 0, 0), ("lt", 0, 1)):
            bound = getattr(item, attr, None)
            if isinstance(bound, int | float):
                if is_low:
                    low, low_open = float(bound), bool(is_open)
                else:
                    high, high_open = float(bound), bool(is_open)
    return low, high, low_open, high_open


def _value_kind(annotation: Any) -> str:
    a = _unwrap(annotation)
    if a is bool:
        return "bool"
    if a is int:
        return "int"
    if a is float:
        return "float"
    return "other"


def _describe(annotation: Any) -> str:
    a = _unwrap(annotation)
    if isinstance(a, type) and issubclass(a, Enum):
        return "one of " + ", ".join(str(m.value) for m in a)
    if typing.get_origin(a) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(a)))
    return getattr(a, "__name__", str(a))


def _level_problem(annotation: Any, level: Any, bounds: tuple[Any, ...]) -> str | None:
    """None if ``level`` is an acceptable value for a field of type ``annotation``."""
    from pydantic import TypeAdapter

    try:
        TypeAdapter(annotation).validate_json(json.dumps(level), strict=True)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return f"{message} (got {shown(level)})"
    low, high, _, _ = bounds
    number = isinstance(level, int | float) and not isinstance(level, bool)
    if number and ((low is not None and level < low) or (high is not None and level > high)):
        return f"{level:g} is outside the declared range [{_num(low)}, {_num(high)}]"
    return None


def _check_thresholds(
    factors: list[ResolvedFactor], base: list[Scenario], locs: Locations, fallback: Location
) -> list[Problem]:
    """The outcome thresholds must stay ordered for every value the factors can take."""
    ranges: dict[str, tuple[float, float]] = {}
    varied: set[str] = set()
    for f in factors:
        name = f.name.removeprefix("parameters.")
        if f.name.startswith("parameters.") and name in THRESHOLDS:
            varied.add(name)
            values = [float(v) for v in f.levels] if f.kind == "categorical" else [f.low, f.high]
            ranges[name] = (min(values), max(values))
    if not varied:
        return []
    out: list[Problem] = []
    for s in base:
        span = {
            t: ranges.get(t, (getattr(s.parameters, t), getattr(s.parameters, t)))
            for t in THRESHOLDS
        }
        for a, b in itertools.pairwise(THRESHOLDS):
            if span[a][1] > span[b][0]:
                blame = a if a in varied else b
                where = locs.get(("factors", f"parameters.{blame}"), fallback)
                message = (
                    f"{a} can reach {span[a][1]:g} while {b} can be {span[b][0]:g}: the outcome "
                    "thresholds must stay ordered; narrow the ranges so they do not overlap"
                )
                out.append(Problem(where, f"factors.parameters.{blame}", message))
    return out


# --------------------------------------------------------------------------------------------
# Applying a design point
# --------------------------------------------------------------------------------------------


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data, ready for :func:`apply_values`."""
    return scenario.model_dump(mode="json", exclude_unset=False)


def apply_values(data: Mapping[str, Any], values: Mapping[str, Any]) -> Scenario:
    """A scenario from ``data`` (:func:`scenario_data`) with each path in ``values`` set.

    ``values`` maps factor paths (``parameters.x``, ``members.ARM.exit_cost``,
    ``actors.CHN.pull.KAZ``, ``events.<id>.severity``) to values; the result is validated.
    """
    out = copy.deepcopy(dict(data))
    for dotted, value in values.items():
        parts = dotted.split(".")
        node: Any = out
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = next(e for e in node if e.get("id") == part)
            else:
                if node.get(part) is None and depth >= 1:
                    node[part] = {}
                node = node[part]
        node[parts[-1]] = value.item() if hasattr(value, "item") else value
    return Scenario.model_validate(out)


def split_values(values: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """``(base scenario name or None, the other factor values)`` of one design point."""
    rest = {k: v for k, v in values.items() if k != SCENARIO_FACTOR}
    base = values.get(SCENARIO_FACTOR)
    return (str(base) if base is not None else None), rest


# --------------------------------------------------------------------------------------------
# Located errors from pydantic
# --------------------------------------------------------------------------------------------


def _problem(err: Any, data: Any, locs: Locations, fallback: Location) -> Problem:
    path = _data_path(tuple(err["loc"]), data)
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _allowed_fields(path[:-1], data)
        message = f"unknown field {path[-1]!r}" + (
            f"; expected one of: {', '.join(allowed)}" if allowed else ""
        )
    elif kind == "missing":
        message = f"missing required field {path[-1]!r}" if path else "missing required field"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        path = (*path, "kind")
        message = f"expected kind to be one of: {', '.join(OUTCOME_KINDS)}"
        if kind == "union_tag_invalid":
            message += f" (got {shown(_get(data, path))})"
    elif kind == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        expected = {
            "^[a-z][a-z0-9_]*$": "a name of lower-case letters, digits and _ (e.g. arm_exits)",
            "^[a-z0-9][a-z0-9-]*$": "a slug of lower-case letters, digits and - (e.g. arm-exit)",
            "^[A-Z][A-Z0-9_]{1,11}$": "a code of 2 to 12 upper-case letters, digits or _",
        }.get(pattern, f"text matching {pattern}")
        message = f"expected {expected}, got {shown(err['input'])}"
    elif kind != "value_error" and "input" in err and not isinstance(err["input"], dict | list):
        message = f"{message} (got {shown(err['input'])})"
    return Problem(_locate(path, locs, fallback), format_path(path), message)


def _get(data: Any, path: Path_) -> Any:
    node = data
    for part in path:
        if _has(node, part):
            node = node[part]
        else:
            return None
    return node


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Drop the union branches pydantic puts into error locations (``Factor``, ``reached``...)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if _has(node, part):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (
            part in OUTCOME_KINDS
            or part in ("Factor", "str", "int", "float", "bool")
            or "[" in part
            or part.startswith("function-")
        ):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def _allowed_fields(path: Path_, data: Any) -> list[str]:
    model: Any = None
    if path == ():
        model = Experiment
    elif path[:1] == ("factors",) and len(path) == 2:
        model = Factor
    elif path == ("sampler",):
        model = Sampler
    elif path[:1] == ("outcomes",) and len(path) == 2:
        kind = _get(data, (*path, "kind"))
        model = {
            "reached": Reached,
            "time_to": TimeTo,
            "metric": Metric,
            "exits": Exits,
            "fracture": Fracture,
            "consensus_failures": ConsensusFailures,
        }.get(str(kind))
    return list(model.model_fields) if model is not None else []


def _locate(path: Path_, locs: Locations, fallback: Location) -> Location:
    for n in range(len(path), -1, -1):
        if path[:n] in locs:
            return locs[path[:n]]
    return fallback


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


if __name__ == "__main__":  # pragma: no cover - `python -m cstosim.language.experiment`
    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
