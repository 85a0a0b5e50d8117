"""Seeded ensembles for the validation suite, run with the vectorised engine.

Every ensemble uses the same root seed, so replicate k of an ablation and replicate k of the
record draw the same random numbers ("paired by seed"). ``CSTOSIM_VALIDATION_REPLICATES``
overrides the size (default 400; the whole suite then takes well under a minute).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from cstosim.engine.vector import run_chunk
from cstosim.language.loader import load_scenario
from cstosim.language.scenario import Engagement, Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ROOT_SEED = 20231123
REPLICATES = int(os.environ.get("CSTOSIM_VALIDATION_REPLICATES", "400"))
LEVEL = {**{e.value: e.level for e in Engagement}, "absent": -1}


@dataclass(frozen=True)
class Run:
    """One ensemble's tables (text columns as plain strings)."""

    members: pd.DataFrame
    events: pd.DataFrame
    replicates: int

    def state(self, member: str, month: str) -> pd.DataFrame:
        """One row per replicate: ``member`` at the end of ``month`` ('YYYY-MM')."""
        m = self.members
        rows = m[(m["member"] == member) & (m["date"] == pd.Timestamp(f"{month}-01"))]
        return rows.set_index("replicate").sort_index()

    def level(self, member: str, month: str) -> pd.Series:
        return self.state(member, month)["engagement"].map(LEVEL)

    def row(self, event_id: str, type_: str, member: str | None = None) -> pd.DataFrame:
        """One row per replicate: the log's row of type ``type_`` for ``event_id``."""
        e = self.events
        rows = e[(e["event_id"] == event_id) & (e["type"] == type_)]
        if member is not None:
            rows = rows[rows["member"] == member]
        return rows.drop_duplicates("replicate").set_index("replicate").sort_index()


def without(scenario: Scenario, *event_ids: str) -> Scenario:
    """The scenario with some events removed (and the ranges that name them)."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["events"] = [e for e in data["events"] if e["id"] not in event_ids]
    data["observations"] = [o for o in data["observations"] if o.get("event") not in event_ids]
    data["ranges"] = {
        k: v for k, v in data.get("ranges", {}).items() if k.split(".")[1] not in event_ids
    }
    return Scenario.model_validate(data)


@cache
def ensemble(file: str, sets: tuple[str, ...] = (), removed: tuple[str, ...] = ()) -> Run:
    """``file`` with ``--set``-style ``sets`` and the events ``removed``, REPLICATES replicates."""
    scenario = load_scenario(SCENARIOS / file, list(sets))
    if removed:
        scenario = without(scenario, *removed)
    _, members, events = run_chunk(scenario, ROOT_SEED, range(REPLICATES))
    members = members.astype({"member": str, "engagement": str})
    events = events.astype({c: object for c in ("event_id", "type", "member", "outcome")})
    return Run(members, events, REPLICATES)
