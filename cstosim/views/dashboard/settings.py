"""What one browser tab has chosen: a scenario file, the sliders it moved, replicates and seed.

Values are frozen dataclasses: a change makes a new value, so Solara sees it and each tab keeps
its own (see :mod:`.state`). Slider moves are kept only where they differ from the scenario's
own value, in the order they were first made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cstosim.engine.defaults import DEFAULT_SEED
from cstosim.views.dashboard.controls import as_sets

DEFAULT_REPLICATES = 1000
"""Replicates of a dashboard run: the vector engine makes 1,000 in well under a second."""
MAX_REPLICATES = 5000
"""The largest ensemble the dashboard runs (about 2 s and 1 GB of tables at most)."""
TOLERANCE = 1e-9
"""A slider this close to the scenario's value counts as not moved."""


@dataclass(frozen=True)
class Settings:
    """A scenario file and the slider moves applied to it.

    Attributes:
        path: the scenario file (shipped or typed in).
        overrides: ``(--set path, value)`` pairs, in the order first moved.
        member: the member whose sliders are shown (None: the first one).
        revision: bumped to read the file again from disk (see :func:`.catalogue.open_scenario`).
    """

    path: str
    overrides: tuple[tuple[str, float], ...] = ()
    member: str | None = None
    revision: int = 0

    @property
    def sets(self) -> tuple[str, ...]:
        """The slider moves as ``--set`` strings."""
        return as_sets(self.overrides)

    def value(self, key: str, default: float) -> float:
        """The slider ``key``'s value: moved, or the scenario's ``default``."""
        return dict(self.overrides).get(key, default)

    def moved(self, key: str, value: float, default: float) -> Settings:
        """Slider ``key`` set to ``value``; dropped from the moves when back at ``default``."""
        pairs = dict(self.overrides)
        if abs(float(value) - float(default)) <= TOLERANCE:
            pairs.pop(key, None)
        else:
            pairs[key] = float(value)
        return replace(self, overrides=tuple(pairs.items()))

    def reset(self, prefix: str = "") -> Settings:
        """Every slider whose key starts with ``prefix`` back at the scenario's value."""
        kept = tuple((k, v) for k, v in self.overrides if not k.startswith(prefix))
        return replace(self, overrides=kept)

    def with_path(self, path: str) -> Settings:
        """Another scenario file: the slider moves and the member choice are dropped."""
        return Settings(path=path, revision=self.revision + 1)

    def reloaded(self) -> Settings:
        """The same choices, with the file read again from disk."""
        return replace(self, revision=self.revision + 1)

    def with_member(self, code: str | None) -> Settings:
        return replace(self, member=code)


@dataclass(frozen=True)
class RunOptions:
    """Size and seed of an ensemble; one root seed pairs two scenarios replicate by replicate."""

    replicates: int = DEFAULT_REPLICATES
    seed: int = DEFAULT_SEED

    def valid(self) -> RunOptions:
        """Replicates clipped to 1 … :data:`MAX_REPLICATES`, seed to a non-negative integer."""
        return RunOptions(min(max(int(self.replicates), 1), MAX_REPLICATES), abs(int(self.seed)))
