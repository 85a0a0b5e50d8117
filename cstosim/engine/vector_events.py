"""The event handlers of the vectorised engine: each applies one scenario event to every
replicate of a :class:`~cstosim.engine.vector.VectorRun` at once (docs/MODEL.md §7.2–§7.10).

Each handler mirrors the Mesa model's handler of the same name in :mod:`cstosim.model.events`,
with the same rules and draws: where that one branches on its replicate's state ("the caller
has exited: skip"), this one computes the outcome for all replicates and keeps it where the
branch holds (a mask over replicates). The log gets the same rows, replicate by replicate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from cstosim.engine.eventlog import bits, labels
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
from cstosim.model.events import shock_member, shock_slot
from cstosim.model.levels import (
    ABSENT,
    ACTIVE,
    CREDIBILITY_ROW,
    DOMESTIC,
    EXITED,
    INTERSTATE,
    level_name,
)
from cstosim.model.state import ActiveWar, Ramp, parameter_bounds

if TYPE_CHECKING:
    from cstosim.engine.vector import VectorRun

Bool = NDArray[np.bool_]
OUTCOME_NAMES = np.array([o.value for o in Outcome], dtype=object)
DEPLOYMENT = Outcome.DEPLOYMENT.level


def _member(run: VectorRun, ev: Event, code: str) -> tuple[int, Bool] | None:
    """Index of ``code`` and the replicates where it takes part; log the others as skipped."""
    i = run.index(code)
    if i is None:
        run.log.log(None, ev.date, ev.id, ev.type, code, "skipped", f"{code} is not a member")
        return None
    level = run.level[:, i]
    absent = level == ABSENT
    exited = ~absent & ((level == EXITED) | ~run.roster[:, i])
    run.log.log(absent, ev.date, ev.id, ev.type, code, "skipped", f"{code} has not joined yet")
    run.log.log(exited, ev.date, ev.id, ev.type, code, "skipped", f"{code} has exited the alliance")
    return i, ~absent & ~exited


def _names(codes: list[str], b: int) -> str:
    """The codes of the members in bit set ``b`` (see :func:`bits`), or ``none``."""
    return ", ".join(c for k, c in enumerate(codes) if b >> k & 1) or "none"


# --------------------------------------------------------------------------------------------
# Invocations and attacks (§7.2, §7.3)
# --------------------------------------------------------------------------------------------


def observe(run: VectorRun, ok: Bool, caller: int, kind: int, response: Any, severity: Any) -> None:
    """Everyone taking part learns from the answer, in the replicates ``ok`` (§7.3)."""
    p = run.params
    present = run.present()
    weight = np.where(np.arange(run.n) == caller, p.learning_caller, p.learning_bystander)
    weight = np.where(present & ok[:, None], weight, 0.0)
    other = 1 - kind
    r = np.asarray(response, dtype=float)[:, None]
    run.alpha[:, kind], run.beta[:, kind] = rules.learn(
        run.alpha[:, kind], run.beta[:, kind], r, weight
    )
    run.alpha[:, other], run.beta[:, other] = rules.learn(
        run.alpha[:, other], run.beta[:, other], r, weight * p.learning_spillover
    )
    grown = rules.grievance_add(
        run.grievance[:, caller], severity, r[:, 0], p.grievance_gain, p.grievance_cap
    )
    run.grievance[:, caller] = np.where(ok, grown, run.grievance[:, caller])


def _answer(
    run: VectorRun, event_id: str, member: int, crisis: str, severity: Any, aggressor: Any
) -> tuple[Any, Any, Bool, Bool]:
    """The alliance's answer in every replicate (as ``cstosim.model.events._answer``)."""
    s, p, n = run.shared, run.params, run.n
    tie: Any = np.zeros(n)
    if aggressor is not None:
        g = run.source_index(aggressor)
        if g is not None:
            ties = run.ties
            strongest = np.maximum(ties[..., g, s.leader, None], ties[..., g, :])
            # a fellow member taking part: nobody wants to fight it
            fellow = run.present()[:, g, None] if g < n else False
            tie = np.where(fellow, 1.0, strongest)
    capacity_gap = np.zeros(n)
    capacity_gap[s.leader] = 1.0 - s.capacity
    noise = run.event_draws(event_id, draws.EVENT_NOISE) * p.response_noise
    will = rules.willingness(run.alignment, s.regime, severity, tie, capacity_gap, crisis, noise, p)
    part = run.deciding() & (np.arange(n) != member)
    leader = np.arange(n) == s.leader
    response, blocked = rules.collective_response(will, s.capability, part, leader, s.capacity, p)
    return response, blocked, part, rules.blockers(will, part, p)


