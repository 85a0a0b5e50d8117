"""Fixtures of the fuzzing tests: a workspace with copies of the shipped files, settings.

``CSTOSIM_FUZZ_SCALE`` multiplies the number of cases of every fuzzing test (default 1: the
CI budget); tests marked ``fuzz_slow`` run only with ``CSTOSIM_FUZZ_SLOW=1``. The long run is
``benchmarks/fuzz.py`` (docs/RELIABILITY.md).

Coverage measurement (``make test`` runs pytest with ``--cov``) is paused during these tests:
it would double their time, and fuzzing looks for crashes, not lines (every line the fuzz
cases reach is covered by the other tests). ``CSTOSIM_FUZZ_COVERAGE=1`` keeps it on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from .corpus import make_workspace

SCALE = float(os.environ.get("CSTOSIM_FUZZ_SCALE", "1"))
SLOW = os.environ.get("CSTOSIM_FUZZ_SLOW") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fuzz_slow: slower fuzzing tests, run only with CSTOSIM_FUZZ_SLOW=1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SLOW:
        return
    skip = pytest.mark.skip(reason="slower fuzzing test: set CSTOSIM_FUZZ_SLOW=1 to run it")
    for item in items:
        if "fuzz_slow" in item.keywords:
            item.add_marker(skip)


def fuzz_settings(examples: int) -> settings:
    """Settings of a fuzzing test with ``examples`` cases (times ``CSTOSIM_FUZZ_SCALE``).

    Derandomized, so CI checks the same cases every time (``benchmarks/fuzz.py`` explores);
    failures are still shrunk to fewer and simpler mutations.
    """
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(autouse=True)
def _no_coverage() -> Iterator[None]:
    """Pause coverage measurement during a fuzzing test (see the module's docstring)."""
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage is a dev dependency
        yield
        return
    current = coverage.Coverage.current()
    if current is None or os.environ.get("CSTOSIM_FUZZ_COVERAGE") == "1":
        yield
        return
    from . import oracle

    current.stop()
    oracle.UNDER_COVERAGE = True
    try:
        yield
    finally:
        current.start()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of ``scenarios/`` (cases are written beside them, so relative paths work)."""
    return make_workspace(tmp_path_factory.mktemp("fuzz-workspace"))


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "runs"
    folder.mkdir()
    yield folder
