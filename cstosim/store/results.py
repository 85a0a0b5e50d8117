"""The results folder: written chunk by chunk, completely or not at all; read back by ``plot``,
``score`` and ``compare``.

Layout (every column is documented in ``results/README.md``)::

    manifest.json            provenance: versions, git commit, seeds, engine, command, hashes
    scenario.resolved.yaml   the scenario after extends, overrides and --set (loadable again)
    model.parquet            replicate, date, one column per model metric
    members.parquet          replicate, date, member, alignment, credibility, engagement, ...
    events.parquet           replicate, date, event_id, type, member, response, outcome, ...
    summary.csv              tidy: date, member, variable, statistic, value
    figures/                 the figures (``cstosim plot``)

:class:`ResultsWriter` streams chunks of replicates into the Parquet files (``store.tables``,
fixed row groups) and into the summary (``store.summary``), so memory does not grow with the
number of replicates. The pieces live in ``folder`` (atomic staging), ``tables``, ``summary`` and
``manifest``; this module re-exports what callers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cstosim.language.yamlio import dump_yaml
from cstosim.store.folder import (
    FIGURES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SCENARIO_FILE,
    SUMMARY,
    TABLE_FILES,
    OutputError,
    OutputExistsError,
    ResultsError,
    check_target,
    is_results_folder,
    staged_folder,
)
from cstosim.store.manifest import (
    RunFacts,
    RunInfo,
    build_manifest,
    finish_manifest,
    git_commit,
    iso_utc,
    package_versions,
    read_manifest,
    sha256_file,
    sha256_text,
    utc_now,
    verify_files,
    write_manifest,
)
from cstosim.store.summary import (
    MEMORY_BUDGET,
    QUANTILES,
    STATES,
    Summariser,
    engagement_history,
    final_table,
    summarize,
    write_summary,
)
from cstosim.store.tables import TableWriter, read_table, write_table

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario

__all__ = [
    "FIGURES",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "QUANTILES",
    "SCENARIO_FILE",
    "STATES",
    "SUMMARY",
    "TABLE_FILES",
    "OutputError",
    "OutputExistsError",
    "Results",
    "ResultsError",
    "ResultsWriter",
    "RunInfo",
    "check_target",
    "engagement_history",
    "final_table",
    "finish_manifest",
    "git_commit",
    "is_results_folder",
    "iso_utc",
    "package_versions",
    "read_manifest",
    "read_results",
    "read_table",
    "resolved_yaml",
    "sha256_file",
    "staged_folder",
    "summarize",
    "utc_now",
    "verify_files",
    "write_table",
]


def resolved_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML text (``load_scenario`` reads it back to an equal one)."""
    return dump_yaml(scenario.model_dump(mode="json", exclude_none=True))


class ResultsWriter:
    """Write a results folder chunk by chunk into the existing (staging) ``folder``.

    Use as a context manager: :meth:`add` each chunk in replicate order, then :meth:`finish`
    to write ``summary.csv`` and ``manifest.json``. Leaving the block without :meth:`finish`
    (an error, Ctrl-C) closes the files and leaves the folder to :func:`staged_folder`.
    """

    def __init__(
        self,
        folder: Path,
        scenario: Scenario,
        replicates: int,
        memory_budget: float | None = MEMORY_BUDGET,
    ) -> None:
        self.folder = Path(folder)
        self.scenario = scenario
        self._text = resolved_yaml(scenario)
        (self.folder / SCENARIO_FILE).write_text(self._text, encoding="utf-8")
        self._tables = {
            name: TableWriter(self.folder / filename, name)
            for name, filename in TABLE_FILES.items()
        }
        self._summary = Summariser(replicates, memory_budget)

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for table in self._tables.values():
            table.abort()

    def add(self, model: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame) -> None:
        """Append one chunk of the three tables (``replicate`` first, in replicate order)."""
        for name, frame in (("model", model), ("members", members), ("events", events)):
            self._tables[name].write(frame)
        self._summary.add(model, members)

    def finish(self, run: RunFacts, info: RunInfo) -> dict[str, Any]:
        """Close the tables, write the summary and the manifest; return the manifest."""
        files: dict[str, Any] = {SCENARIO_FILE: {"sha256": sha256_text(self._text)}}
        for name, table in self._tables.items():
            rows = table.close()
            files[TABLE_FILES[name]] = {"rows": rows, "sha256": sha256_file(table.path)}
        paths = {name: table.path for name, table in self._tables.items()}
        summary = self._summary.result(paths)
        write_summary(summary, self.folder / SUMMARY)
        files[SUMMARY] = {"rows": len(summary), "sha256": sha256_file(self.folder / SUMMARY)}
        manifest = build_manifest(
            run,
            self.scenario,
            info,
            sha256_text(self._text),
            utc_now(),
            files,
            summary_method=self._summary.method,
        )
        write_manifest(self.folder, manifest)
        return manifest


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


