"""Hostile environments (issue 13 item 3) through the real console script: a full disk and a
read-only folder (small tmpfs mounts: needs root, as in CI), two concurrent runs into one
``--out``. Odd ``--out`` paths and scenario paths are in ``tests/test_store_folder.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cstosim.store.results import read_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example-triad.yaml"
CSTOSIM = Path(sys.executable).with_name("cstosim")

pytestmark = pytest.mark.skipif(not CSTOSIM.exists(), reason="console script not installed")


def cstosim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CSTOSIM), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[object]:
    """``mount(options)``: a fresh tmpfs under ``tmp_path`` (skips the test unless root)."""
    mounted: list[Path] = []

    def make(options: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_full_disk_is_one_line_exit_1_and_leaves_nothing(mount, tmp_path: Path) -> None:
    disk = mount("size=256k")
    done = cstosim("run", str(EXAMPLE), "-n", "300", "--no-plot", "--out", str(disk / "out"),
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = error_lines(done.stderr)
    assert lines[-1].startswith("error: ") and "No space left on device" in lines[-1], lines
    assert "Traceback" not in done.stderr
    assert list(disk.iterdir()) == []  # no staging folder, no lock file


def test_read_only_folder_is_one_line_exit_2(mount, tmp_path: Path) -> None:
    disk = mount("ro,size=64k")
    for args in (["run", str(EXAMPLE), "-n", "2"], ["compare", str(EXAMPLE), str(EXAMPLE)]):
        done = cstosim(*args, "--no-plot", "--out", str(disk / "out"), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert error_lines(done.stderr) == [
            f"error: cannot write {disk / 'out'}: {disk} is not writable"
        ]


def test_two_concurrent_runs_into_one_folder(tmp_path: Path) -> None:
    """One wins; the other stops at once with exit 2, long before the winner ends; nothing
    mixed (the folder verifies and holds the winner's replicates)."""
    out = tmp_path / "out"
    args = ["run", str(EXAMPLE), "--no-plot", "-q", "-j", "1", "--out", str(out)]
    first = subprocess.Popen([str(CSTOSIM), *args, "-n", "10000"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=tmp_path)  # fmt: skip
    lock = tmp_path / ".out.lock"
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".out.partial-") for p in tmp_path.iterdir()):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.02)
    began = time.monotonic()
    second = cstosim(*args, "-n", "5", cwd=tmp_path)
    loser_seconds = time.monotonic() - began
    assert second.returncode == 2, second.stderr
    assert error_lines(second.stderr) == [
        f"error: another cstosim process is writing {out} now; wait for it or choose another --out"
    ]
    assert first.poll() is None, "the loser must stop before the winner ends"
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert read_results(out).manifest["replicates"] == 10000
    assert not lock.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    print(f"the loser stopped after {loser_seconds:.2f} s")
    assert os.path.isdir(out)
