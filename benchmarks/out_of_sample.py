"""Out-of-sample check (issue 9): fit on the record up to December 2021, score 2022–2023.

1. *Fit* by the means the project had (a search over the hand-tuned coefficients, here a grid):
   each grid point runs the history scenario cut at 2021-12 and is scored (mean Brier) on the
   observations dated up to then only. The 2022–23 observations are never looked at.
2. *Forecast*: the whole history scenario with the best grid point; its 2022–23 observations are
   scored against two baselines:
   - persistence: everything stays as at the start of the scenario (``cstosim score``'s baseline;
     for answers, the treaty honoured at the empirical rate of 0.75, Leeds et al. 2000);
   - base rate: how often the same kind of thing happened in the record before 2022 — the share
     of member-months in each engagement state (from the roster of the fact sheet: Azerbaijan,
     Georgia and Uzbekistan out from April 1999, Uzbekistan back June 2006 and suspended from
     June 2012, the rest active), the share of the three answered calls of 2010–2021 within
     the observation's bounds; 0.5 where the record before 2022 has no count (attendance,
     signatures, consensus, the direction of alignment).

Prints the grid, the chosen point and the Brier scores and skills. Not run by the tests::

    python benchmarks/out_of_sample.py                 # 300 replicates per grid point
    python benchmarks/out_of_sample.py -n 100          # quicker
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cstosim.analysis.scoring import (
    baseline_probability,
    brier,
    engagement_holds,
    response_holds,
    score,
)
from cstosim.engine.vector import run_chunk
from cstosim.language.loader import load_scenario
from cstosim.language.scenario import EngagementObservation, ResponseObservation, month_index

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "scenarios" / "csto-history-1992-2023.yaml"
CUT = "2021-12"
SEED = 20231123
GRID = {
    "parameters.hazard_base": [0.05, 0.1, 0.15],
    "parameters.engagement_threshold": [-0.3, -0.15, 0.0],
    "parameters.weight_grievance": [0.5, 1.0],
}

# the record before 2022, member by member: (state, from, to) in months, from the fact sheet
RECORD_STATES = {
    "AZE": [("active", "1993-09", "1999-03"), ("exited", "1999-04", CUT)],
    "GEO": [("active", "1993-12", "1999-03"), ("exited", "1999-04", CUT)],
    "UZB": [
        ("active", "1992-05", "1999-03"),
        ("exited", "1999-04", "2006-05"),
        ("active", "2006-06", "2012-05"),
        ("frozen", "2012-06", CUT),
    ],
    **{code: [("active", "1992-05", CUT)] for code in ("RUS", "ARM", "KAZ", "KGZ", "TJK")},
    "BLR": [("active", "1993-12", CUT)],
}
RECORD_ANSWERS = ["fact-finding", "statements", "fact-finding"]  # Osh 2010, ARM 2021, TJK 2021


def months(start: str, end: str) -> int:
    (y0, m0), (y1, m1) = month_index(start), month_index(end)
    return (y1 - y0) * 12 + (m1 - m0) + 1


def base_rate(ob) -> float:
    if isinstance(ob, EngagementObservation):
        held = total = 0
        for spans in RECORD_STATES.values():
            for state, start, end in spans:
                n = months(start, end)
                total += n
                held += n * engagement_holds(ob, state)
        return held / total
    if isinstance(ob, ResponseObservation):
        return float(np.mean([response_holds(ob, a, 0.0) for a in RECORD_ANSWERS]))
    return 0.5


def run(sets: list[str], replicates: int, until_cut: bool) -> tuple:
    """The history scenario with ``sets``; stopped after the cut month when ``until_cut`` (the
    scorer then skips every later observation)."""
    scenario = load_scenario(HISTORY, sets)
    _, members, events = run_chunk(scenario, SEED, range(replicates), CUT if until_cut else None)
    members = members.astype({"member": str, "engagement": str})
    events = events.astype({c: object for c in ("event_id", "type", "member", "outcome")})
    return scenario, members, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--replicates", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for values in itertools.product(*GRID.values()):
        sets = [f"{k}={v}" for k, v in zip(GRID, values, strict=True)]
        scenario, members, events = run(sets, args.replicates, until_cut=True)
        report = score(scenario, members, events, args.replicates)
        rows.append({**dict(zip(GRID, values, strict=True)), "brier": report.totals["brier"]})
    grid = pd.DataFrame(rows).sort_values("brier")
    print(f"Fit on the observations up to {CUT} ({args.replicates} replicates per point):")
    print(grid.to_string(index=False, float_format="%.4f"))
    best = grid.iloc[0]
    sets = [f"{k}={best[k]}" for k in GRID]
    print("\nchosen:", ", ".join(sets))
    scenario, members, events = run(sets, args.replicates, until_cut=False)
    table = score(scenario, members, events, args.replicates).table
    late = [ob for ob in scenario.observations if month_index(ob.date) > month_index(CUT)]
    ids = {ob.id for ob in late}
    test = table[table["observation_id"].isin(ids)].copy()
    by_id = {ob.id: ob for ob in late}
    test["persistence"] = [baseline_probability(scenario, by_id[i]) for i in test["observation_id"]]
    test["base_rate"] = [base_rate(by_id[i]) for i in test["observation_id"]]
    model = test["probability"].map(brier).mean()
    persistence = test["persistence"].map(brier).mean()
    rate = test["base_rate"].map(brier).mean()
    print(f"\n2022–2023 observations ({len(test)}), scored out of sample:")
    columns = ["observation_id", "claim", "probability", "persistence", "base_rate"]
    print(test[columns].to_string(index=False, float_format="%.3f"))
    print(f"\nBrier: model {model:.3f}, persistence {persistence:.3f}, base rate {rate:.3f}")
    print(
        f"Brier skill: vs persistence {1 - model / persistence:+.3f}, vs base rate "
        f"{1 - model / rate:+.3f}"
    )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
