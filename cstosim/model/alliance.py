"""The alliance model: :class:`AllianceModel` (a ``mesa.Model``) and :func:`simulate`.

One step is one calendar month (docs/MODEL.md §3 "Process overview and scheduling"):

1. members whose ``joined`` month has come join the roster; wars past their end stop;
   ramped parameter shocks advance; the poles' pulls grow;
2. the month's scenario events are applied in date order, one handler per type
   (:mod:`cstosim.model.events`); invocations are resolved and learnt from as they come;
3. credibility evidence and grievance fade; the leader's capacity relaxes toward its target;
4. membership value, outside option and net value are computed for every member;
5. alignment and engagement are updated **synchronously** from that one state;
6. metrics are collected by ``self.datacollector`` (attribute-name reporters).

The cstosim scenario is ``model.spec`` (``model.scenario`` is Mesa's own scenario object,
which Mesa 3.5 reserves); the coefficients in force are ``model.params`` (a copy of
``spec.parameters`` that parameter shocks change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from cstosim.language.parameters import Parameters
from cstosim.language.scenario import Event, Scenario, month_index
from cstosim.model import draws, metrics, rules
from cstosim.model.agents import MemberState
from cstosim.model.calendar import events_by_month, months_between
from cstosim.model.columns import AGENT_REPORTERS, EVENT_COLUMNS, MODEL_REPORTERS
from cstosim.model.events import HANDLERS, advance_ramps
from cstosim.model.levels import (
    ABSENT,
    ACTIVE,
    DISENGAGED,
    DOMESTIC,
    EXITED,
    FROZEN,
    INTERSTATE,
    LEVEL_NAMES,
    TRANSITION_OUTCOMES,
)
from cstosim.model.state import ActiveWar, AllianceState, Ramp, build_state, parameter_bounds


@dataclass
class Replicate:
    """One run's tables (docs/INTERFACES.md): model-level, member-level and event log."""

    model: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


