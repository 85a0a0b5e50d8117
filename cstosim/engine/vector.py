"""The vectorised engine: many replicates of one scenario at once, as arrays (docs/MODEL.md §3).

The Mesa :class:`~cstosim.model.alliance.AllianceModel` steps one replicate; this engine steps a
whole chunk of replicates together. Every stochastic variable is an array whose first axis runs
over replicates and whose last axis runs over members (alignment, credibility evidence,
grievance, engagement, empty chairs, the poles' pulls, the chair); what no draw can change
(structural parameters, threats, ties, the leader's capacity, the wars, the model-wide
coefficients) is held once for all replicates. The month is the Mesa model's month, with the
same :mod:`cstosim.model.rules`, the same keyed draws (:mod:`cstosim.model.draws`) and the same
metrics; where the Mesa model branches on one replicate's state, this engine applies the
branch to the replicates where it holds (masks). The event handlers are in
:mod:`cstosim.engine.vector_events`. Same scenario and seed ⇒ the same three tables as the Mesa
model, replicate for replicate (``tests/test_vector_agreement.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from cstosim.engine.eventlog import EventLog, categorical
from cstosim.engine.vector_batch import Variation, variation
from cstosim.language.parameters import Parameters
from cstosim.language.scenario import Scenario, month_index
from cstosim.model import draws, metrics, rules
from cstosim.model.calendar import events_by_month, month_label, months_between
from cstosim.model.columns import AGENT_REPORTERS, MODEL_REPORTERS
from cstosim.model.levels import (
    ABSENT,
    ACTIVE,
    DISENGAGED,
    DOMESTIC,
    EXITED,
    FROZEN,
    INTERSTATE,
    STATES,
    TRANSITION_OUTCOMES,
    level_name,
)
from cstosim.model.state import ActiveWar, AllianceState, Ramp, build_state

Float = NDArray[np.float64]
Bool = NDArray[np.bool_]
Int = NDArray[np.int64]


@dataclass
class Chunk:
    """The three tables of a chunk of replicates, ``replicate`` first (docs/INTERFACES.md)."""

    model: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame


class VectorRun:
    """Replicates ``keys`` of one scenario, stepped together month by month.

    Args:
        scenario: a loaded scenario.
        keys: each replicate's key (:func:`cstosim.model.draws.replicate_keys`).
        until: ``"YYYY-MM"`` to run past (or stop before) ``calendar.end``, as for the Mesa model.
    """

    def __init__(
        self,
        scenario: Scenario,
        keys: NDArray[np.uint64],
        until: str | None = None,
        variation: Variation | None = None,
    ):
        self.spec = scenario
        vary = variation if variation is not None else Variation()
        self.params: Parameters = scenario.parameters.model_copy(update=vary.params)
        start = month_index(scenario.calendar.start)
        end = month_index(until) if until is not None else month_index(scenario.calendar.end)
        if end < start:
            raise ValueError(
                f"until={until} is before the calendar start {scenario.calendar.start}"
            )
        self.months = months_between(start, end)
        self.keys = np.asarray(keys, dtype=np.uint64)
        r = self.keys.size
        self.r = r
        shared: AllianceState = build_state(scenario)
        self.shared = shared  # structural parameters, threats, ties, capacity: one copy
        n = shared.n
        self.member_ids = draws.member_hashes(shared.codes)
        self.codes = np.array(shared.codes, dtype=object)
        # per-replicate state, (replicates, members) unless noted
        self.alignment = np.tile(shared.alignment, (r, 1))
        self.alpha = vary.state.get("alpha", np.tile(shared.alpha, (r, 1, 1)))  # (reps, 2, members)
        self.beta = vary.state.get("beta", np.tile(shared.beta, (r, 1, 1)))
        # what differs between replicates though a single run holds it once (vector_batch.py)
        self.alpha0 = vary.state.get("alpha0", shared.alpha0)
        self.beta0 = vary.state.get("beta0", shared.beta0)
        self._ties = vary.state.get("ties")
        self.severity = vary.severity
        self.grievance = np.tile(shared.grievance, (r, 1))
        self.level = np.tile(shared.level, (r, 1)).astype(np.int64)
        self.roster = np.tile(shared.roster, (r, 1))
        self.empty_chair = np.zeros((r, n))
        self.frozen_months = np.zeros((r, n), dtype=np.int64)
        self.pulls = np.tile(shared.pulls, (r, 1, 1))  # (replicates, actors, members)
        self.pull_listed = np.tile(shared.pull_listed, (r, 1, 1))
        self.chair = np.full(r, -1, dtype=np.int64)  # member index of the chair, −1 for none
        self.exits = np.zeros(r, dtype=np.int64)
        self.value = np.zeros((r, n))
        self.outside = np.zeros((r, n))
        self.net = np.zeros((r, n))
        self.credibility = np.zeros((r, n))
        self.wars: list[ActiveWar] = []
        self.ramps: list[Ramp] = []
        self.log = EventLog(r)
        self.t = 0
        self._events = events_by_month(scenario.events)
        self._steps = {month: k for k, month in enumerate(self.months)}
        self._record_model: dict[str, list[Any]] = {name: [] for name in MODEL_REPORTERS}
        self._record_members: dict[str, list[Any]] = {
            name: [] for name in AGENT_REPORTERS if name != "member"
        }
        self.update_values()

    # ------------------------------------------------------------------ state used by events

    @property
    def n(self) -> int:
        return self.shared.n

    @property
    def leader(self) -> int:
        return self.shared.leader

    def present(self) -> Bool:
        """Members taking part: joined, in the roster and not exited (active..frozen)."""
        return self.roster & (self.level >= ACTIVE) & (self.level <= FROZEN)

    def deciding(self) -> Bool:
        """Members in the alliance's decisions: active or disengaged."""
        return self.roster & (self.level >= ACTIVE) & (self.level <= DISENGAGED)

    @property
    def ties(self) -> Float:
        """Ties of sources to members: (sources, members), or (replicates, sources, members)."""
        return self.shared.ties if self._ties is None else self._ties

    def index(self, code: str) -> int | None:
        return self.shared.member_index(code)

    def source_index(self, code: str) -> int | None:
        return self.shared.source_index(code)

    @property
    def month(self) -> tuple[int, int]:
        return self.months[min(self.t, len(self.months) - 1)]

    def month_first(self) -> str:
        return f"{month_label(self.month)}-01"

    def event_draws(self, event_id: str, purpose: int) -> Float:
        """One draw per replicate and member for an event, as the Mesa model's ``event_draws``."""
        kind = "uniform" if purpose == draws.EVENT_UNIFORM else "normal"
        return draws.for_event(self.keys, event_id, purpose, self.member_ids, kind)

    def set_level(
        self, mask: Bool, i: int, new: int, event_id: str, type_: str, outcome: Any, detail: Any
    ) -> None:
        """Set member ``i``'s engagement to ``new`` where ``mask`` holds, and log it."""
        old = self.level[:, i]
        if new == EXITED:
            self.exits += mask & (old != EXITED)
        self.level[:, i] = np.where(mask, new, old)
        if new in (ACTIVE, DISENGAGED, FROZEN):
            self.roster[:, i] |= mask
        self.log.log(
            mask, self.month_first(), event_id, type_, self.shared.codes[i], outcome, detail
        )

    # ---------------------------------------------------------------------------- the month

    def run(self) -> None:
        """Step every month; :meth:`tables` then gives the results."""
        from cstosim.engine.vector_events import HANDLERS, advance_ramps

        s, p = self.shared, self.params
        for t, month in enumerate(self.months):
            self.t = t
            # 1. structural bookkeeping
            for i, joined in enumerate(s.joined_month):
                if joined == month:
                    mask = self.level[:, i] == ABSENT
                    new = int(s.initial_level[i])
                    self.level[:, i] = np.where(mask, new, self.level[:, i])
                    self.roster[:, i] = np.where(mask, new <= FROZEN, self.roster[:, i])
                    label = month_label(month)
                    self.log.log(
                        mask,
                        f"{label}-01",
                        f"roster:{s.codes[i]}:joined:{label}",
                        "join",
                        s.codes[i],
                        "joined",
                        "joins on its `joined` date",
                    )
            self.wars = [w for w in self.wars if w.ends is None or w.ends >= month]
            advance_ramps(self)
            if s.pull_growth.size:
                self.pulls = rules.pull_growth_step(
                    self.pulls, self.pull_listed, s.pull_growth[:, None]
                )
            # 2. scenario events of the month
            for ev in self._events.get(month, ()):
                HANDLERS[ev.type](self, ev)
            # 3. memory, grievance, capacity
            self.alpha, self.beta = rules.forget(
                self.alpha, self.beta, self.alpha0, self.beta0, p.credibility_memory
            )
            self.grievance = rules.grievance_step(self.grievance, p.grievance_decay)
            drains = [w.drain for w in self.wars if w.initiator == s.leader]
            target = rules.capacity_target(float(s.capacity_base[s.leader]), drains)
            s.capacity = float(
                rules.clip(rules.capacity_step(s.capacity, target, p.capacity_recovery), 0, 1)
            )
            # 4. value
            self.update_values()
            # 5. synchronous alignment and engagement
            noise, uniform = draws.monthly(self.keys, month, self.member_ids)
            self.update_alignment(noise)
            self.update_engagement(uniform)
            # 6. metrics
            self.record()
        self.t = len(self.months)

    def update_values(self) -> None:
        """Membership value, outside option and net value of every member (§7.4)."""
        s, p = self.shared, self.params
        n = s.n
        c = rules.beta_mean(self.alpha, self.beta)  # (replicates, 2, members)
        present = self.present()
        inside = np.zeros((self.r, len(s.sources)), dtype=bool)
        inside[:, :n] = present
        external, internal = rules.threat_split(s.threats, inside, self.ties[..., s.leader])
        security = rules.security_value(external, internal, c[:, INTERSTATE], p)
        entrapment: Any = np.zeros((self.r, n))
        if self.wars:
            shares = np.zeros((len(self.wars), self.r, n))
            for k, w in enumerate(self.wars):
                if w.initiator is not None:
                    shares[k] = rules.war_entrapment(
                        w.entrapment,
                        present[:, w.initiator, None],
                        np.arange(n) == w.initiator,
                    )
            entrapment = rules.combine_independent(shares, axis=0)
        structural = rules.structural_value(s.dependence, s.capability, s.autonomy, p)
        self.value = rules.membership_value(
            security,
            s.regime * c[:, DOMESTIC],
            structural,
            s.sanctions * entrapment,
            self.grievance,
            p,
        )
        self.outside = np.zeros((self.r, n)) + rules.outside_option(self.pulls[:, s.is_pole])
        self.net = rules.net_value(self.value, self.outside, p)
        self.credibility = rules.reported_credibility(
            c[:, DOMESTIC], c[:, INTERSTATE], s.threats.sum(axis=1), s.regime
        )

    def update_alignment(self, noise: Float) -> None:
        """Synchronous alignment step for members taking part (§7.5)."""
        s, p = self.shared, self.params
        present = self.present()
        target = rules.target_alignment(self.net, p.value_sensitivity)
        peers = rules.peer_pull(self.alignment, present, p.confidence_bound)
        leader_line = np.where(
            present[:, s.leader, None], self.alignment[:, s.leader, None], self.alignment
        )
        new = rules.alignment_step(
            self.alignment, target, peers, leader_line - self.alignment, s.dependence, noise, p
        )
        self.alignment = np.where(present, new, self.alignment)

    def update_engagement(self, uniform: Float) -> None:
        """Monthly engagement transitions by hazard (§7.7), logged member by member."""
        s, p = self.shared, self.params
        present = self.present()
        years = self.frozen_months / 12.0
        down, up = rules.engagement_hazards(self.net, self.level, s.exit_cost, p, years)
        new = rules.engagement_transition(self.level, down, up, uniform)
        new = np.where(present, new, self.level)
        label = month_label(self.month)
        changed = new != self.level
        for i in np.flatnonzero(changed.any(axis=0)):
            before = self.level[:, i].copy()
            for (old, lv), outcome in TRANSITION_OUTCOMES.items():
                mask = changed[:, i] & (before == old) & (new[:, i] == lv)
                if not mask.any():
                    continue
                detail = np.full(self.r, "", dtype=object)
                detail[mask] = [
                    f"{level_name(old)} → {level_name(lv)} (net value {v:+.3f})"
                    for v in self.net[mask, i]
                ]
                self.set_level(
                    mask,
                    int(i),
                    lv,
                    f"endogenous:{s.codes[i]}:{outcome}:{label}",
                    "engagement",
                    outcome,
                    detail,
                )
        self.frozen_months = np.where(self.level == FROZEN, self.frozen_months + 1, 0)

    def record(self) -> None:
        """This month's model reporters and member values (§7.9)."""
        s, p = self.shared, self.params
        present = self.present()
        m = self._record_model
        m["cohesion"].append(
            metrics.cohesion(self.alignment, self.level, self.empty_chair, self.roster, p)
        )
        m["credibility_mean"].append(metrics.credibility_mean(self.credibility, present))
        m["engaged_share"].append(metrics.engaged_share(self.level, self.roster))
        m["polarization"].append(metrics.polarization(self.alignment, present))
        m["blocs"].append(metrics.blocs(self.alignment, present, p.bloc_distance))
        m["consensus_capacity"].append(
            metrics.consensus_capacity(self.alignment, self.empty_chair, self.deciding(), p)
        )
        m["exits"].append(self.exits.copy())
        m["capacity"].append(np.full(self.r, s.capacity))
        a = self._record_members
        a["alignment"].append(self.alignment.copy())
        a["credibility"].append(np.asarray(self.credibility).copy())
        a["engagement"].append(self.level.copy())
        a["value"].append(np.asarray(self.value).copy())
        a["outside_option"].append(self.outside.copy())
        a["grievance"].append(np.asarray(self.grievance).copy())

    def recorded(self, name: str, month: tuple[int, int]) -> NDArray[Any] | None:
        """A member reporter (``engagement`` as levels, ABSENT for absent) at the end of
        ``month``, (replicates, members); None if the run did not record that month."""
        step = self._steps.get(month)
        return None if step is None or step >= self.t else self._record_members[name][step]

    def tables(self, replicate_ids: Sequence[int] | None = None) -> Chunk:
        """The chunk's tables, rows in replicate order (then month, then member)."""
        ids = np.arange(self.r) if replicate_ids is None else np.asarray(replicate_ids)
        ids = ids.astype(np.int64)
        t, r, n = self.t, self.r, self.n
        dates = pd.to_datetime(
            [f"{month_label(mo)}-01" for mo in self.months[:t]], format="%Y-%m-%d"
        )
        model: dict[str, Any] = {
            "replicate": np.repeat(ids, t),
            "date": np.tile(dates.values, r),
        }
        for name in MODEL_REPORTERS:
            model[name] = np.stack(self._record_model[name], axis=1).reshape(-1) if t else []
        model_frame = pd.DataFrame(model)
        for name in ("blocs", "exits"):
            model_frame[name] = model_frame[name].astype(np.int64)
        members: dict[str, Any] = {
            "replicate": np.repeat(ids, t * n),
            "date": np.tile(np.repeat(dates.values, n), r),
            "member": categorical(np.tile(np.arange(n), r * t), list(self.shared.codes)),
        }
        for name in AGENT_REPORTERS[1:]:
            stacked = np.stack(self._record_members[name], axis=1) if t else np.zeros((r, 0, n))
            if name == "engagement":
                codes = np.where(stacked == ABSENT, len(STATES) - 1, stacked).reshape(-1)
                members[name] = categorical(codes, list(STATES))
            else:
                members[name] = stacked.reshape(-1).astype(np.float64)
        return Chunk(
            model=model_frame,
            members=pd.DataFrame(members),
            events=self.log.table(ids),
        )