def _how(run: VectorRun, blocked: Any, part: Bool, blockers: Bool, suffix: str = "") -> Any:
    """How the alliance decided, per replicate (as ``cstosim.model.events._how``)."""
    codes = run.shared.codes

    def explain(is_blocked: int, who: int, leader_takes_part: int, parts: int) -> str:
        if is_blocked:
            acted = "leader acted alone" if leader_takes_part else "no one acted"
            return f"blocked by {_names(codes, who)}; {acted}{suffix}"
        return f"consensus of {_names(codes, parts)}{suffix}"

    return labels([blocked, bits(blockers), part[:, run.leader], bits(part)], explain)


def on_invocation(run: VectorRun, ev: Invocation) -> None:
    """Resolve a call for help in every replicate where the caller takes part (§7.2)."""
    found = _member(run, ev, ev.member)
    if found is None:
        return
    caller, ok = found
    p = run.params
    severity: Any = run.severity.get(ev.id, ev.severity)  # per replicate in a batch of variants
    response, blocked, part, blockers = _answer(
        run,
        ev.id,
        caller,
        ev.crisis,
        severity if np.ndim(severity) == 0 else severity[:, None],
        ev.aggressor,
    )
    asked = Outcome(ev.requested)
    ceiling: Any = rules.answer_ceiling(asked.level, severity, p)
    response = rules.cap_response(response, ceiling)
    own = rules.outcome_index(response, p)
    suffix = f"; {asked.value} requested" if asked != Outcome.DEPLOYMENT else ""
    if ev.imposed_response is not None:
        imposed = Outcome(ev.imposed_response)
        outcome: Any = imposed.value
        response = np.full(run.r, rules.outcome_level(imposed.level, p))
        detail = labels(
            [own],
            lambda k: (
                f"imposed: {imposed.value} (the model would have answered "
                f"{OUTCOME_NAMES[k]}){suffix}"
            ),
        )
        consensus: Any = "imposed"
    else:
        outcome = OUTCOME_NAMES[own]
        detail = _how(run, blocked, part, blockers, suffix)
        consensus = np.where(blocked, "blocked", "passed").astype(object)
    delay = rules.delay_days(response, p)
    run.log.log(ok, ev.date, ev.id, ev.type, ev.member, outcome, detail, response, delay, consensus)
    kind = CREDIBILITY_ROW[Crisis(ev.crisis)]
    observe(run, ok, caller, kind, rules.fulfilment(response, ceiling), severity)


