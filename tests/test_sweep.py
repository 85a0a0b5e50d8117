"""Sweeps: chunks, the sweep folder, resume after a kill, processes and Dask give one answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cstosim.commands.explore import sweep, sweep_to_folder
from cstosim.engine.sweep import SweepChunk, plan_chunks
from cstosim.store.sweeps import partial_path, read_sweep

ROOT = Path(__file__).resolve().parent.parent
TRIAD = ROOT / "scenarios" / "example-triad.yaml"

EXPERIMENT = f"""\
schema_version: 1
name: triad-sweep
title: A small sweep of the example scenario
scenario: {TRIAD}
factors:
  parameters.weight_grievance: {{low: 0.0, high: 3.0}}
  members.BRV.exit_cost: {{low: 0.1, high: 0.9}}
  events.brv-call.imposed_response: {{levels: [none, statements, deployment]}}
outcomes:
  brv_disengaged: {{kind: reached, member: BRV, rung: disengaged}}
  brv_time: {{kind: time_to, member: BRV, rung: disengaged}}
  cohesion: {{kind: metric, metric: cohesion}}
  blocked: {{kind: consensus_failures}}
sampler: {{method: sobol, n: 4}}
replicates: 6
seed: 11
"""
POINTS = 4 * (3 + 2)


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sweep, uninterrupted, in one process, with its own chunking."""
    folder = tmp_path_factory.mktemp("reference")
    path = folder / "experiment.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    report = sweep_to_folder(path, folder / "sweep", runs_per_chunk=1000)
    assert report.chunks == 1
    return folder / "sweep"


def assert_same_tables(a: Path, b: Path) -> None:
    for name in ("design", "sample", "outcomes", "points"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / f"{name}.parquet"), pd.read_parquet(b / f"{name}.parquet")
        )


def test_plan_chunks_covers_every_run_once() -> None:
    for points, replicates, per in ((20, 6, 13), (3, 25, 10), (1, 1, 1), (7, 3, 1000)):
        chunks = plan_chunks(points, replicates, per)
        assert [c.number for c in chunks] == list(range(len(chunks)))
        cells = {(p, r) for c in chunks for p in c.points for r in c.replicates}
        assert len(cells) == sum(c.runs for c in chunks) == points * replicates
    assert plan_chunks(3, 25, 10)[0] == SweepChunk(0, range(0, 1), range(0, 9))
    assert plan_chunks(0, 5) == []


def test_sweep_folder_holds_design_outcomes_and_manifest(reference: Path) -> None:
    result = read_sweep(reference)
    assert len(result.design) == POINTS
    assert result.sample.shape == (POINTS, 3)
    assert list(result.outcomes.columns) == [
        "design_point",
        "replicate",
        "brv_disengaged",
        "brv_time",
        "cohesion",
        "blocked",
    ]
    assert len(result.outcomes) == POINTS * 6
    assert (
        result.outcomes.groupby("design_point")["replicate"].apply(list).tolist()
        == [list(range(6))] * POINTS
    )
    m = result.manifest
    assert m["status"] == "complete"
    assert m["root_seed"] == 11 and m["replicates"] == 6 and m["design_points"] == POINTS
    assert m["versions"]["SALib"] and m["fingerprint"]
    assert m["factors"] == [
        "parameters.weight_grievance",
        "members.BRV.exit_cost",
        "events.brv-call.imposed_response",
    ]
    assert (reference / "experiment.yaml").read_text(encoding="utf-8") == EXPERIMENT
    assert (reference / "scenarios" / "example-triad.yaml").is_file()
    assert not partial_path(reference).exists()
    levels = set(result.design["events.brv-call.imposed_response"].astype(str))
    assert levels <= {"none", "statements", "deployment"}


