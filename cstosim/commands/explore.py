"""``cstosim sweep``, ``cstosim sensitivity`` and ``cstosim discover`` (docs/EXPLORING.md).

The commands are thin: each calls one function of this module, which is also the Python API:

* :func:`sweep_to_folder` — experiment file → design (:mod:`cstosim.analysis.sensitivity`) →
  chunks run where asked (:mod:`cstosim.engine.cluster`) → sweep folder written as chunks
  finish (:mod:`cstosim.store.sweeps`), resumable;
* :func:`sensitivity_of` — sweep folder → Sobol' or Morris indices, convergence, figures;
* :func:`discover_in` — sweep folder → PRIM box for one outcome, feature scores, figures.

Exit codes: 0 success; 2 bad input (experiment errors as ``file:line:column: field: message``,
existing output, a sweep that cannot be resumed or analysed); 1 a failure while running (one
line; ``--debug`` shows the traceback); 130 interrupted (a sweep keeps the chunks it finished).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cstosim.exits import EXIT_BAD_INPUT


class BadInput(Exception):
    """A problem with what the user asked for (exit code 2)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a sweep: the message says what was kept."""


# --------------------------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------------------------


def fingerprint(loaded: Any) -> str:
    """A hash of what determines a sweep's results: the experiment and its resolved scenarios."""
    from cstosim import __version__

    parts = {
        "experiment": loaded.spec.model_dump(mode="json"),
        "scenarios": {name: s.model_dump(mode="json") for name, s in loaded.scenarios.items()},
        "cstosim": __version__,
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SweepReport:
    """What :func:`sweep_to_folder` did."""

    folder: Path
    design_points: int
    replicates: int
    chunks: int
    chunks_run: int
    runner: str
    wall_time_s: float


def sweep_to_folder(
    experiment: str | Path,
    out: str | Path,
    *,
    resume: bool = False,
    force: bool = False,
    jobs: int = 1,
    scheduler: str | None = None,
    dask_local: bool = False,
    runs_per_chunk: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    command: Sequence[str] = (),
    stop_after: int | None = None,
) -> SweepReport:
    """Run the sweep of ``experiment`` into ``out`` (see :mod:`cstosim.store.sweeps`).

    ``progress(done_runs, total_runs)`` is called after every chunk. ``stop_after`` (for tests)
    raises KeyboardInterrupt after that many chunks of this session.
    """
    import time

    import numpy as np
    import pandas as pd

    from cstosim.analysis.outcomes import OutcomeReducer
    from cstosim.analysis.sensitivity import make_design
    from cstosim.engine.cluster import make_runner
    from cstosim.engine.sweep import SweepSpec, default_runs_per_chunk, plan_chunks
    from cstosim.language.experiment import load_experiment, scenario_data
    from cstosim.language.yamlio import dump_yaml
    from cstosim.store.sweeps import SAMPLE, SweepStart, SweepWriter, is_sweep_folder

    started = time.perf_counter()
    loaded = load_experiment(experiment)
    spec = loaded.spec
    design, unit = make_design(loaded)
    points, replicates = len(design), spec.replicates
    workers = 8 if scheduler is not None else max(1, jobs)
    per_chunk = runs_per_chunk or default_runs_per_chunk(points * replicates, workers)
    labels = {f.name: f.label for f in loaded.factors if f.label}
    labels.update({k: o.label for k, o in spec.outcomes.items() if o.label})
    manifest = {
        "experiment": {
            "name": spec.name,
            "title": spec.title,
            "file": str(experiment),
            "sha256": hashlib.sha256(loaded.text.encode("utf-8")).hexdigest(),
        },
        "scenarios": [
            {"name": name, "file": file}
            for name, file in zip(loaded.scenarios, loaded.scenario_files, strict=True)
        ],
        "sampler": spec.sampler.model_dump(mode="json"),
        "design_points": points,
        "replicates": replicates,
        "root_seed": spec.seed,
        "until": spec.until,
        "engine": spec.engine,
        "seeding": "every design point runs replicates 0..R-1 with the same root seed; replicate "
        "k uses numpy SeedSequence(root_seed).spawn(k + 1)[k] (common random numbers)",
        "plan": {
            "runs_per_chunk": per_chunk,
            "chunks": len(plan_chunks(points, replicates, per_chunk)),
        },
        "labels": labels,
    }
    start = SweepStart(
        fingerprint=fingerprint(loaded),
        experiment_text=loaded.text,
        scenarios={
            name: dump_yaml(s.model_dump(mode="json", exclude_defaults=True))
            for name, s in loaded.scenarios.items()
        },
        design=design,
        sample=unit,
        factor_names=[f.name for f in loaded.factors],
        outcome_names=list(spec.outcomes),
        manifest=manifest,
    )
    sweep_spec = SweepSpec(
        bases={name: scenario_data(s) for name, s in loaded.scenarios.items()},
        factors=tuple(loaded.factors),
        root_seed=spec.seed,
        until=spec.until,
        engine=spec.engine,
        reducer=OutcomeReducer(spec.outcomes),
    )
    if scheduler is not None:
        runner_name = f"dask {scheduler}"
    elif dask_local:
        runner_name = f"dask local ({max(1, jobs)} workers)"
    else:
        runner_name = f"{jobs} process" + ("es" if jobs > 1 else "")
    if resume and not force and is_sweep_folder(Path(out)):
        done_manifest = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
        if done_manifest.get("fingerprint") == start.fingerprint:
            plan = done_manifest.get("plan", {})
            return SweepReport(  # nothing left to do: the same sweep is complete
                folder=Path(out),
                design_points=points,
                replicates=replicates,
                chunks=int(plan.get("chunks", 0)),
                chunks_run=0,
                runner=runner_name,
                wall_time_s=round(time.perf_counter() - started, 3),
            )
    writer = SweepWriter.open(
        Path(out), start, resume=resume, force=force, command=command, runner=runner_name
    )
    # a resumed sweep keeps its own plan and sample, whatever this call asked for
    per_chunk = int(writer.manifest["plan"]["runs_per_chunk"])
    chunks = plan_chunks(points, replicates, per_chunk)
    unit = pd.read_parquet(writer.folder / SAMPLE).to_numpy(dtype=np.float64)
    done = writer.done()
    pending = [c for c in chunks if c.number not in done]
    total = points * replicates
    finished_runs = sum(c.runs for c in chunks if c.number in done)
    if progress is not None:
        progress(finished_runs, total)
    ran = 0
    runner = None
    try:
        if pending:
            runner = make_runner(sweep_spec, jobs, scheduler, dask_local)
            tasks = ((c, unit[c.points.start : c.points.stop]) for c in pending)
            for chunk, frame in runner.run(tasks):
                writer.write_chunk(chunk.number, frame)
                ran += 1
                finished_runs += chunk.runs
                if progress is not None:
                    progress(finished_runs, total)
                if stop_after is not None and ran >= stop_after:
                    raise KeyboardInterrupt
            runner.close()
            runner = None
        writer.finish(
            len(chunks),
            {"wall_time_s_last_session": round(time.perf_counter() - started, 3)},
        )
    except BaseException as exc:
        if runner is not None:
            runner.close(abort=True)
        writer.release()
        if isinstance(exc, KeyboardInterrupt):
            kept = len(writer.done()) if writer.folder.exists() else 0
            raise Interrupted(
                f"{kept} of {len(chunks)} chunks are saved in {writer.folder}; "
                "run the same command with --resume to continue"
            ) from exc
        raise
    return SweepReport(
        folder=Path(out),
        design_points=points,
        replicates=replicates,
        chunks=len(chunks),
        chunks_run=ran,
        runner=runner_name,
        wall_time_s=round(time.perf_counter() - started, 3),
    )


# --------------------------------------------------------------------------------------------
# sensitivity
# --------------------------------------------------------------------------------------------


@dataclass
class SensitivityReport:
    folder: Path
    method: str
    indices: dict[str, Any]  # outcome -> Indices (largest N)
    convergence: Any  # DataFrame: outcome, factor, n, indices
    labels: dict[str, str]
    figures: list[Path]


def sensitivity_of(
    sweep_dir: str | Path,
    outcomes: Sequence[str] = (),
    fmt: str = "png",
    force: bool = False,
    command: Sequence[str] = (),
) -> SensitivityReport:
    """Sobol' (S1, ST with 95 % intervals) or Morris (μ*, σ) indices of each outcome of a sweep,
    at N/4, N/2 and N base samples, written to ``sweep_dir/sensitivity/``."""
    import pandas as pd

    from cstosim.analysis.sensitivity import Indices, convergence, point_means
    from cstosim.store.sweeps import read_sweep, staged_analysis
    from cstosim.views.exploration import fig_convergence, fig_sensitivity, save

    sweep = read_sweep(Path(sweep_dir))
    method = str(sweep.manifest["sampler"]["method"])
    if method not in ("sobol", "morris"):
        raise BadInput(
            f"{sweep_dir} was sampled with {method}; sensitivity indices need a sobol or morris "
            f"design. For this sweep, `cstosim discover {sweep_dir} --outcome NAME` scores "
            "every factor against every outcome"
        )
    names = _pick_outcomes(sweep.outcome_names, outcomes)
    n = int(sweep.manifest["sampler"]["n"])
    means = point_means(sweep.outcomes, names, len(sweep.design))
    seed = int(sweep.manifest.get("root_seed", 0)) % 2**32
    tables = []
    finals: dict[str, Indices] = {}
    for name in names:
        table = convergence(method, sweep.sample, means[name].to_numpy(), sweep.factors, n, seed)
        table.insert(0, "outcome", name)
        tables.append(table)
        largest = table[table["n"] == table["n"].max()].drop(columns="outcome")
        variance = float(means[name].var(ddof=0))
        finals[name] = Indices(name, method, largest.reset_index(drop=True), variance)
    all_tables = pd.concat(tables, ignore_index=True)
    info = {"analysis": "sensitivity", "method": method, "outcomes": names, "command": command}
    target = sweep.path / "sensitivity"
    figures: list[Path] = []
    with staged_analysis(sweep.path, "sensitivity", force, info) as tmp:
        all_tables.to_csv(tmp / "indices.csv", index=False, float_format="%.6g")
        (tmp / "figures").mkdir()
        caption = (
            f"{sweep.manifest['experiment']['name']}: {len(sweep.design)} design points × "
            f"{sweep.manifest['replicates']} replicates, seed {sweep.manifest['root_seed']}; "
            "indices of each outcome's mean over replicates."
        )
        for name in names:
            fig = fig_sensitivity(finals[name].table, method, name, sweep.labels, caption)
            figures.append(save(fig, tmp / "figures" / f"{name}.{fmt}"))
            conv = all_tables[all_tables["outcome"] == name]
            fig = fig_convergence(conv, method, name, sweep.labels)
            figures.append(save(fig, tmp / "figures" / f"{name}-convergence.{fmt}"))
    figures = [target / p.relative_to(tmp) for p in figures]
    return SensitivityReport(target, method, finals, all_tables, sweep.labels, figures)


def _pick_outcomes(known: Sequence[str], asked: Sequence[str]) -> list[str]:
    from cstosim.language.yamlio import listing

    for name in asked:
        if name not in known:
            raise BadInput(f"unknown outcome {name!r}; this sweep has: {listing(known)}")
    return list(asked) or list(known)


# --------------------------------------------------------------------------------------------
# discover
# --------------------------------------------------------------------------------------------


@dataclass
class DiscoveryReport:
    folder: Path
    prim: Any  # PrimResult
    scores: Any  # DataFrame factors × outcomes
    labels: dict[str, str]
    figures: list[Path]


def discover_in(
    sweep_dir: str | Path,
    outcome: str,
    *,
    above: float | None = None,
    below: float | None = None,
    per: str = "run",
    min_coverage: float = 0.5,
    box: int | None = None,
    peel_alpha: float = 0.05,
    fmt: str = "png",
    force: bool = False,
    command: Sequence[str] = (),
) -> DiscoveryReport:
    """PRIM for ``outcome`` and feature scores of every outcome, in ``sweep_dir/discovery-NAME``."""
    from cstosim.analysis.discovery import cases, feature_scores, prim_boxes
    from cstosim.analysis.sensitivity import point_means
    from cstosim.store.sweeps import read_sweep, staged_analysis
    from cstosim.views.exploration import fig_box, fig_feature_scores, fig_tradeoff, save

    sweep = read_sweep(Path(sweep_dir))
    _pick_outcomes(sweep.outcome_names, [outcome])
    try:
        x, y, rule = cases(sweep.design, sweep.outcomes, outcome, sweep.factors, per, above, below)
        result = prim_boxes(x, y, outcome, rule, peel_alpha, min_coverage, box)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    means = point_means(sweep.outcomes, sweep.outcome_names, len(sweep.design))
    x_points = sweep.design[sweep.factors]
    scores = feature_scores(x_points, means.reset_index(drop=True))
    info = {
        "analysis": "discovery",
        "outcome": outcome,
        "rule": rule,
        "per": per,
        "cases": result.cases,
        "positives": result.positives,
        "chosen_box": result.chosen,
        "min_coverage": min_coverage,
        "peel_alpha": peel_alpha,
        "command": command,
    }
    target = sweep.path / f"discovery-{outcome}"
    figures: list[Path] = []
    with staged_analysis(sweep.path, f"discovery-{outcome}", force, info) as tmp:
        result.trajectory.to_csv(tmp / "trajectory.csv", float_format="%.6g")
        result.limits.to_csv(tmp / "box.csv", index=False, float_format="%.6g")
        scores.to_csv(tmp / "feature-scores.csv", float_format="%.6g")
        (tmp / "figures").mkdir()
        figures.append(
            save(
                fig_tradeoff(result.trajectory, result.chosen, rule),
                tmp / f"figures/tradeoff.{fmt}",
            )
        )
        stats = result.stats
        title = (
            f"Box {result.chosen} for {rule}: coverage {stats['coverage']:.2f}, density "
            f"{stats['density']:.2f} (base rate {result.positives / result.cases:.2f})"
        )
        figures.append(
            save(fig_box(result.limits, sweep.labels, title), tmp / f"figures/box.{fmt}")
        )
        figures.append(
            save(fig_feature_scores(scores, sweep.labels), tmp / f"figures/feature-scores.{fmt}")
        )
    figures = [target / p.relative_to(tmp) for p in figures]
    return DiscoveryReport(target, result, scores, sweep.labels, figures)


# --------------------------------------------------------------------------------------------
# click commands
# --------------------------------------------------------------------------------------------

_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(("png", "svg", "pdf")),
    default="png",
    show_default=True,
    help="Figure file format.",
)
_debug_option = click.option("--debug", is_flag=True, help="Show the full traceback on failure.")
_force_option = click.option(
    "--force", is_flag=True, help="Replace the analysis folder if it exists."
)


