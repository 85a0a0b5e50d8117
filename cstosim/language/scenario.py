"""The scenario language: pydantic models that are the single source of truth for scenario files.

A scenario names an alliance's members, the outside actors that matter, the model-wide
coefficients, a monthly calendar and a dated timeline of *drivers* (``events``: exogenous inputs
fed to the model) and *observations* (what members actually did, never fed to the model, used
only to score it). ``cstosim schema`` exports the JSON Schema of :class:`Scenario`;
``cstosim.language.loader`` reads files (with ``extends`` and overrides) into it.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from cstosim.language.parameters import Parameters
from cstosim.language.yamlio import listing, shown

SCHEMA_VERSION = 1

# --------------------------------------------------------------------------------------------
# Basic types
# --------------------------------------------------------------------------------------------

_YM = re.compile(r"^(\d{4})-(\d{2})$")
_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

FIRST_YEAR = 1800
"""The first year a calendar may start in (pandas and the figures need sane dates)."""
LAST_YEAR = 2200
"""The last year a calendar may end in."""
MAX_CALENDAR_MONTHS = 3600
"""The longest calendar, in months (300 years): a run's cost grows with its length."""
MAX_MEMBERS = 200
"""The most members a scenario may have (about as many states as there are; the largest
alliances have a few dozen). docs/RELIABILITY.md gives the measured cost."""
MAX_MEMBER_MONTHS = 100_000
"""The most members × simulated months (``--until`` included): ``summary.csv`` has about 37
rows per member-month and is built in memory, so peak memory grows with this product (about
0.8 GB at 60,000, measured; docs/RELIABILITY.md)."""


def _check_year_month(value: str) -> str:
    match = _YM.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"expected a month as YYYY-MM (e.g. 2022-01), got {shown(value)}")
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise ValueError(
            f"year {int(match.group(1))} is outside the years a calendar may cover, "
            f"{FIRST_YEAR} to {LAST_YEAR} (got {shown(value)})"
        )
    return value


def _check_date(value: str) -> str:
    if _YM.match(value) and 1 <= int(value[5:7]) <= 12:
        return value
    match = _YMD.match(value)
    if match:
        try:
            dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
        else:
            return value
    raise ValueError(
        f"expected a date as YYYY-MM or YYYY-MM-DD (e.g. 2022-01-05), got {shown(value)}"
    )


YearMonth = Annotated[
    str,
    Field(json_schema_extra={"pattern": r"^(1[89]\d\d|2[01]\d\d|2200)-(0[1-9]|1[0-2])$"}),
    AfterValidator(_check_year_month),
]
EventDate = Annotated[
    str,
    Field(json_schema_extra={"pattern": r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$"}),
    AfterValidator(_check_date),
]
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,11}$", description="Short upper-case code")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Lower-case slug")]
Unit = Annotated[float, Field(ge=0, le=1)]


def month_index(date: str) -> tuple[int, int]:
    """``'2022-01-05'`` or ``'2022-01'`` → ``(2022, 1)``."""
    return int(date[:4]), int(date[5:7])


def day_of(date: str) -> int | None:
    """Day of month of a ``YYYY-MM-DD`` date, or None for a bare month."""
    return int(date[8:10]) if len(date) == 10 else None


class Strict(BaseModel):
    """Base for every scenario object: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class Engagement(StrEnum):
    """A member's engagement with the alliance, in order of withdrawal (docs/MODEL.md)."""

    ACTIVE = "active"
    DISENGAGED = "disengaged"
    FROZEN = "frozen"
    EXITED = "exited"

    @property
    def level(self) -> int:
        return list(Engagement).index(self)


class Outcome(StrEnum):
    """Graded answer to an invocation, from nothing to full deployment (docs/MODEL.md)."""

    NONE = "none"
    STATEMENTS = "statements"
    FACT_FINDING = "fact-finding"
    TOKEN_FORCE = "token-force"
    DEPLOYMENT = "deployment"

    @property
    def level(self) -> int:
        return list(Outcome).index(self)


class Crisis(StrEnum):
    """What a call for help is about (docs/MODEL.md §7.2): unrest against the government
    (``domestic``), an attack by another state (``interstate``), or violence between communities
    inside the member (``intercommunal``; Osh 2010)."""

    DOMESTIC = "domestic"
    INTERSTATE = "interstate"
    INTERCOMMUNAL = "intercommunal"


