"""One handler per scenario event type, registered by name in :data:`HANDLERS` (§7.6 of MODEL.md).

A handler takes the model and the event, changes the model's state and appends to
``model.event_log``. Events naming a member that has not joined yet or has exited (where the
event needs a member of the alliance) are skipped with an entry whose outcome is ``skipped``;
parameter shocks that would leave a value's range are clipped with an entry ``clipped``
(docs/MODEL.md §7.10).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from cstosim.language.parameters import THRESHOLDS
from cstosim.language.scenario import (
    Attack,
    ChairRotation,
    Crisis,
    DiplomaticSignal,
    Drill,
    Event,
    Invocation,
    Join,
    Outcome,
    OutsideEngagement,
    ParameterShock,
    Summit,
    TreatyRenewal,
    War,
    month_index,
)
from cstosim.model import draws, rules
from cstosim.model.levels import (
    ABSENT,
    ACTIVE,
    CREDIBILITY_ROW,
    DOMESTIC,
    EXITED,
    INTERSTATE,
    LEVEL_NAMES,
)
from cstosim.model.state import MEMBER_FIELDS, ActiveWar, Ramp

if TYPE_CHECKING:
    from cstosim.model.alliance import AllianceModel

Handler = Callable[["AllianceModel", Any], None]
OUTCOMES = list(Outcome)
DEPLOYMENT = Outcome.DEPLOYMENT.level


def _member(model: AllianceModel, ev: Event, code: str) -> int | None:
    """Index of ``code`` if it takes part now; else log the event as skipped and return None."""
    i = model.index(code)
    if i is None:
        model.skip(ev, code, f"{code} is not a member")
        return None
    level = int(model.state.level[i])
    if level == ABSENT:
        model.skip(ev, code, f"{code} has not joined yet")
        return None
    if level == EXITED or not model.state.roster[i]:
        model.skip(ev, code, f"{code} has exited the alliance")
        return None
    return i


def _names(model: AllianceModel, mask: Any) -> str:
    return ", ".join(model.state.codes[i] for i in np.flatnonzero(mask)) or "none"


# --------------------------------------------------------------------------------------------
# Invocations and attacks (§7.2, §7.3)
# --------------------------------------------------------------------------------------------


def observe(model: AllianceModel, caller: int, kind: int, response: float, severity: float) -> None:
    """Everyone taking part learns from the answer to a call (docs/MODEL.md §7.3).

    The caller adds λ_c pseudo-observations, the others λ_b, on the crisis type's posterior
    and a share ``learning_spillover`` of that on the other type's; the caller's grievance
    rises by g·s·(1 − r).
    """
    s, p = model.state, model.params
    present = s.present()
    weight = np.where(np.arange(s.n) == caller, p.learning_caller, p.learning_bystander)
    weight = np.where(present, weight, 0.0)
    other = 1 - kind
    s.alpha[kind], s.beta[kind] = rules.learn(s.alpha[kind], s.beta[kind], response, weight)
    s.alpha[other], s.beta[other] = rules.learn(
        s.alpha[other], s.beta[other], response, weight * p.learning_spillover
    )
    s.grievance[caller] = rules.grievance_add(
        float(s.grievance[caller]), severity, response, p.grievance_gain, p.grievance_cap
    )


def _answer(
    model: AllianceModel, event_id: str, member: int, crisis: str, severity: float, aggressor: Any
) -> tuple[float, bool, Any, Any]:
    """The alliance's answer to a crisis of member ``member`` (docs/MODEL.md §7.2).

    Returns the response level before any ceiling, whether consensus was blocked, the members
    in the decision and the blockers.
    """
    s, p = model.state, model.params
    tie = np.zeros(s.n)
    if aggressor is not None:
        g = model.source_index(aggressor)
        if g is not None:
            if g < s.n and s.present()[g]:
                tie = np.ones(s.n)  # a fellow member: nobody wants to fight it
            else:
                tie = np.maximum(s.ties[g, s.leader], s.ties[g])
    capacity_gap = np.zeros(s.n)
    capacity_gap[s.leader] = 1.0 - s.capacity
    noise = model.event_draws(event_id, draws.EVENT_NOISE) * p.response_noise
    will = rules.willingness(s.alignment, s.regime, severity, tie, capacity_gap, crisis, noise, p)
    part = s.deciding() & (np.arange(s.n) != member)
    leader = np.arange(s.n) == s.leader
    response, blocked = rules.collective_response(
        np.asarray(will), s.capability, part, leader, s.capacity, p
    )
    return float(response), bool(blocked), part, rules.blockers(will, part, p)


def _how(model: AllianceModel, blocked: bool, part: Any, blockers: Any) -> str:
    """How the alliance decided, for the event log."""
    if blocked:
        acted = "leader acted alone" if part[model.state.leader] else "no one acted"
        return f"blocked by {_names(model, blockers)}; {acted}"
    return f"consensus of {_names(model, part)}"


def on_invocation(model: AllianceModel, ev: Invocation) -> None:
    """Resolve a call for help (docs/MODEL.md §7.2) and let every member learn from it (§7.3)."""
    caller = _member(model, ev, ev.member)
    if caller is None:
        return
    p = model.params
    response, blocked, part, blockers = _answer(
        model, ev.id, caller, ev.crisis, ev.severity, ev.aggressor
    )
    asked = Outcome(ev.requested)
    ceiling = float(rules.answer_ceiling(asked.level, ev.severity, p))
    response = float(rules.cap_response(response, ceiling))
    if ev.imposed_response is not None:
        own = OUTCOMES[rules.outcome_index(response, p)].value
        outcome = Outcome(ev.imposed_response)
        response = rules.outcome_level(outcome.level, p)
        detail = f"imposed: {outcome.value} (the model would have answered {own})"
    else:
        outcome = OUTCOMES[rules.outcome_index(response, p)]
        detail = _how(model, blocked, part, blockers)
    if asked != Outcome.DEPLOYMENT:
        detail += f"; {asked.value} requested"
    delay = float(rules.delay_days(response, p))
    consensus = (
        "imposed" if ev.imposed_response is not None else ("blocked" if blocked else "passed")
    )
    model.log(ev.date, ev.id, ev.type, ev.member, outcome.value, detail, response, delay, consensus)
    kind = CREDIBILITY_ROW[Crisis(ev.crisis)]
    observe(model, caller, kind, float(rules.fulfilment(response, ceiling)), ev.severity)


def on_attack(model: AllianceModel, ev: Attack) -> None:
    """An attack on a member that did not call for help (docs/MODEL.md §7.2–7.3).

    The alliance decides whether to act unprompted: the answer to an interstate crisis of the
    attack's severity (§7.2), times ``unprompted_share`` (acting without a request is rarer),
    capped at what the crisis calls for. The target alone learns from how fully it was answered,
    f, with weight λ_a·s on its interstate posterior (λ_a·s·spillover on the domestic one) and
    gains grievance g·s·(1 − f); if the attacker is a fellow member taking part, both are scaled
    by ``learning_member_conflict`` (a fight inside the alliance is not read as the alliance
    failing its member against an outsider).
    """
    i = _member(model, ev, ev.target)
    if i is None:
        return
    s, p = model.state, model.params
    g = model.source_index(ev.attacker)
    fellow = g is not None and g < s.n and bool(s.present()[g])
    response, blocked, part, blockers = _answer(
        model, ev.id, i, Crisis.INTERSTATE, ev.severity, ev.attacker
    )
    ceiling = float(rules.answer_ceiling(DEPLOYMENT, ev.severity, p))
    response = float(rules.cap_response(p.unprompted_share * response, ceiling))
    fulfilled = float(rules.fulfilment(response, ceiling))
    share = p.learning_member_conflict if fellow else 1.0
    w = p.learning_attack * ev.severity * share
    for kind, weight in ((INTERSTATE, w), (DOMESTIC, w * p.learning_spillover)):
        s.alpha[kind, i], s.beta[kind, i] = rules.learn(
            s.alpha[kind, i], s.beta[kind, i], fulfilled, weight
        )
    s.grievance[i] = rules.grievance_add(
        float(s.grievance[i]), ev.severity * share, fulfilled, p.grievance_gain, p.grievance_cap
    )
    outcome = OUTCOMES[rules.outcome_index(response, p)].value
    detail = f"attacked by {ev.attacker}, no call for help; {_how(model, blocked, part, blockers)}"
    if fellow:
        detail += "; by a fellow member"
    delay = float(rules.delay_days(response, p))
    consensus = "blocked" if blocked else "passed"
    model.log(ev.date, ev.id, ev.type, ev.target, outcome, detail, response, delay, consensus)


# --------------------------------------------------------------------------------------------
# Wars (§7.8)
# --------------------------------------------------------------------------------------------


def on_war(model: AllianceModel, ev: War) -> None:
    """A war starts: it drains the initiator's capacity and entraps the others (§7.8)."""
    s = model.state
    initiator = model.index(ev.initiator)
    ends = month_index(ev.ends) if ev.ends else None
    model.wars.append(ActiveWar(ev.id, initiator, ev.drain, ev.entrapment, ends))
    if initiator == s.leader:
        s.capacity = float(rules.capacity_drain(s.capacity, ev.drain))
    model.log(
        ev.date,
        ev.id,
        ev.type,
        ev.initiator,
        "applied",
        f"{ev.initiator} at war with {ev.target}; drain {ev.drain}, "
        f"entrapment {ev.entrapment}, ends {ev.ends or 'open'}",
    )