def on_attack(run: VectorRun, ev: Attack) -> None:
    """An attack on a member that did not call for help (§7.2–7.3; as the Mesa handler)."""
    found = _member(run, ev, ev.target)
    if found is None:
        return
    i, ok = found
    p, n = run.params, run.n
    g = run.source_index(ev.attacker)
    fellow = run.present()[:, g] if g is not None and g < n else np.zeros(run.r, dtype=bool)
    response, blocked, part, blockers = _answer(
        run, ev.id, i, Crisis.INTERSTATE, ev.severity, ev.attacker
    )
    ceiling = float(rules.answer_ceiling(DEPLOYMENT, ev.severity, p))
    response = rules.cap_response(p.unprompted_share * response, ceiling)
    fulfilled = rules.fulfilment(response, ceiling)
    share = np.where(fellow, p.learning_member_conflict, 1.0)
    w = p.learning_attack * ev.severity * share
    for kind, weight in ((INTERSTATE, w), (DOMESTIC, w * p.learning_spillover)):
        a, b = rules.learn(run.alpha[:, kind, i], run.beta[:, kind, i], fulfilled, weight)
        run.alpha[:, kind, i] = np.where(ok, a, run.alpha[:, kind, i])
        run.beta[:, kind, i] = np.where(ok, b, run.beta[:, kind, i])
    grown = rules.grievance_add(
        run.grievance[:, i], ev.severity * share, fulfilled, p.grievance_gain, p.grievance_cap
    )
    run.grievance[:, i] = np.where(ok, grown, run.grievance[:, i])
    how = _how(run, blocked, part, blockers)
    prefix = f"attacked by {ev.attacker}, no call for help; "
    detail = _join(prefix, how, np.where(fellow, "; by a fellow member", ""))
    consensus = np.where(blocked, "blocked", "passed").astype(object)
    outcome = OUTCOME_NAMES[rules.outcome_index(response, p)]
    delay = rules.delay_days(response, p)
    run.log.log(ok, ev.date, ev.id, ev.type, ev.target, outcome, detail, response, delay, consensus)


def _join(prefix: str, middle: Any, suffix: Any) -> Any:
    """prefix + middle[k] + suffix[k] for every replicate (object arrays of text)."""
    return prefix + middle.astype(object) + np.asarray(suffix, dtype=object)


def on_war(run: VectorRun, ev: War) -> None:
    """A war starts: it drains the initiator's capacity and entraps the others (§7.8)."""
    s = run.shared
    initiator = run.index(ev.initiator)
    ends = month_index(ev.ends) if ev.ends else None
    run.wars.append(ActiveWar(ev.id, initiator, ev.drain, ev.entrapment, ends))
    if initiator == s.leader:
        s.capacity = float(rules.capacity_drain(s.capacity, ev.drain))
    run.log.log(
        None,
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
    run: VectorRun,
    event_id: str,
    expected: Bool,
    given: list[str] | None,
    host: int,
    chair_attends: bool,
) -> Bool:
    """Who turns up (as the Mesa handler): given absentees, else the model decides; the host
    always attends, and at a summit the chair too."""
    if given is not None:
        return expected & ~np.isin(np.array(run.shared.codes), given)
    u = run.event_draws(event_id, draws.EVENT_UNIFORM)
    attend = np.asarray(rules.attends(run.level, run.alignment, u, run.grievance, run.params))
    attend[:, host] = True
    if chair_attends:
        rows = np.flatnonzero(run.chair >= 0)
        attend[rows, run.chair[rows]] = True
    return expected & attend


def on_summit(run: VectorRun, ev: Summit) -> None:
    """A summit (§7.6): attendance, consensus, post hoc approval, empty chairs."""
    found = _member(run, ev, ev.host)
    if found is None:
        return
    host, ok = found
    p, codes = run.params, run.shared.codes
    expected = run.deciding()
    attend = _attendance(run, ev.id, expected, ev.absentees, host, chair_attends=True)
    absent = expected & ~attend
    noise = run.event_draws(ev.id, draws.EVENT_NOISE) * p.response_noise
    approve = np.asarray(rules.approves(run.alignment, noise, run.grievance, p))
    block_here = attend & ~approve
    block_later = absent & ~approve
    chairs = np.where(attend, 0.0, np.where(absent, 1.0, run.empty_chair))
    run.empty_chair = np.where(ok[:, None], chairs, run.empty_chair)
    passed = ~(block_here.any(axis=-1) | block_later.any(axis=-1))

    def explain(came: int, away: int, later: int, here: int) -> str:
        parts = [f"attended: {_names(codes, came)}"]
        if away:
            post_hoc = [
                f"{c} ({'withholds approval' if later >> k & 1 else 'approves'} post hoc)"
                for k, c in enumerate(codes)
                if away >> k & 1
            ]
            parts.append("absent: " + ", ".join(post_hoc))
        if here:
            parts.append(f"blocked at the summit by {_names(codes, here)}")
        return "; ".join(parts)

    detail = labels([bits(attend), bits(absent), bits(block_later), bits(block_here)], explain)
    verdict = np.where(passed, "passed", "blocked").astype(object)
    run.log.log(ok, ev.date, ev.id, ev.type, ev.host, verdict, detail, consensus=verdict)
    _log_members(run, ok, ev, expected, attend, approve)