# --------------------------------------------------------------------------------------------
# Header: sources and calendar
# --------------------------------------------------------------------------------------------


class Source(Strict):
    """A citation that events, observations and parameter choices point to by id."""

    author: str | None = None
    title: str
    date: str | None = Field(None, description="Publication date, free form (e.g. 2023-11-29)")
    url: str | None = None
    document: str | None = Field(None, description="A file or archive reference instead of a URL")


class Calendar(Strict):
    """Simulated period; one model step is one calendar month, ``start`` and ``end`` included.

    Both months lie in the years ``FIRST_YEAR`` to ``LAST_YEAR`` and the calendar is at most
    ``MAX_CALENDAR_MONTHS`` long.
    """

    start: YearMonth = Field(description="First simulated month (years 1800 to 2200)")
    end: YearMonth = Field(description="Last simulated month, included; at most 300 years on")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if month_index(self.end) < month_index(self.start):
            raise ValueError(f"calendar end {self.end} is before start {self.start}")
        months = calendar_months(self.start, self.end)
        if months > MAX_CALENDAR_MONTHS:
            raise ValueError(
                f"calendar {self.start} to {self.end} is {months} months long; "
                f"at most {MAX_CALENDAR_MONTHS} ({MAX_CALENDAR_MONTHS // 12} years)"
            )
        return self


# --------------------------------------------------------------------------------------------
# Members and actors
# --------------------------------------------------------------------------------------------


class InitialState(Strict):
    """A member's state at the start of the calendar (or when it joins)."""

    alignment: Unit = Field(0.7, description="Alignment with the alliance line, 0 (opposed) to 1")
    credibility: Unit = Field(
        0.6, description="Belief that the alliance would defend it (mean of a Beta posterior)"
    )
    credibility_domestic: Unit | None = Field(
        None,
        description="Belief that the alliance would protect the regime against domestic unrest "
        "(default: the same as `credibility`, which is the belief for interstate attacks)",
    )
    credibility_weight: float = Field(
        10.0, gt=0, le=1000, description="Pseudo-observations behind the initial credibility"
    )
    grievance: float = Field(0.0, ge=0, le=10, description="Grievance from unanswered calls")
    engagement: Engagement = Engagement.ACTIVE


class Member(Strict):
    """A member state: structural parameters (changeable by events) and initial state."""

    name: str
    joined: EventDate = Field(description="Date it joined; it takes part from that month on")
    leading: bool = Field(False, description="The leading state (exactly one per scenario)")
    capability: Unit = Field(0.1, description="Share of the alliance's military capability")
    capacity: Unit = Field(
        1.0, description="Free capacity to answer calls (meaningful for the leading state)"
    )
    dependence: Unit = Field(
        0.5, description="Dependence on the leading state: trade, bases, remittances, arms"
    )
    regime_insecurity: Unit = Field(0.3, description="Incumbent's fear of domestic challenge")
    threats: dict[Code, Unit] = Field(
        default_factory=dict,
        description="Interstate threat level by source (a member or actor code)",
    )
    sanctions_exposure: Unit = Field(
        0.3, description="Exposure to costs of the leading state's wars (sanctions, association)"
    )
    autonomy_cost: Unit = Field(0.2, description="Felt cost of subordination to the leading state")
    exit_cost: Unit = Field(0.3, description="Cost of leaving (bases, treaties, retaliation)")
    ties: dict[Code, Unit] = Field(
        default_factory=dict,
        description="Ties with other members (e.g. to the leader), used when this member is an "
        "aggressor; every code must be a member",
    )
    initial: InitialState = Field(default_factory=InitialState)
    note: str | None = Field(None, description="Where the numbers come from")


class ActorKind(StrEnum):
    AGGRESSOR = "aggressor"
    POLE = "pole"
    STATE = "state"


class Actor(Strict):
    """A non-member that matters: an aggressor, an outside pole, or another state."""

    name: str
    kind: ActorKind
    ties: dict[Code, Unit] = Field(
        default_factory=dict, description="Strength of ties with members (e.g. to the leader)"
    )
    pull: dict[Code, Unit] = Field(
        default_factory=dict, description="For poles: pull on each member (its outside option)"
    )
    pull_growth: float = Field(
        0.0, ge=-1, le=1, description="For poles: change of every pull per year"
    )
    note: str | None = None


# --------------------------------------------------------------------------------------------
# Events (drivers)
# --------------------------------------------------------------------------------------------