def _check_consistent(path: Path, manifest: dict[str, Any], model: pd.DataFrame, name: str) -> None:
    """The manifest agrees with the files: the model table holds replicates 0..n-1 with n the
    manifest's ``replicates`` (an edited count would pair replicates wrongly) and the scenario's
    name is the manifest's ``scenario_name`` (compare names its default folder after it)."""
    held = model["replicate"].unique() if "replicate" in model else np.array([], dtype=int)
    expected = manifest["replicates"]
    if len(held) != expected or int(held.max()) != expected - 1:
        raise ResultsError(
            f"{path / MANIFEST}: replicates is {expected} but {TABLE_FILES['model']} holds "
            f"{len(held)}; the manifest was edited"
        )
    if manifest["scenario_name"] != name:
        raise ResultsError(f"{path / MANIFEST}: scenario_name differs from {SCENARIO_FILE}")


def read_results(path: Path, tables: bool = True) -> Results:
    """Read a results folder written by :class:`ResultsWriter`.

    ``tables=False`` leaves the three tables on disk (zero-row frames with their columns): what
    the figures need is in ``summary.csv``, and the tables of a large ensemble do not fit in
    memory. Every file is verified either way (:func:`verify_files`).
    """
    from cstosim.language.loader import load_scenario
    from cstosim.language.yamlio import ScenarioError

    path = Path(path)
    manifest = read_manifest(path)
    verify_files(path, manifest, [SCENARIO_FILE, SUMMARY, *TABLE_FILES.values()])
    if manifest["files"][SCENARIO_FILE]["sha256"] != manifest["scenario_sha256"]:
        raise ResultsError(f"{path / MANIFEST}: two different hashes of {SCENARIO_FILE}")
    read = read_table if tables else _empty_table
    try:
        scenario = load_scenario(path / SCENARIO_FILE)
        frames = {name: read(path / filename) for name, filename in TABLE_FILES.items()}
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
    if tables:
        _check_consistent(path, manifest, frames["model"], scenario.name)
    else:
        _check_counts(path, manifest, scenario)
    return Results(
        path=path,
        manifest=manifest,
        scenario=scenario,
        model=frames["model"],
        members=frames["members"],
        events=frames["events"],
        summary=summary,
    )


def _empty_table(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_schema(path).empty_table().to_pandas()


def _check_counts(path: Path, manifest: dict[str, Any], scenario: Scenario) -> None:
    """As :func:`_check_consistent`, from the Parquet metadata: one model row per replicate
    and month."""
    import pyarrow.parquet as pq

    from cstosim.language.scenario import calendar_months

    months = calendar_months(scenario.calendar.start, manifest["until"] or scenario.calendar.end)
    rows = pq.ParquetFile(path / TABLE_FILES["model"]).metadata.num_rows
    if rows != manifest["replicates"] * months:
        raise ResultsError(
            f"{path / MANIFEST}: replicates is {manifest['replicates']} but "
            f"{TABLE_FILES['model']} holds {rows} rows for {months} months; the manifest was edited"
        )
    if manifest["scenario_name"] != scenario.name:
        raise ResultsError(f"{path / MANIFEST}: scenario_name differs from {SCENARIO_FILE}")