def on_drill(run: VectorRun, ev: Drill) -> None:
    """A joint exercise (§7.6): attendees close part of their gap to full alignment."""
    found = _member(run, ev, ev.host)
    if found is None:
        return
    host, ok = found
    p, codes = run.params, run.shared.codes
    if ev.status == "cancelled":
        shifted = rules.signal_shift(run.alignment[:, host], p.cancelled_drill_signal, p)
        run.alignment[:, host] = np.where(ok, shifted, run.alignment[:, host])
        run.log.log(
            ok, ev.date, ev.id, ev.type, ev.host, "cancelled", f"cancelled by host {ev.host}"
        )
        return
    expected = run.deciding()
    attend = _attendance(run, ev.id, expected, ev.skipped_by, host, chair_attends=False)
    nudged = rules.nudge(run.alignment, p.drill_alignment_gain)
    run.alignment = np.where(attend & ok[:, None], nudged, run.alignment)
    skipped = expected & ~attend
    detail = labels(
        [bits(attend), bits(skipped)],
        lambda came, away: f"attended: {_names(codes, came)}; skipped by: {_names(codes, away)}",
    )
    run.log.log(ok, ev.date, ev.id, ev.type, ev.host, "held", detail)
    _log_members(run, ok, ev, expected, attend, None)


def _log_members(
    run: VectorRun, ok: Bool, ev: Event, expected: Bool, attend: Bool, approve: Bool | None
) -> None:
    """Attendance (and, at a summit, signature) rows per expected member, in member order."""
    for i, code in enumerate(run.shared.codes):
        rows = ok & expected[:, i]
        if not rows.any():
            continue
        came = np.where(attend[:, i], "attended", "absent").astype(object)
        run.log.log(rows, ev.date, ev.id, "attendance", code, came)
        if approve is not None:
            signed = np.where(approve[:, i], "signed", "refused").astype(object)
            run.log.log(rows, ev.date, ev.id, "signature", code, signed)


def on_outside_engagement(run: VectorRun, ev: OutsideEngagement) -> None:
    """An outside engagement strengthens the pole's pull (§7.4)."""
    found = _member(run, ev, ev.member)
    if found is None:
        return
    i, ok = found
    a = run.shared.actors.index(ev.partner)
    gained = rules.pull_gain(run.pulls[:, a, i], ev.strength, run.params)
    run.pulls[:, a, i] = np.where(ok, gained, run.pulls[:, a, i])
    run.pull_listed[:, a, i] |= ok
    detail = _per_value(
        run.pulls[:, a, i], lambda v: f"pull of {ev.partner} on {ev.member} now {v:.3f}"
    )
    run.log.log(ok, ev.date, ev.id, ev.type, ev.member, "applied", detail)


def on_signal(run: VectorRun, ev: DiplomaticSignal) -> None:
    """A public signal of distance (§7.6)."""
    found = _member(run, ev, ev.member)
    if found is None:
        return
    i, ok = found
    shifted = rules.signal_shift(run.alignment[:, i], ev.strength, run.params)
    run.alignment[:, i] = np.where(ok, shifted, run.alignment[:, i])
    run.log.log(ok, ev.date, ev.id, ev.type, ev.member, "applied", f"{ev.signal} ({ev.strength})")


def on_chair(run: VectorRun, ev: ChairRotation) -> None:
    """The chair passes: the new chair attends summits and is nudged toward the line (§7.6)."""
    found = _member(run, ev, ev.member)
    if found is None:
        return
    i, ok = found
    run.chair = np.where(ok, i, run.chair)
    nudged = rules.nudge(run.alignment[:, i], run.params.chair_alignment_gain)
    run.alignment[:, i] = np.where(ok, nudged, run.alignment[:, i])
    run.log.log(ok, ev.date, ev.id, ev.type, ev.member, "applied", f"{ev.member} takes the chair")


