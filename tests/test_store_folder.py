"""Results folders under abuse (issue 13 items 3–4, issue 14 items 4, 7–9, 11): the target lock,
leftovers of killed runs, odd ``--out`` paths, and damaged results folders given to the readers.

Fault injection with real signals is in ``tests/test_faults.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cstosim.cli import main
from cstosim.store import folder
from cstosim.store.folder import (
    OutputBusyError,
    clean_leftovers,
    staged_folder,
    target_lock,
)
from cstosim.store.manifest import read_manifest

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def make_results(out: Path, replicates: int = 4) -> Path:
    result = cli("run", str(EXAMPLE), "-n", str(replicates), "-j", "1", "-q", "--no-plot",
                 "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------------------------
# the lock: one writer per target
# --------------------------------------------------------------------------------------------


def holder(lock_target: Path) -> subprocess.Popen[str]:
    """Another process that holds the lock of ``lock_target`` until its stdin closes."""
    code = (
        "import sys; from pathlib import Path; from cstosim.store.folder import target_lock\n"
        f"with target_lock(Path({str(lock_target)!r})):\n"
        "    print('held', flush=True); sys.stdin.read()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_stops_at_once(tmp_path: Path) -> None:
    target = tmp_path / "out"
    proc = holder(target)
    try:
        busy = pytest.raises(OutputBusyError, match="another cstosim process is writing")
        with busy, staged_folder(target):
            pytest.fail("the block must not run")  # pragma: no cover
        result = cli("run", str(EXAMPLE), "-n", "2", "-q", "--no-plot", "--out", str(target))
        assert result.exit_code == 2 and "another cstosim process is writing" in result.output
        assert not target.exists() and hidden(tmp_path) == [".out.lock"]
    finally:
        proc.communicate("")
    assert hidden(tmp_path) == []  # the holder removed its lock file
    with staged_folder(target) as tmp:
        (tmp / "x").write_text("x")
    assert (target / "x").is_file() and hidden(tmp_path) == []


def test_the_lock_is_reentrant_within_a_process_and_removed_after(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out"
    with target_lock(target), staged_folder(target) as tmp:
        (tmp / "x").write_text("x")
    assert (target / "x").is_file() and hidden(target.parent) == []


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / ".out.lock").write_text("")
    with staged_folder(tmp_path / "out") as tmp:
        (tmp / "x").write_text("x")
    assert hidden(tmp_path) == []


# --------------------------------------------------------------------------------------------
# leftovers of killed runs
# --------------------------------------------------------------------------------------------


def test_leftovers_of_dead_runs_are_removed_by_the_next_run(tmp_path: Path) -> None:
    for name in (".out.partial-abc_1234", ".other.partial-x1x1x1x1", ".third.old-12345678"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.parquet").write_bytes(b"half")
    (tmp_path / "third").mkdir()
    (tmp_path / ".gone.lock").write_text("")
    (tmp_path / ".fit.abc-work").mkdir()  # a calibration killed after its rename
    (tmp_path / "fit").mkdir()
    (tmp_path / ".resume.abc-work").mkdir()  # a calibration to resume: kept
    (tmp_path / ".keep-me").mkdir()  # not ours: never touched
    result = cli("run", str(EXAMPLE), "-n", "2", "-q", "--no-plot", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert hidden(tmp_path) == [".keep-me", ".resume.abc-work"]
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 4 and all("left by a killed run" in n for n in notes)


def test_a_users_own_hidden_files_are_never_touched(tmp_path: Path) -> None:
    """Only the exact forms a run leaves count: a user's backups and locks stay."""
    (tmp_path / "bashrc").write_text("current")
    (tmp_path / ".bashrc.old-2020").write_text("backup")  # not 8 hex digits
    (tmp_path / ".notes.old-0123abcd").write_text("a file, not a folder")
    (tmp_path / ".editor.lock").write_text("pid 12")  # not empty: not ours
    (tmp_path / ".short.partial-abc").mkdir()  # not mkdtemp's 8 characters
    (tmp_path / ".file.partial-abcdefgh").write_text("a file, not a folder")
    before = hidden(tmp_path)
    assert clean_leftovers(tmp_path) == []
    assert hidden(tmp_path) == before and (tmp_path / "bashrc").read_text() == "current"


def test_leftovers_of_a_live_run_are_kept(tmp_path: Path) -> None:
    (tmp_path / ".busy.partial-abcdefgh").mkdir()
    proc = holder(tmp_path / "busy")
    try:
        assert clean_leftovers(tmp_path) == []
        assert (tmp_path / ".busy.partial-abcdefgh").is_dir()
    finally:
        proc.communicate("")
    assert clean_leftovers(tmp_path) == [tmp_path / ".busy.partial-abcdefgh"]


