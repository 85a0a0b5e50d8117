"""A small sample of mutated files through ``cstosim`` as a separate process.

The in-process tests use click's runner; here the installed command runs as users run it, so
the exit code, the two streams and the time bound are those of a real process (a case that
would block, such as a parent that is a FIFO, would hang the process, not only a call).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .corpus import SCENARIO_SEEDS, seed
from .mutate import HOSTILE_OPS, VALID_OPS, make_case
from .oracle import judge_lines, remove_case, write_case

CSTOSIM = Path(sys.executable).with_name("cstosim")
TIMEOUT = 60

# (seed file, operator pool, integers): chosen to cover a syntax error, a deep value, an alias,
# odd parents (a cycle, a FIFO...), unicode, and files that are accepted
SAMPLE = [
    ("scenarios/example-triad.yaml", None, [11]),
    ("scenarios/csto-cf-armenia-answered.yaml", HOSTILE_OPS, [3]),
    ("scenarios/csto-cf-no-invasion.yaml", HOSTILE_OPS, [1234]),
    ("scenarios/csto-2022-2023.yaml", HOSTILE_OPS, [77, 78]),
    ("scenarios/example-triad.yaml", HOSTILE_OPS, [2024]),
    ("scenarios/example-triad.yaml", VALID_OPS, [5]),
]


def _command(*args: str) -> list[str]:
    if CSTOSIM.exists():
        return [str(CSTOSIM), *args]
    return [sys.executable, "-m", "cstosim", *args]  # pragma: no cover


@pytest.mark.parametrize(("name", "pool", "numbers"), SAMPLE)
def test_validate_as_a_process(
    workspace: Path, name: str, pool: object, numbers: list[int]
) -> None:
    case = make_case(seed(name), numbers, f"proc-{numbers[0]}", pool)  # type: ignore[arg-type]
    path = write_case(workspace, case)
    try:
        done = subprocess.run(
            _command("validate", str(path)), capture_output=True, text=True, timeout=TIMEOUT
        )
    finally:
        remove_case(workspace, case)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 2), (case.describe(), done.stdout, done.stderr)
    if done.returncode == 0:
        assert done.stdout == f"{path}: ok\n" and not done.stderr
    else:
        failure, line = judge_lines(done.stderr.splitlines(), 0)
        assert not failure, (case.describe(), failure, line)


def test_run_an_accepted_mutation_as_a_process(workspace: Path, tmp_path: Path) -> None:
    """``cstosim run FILE -n 2 --no-plot -q --out TMP/x``, exactly, on an accepted file."""
    rnd = random.Random(13)
    for attempt in range(20):
        case = make_case(seed(rnd.choice(SCENARIO_SEEDS)), [attempt], "proc-run", VALID_OPS)
        path = write_case(workspace, case)
        checked = subprocess.run(
            _command("validate", str(path)), capture_output=True, text=True, timeout=TIMEOUT
        )
        if checked.returncode == 0:
            break
        remove_case(workspace, case)
    else:  # pragma: no cover - the valid-keeping operators keep most files valid
        pytest.fail("no accepted mutation in 20 attempts")
    out = tmp_path / "x"
    try:
        done = subprocess.run(
            _command("run", str(path), "-n", "2", "--no-plot", "-q", "--out", str(out)),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        remove_case(workspace, case)
    assert done.returncode == 0, (case.describe(), done.stdout, done.stderr)
    assert done.stdout.strip() == str(out) and (out / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # no staging folder left
    shutil.rmtree(out)