# --------------------------------------------------------------------------------------------
# Membership: renewal and (re)joining (§7.7)
# --------------------------------------------------------------------------------------------


def on_renewal(run: VectorRun, ev: TreatyRenewal) -> None:
    """Each member taking part renews with probability σ(β_r(N + w_X·d_r·X − θ_r)) (§7.7)."""
    s, p = run.shared, run.params
    present = run.present()
    prob = np.asarray(rules.renewal_probability(run.net, s.exit_cost, p))
    u = run.event_draws(ev.id, draws.EVENT_UNIFORM)
    for i in np.flatnonzero(present.any(axis=0)):
        code = s.codes[i]
        renews = present[:, i] & (u[:, i] < prob[:, i])
        leaves = present[:, i] & ~renews
        text = _per_value(prob[:, i], lambda v: f"P(renew) = {v:.3f}")
        run.log.log(renews, ev.date, ev.id, ev.type, code, "renewed", text)
        if leaves.any():
            gone = _per_value(prob[:, i], lambda v: f"does not renew; P(renew) = {v:.3f}")
            run.set_level(leaves, int(i), EXITED, ev.id, ev.type, "exited", gone)


def on_join(run: VectorRun, ev: Join) -> None:
    """A state joins, returns or reaffirms membership (§7.7)."""
    i = run.index(ev.member)
    if i is None:  # pragma: no cover - excluded by scenario validation
        run.log.log(None, ev.date, ev.id, ev.type, ev.member, "skipped", "not a member")
        return
    old = run.level[:, i].copy()
    outcome = np.full(run.r, "reengaged", dtype=object)
    for level, name in ((ABSENT, "joined"), (EXITED, "returned"), (ACTIVE, "reaffirmed")):
        outcome[old == level] = name
    if ev.alignment is not None:
        run.alignment[:, i] = ev.alignment
    else:
        fresh = (old == ABSENT) | (old == EXITED)
        run.alignment[:, i] = np.where(fresh, run.shared.initial_alignment[i], run.alignment[:, i])
    run.empty_chair[:, i] = 0.0
    run.level[:, i] = ACTIVE
    run.roster[:, i] = True
    detail = labels([old], lambda lv: f"{level_name(lv)} → active")
    run.log.log(None, ev.date, ev.id, ev.type, ev.member, outcome, detail)


# --------------------------------------------------------------------------------------------
# Parameter shocks (§7.6, §7.10)
# --------------------------------------------------------------------------------------------


class _Shared:
    """The Mesa model's view of the state that no draw changes, for :func:`shock_slot`."""

    def __init__(self, run: VectorRun) -> None:
        self.state = run.shared
        self.params = run.params
        self.index = run.index
        self.source_index = run.source_index
        self.parameter_bounds = parameter_bounds


def _pull(run: VectorRun, target: str) -> tuple[int, int] | None:
    """(actor, member) of a pull target (``actors.X.pull.M``), whose value each replicate has."""
    parts = target.split(".")
    if parts[0] == "actors" and len(parts) == 4 and parts[2] == "pull":
        return run.shared.actors.index(parts[1]), run.shared.codes.index(parts[3])
    return None


def _current(run: VectorRun, target: str) -> Any:
    pull = _pull(run, target)
    if pull is not None:
        return run.pulls[:, pull[0], pull[1]].copy()
    slot = shock_slot(_Shared(run), target)
    assert not isinstance(slot, str)
    return slot[0]()


