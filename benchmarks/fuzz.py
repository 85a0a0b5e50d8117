"""Long fuzzing run of the scenario and experiment languages (issue 13; docs/RELIABILITY.md).

Mutates every shipped scenario (``scenarios/*.yaml``, counterfactuals included) and experiment
file (``scenarios/experiments/*.yaml``) with the mutations of ``tests/fuzz/mutate.py`` and puts
each case through the real entry point, in-process for speed: ``cstosim validate`` (click's
runner on ``cstosim.cli.main``) for scenarios, ``load_experiment`` for experiments. Accepted
files are also run (``cstosim run FILE -n 2 -j 1 --no-plot -q``; one chunk of an experiment's
sweep), up to ``--runs`` of them spread over the campaign.

Every case must end in exit 0, or exit 2 with one located line per problem, never a traceback,
within ``--bound`` seconds of CPU; a case that does not answer within ``--hang`` seconds of wall
time is killed and counted as a hang. Failing inputs are written to ``OUT/failures/<kind>/<n>/``
with ``case.json`` (seed file, mutations, log, verdict) and the command that reproduces them:
``python benchmarks/fuzz.py --seed S --case N``.

    python benchmarks/fuzz.py                  # 100,000 cases on 1 process
    python benchmarks/fuzz.py -n 2000 --jobs 2 --runs 20   # two processes
    python benchmarks/fuzz.py --time-limit 3600   # stop after an hour, print what was done
    python benchmarks/fuzz.py --seed 7 --case 1234   # one case again, verbose
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cache
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harness lives in tests/fuzz (package `fuzz`)

from fuzz.corpus import Seed, all_seeds, make_workspace, slices  # noqa: E402
from fuzz.mutate import HOSTILE_OPS, TEXT_OPS, VALID_OPS, Case, make_case  # noqa: E402
from fuzz.oracle import CPU_BOUND, Verdict, check, check_run, check_sweep  # noqa: E402

MEMORY_LIMIT = 6 * 2**30
"""Address-space limit of a worker: a memory bomb becomes a MemoryError, not a dead machine."""


SLICE_SHARE = 0.6
"""Share of the cases made from a slice of a complete scenario (its header, members, actors
and six events; ``tests/fuzz/corpus.py``) rather than a whole shipped file: slices take a
third of the time to check, so the campaign gets further on one process."""

POOLS = {"all": None, "valid": VALID_OPS, "hostile": HOSTILE_OPS, "bytes": TEXT_OPS}
"""Operator pools: every operator, those that keep files valid (to exercise ``run``), those
aimed at the reader's limits, those on bytes."""


@dataclass(frozen=True)
class Config:
    """What defines a campaign's cases: its seed, the seed files, the operator pool."""

    master: int
    only: str | None = None
    pool: str = "all"
    slices: float = SLICE_SHARE

    def case(self, index: int) -> Case:
        """Case number ``index`` (a pure function of the configuration and ``index``)."""
        seeds, parts = _seeds(self.only)
        rnd = random.Random(f"{self.master}:{index}")
        origin = seeds[rnd.randrange(len(seeds))]
        if parts and rnd.random() < self.slices:
            origin = parts[rnd.randrange(len(parts))]
        count = rnd.choices([1, 2, 3], weights=[6, 3, 1])[0]
        mutations = [rnd.randrange(2**32) for _ in range(count)]
        return make_case(origin, mutations, f"w{index}", POOLS[self.pool])

    def reproduce(self, index: int) -> str:
        extra = (
            (f" --only '{self.only}'" if self.only else "")
            + (f" --pool {self.pool}" if self.pool != "all" else "")
            + (f" --slices {self.slices:g}" if self.slices != SLICE_SHARE else "")
        )
        return f"python benchmarks/fuzz.py --seed {self.master} --case {index}{extra}"


@dataclass
class Result:
    index: int
    seed: str
    verdict: dict[str, Any]
    run: dict[str, Any] | None
    case: dict[str, Any]