# --------------------------------------------------------------------------------------------
# Summits, drills, signals, chair (§7.6)
# --------------------------------------------------------------------------------------------


def _attendance(
    model: AllianceModel,
    event_id: str,
    expected: Any,
    given: list[str] | None,
    host: int,
    chair_attends: bool,
) -> Any:
    """Who turns up: given absentees, else the model decides (:func:`rules.attends`); the host
    always attends, and at a summit the chair too (§7.6)."""
    s = model.state
    if given is not None:
        absent = np.isin(np.array(s.codes), given)
        return expected & ~absent
    u = model.event_draws(event_id, draws.EVENT_UNIFORM)
    attend = rules.attends(s.level, s.alignment, u, s.grievance, model.params)
    chair = model.index(model.chair) if model.chair and chair_attends else None
    attend[host] = True
    if chair is not None:
        attend[chair] = True
    return expected & attend


def on_summit(model: AllianceModel, ev: Summit) -> None:
    """A summit (docs/MODEL.md §7.6): attendance, consensus, post hoc approval, empty chairs.

    Expected: members active or disengaged. A member approves iff a + ε ≥ veto_threshold
    (ε ~ N(0, response_noise)). The declaration passes iff no attending member blocks and no
    absentee withholds its approval post hoc. Absentees get an empty chair (e = 1) until they
    attend a later summit.
    """
    host = _member(model, ev, ev.host)
    if host is None:
        return
    s, p = model.state, model.params
    expected = s.deciding()
    attend = _attendance(model, ev.id, expected, ev.absentees, host, chair_attends=True)
    absent = expected & ~attend
    noise = model.event_draws(ev.id, draws.EVENT_NOISE) * p.response_noise
    approve = rules.approves(s.alignment, noise, s.grievance, p)
    block_here = attend & ~approve
    block_later = absent & ~approve
    s.empty_chair = np.where(attend, 0.0, np.where(absent, 1.0, s.empty_chair))
    passed = not (block_here.any() or block_later.any())
    parts = [f"attended: {_names(model, attend)}"]
    if absent.any():
        later = [
            f"{s.codes[i]} ({'withholds approval' if block_later[i] else 'approves'} post hoc)"
            for i in np.flatnonzero(absent)
        ]
        parts.append("absent: " + ", ".join(later))
    if block_here.any():
        parts.append(f"blocked at the summit by {_names(model, block_here)}")
    verdict = "passed" if passed else "blocked"
    model.log(ev.date, ev.id, ev.type, ev.host, verdict, "; ".join(parts), consensus=verdict)
    _log_members(model, ev, expected, attend, approve)