def _apply(run: VectorRun, event_id: str, date: str, target: str, delta: Any, log_clip: Any) -> Any:
    """Add ``delta`` to the target, clipping to its range; True where it clipped."""
    who = shock_member(target)
    pull = _pull(run, target)
    if pull is None:
        slot = shock_slot(_Shared(run), target)
        if isinstance(slot, str):  # pragma: no cover - targets are checked at load time
            run.log.log(None, date, event_id, "parameter_shock", None, "skipped", slot)
            return False
        get, put, lo, hi = slot
        wanted = get() + delta
        if not np.isfinite(wanted):
            detail = f"{target}: {wanted} is not a finite number; not applied"
            run.log.log(None, date, event_id, "parameter_shock", who, "skipped", detail)
            return False
        value = float(np.clip(wanted, lo, hi))
        put(value)
        clipped = value != wanted
        if clipped and log_clip:
            detail = f"{target}: {wanted:.4g} is outside [{lo:g}, {hi:g}]; set to {value:.4g}"
            run.log.log(None, date, event_id, "parameter_shock", who, "clipped", detail)
        return clipped
    a, m = pull
    old = run.pulls[:, a, m]
    wanted = old + delta
    finite = np.isfinite(wanted)
    if not finite.all():
        detail = _per_value(wanted, lambda v: f"{target}: {v} is not a finite number; not applied")
        run.log.log(~finite, date, event_id, "parameter_shock", who, "skipped", detail)
    value = np.clip(wanted, 0.0, 1.0)
    run.pulls[:, a, m] = np.where(finite, value, old)
    run.pull_listed[:, a, m] |= finite
    clipped = finite & (value != wanted)
    report = clipped & log_clip
    if report.any():
        why = np.full(run.r, "", dtype=object)
        why[report] = [
            f"{target}: {w:.4g} is outside [0, 1]; set to {v:.4g}"
            for w, v in zip(wanted[report], value[report], strict=True)
        ]
        run.log.log(report, date, event_id, "parameter_shock", who, "clipped", why)
    return clipped


def on_shock(run: VectorRun, ev: ParameterShock) -> None:
    """Set or shift a parameter, at once or over ``ramp_months`` months (§7.6)."""
    if _pull(run, ev.target) is None:
        slot = shock_slot(_Shared(run), ev.target)
        if isinstance(slot, str):
            run.log.log(None, ev.date, ev.id, ev.type, shock_member(ev.target), "skipped", slot)
            return
    current = _current(run, ev.target)
    total = (ev.set - current) if ev.set is not None else float(ev.shift or 0.0)
    months = max(ev.ramp_months, 1)
    how = f"set to {ev.set}" if ev.set is not None else f"shifted by {ev.shift}"
    ramp = f" over {months} months" if ev.ramp_months else ""
    detail = _per_value(current, lambda v: f"{ev.target} {how}{ramp} (was {v:.4g})")
    run.log.log(None, ev.date, ev.id, ev.type, shock_member(ev.target), "applied", detail)
    r = Ramp(ev.id, ev.date, ev.target, total / months, months)
    if np.ndim(current):
        r.clipped = np.zeros(run.r, dtype=bool)  # type: ignore[assignment]
    _ramp_once(run, r)
    if r.remaining > 0:
        run.ramps.append(r)


def _ramp_once(run: VectorRun, r: Ramp) -> None:
    was = r.clipped
    clipped = _apply(run, r.event_id, r.date, r.target, r.increment, np.logical_not(was))
    r.clipped = np.logical_or(clipped, was) if np.ndim(was) else bool(clipped or was)
    r.remaining -= 1


def advance_ramps(run: VectorRun) -> None:
    """Apply this month's increment of every ramp started in an earlier month."""
    for r in run.ramps:
        r.date = run.month_first()
        _ramp_once(run, r)
    run.ramps = [r for r in run.ramps if r.remaining > 0]


def _per_value(values: Any, text: Callable[[float], str]) -> Any:
    """``text(v)`` for a shared value, or for each replicate's value (each distinct one once)."""
    if np.ndim(values) == 0:
        return text(float(values))
    unique, inverse = np.unique(np.asarray(values, dtype=float), return_inverse=True)
    return np.array([text(float(v)) for v in unique], dtype=object)[inverse]


HANDLERS: dict[str, Callable[[VectorRun, Any], None]] = {
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
"""Event type → vectorised handler (the same types as ``cstosim.model.events.HANDLERS``)."""
