"""Benchmark: a Sobol' sweep of the essay scenario (issue 10's figure).

Twelve factors (model coefficients, Armenia's and Kazakhstan's parameters, the West's and
China's pulls, the severity of Armenia's call), N base samples (N·(D+2) design points), R
replicates each, with the vectorised engine, on ``--jobs`` processes or a Dask LocalCluster.
Prints the wall time, runs per second, the peak resident memory of this process and of its
workers, and the machine's load average before and after. The target: N = 1,024 (14,336 design
points) × 20 replicates (286,720 runs) in under 15 minutes on 2 cores, peak RSS under 2 GB.

    python benchmarks/bench_sweep.py --n 1024 --replicates 20 --jobs 2
    python benchmarks/bench_sweep.py --n 64            # a quick check (896 points)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPERIMENT = """\
schema_version: 1
name: bench-essay-sobol
title: Benchmark - Sobol sweep of the essay scenario over 12 factors
scenario: {scenario}
factors:
  parameters.weight_grievance: {{low: 0.25, high: 2.0}}
  parameters.weight_outside: {{low: 0.5, high: 2.0}}
  parameters.weight_security: {{low: 0.5, high: 2.0}}
  parameters.learning_caller: {{low: 2, high: 16}}
  parameters.hazard_base: {{low: 0.05, high: 0.2}}
  parameters.weight_exit_cost: {{low: 0.25, high: 2.0}}
  parameters.hysteresis: {{low: 0.0, high: 0.3}}
  members.ARM.exit_cost: {{low: 0.1, high: 0.6}}
  members.KAZ.dependence: {{low: 0.3, high: 0.9}}
  actors.WEST.pull.ARM: {{low: 0.05, high: 0.5}}
  actors.CHN.pull.KAZ: {{low: 0.05, high: 0.5}}
  events.arm-invokes.severity: {{low: 0.4, high: 1.0}}
outcomes:
  arm_frozen: {{kind: reached, member: ARM, rung: frozen}}
  kaz_disengaged: {{kind: reached, member: KAZ, rung: disengaged}}
  arm_months_to_freeze: {{kind: time_to, member: ARM, rung: frozen}}
  cohesion_end: {{kind: metric, metric: cohesion}}
  engaged_end: {{kind: metric, metric: engaged_share}}
  fracture: {{kind: fracture, blocs_at_least: 2}}
  blocked: {{kind: consensus_failures}}
sampler: {{method: sobol, n: {n}}}
replicates: {replicates}
seed: 20231123
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="Sobol' base samples (power of 2)")
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="run on a Dask LocalCluster")
    parser.add_argument("--chunk-runs", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the sweep folder here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from cstosim.commands.explore import sweep_to_folder

    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    experiment = work / "experiment.yaml"
    experiment.write_text(
        EXPERIMENT.format(
            scenario=ROOT / "scenarios" / "csto-2022-2023.yaml",
            n=args.n,
            replicates=args.replicates,
        ),
        encoding="utf-8",
    )
    out = args.keep or work / "sweep"
    load_before = os.getloadavg()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or done == total:
            last[0] = now
            print(f"  {done}/{total} runs, {now - started:.0f} s", flush=True)

    started = time.perf_counter()
    report = sweep_to_folder(
        experiment,
        out,
        jobs=args.jobs,
        dask_local=args.dask,
        runs_per_chunk=args.chunk_runs,
        progress=progress,
        force=True,
    )
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    runs = report.design_points * report.replicates
    usage_self = resource.getrusage(resource.RUSAGE_SELF)
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_self = usage_self.ru_maxrss / 1024
    rss_children = usage_children.ru_maxrss / 1024
    cpu = sum(u.ru_utime + u.ru_stime for u in (usage_self, usage_children))
    print(
        f"engine vector; {report.design_points} design points × {report.replicates} replicates "
        f"= {runs} runs in {report.chunks} chunks on {report.runner}"
    )
    print(
        f"wall time {wall:.1f} s ({wall / 60:.1f} min); {runs / wall:.0f} runs/s; "
        f"{wall / report.design_points * 1000 * max(1, args.jobs):.1f} ms per design point "
        "per worker"
    )
    print(
        f"CPU time {cpu:.0f} s ({cpu / report.design_points * 1000:.0f} ms per design point); "
        f"on {args.jobs} idle cores that is about {cpu / max(1, args.jobs) / 60:.1f} min"
    )
    print(f"peak RSS: main process {rss_self:.0f} MB, largest worker {rss_children:.0f} MB")
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"(cores: {os.cpu_count()})"
    )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
