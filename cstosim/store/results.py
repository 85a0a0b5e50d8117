"""The results folder: written completely or not at all, read back by ``plot`` and ``compare``.

Layout (every column is documented in ``results/README.md``)::

    manifest.json            provenance: versions, git commit, seeds, command, times, hashes
    scenario.resolved.yaml   the scenario after extends, overrides and --set (loadable again)
    model.parquet            replicate, date, one column per model metric
    members.parquet          replicate, date, member, alignment, credibility, engagement, ...
    events.parquet           replicate, date, event_id, type, member, response, outcome, ...
    summary.csv              tidy: date, member, variable, statistic, value
    figures/                 the figures (``cstosim plot``)

Atomicity: the folder is built in a hidden temporary folder beside the target
(``.NAME.partial-XXXX``) and renamed into place at the end; an exception or Ctrl-C removes the
temporary folder, so no half-written results folder is ever left. An existing target is never
replaced without ``force``; with ``force`` it is replaced by two renames (old folder aside, new
folder in, old folder deleted), and only if it is empty or a cstosim results folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cstosim import __version__
from cstosim.language.yamlio import dump_yaml

if TYPE_CHECKING:
    from cstosim.engine.ensemble import Ensemble
    from cstosim.language.scenario import Scenario

FORMAT = "cstosim-results"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.resolved.yaml"
SUMMARY = "summary.csv"
FIGURES = "figures"
TABLE_FILES = {"model": "model.parquet", "members": "members.parquet", "events": "events.parquet"}

QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
STATES = ("active", "disengaged", "frozen", "exited", "absent")
_LEVEL = {"absent": -1, "active": 0, "disengaged": 1, "frozen": 2, "exited": 3}

_STRING_COLUMNS = {
    "members": ("member", "engagement"),
    "events": ("event_id", "type", "member", "outcome", "detail"),
}


class OutputExistsError(Exception):
    """The output folder exists and may not be replaced."""


class ResultsError(Exception):
    """A folder is not a readable cstosim results folder."""


# --------------------------------------------------------------------------------------------
# Atomic folder
# --------------------------------------------------------------------------------------------


def is_results_folder(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_target(target: Path, force: bool) -> None:
    """Raise :class:`OutputExistsError` unless ``target`` may be (re)placed."""
    if not target.exists() and not target.is_symlink():
        return
    if not force:
        raise OutputExistsError(
            f"output folder {target} already exists; use --force to replace it or --out elsewhere"
        )
    if not target.is_dir() or not (is_results_folder(target) or not any(target.iterdir())):
        raise OutputExistsError(
            f"{target} is not a cstosim results folder (no {MANIFEST}); refusing to replace it "
            "even with --force"
        )


@contextmanager
def staged_folder(target: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; rename it to ``target`` if the block succeeds.

    On any exception (including KeyboardInterrupt) the temporary folder, and any parent folders
    this call created, are removed and the exception propagates; ``target`` is left untouched.
    """
    target = Path(target)
    check_target(target, force)
    created: list[Path] = []
    parent = target.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a results folder is not
    try:
        yield tmp
        _commit(tmp, target, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _commit(tmp: Path, target: Path, force: bool) -> None:
    check_target(target, force)  # again: something may have appeared while we were running
    if not target.exists():
        os.rename(tmp, target)
        return
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def resolved_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML text (``load_scenario`` reads it back to an equal one)."""
    return dump_yaml(scenario.model_dump(mode="json", exclude_none=True))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_table(frame: pd.DataFrame, path: Path, name: str) -> None:
    """Write one table as Parquet: ``date`` as a calendar date, text columns as strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        if field.name == "date":
            fields.append(pa.field("date", pa.date32()))
        elif field.name in _STRING_COLUMNS.get(name, ()) or pa.types.is_null(field.type):
            fields.append(pa.field(field.name, pa.string()))
        elif field.name == "replicate":
            fields.append(pa.field("replicate", pa.int64()))
        else:
            fields.append(field)
    columns = []
    for field, column in zip(fields, table.columns, strict=True):
        if field.name == "date" and pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("s")).cast(pa.date32())
        columns.append(column.cast(field.type))
    pq.write_table(pa.Table.from_arrays(columns, schema=pa.schema(fields)), path)


