"""The calibration file (``CALIBRATION.yaml``): what ``cstosim calibrate`` fits, to what, and how.

A calibration file names the record scenarios whose observations are scored jointly, the
parameters to fit (their priors come from the scenarios' ``ranges:``; the file may narrow or
widen one) and the ABC-SMC settings. Errors are located like a scenario's,
``file:line:column: field: message``. Example (``scenarios/calibration/csto-record.yaml``)::

    schema_version: 1
    name: csto-record
    title: The CSTO record, 1992-2023
    scenarios:
      - file: ../csto-history-1992-2023.yaml
      - file: ../csto-2022-2023.yaml
    parameters:
      parameters.hazard_base: {}
      aze-ties-rus: {paths: [actors.AZE.ties.RUS, members.AZE.ties.RUS]}
    replicates: 10
    population: 200
    generations: 6

A parameter's key is its name; it is also its path unless ``paths`` lists the paths it sets (one
value for all of them, in every scenario where the path exists: one model, two periods).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cstosim.language.scenario import _check_year_month
from cstosim.language.yamlio import (
    Location,
    Path_,
    Problem,
    ScenarioError,
    format_path,
    load_located,
)

__all__ = [
    "CalibrationFile",
    "CalibrationParameter",
    "Predictive",
    "ScenarioEntry",
    "load_calibration",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioEntry(_Strict):
    """One record scenario whose observations enter the distance."""

    file: str = Field(min_length=1, description="Scenario file, relative to this file")
    weight: float = Field(
        default=1.0,
        gt=0,
        allow_inf_nan=False,
        description="Weight of each of its observations in the mean Brier score",
    )


class CalibrationParameter(_Strict):
    """A parameter to fit: the paths it sets and, optionally, its prior's bounds."""

    paths: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Scenario paths set to the one value (default: the parameter's name)",
    )
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)
    scenarios: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Names of the scenarios it applies to (default: every scenario with the "
        "path); two scenarios whose same path means two things (a member's belief in 1992 "
        "and in 2021) need two parameters",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CalibrationParameter:
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Predictive(_Strict):
    """Posterior predictive checks written with the posterior."""

    draws: int = Field(default=40, ge=0, le=100_000, description="Parameter draws (0: none)")
    replicates: int = Field(default=20, ge=1, le=100_000, description="Replicates per draw")


class CalibrationFile(_Strict):
    """A calibration: scenarios, parameters (priors from ``ranges:``) and ABC-SMC settings."""

    schema_version: Literal[1]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    title: str = ""
    description: str = ""
    scenarios: list[ScenarioEntry] = Field(min_length=1)
    parameters: dict[str, CalibrationParameter] | Literal["all"] = Field(
        description="Parameters to fit by name, or `all`: every path with a range"
    )
    replicates: int = Field(default=10, ge=1, le=10_000, description="Per particle and scenario")
    population: int = Field(default=100, ge=2, le=1_000_000, description="Particles per generation")
    generations: int = Field(default=5, ge=1, le=1000, description="Largest number of generations")
    min_epsilon: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    min_acceptance: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    max_minutes: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, lt=2**63)
    until: str | None = Field(
        default=None,
        description="YYYY-MM: stop every run after this month; later observations are not scored",
    )
    workers: int = Field(default=1, ge=1, le=1024, description="Worker processes")
    dask: str | None = Field(
        default=None, description="`local` or a scheduler address: run the particles on Dask"
    )
    predictive: Predictive = Field(default_factory=Predictive)

    @model_validator(mode="after")
    def _check(self) -> CalibrationFile:
        if self.until is not None:
            _check_year_month(self.until)
        return self


def load_calibration(path: str | Path) -> CalibrationFile:
    """Read and validate a calibration file; :class:`ScenarioError` with located problems."""
    path = Path(path)
    data, locs = load_located(path)
    fallback = Location(str(path), 1, 1)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(fallback, "", "expected a mapping of calibration fields")])
    try:
        return CalibrationFile.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, locs, fallback) for err in exc.errors()]
        raise ScenarioError(problems) from None


def _problem(err: Any, locs: dict[Path_, Location], fallback: Location) -> Problem:
    loc: Path_ = tuple(p for p in err["loc"] if isinstance(p, str | int) and not _is_union_tag(p))
    where = fallback
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in locs:
            where = locs[loc[:cut]]
            break
    return Problem(where, format_path(loc), str(err["msg"]))


def _is_union_tag(part: str | int) -> bool:
    """pydantic names union members in error paths (``dict[str,...]``, ``literal['all']``)."""
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))