def test_common_random_numbers_across_design_points(reference: Path) -> None:
    """Replicate k of every design point draws the same numbers: the design points that share
    all factor values that matter give identical outcomes, replicate for replicate."""
    from cstosim.analysis.outcomes import OutcomeReducer
    from cstosim.engine.sweep import SweepSpec, run_sweep_chunk
    from cstosim.language.experiment import load_experiment, scenario_data

    loaded = load_experiment(reference / "experiment.yaml")
    spec = SweepSpec(
        {n: scenario_data(s) for n, s in loaded.scenarios.items()},
        tuple(loaded.factors),
        11,
        None,
        "vector",
        OutcomeReducer(loaded.spec.outcomes),
    )
    row = np.array([[0.5, 0.5, 0.5]])
    a = run_sweep_chunk(spec, SweepChunk(0, range(0, 1), range(0, 6)), row)
    b = run_sweep_chunk(spec, SweepChunk(0, range(0, 1), range(3, 6)), row)
    pd.testing.assert_frame_equal(
        a.iloc[3:].reset_index(drop=True), b.reset_index(drop=True), check_dtype=False
    )


def test_chunking_and_processes_do_not_change_the_tables(
    experiment: Path, reference: Path, tmp_path: Path
) -> None:
    report = sweep_to_folder(experiment, tmp_path / "pool", jobs=2, runs_per_chunk=7)
    assert report.chunks > 4 and report.runner == "2 processes"
    assert_same_tables(reference, tmp_path / "pool")


def test_dask_local_cluster_with_two_workers_equals_one_process(
    experiment: Path, reference: Path, tmp_path: Path
) -> None:
    report = sweep_to_folder(
        experiment, tmp_path / "dask", jobs=2, dask_local=True, runs_per_chunk=30
    )
    assert report.runner.startswith("dask local")
    assert_same_tables(reference, tmp_path / "dask")


def test_interrupted_then_resumed_gives_identical_tables(
    experiment: Path, reference: Path, tmp_path: Path
) -> None:
    from cstosim.commands.explore import Interrupted

    out = tmp_path / "sweep"
    with pytest.raises(Interrupted, match="3 of 10 chunks are saved"):
        sweep_to_folder(experiment, out, runs_per_chunk=12, stop_after=3)
    assert not out.exists() and partial_path(out).is_dir()
    # without --resume the unfinished sweep is neither reused nor overwritten
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(out), "-q"])
    assert result.exit_code == 2
    assert "use --resume to continue it or --force to start over" in result.output
    # resuming asks for other chunk sizes and processes: the plan of the first session holds
    report = sweep_to_folder(experiment, out, resume=True, jobs=1, runs_per_chunk=1000)
    assert (report.chunks, report.chunks_run) == (10, 7)
    assert_same_tables(reference, out)
    assert len(read_sweep(out).manifest["sessions"]) == 2


def test_killed_with_sigkill_then_resumed_gives_identical_tables(
    experiment: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    code = (
        "import sys; from cstosim.commands.explore import sweep_to_folder; "
        "sweep_to_folder(sys.argv[1], sys.argv[2], runs_per_chunk=6)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(experiment), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    chunks = partial_path(out) / "chunks"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if chunks.is_dir() and len(list(chunks.glob("*.parquet"))) >= 3:
                break
            if process.poll() is not None:
                pytest.fail("the sweep ended before it could be killed")
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    done = len(list(chunks.glob("*.parquet")))
    assert 3 <= done < POINTS
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(out), "--resume", "-q"])
    assert result.exit_code == 0, result.output
    assert_same_tables(reference, out)


def test_resume_refuses_a_changed_experiment(experiment: Path, tmp_path: Path) -> None:
    from cstosim.commands.explore import Interrupted
    from cstosim.store.sweeps import SweepError

    out = tmp_path / "sweep"
    with pytest.raises(Interrupted):
        sweep_to_folder(experiment, out, runs_per_chunk=12, stop_after=1)
    experiment.write_text(EXPERIMENT.replace("replicates: 6", "replicates: 7"), encoding="utf-8")
    with pytest.raises(SweepError, match="changed since the sweep"):
        sweep_to_folder(experiment, out, resume=True)
    # --force starts over
    report = sweep_to_folder(experiment, out, force=True)
    assert report.replicates == 7 and read_sweep(out).manifest["replicates"] == 7