class AllianceModel(mesa.Model):
    """An alliance of member states stepping one month at a time (docs/MODEL.md).

    Args:
        scenario: a scenario file path (``str``/``Path``, as ``mesa.batch_run`` passes it) or a
            loaded :class:`~cstosim.language.scenario.Scenario`.
        rng: Mesa's random-number argument (int seed, ``numpy.random.Generator``, SeedSequence
            or None). One integer ``self.key`` is drawn from ``self.rng`` at initialisation; every
            random number of the run is then a keyed draw of :mod:`cstosim.model.draws` (key,
            purpose, event, month, member), so that adding or removing an event leaves all other
            draws unchanged and the vectorised engine draws the same numbers (docs/MODEL.md §3).
        until: ``"YYYY-MM"``: run to this month instead of ``calendar.end`` (later: project past
            the last event; earlier: stop there).
    """

    def __init__(
        self,
        scenario: str | Path | Scenario,
        rng: Any = None,
        until: str | None = None,
    ) -> None:
        super().__init__(rng=rng)
        # common random numbers: every draw is keyed (docs/MODEL.md §3 "Random numbers")
        # the first draw of the generator as it came in (Mesa has since taken one for `random`
        # unless rng was an int), so that the vectorised engine can draw the same key
        incoming = np.random.Generator(type(self.rng.bit_generator)())
        incoming.bit_generator.state = self._rng
        self.key = draws.replicate_key(incoming)
        self._keys = np.array([self.key], dtype=np.uint64)
        if isinstance(scenario, Scenario):
            spec = scenario
        else:
            from cstosim.language.loader import load_scenario

            spec = load_scenario(scenario)
        self.spec: Scenario = spec
        self.params: Parameters = spec.parameters.model_copy()
        start = month_index(spec.calendar.start)
        end = month_index(until) if until is not None else month_index(spec.calendar.end)
        if end < start:
            raise ValueError(f"until={until} is before the calendar start {spec.calendar.start}")
        self.months = months_between(start, end)
        self.t = 0  # index of the next month to step
        self.state: AllianceState = build_state(spec)
        self.event_log: list[dict[str, Any]] = []
        self.wars: list[ActiveWar] = []
        self.ramps: list[Ramp] = []
        self.chair: str | None = None
        self.exits = 0
        self._events = events_by_month(spec.events)
        self.member_agents: list[MemberState] = [
            MemberState(self, code, i) for i, code in enumerate(self.state.codes)
        ]
        self._member_ids = draws.member_hashes(self.state.codes)
        self.update_values()
        self.update_metrics()
        self.datacollector = mesa.DataCollector(
            model_reporters={name: name for name in MODEL_REPORTERS},
            agent_reporters={name: name for name in AGENT_REPORTERS},
        )
        self.running = bool(self.months)

    # ------------------------------------------------------------------ helpers used by events

    @property
    def month(self) -> tuple[int, int]:
        """The month being stepped (the last one once the run is over)."""
        return self.months[min(self.t, len(self.months) - 1)]

    def index(self, code: str) -> int | None:
        """Member index of ``code``, or None if it is not a member."""
        return self.state.member_index(code)

    def source_index(self, code: str) -> int | None:
        """Index of ``code`` among threat/tie sources (members, then actors)."""
        return self.state.source_index(code)

    def takes_part(self, code: str) -> bool:
        """True if member ``code`` has joined and not exited (active, disengaged or frozen)."""
        i = self.index(code)
        return i is not None and bool(self.state.present()[i])

    def event_draws(self, event_id: str, purpose: int) -> np.ndarray:
        """One draw per member for an event: a standard normal for ``draws.EVENT_NOISE``, a
        uniform for ``draws.EVENT_UNIFORM`` (keyed by the event id; :mod:`cstosim.model.draws`).
        """
        kind = "uniform" if purpose == draws.EVENT_UNIFORM else "normal"
        return draws.for_event(self._keys, event_id, purpose, self._member_ids, kind)[0]

    def _monthly_draws(self) -> tuple[np.ndarray, np.ndarray]:
        """This month's alignment noise (normal) and engagement uniforms, one each per member."""
        noise, uniform = draws.monthly(self._keys, self.month, self._member_ids)
        return noise[0], uniform[0]

    def log(
        self,
        date: str,
        event_id: str,
        type_: str,
        member: str | None = None,
        outcome: str | None = None,
        detail: str = "",
        response: float = float("nan"),
        delay: float = float("nan"),
        consensus: str | None = None,
    ) -> None:
        """Append one entry to ``self.event_log`` (columns of docs/INTERFACES.md)."""
        self.event_log.append(
            {
                "date": date if len(date) == 10 else f"{date[:7]}-01",
                "event_id": event_id,
                "type": type_,
                "member": member,
                "response": float(response),
                "outcome": outcome,
                "delay_days": float(delay),
                "consensus": consensus,
                "detail": detail,
            }
        )

    def skip(self, ev: Event, member: str, why: str) -> None:
        """Log a scenario event that cannot apply (docs/MODEL.md §7.10): outcome ``skipped``."""
        self.log(ev.date, ev.id, ev.type, member, "skipped", why)

    def month_label(self) -> str:
        y, m = self.month
        return f"{y:04d}-{m:02d}"

    def set_level(
        self, i: int, new: int, event_id: str, type_: str, outcome: str, detail: str
    ) -> None:
        """Change member ``i``'s engagement level and log it."""
        old = int(self.state.level[i])
        self.state.level[i] = new
        if new in (ACTIVE, DISENGAGED, FROZEN):
            self.state.roster[i] = True
        if new == EXITED and old != EXITED:
            self.exits += 1
        self.log(f"{self.month_label()}-01", event_id, type_, self.state.codes[i], outcome, detail)

    # ---------------------------------------------------------------------------- the month

    def run(self) -> None:
        """Step month by month to the end of the run; ``running`` is then False."""
        while self.running:
            self.step()

    def step(self) -> None:
        """Advance one month (docs/MODEL.md §3)."""
        if self.t >= len(self.months):
            self.running = False
            return
        month = self.months[self.t]
        s, p = self.state, self.params
        # 1. structural bookkeeping
        for i, joined in enumerate(s.joined_month):
            if joined == month and s.level[i] == ABSENT:
                new = int(s.initial_level[i])
                s.level[i] = new
                s.roster[i] = new <= FROZEN
                self.log(
                    f"{self.month_label()}-01",
                    f"roster:{s.codes[i]}:joined:{self.month_label()}",
                    "join",
                    s.codes[i],
                    "joined",
                    "joins on its `joined` date",
                )
        self.wars = [w for w in self.wars if w.ends is None or w.ends >= month]
        advance_ramps(self)
        if s.pull_growth.size:  # only the pulls the scenario lists (or events have set)
            s.pulls = rules.pull_growth_step(s.pulls, s.pull_listed, s.pull_growth[:, None])
        # 2. scenario events of the month
        for ev in self._events.get(month, ()):
            HANDLERS[ev.type](self, ev)
        # 3. memory, grievance, capacity
        s.alpha, s.beta = rules.forget(s.alpha, s.beta, s.alpha0, s.beta0, p.credibility_memory)
        s.grievance = rules.grievance_step(s.grievance, p.grievance_decay)
        drains = [w.drain for w in self.wars if w.initiator == s.leader]
        target = rules.capacity_target(float(s.capacity_base[s.leader]), drains)
        s.capacity = float(
            rules.clip(rules.capacity_step(s.capacity, target, p.capacity_recovery), 0, 1)
        )
        # 4. value
        self.update_values()
        # 5. synchronous alignment and engagement (draws made for every member every month)
        noise, uniform = self._monthly_draws()
        self.update_alignment(noise)
        self.update_engagement(uniform)
        # 6. metrics
        self.update_metrics()
        self.datacollector.collect(self)
        self.t += 1
        if self.t >= len(self.months):
            self.running = False

    def update_values(self) -> None:
        """Membership value V, outside option O and net value N of every member (§7.4)."""
        s, p = self.state, self.params
        n = s.n
        c = s.credibilities()
        present = s.present()
        # threat sources inside the alliance: the leader and every member taking part
        inside = np.zeros(len(s.sources), dtype=bool)
        inside[:n] = present
        external, internal = rules.threat_split(s.threats, inside, s.ties[:, s.leader])
        security = rules.security_value(external, internal, c[INTERSTATE], p)
        entrapment = np.zeros(n)
        if self.wars:
            shares = np.zeros((len(self.wars), n))
            for k, w in enumerate(self.wars):
                if w.initiator is not None:
                    shares[k] = rules.war_entrapment(
                        w.entrapment, present[w.initiator], np.arange(n) == w.initiator
                    )
            entrapment = np.asarray(rules.combine_independent(shares, axis=0))
        structural = rules.structural_value(s.dependence, s.capability, s.autonomy, p)
        s.value = np.asarray(
            rules.membership_value(
                security,
                s.regime * c[DOMESTIC],
                structural,
                s.sanctions * entrapment,
                s.grievance,
                p,
            )
        )
        s.outside = np.zeros(n) + rules.outside_option(s.pulls[s.is_pole])
        s.net = np.asarray(rules.net_value(s.value, s.outside, p))
        s.credibility = s.reported_credibility()

    def update_alignment(self, noise: np.ndarray) -> None:
        """Synchronous alignment step for members taking part (docs/MODEL.md §7.5)."""
        s, p = self.state, self.params
        present = s.present()
        target = rules.target_alignment(s.net, p.value_sensitivity)
        peers = rules.peer_pull(s.alignment, present, p.confidence_bound)
        leader_line = s.alignment[s.leader] if present[s.leader] else s.alignment
        new = rules.alignment_step(
            s.alignment, target, peers, leader_line - s.alignment, s.dependence, noise, p
        )
        s.alignment = np.where(present, new, s.alignment)

    def update_engagement(self, uniform: np.ndarray) -> None:
        """Monthly engagement transitions by hazard (docs/MODEL.md §7.7)."""
        s, p = self.state, self.params
        present = s.present()
        years = s.frozen_months / 12.0
        down, up = rules.engagement_hazards(s.net, s.level, s.exit_cost, p, years)
        new = rules.engagement_transition(s.level, down, up, uniform)
        new = np.where(present, new, s.level)
        label = self.month_label()
        for i in np.flatnonzero(new != s.level):
            old, lv = int(s.level[i]), int(new[i])
            outcome = TRANSITION_OUTCOMES[(old, lv)]
            self.set_level(
                int(i),
                lv,
                f"endogenous:{s.codes[i]}:{outcome}:{label}",
                "engagement",
                outcome,
                f"{LEVEL_NAMES[old]} → {LEVEL_NAMES[lv]} (net value {s.net[i]:+.3f})",
            )
        s.frozen_months = np.where(s.level == FROZEN, s.frozen_months + 1, 0)

    def update_metrics(self) -> None:
        """Model reporters (docs/MODEL.md §7.9)."""
        s, p = self.state, self.params
        present = s.present()
        self.cohesion = float(metrics.cohesion(s.alignment, s.level, s.empty_chair, s.roster, p))
        self.credibility_mean = float(metrics.credibility_mean(s.credibility, present))
        self.engaged_share = float(metrics.engaged_share(s.level, s.roster))
        self.polarization = float(metrics.polarization(s.alignment, present))
        self.blocs = metrics.blocs(s.alignment, present, p.bloc_distance)
        self.consensus_capacity = float(
            metrics.consensus_capacity(s.alignment, s.empty_chair, s.deciding(), p)
        )
        self.capacity = float(s.capacity)
        MemberState.sync(self.member_agents, s)

    # ------------------------------------------------------------------------ parameter bounds

    @staticmethod
    def parameter_bounds(name: str) -> tuple[float, float]:
        """(ge, le) of a model coefficient, from its pydantic field."""
        return parameter_bounds(name)