class EventBase(Strict):
    id: Slug
    date: EventDate
    label: str = Field(description="Short human-readable label, shown on figures")
    source: str = Field(description="Id of an entry in `sources`")
    quote: str | None = Field(None, description="Short quote from the source")


class Invocation(EventBase):
    """A member invokes the mutual-defence clause."""

    type: Literal["invocation"]
    member: Code
    crisis: Crisis
    severity: Unit
    aggressor: Code | None = Field(None, description="Member or actor code of the aggressor")
    requested: Outcome = Field(
        Outcome.DEPLOYMENT,
        description="What the caller asked for (e.g. consultations = statements); the answer "
        "is capped there and judged against it",
    )
    imposed_response: Outcome | None = Field(
        None, description="Counterfactuals only: impose this answer instead of the model's"
    )


class War(EventBase):
    """A war started by a member (usually the leading state) that drains capacity."""

    type: Literal["war"]
    initiator: Code
    target: Code
    drain: Unit = Field(description="Share of the initiator's free capacity the war absorbs")
    entrapment: Unit = Field(description="Cost borne by other members while the war lasts")
    ends: EventDate | None = Field(None, description="End date; open-ended if omitted")


class Attack(EventBase):
    """An attack on a member without an invocation."""

    type: Literal["attack"]
    attacker: Code
    target: Code
    severity: Unit


class Summit(EventBase):
    """A summit: who attends and whether a declaration passes by consensus."""

    type: Literal["summit"]
    host: Code
    absentees: list[Code] | None = Field(
        None, description="Observed absentees; omit to let the model decide who stays away"
    )


class Drill(EventBase):
    """A joint exercise: held or cancelled, and who skipped it."""

    type: Literal["drill"]
    host: Code
    status: Literal["held", "cancelled"] = "held"
    skipped_by: list[Code] | None = Field(
        None, description="Observed absentees; omit to let the model decide"
    )


class OutsideEngagement(EventBase):
    """A member engages with an outside pole (joint drill, summit, agreement)."""

    type: Literal["outside_engagement"]
    member: Code
    partner: Code = Field(description="Actor code of the outside pole")
    strength: Unit


class DiplomaticSignal(EventBase):
    """A public signal of distance from the alliance or its leading state."""

    type: Literal["diplomatic_signal"]
    member: Code
    signal: Literal["recall_representative", "refuse_recognition", "public_criticism"]
    strength: Unit = 0.5


class ChairRotation(EventBase):
    """The rotating chair passes to a member."""

    type: Literal["chair_rotation"]
    member: Code


class TreatyRenewal(EventBase):
    """A moment where every member must choose to renew the treaty or leave."""

    type: Literal["treaty_renewal"]


class Join(EventBase):
    """A state joins (or returns to) the alliance."""

    type: Literal["join"]
    member: Code
    alignment: Unit | None = Field(None, description="Alignment on (re)joining; default initial")


class ParameterShock(EventBase):
    """Set or shift a member, actor or model parameter, at once or ramped over months.

    ``target`` is a dotted path: ``parameters.<name>``, ``members.<CODE>.<field>``,
    ``members.<CODE>.threats.<SOURCE>``, ``actors.<CODE>.pull.<MEMBER>`` or
    ``actors.<CODE>.ties.<MEMBER>``. Values that would leave their range are clipped (logged).
    """

    type: Literal["parameter_shock"]
    target: str
    set: float | None = Field(None, allow_inf_nan=False, description="New value (finite)")
    shift: float | None = Field(None, allow_inf_nan=False, description="Change (finite)")
    ramp_months: int = Field(0, ge=0, le=600, description="0 = at once; else spread over months")

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.set is None) == (self.shift is None):
            raise ValueError("give exactly one of `set` or `shift`")
        return self


Event = Annotated[
    Invocation
    | War
    | Attack
    | Summit
    | Drill
    | OutsideEngagement
    | DiplomaticSignal
    | ChairRotation
    | TreatyRenewal
    | Join
    | ParameterShock,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "invocation",
    "war",
    "attack",
    "summit",
    "drill",
    "outside_engagement",
    "diplomatic_signal",
    "chair_rotation",
    "treaty_renewal",
    "join",
    "parameter_shock",
)

# --------------------------------------------------------------------------------------------
# Observations (what happened; scored, never fed to the model)
# --------------------------------------------------------------------------------------------


class ObservationBase(Strict):
    id: Slug
    date: EventDate
    label: str
    source: str
    quote: str | None = None