def on_drill(model: AllianceModel, ev: Drill) -> None:
    """A joint exercise (docs/MODEL.md §7.6).

    Held: attendees close a share ``drill_alignment_gain`` of their gap to full alignment.
    Cancelled: a public signal of distance by the host of strength ``cancelled_drill_signal``
    (see on_signal).
    """
    host = _member(model, ev, ev.host)
    if host is None:
        return
    s, p = model.state, model.params
    if ev.status == "cancelled":
        s.alignment[host] = rules.signal_shift(s.alignment[host], p.cancelled_drill_signal, p)
        model.log(ev.date, ev.id, ev.type, ev.host, "cancelled", f"cancelled by host {ev.host}")
        return
    expected = s.deciding()
    attend = _attendance(model, ev.id, expected, ev.skipped_by, host, chair_attends=False)
    s.alignment = np.where(attend, rules.nudge(s.alignment, p.drill_alignment_gain), s.alignment)
    skipped = expected & ~attend
    model.log(
        ev.date,
        ev.id,
        ev.type,
        ev.host,
        "held",
        f"attended: {_names(model, attend)}; skipped by: {_names(model, skipped)}",
    )
    _log_members(model, ev, expected, attend, None)


def _log_members(
    model: AllianceModel, ev: Event, expected: Any, attend: Any, approve: Any | None
) -> None:
    """One ``attendance`` row per member expected at a summit or drill (``attended`` or
    ``absent``) and, for a summit, one ``signature`` row (``signed``, in person or post hoc, or
    ``refused``), in member order (docs/INTERFACES.md)."""
    codes = model.state.codes
    for i in np.flatnonzero(expected):
        came = "attended" if attend[i] else "absent"
        model.log(ev.date, ev.id, "attendance", codes[i], came)
        if approve is not None:
            model.log(ev.date, ev.id, "signature", codes[i], "signed" if approve[i] else "refused")


