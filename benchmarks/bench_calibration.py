"""Calibration benchmarks (issue 11). Not run by the tests.

``cost``: what one particle costs (both record scenarios, ``-n`` replicates each, scored), and
what a calibration of a given size would take on this machine::

    python benchmarks/bench_calibration.py cost -n 10

``run``: the issue's benchmark: the calibration file (default the record's: 11 parameters, both
record scenarios) with ``--population`` particles (default 1,000) run to the end, posterior
predictive included; prints the wall time with the load average before and after, and per
generation the evaluations, acceptance and effective sample size::

    python benchmarks/bench_calibration.py run --population 1000 --out /tmp/bench-calibration

``oos``: the out-of-sample check from a calibration fitted on the record up to December 2021
(``cstosim calibrate scenarios/calibration/csto-record-to-2021.yaml``): the history scenario's
2022–23 observations scored from the posterior predictive (Brier and log score) against
persistence and the base rate, as ``benchmarks/out_of_sample.py`` defines them::

    python benchmarks/bench_calibration.py oos results/calibration/csto-record-to-2021
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cstosim.analysis import calibration
from cstosim.analysis.calibration import RecordModel, build_problem
from cstosim.analysis.scoring import baseline_probability, brier, log_score
from cstosim.language.calibration_file import load_calibration
from cstosim.language.loader import load_scenario
from cstosim.language.scenario import month_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from out_of_sample import CUT, HISTORY, base_rate  # noqa: E402

SPEC = ROOT / "scenarios" / "calibration" / "csto-record.yaml"


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def cost(replicates: int, repeats: int, batch: int) -> None:
    spec = load_calibration(SPEC)
    problem = dataclasses.replace(build_problem(spec, SPEC.parent), replicates=replicates)
    model = RecordModel(problem)
    rng = np.random.default_rng(1)
    particles = [
        ({p.name: float(rng.uniform(p.low, p.high)) for p in problem.priors}, k)
        for k in range(batch)
    ]
    print(f"before: {load()}")
    alone = []
    for values, root in particles[:repeats]:
        started = time.perf_counter()
        model.evaluate(values, root)
        alone.append(time.perf_counter() - started)
    print(
        f"one particle alone (both scenarios, {replicates} replicates each, scored): "
        f"{np.median(alone):.3f} s"
    )
    started = time.perf_counter()
    model.evaluate_many(particles)
    per = (time.perf_counter() - started) / batch
    print(f"{batch} particles stepped together (BATCH {calibration.BATCH}): {per:.3f} s each")
    for population, generations in ((1000, 3), (1000, 5)):
        evaluations = population + (generations - 1) * 2 * population  # acceptance ~0.5
        print(
            f"population {population}, {generations} generations, about {evaluations} "
            f"evaluations at acceptance ~0.5: {evaluations * per / 60:.1f} core-minutes batched"
        )
    print(f"after: {load()}")


def run(spec_path: Path, out: Path, population: int, generations: int | None) -> None:
    print(f"before: {load()}")
    result = calibration.calibrate(
        spec_path,
        out,
        force=True,
        population=population,
        generations=generations,
        max_minutes=60,
        log=print,
    )
    print(f"after: {load()}")
    pops = result.populations
    columns = ["generation", "epsilon", "evaluations", "accepted", "acceptance_rate", "ess"]
    print(pops[columns].to_string(index=False, float_format="%.3f"))
    print(
        f"{len(problem_names(spec_path))} parameters, population {population}: "
        f"{int(pops['accepted'].iloc[-1])} accepted in the last generation, "
        f"{int(pops['evaluations'].sum())} evaluations, {result.seconds / 60:.1f} min wall "
        f"({os.cpu_count()} cores; stopped: {result.stopped})"
    )


def problem_names(spec_path: Path) -> list[str]:
    return build_problem(load_calibration(spec_path), spec_path.parent).names


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
    c.add_argument("-b", "--batch", type=int, default=100)
    r = sub.add_parser("run")
    r.add_argument("--spec", type=Path, default=SPEC)
    r.add_argument("--out", type=Path, default=Path("/tmp/bench-calibration"))
    r.add_argument("--population", type=int, default=1000)
    r.add_argument("--generations", type=int, default=None)
    o = sub.add_parser("oos")
    o.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.what == "cost":
        cost(args.replicates, args.repeats, args.batch)
    elif args.what == "run":
        run(args.spec, args.out, args.population, args.generations)
    else:
        oos(args.folder)


if __name__ == "__main__":
    main()
