"""Memory and time of very large scenarios (issue 13 item 5): prints one line per case.

Generates scenarios with many members or many events (from the example scenario's members and
event kinds), then runs ``cstosim validate`` and ``cstosim run -n 2`` on each as a separate
process and reports wall time and peak resident memory (``getrusage`` of the child). The limits
these figures support are documented in docs/RELIABILITY.md.

    python benchmarks/bounds.py          # 200 members × 40 years (the limits), 10^4 and 10^5 events
    python benchmarks/bounds.py --members 100 --years 20 --events 1000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CSTOSIM = Path(sys.executable).with_name("cstosim")

HEADER = """\
schema_version: 1
name: bounds
title: A synthetic scenario to measure memory and time
sources: {{syn: {{author: benchmarks, title: synthetic, date: "2026"}}}}
calendar: {{start: 2000-01, end: {end}}}
members:
  LDR: {{name: Leader, joined: 1990-01, leading: true, capability: 0.8, capacity: 0.9,
        dependence: 0.0, exit_cost: 0.95, initial: {{alignment: 0.9, credibility: 0.7}}}}
"""
MEMBER = (
    "  M{k:04d}: {{name: Member {k}, joined: 1990-01, capability: 0.1, dependence: 0.5,"
    " regime_insecurity: 0.4, exit_cost: 0.4, initial: {{alignment: 0.7, credibility: 0.6}}}}\n"
)
EVENTS = [
    "  - {{id: call-{k}, date: {date}, type: invocation, member: {m}, crisis: domestic,"
    " severity: 0.5, label: call {k}, source: syn}}\n",
    "  - {{id: drill-{k}, date: {date}, type: drill, host: {m}, label: drill {k}, source: syn}}\n",
    "  - {{id: signal-{k}, date: {date}, type: diplomatic_signal, member: {m},"
    " signal: public_criticism, label: signal {k}, source: syn}}\n",
]


def scenario(members: int, events: int, years: int) -> str:
    end = f"{2000 + years - 1}-12"
    text = [HEADER.format(end=end)]
    text += [MEMBER.format(k=k) for k in range(1, members + 1)]
    if events:
        text.append("events:\n")
        months = years * 12
        for k in range(events):
            month = k * months // events
            date = f"{2000 + month // 12}-{month % 12 + 1:02d}"
            member = f"M{k % members + 1:04d}"
            text.append(EVENTS[k % len(EVENTS)].format(k=k, date=date, m=member))
    return "".join(text)


def measure(args: list[str]) -> tuple[int, float, float]:
    """Exit code, wall seconds and peak RSS (MiB) of ``cstosim ARGS`` in a child process."""
    began = time.perf_counter()
    child = subprocess.Popen([str(CSTOSIM), *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)  # fmt: skip
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if child.returncode != 0:
        print(err.decode(errors="replace")[-2000:], file=sys.stderr)
    return child.returncode, wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=199, help="besides the leader")
    parser.add_argument("--years", type=int, default=40)
    parser.add_argument("--events", type=int, nargs="*", default=[10_000, 100_000])
    options = parser.parse_args()
    cases = [(options.members, 100, options.years)] + [(10, n, 20) for n in options.events]
    print(f"load average {os.getloadavg()[0]:.1f}; one process per command; -n 2 --engine vector")
    print(f"{'members':>8} {'events':>8} {'bytes':>10}  command   exit  wall s  peak MiB")
    print("(members: besides the leader; 10-member cases over 20 years)")
    with tempfile.TemporaryDirectory() as folder:
        for members, events, years in cases:
            path = Path(folder) / f"bounds-{members}-{events}.yaml"
            path.write_text(scenario(members, events, years))
            size = path.stat().st_size
            for name, args in (
                ("validate", ["validate", str(path)]),
                ("run", ["run", str(path), "-n", "2", "-j", "1", "--no-plot", "-q",
                         "--out", str(Path(folder) / f"out-{members}-{events}")]),
            ):  # fmt: skip
                code, wall, peak = measure(args)
                print(f"{members:>8} {events:>8} {size:>10}  {name:<8} {code:>5} {wall:>7.1f}"
                      f" {peak:>9.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
