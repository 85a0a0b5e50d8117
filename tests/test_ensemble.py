"""Ensemble runner: seeding, chunking, parallel equality, --until checks, progress."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cstosim.engine import ensemble
from cstosim.engine.ensemble import chunk_ranges, replicate_seed, run_ensemble
from cstosim.language.loader import load_scenario
from cstosim.runs import InputError, check_until, progress_bar

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(EXAMPLE)


@pytest.mark.parametrize("k", [0, 1, 5, 17])
def test_replicate_seed_is_the_spawned_child(k: int) -> None:
    spawned = np.random.SeedSequence(123).spawn(k + 1)[k]
    direct = replicate_seed(123, k)
    assert direct.spawn_key == spawned.spawn_key == (k,)
    assert np.array_equal(direct.generate_state(8), spawned.generate_state(8))
    assert np.array_equal(
        direct.generate_state(8), np.random.SeedSequence(123).spawn(50)[k].generate_state(8)
    )


def test_replicate_seed_rejects_negative_index() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        replicate_seed(1, -1)


@pytest.mark.parametrize(("n", "jobs"), [(1, 1), (7, 1), (10, 2), (1000, 2), (5000, 4)])
def test_chunks_cover_every_replicate_once_in_order(n: int, jobs: int) -> None:
    chunks = chunk_ranges(n, jobs)
    assert [k for c in chunks for k in c] == list(range(n))
    assert max(len(c) for c in chunks) <= 200
    if jobs > 1 and n >= 1000:
        assert len(chunks) >= jobs * 4  # many replicates per chunk, several chunks per worker
    assert chunk_ranges(0, 2) == []


@pytest.mark.parametrize(
    ("n", "jobs", "rows", "size"),
    [
        (100_000, 1, 168, 5952),  # essay-sized replicates: about a million member rows a chunk
        (100_000, 1, 3411, 293),  # history-sized replicates
        (100_000, 1, 10, 10_000),  # at most 10,000
        (100_000, 1, 10**7, 250),  # at least 250
        (20_000, 2, 168, 2500),  # several chunks per worker
        (7, 1, 168, 7),
    ],
)
def test_vector_chunks_are_large(n: int, jobs: int, rows: int, size: int) -> None:
    assert ensemble.default_chunk_size(n, jobs, "vector", rows) == size
    chunks = chunk_ranges(n, jobs, "vector", rows)
    assert [k for c in chunks for k in c] == list(range(n))
    assert ensemble.default_chunk_size(n, jobs, "mesa", rows) <= 200


def test_rows_per_replicate(scenario) -> None:
    # example-triad: 2020-01 … 2022-12 (36 months), three members
    assert ensemble.rows_per_replicate(scenario, None) == 36 * 3
    assert ensemble.rows_per_replicate(scenario, "2023-06") == 42 * 3


def test_plan_checks_its_inputs(scenario) -> None:
    plan = ensemble.plan_ensemble(scenario, replicates=5, jobs=8, engine="mesa", chunk_size=2)
    assert plan.jobs == 5 and plan.chunks == (range(0, 2), range(2, 4), range(4, 5))
    assert plan.chunk_size == 2 and plan.engine == "mesa"
    for kwargs, message in (
        ({"replicates": 0}, "replicates"),
        ({"jobs": 0}, "jobs"),
        ({"chunk_size": 0}, "chunk size"),
        ({"engine": "gpu"}, "unknown engine 'gpu'"),
    ):
        with pytest.raises(ValueError, match=message):
            ensemble.plan_ensemble(scenario, **kwargs)


def test_vector_engine_missing_is_a_clear_error(scenario, monkeypatch) -> None:
    monkeypatch.setattr(ensemble.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="vector engine is not available"):
        ensemble.plan_ensemble(scenario, engine="vector")


def test_replicate_k_is_the_same_for_3_and_6_replicates(scenario) -> None:
    small = run_ensemble(scenario, replicates=3, root_seed=7, engine="mesa")
    large = run_ensemble(scenario, replicates=6, root_seed=7, engine="mesa")
    for name in ("model", "members", "events"):
        a = small.table(name)
        b = large.table(name)
        b = b[b["replicate"] < 3].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
        assert a.columns[0] == "replicate"
    assert sorted(large.model["replicate"].unique()) == list(range(6))


def test_different_seeds_differ(scenario) -> None:
    a = run_ensemble(scenario, replicates=2, root_seed=1)
    b = run_ensemble(scenario, replicates=2, root_seed=2)
    assert not a.members["alignment"].equals(b.members["alignment"])


def test_jobs_are_capped_by_replicates_and_inputs_checked(scenario) -> None:
    assert run_ensemble(scenario, replicates=1, jobs=8).jobs == 1
    with pytest.raises(ValueError, match="replicates"):
        run_ensemble(scenario, replicates=0)
    with pytest.raises(ValueError, match="jobs"):
        run_ensemble(scenario, replicates=2, jobs=0)


def test_until_projects_past_the_calendar(scenario) -> None:
    ens = run_ensemble(scenario, replicates=2, until="2023-06")
    assert ens.model["date"].max() == pd.Timestamp("2023-06-01")
    assert ens.until == "2023-06"


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("2023", "YYYY-MM"),
        ("2023-13", "YYYY-MM"),
        ("2021-01", "before the calendar end"),
        ("2400-01", "200 years"),
    ],
)
def test_check_until_rejects(scenario, until: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_until(scenario, until)


def test_check_until_accepts(scenario) -> None:
    assert check_until(scenario, None) is None
    assert check_until(scenario, "2022-12") == "2022-12"
    assert check_until(scenario, "2030-01") == "2030-01"


def test_progress_bar(capsys) -> None:
    with progress_bar(3, quiet=True) as advance:
        advance(3)
    with progress_bar(3, "work") as advance:
        advance(1)
        advance(2)
    captured = capsys.readouterr()
    assert "work" in captured.err
    assert captured.out == ""


def test_default_jobs_is_positive() -> None:
    assert ensemble.default_jobs() >= 1


def test_worker_functions_in_process(scenario) -> None:
    """What a spawned worker does, run here (coverage does not follow spawned processes)."""
    import signal

    previous = signal.getsignal(signal.SIGINT)
    try:
        ensemble._init_worker(scenario, 7, None, "mesa")
        number, done, tables = ensemble._worker_chunk((3, range(1, 3)))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (number, done) == (3, 2)
    expected = ensemble.run_chunk(scenario, 7, range(1, 3), None, "mesa")
    for got, want in zip(tables, expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert list(tables[0]["replicate"].unique()) == [1, 2]


@pytest.mark.parametrize("window", [1, 2, 4])
def test_in_order_reorders_and_holds_at_most_window(window: int) -> None:
    """Tasks finishing last-started-first come out in order; never more than ``window`` held."""
    running: list[int] = []
    yielded: list[int] = []
    progress: list[int] = []

    def receive() -> tuple[int, int, str]:
        number = running.pop()  # the most recently started task finishes first
        return number, 10, f"result {number}"

    def submit(number: int) -> None:
        running.append(number)
        assert number < len(yielded) + window  # the next one to yield and window - 1 beyond

    for number, result in ensemble._in_order(7, window, submit, receive, progress.append):
        assert result == f"result {number}"
        yielded.append(number)
    assert yielded == list(range(7))
    assert progress == [10] * 7 and running == []


def test_chunks_stream_in_replicate_order_with_two_processes(scenario) -> None:
    plan = ensemble.plan_ensemble(scenario, 6, 4, jobs=2, engine="mesa", chunk_size=1)
    done: list[int] = []
    chunks = list(ensemble.stream_ensemble(scenario, plan, done.append))
    assert [c.number for c in chunks] == list(range(6))
    assert [list(c.members["replicate"].unique()) for c in chunks] == [[k] for k in range(6)]
    assert sum(done) == 6


def test_same_seed_same_tables_for_any_jobs_and_chunks(scenario) -> None:
    one = run_ensemble(scenario, replicates=5, root_seed=9, engine="mesa")
    two = run_ensemble(scenario, replicates=5, root_seed=9, jobs=2, engine="mesa", chunk_size=2)
    assert (one.jobs, two.jobs, two.chunk_size) == (1, 2, 2)
    for name in ("model", "members", "events"):
        pd.testing.assert_frame_equal(one.table(name), two.table(name))


def test_a_failure_in_a_worker_reaches_the_caller(scenario) -> None:
    with pytest.raises(ValueError, match="before the calendar start"):  # raised by the model
        run_ensemble(scenario, replicates=4, until="2019-01", jobs=2, engine="mesa", chunk_size=1)


def test_vector_engine_same_tables_for_any_jobs(scenario) -> None:
    pytest.importorskip("cstosim.engine.vector")
    one = run_ensemble(scenario, replicates=6, root_seed=9, engine="vector")
    two = run_ensemble(scenario, replicates=6, root_seed=9, jobs=2, engine="vector")
    three = run_ensemble(scenario, replicates=6, root_seed=9, engine="vector", chunk_size=4)
    assert one.engine == "vector" and two.jobs == 2
    for name in ("model", "members", "events"):
        assert one.table(name).columns[0] == "replicate"
        pd.testing.assert_frame_equal(one.table(name), two.table(name))
        pd.testing.assert_frame_equal(one.table(name), three.table(name))