def _worker(conn: Connection, config: Config, tmp: str) -> None:
    """Check the cases the parent sends, one at a time; answer with a :class:`Result`."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    workspace = make_workspace(Path(tempfile.mkdtemp(prefix="ws-", dir=tmp)))
    runs = Path(tempfile.mkdtemp(prefix="runs-", dir=tmp))
    seen: set[int] = set()
    while True:
        message = conn.recv()
        if message is None:
            return
        index, bound, want_run = message
        case = config.case(index)
        verdict = check(workspace, case, bound)
        ran: Verdict | None = None
        if verdict.status == "accepted" and want_run:
            digest = hash(tuple(sorted(case.files.items())) + tuple(case.sets))
            if digest not in seen:
                seen.add(digest)
                runner = check_sweep if case.kind == "experiment" else check_run
                ran = runner(workspace, case, runs)
        conn.send(
            Result(
                index,
                case.seed,
                asdict(verdict),
                asdict(ran) if ran is not None else None,
                case.describe(),
            )
        )


@cache
def _seeds(only: str | None) -> tuple[list[Seed], list[Seed]]:
    """The shipped files to mutate (matching ``only``) and the slices of the complete ones."""
    seeds = all_seeds()
    if only:
        seeds = [s for s in seeds if re.search(only, s.name)]
    if not seeds:
        raise SystemExit(f"no seed file matches {only!r}")
    parts = [p for s in seeds if s.kind == "scenario" and not s.is_child for p in slices(s.name)]
    return seeds, parts


def save_failure(out: Path, config: Config, index: int, result: Result, kind: str) -> Path:
    """Write the failing case's files and what happened to ``out/failures/<kind>/<index>``."""
    folder = out / "failures" / re.sub(r"[^A-Za-z0-9_.-]+", "-", kind).strip("-") / str(index)
    folder.mkdir(parents=True, exist_ok=True)
    case = config.case(index)
    for rel, content in case.files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    info = {
        "master_seed": config.master,
        "index": index,
        "reproduce": config.reproduce(index),
        "case": result.case,
        "verdict": {**result.verdict, "lines": [x[:2000] for x in result.verdict["lines"]]},
        "run": result.run,
    }
    (folder / "case.json").write_text(json.dumps(info, indent=2, ensure_ascii=True) + "\n")
    return folder