class EngagementObservation(ObservationBase):
    """A member's engagement at a date: at least, at most or exactly a level."""

    kind: Literal["engagement"]
    member: Code
    at_least: Engagement | None = None
    at_most: Engagement | None = None
    equals: Engagement | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Self:
        if sum(x is not None for x in (self.at_least, self.at_most, self.equals)) == 0:
            raise ValueError("give at least one of `at_least`, `at_most`, `equals`")
        return self


class ResponseObservation(ObservationBase):
    """The answer to an invocation event: its outcome (exactly, or bounds) and its delay."""

    kind: Literal["response"]
    event: str = Field(description="Id of an invocation event")
    equals: Outcome | None = None
    at_least: Outcome | None = None
    at_most: Outcome | None = None
    within_days: int | None = Field(None, ge=0, le=3650)

    @model_validator(mode="after")
    def _one_bound(self) -> Self:
        given = (self.equals, self.at_least, self.at_most, self.within_days)
        if all(x is None for x in given):
            raise ValueError("give at least one of `equals`, `at_least`, `at_most`, `within_days`")
        return self


class Presence(StrEnum):
    ATTENDED = "attended"
    ABSENT = "absent"


class Signing(StrEnum):
    SIGNED = "signed"
    REFUSED = "refused"


class Consensus(StrEnum):
    PASSED = "passed"
    BLOCKED = "blocked"


class Direction(StrEnum):
    FALLS = "falls"
    RISES = "rises"


class AttendanceObservation(ObservationBase):
    """Whether a member attended a summit or a drill (its ``attendance`` row in the event log)."""

    kind: Literal["attendance"]
    event: str = Field(description="Id of a summit or drill event")
    member: Code
    equals: Presence


class SignatureObservation(ObservationBase):
    """Whether a member signed a summit's declaration (in person or post hoc) or refused."""

    kind: Literal["signature"]
    event: str = Field(description="Id of a summit event")
    member: Code
    equals: Signing


class ConsensusObservation(ObservationBase):
    """Whether a summit's declaration or an invocation's collective decision passed."""

    kind: Literal["consensus"]
    event: str = Field(description="Id of a summit or invocation event")
    equals: Consensus


class AlignmentObservation(ObservationBase):
    """The direction of a member's alignment from ``since`` to ``date`` (falls or rises)."""

    kind: Literal["alignment"]
    member: Code
    since: EventDate = Field(description="The earlier date; the change is to `date`")
    direction: Direction

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if month_index(self.since) >= month_index(self.date):
            raise ValueError(f"`since` ({self.since}) must be a month before `date` ({self.date})")
        return self


Observation = Annotated[
    EngagementObservation
    | ResponseObservation
    | AttendanceObservation
    | SignatureObservation
    | ConsensusObservation
    | AlignmentObservation,
    Field(discriminator="kind"),
]
"""What happened, at the level the record speaks of (docs/SCENARIOS.md, "Observations")."""

# --------------------------------------------------------------------------------------------
# Ranges: how sure we are of the judgement numbers
# --------------------------------------------------------------------------------------------