def on_outside_engagement(model: AllianceModel, ev: OutsideEngagement) -> None:
    """An outside engagement strengthens the pole's pull: π' = min(1, π + g·strength) (§7.4)."""
    i = _member(model, ev, ev.member)
    if i is None:
        return
    s, p = model.state, model.params
    a = s.actors.index(ev.partner)
    s.pulls[a, i] = rules.pull_gain(s.pulls[a, i], ev.strength, p)
    s.pull_listed[a, i] = True  # from now on this pull grows with the pole's pull_growth
    model.log(
        ev.date,
        ev.id,
        ev.type,
        ev.member,
        "applied",
        f"pull of {ev.partner} on {ev.member} now {s.pulls[a, i]:.3f}",
    )


def on_signal(model: AllianceModel, ev: DiplomaticSignal) -> None:
    """A public signal of distance: a' = max(0, a − δ_sig·strength) (docs/MODEL.md §7.6)."""
    i = _member(model, ev, ev.member)
    if i is None:
        return
    s, p = model.state, model.params
    s.alignment[i] = rules.signal_shift(s.alignment[i], ev.strength, p)
    model.log(ev.date, ev.id, ev.type, ev.member, "applied", f"{ev.signal} ({ev.strength})")


def on_chair(model: AllianceModel, ev: ChairRotation) -> None:
    """The chair passes: the new chair attends summits it is expected at, a' = a + g(1 − a)."""
    i = _member(model, ev, ev.member)
    if i is None:
        return
    s, p = model.state, model.params
    model.chair = ev.member
    s.alignment[i] = rules.nudge(float(s.alignment[i]), p.chair_alignment_gain)
    model.log(ev.date, ev.id, ev.type, ev.member, "applied", f"{ev.member} takes the chair")


# --------------------------------------------------------------------------------------------
# Membership: renewal and (re)joining (§7.7)
# --------------------------------------------------------------------------------------------


