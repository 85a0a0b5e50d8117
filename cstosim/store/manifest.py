"""``manifest.json``: provenance of a run (versions, git commit, seeds, engine, command, times,
hashes); every field is described in ``results/README.md``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cstosim import __version__
from cstosim.store.folder import (
    FIGURES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SCENARIO_FILE,
    SUMMARY,
    TABLE_FILES,
    ResultsError,
)

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario


class RunFacts(Protocol):
    """How the ensemble was run (``cstosim.engine.ensemble.Plan`` or ``Ensemble``)."""

    @property
    def replicates(self) -> int: ...
    @property
    def root_seed(self) -> int: ...
    @property
    def until(self) -> str | None: ...
    @property
    def jobs(self) -> int: ...
    @property
    def engine(self) -> str: ...
    @property
    def chunk_size(self) -> int | None: ...


@dataclass
class RunInfo:
    """What the manifest records about how a run was asked for and when it happened."""

    scenario_file: str | None
    sets: Sequence[str]
    command: Sequence[str]
    started: dt.datetime
    jobs_requested: int | None = None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit() -> tuple[str | None, bool | None]:
    """The commit of the source tree cstosim runs from, and whether it has local changes."""
    source = Path(__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(source), *args],
                capture_output=True,
                text=True,
                timeout=10,
                env=env,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("mesa", "numpy", "pandas", "pyarrow", "matplotlib", "pydantic", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_utc(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_manifest(
    run: RunFacts,
    scenario: Scenario,
    info: RunInfo,
    scenario_sha: str,
    ended: dt.datetime,
    files: dict[str, Any],
    summary_method: str | None = None,
) -> dict[str, Any]:
    commit, dirty = git_commit()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cstosim_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": package_versions(),
        "scenario_name": scenario.name,
        "scenario_title": scenario.title,
        "scenario_file": info.scenario_file,
        "sets": list(info.sets),
        "scenario_sha256": scenario_sha,
        "calendar": {"start": scenario.calendar.start, "end": scenario.calendar.end},
        "until": run.until,
        "root_seed": run.root_seed,
        "replicates": run.replicates,
        "engine": run.engine,
        "chunk_size": run.chunk_size,
        "jobs": run.jobs,
        "jobs_requested": info.jobs_requested,
        "seeding": "replicate k uses numpy SeedSequence(root_seed).spawn(k + 1)[k]",
        "summary_method": summary_method,
        "command": list(info.command),
        "command_line": " ".join(shlex.quote(a) for a in info.command),
        "started": iso_utc(info.started),
        "ended": iso_utc(ended),
        "wall_time_s": round((ended - info.started).total_seconds(), 3),
        "files": files,
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def finish_manifest(folder: Path) -> None:
    """Stamp the end time and wall time (after figures), just before the folder is renamed."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    ended = utc_now()
    started = dt.datetime.fromisoformat(manifest["started"].replace("Z", "+00:00"))
    manifest["ended"] = iso_utc(ended)
    manifest["wall_time_s"] = round((ended - started).total_seconds(), 3)
    figures = folder / FIGURES
    if figures.is_dir():
        manifest["files"][FIGURES] = sorted(p.name for p in figures.iterdir())
    write_manifest(folder, manifest)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the results folder ``path``, checked (raises :class:`ResultsError`).

    A results folder is input like any other: the manifest must be a JSON object of this format,
    of a version this cstosim reads, with the fields the readers use of the right types
    (:func:`_manifest_fields`).
    """
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"{path}: no such results folder")
    if not (path / MANIFEST).is_file():
        raise ResultsError(f"{path}: not a cstosim results folder (no {MANIFEST})")
    where = path / MANIFEST
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{where}: cannot read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ResultsError(f"{where}: not a cstosim results manifest")
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ResultsError(
            f"{where}: written by a newer cstosim (format version {version}; this cstosim "
            f"{__version__} reads version {FORMAT_VERSION}); upgrade cstosim to read it"
        )
    from pydantic import ValidationError

    try:
        _manifest_fields().model_validate(manifest)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ResultsError(
            f"{where}: {field}: {message} (the manifest was edited or damaged)"
        ) from None
    return manifest


def verify_files(path: Path, manifest: dict[str, Any], names: Sequence[str]) -> None:
    """Check that the files ``names`` of results folder ``path`` are the ones the run wrote.

    Their SHA-256 must equal the manifest's: a truncated, swapped or edited file is reported
    (:class:`ResultsError`) before anything reads it.
    """
    for name in names:
        file = Path(path) / name
        expected = manifest["files"][name]["sha256"]
        try:
            actual = sha256_file(file)
        except FileNotFoundError:
            raise ResultsError(f"{file}: missing (the manifest lists it)") from None
        except OSError as exc:
            raise ResultsError(f"{file}: cannot read: {exc.strerror}") from None
        if actual != expected:
            raise ResultsError(
                f"{file}: not the file this run wrote (its SHA-256 differs from the manifest's); "
                "the folder was edited or damaged: run the scenario again"
            )


@cache
def _manifest_fields() -> Any:
    """A pydantic model of the manifest fields that plot, score and compare rely on."""
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        StrictInt,
        StrictStr,
        ValidationError,
        field_validator,
    )

    class FileEntry(BaseModel):
        model_config = ConfigDict(extra="allow")
        sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")
        rows: StrictInt | None = Field(default=None, ge=0)

    class Fields(BaseModel):
        model_config = ConfigDict(extra="allow")
        format_version: StrictInt = Field(ge=1)
        scenario_name: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=200)
        root_seed: StrictInt = Field(ge=0)
        replicates: StrictInt = Field(ge=1)
        until: StrictStr | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")
        engine: StrictStr | None = None
        scenario_sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")
        files: dict[str, Any]

        @field_validator("files")
        @classmethod
        def lists_every_file(cls, files: dict[str, Any]) -> dict[str, Any]:
            names = (SCENARIO_FILE, SUMMARY, *TABLE_FILES.values())
            missing = [n for n in names if n not in files]
            if missing:
                raise ValueError(f"does not list {', '.join(missing)}")
            for name in names:  # FIGURES holds a list of names: not checked
                try:
                    FileEntry.model_validate(files[name])
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(part) for part in (name, *first["loc"]))
                    raise ValueError(f"{where}: {first['msg']}") from None
            return files

    return Fields