class Campaign:
    """Counts of a fuzzing campaign."""

    def __init__(self) -> None:
        self.cases = 0
        self.statuses: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.by_seed: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()
        self.slowest: tuple[float, int, str] = (0.0, -1, "")
        self.cpu = 0.0
        self.examples: dict[str, list[int]] = {}

    def add(self, result: Result) -> list[str]:
        """Count one result; return the failure kinds it shows."""
        self.cases += 1
        v = result.verdict
        self.statuses[v["status"]] += 1
        self.by_seed[result.seed.split("[")[0]] += 1  # slices under their file
        self.cpu += v["cpu"]
        if v["cpu"] > self.slowest[0]:
            self.slowest = (v["cpu"], result.index, result.seed)
        kinds = []
        if v["status"] == "failure":
            kinds.append(f"{v['failure']} [known: {v['known']}]" if v["known"] else v["failure"])
        if result.run is not None:
            r = result.run
            self.runs[r["status"] if r["status"] != "accepted" else f"exit {r['exit_code']}"] += 1
            if r["status"] == "failure":
                kinds.append(r["failure"])
        for kind in kinds:
            self.failures[kind] += 1
            self.examples.setdefault(kind, []).append(result.index)
        return kinds

    def report(self, wall: float, args: argparse.Namespace) -> str:
        accepted = self.statuses["accepted"]
        rejected = self.statuses["rejected"]

        def count(*kinds: str) -> int:
            return sum(n for k, n in self.failures.items() if k.split()[0] in kinds)

        lines = [
            f"cases                          {self.cases:>9,}",
            f"  accepted (exit 0)            {accepted:>9,}",
            f"  rejected with location       {rejected:>9,}",
            f"  failures                     {self.statuses['failure']:>9,}",
            f"tracebacks                     {count('traceback', 'run-traceback'):>9,}",
            f"internal errors                {count('internal-error'):>9,}",
            f"hangs (no answer in {args.hang:g} s)     {count('hang', 'run-hang'):>9,}",
            f"slow (> {args.bound:g} s CPU)              {count('slow'):>9,}",
            f"accepted files run             {sum(self.runs.values()):>9,}  "
            + ", ".join(f"{k}: {n}" for k, n in sorted(self.runs.items())),
            f"slowest case                   {self.slowest[0]:>9.2f} s CPU "
            f"(case {self.slowest[1]}, {self.slowest[2]})",
            f"mean CPU per case              {self.cpu / max(self.cases, 1) * 1000:>9.1f} ms",
            f"wall time                      {wall:>9.0f} s on {args.jobs} processes",
        ]
        if self.failures:
            lines.append("failures by kind:")
            for kind, n in self.failures.most_common():
                first = ", ".join(map(str, self.examples[kind][:5]))
                lines.append(f"  {kind:<28} {n:>9,}  (cases {first})")
        lines.append("cases by seed file (slices included):")
        for name, n in sorted(self.by_seed.items()):
            lines.append(f"  {name:<45} {n:>9,}")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--cases", type=int, default=100_000, help="cases to check")
    parser.add_argument("--start", type=int, default=0, help="first case number [0]: resume, shard")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes [1]")
    parser.add_argument("--seed", type=int, default=None, help="campaign seed [random]")
    parser.add_argument("--runs", type=int, default=300, help="accepted files to run [300]")
    parser.add_argument("--bound", type=float, default=CPU_BOUND, help="CPU seconds per case")
    parser.add_argument("--hang", type=float, default=120.0, help="wall seconds before a kill")
    parser.add_argument("--time-limit", type=float, default=None, help="stop after S seconds")
    parser.add_argument("--only", default=None, help="only seed files matching this regex")
    parser.add_argument("--pool", choices=sorted(POOLS), default="all", help="operators [all]")
    parser.add_argument(
        "--slices", type=float, default=SLICE_SHARE, help=f"share of slices [{SLICE_SHARE}]"
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for failures and counts")
    parser.add_argument("--case", type=int, default=None, help="check this one case, verbose")
    args = parser.parse_args(argv)
    master = args.seed if args.seed is not None else random.randrange(2**31)
    config = Config(master, args.only, args.pool, args.slices)
    if args.case is not None:
        return _one(config, args)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "results" / "fuzz" / stamp
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cstosim-fuzz-")

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # Ctrl-C or `kill PID`: stop, print the counts so far

    signal.signal(signal.SIGINT, interrupt)  # also when started in the background (ignored)
    signal.signal(signal.SIGTERM, interrupt)
    print(
        f"fuzzing: {args.cases:,} cases from case {args.start}, seed {master}, pool {args.pool}, "
        f"slices {args.slices:g}, {args.jobs} processes, "
        f"out {out}"
    )
    campaign = Campaign()
    context = multiprocessing.get_context("fork")
    workers: dict[Connection, tuple[Any, int | None, float]] = {}

    def start() -> Connection:
        parent, child = context.Pipe()
        proc = context.Process(target=_worker, args=(child, config, tmp), daemon=True)
        proc.start()
        child.close()
        workers[parent] = (proc, None, 0.0)
        return parent

    for _ in range(args.jobs):
        start()
    next_index, end = args.start, args.start + args.cases
    started = time.perf_counter()
    last_note = started
    runs_asked = 0
    stop = False
    try:
        for conn in list(workers):
            if next_index < end:
                proc, _, _ = workers[conn]
                want = wants_run(args, runs_asked, next_index)
                conn.send((next_index, args.bound, want))
                workers[conn] = (proc, next_index, time.perf_counter())
                next_index += 1
        while any(index is not None for _, index, _ in workers.values()):
            ready = cast(list[Connection], wait(list(workers), timeout=5.0))
            now = time.perf_counter()
            for conn in ready:
                proc, index, _ = workers[conn]
                try:
                    result: Result = conn.recv()
                except (EOFError, OSError):  # the worker died (e.g. killed by the OOM killer)
                    result = _dead(index, config, "worker-died")
                    proc.join()
                    del workers[conn]
                    conn = start()
                    proc = workers[conn][0]
                if result.run is not None:
                    runs_asked += 1
                for kind in campaign.add(result):
                    save_failure(out, config, result.index, result, kind)
                workers[conn] = (proc, None, 0.0)
                if time_up(args, started) or stop:
                    continue
                if next_index < end:
                    want = wants_run(args, runs_asked, next_index)
                    conn.send((next_index, args.bound, want))
                    workers[conn] = (proc, next_index, now)
                    next_index += 1
            for conn, (proc, index, since) in list(workers.items()):
                if index is not None and now - since > args.hang:
                    os.kill(proc.pid, signal.SIGKILL)  # our own worker, stuck on one case
                    proc.join()
                    del workers[conn]
                    result = _dead(index, config, "hang")
                    for kind in campaign.add(result):
                        save_failure(out, config, index, result, kind)
                    new = start()
                    if next_index < end and not time_up(args, started):
                        new.send((next_index, args.bound, False))
                        workers[new] = (workers[new][0], next_index, time.perf_counter())
                        next_index += 1
            if now - last_note > 30:
                last_note = now
                partial = campaign.report(now - started, args)
                (out / "summary-partial.txt").write_text(partial + "\n")
                rate = campaign.cases / (now - started)
                left = (args.cases - campaign.cases) / rate if rate else 0
                print(
                    f"  {campaign.cases:,} cases ({rate:.1f}/s, ~{left / 60:.0f} min left): "
                    + ", ".join(f"{k} {n}" for k, n in sorted(campaign.statuses.items()))
                    + (f"; failures {dict(campaign.failures)}" if campaign.failures else ""),
                    file=sys.stderr,
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted: counts so far", file=sys.stderr)
    finally:
        for conn, (proc, _, _) in workers.items():
            with contextlib.suppress(OSError):
                conn.send(None)
            proc.join(timeout=5)
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    wall = time.perf_counter() - started
    report = campaign.report(wall, args)
    header = (
        f"cstosim fuzz, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, seed {master}, "
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()})"
    )
    print(header)
    print(report)
    (out / "summary.txt").write_text(header + "\n" + report + "\n")
    summary = {
        "seed": master,
        "first_case": args.start,
        "next_case": next_index,
        "slices": args.slices,
        "cases": campaign.cases,
        "statuses": dict(campaign.statuses),
        "failures": dict(campaign.failures),
        "runs": dict(campaign.runs),
        "slowest": campaign.slowest,
        "wall_s": wall,
        "examples": campaign.examples,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"failures and counts in {out}; to go on: --seed {master} --start {next_index}")
    return 1 if campaign.failures else 0