def summarize(model: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Tidy summary across replicates: ``date, member, variable, statistic, value``.

    Alliance-wide rows (model metrics) have an empty ``member``. Numeric variables get ``mean``,
    ``q05``, ``q25``, ``median``, ``q75``, ``q95``; ``engagement`` gets ``p_<state>`` (share of
    replicates in that state that month) and ``p_ever_frozen`` / ``p_ever_exited`` (share of
    replicates in which the member has been frozen or exited, respectively exited, at some month
    up to this one).
    """
    parts = [_numeric_summary(model, [], member=None)]
    if len(members):
        parts.append(_numeric_summary(members, ["member"], member="member"))
        parts.append(_engagement_summary(members))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out[["date", "member", "variable", "statistic", "value"]]


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    skip = {"replicate", "date", "member"}
    return [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _numeric_summary(frame: pd.DataFrame, keys: list[str], member: str | None) -> pd.DataFrame:
    columns = _numeric_columns(frame)
    if not columns:
        return pd.DataFrame()
    grouped = frame.groupby(["date", *keys], sort=True)[columns]
    stats = {"mean": grouped.mean()}
    for name, q in QUANTILES.items():
        stats[name] = grouped.quantile(q)
    long = []
    for name, table in stats.items():
        melted = table.reset_index().melt(
            id_vars=["date", *keys], var_name="variable", value_name="_value"
        )
        melted = melted.rename(columns={"_value": "value"})
        melted["statistic"] = name
        long.append(melted)
    out = pd.concat(long, ignore_index=True)
    if member is None:
        out["member"] = None
    order = {name: i for i, name in enumerate(stats)}
    out["_order"] = out["statistic"].map(order)
    out = out.sort_values(
        ["date", "member", "variable", "_order"] if member else ["date", "variable", "_order"],
        kind="stable",
    )
    return out.drop(columns="_order").reset_index(drop=True)


def engagement_history(members: pd.DataFrame) -> pd.DataFrame:
    """Per replicate, member and month: engagement plus ``ever_frozen`` and ``ever_exited``."""
    frame = (
        members[["replicate", "date", "member", "engagement"]]
        .sort_values(["replicate", "member", "date"], kind="stable")
        .reset_index(drop=True)
    )
    level = frame["engagement"].map(_LEVEL).fillna(-1)
    group = [frame["replicate"], frame["member"]]
    frame["ever_frozen"] = (level >= _LEVEL["frozen"]).astype(int).groupby(group).cummax() > 0
    frame["ever_exited"] = (level >= _LEVEL["exited"]).astype(int).groupby(group).cummax() > 0
    return frame


def _engagement_summary(members: pd.DataFrame) -> pd.DataFrame:
    history = engagement_history(members)
    n = history.groupby(["date", "member"])["replicate"].nunique()
    columns = {}
    for state in STATES:
        columns[f"p_{state}"] = (history["engagement"] == state).groupby(
            [history["date"], history["member"]]
        ).sum() / n
    for flag in ("ever_frozen", "ever_exited"):
        columns[f"p_{flag}"] = history.groupby(["date", "member"])[flag].sum() / n
    wide = pd.DataFrame(columns).reset_index()
    out = wide.melt(id_vars=["date", "member"], var_name="statistic", value_name="value")
    out["variable"] = "engagement"
    order = {name: i for i, name in enumerate(columns)}
    out["_order"] = out["statistic"].map(order)
    out = out.sort_values(["date", "member", "_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def write_summary(summary: pd.DataFrame, path: Path) -> None:
    frame = summary.copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    frame.to_csv(path, index=False, float_format="%.6g")


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


@dataclass
class RunInfo:
    """What the manifest records about how a run was asked for and when it happened."""

    scenario_file: str | None
    sets: Sequence[str]
    command: Sequence[str]
    started: dt.datetime
    jobs_requested: int | None = None


def build_manifest(
    ensemble: Ensemble,
    scenario: Scenario,
    info: RunInfo,
    scenario_sha: str,
    ended: dt.datetime,
    files: dict[str, Any],
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
        "until": ensemble.until,
        "root_seed": ensemble.root_seed,
        "replicates": ensemble.replicates,
        "jobs": ensemble.jobs,
        "jobs_requested": info.jobs_requested,
        "seeding": "replicate k uses numpy SeedSequence(root_seed).spawn(k + 1)[k]",
        "command": list(info.command),
        "command_line": " ".join(_quote(a) for a in info.command),
        "started": iso_utc(info.started),
        "ended": iso_utc(ended),
        "wall_time_s": round((ended - info.started).total_seconds(), 3),
        "files": files,
    }


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def write_results(folder: Path, ensemble: Ensemble, scenario: Scenario, info: RunInfo) -> None:
    """Write every file of a results folder (except figures) into an existing ``folder``."""
    text = resolved_yaml(scenario)
    (folder / SCENARIO_FILE).write_text(text, encoding="utf-8")
    files: dict[str, Any] = {SCENARIO_FILE: {"sha256": sha256_text(text)}}
    for name, filename in TABLE_FILES.items():
        frame = ensemble.table(name)
        write_table(frame, folder / filename, name)
        files[filename] = {"rows": len(frame), "sha256": sha256_file(folder / filename)}
    summary = summarize(ensemble.model, ensemble.members)
    write_summary(summary, folder / SUMMARY)
    files[SUMMARY] = {"rows": len(summary), "sha256": sha256_file(folder / SUMMARY)}
    manifest = build_manifest(ensemble, scenario, info, sha256_text(text), utc_now(), files)
    write_manifest(folder, manifest)


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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass
class Results:
    """A results folder read back: manifest, resolved scenario and tables (dates as datetime64)."""

    path: Path
    manifest: dict[str, Any]
    scenario: Scenario
    model: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame


def read_manifest(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"{path}: no such results folder")
    if not is_results_folder(path):
        raise ResultsError(f"{path}: not a cstosim results folder (no {MANIFEST})")
    try:
        manifest: dict[str, Any] = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path / MANIFEST}: cannot read: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ResultsError(f"{path / MANIFEST}: not a cstosim results manifest")
    return manifest


def read_table(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    if "date" in frame.columns:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def read_results(path: Path) -> Results:
    """Read a results folder written by :func:`write_results`."""
    from cstosim.language.loader import load_scenario
    from cstosim.language.yamlio import ScenarioError

    path = Path(path)
    manifest = read_manifest(path)
    try:
        scenario = load_scenario(path / SCENARIO_FILE)
        tables = {name: read_table(path / filename) for name, filename in TABLE_FILES.items()}
        summary = pd.read_csv(
            path / SUMMARY,
            parse_dates=["date"],
            dtype={"member": "string"},
            keep_default_na=False,
            na_values={"value": ["", "NaN", "nan"]},
        )
    except ScenarioError as exc:
        raise ResultsError(f"{path / SCENARIO_FILE}: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read results: {exc}") from None
    summary["member"] = summary["member"].replace("", pd.NA)
    return Results(
        path=path,
        manifest=manifest,
        scenario=scenario,
        model=tables["model"],
        members=tables["members"],
        events=tables["events"],
        summary=summary,
    )


def final_table(summary: pd.DataFrame) -> dict[str, Any]:
    """Figures for the end-of-run table: final cohesion quantiles and final state probabilities."""
    last = summary["date"].max()
    at_end = summary[summary["date"] == last]
    alliance = at_end[at_end["member"].isna() & (at_end["variable"] == "cohesion")]
    cohesion = dict(zip(alliance["statistic"], alliance["value"], strict=True))
    states = at_end[at_end["variable"] == "engagement"]
    members: dict[str, dict[str, float]] = {}
    for member, rows in states.groupby("member", sort=False):
        members[str(member)] = dict(
            zip(rows["statistic"], rows["value"].astype(float), strict=True)
        )
    return {"date": pd.Timestamp(last), "cohesion": cohesion, "members": members}
