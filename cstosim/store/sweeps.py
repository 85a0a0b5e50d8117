"""The sweep folder: design, outcomes per design point and replicate, manifest; resumable.

A sweep into ``DIR`` is built in a staging folder beside it, ``.DIR.sweep-partial/``, and
renamed to ``DIR`` when every chunk is done (so ``DIR`` exists only complete, as for results
folders). While it runs, the staging folder holds::

    manifest.json           "status": "running", the plan, seeds, versions, command, sessions
    experiment.yaml         the experiment file as written
    scenarios/NAME.yaml     every base scenario, resolved
    design.parquet          design_point, then one column per factor (its value)
    sample.parquet          the sampler's unit-hypercube sample (one column per factor)
    chunks/NNNNNN.parquet   the outcomes of each finished chunk (written atomically)
    lock                    pid and host of the sweep writing it

Killed at any moment, the sweep loses at most the chunks in flight: ``--resume`` checks that
the experiment is unchanged (a fingerprint of the experiment and its resolved scenarios), runs
the chunks that have no file yet, and ends exactly as an uninterrupted sweep. At the end the
chunks are joined into ``outcomes.parquet`` (``design_point``, ``replicate``, one column per
outcome; rows by design point, then replicate) and ``points.parquet`` (the design with each
outcome's mean over replicates), the manifest says ``"status": "complete"`` and the folder is
renamed to ``DIR``. An existing ``DIR`` or staging folder is never replaced silently.

Store functions this module relies on: :mod:`cstosim.store.folder` (``OutputExistsError``,
``ResultsError``, ``MANIFEST``, ``FIGURES``) and :mod:`cstosim.store.manifest`
(``git_commit``, ``package_versions``, ``utc_now``, ``iso_utc``, ``sha256_text``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cstosim import __version__
from cstosim.language.yamlio import shown
from cstosim.store.folder import (
    MANIFEST,
    OutputExistsError,
    ResultsError,
    replace_folder,
    staged_folder,
)
from cstosim.store.manifest import git_commit, iso_utc, package_versions, sha256_file, utc_now

SWEEP_FORMAT = "cstosim-sweep"
SWEEP_FORMAT_VERSION = 1
ANALYSIS_FORMAT = "cstosim-sweep-analysis"
ANALYSIS_FILE = "analysis.json"
DESIGN = "design.parquet"
SAMPLE = "sample.parquet"
OUTCOMES = "outcomes.parquet"
POINTS = "points.parquet"
EXPERIMENT_FILE = "experiment.yaml"
CHUNKS = "chunks"
LOCK = "lock"


class SweepError(Exception):
    """A sweep cannot start, resume or be read (bad input: exit code 2)."""


def partial_path(target: Path) -> Path:
    """The staging folder of a sweep into ``target``."""
    target = Path(target)
    return target.parent / f".{target.name}.sweep-partial"


def is_sweep_folder(path: Path) -> bool:
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == SWEEP_FORMAT


def explore_versions() -> dict[str, str | None]:
    """Versions of the packages a sweep and its analyses use."""
    out = package_versions()
    for name in ("SALib", "ema_workbench", "dask", "distributed", "scipy", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


@dataclass
class SweepStart:
    """What a new sweep writes before its first chunk."""

    fingerprint: str
    experiment_text: str
    scenarios: dict[str, str]  # base scenario name -> resolved YAML
    design: pd.DataFrame
    sample: np.ndarray
    factor_names: list[str]
    outcome_names: list[str]
    manifest: dict[str, Any]  # experiment, plan, seeds... (the writer adds the rest)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_json(data: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: not a manifest")
    return data


class SweepWriter:
    """A sweep's staging folder, opened to write chunks (new or resumed)."""

    def __init__(self, target: Path, folder: Path, manifest: dict[str, Any]):
        self.target = target
        self.folder = folder
        self.manifest = manifest

    # ------------------------------------------------------------------------ open / resume

    @classmethod
    def open(
        cls,
        target: Path,
        start: SweepStart,
        resume: bool = False,
        force: bool = False,
        command: Sequence[str] = (),
        runner: str = "",
    ) -> SweepWriter:
        """Start a sweep into ``target`` or, with ``resume``, continue its staging folder.

        Raises :class:`OutputExistsError` if ``target`` exists (unless ``force``) and
        :class:`SweepError` if a staging folder exists without ``resume``/``force``, belongs to
        another experiment, or is being written by a live process.
        """
        target = Path(target)
        folder = partial_path(target)
        if target.exists() or target.is_symlink():
            if not force:
                what = "a complete sweep" if is_sweep_folder(target) else "a folder"
                raise OutputExistsError(
                    f"{target} already exists ({what}); use --force to replace it or --out "
                    "elsewhere"
                )
            if not target.is_dir() or not (is_sweep_folder(target) or not any(target.iterdir())):
                raise OutputExistsError(
                    f"{target} is not a sweep folder; refusing to replace it even with --force"
                )
        now = utc_now()
        session = {
            "started": iso_utc(now),
            "git_commit": git_commit()[0],
            "runner": runner,
            "command": list(command),
        }
        if folder.exists():
            if not resume and not force:
                raise SweepError(
                    f"an unfinished sweep into {target} is in {folder} "
                    f"({_progress_text(folder)}); use --resume to continue it or --force to "
                    "start over"
                )
            if resume:
                manifest = _read_json(folder / MANIFEST)
                if manifest.get("format") != SWEEP_FORMAT:
                    raise SweepError(f"{folder} is not a sweep staging folder")
                if manifest.get("fingerprint") != start.fingerprint:
                    raise SweepError(
                        f"the experiment or its scenarios changed since the sweep in {folder} "
                        "started; resuming would mix two experiments. Start over with --force "
                        "or write to another --out"
                    )
                _lock(folder)
                manifest.setdefault("sessions", []).append(session)
                _write_json(manifest, folder / MANIFEST)
                return cls(target, folder, manifest)
            _unlock_or_fail(folder)
            shutil.rmtree(folder)
        return cls._create(target, folder, start, session, command, now)

    @classmethod
    def _create(
        cls,
        target: Path,
        folder: Path,
        start: SweepStart,
        session: dict[str, Any],
        command: Sequence[str],
        now: dt.datetime,
    ) -> SweepWriter:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.creating-", dir=target.parent))
        try:
            tmp.chmod(0o777 & ~_umask())
            (tmp / CHUNKS).mkdir()
            (tmp / EXPERIMENT_FILE).write_text(start.experiment_text, encoding="utf-8")
            (tmp / "scenarios").mkdir()
            for name, text in start.scenarios.items():
                (tmp / "scenarios" / f"{name}.yaml").write_text(text, encoding="utf-8")
            _write_parquet(start.design, tmp / DESIGN)
            sample = pd.DataFrame(start.sample, columns=start.factor_names)
            _write_parquet(sample, tmp / SAMPLE)
            commit, dirty = git_commit()
            manifest: dict[str, Any] = {
                "format": SWEEP_FORMAT,
                "format_version": SWEEP_FORMAT_VERSION,
                "status": "running",
                "cstosim_version": __version__,
                "git_commit": commit,
                "git_dirty": dirty,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "versions": explore_versions(),
                "fingerprint": start.fingerprint,
                **start.manifest,
                "factors": start.factor_names,
                "outcomes": start.outcome_names,
                "command": list(command),
                "command_line": " ".join(shlex.quote(a) for a in command),
                "started": iso_utc(now),
                "sessions": [session],
            }
            _write_json(manifest, tmp / MANIFEST)
            os.rename(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _lock(folder)
        return cls(target, folder, manifest)

    # ----------------------------------------------------------------------------- chunks

    def done(self) -> set[int]:
        """Numbers of the chunks already written (left-over temporary files are removed)."""
        out: set[int] = set()
        for path in (self.folder / CHUNKS).iterdir():
            if path.name.startswith("."):
                path.unlink(missing_ok=True)
            elif path.suffix == ".parquet" and path.stem.isdigit():
                out.add(int(path.stem))
        return out

    def write_chunk(self, number: int, frame: pd.DataFrame) -> None:
        """Store the outcomes of chunk ``number`` (atomically: all of it or nothing)."""
        _write_parquet(frame, self.folder / CHUNKS / f"{number:06d}.parquet")

    def finish(self, chunks: int, extra: dict[str, Any] | None = None) -> Path:
        """Join the ``chunks`` chunk files, write the final tables, rename to the target."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        missing = sorted(set(range(chunks)) - self.done())
        if missing:
            raise SweepError(f"cannot finish: {len(missing)} chunks are missing")
        tables = [pq.read_table(self.folder / CHUNKS / f"{k:06d}.parquet") for k in range(chunks)]
        outcomes = pa.concat_tables(tables).to_pandas()
        _write_parquet(outcomes, self.folder / OUTCOMES)
        design = pd.read_parquet(self.folder / DESIGN)
        names = [c for c in outcomes.columns if c not in ("design_point", "replicate")]
        means = outcomes.groupby("design_point", sort=True)[names].mean()
        points = design.join(means, on="design_point")
        _write_parquet(points, self.folder / POINTS)
        ended = utc_now()
        self.manifest.update(extra or {})
        self.manifest["status"] = "complete"
        self.manifest["ended"] = iso_utc(ended)
        self.manifest["rows"] = len(outcomes)
        self.manifest["files"] = {
            "design": DESIGN,
            "sample": SAMPLE,
            "outcomes": OUTCOMES,
            "points": POINTS,
            "experiment": EXPERIMENT_FILE,
        }
        self.manifest["sha256"] = {
            name: sha256_file(self.folder / name) for name in (DESIGN, SAMPLE, OUTCOMES, POINTS)
        }
        _write_json(self.manifest, self.folder / MANIFEST)
        shutil.rmtree(self.folder / CHUNKS)
        (self.folder / LOCK).unlink(missing_ok=True)
        replace_folder(self.folder, self.target)
        return self.target

    def release(self) -> None:
        """Give up the lock (after an error or Ctrl-C): the staging folder stays to resume."""
        (self.folder / LOCK).unlink(missing_ok=True)


def _progress_text(folder: Path) -> str:
    try:
        manifest = _read_json(folder / MANIFEST)
        total = int(manifest.get("plan", {}).get("chunks", 0))
        done = len([p for p in (folder / CHUNKS).glob("*.parquet") if p.stem.isdigit()])
    except (ResultsError, OSError, ValueError):
        return "unreadable"
    return f"{done} of {total} chunks done"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _lock(folder: Path) -> None:
    """Take the staging folder's lock; fail if a live process on this host holds it."""
    _unlock_or_fail(folder)
    info = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    path = folder / LOCK
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise SweepError(f"another sweep is writing {folder} (its {LOCK} file appeared)") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(info)


def _unlock_or_fail(folder: Path) -> None:
    """Remove a stale lock (its process is gone); raise if its process is alive."""
    path = folder / LOCK
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return
    pid, host = holder.get("pid"), holder.get("host")
    if host == socket.gethostname() and isinstance(pid, int) and _alive(pid):
        raise SweepError(f"process {pid} is still writing {folder}; wait for it or stop it first")
    if host != socket.gethostname():
        raise SweepError(
            f"{folder} is locked by a sweep on host {host} (pid {pid}); if it is no longer "
            f"running, delete {path}"
        )
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own stale lock (e.g. a test resuming in the same process)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------------------------
# Reading a sweep back
# --------------------------------------------------------------------------------------------


@dataclass
class Sweep:
    """A complete sweep folder read back."""

    path: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    sample: np.ndarray
    outcomes: pd.DataFrame

    @property
    def factors(self) -> list[str]:
        return list(self.manifest["factors"])

    @property
    def outcome_names(self) -> list[str]:
        return list(self.manifest["outcomes"])

    @property
    def labels(self) -> dict[str, str]:
        """Display names of factors and outcomes (their labels, else their names)."""
        out: dict[str, str] = dict(self.manifest.get("labels", {}))
        return {name: out.get(name) or name for name in [*self.factors, *self.outcome_names]}


def read_sweep(path: Path) -> Sweep:
    """Read the sweep folder ``path`` (raises :class:`ResultsError` if it is not one)."""
    path = Path(path)
    if not path.is_dir():
        partial = partial_path(path)
        hint = f" (an unfinished sweep is in {partial}: resume it)" if partial.exists() else ""
        raise ResultsError(f"{path}: no such sweep folder{hint}")
    if not is_sweep_folder(path):
        raise ResultsError(f"{path}: not a sweep folder (no sweep {MANIFEST})")
    manifest = _read_json(path / MANIFEST)
    if manifest.get("status") != "complete":
        raise ResultsError(f"{path}: the sweep is not complete")
    _check_sweep_manifest(path, manifest)
    try:
        design = pd.read_parquet(path / DESIGN)
        sample = pd.read_parquet(path / SAMPLE).to_numpy(dtype=np.float64)
        outcomes = pd.read_parquet(path / OUTCOMES)
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read the sweep tables: {exc}") from None
    rows = manifest["design_points"] * manifest["replicates"]
    missing = [c for c in manifest["factors"] if c not in design.columns]
    missing += [c for c in manifest["outcomes"] if c not in outcomes.columns]
    if len(outcomes) != rows or len(design) != manifest["design_points"] or missing:
        raise ResultsError(
            f"{path}: the tables do not match the manifest ({len(outcomes)} outcome rows for "
            f"{rows} runs, {len(design)} design points; columns missing: {missing or 'none'})"
        )
    return Sweep(path, manifest, design, sample, outcomes)


def _check_sweep_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Version, field types and (when recorded) every table's SHA-256, as for results folders."""
    where = path / MANIFEST
    version = manifest.get("format_version")
    if isinstance(version, int) and version > SWEEP_FORMAT_VERSION:
        raise ResultsError(
            f"{where}: written by a newer cstosim (sweep format version {version}; this "
            f"cstosim {__version__} reads version {SWEEP_FORMAT_VERSION}); upgrade cstosim"
        )
    types: dict[str, type] = {
        "design_points": int,
        "replicates": int,
        "factors": list,
        "outcomes": list,
    }
    for field, kind in types.items():
        value = manifest.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ResultsError(
                f"{where}: {field}: expected {kind.__name__}, got {type(value).__name__} "
                "(the manifest was edited or damaged)"
            )
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise ResultsError(f"{where}: {field}: expected a list of names")
    hashes = manifest.get("sha256", {})
    if not isinstance(hashes, dict):
        raise ResultsError(f"{where}: sha256: expected a mapping of file names to hashes")
    for name, expected in hashes.items():
        if name not in (DESIGN, SAMPLE, OUTCOMES, POINTS):
            raise ResultsError(f"{where}: sha256: unknown file {shown(name)}")
        try:
            actual = sha256_file(path / name)
        except OSError as exc:
            raise ResultsError(f"{path / name}: cannot read: {exc.strerror}") from None
        if actual != expected:
            raise ResultsError(
                f"{path / name}: not the file this sweep wrote (its SHA-256 differs from the "
                "manifest's); the folder was edited or damaged"
            )


# --------------------------------------------------------------------------------------------
# Analysis folders inside a sweep (sensitivity/, discovery-NAME/)
# --------------------------------------------------------------------------------------------


@contextmanager
def staged_analysis(sweep: Path, name: str, force: bool, info: dict[str, Any]) -> Iterator[Path]:
    """A staging folder for an analysis written into ``sweep/name``, renamed there at the end.

    As :func:`cstosim.store.folder.staged_folder` (lock, leftovers, nothing half-written); the
    target is replaced only with ``force`` and only if it is an analysis folder. At the end
    ``analysis.json`` records ``info``, the versions, the time and the files written.
    """
    with staged_folder(Path(sweep) / name, force, marker=ANALYSIS_FILE) as tmp:
        yield tmp
        record = {
            "format": ANALYSIS_FORMAT,
            "cstosim_version": __version__,
            "versions": explore_versions(),
            "created": iso_utc(utc_now()),
            **info,
            "files": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
        }
        _write_json(record, tmp / ANALYSIS_FILE)
