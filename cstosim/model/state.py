"""Every member's parameters and state as arrays, and the running wars and ramps (§2, §5).

The state of every member lives in :class:`AllianceState`, one NumPy array per variable (the
last axis runs over members). Keeping the numbers in arrays makes the monthly update synchronous
by construction (every member's new value is computed from the same old arrays, so agent order
cannot matter). The Mesa agents (:mod:`cstosim.model.agents`) are views onto these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from annotated_types import Ge, Le
from numpy.typing import NDArray

from cstosim.language.parameters import Parameters
from cstosim.language.scenario import Engagement, Scenario, month_index
from cstosim.model import rules
from cstosim.model.levels import ABSENT, ACTIVE, DISENGAGED, DOMESTIC, FROZEN, INTERSTATE

# member field name (scenario) → attribute of AllianceState
MEMBER_FIELDS: dict[str, str] = {
    "capability": "capability",
    "capacity": "capacity_base",
    "dependence": "dependence",
    "regime_insecurity": "regime",
    "sanctions_exposure": "sanctions",
    "autonomy_cost": "autonomy",
    "exit_cost": "exit_cost",
}

Float = NDArray[np.float64]


@dataclass
class AllianceState:
    """Every member's parameters and state, one array per variable (docs/MODEL.md §2).

    Sources of threats and ties are indexed over ``sources`` = member codes then actor codes.
    """

    codes: list[str]
    actors: list[str]
    leader: int
    # structural parameters (changeable by parameter shocks)
    capability: Float
    capacity_base: Float
    dependence: Float
    regime: Float
    sanctions: Float
    autonomy: Float
    exit_cost: Float
    threats: Float  # (members, sources)
    ties: Float  # (sources, members): tie of a source to a member
    pulls: Float  # (actors, members)
    pull_listed: NDArray[np.bool_]  # (actors, members): pulls that grow by pull_growth
    pull_growth: Float  # (actors,)
    is_pole: NDArray[np.bool_]  # (actors,)
    # state
    alignment: Float
    alpha: Float  # (2, members): rows DOMESTIC, INTERSTATE
    beta: Float
    alpha0: Float
    beta0: Float
    grievance: Float
    level: NDArray[np.int_]
    roster: NDArray[np.bool_]
    empty_chair: Float
    frozen_months: NDArray[np.int_]  # months each member has been frozen (0 unless frozen)
    capacity: float
    joined_month: list[tuple[int, int]]
    initial_alignment: Float
    initial_level: NDArray[np.int_]
    # derived each month (for decisions and reporting)
    value: Float = field(default_factory=lambda: np.zeros(0))
    outside: Float = field(default_factory=lambda: np.zeros(0))
    net: Float = field(default_factory=lambda: np.zeros(0))
    credibility: Float = field(default_factory=lambda: np.zeros(0))

    @property
    def sources(self) -> list[str]:
        return self.codes + self.actors

    @property
    def n(self) -> int:
        return len(self.codes)

    def member_index(self, code: str) -> int | None:
        """Member index of ``code``, or None if it is not a member."""
        return self.codes.index(code) if code in self.codes else None

    def source_index(self, code: str) -> int | None:
        """Index of ``code`` among threat/tie sources (members, then actors), or None."""
        sources = self.sources
        return sources.index(code) if code in sources else None

    def present(self) -> NDArray[np.bool_]:
        """Members taking part: joined, in the roster and not exited (active..frozen)."""
        return self.roster & (self.level >= ACTIVE) & (self.level <= FROZEN)

    def deciding(self) -> NDArray[np.bool_]:
        """Members in the alliance's decisions: active or disengaged (frozen ones suspended)."""
        return self.roster & (self.level >= ACTIVE) & (self.level <= DISENGAGED)

    def credibilities(self) -> Float:
        """Per-crisis-type credibility c_k = α_k/(α_k+β_k), shape (2, members)."""
        return np.asarray(rules.beta_mean(self.alpha, self.beta))

    def reported_credibility(self) -> Float:
        """Exposure-weighted credibility (docs/MODEL.md §7.3).

        c = (ΣT·c_I + R·c_D)/(ΣT + R), the plain mean of c_I and c_D if a member has neither
        threats nor regime insecurity.
        """
        c = self.credibilities()
        return np.asarray(
            rules.reported_credibility(
                c[DOMESTIC], c[INTERSTATE], self.threats.sum(axis=1), self.regime
            )
        )