def run_chunk(
    scenario: Scenario, root_seed: int, indices: Sequence[int], until: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Replicates ``indices`` of an ensemble with root seed ``root_seed``: their three tables.

    Replicate k gets the key the Mesa model draws from ``SeedSequence(root_seed).spawn(k+1)[k]``,
    so its rows equal those of ``cstosim.model.alliance.simulate`` for that seed.
    """
    keys = draws.replicate_keys(root_seed, indices)
    run = VectorRun(scenario, keys, until)
    run.run()
    chunk = run.tables(indices)
    return chunk.model, chunk.members, chunk.events


def simulate(
    scenario: Scenario, seeds: Sequence[np.random.SeedSequence | int], until: str | None = None
) -> Chunk:
    """Run one replicate per seed (as ``cstosim.model.alliance.simulate`` takes them)."""
    keys = np.array(
        [draws.replicate_key(np.random.default_rng(seed)) for seed in seeds], dtype=np.uint64
    )
    run = VectorRun(scenario, keys, until)
    run.run()
    return run.tables()


def run_variants(
    variants: Sequence[Scenario],
    roots: Sequence[int],
    replicates: int,
    until: str | None = None,
) -> VectorRun:
    """Variant k with replicates ``0..replicates-1`` of root seed ``roots[k]`` (as
    :func:`run_chunk` keys them), all stepped in one run: replicate ``k·replicates + j`` of the
    run is replicate j of variant k (:mod:`cstosim.engine.vector_batch`; raises
    :class:`~cstosim.engine.vector_batch.NotBatchable` for variants it cannot batch)."""
    keys = np.concatenate([draws.replicate_keys(root, range(replicates)) for root in roots])
    group = np.repeat(np.arange(len(variants), dtype=np.int64), replicates)
    run = VectorRun(variants[0], keys, until, variation(variants, group))
    run.run()
    return run