def wants_run(args: argparse.Namespace, runs_asked: int, index: int) -> bool:
    """Whether case ``index``, if accepted, should run: ``--runs`` runs spread evenly."""
    return runs_asked < args.runs * (index - args.start + 1) / args.cases + args.jobs


def time_up(args: argparse.Namespace, started: float) -> bool:
    return args.time_limit is not None and time.perf_counter() - started > args.time_limit


def _dead(index: int | None, config: Config, kind: str) -> Result:
    case = config.case(index or 0)
    verdict = Verdict("failure", kind, "the worker was killed or died on this case")
    return Result(index or 0, case.seed, asdict(verdict), None, case.describe())


def _one(config: Config, args: argparse.Namespace) -> int:
    """Check one case in this process and print everything about it."""
    workspace = make_workspace(Path(tempfile.mkdtemp(prefix="cstosim-fuzz-ws-")))
    case = config.case(args.case)
    print(json.dumps(case.describe(), indent=2, ensure_ascii=True))
    verdict = check(workspace, case, args.bound)
    print(verdict.explain())
    if verdict.status == "accepted":
        runs = Path(tempfile.mkdtemp(prefix="cstosim-fuzz-runs-"))
        ran = (check_sweep if case.kind == "experiment" else check_run)(workspace, case, runs)
        print("run:", ran.explain())
        shutil.rmtree(runs, ignore_errors=True)
    shutil.rmtree(workspace, ignore_errors=True)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