def on_renewal(model: AllianceModel, ev: TreatyRenewal) -> None:
    """Each member taking part renews with probability σ(β_r(N + w_X·d_r·X − θ_r)) (§7.7)."""
    s, p = model.state, model.params
    present = s.present()
    prob = np.asarray(rules.renewal_probability(s.net, s.exit_cost, p))
    u = model.event_draws(ev.id, draws.EVENT_UNIFORM)
    for i in np.flatnonzero(present):
        code = s.codes[i]
        if u[i] < prob[i]:
            model.log(ev.date, ev.id, ev.type, code, "renewed", f"P(renew) = {prob[i]:.3f}")
        else:
            model.set_level(
                int(i),
                EXITED,
                ev.id,
                ev.type,
                "exited",
                f"does not renew; P(renew) = {prob[i]:.3f}",
            )


def on_join(model: AllianceModel, ev: Join) -> None:
    """A state joins, returns or reaffirms membership (docs/MODEL.md §7.7).

    Exited → active ('returned'), not yet joined → active ('joined'), disengaged or frozen →
    active ('reengaged'), active → active ('reaffirmed'). Alignment is set to the event's
    ``alignment`` if given, else (on joining or returning) to the member's initial alignment.
    Its empty chair is cleared.
    """
    s = model.state
    i = model.index(ev.member)
    if i is None:  # pragma: no cover - excluded by scenario validation
        model.skip(ev, ev.member, f"{ev.member} is not a member")
        return
    old = int(s.level[i])
    outcome = {ABSENT: "joined", EXITED: "returned", ACTIVE: "reaffirmed"}.get(old, "reengaged")
    if ev.alignment is not None:
        s.alignment[i] = ev.alignment
    elif old in (ABSENT, EXITED):
        s.alignment[i] = s.initial_alignment[i]
    s.empty_chair[i] = 0.0
    s.level[i] = ACTIVE
    s.roster[i] = True
    before = "absent" if old == ABSENT else LEVEL_NAMES[old]
    model.log(ev.date, ev.id, ev.type, ev.member, outcome, f"{before} → active")


# --------------------------------------------------------------------------------------------
# Parameter shocks (§7.6, §7.10)
# --------------------------------------------------------------------------------------------


def shock_slot(
    model: Any, target: str
) -> tuple[Callable[[], float], Callable[[float], None], float, float] | str:
    """Getter, setter and (lo, hi) bounds of a shock target; a message if it cannot be found."""
    s = model.state
    parts = target.split(".")
    if parts[0] == "parameters":
        name = parts[1]
        lo, hi = model.parameter_bounds(name)
        if name in THRESHOLDS:  # keep the outcome thresholds ordered (Parameters validator)
            rank = THRESHOLDS.index(name)
            if rank > 0:
                lo = max(lo, float(getattr(model.params, THRESHOLDS[rank - 1])))
            if rank < len(THRESHOLDS) - 1:
                hi = min(hi, float(getattr(model.params, THRESHOLDS[rank + 1])))

        def set_param(v: float) -> None:
            setattr(model.params, name, v)

        return (lambda: float(getattr(model.params, name))), set_param, lo, hi
    if parts[0] == "members":
        i = model.index(parts[1])
        if i is None:
            return f"unknown member {parts[1]}"
        if len(parts) == 4:
            k = model.source_index(parts[3])
            if k is None:
                return f"unknown threat source {parts[3]}"

            def set_threat(v: float) -> None:
                s.threats[i, k] = v

            return (lambda: float(s.threats[i, k])), set_threat, 0.0, 1.0
        attr = MEMBER_FIELDS[parts[2]]

        def set_member(v: float) -> None:
            arr = getattr(s, attr)
            if attr == "capacity_base" and i == s.leader:
                old = float(arr[i])
                s.capacity = float(np.clip(s.capacity * v / old if old > 0 else v, 0.0, 1.0))
            arr[i] = v

        return (lambda: float(getattr(s, attr)[i])), set_member, 0.0, 1.0
    a = s.actors.index(parts[1])
    if parts[2] == "pull_growth":

        def set_growth(v: float) -> None:
            s.pull_growth[a] = v

        return (lambda: float(s.pull_growth[a])), set_growth, -1.0, 1.0
    m = s.codes.index(parts[3])
    if parts[2] == "pull":

        def set_pull(v: float) -> None:
            s.pulls[a, m] = v
            s.pull_listed[a, m] = True  # a pull set by a shock grows like a listed one

        return (lambda: float(s.pulls[a, m])), set_pull, 0.0, 1.0
    row = s.n + a

    def set_tie(v: float) -> None:
        s.ties[row, m] = v

    return (lambda: float(s.ties[row, m])), set_tie, 0.0, 1.0


