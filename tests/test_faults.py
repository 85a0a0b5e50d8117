"""Fault injection (issue 13 item 2): ``run``, ``sweep`` and ``calibrate`` killed with SIGKILL,
SIGINT or SIGTERM at random moments, in worker start-up, inside the final rename and between the
two renames of ``--force``, through the real console script.

After every kill: no partial folder at the target (it is absent or complete and verified), no
process of the run survives, and the next run into the same parent removes what a SIGKILL left;
``--resume`` (sweep) and a second ``calibrate`` continue where the dead run stopped and give the
same numbers as a run that was never killed. The number of kills per command and signal is
``$CSTOSIM_FAULT_KILLS`` (default 20); the seed of the moments is ``$CSTOSIM_FAULT_SEED``.
The table of one such session is in docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from cstosim.store.folder import PAUSE_VARIABLE
from cstosim.store.results import read_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"
CSTOSIM = Path(sys.executable).with_name("cstosim")
KILLS = int(os.environ.get("CSTOSIM_FAULT_KILLS", "20"))
SEED = int(os.environ.get("CSTOSIM_FAULT_SEED", "13"))
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
EXPECTED_EXIT = {"SIGKILL": -9, "SIGINT": 130, "SIGTERM": 143}

pytestmark = pytest.mark.skipif(not CSTOSIM.exists(), reason="console script not installed")


def start(args: list[str], cwd: Path, pause: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop(PAUSE_VARIABLE, None)
    if pause is not None:
        env[PAUSE_VARIABLE] = pause
    return subprocess.Popen(
        [str(CSTOSIM), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: survivors are found by group
    )


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "gone"


def group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def children(pid: int) -> int:
    try:
        return len(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except FileNotFoundError:
        return 0


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    """Wait for the process, then for every process of its group (workers) to end."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this test exists to find
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"{proc.args[1:3]} did not end within {timeout} s (hung after a signal?)")
    deadline = time.monotonic() + 30
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = group_alive(proc.pid)
    if survivors:  # pragma: no cover - the failure this test exists to find
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"processes {survivors} of a killed run survived it")
    return proc.returncode, err


def kill_at(proc: subprocess.Popen[str], delay: float, sig: signal.Signals) -> dict[str, int]:
    """Send ``sig`` after ``delay`` seconds (if still running); what the process was doing."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    seen = {"workers": children(proc.pid)}
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    return seen


def kill_when_paused(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Wait until the process stops itself at its pause point, send ``sig``, let it go on."""
    deadline = time.monotonic() + 120
    while state(proc.pid) != "T":
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"never reached the pause point: {proc.communicate()[1][-500:]}")
        time.sleep(0.01)
    os.kill(proc.pid, sig)
    os.kill(proc.pid, signal.SIGCONT)


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def complete_or_absent(target: Path) -> str:
    if not target.exists():
        return "absent"
    read_results(target)  # verifies the manifest and every file's SHA-256
    return "complete"


def one_line(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(("error", "interrupted"))]


def run_args(out: Path, *extra: str) -> list[str]:
    return ["run", str(EXAMPLE), "-n", "600", "-j", "2", "--no-plot", "-q", "--out", str(out),
            *extra]  # fmt: skip


@pytest.fixture(scope="module")
def run_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    folder = tmp_path_factory.mktemp("reference")
    began = time.monotonic()
    proc = start(run_args(folder / "ref"), folder)
    code, err = finish(proc)
    assert code == 0, err
    return folder / "ref", time.monotonic() - began