def test_existing_output_is_never_replaced_silently(
    experiment: Path, reference: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(reference), "-q"])
    assert result.exit_code == 2
    assert "already exists (a complete sweep); use --force" in result.output
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(other), "--force", "-q"])
    assert result.exit_code == 2
    assert "not a sweep folder; refusing" in result.output
    assert (other / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_a_live_sweep_is_not_resumed_twice(experiment: Path, tmp_path: Path) -> None:
    import json

    from cstosim.commands.explore import Interrupted
    from cstosim.store.sweeps import SweepError

    out = tmp_path / "sweep"
    with pytest.raises(Interrupted):
        sweep_to_folder(experiment, out, runs_per_chunk=12, stop_after=1)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = {"pid": holder.pid, "host": os.uname().nodename}
        (partial_path(out) / "lock").write_text(json.dumps(lock), encoding="utf-8")
        with pytest.raises(SweepError, match=f"process {holder.pid} is still writing"):
            sweep_to_folder(experiment, out, resume=True)
    finally:
        holder.kill()
        holder.wait()


def test_bad_experiment_exits_2_with_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(EXPERIMENT.replace("members.BRV.exit_cost", "members.BRV.exit_cots"), "utf-8")
    result = CliRunner().invoke(sweep, [str(path), "--out", str(tmp_path / "x"), "-q"])
    assert result.exit_code == 2
    assert result.output.startswith(f"{path}:7:3: factors.members.BRV.exit_cots: unknown field")
    assert "Traceback" not in result.output
    result = CliRunner().invoke(
        sweep, [str(path), "--out", str(tmp_path / "x"), "--scheduler", "localhost:1"]
    )
    assert result.exit_code == 2 and "expected tcp://HOST:PORT" in result.output


def test_cli_sweep_prints_a_summary(experiment: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert f"sweep: {out}" in result.output
    assert "20 design points × 6 replicates" in result.output
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(out), "--resume"])
    assert result.exit_code == 0 and "already complete; nothing to resume" in result.output
    experiment.write_text(EXPERIMENT.replace("seed: 11", "seed: 12"), encoding="utf-8")
    result = CliRunner().invoke(sweep, [str(experiment), "--out", str(out), "--resume", "-q"])
    assert result.exit_code == 2 and "already exists" in result.output


def test_commands_through_the_real_entry_point(experiment: Path, tmp_path: Path) -> None:
    from cstosim.cli import main

    if not {"sweep", "sensitivity", "discover"} <= set(main.commands):
        pytest.skip("not registered yet: cstosim.cli adds cstosim.commands.explore.COMMANDS")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = tmp_path / "sweep"
    done = subprocess.run(
        [sys.executable, "-m", "cstosim", "sweep", str(experiment), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    helped = subprocess.run(
        [sys.executable, "-m", "cstosim", "--help"], capture_output=True, text=True, env=env
    )
    assert all(name in helped.stdout for name in ("sweep", "sensitivity", "discover"))


def test_the_mesa_engine_gives_the_same_outcomes(experiment: Path) -> None:
    """The reference Mesa model and the vectorised engine agree run for run."""
    from cstosim.analysis.outcomes import OutcomeReducer
    from cstosim.engine.sweep import SweepSpec, run_sweep_chunk
    from cstosim.language.experiment import load_experiment, scenario_data

    loaded = load_experiment(experiment)
    rows = np.array([[0.2, 0.7, 0.1], [0.9, 0.3, 0.8]])
    frames = []
    for engine in ("vector", "mesa"):
        spec = SweepSpec(
            {n: scenario_data(s) for n, s in loaded.scenarios.items()},
            tuple(loaded.factors),
            11,
            None,
            engine,
            OutcomeReducer(loaded.spec.outcomes),
        )
        frames.append(run_sweep_chunk(spec, SweepChunk(0, range(2), range(3)), rows))
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_help_explains_the_command() -> None:
    result = CliRunner().invoke(sweep, ["--help"])
    assert result.exit_code == 0
    for words in ("--resume", "--dask", "--scheduler", "outcomes.parquet", "Exit codes"):
        assert words in result.output


def test_a_dask_scheduler_address_gives_the_same_tables(
    experiment: Path, reference: Path, tmp_path: Path
) -> None:
    import logging

    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        out = tmp_path / "remote"
        arguments = [str(experiment), "--out", str(out), "--scheduler", cluster.scheduler_address]
        result = CliRunner().invoke(sweep, [*arguments, "--chunk-runs", "40"])
        assert result.exit_code == 0, result.output
        assert f"on dask {cluster.scheduler_address}" in result.output
    assert_same_tables(reference, out)