def test_an_aside_whose_target_vanished_is_restored(tmp_path: Path) -> None:
    """A run killed between the two renames of --force (signals are blocked there, so only
    SIGKILL can do it): the old folder is put back, not deleted."""
    aside = tmp_path / ".out.old-0123abcd"
    aside.mkdir()
    (aside / "manifest.json").write_text("{}")
    assert clean_leftovers(tmp_path) == []
    assert (tmp_path / "out" / "manifest.json").is_file() and hidden(tmp_path) == []


# --------------------------------------------------------------------------------------------
# odd --out paths and unwritable places
# --------------------------------------------------------------------------------------------


def test_out_below_a_file_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = cli(
        "run", str(EXAMPLE), "-n", "2", "--no-plot", "--out", str(tmp_path / "afile" / "sub")
    )
    assert result.exit_code == 2
    assert result.output.strip().endswith("afile is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_out_that_is_a_file_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    for extra in ((), ("--force",)):
        result = cli(
            "run", str(EXAMPLE), "-n", "2", "--no-plot", "--out", str(tmp_path / "afile"), *extra
        )
        assert result.exit_code == 2 and "afile" in result.output
    assert (tmp_path / "afile").read_text() == "x"


def test_force_over_a_symlinked_results_folder_replaces_the_link(tmp_path: Path) -> None:
    real = make_results(tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    before = read_manifest(real)["ended"]
    result = cli(
        "run",
        str(EXAMPLE),
        "-n",
        "3",
        "-q",
        "--no-plot",
        "--force",
        "--out",
        str(tmp_path / "link"),
    )
    assert result.exit_code == 0, result.output
    link = tmp_path / "link"
    assert link.is_dir() and not link.is_symlink() and read_manifest(link)["replicates"] == 3
    assert read_manifest(real)["ended"] == before  # the folder it pointed to is left alone
    assert hidden(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent_is_one_line_exit_2(tmp_path: Path) -> None:  # pragma: no cover
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    result = cli("run", str(EXAMPLE), "-n", "2", "--no-plot", "--out", str(locked / "out"))
    assert result.exit_code == 2 and "is not writable" in result.output


def test_directory_dev_zero_and_fifo_as_scenario(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path in (tmp_path, Path("/dev/zero"), fifo):
        result = cli("run", str(path), "-n", "2", "--no-plot", "--out", str(tmp_path / "out"))
        assert result.exit_code == 2, (path, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert not (tmp_path / "out").exists()


def test_interrupt_after_the_rename_says_the_folder_is_complete(
    tmp_path: Path, monkeypatch
) -> None:
    from cstosim import runs

    real = runs.run_to_folder

    def then_interrupt(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "run_to_folder", then_interrupt)
    result = cli("run", str(EXAMPLE), "-n", "2", "--no-plot", "--out", str(tmp_path / "out"))
    assert result.exit_code == 130
    assert "out was written completely before the interrupt" in result.output
    assert read_manifest(tmp_path / "out")["replicates"] == 2


def test_the_renames_wait_for_signals(tmp_path: Path) -> None:
    """SIGINT raised while the folder is renamed in is delivered after the rename."""
    import signal

    target = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), staged_folder(target) as tmp:
        (tmp / "manifest.json").write_text("{}")
        real = os.rename

        def rename_then_signal(src, dst):
            real(src, dst)
            os.kill(os.getpid(), signal.SIGINT)  # blocked: arrives after the block

        os.rename = rename_then_signal
        try:
            folder._commit(tmp, target, False)
        finally:
            os.rename = real
    assert (target / "manifest.json").is_file() and folder.committed[-1] == target


# --------------------------------------------------------------------------------------------
# results folders as untrusted input
# --------------------------------------------------------------------------------------------


def edit_manifest(path: Path, **changes) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    manifest.update(changes)
    (path / "manifest.json").write_text(json.dumps(manifest))


def write(name: str, text: str):
    return lambda p: (p / name).write_text(text)


def cut(name: str, size: int):
    return lambda p: (p / name).write_bytes((p / name).read_bytes()[:size])


def copy(source: str, name: str):
    return lambda p: shutil.copy(p / source, p / name)


def edit(**changes):
    return lambda p: edit_manifest(p, **changes)


NOT_OURS = "not the file this run wrote"
DAMAGE = {
    "manifest null": (write("manifest.json", "null"), "not a cstosim results manifest"),
    "manifest a list": (write("manifest.json", "[1, 2]"), "not a cstosim results manifest"),
    "manifest not JSON": (write("manifest.json", "{"), "cannot read"),
    "newer format": (edit(format_version=99), "written by a newer cstosim"),
    "replicates edited": (edit(replicates=2), "replicates is 2 but model.parquet holds"),
    "seed a string": (edit(root_seed="x"), "root_seed"),
    "files missing": (edit(files=None), "files"),
    "scenario name a path": (edit(scenario_name="../../evil"), "scenario_name"),
    "truncated parquet": (cut("members.parquet", 300), f"members.parquet: {NOT_OURS}"),
    "missing parquet": (lambda p: (p / "events.parquet").unlink(), "events.parquet: missing"),
    "swapped parquet": (copy("members.parquet", "model.parquet"), f"model.parquet: {NOT_OURS}"),
    "edited summary": (write("summary.csv", "date,metric\n"), f"summary.csv: {NOT_OURS}"),
    "edited scenario": (write("scenario.resolved.yaml", "name: ["), f"resolved.yaml: {NOT_OURS}"),
}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return make_results(tmp_path_factory.mktemp("good") / "good")


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_results_folders_are_refused(good: Path, tmp_path: Path, damage: str) -> None:
    hurt, message = DAMAGE[damage]
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    hurt(bad)
    before = sorted(p.name for p in bad.iterdir())
    for args in (
        ["plot", str(bad)],
        ["score", str(bad)],
        ["compare", str(good), str(bad), "--no-plot", "--out", str(tmp_path / "cmp")],
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
        assert "bad" in lines[0]  # names the folder or file
    assert sorted(p.name for p in bad.iterdir()) == before  # nothing written
    assert not (tmp_path / "cmp").exists() and hidden(tmp_path) == []


def test_a_folder_with_figures_reads_back_every_time(tmp_path: Path) -> None:
    """The manifest lists the figures too (a list, not a file entry); plot rewrites them."""
    out = tmp_path / "with-figures"
    result = cli("run", str(EXAMPLE), "-n", "2", "-q", "--until", "2024-06", "--out", str(out))
    assert result.exit_code == 0, result.output
    for args in (["plot", str(out)], ["plot", str(out)], ["score", str(out)]):
        done = cli(*args)
        assert done.exit_code == 0, (args, done.output)
    done = cli("compare", str(out), str(out), "--no-plot", "--out", str(tmp_path / "c"))
    assert done.exit_code == 0, done.output


def test_compare_default_folder_stays_under_results(
    good: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("compare", str(good), str(good), "--no-plot", "-q")
    assert result.exit_code == 0, result.output
    out = Path(result.output.strip().splitlines()[-1])
    assert (
        out.parts[:2] == ("results", "compare") and out.parts[2] == "example-triad-vs-example-triad"
    )


SWEEP = f"""\
schema_version: 1
name: damage-sweep
title: A small sweep to damage
scenario: {EXAMPLE}
factors:
  parameters.weight_grievance: {{low: 0.0, high: 3.0}}
outcomes:
  cohesion: {{kind: metric, metric: cohesion}}
sampler: {{method: sobol, n: 4}}
replicates: 2
seed: 5
"""

SWEEP_DAMAGE = {
    "manifest null": (write("manifest.json", "null"), "not a sweep folder"),
    "newer format": (edit(format_version=7), "written by a newer cstosim"),
    "replicates a string": (edit(replicates="x"), "replicates: expected int"),
    "factors missing": (edit(factors=None), "factors: expected list"),
    "truncated outcomes": (cut("outcomes.parquet", 200), f"outcomes.parquet: {NOT_OURS[:12]}"),
    "swapped outcomes": (copy("points.parquet", "outcomes.parquet"), "outcomes.parquet: not"),
    "missing design": (lambda p: (p / "design.parquet").unlink(), "design.parquet: cannot read"),
    "fewer replicates": (edit(replicates=1, sha256={}), "do not match the manifest"),
}


@pytest.fixture(scope="module")
def good_sweep(tmp_path_factory) -> Path:
    from cstosim.commands.explore import sweep_to_folder

    folder = tmp_path_factory.mktemp("sweep")
    (folder / "experiment.yaml").write_text(SWEEP)
    sweep_to_folder(folder / "experiment.yaml", folder / "sweep")
    return folder / "sweep"


@pytest.mark.parametrize("damage", sorted(SWEEP_DAMAGE))
def test_damaged_sweep_folders_are_refused(good_sweep: Path, tmp_path: Path, damage: str) -> None:
    hurt, message = SWEEP_DAMAGE[damage]
    bad = tmp_path / "bad"
    shutil.copytree(good_sweep, bad)
    hurt(bad)
    before = sorted(p.name for p in bad.iterdir())
    for args in (["sensitivity", str(bad)], ["discover", str(bad), "--outcome", "cohesion"]):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "bad" in lines[0], lines
    assert sorted(p.name for p in bad.iterdir()) == before  # nothing written