def build_state(s: Scenario) -> AllianceState:
    """Initial arrays from a scenario (docs/MODEL.md §5 "Initialisation")."""
    codes = list(s.members)
    actors = list(s.actors)
    sources = codes + actors
    src = {c: k for k, c in enumerate(sources)}
    n, m = len(codes), len(sources)
    members = [s.members[c] for c in codes]

    def arr(name: str) -> Float:
        return np.array([float(getattr(x, name)) for x in members])

    threats = np.zeros((n, m))
    for i, x in enumerate(members):
        for code, threat in x.threats.items():
            threats[i, src[code]] = threat
    ties = np.zeros((m, n))
    for i, x in enumerate(members):
        for code, tie in x.ties.items():
            if code in s.members:
                ties[i, codes.index(code)] = tie
    pulls = np.zeros((len(actors), n))
    listed = np.zeros((len(actors), n), dtype=bool)
    for a, code in enumerate(actors):
        actor = s.actors[code]
        for target, tie in actor.ties.items():
            ties[n + a, codes.index(target)] = tie
        for target, pull in actor.pull.items():
            pulls[a, codes.index(target)] = pull
            listed[a, codes.index(target)] = True
    cred_i = arr_initial(members, "credibility")
    cred_d = np.array(
        [
            x.initial.credibility
            if x.initial.credibility_domestic is None
            else x.initial.credibility_domestic
            for x in members
        ]
    )
    weight = arr_initial(members, "credibility_weight")
    alpha0 = np.vstack([cred_d * weight, cred_i * weight])
    beta0 = np.vstack([(1 - cred_d) * weight, (1 - cred_i) * weight])
    start = month_index(s.calendar.start)
    joined = [month_index(x.joined) for x in members]
    initial_level = np.array([Engagement(x.initial.engagement).level for x in members])
    level = np.where([j <= start for j in joined], initial_level, ABSENT).astype(int)
    leader = codes.index(s.leader)
    state = AllianceState(
        codes=codes,
        actors=actors,
        leader=leader,
        capability=arr("capability"),
        capacity_base=arr("capacity"),
        dependence=arr("dependence"),
        regime=arr("regime_insecurity"),
        sanctions=arr("sanctions_exposure"),
        autonomy=arr("autonomy_cost"),
        exit_cost=arr("exit_cost"),
        threats=threats,
        ties=ties,
        pulls=pulls,
        pull_listed=listed,
        pull_growth=np.array([float(s.actors[a].pull_growth) for a in actors]),
        is_pole=np.array([s.actors[a].kind == "pole" for a in actors], dtype=bool),
        alignment=arr_initial(members, "alignment"),
        alpha=alpha0.copy(),
        beta=beta0.copy(),
        alpha0=alpha0,
        beta0=beta0,
        grievance=arr_initial(members, "grievance"),
        level=level,
        roster=(level >= ACTIVE) & (level <= FROZEN),
        empty_chair=np.zeros(n),
        frozen_months=np.zeros(n, dtype=int),
        capacity=float(s.members[s.leader].capacity),
        joined_month=joined,
        initial_alignment=arr_initial(members, "alignment"),
        initial_level=initial_level.astype(int),
    )
    return state


def arr_initial(members: list, name: str) -> Float:
    return np.array([float(getattr(x.initial, name)) for x in members])


@dataclass
class ActiveWar:
    """A war in progress (docs/MODEL.md §7.8)."""

    event_id: str
    initiator: int | None  # member index, or None for a non-member initiator
    drain: float
    entrapment: float
    ends: tuple[int, int] | None


@dataclass
class Ramp:
    """A parameter shock spread over months (docs/MODEL.md §7.6)."""

    event_id: str
    date: str
    target: str
    increment: float
    remaining: int
    clipped: bool = False


def parameter_bounds(name: str) -> tuple[float, float]:
    """(ge, le) of a model coefficient, from its pydantic field (docs/MODEL.md §8)."""
    lo, hi = -np.inf, np.inf
    for meta in Parameters.model_fields[name].metadata:
        if isinstance(meta, Ge):
            lo = float(meta.ge)  # type: ignore[arg-type]
        if isinstance(meta, Le):
            hi = float(meta.le)  # type: ignore[arg-type]
    return lo, hi