def simulate(
    scenario: Scenario, seed: np.random.SeedSequence | int | None, until: str | None = None
) -> Replicate:
    """Run one replicate and return its three tables (docs/INTERFACES.md).

    ``seed`` seeds ``numpy.random.default_rng``; the same scenario and seed give identical tables.
    """
    model = AllianceModel(scenario, rng=np.random.default_rng(seed), until=until)
    model.run()
    return tables(model)


def tables(model: AllianceModel) -> Replicate:
    """Build the DataFrames of a finished (or partly run) model."""
    dates = pd.to_datetime(
        [f"{y:04d}-{m:02d}-01" for y, m in model.months[: model.t]], format="%Y-%m-%d"
    )
    mv = model.datacollector.model_vars
    frame = pd.DataFrame({"date": dates, **{k: mv[k] for k in MODEL_REPORTERS}})
    frame["blocs"] = frame["blocs"].astype(int)
    frame["exits"] = frame["exits"].astype(int)
    # Mesa 3.5 keeps agent records as {step: [(step, agent_id, *values)]}; reading them directly
    # is ~5x faster than get_agent_vars_dataframe(), which is the fallback if Mesa changes them
    records = getattr(model.datacollector, "_agent_records", None)
    if isinstance(records, dict):
        per_month = [records[step] for step in sorted(records)]
        rows = [rec[2:] for month in per_month for rec in month]
        members = pd.DataFrame(rows, columns=list(AGENT_REPORTERS))
        members.insert(0, "date", dates.repeat([len(month) for month in per_month]))
    else:  # pragma: no cover - only with a Mesa whose private layout differs
        agents = model.datacollector.get_agent_vars_dataframe().reset_index()
        members = agents[list(AGENT_REPORTERS)].reset_index(drop=True)
        step = agents["Step"].to_numpy(dtype=float)
        members.insert(0, "date", dates[(step - step.min()).astype(int)])
    if model.event_log:
        events = pd.DataFrame(model.event_log, columns=list(EVENT_COLUMNS))
    else:
        events = pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})
    events["date"] = pd.to_datetime(events["date"], format="%Y-%m-%d")
    for col in ("response", "delay_days"):
        events[col] = events[col].astype(float)
    return Replicate(model=frame, members=members, events=events)