def _guard(debug: bool, action: Callable[[], Any]) -> Any:
    """Run ``action``; map errors to exit codes (:mod:`cstosim.commands.guard`)."""
    from cstosim.commands.guard import guard
    from cstosim.store.sweeps import SweepError

    return guard(debug, action, bad_input=(BadInput, SweepError))


def _command_line() -> list[str]:
    return ["cstosim", *sys.argv[1:]]


def _bar(quiet: bool) -> Any:
    """A rich progress bar over runs on stderr, or nothing; yields ``update(done, total)``."""
    from contextlib import contextmanager

    @contextmanager
    def bar() -> Any:
        if quiet:
            yield None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn("runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True)) as progress:
            task = progress.add_task("runs", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            yield update

    return bar()


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The sweep folder to write (it appears complete at the end; meanwhile the work is in "
    ".OUT.sweep-partial beside it).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a sweep that was stopped: run only the chunks not saved yet. The tables "
    "are identical to those of an uninterrupted sweep.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Start over: replace OUT (only a sweep folder) and discard an unfinished sweep.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes on this machine (or Dask workers with --dask local) "
    "[default: all cores]. Results do not depend on it.",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    default=None,
    help="Run the chunks on the Dask cluster with this scheduler (its workers need cstosim "
    "installed).",
)
@click.option(
    "--dask",
    "dask_mode",
    type=click.Choice(("local",)),
    default=None,
    help="local: start a Dask LocalCluster of --jobs workers here and run on it.",
)
@click.option(
    "--chunk-runs",
    type=click.IntRange(min=1),
    default=None,
    help="Runs (design points × replicates) per chunk [default: 4000, fewer for small sweeps "
    "so that every worker gets about 4]: the unit of work handed to a worker and of what a kill "
    "can lose. Fixed when a sweep starts.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; print only the folder.")
@_debug_option
def sweep(
    experiment: Path,
    out: Path,
    resume: bool,
    force: bool,
    jobs: int | None,
    scheduler: str | None,
    dask_mode: str | None,
    chunk_runs: int | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Run the design of EXPERIMENT (an experiment file) and write a sweep folder.

    Every design point (a set of factor values drawn by the experiment's sampler) is run for
    the experiment's replicates with the same root seed (common random numbers), and each run
    is reduced to the experiment's named outcomes. Work is cut into chunks of design points
    × replicates, saved as each finishes: killed at any moment, the same command with --resume
    loses at most the chunks in flight and ends with the same tables.

    \b
    The folder OUT holds:
      manifest.json       versions, git commit, seed, sampler, plan, command, sessions
      experiment.yaml     the experiment file; scenarios/ the resolved base scenarios
      design.parquet      design_point, then one column per factor (its value)
      sample.parquet      the sampler's unit-hypercube sample (for the analyses)
      outcomes.parquet    design_point, replicate, one column per outcome
      points.parquet      the design with each outcome's mean over replicates
    Then: `cstosim sensitivity OUT` and `cstosim discover OUT --outcome NAME`.

    \b
    Examples:
      cstosim sweep scenarios/experiments/armenia-exit.yaml --out results/sweeps/armenia
      cstosim sweep EXP.yaml --out DIR --resume --jobs 2
      cstosim sweep EXP.yaml --out DIR --dask local --jobs 4
      cstosim sweep EXP.yaml --out DIR --scheduler tcp://10.0.0.5:8786

    Exit codes: 0 success; 2 bad input (experiment errors, existing OUT, a sweep that cannot
    be resumed); 1 failure while running; 130 interrupted (finished chunks are kept).
    """
    if scheduler is not None and dask_mode is not None:
        click.echo("error: give --scheduler or --dask local, not both", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        click.echo(f"error: --scheduler: expected tcp://HOST:PORT, got {scheduler!r}", err=True)
        sys.exit(EXIT_BAD_INPUT)

    def action() -> None:
        from cstosim.engine.ensemble import default_jobs

        workers = jobs if jobs is not None else default_jobs()
        with _bar(quiet) as update:
            report = sweep_to_folder(
                experiment,
                out,
                resume=resume,
                force=force,
                jobs=workers,
                scheduler=scheduler,
                dask_local=dask_mode == "local",
                runs_per_chunk=chunk_runs,
                progress=update,
                command=_command_line(),
            )
        if quiet:
            click.echo(str(report.folder))
            return
        if report.chunks_run == 0 and resume:
            click.echo(f"sweep: {report.folder} is already complete; nothing to resume")
            return
        click.echo(
            f"{report.design_points} design points × {report.replicates} replicates in "
            f"{report.chunks} chunks ({report.chunks_run} run now on {report.runner}, "
            f"{report.wall_time_s:.1f} s)"
        )
        click.echo(f"sweep: {report.folder}")

    _guard(debug, action)


@click.command()
@click.argument("sweep_dir", type=click.Path(path_type=Path))
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    metavar="NAME",
    help="Analyse only this outcome (repeatable) [default: every outcome].",
)
@_format_option
@_force_option
@_debug_option
def sensitivity(
    sweep_dir: Path, outcomes: tuple[str, ...], fmt: str, force: bool, debug: bool
) -> None:
    """Sensitivity indices of every outcome of SWEEP_DIR (a sweep with a sobol or morris design).

    Sobol': first-order S1 (the share of the outcome's variance a factor explains alone) and
    total ST (alone and through interactions), with 95 % bootstrap confidence intervals.
    Morris: μ* (mean absolute elementary effect, on the unit-scaled factor) and σ (its spread:
    interactions or non-linearity). Each outcome's mean over replicates is analysed. The
    analysis is repeated on the first N/4, N/2 and all N base samples: indices that still move
    between N/2 and N need a larger sweep.

    \b
    Writes SWEEP_DIR/sensitivity/:
      indices.csv                     outcome, factor, n, S1, S1_conf, ST, ST_conf (or μ*, σ)
      figures/NAME.FMT                ranked bars with confidence intervals
      figures/NAME-convergence.FMT    the leading factors' indices at N/4, N/2, N
      analysis.json                   command, versions, time
    and prints the ranking of each outcome.

    Exit codes: 0 success; 2 bad input (not a complete sweep, wrong design, unknown outcome,
    existing folder without --force); 1 failure.
    """

    def action() -> None:
        report = sensitivity_of(sweep_dir, outcomes, fmt, force, _command_line())
        _print_sensitivity(report)
        click.echo(f"sensitivity: {report.folder}")

    _guard(debug, action)


def _print_sensitivity(report: SensitivityReport) -> None:
    from rich.console import Console
    from rich.table import Table

    from cstosim.analysis.sensitivity import ranked

    console = Console()
    for name, indices in report.indices.items():
        title = f"{report.labels.get(name, name)} ({name}), N = {int(indices.table['n'].max())}"
        table = Table(title=title, title_justify="left")
        table.add_column("factor")
        keys = (
            ("S1", "S1_conf", "ST", "ST_conf")
            if report.method == "sobol"
            else ("mu_star", "mu_star_conf", "sigma", "mu")
        )
        heads = ("S1", "± 95 %", "ST", "± 95 %") if report.method == "sobol" else keys
        for head in heads:
            table.add_column(head, justify="right")
        if indices.variance == 0.0:
            console.print(f"{title}: the outcome does not vary across the design; no indices")
            continue
        for row in ranked(indices).itertuples(index=False):
            values = [getattr(row, k) for k in keys]
            table.add_row(str(row.factor), *(f"{v:.3f}" for v in values))
        console.print(table)


@click.command()
@click.argument("sweep_dir", type=click.Path(path_type=Path))
@click.option("--outcome", required=True, metavar="NAME", help="The outcome to explain.")
@click.option(
    "--above",
    type=float,
    default=None,
    help="Cases of interest have the outcome above this value (for a non-binary outcome).",
)
@click.option(
    "--below",
    type=float,
    default=None,
    help="Cases of interest have the outcome below this value (for a non-binary outcome).",
)
@click.option(
    "--per",
    type=click.Choice(("run", "point")),
    default="run",
    show_default=True,
    help="run: each design point × replicate is a case (density = probability over runs); "
    "point: each design point, with the outcome's mean over replicates.",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Choose the densest box on the peeling trajectory that still covers this share of "
    "the cases of interest.",
)
@click.option(
    "--box", type=click.IntRange(min=0), default=None, help="Choose this box of the trajectory."
)
@click.option(
    "--peel-alpha",
    type=click.FloatRange(0.01, 0.5),
    default=0.05,
    show_default=True,
    help="Share of cases peeled off at each step.",
)
@_format_option
@_force_option
@_debug_option
def discover(
    sweep_dir: Path,
    outcome: str,
    above: float | None,
    below: float | None,
    per: str,
    min_coverage: float,
    box: int | None,
    peel_alpha: float,
    fmt: str,
    force: bool,
    debug: bool,
) -> None:
    """Scenario discovery in SWEEP_DIR: where in the factor space does OUTCOME happen?

    PRIM (EMA Workbench) peels the factor ranges down to a box in which the cases of
    interest are dense: a binary outcome equal to 1 (e.g. `reached` or `fracture`
    outcomes), or any outcome --above/--below a value. Along the peeling trajectory coverage
    (the share of all cases of interest inside the box) falls as density (the share of the
    box's cases that are of interest) rises; the chosen box and its limits are printed with
    the quasi-p value of each restriction. Feature scores (extra trees) of every factor for
    every outcome come as a heatmap.

    \b
    Writes SWEEP_DIR/discovery-OUTCOME/:
      trajectory.csv          box, coverage, density, mass, res_dim, n
      box.csv                 the chosen box: factor, min, max, quasi-p values, full range
      feature-scores.csv      factor × outcome
      figures/tradeoff.FMT    density against coverage, coloured by restricted dimensions
      figures/box.FMT         the box's limits within each factor's range
      figures/feature-scores.FMT   heatmap
      analysis.json           command, versions, rule, cases, chosen box

    \b
    Example:
      cstosim discover results/sweeps/armenia --outcome arm_frozen
      cstosim discover results/sweeps/armenia --outcome cohesion_end --below 0.6 --per point

    Exit codes: 0 success; 2 bad input (not a complete sweep, unknown outcome, a non-binary
    outcome without --above/--below, no case of interest); 1 failure.
    """

    def action() -> None:
        report = discover_in(
            sweep_dir,
            outcome,
            above=above,
            below=below,
            per=per,
            min_coverage=min_coverage,
            box=box,
            peel_alpha=peel_alpha,
            fmt=fmt,
            force=force,
            command=_command_line(),
        )
        _print_discovery(report)
        click.echo(f"discovery: {report.folder}")

    _guard(debug, action)


def _print_discovery(report: DiscoveryReport) -> None:
    from rich.console import Console
    from rich.table import Table

    prim = report.prim
    stats = prim.stats
    console = Console()
    console.print(
        f"{prim.rule}: {prim.positives} of {prim.cases} cases "
        f"(base rate {prim.positives / prim.cases:.3f}); box {prim.chosen} of "
        f"{len(prim.trajectory)}: coverage {stats['coverage']:.3f}, density "
        f"{stats['density']:.3f}, mass {stats['mass']:.3f}"
    )
    from cstosim.views.exploration import limit_texts

    table = Table(title=f"Limits of box {prim.chosen}", title_justify="left")
    for head in ("factor", "box", "full range", "qp"):
        table.add_column(head, justify="left" if head in ("factor", "box") else "right")
    for row in prim.limits.to_dict("records"):
        given = [v for v in (row["qp_low"], row["qp_high"]) if v == v]  # not NaN
        qp = min(given) if given else float("nan")
        inside, full = limit_texts(row)
        table.add_row(report.labels.get(row["factor"], row["factor"]), inside, full, f"{qp:.1e}")
    console.print(table)
    scores = report.scores
    top = scores.max(axis=1).sort_values(ascending=False).index[:5]
    console.print("Highest feature scores: " + ", ".join(report.labels.get(f, f) for f in top))


COMMANDS = (sweep, sensitivity, discover)
"""For ``cstosim.cli``: ``for command in COMMANDS: main.add_command(command)``."""
