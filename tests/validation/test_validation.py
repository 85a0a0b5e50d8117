"""The validation suite of issue 5: the model against the record, observations left to it.

Every threshold below is the issue's, asserted as written; nothing is imposed on the model
(the record scenarios carry no absentees, no imposed answers and no member signals). A target
the model cannot meet honestly is marked ``xfail(strict=True)`` with the figure reached and the
reason (docs/CALIBRATION.md, "Validation").

Run with ``pytest -m validation tests/validation`` (about 1.5 minutes on two cores).
"""

from __future__ import annotations

import pandas as pd
import pytest

from cstosim.engine.ensemble import Ensemble
from cstosim.language.scenario import Engagement

from .conftest import at_month, invocation

pytestmark = pytest.mark.validation

LEVEL = {e.value: e.level for e in Engagement}
FROZEN, EXITED, DISENGAGED = LEVEL["frozen"], LEVEL["exited"], LEVEL["disengaged"]


def levels(rows: pd.DataFrame) -> pd.Series:
    """Engagement as its level (absent → −1)."""
    return rows["engagement"].map(LEVEL).fillna(-1)


def share(flags: pd.Series) -> float:
    return float(flags.mean())


# ---- the essay's period: csto-2022-2023.yaml ---------------------------------------------------


def test_kazakhstan_2022_deployment_within_two_days(record: Ensemble) -> None:
    answer = invocation(record.events, "kaz-invokes")
    assert len(answer) == record.replicates
    ok = (answer["outcome"] == "deployment") & (answer["delay_days"] <= 2)
    assert share(ok) >= 0.90


def test_armenia_2022_no_more_than_fact_finding(record: Ensemble) -> None:
    answer = invocation(record.events, "arm-invokes")
    assert len(answer) == record.replicates
    ok = answer["outcome"].isin(["none", "statements", "fact-finding"])
    assert share(ok) >= 0.90


def test_armenia_credibility_falls_from_august_2022_to_november_2023(record: Ensemble) -> None:
    before = at_month(record.members, "ARM", "2022-08")["credibility"]
    after = at_month(record.members, "ARM", "2023-11")["credibility"]
    assert len(before) == len(after) == record.replicates
    assert share(after < before) >= 0.95


def test_armenia_disengaged_or_worse_in_november_2023(record: Ensemble) -> None:
    lv = levels(at_month(record.members, "ARM", "2023-11"))
    assert share(lv >= DISENGAGED) >= 0.60


def test_armenia_not_formally_exited_in_november_2023(record: Ensemble) -> None:
    lv = levels(at_month(record.members, "ARM", "2023-11"))
    assert share(lv >= EXITED) <= 0.20


@pytest.mark.parametrize("member", ["BLR", "KAZ", "KGZ", "TJK"])
def test_others_not_frozen_or_exited_in_november_2023(record: Ensemble, member: str) -> None:
    lv = levels(at_month(record.members, member, "2023-11"))
    assert len(lv) == record.replicates
    assert share(lv >= FROZEN) <= 0.10


def test_kazakhstan_median_alignment_falls(record: Ensemble) -> None:
    start = at_month(record.members, "KAZ", "2021-12")["alignment"].median()
    end = at_month(record.members, "KAZ", "2023-11")["alignment"].median()
    assert end < start


@pytest.mark.parametrize("which", ["record", "history"])
def test_russia_never_exits(which: str, request: pytest.FixtureRequest) -> None:
    ens: Ensemble = request.getfixturevalue(which)
    russia = ens.members[ens.members["member"] == "RUS"]
    assert len(russia) > 0
    assert not (russia["engagement"] == "exited").any()


# ---- the whole record: csto-history-1992-2023.yaml ----------------------------------------------


@pytest.mark.parametrize("member", ["AZE", "GEO", "UZB"])
def test_the_three_leave_by_the_end_of_1999(history: Ensemble, member: str) -> None:
    lv = levels(at_month(history.members, member, "1999-12"))
    assert len(lv) == history.replicates
    assert share(lv >= EXITED) >= 0.50


@pytest.mark.parametrize("member", ["RUS", "ARM", "BLR", "KAZ", "KGZ", "TJK"])
def test_the_six_that_renewed_stay_through_1999(history: Ensemble, member: str) -> None:
    lv = levels(at_month(history.members, member, "1999-12"))
    assert len(lv) == history.replicates
    assert share(lv >= EXITED) <= 0.10


# ---- counterfactuals, paired by seed ------------------------------------------------------------


def test_answering_armenia_lowers_its_disengagement(
    record: Ensemble, cf_answered: Ensemble
) -> None:
    assert cf_answered.root_seed == record.root_seed
    real = levels(at_month(record.members, "ARM", "2023-11")) >= DISENGAGED
    answered = levels(at_month(cf_answered.members, "ARM", "2023-11")) >= DISENGAGED
    assert (real.index == answered.index).all()
    assert share(real) - share(answered) >= 0.25


def test_without_the_invasion_armenia_gets_a_better_answer(
    record: Ensemble, cf_no_invasion: Ensemble
) -> None:
    assert cf_no_invasion.root_seed == record.root_seed
    real = invocation(record.events, "arm-invokes")["response"]
    no_war = invocation(cf_no_invasion.events, "arm-invokes")["response"]
    assert len(real) == len(no_war) == record.replicates
    assert no_war.median() > real.median()
