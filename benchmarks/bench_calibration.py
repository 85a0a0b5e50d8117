"""Calibration benchmarks (issue 11). Not run by the tests.

``cost``: what one particle costs (both record scenarios, ``-n`` replicates each, scored), and
what a calibration of a given size would take on this machine::

    python benchmarks/bench_calibration.py cost -n 10

``oos``: the out-of-sample check from a calibration fitted on the record up to December 2021
(``cstosim calibrate scenarios/calibration/csto-record-to-2021.yaml``): the history scenario's
2022–23 observations scored from the posterior predictive (Brier and log score) against
persistence and the base rate, as ``benchmarks/out_of_sample.py`` defines them::

    python benchmarks/bench_calibration.py oos results/calibration/csto-record-to-2021
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cstosim.analysis.calibration import build_problem, score_run
from cstosim.analysis.scoring import baseline_probability, brier, log_score
from cstosim.language.calibration_file import load_calibration
from cstosim.language.loader import load_scenario
from cstosim.language.scenario import month_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from out_of_sample import CUT, HISTORY, base_rate  # noqa: E402

SPEC = ROOT / "scenarios" / "calibration" / "csto-record.yaml"


def cost(replicates: int, repeats: int) -> None:
    spec = load_calibration(SPEC)
    problem = build_problem(spec, SPEC.parent)
    timings: dict[str, list[float]] = {s.name: [] for s in problem.scenarios}
    for k in range(repeats):
        for s in problem.scenarios:
            started = time.perf_counter()
            score_run(s, k, replicates)
            timings[s.name].append(time.perf_counter() - started)
    per = sum(float(np.median(v)) for v in timings.values())
    for name, v in timings.items():
        print(f"{name}: {np.median(v):.2f} s per particle ({replicates} replicates, scored)")
    print(f"one particle, both scenarios: {per:.2f} s on one core")
    for population, generations in ((1000, 5), (120, 3)):
        evaluations = population + (generations - 1) * 2 * population  # acceptance ~0.5
        print(
            f"population {population}, {generations} generations, about {evaluations} "
            f"evaluations at acceptance ~0.5: {evaluations * per / 60:.0f} core-minutes"
        )


def oos(folder: Path) -> None:
    predictive = pd.read_csv(folder / "predictive.csv")
    scenario = load_scenario(HISTORY)
    late = [ob for ob in scenario.observations if month_index(ob.date) > month_index(CUT)]
    by_id = {ob.id: ob for ob in late}
    table = predictive[
        (predictive["scenario"] == scenario.name) & predictive["observation_id"].isin(by_id)
    ].copy()
    if table["in_fit"].any():
        raise SystemExit(f"{folder}: some 2022–23 observations were in the fit")
    table["persistence"] = [
        baseline_probability(scenario, by_id[i]) for i in table["observation_id"]
    ]
    table["base_rate"] = [base_rate(by_id[i]) for i in table["observation_id"]]
    columns = ["observation_id", "p_posterior", "p_q05", "p_q95", "persistence", "base_rate"]
    print(table[columns].to_string(index=False, float_format="%.3f"))
    rows = []
    for label, column in (
        ("posterior predictive (fit to 2021)", "p_posterior"),
        ("scenario values (hand-tuned on the whole record)", "p_scenario"),
        ("persistence", "persistence"),
        ("base rate", "base_rate"),
    ):
        rows.append(
            {
                "forecast": label,
                "brier": table[column].map(brier).mean(),
                "log_score": table[column].map(log_score).mean(),
            }
        )
    scores = pd.DataFrame(rows)
    print(f"\n{len(table)} observations of 2022–23, out of sample:")
    print(scores.to_string(index=False, float_format="%.3f"))
    model = scores.loc[0, "brier"]
    for k in (2, 3):
        print(
            f"Brier skill vs {scores.loc[k, 'forecast']}: {1 - model / scores.loc[k, 'brier']:+.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cost")
    c.add_argument("-n", "--replicates", type=int, default=10)
    c.add_argument("-r", "--repeats", type=int, default=3)
    o = sub.add_parser("oos")
    o.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.what == "cost":
        cost(args.replicates, args.repeats)
    else:
        oos(args.folder)


if __name__ == "__main__":
    main()
