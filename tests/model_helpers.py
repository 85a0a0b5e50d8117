"""Helpers for the model tests: small scenarios built in Python (no files needed)."""

from __future__ import annotations

import copy
from typing import Any

from cstosim.language.scenario import Scenario

SOURCE = {"t": {"title": "test numbers"}}


def scenario(
    members: dict[str, dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
    actors: dict[str, dict[str, Any]] | None = None,
    start: str = "2020-01",
    end: str = "2020-12",
) -> Scenario:
    """A validated scenario; events get ``label`` and ``source`` filled in."""
    if members is None:
        members = {
            "LDR": {"name": "Leader", "joined": "2000-01", "leading": True, "capability": 0.8},
            "AAA": {"name": "A", "joined": "2000-01"},
            "BBB": {"name": "B", "joined": "2000-01"},
        }
    evs = []
    for k, ev in enumerate(events or []):
        ev = dict(ev)
        ev.setdefault("id", f"ev-{k}")
        ev.setdefault("label", ev["id"])
        ev.setdefault("source", "t")
        evs.append(ev)
    data = {
        "schema_version": 1,
        "name": "test",
        "title": "test",
        "sources": SOURCE,
        "calendar": {"start": start, "end": end},
        "parameters": parameters or {},
        "members": copy.deepcopy(members),
        "actors": copy.deepcopy(actors or {}),
        "events": evs,
    }
    return Scenario.model_validate(data)


QUIET = {
    "alignment_noise": 0.0,
    "response_noise": 0.0,
    "hazard_base": 0.0,
}
STILL = {**QUIET, "alignment_rate": 0.0, "peer_influence": 0.0, "leader_pressure": 0.0}

CSTO_MEMBERS: dict[str, dict[str, Any]] = {
    "RUS": {
        "name": "Russia",
        "joined": "1992-05",
        "leading": True,
        "capability": 0.85,
        "capacity": 1.0,
        "dependence": 0.0,
        "regime_insecurity": 0.3,
        "sanctions_exposure": 0.0,
        "autonomy_cost": 0.0,
        "exit_cost": 0.95,
        "initial": {"alignment": 0.95, "credibility": 0.8},
    },
    "BLR": {
        "name": "Belarus",
        "joined": "1993-12",
        "capability": 0.04,
        "dependence": 0.9,
        "regime_insecurity": 0.7,
        "sanctions_exposure": 0.5,
        "autonomy_cost": 0.1,
        "exit_cost": 0.8,
        "initial": {"alignment": 0.9, "credibility": 0.6},
    },
    "KAZ": {
        "name": "Kazakhstan",
        "joined": "1992-05",
        "capability": 0.05,
        "dependence": 0.5,
        "regime_insecurity": 0.6,
        "sanctions_exposure": 0.4,
        "autonomy_cost": 0.3,
        "exit_cost": 0.6,
        "initial": {"alignment": 0.75, "credibility": 0.55},
    },
    "KGZ": {
        "name": "Kyrgyzstan",
        "joined": "1992-05",
        "capability": 0.01,
        "dependence": 0.7,
        "regime_insecurity": 0.6,
        "threats": {"TJK": 0.3},
        "sanctions_exposure": 0.3,
        "autonomy_cost": 0.2,
        "exit_cost": 0.6,
        "initial": {"alignment": 0.75},
    },
    "TJK": {
        "name": "Tajikistan",
        "joined": "1992-05",
        "capability": 0.02,
        "dependence": 0.7,
        "regime_insecurity": 0.6,
        "threats": {"AFG": 0.5, "KGZ": 0.3},
        "sanctions_exposure": 0.3,
        "autonomy_cost": 0.2,
        "exit_cost": 0.6,
        "initial": {"alignment": 0.8},
    },
    "ARM": {
        "name": "Armenia",
        "joined": "1992-05",
        "capability": 0.03,
        "dependence": 0.6,
        "regime_insecurity": 0.2,
        "threats": {"AZE": 0.9},
        "sanctions_exposure": 0.4,
        "autonomy_cost": 0.4,
        "exit_cost": 0.4,
        "initial": {"alignment": 0.7, "credibility": 0.45},
    },
}
CSTO_ACTORS: dict[str, dict[str, Any]] = {
    "AZE": {"name": "Azerbaijan", "kind": "aggressor", "ties": {"RUS": 0.6}},
    "AFG": {"name": "Afghanistan (Taliban)", "kind": "aggressor"},
    "UKR": {"name": "Ukraine", "kind": "state"},
    "WST": {
        "name": "The West",
        "kind": "pole",
        "pull": {"ARM": 0.15, "KAZ": 0.15},
        "pull_growth": 0.01,
    },
    "CHN": {
        "name": "China/SCO",
        "kind": "pole",
        "pull": {"KAZ": 0.15, "KGZ": 0.15, "TJK": 0.1},
        "pull_growth": 0.01,
    },
}
KAZ_CALL = {
    "id": "kaz-call",
    "date": "2022-01-05",
    "type": "invocation",
    "member": "KAZ",
    "crisis": "domestic",
    "severity": 0.9,
}
UKR_WAR = {
    "id": "ukr-war",
    "date": "2022-02-24",
    "type": "war",
    "initiator": "RUS",
    "target": "UKR",
    "drain": 0.6,
    "entrapment": 0.5,
}
ARM_CALL = {
    "id": "arm-call",
    "date": "2022-09-13",
    "type": "invocation",
    "member": "ARM",
    "crisis": "interstate",
    "severity": 0.7,
    "aggressor": "AZE",
}
KARABAKH = {
    "id": "karabakh",
    "date": "2023-09-19",
    "type": "attack",
    "attacker": "AZE",
    "target": "ARM",
    "severity": 0.9,
}


def mini_csto(
    with_war: bool = True,
    extra: list[dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Scenario:
    """A rough CSTO 2021-12..2023-11 for mechanism tests (not a calibrated scenario)."""
    events = [KAZ_CALL, *([UKR_WAR] if with_war else []), ARM_CALL, KARABAKH, *(extra or [])]
    return scenario(CSTO_MEMBERS, events, parameters, CSTO_ACTORS, "2021-12", "2023-11")
