"""Validation that can fail (issue 9): each claim about the record, paired with its ablation.

A claim *holds* when the model makes it more likely than not (P ≥ 0.5 over the seeded ensemble),
one rule for every claim, never a threshold chosen per claim. Each claim comes with the
ablation that names what carries it — the driver removed or the mechanism switched off — and
the test asserts both that the claim holds in the full model and that it fails (P < 0.5) in the
ablation. A claim the model does not reach is ``xfail(strict=True)`` with the figure reached
(docs/CALIBRATION.md, "Validation"), so that reaching it later is noticed too.

Claims that hold whatever the model does (Russia never leaving; a member not exiting while exit
is out of reach) were dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from .conftest import Run, ensemble

pytestmark = pytest.mark.validation

ESSAY = "csto-2022-2023.yaml"
HISTORY = "csto-history-1992-2023.yaml"
ACTIVE, DISENGAGED, FROZEN, EXITED = 0, 1, 2, 3


@dataclass(frozen=True)
class Claim:
    """A fact of the record, the probability the model gives it, and its ablation."""

    name: str
    scenario: str
    probability: Callable[[Run], float]
    sets: tuple[str, ...] = ()  # the ablation: --set overrides …
    removed: tuple[str, ...] = ()  # … and/or events removed
    why: str = ""
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


def share(flags) -> float:
    return float(flags.mean())


def answer_is(event: str, *outcomes: str, within: float | None = None) -> Callable[[Run], float]:
    def p(run: Run) -> float:
        rows = run.row(event, "invocation")
        ok = rows["outcome"].isin(outcomes)
        if within is not None:
            ok &= rows["delay_days"] <= within
        return share(ok.reindex(range(run.replicates), fill_value=False))

    return p


def at_least(member: str, month: str, level: int) -> Callable[[Run], float]:
    return lambda run: share(run.level(member, month) >= level)


def leaves_in(member: str, before: str, month: str) -> Callable[[Run], float]:
    """Still a member (at most frozen) at the end of ``before``, exited by the end of ``month``."""
    return lambda run: share(
        (run.level(member, before).between(ACTIVE, FROZEN)) & (run.level(member, month) == EXITED)
    )


def stays_active(member: str, month: str) -> Callable[[Run], float]:
    return lambda run: share(run.level(member, month) == ACTIVE)


def logged(event: str, type_: str, member: str, outcome: str) -> Callable[[Run], float]:
    def p(run: Run) -> float:
        rows = run.row(event, type_, member)
        return float((rows["outcome"] == outcome).sum()) / run.replicates

    return p


def falls(member: str, variable: str, since: str, until: str) -> Callable[[Run], float]:
    return lambda run: share(
        run.state(member, until)[variable] < run.state(member, since)[variable]
    )


def missed(figure: str) -> tuple[pytest.MarkDecorator, ...]:
    return (pytest.mark.xfail(strict=True, reason=f"not reached: {figure}"),)


NO_GRIEVANCE = ("parameters.weight_grievance=0", "parameters.grievance_dissent=0")
NO_LEARNING = (
    "parameters.learning_caller=0",
    "parameters.learning_bystander=0",
    "parameters.learning_attack=0",
)
NO_DEPENDENCE_OR_REGIME = ("parameters.weight_dependence=0", "parameters.weight_regime=0")

CLAIMS = [
    # ---- the essay's period ----------------------------------------------------------------
    Claim(
        "Kazakhstan 2022: deployment within two days",
        ESSAY,
        answer_is("kaz-invokes", "deployment", within=2),
        sets=("events.kaz-invokes.crisis=interstate",),
        why="unrest against a government is cheap to help with and insecure incumbents share it",
    ),
    Claim(
        "Armenia 2022: no more than a fact-finding mission",
        ESSAY,
        answer_is("arm-invokes", "none", "statements", "fact-finding"),
        sets=("parameters.weight_aggressor_ties=0", "events.russia-invades-ukraine.drain=0"),
        why="Azerbaijan's tie to Russia and the capacity the war drains keep the answer low",
    ),
    Claim(
        "Armenia 2022: exactly a fact-finding mission (modal answer)",
        ESSAY,
        answer_is("arm-invokes", "fact-finding"),
        sets=("events.arm-invokes.severity=0",),
        marks=missed("P = 0.43 at 400 replicates; statements in 0.57"),
    ),
    Claim(
        "Armenia's credibility falls from August 2022 to November 2023",
        ESSAY,
        falls("ARM", "credibility", "2022-08", "2023-11"),
        sets=NO_LEARNING,
        why="members learn from how their calls are answered",
    ),
    Claim(
        "Armenia skips the September 2022 drills",
        ESSAY,
        logged("drill-kaz-2022", "attendance", "ARM", "absent"),
        sets=NO_GRIEVANCE,
        marks=missed("P = 0.44; absence follows grievance, d = min(1, γ·G) ≈ 0.4"),
    ),
    Claim(
        "Armenia refuses to sign the Yerevan declaration",
        ESSAY,
        logged("summit-yerevan-2022", "signature", "ARM", "refused"),
        sets=NO_GRIEVANCE,
        marks=missed("P = 0.17"),
    ),
    Claim(
        "No consensus at the Moscow summit of May 2022",
        ESSAY,
        lambda run: share(run.row("summit-moscow-2022", "summit")["consensus"] == "blocked"),
        marks=missed("P = 0.00: approval depends on alignment and grievance, not on the agenda"),
    ),
    Claim(
        "Armenia disengaged or worse in November 2023",
        ESSAY,
        at_least("ARM", "2023-11", DISENGAGED),
        sets=NO_GRIEVANCE,
        marks=missed("P = 0.43; 0.01 without grievance, 0.00 without the call and the attack"),
    ),
    Claim(
        "Armenia absent from the Minsk summit",
        ESSAY,
        logged("summit-minsk-2023", "attendance", "ARM", "absent"),
        sets=NO_GRIEVANCE,
        why="grievance from the unanswered call and attack turns into absence",
    ),
    Claim(
        "Armenia absent from Minsk because of its call and the Karabakh attack",
        ESSAY,
        logged("summit-minsk-2023", "attendance", "ARM", "absent"),
        removed=("arm-invokes", "aze-seizes-karabakh"),
    ),
    Claim(
        "Kazakhstan's alignment falls",
        ESSAY,
        falls("KAZ", "alignment", "2022-01", "2023-11"),
        sets=("events.china-pull-rises.set=0.01", "events.russia-invades-ukraine.entrapment=0"),
        why="China's faster pull and the war's entrapment",
    ),
    *[
        Claim(
            f"{code} still active in November 2023",
            ESSAY,
            stays_active(code, "2023-11"),
            sets=NO_DEPENDENCE_OR_REGIME,
            why="dependence on Russia and the regime protection the alliance gives",
        )
        for code in ("BLR", "KAZ", "KGZ", "TJK")
    ],
    # ---- the whole record ------------------------------------------------------------------
    *[
        Claim(
            f"{code} leaves at the 1999 renewal (a member in March, gone in April)",
            HISTORY,
            leaves_in(code, "1999-03", "1999-04"),
            removed=("treaty-renewal-1999",),
            why="the treaty lapses for those who do not sign",
        )
        for code in ("AZE", "GEO")
    ],
    Claim(
        "UZB leaves at the 1999 renewal (a member in March, gone in April)",
        HISTORY,
        leaves_in("UZB", "1999-03", "1999-04"),
        removed=("treaty-renewal-1999",),
        marks=missed("P = 0.21 with generic Uzbek numbers (it was 1.0 with tuned ones)"),
    ),
    Claim(
        "Uzbekistan suspends its participation in 2012",
        HISTORY,
        at_least("UZB", "2012-12", FROZEN),
        sets=NO_GRIEVANCE,
        marks=missed("P = 0.00: its drivers (K2, Andijan, the NDN) move pulls too little"),
    ),
    Claim(
        "Armenia 2021: consultations, as asked",
        HISTORY,
        answer_is("arm-asks-consultations-2021", "statements"),
        sets=("events.arm-asks-consultations-2021.requested=deployment",),
        why="nobody sends more than was asked for",
    ),
    Claim(
        "Tajikistan 2021: technical aid at most, no troops",
        HISTORY,
        answer_is("tjk-asks-afghan-border-2021", "statements", "fact-finding"),
        sets=("events.tjk-asks-afghan-border-2021.severity=0.9",),
        why="a prospective threat calls for little (the answer is capped at ν·s)",
    ),
    Claim(
        "Osh 2010: refused, a working group at most",
        HISTORY,
        answer_is("kgz-asks-osh-2010", "statements", "fact-finding"),
        sets=("events.kgz-asks-osh-2010.crisis=domestic",),
        marks=missed("P = 0.38; token-force in 0.62"),
    ),
]


@pytest.mark.parametrize("claim", [pytest.param(c, id=c.name, marks=c.marks) for c in CLAIMS])
def test_claim_holds_and_its_ablation_fails(claim: Claim) -> None:
    full = claim.probability(ensemble(claim.scenario))
    ablated = claim.probability(ensemble(claim.scenario, claim.sets, claim.removed))
    assert full >= 0.5, f"{claim.name}: P = {full:.2f} in the full model"
    assert ablated < 0.5, f"{claim.name}: P = {ablated:.2f} still, without it"


def test_the_call_and_the_attack_lower_armenias_credibility() -> None:
    """Paired by seed: without its call and the Karabakh attack Armenia would believe more.

    (That its credibility falls from August 2022 holds even without them — Kazakhstan's answer
    lifted every member's belief in January 2022 and it decays back — so the claim is made
    against the counterfactual instead.) Without learning the two are equal.
    """
    removed = ("arm-invokes", "aze-seizes-karabakh")

    def lower(sets: tuple[str, ...]) -> float:
        full = ensemble(ESSAY, sets).state("ARM", "2023-11")["credibility"]
        calm = ensemble(ESSAY, sets, removed).state("ARM", "2023-11")["credibility"]
        return share(full < calm)

    assert lower(()) >= 0.5
    assert lower(NO_LEARNING) < 0.5


def test_answering_armenia_lowers_its_disengagement() -> None:
    """Counterfactual, paired by seed: a full answer in 2022 lowers P(ARM ≥ disengaged)."""
    record = at_least("ARM", "2023-11", DISENGAGED)(ensemble(ESSAY))
    answered = at_least("ARM", "2023-11", DISENGAGED)(ensemble("csto-cf-armenia-answered.yaml"))
    assert record - answered >= 0.15
    # without grievance the call leaves no mark, so answering it changes little
    flat = ensemble(ESSAY, NO_GRIEVANCE)
    flat_answered = ensemble("csto-cf-armenia-answered.yaml", NO_GRIEVANCE)
    gap = at_least("ARM", "2023-11", DISENGAGED)
    assert gap(flat) - gap(flat_answered) < 0.05


def test_without_the_invasion_armenia_gets_a_better_answer() -> None:
    def response(run: Run) -> float:
        return float(run.row("arm-invokes", "invocation")["response"].median())

    assert response(ensemble("csto-cf-no-invasion.yaml")) > response(ensemble(ESSAY))
    # the mechanism is the capacity the war drains: without it the two answers are close
    no_capacity = ("parameters.weight_capacity=0",)
    with_war = response(ensemble(ESSAY, (*no_capacity, "events.russia-invades-ukraine.drain=0")))
    no_war = response(ensemble("csto-cf-no-invasion.yaml", no_capacity))
    assert with_war == pytest.approx(no_war, abs=0.05)