def _apply(
    model: AllianceModel, event_id: str, date: str, target: str, delta: float, log_clip: bool
) -> bool:
    """Add ``delta`` to the target, clipping to its range; returns True if it clipped."""
    slot = shock_slot(model, target)
    if isinstance(slot, str):  # pragma: no cover - targets are checked at load time
        model.log(date, event_id, "parameter_shock", None, "skipped", slot)
        return False
    get, put, lo, hi = slot
    wanted = get() + delta
    if not np.isfinite(wanted):  # set/shift are finite by validation; guard for bypassed input
        detail = f"{target}: {wanted} is not a finite number; not applied"
        model.log(date, event_id, "parameter_shock", shock_member(target), "skipped", detail)
        return False
    value = float(np.clip(wanted, lo, hi))
    put(value)
    clipped = value != wanted
    if clipped and log_clip:
        model.log(
            date,
            event_id,
            "parameter_shock",
            shock_member(target),
            "clipped",
            f"{target}: {wanted:.4g} is outside [{lo:g}, {hi:g}]; set to {value:.4g}",
        )
    return clipped


def shock_member(target: str) -> str | None:
    parts = target.split(".")
    if parts[0] == "members":
        return parts[1]
    if parts[0] == "actors" and len(parts) == 4:
        return parts[3]
    return None


def on_shock(model: AllianceModel, ev: ParameterShock) -> None:
    """Set or shift a parameter, at once or spread evenly over ``ramp_months`` months.

    ``set``: total change = set − value now; ``shift``: total change = shift. With a ramp, one
    n-th of it is added in this month and each of the next n − 1 months. Out-of-range values are
    clipped to the range (logged once per shock as ``clipped``).
    """
    slot = shock_slot(model, ev.target)
    if isinstance(slot, str):
        model.log(ev.date, ev.id, ev.type, shock_member(ev.target), "skipped", slot)
        return
    current = slot[0]()
    total = (ev.set - current) if ev.set is not None else float(ev.shift or 0.0)
    months = max(ev.ramp_months, 1)
    how = f"set to {ev.set}" if ev.set is not None else f"shifted by {ev.shift}"
    ramp = f" over {months} months" if ev.ramp_months else ""
    model.log(
        ev.date,
        ev.id,
        ev.type,
        shock_member(ev.target),
        "applied",
        f"{ev.target} {how}{ramp} (was {current:.4g})",
    )
    r = Ramp(ev.id, ev.date, ev.target, total / months, months)
    _ramp_once(model, r)
    if r.remaining > 0:
        model.ramps.append(r)


def _ramp_once(model: AllianceModel, r: Any) -> None:
    r.clipped = _apply(model, r.event_id, r.date, r.target, r.increment, not r.clipped) or r.clipped
    r.remaining -= 1


def advance_ramps(model: AllianceModel) -> None:
    """Apply this month's increment of every ramp started in an earlier month."""
    for r in model.ramps:
        r.date = f"{model.month_label()}-01"
        _ramp_once(model, r)
    model.ramps = [r for r in model.ramps if r.remaining > 0]


HANDLERS: dict[str, Handler] = {
    "invocation": on_invocation,
    "war": on_war,
    "attack": on_attack,
    "summit": on_summit,
    "drill": on_drill,
    "outside_engagement": on_outside_engagement,
    "diplomatic_signal": on_signal,
    "chair_rotation": on_chair,
    "treaty_renewal": on_renewal,
    "join": on_join,
    "parameter_shock": on_shock,
}
"""Event type (the ``type`` field in scenario files) → handler."""

__all__ = ["HANDLERS", "advance_ramps", "observe"]