class Range(Strict):
    """A plausible range of a judgement or tuned number of the scenario: the prior that
    calibration and sensitivity analysis start from (docs/SCENARIOS.md, "Ranges"). A prior, not
    a constraint: ``--set`` may move the number outside it (an ablation, a stress test)."""

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    note: str = Field(
        min_length=1,
        description="Which facts bound the range (never the outcome the number produces)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


def value_at(data: Any, path: str) -> tuple[Any, str | None]:
    """The value at a dotted ``path`` of a scenario's data (as ``--set`` names it: events and
    observations by id or index); ``(None, message)`` if there is none."""
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            ids = [e.get("id") if isinstance(e, dict) else None for e in node]
            if part in ids:
                node = node[ids.index(part)]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None, f"no entry {part!r} in {path!r}"
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None, f"no {part!r} in {path!r}"
    return node, None


# --------------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------------

_CODE_FIELDS = ("member", "aggressor", "initiator", "target", "attacker", "host", "partner")


class Scenario(Strict):
    """A complete, resolved scenario (after ``extends`` and overrides)."""

    schema_version: Literal[1] = Field(description="Version of the scenario language")
    name: Slug
    title: str
    description: str = ""
    sources: dict[str, Source] = Field(default_factory=dict)
    calendar: Calendar
    parameters: Parameters = Field(default_factory=Parameters)
    members: dict[Code, Member] = Field(max_length=MAX_MEMBERS)
    actors: dict[Code, Actor] = Field(default_factory=dict)
    events: list[Event] = Field(default_factory=list)
    observations: list[Observation] = Field(default_factory=list)
    ranges: dict[str, Range | None] = Field(
        default_factory=dict,
        description="Plausible range of a judgement number, by its path (e.g. "
        "actors.AZE.ties.RUS, parameters.hazard_base, events.arm-invokes.severity); null "
        "drops a range an `extends` parent declares (e.g. for an event the child removes)",
    )

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get("defer_cross_check"):
            return self
        problems = cross_check(self)
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        return self

    @property
    def leader(self) -> str:
        return next(code for code, m in self.members.items() if m.leading)


_OBSERVED_EVENTS: dict[str, tuple[str, ...]] = {
    "response": ("invocation",),
    "attendance": ("summit", "drill"),
    "signature": ("summit",),
    "consensus": ("summit", "invocation"),
}
"""Observation kind → the event types its ``event`` may name."""


def calendar_months(start: str, end: str) -> int:
    """Months from ``start`` to ``end``, both included."""
    (y0, m0), (y1, m1) = month_index(start), month_index(end)
    return (y1 - y0) * 12 + m1 - m0 + 1


def member_months_message(members: int, months: int) -> str:
    return (
        f"{members} members over {months} months make {members * months} member-months; at "
        f"most {MAX_MEMBER_MONTHS} (the limit of memory for the summary; docs/RELIABILITY.md)"
    )


def cross_check(s: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Every reference between parts of a scenario, checked; returns ``(path, message)`` pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    members, actors = set(s.members), set(s.actors)
    everyone = members | actors

    def known(kind: str, names: set[str]) -> str:
        return f"known {kind}: {listing(sorted(names))}"

    months = calendar_months(s.calendar.start, s.calendar.end)
    if months <= MAX_CALENDAR_MONTHS and len(s.members) * months > MAX_MEMBER_MONTHS:
        problems.append((("members",), member_months_message(len(s.members), months)))
    leaders = [c for c, m in s.members.items() if m.leading]
    if len(leaders) != 1:
        problems.append((("members",), f"exactly one member must be leading, found {leaders}"))
    for code in members & actors:
        problems.append((("actors", code), f"{code} is both a member and an actor"))

    for code, member in s.members.items():
        for src in member.threats:
            if src not in everyone:
                problems.append(
                    (
                        ("members", code, "threats", src),
                        f"unknown threat source {src!r}; " + known("members and actors", everyone),
                    )
                )
    for code, member in s.members.items():
        for target in member.ties:
            if target not in members:
                problems.append(
                    (
                        ("members", code, "ties", target),
                        f"unknown member {target!r}; " + known("members", members),
                    )
                )
    for code, actor in s.actors.items():
        for field in ("ties", "pull"):
            for target in getattr(actor, field):
                if target not in members:
                    problems.append(
                        (
                            ("actors", code, field, target),
                            f"unknown member {target!r}; " + known("members", members),
                        )
                    )

    start, end = month_index(s.calendar.start), month_index(s.calendar.end)
    seen: dict[str, int] = {}
    for i, ev in enumerate(s.events):
        base: tuple[str | int, ...] = ("events", i)
        if ev.id in seen:
            problems.append(
                ((*base, "id"), f"duplicate event id {ev.id!r} (also events[{seen[ev.id]}])")
            )
        seen[ev.id] = i
        if not start <= month_index(ev.date) <= end:
            problems.append(
                (
                    (*base, "date"),
                    f"date {ev.date} is outside the calendar "
                    f"{s.calendar.start} to {s.calendar.end}",
                )
            )
        if ev.source not in s.sources:
            problems.append(
                (
                    (*base, "source"),
                    f"unknown source {ev.source!r}; " + known("sources", set(s.sources)),
                )
            )
        for field in () if isinstance(ev, ParameterShock) else _CODE_FIELDS:
            value = getattr(ev, field, None)
            if value is None or not isinstance(value, str):
                continue
            must_be_member = field in ("member", "host") or (
                field == "target" and ev.type in ("attack",)
            )
            pool, kind = (
                (members, "members") if must_be_member else (everyone, "members and actors")
            )
            if field == "partner":
                pool = {c for c, a in s.actors.items() if a.kind == ActorKind.POLE}
                kind = "actors of kind pole"
            if value not in pool:
                problems.append(((*base, field), f"unknown code {value!r}; " + known(kind, pool)))
        for field in ("absentees", "skipped_by"):
            for j, code in enumerate(getattr(ev, field, None) or []):
                if code not in members:
                    problems.append(
                        (
                            (*base, field, j),
                            f"unknown member {code!r}; " + known("members", members),
                        )
                    )
        if (
            isinstance(ev, War)
            and ev.ends is not None
            and month_index(ev.ends) < month_index(ev.date)
        ):
            problems.append(((*base, "ends"), f"war ends ({ev.ends}) before it starts ({ev.date})"))
        if isinstance(ev, ParameterShock):
            message = check_shock_target(s, ev.target)
            if message:
                problems.append(((*base, "target"), message))

    seen_obs: dict[str, int] = {}
    for i, ob in enumerate(s.observations):
        base = ("observations", i)
        if ob.id in seen_obs:
            problems.append(((*base, "id"), f"duplicate observation id {ob.id!r}"))
        seen_obs[ob.id] = i
        if not start <= month_index(ob.date) <= end:
            problems.append(
                (
                    (*base, "date"),
                    f"date {ob.date} is outside the calendar "
                    f"{s.calendar.start} to {s.calendar.end}",
                )
            )
        if ob.source not in s.sources:
            problems.append(
                (
                    (*base, "source"),
                    f"unknown source {ob.source!r}; " + known("sources", set(s.sources)),
                )
            )
        who = getattr(ob, "member", None)
        if who is not None and who not in members:
            problems.append(
                ((*base, "member"), f"unknown member {who!r}; " + known("members", members))
            )
        if isinstance(ob, AlignmentObservation) and not start <= month_index(ob.since) <= end:
            problems.append(((*base, "since"), f"date {ob.since} is outside the calendar"))
        wanted = _OBSERVED_EVENTS.get(ob.kind)
        if wanted is not None:
            pool = {ev.id for ev in s.events if ev.type in wanted}
            event = getattr(ob, "event", None)
            if event not in pool:
                kinds = " or ".join(wanted)
                problems.append(
                    (
                        (*base, "event"),
                        f"unknown {kinds} {event!r}; " + known(f"{kinds} events", pool),
                    )
                )
    if s.ranges:
        data = s.model_dump(mode="python", exclude={"ranges"})
        for path, r in s.ranges.items():
            if r is None:
                continue
            value, message = value_at(data, path)
            if message is None and (isinstance(value, bool) or not isinstance(value, int | float)):
                message = f"{path} is not a number (got {value!r})"
            if message is not None:
                problems.append((("ranges", path), message))
    return problems


def check_shock_target(s: Scenario, target: str) -> str | None:
    """None if ``target`` names a numeric parameter of ``s``; otherwise what was expected."""
    parts = target.split(".")
    head = parts[0]
    expected = (
        "expected parameters.<name>, members.<CODE>.<field>, members.<CODE>.threats.<SOURCE>, "
        "actors.<CODE>.pull.<MEMBER> or actors.<CODE>.ties.<MEMBER>"
    )
    if head == "parameters" and len(parts) == 2:
        if parts[1] in Parameters.model_fields:
            return None
        return f"unknown model parameter {parts[1]!r}; known: {', '.join(Parameters.model_fields)}"
    if head == "members" and len(parts) in (3, 4):
        if parts[1] not in s.members:
            return f"unknown member {parts[1]!r}; known members: {listing(sorted(s.members))}"
        if len(parts) == 4:
            if parts[2] == "threats":
                if parts[3] in s.members or parts[3] in s.actors:
                    return None  # a threat from a known source (may be added by the shock)
                return (
                    f"unknown threat source {parts[3]!r}; known members and actors: "
                    f"{listing(sorted(set(s.members) | set(s.actors)))}"
                )
            return f"cannot interpret target {target!r}; {expected}"
        numeric = [n for n in SHOCKABLE_MEMBER_FIELDS]
        if parts[2] in numeric:
            return None
        return f"member field {parts[2]!r} cannot be shocked; numeric fields: {', '.join(numeric)}"
    if head == "actors" and len(parts) == 4 and parts[2] in ("pull", "ties"):
        if parts[1] not in s.actors:
            return f"unknown actor {parts[1]!r}; known actors: {listing(sorted(s.actors))}"
        if parts[3] not in s.members:
            return f"unknown member {parts[3]!r}; known members: {listing(sorted(s.members))}"
        return None
    if head == "actors" and len(parts) == 3 and parts[2] == "pull_growth":
        return None if parts[1] in s.actors else f"unknown actor {parts[1]!r}"
    return f"cannot interpret target {target!r}; {expected}"


SHOCKABLE_MEMBER_FIELDS: tuple[str, ...] = (
    "capability",
    "capacity",
    "dependence",
    "regime_insecurity",
    "sanctions_exposure",
    "autonomy_cost",
    "exit_cost",
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (draft 2020-12), as ``cstosim schema`` prints it.

    A file without ``extends`` must be a complete :class:`Scenario`; a file with ``extends`` is a
    patch (``if``/``then``/``else`` on ``extends``): every field optional, members, actors,
    sources and calendar given field by field, the timeline edited with ``remove_*``,
    ``patch_*`` and ``add_*`` (added entries are full events or observations). The schema checks
    each file on its own; references between files (ids, codes) are checked by the loader.
    """
    schema = Scenario.model_json_schema(mode="validation")
    defs: dict[str, Any] = schema.pop("$defs")
    _code_keys(schema)
    for definition in defs.values():
        _code_keys(definition)
    full = dict(schema)
    full["title"] = "Scenario"
    defs["Scenario"] = full
    for name in ("Member", "Actor", "Source", "Calendar"):
        patch = {k: v for k, v in defs[name].items() if k != "required"}
        patch["title"] = f"{name}Patch"
        patch["description"] = f"Fields of a {name.lower()} to change (or all, for a new one)"
        defs[f"{name}Patch"] = patch
    props = full["properties"]
    child_props: dict[str, Any] = {
        "extends": {
            "type": "string",
            "minLength": 1,
            "description": "Parent scenario file (a path relative to this file) to start from",
        }
    }
    for key, value in props.items():
        if key in ("events", "observations"):
            continue
        child_props[key] = _patch_refs(value)
    for timeline, union in (("events", Event), ("observations", Observation)):
        fields = sorted({f for m in _union_models(union) for f in m.model_fields})
        child_props[f"remove_{timeline}"] = {
            "type": "array",
            "items": {"type": "string"},
            "description": f"Ids of {timeline} of the parent to drop",
        }
        child_props[f"patch_{timeline}"] = {
            "type": "object",
            "additionalProperties": {"type": "object", "propertyNames": {"enum": fields}},
            "description": f"Id of a parent's entry in {timeline} -> fields to change",
        }
        child_props[f"add_{timeline}"] = {
            "type": "array",
            "items": props[timeline]["items"],
            "description": f"New {timeline}, written as in a full scenario",
        }
    defs["ScenarioPatch"] = {
        "title": "ScenarioPatch",
        "description": "A scenario that `extends` another and changes only what it names",
        "type": "object",
        "properties": child_props,
        "required": ["extends"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://cstosim.org/schema/scenario-v1.json",
        "title": "cstosim scenario",
        "description": schema.get("description", ""),
        "type": "object",
        "if": {"required": ["extends"]},
        "then": {"$ref": "#/$defs/ScenarioPatch"},
        "else": {"$ref": "#/$defs/Scenario"},
        "$defs": defs,
    }


def _code_keys(node: Any) -> None:
    """Make ``patternProperties`` keys binding: pydantic leaves other keys allowed."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1:
            node.setdefault("propertyNames", {})["pattern"] = next(iter(patterns))
        for value in node.values():
            _code_keys(value)
    elif isinstance(node, list):
        for value in node:
            _code_keys(value)


def _patch_refs(node: Any) -> Any:
    """Copy of ``node`` with references to patchable models replaced by their patch form."""
    if isinstance(node, dict):
        out = {k: _patch_refs(v) for k, v in node.items()}
        ref = out.get("$ref")
        if ref in {f"#/$defs/{n}" for n in ("Member", "Actor", "Source", "Calendar")}:
            out["$ref"] = f"{ref}Patch"
        return out
    if isinstance(node, list):
        return [_patch_refs(v) for v in node]
    return node


def _union_models(union: Any) -> list[type[BaseModel]]:
    """The model classes of an ``Annotated[A | B | ..., Field(discriminator=...)]`` union."""
    from typing import get_args

    inner = get_args(union)[0]
    return [m for m in get_args(inner) if isinstance(m, type) and issubclass(m, BaseModel)]
