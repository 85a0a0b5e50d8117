"""Time cstosim's ensemble runner against ``mesa.batch_run`` on the same model and scenario.

In one process, for 1 and 2 worker processes, run the same replicates (same seeds) with

* ``cstosim.engine.ensemble.run_ensemble`` (chunks of many replicates per spawned worker);
* ``mesa.batch_run(AllianceModel, ...)`` (one task per replicate, every step collected),

and print replicates per second and the ratios (best of ``--repeat`` alternating runs). Both
sides get replicate k's generator from ``SeedSequence(seed).spawn(k + 1)[k]``, and the script
checks that they agree on the final cohesion of every replicate. Not run by the tests (it
takes minutes at the default size)::

    python benchmarks/bench_runner.py                 # 2,000 replicates
    python benchmarks/bench_runner.py -n 300 --processes 1 2 --repeat 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cstosim.engine.ensemble import replicate_seed, run_ensemble
from cstosim.language.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def time_runner(scenario, n: int, seed: int, processes: int) -> tuple[float, pd.Series]:
    start = time.perf_counter()
    ensemble = run_ensemble(scenario, replicates=n, root_seed=seed, jobs=processes)
    elapsed = time.perf_counter() - start
    final = ensemble.model.groupby("replicate")["cohesion"].last()
    return elapsed, final


def time_batch_run(scenario, n: int, seed: int, processes: int) -> tuple[float, pd.Series]:
    from mesa.batchrunner import batch_run

    from cstosim.model.alliance import AllianceModel

    rngs = [np.random.default_rng(replicate_seed(seed, k)) for k in range(n)]
    start = time.perf_counter()
    rows = batch_run(
        AllianceModel,
        parameters={"scenario": [scenario]},  # a one-element list: one value, not expanded
        number_processes=processes,
        data_collection_period=1,
        max_steps=100_000,
        display_progress=False,
        rng=rngs,
    )
    frame = pd.DataFrame(rows)  # a table, as the runner gives (included in the time)
    elapsed = time.perf_counter() - start
    final = frame.sort_values(["iteration", "Step"]).groupby("iteration")["cohesion"].last()
    return elapsed, final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--replicates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20231123)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "example-triad.yaml")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time each case this many times, alternating, and keep the best",
    )
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    n = args.replicates
    time_runner(scenario, 2, args.seed, 1)  # warm up: import the model in this process
    time_batch_run(scenario, 2, args.seed, 1)
    print(f"scenario {scenario.name}, {n} replicates, seed {args.seed}")
    print(f"{'processes':>9}  {'method':<14} {'seconds':>8} {'rep/s':>8}")
    speeds: dict[tuple[str, int], float] = {}
    for processes in args.processes:
        ours_t, mesa_t = float("inf"), float("inf")
        for _ in range(args.repeat):  # alternate, so that a busy machine hurts both alike
            seconds, ours = time_runner(scenario, n, args.seed, processes)
            ours_t = min(ours_t, seconds)
            seconds, theirs = time_batch_run(scenario, n, args.seed, processes)
            mesa_t = min(mesa_t, seconds)
        for method, seconds in (("cstosim", ours_t), ("mesa.batch_run", mesa_t)):
            speeds[(method, processes)] = n / seconds
            print(f"{processes:>9}  {method:<14} {seconds:>8.2f} {n / seconds:>8.1f}")
        agree = np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-12)
        print(
            f"{'':>9}  cstosim / batch_run speed: {ours_t and mesa_t / ours_t:.2f}x; "
            f"final cohesion of every replicate agrees: {'yes' if agree else 'NO'}"
        )
    if len(args.processes) > 1:
        first, last = args.processes[0], args.processes[-1]
        for method in ("cstosim", "mesa.batch_run"):
            ratio = speeds[(method, last)] / speeds[(method, first)]
            print(f"{method}: {last} processes vs {first}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