@pytest.mark.parametrize("name", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_run_killed_at_random_moments(name: str, run_reference, tmp_path: Path) -> None:
    reference, seconds = run_reference
    rng = random.Random(f"{SEED}-run-{name}")
    outcomes: Counter[str] = Counter()
    for k in range(KILLS):
        target = tmp_path / f"r{k}"
        proc = start(run_args(target), tmp_path)
        seen = kill_at(proc, rng.uniform(0.0, seconds), SIGNALS[name])
        code, err = finish(proc)
        kind = complete_or_absent(target)
        python_own = code == -SIGNALS[name] and name != "SIGKILL"
        when = "workers starting or running" if seen["workers"] else "no workers"
        outcomes[f"{kind} ({'stopped while Python started or ended' if python_own else when})"] += 1
        if code == 0:
            assert kind == "complete"
            continue
        if python_own:
            # Python's own handling: while Python itself started (nothing written yet) or
            # while it shut down after the command ended (the folder complete and verified)
            assert hidden(tmp_path) == [], err
            continue
        assert code == EXPECTED_EXIT[name], err
        if name != "SIGKILL":
            assert len(one_line(err)) == 1 and "Traceback" not in err, err
            assert hidden(tmp_path) == [], "a clean stop leaves nothing beside the target"
    # the next run into the same parent removes what SIGKILL left, and gives the same tables
    proc = start(run_args(tmp_path / "after"), tmp_path)
    code, err = finish(proc)
    assert code == 0, err
    assert hidden(tmp_path) == []
    a, b = read_results(reference), read_results(tmp_path / "after")
    pd.testing.assert_frame_equal(a.model, b.model)
    print(f"run/{name}: {dict(outcomes)}")


@pytest.mark.parametrize("name", ["SIGKILL", "SIGINT"])
@pytest.mark.parametrize("point", ["rename", "between-renames"])
def test_run_killed_inside_the_final_rename(name: str, point: str, tmp_path: Path) -> None:
    target = tmp_path / "out"
    first = start(run_args(target, "-n", "4"), tmp_path)
    assert finish(first)[0] == 0
    old = read_results(target).manifest["ended"]
    proc = start(run_args(target, "-n", "5", "--force"), tmp_path, pause=point)
    kill_when_paused(proc, SIGNALS[name])
    code, err = finish(proc)
    if name == "SIGINT":  # held back until both renames are done: the new folder is complete
        assert code == 130, err
        assert "was written completely before the interrupt" in err
        assert read_results(target).manifest["replicates"] == 5 and hidden(tmp_path) == []
        return
    assert code == -9
    # killed: at "rename" the old folder is still in place; between the renames it is aside
    # and the next run into the same parent puts it back
    assert target.exists() == (point == "rename")
    after = start(run_args(tmp_path / "next", "-n", "2"), tmp_path)
    assert finish(after)[0] == 0
    assert hidden(tmp_path) == []
    manifest = read_results(target).manifest
    assert manifest["replicates"] == 4 and manifest["ended"] == old


SWEEP = f"""\
schema_version: 1
name: fault-sweep
title: A small sweep, killed many times
scenario: {EXAMPLE}
factors:
  parameters.weight_grievance: {{low: 0.0, high: 3.0}}
  members.BRV.exit_cost: {{low: 0.1, high: 0.9}}
outcomes:
  cohesion: {{kind: metric, metric: cohesion}}
sampler: {{method: sobol, n: 8}}
replicates: 40
seed: 5
"""


def sweep_args(experiment: Path, out: Path) -> list[str]:
    return ["sweep", str(experiment), "--out", str(out), "--resume", "-q", "--jobs", "2",
            "--chunk-runs", "40"]  # fmt: skip


def kill_until_done(args: list[str], target: Path, seconds: float, name: str, cwd: Path) -> None:
    """Start ``cstosim ARGS`` and kill it at a random moment, up to ``KILLS`` times, until it
    finishes or its ``target`` is in place; then run it once more unkilled if needed."""
    rng = random.Random(f"{SEED}-{args[0]}-{name}")
    for _ in range(KILLS):
        proc = start(args, cwd)
        kill_at(proc, rng.uniform(0.0, seconds), SIGNALS[name])
        code, err = finish(proc)
        assert code in (0, EXPECTED_EXIT[name], -SIGNALS[name]), err
        if code == 130:
            assert len(one_line(err)) == 1, err
        if code == 0 or target.exists():  # done, or killed after its folder was renamed
            break
    if not target.exists():
        code, err = finish(start(args, cwd))
        assert code == 0, err


def timed(args: list[str], cwd: Path) -> float:
    """Seconds that ``cstosim ARGS`` takes, unkilled (the span the kill moments are drawn from)."""
    began = time.monotonic()
    code, err = finish(start(args, cwd))
    assert code == 0, err
    return time.monotonic() - began


@pytest.mark.parametrize("name", ["SIGKILL", "SIGINT"])
def test_sweep_killed_then_resumed(name: str, tmp_path: Path) -> None:
    from cstosim.store.sweeps import read_sweep

    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(SWEEP)
    reference, target = tmp_path / "reference", tmp_path / "sweep"
    seconds = timed(sweep_args(experiment, reference), tmp_path)
    kill_until_done(sweep_args(experiment, target), target, seconds, name, tmp_path)
    pd.testing.assert_frame_equal(read_sweep(reference).outcomes, read_sweep(target).outcomes)
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("name", ["SIGKILL", "SIGINT"])
def test_calibrate_killed_then_resumed(name: str, tmp_path: Path) -> None:
    from test_calibration import write_case

    spec = write_case(tmp_path / "case", generations=3)
    args = ["calibrate", str(spec), "--no-plot", "--no-predictive", "-q"]
    reference, target = tmp_path / "reference", tmp_path / "fit"
    seconds = timed([*args, "--out", str(reference)], tmp_path)
    kill_until_done([*args, "--out", str(target)], target, seconds, name, tmp_path)
    pd.testing.assert_frame_equal(
        pd.read_parquet(reference / "particles.parquet"),
        pd.read_parquet(target / "particles.parquet"),
    )
    # killed after its rename, a calibration leaves its work folder and lock: the next run
    # into the same parent removes them
    assert finish(start(run_args(tmp_path / "next", "-n", "2"), tmp_path))[0] == 0
    assert hidden(tmp_path) == []
