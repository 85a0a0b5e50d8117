"""Replicate-months per second of the three ways to run the model, with peak memory.

For the essay scenario (24 months) and the history scenario (379 months), each measurement runs
in a fresh subprocess (so that peak RSS is its own) and prints one row:

* ``batch_run``: ``mesa.batch_run(AllianceModel, ...)``, one task per replicate;
* ``mesa``: cstosim's runner with the Mesa engine (chunks of replicates per worker, tables out);
* ``vector``: cstosim's runner with the vectorised engine (a chunk of replicates as arrays).

Every row runs the same replicates (root seed 20231123) and reports wall time, replicate-months
per second and peak RSS (the largest of the parent and its workers). Not run by the tests::

    python benchmarks/bench_engines.py                       # the table of docs/MODEL.md §11
    python benchmarks/bench_engines.py --quick               # a smaller table
    python benchmarks/bench_engines.py --one vector essay 100000 2   # a single row
    python benchmarks/bench_engines.py --million             # 10^6 essay replicates to disk
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "essay": ROOT / "scenarios" / "csto-2022-2023.yaml",
    "history": ROOT / "scenarios" / "csto-history-1992-2023.yaml",
}
SEED = 20231123


def one(how: str, which: str, replicates: int, processes: int) -> dict[str, float | str | int]:
    """Run one measurement in this process and return its figures."""
    from cstosim.language.loader import load_scenario
    from cstosim.language.scenario import month_index
    from cstosim.model.calendar import months_between

    scenario = load_scenario(SCENARIOS[which])
    started = time.perf_counter()
    if how == "batch_run":
        import numpy as np
        from mesa.batchrunner import batch_run

        from cstosim.engine.ensemble import replicate_seed
        from cstosim.model.alliance import AllianceModel

        rngs = [np.random.default_rng(replicate_seed(SEED, k)) for k in range(replicates)]
        rows = batch_run(
            AllianceModel,
            parameters={"scenario": [scenario]},
            number_processes=processes,
            rng=rngs,
            data_collection_period=1,
            display_progress=False,
        )
        assert len(rows) >= replicates
    else:
        from cstosim.engine.ensemble import run_ensemble

        ensemble = run_ensemble(
            scenario, replicates=replicates, root_seed=SEED, jobs=processes, engine=how
        )
        assert ensemble.replicates == replicates
    elapsed = time.perf_counter() - started
    months = len(
        months_between(month_index(scenario.calendar.start), month_index(scenario.calendar.end))
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "how": how,
        "scenario": which,
        "replicates": replicates,
        "processes": processes,
        "months": months,
        "seconds": round(elapsed, 2),
        "replicate_months_per_s": round(replicates * months / elapsed),
        "peak_rss_mb": round(max(own, children) / 1024),
    }


def measure(how: str, which: str, replicates: int, processes: int) -> dict:
    """:func:`one` in a fresh subprocess (its own peak RSS, its own imports)."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", how, which, str(replicates), str(processes)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def million(processes: int) -> None:
    """10^6 essay replicates through `cstosim run` to a results folder (wall time, peak RSS)."""
    out = Path(tempfile.mkdtemp()) / "million"
    started = time.perf_counter()
    command = [
        sys.executable, "-m", "cstosim", "run", str(SCENARIOS["essay"]), "-n", "1000000",
        "--jobs", str(processes), "--engine", "vector", "--no-plot", "-q", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    peak = next(
        (
            line.split(":")[1].strip()
            for line in done.stderr.splitlines()
            if "Maximum resident" in line
        ),
        "?",
    )
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) if out.exists() else 0
    print(
        f"exit {done.returncode}; {elapsed:.0f} s; peak RSS {peak} kB (largest process); "
        f"{size / 2**20:.0f} MiB on disk in {out}"
    )
    if done.returncode:
        print(done.stderr[-3000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", nargs=4, metavar=("HOW", "SCENARIO", "N", "PROCESSES"))
    parser.add_argument("--quick", action="store_true", help="a smaller table")
    parser.add_argument("--million", action="store_true", help="10^6 essay replicates to disk")
    args = parser.parse_args()
    if args.one:
        how, which, n, p = args.one
        print(json.dumps(one(how, which, int(n), int(p))))
        return
    if args.million:
        million(2)
        return
    print(f"# {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    sizes = {"essay": (1_000, 10_000, 100_000), "history": (1_000, 10_000)}
    if args.quick:
        sizes = {"essay": (1_000, 10_000), "history": (1_000,)}
    plan = []
    for which, ns in sizes.items():
        for p in (1, 2):
            plan.append(("batch_run", which, 200 if which == "essay" else 50, p))
            plan.append(("mesa", which, 1_000 if which == "essay" else 100, p))
            plan += [("vector", which, n, p) for n in ns]
    header = (
        "| how | scenario | replicates | processes | seconds | replicate-months/s | peak RSS MB |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|")
    for how, which, n, p in plan:
        row = measure(how, which, n, p)
        print(
            f"| {how} | {which} | {n:,} | {p} | {row['seconds']} | "
            f"{row['replicate_months_per_s']:,} | {row['peak_rss_mb']:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
