"""The ``cstosim`` command: validate scenarios, print the schema, run, plot, compare and score.

Exit codes (:mod:`cstosim.commands.guard`): 0 success; 2 bad input (invalid scenario, missing
file, bad option, an output folder that exists or is busy, a damaged results folder); 1 a failure
while running (one line; ``--debug`` shows the traceback); 130 Ctrl-C; 143 SIGTERM.

Start-up is kept short (``cstosim --help``, ``cstosim validate``): this module imports only
click and the runner's defaults at import time; pandas, NumPy, Mesa, pyarrow and matplotlib are
imported inside the commands that need them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click

from cstosim import __version__
from cstosim.commands.guard import Main
from cstosim.engine.defaults import DEFAULT_ENGINE, DEFAULT_REPLICATES, DEFAULT_SEED, ENGINES
from cstosim.exits import EXIT_BAD_INPUT


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cstosim")
def main() -> None:
    """Simulate the cohesion of a military alliance from a scenario file.

    \b
    Typical use:
      cstosim validate scenarios/*.yaml      check scenario files
      cstosim run scenarios/csto-2022-2023.yaml   run an ensemble, write results and figures
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a value before checking, e.g. --set parameters.alignment_noise=0.02.",
)
def validate(files: tuple[Path, ...], sets: tuple[str, ...]) -> None:
    """Check scenario FILES; print "ok" per valid file or every problem found.

    Each problem is printed as file:line:column: field.path: message. Exits 0 when every file
    is valid and 2 otherwise.
    """
    from cstosim.language.loader import load_scenario
    from cstosim.language.yamlio import ScenarioError, escape

    failed = False
    for file in files:
        try:
            load_scenario(file, sets)
        except ScenarioError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
        except Exception as exc:  # never a traceback: a bug in the checker is still one line
            failed = True
            message = f"{file}:1:1: internal error while checking ({type(exc).__name__}: {exc})"
            message = escape(message.replace("\n", " "))
            click.echo(message, err=True)
        else:
            click.echo(f"{escape(str(file))}: ok")
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.option("--indent", default=2, show_default=True, help="Indentation of the JSON output.")
@click.option(
    "--experiment",
    is_flag=True,
    help="The schema of experiment files (cstosim sweep) instead of scenario files.",
)
def schema(indent: int, experiment: bool) -> None:
    """Print the JSON Schema of scenario files (for editors and standard validators).

    \b
    cstosim schema > docs/scenario.schema.json
    cstosim schema --experiment > docs/experiment.schema.json
    """
    if experiment:
        from cstosim.language.experiment import json_schema
    else:
        from cstosim.language.scenario import json_schema

    click.echo(json.dumps(json_schema(), indent=indent))


# --------------------------------------------------------------------------------------------
# run, plot, compare (ensembles, results folders and figures; see results/README.md)
# --------------------------------------------------------------------------------------------

_FORMATS = ("png", "svg", "pdf")
_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="png",
    show_default=True,
    help="Figure file format.",
)
_debug_option = click.option("--debug", is_flag=True, help="Show the full traceback on failure.")


def _run_options(func: Any) -> Any:
    """Options shared by ``run`` and ``compare``."""
    options = [
        click.option(
            "-n",
            "--replicates",
            type=click.IntRange(min=1),
            default=None,
            help=f"Number of replicates (Monte Carlo runs) [default: {DEFAULT_REPLICATES}].",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=None,
            help=f"Root seed; replicate k uses SeedSequence(seed).spawn(k+1)[k], so it "
            f"is the same for any --replicates and --jobs [default: "
            f"{DEFAULT_SEED}].",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            help="Worker processes [default: all cores]. Results do not depend on it.",
        ),
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default=None,
            help="vector: all replicates of a chunk at once as arrays, the same results as the "
            "Mesa model replicate for replicate (fast); mesa: the reference Mesa "
            f"AllianceModel, one replicate at a time [default: {DEFAULT_ENGINE}].",
        ),
        click.option(
            "--until",
            metavar="YYYY-MM",
            default=None,
            help="Project past the calendar end to this month (no events after the last one).",
        ),
        click.option(
            "-o",
            "--out",
            type=click.Path(path_type=Path),
            default=None,
            help="Output folder [default: results/<scenario-name>/<UTC timestamp>/].",
        ),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="PATH=VALUE",
            help="Override a scenario value, validated like the file; repeatable, "
            "e.g. --set members.ALP.exit_cost=0.6.",
        ),
        click.option(
            "--force",
            is_flag=True,
            help="Replace the output folder if it exists (only a results folder).",
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            help="No progress bar and no table; print only the output folder.",
        ),
        click.option("--no-plot", is_flag=True, help="Do not draw the figures."),
        _format_option,
        _debug_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


class _BadInput(Exception):
    """A problem with what the user asked for (exit 2), found by a command itself."""


def _guard(debug: bool, action: Any) -> Any:
    """Run ``action``; map errors to exit codes (:mod:`cstosim.commands.guard`)."""
    from cstosim.analysis.compare import CompareError
    from cstosim.commands.guard import guard
    from cstosim.runs import InputError

    return guard(debug, action, bad_input=(InputError, CompareError, _BadInput))


def _default_out(*names: str) -> Path:
    import datetime as dt

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = Path("results", *names, stamp)
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{stamp}-{n}")
    return out


@dataclasses.dataclass
class _RunOptions:
    """The options shared by ``run`` and ``compare``, as click passes them."""

    replicates: int | None
    seed: int | None
    jobs: int | None
    engine: str | None
    until: str | None
    out: Path | None
    sets: tuple[str, ...]
    force: bool
    quiet: bool
    no_plot: bool
    fmt: str
    debug: bool

    def request(self, file: Path | None, sets: Any) -> Any:
        """A :class:`cstosim.runs.RunRequest` for one scenario file."""
        from cstosim.engine.ensemble import default_jobs
        from cstosim.runs import RunRequest

        return RunRequest(
            replicates=self.replicates if self.replicates is not None else DEFAULT_REPLICATES,
            seed=self.seed if self.seed is not None else DEFAULT_SEED,
            jobs=self.jobs if self.jobs is not None else default_jobs(),
            until=self.until,
            engine=self.engine if self.engine is not None else DEFAULT_ENGINE,
            figure_format=None if self.no_plot else self.fmt,
            quiet=self.quiet,
            command=["cstosim", *sys.argv[1:]],
            scenario_file=str(file) if file is not None else None,
            sets=list(sets),
        )


def _load_for_run(file: Path, sets: Any, until: str | None) -> Any:
    from cstosim.language.loader import load_scenario
    from cstosim.runs import check_until

    scenario = load_scenario(file, sets)
    check_until(scenario, until)
    return scenario


def _print_run_table(folder: Path) -> None:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from cstosim.store.results import SUMMARY, final_table

    summary = pd.read_csv(
        folder / SUMMARY, parse_dates=["date"], keep_default_na=False, na_values={"value": [""]}
    )
    summary["member"] = summary["member"].replace("", pd.NA)
    final = final_table(summary)
    when = final["date"].strftime("%Y-%m")
    console = Console()
    cohesion = Table(title=f"Cohesion in {when} across replicates", title_justify="left")
    stats = ("q05", "q25", "median", "q75", "q95")
    for name in stats:
        cohesion.add_column(name, justify="right")
    cohesion.add_row(*(f"{final['cohesion'].get(s, float('nan')):.3f}" for s in stats))
    console.print(cohesion)
    members = Table(title=f"Probability of each member's state in {when}", title_justify="left")
    for name in ("member", "disengaged", "frozen", "exited", "ever exited"):
        members.add_column(name, justify="left" if name == "member" else "right")
    rank = {code: i for i, code in enumerate(_member_order(folder / "members.parquet"))}
    for code, p in sorted(final["members"].items(), key=lambda item: rank.get(item[0], 0)):
        members.add_row(
            code,
            *(
                f"{p.get(k, 0.0):.2f}"
                for k in ("p_disengaged", "p_frozen", "p_exited", "p_ever_exited")
            ),
        )
    console.print(members)


def _member_order(path: Path) -> list[str]:
    """Members in the order of the table, from its first rows only (the file may be huge)."""
    import pyarrow.parquet as pq

    batch = next(pq.ParquetFile(path).iter_batches(batch_size=1 << 16, columns=["member"]), None)
    return [] if batch is None else list(dict.fromkeys(batch.column(0).to_pylist()))


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@_run_options
def run(scenario: Path, **options: Any) -> None:
    """Run SCENARIO as a Monte Carlo ensemble and write a results folder.

    \b
    The folder (written completely or not at all) holds:
      manifest.json           versions, git commit, seeds, command line, times, hashes
      scenario.resolved.yaml  the scenario after extends, overrides and --set
      model.parquet           one row per replicate and month: cohesion and other metrics
      members.parquet         one row per replicate, month and member
      events.parquet          one row per replicate and event (scenario and endogenous)
      summary.csv             per month: quantiles of each metric, state probabilities
      figures/                cohesion, alignment, engagement, exit (see `cstosim plot`)
    Every column is described in results/README.md. Tables are written chunk by chunk as
    replicates finish, so memory does not grow with --replicates. At the end a table shows
    the final cohesion quantiles and each member's probability of being disengaged, frozen
    or exited.

    Exit codes: 0 success; 2 bad input (scenario errors, missing file, bad --set or --until,
    existing output folder); 1 failure while running; 130 interrupted (nothing written).
    """

    opts = _RunOptions(**options)

    def action() -> None:
        from cstosim.runs import run_to_folder
        from cstosim.store.results import check_target

        loaded = _load_for_run(scenario, opts.sets, opts.until)
        target = opts.out if opts.out is not None else _default_out(loaded.name)
        check_target(target, opts.force)
        run_to_folder(target, loaded, opts.request(scenario, opts.sets), opts.force)
        if not opts.quiet:
            _print_run_table(target)
            click.echo(f"results: {target}")
        else:
            click.echo(str(target))

    _guard(opts.debug, action)


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@_format_option
@_debug_option
def plot(results_dir: Path, fmt: str, debug: bool) -> None:
    """Draw the figures of RESULTS_DIR (a folder written by `cstosim run`) from saved results.

    \b
    Writes into RESULTS_DIR/figures/:
      cohesion.FMT    median cohesion with 50 % and 90 % bands; scenario events (solid) and
                      observations (dashed) marked and labelled; caption with seed and replicates
      alignment.FMT   each member's alignment, median with bands (small multiples)
      engagement.FMT  each member's engagement-state probabilities over time (stacked areas)
      exit.FMT        cumulative probability of exit and of freezing per member
    A folder written by `cstosim compare` gets its difference and members figures redrawn.
    """

    def action() -> None:
        from cstosim.analysis.compare import is_comparison_folder
        from cstosim.views.comparison import replot_comparison
        from cstosim.views.plots import plot_results

        draw = replot_comparison if is_comparison_folder(results_dir) else plot_results
        for path in draw(results_dir, fmt):
            click.echo(str(path))

    _guard(debug, action)


@main.command()
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@_run_options
@click.option(
    "--set-a",
    "sets_a",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a value in scenario A only (repeatable).",
)
@click.option(
    "--set-b",
    "sets_b",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a value in scenario B only (repeatable).",
)
def compare(
    a: Path, b: Path, sets_a: tuple[str, ...], sets_b: tuple[str, ...], **options: Any
) -> None:
    """Compare B against A with common random numbers (paired replicates).

    A and B are scenario files (both are run with the same seed per replicate) or results
    folders of `cstosim run` made with equal --seed and --replicates (an error otherwise); a
    scenario file next to a results folder is run with that folder's seed, replicates,
    --until and --engine unless given. --set changes both scenarios, --set-a and --set-b one
    of them.

    \b
    Example ("what if Armenia had been answered in 2022?"):
      cstosim compare scenarios/csto-2022-2023.yaml scenarios/csto-cf-armenia-answered.yaml

    \b
    The comparison folder [default: results/compare/<A>-vs-<B>/<UTC timestamp>/] holds:
      manifest.json     provenance of both sides and of this command
      difference.csv    per month, quantiles of the paired difference B − A of every metric
      members.csv       each member's probability of having exited / frozen, in A and in B
      figures/          difference (cohesion B − A with bands), members (exit and freeze)
      a/, b/            the two results folders, when the scenarios were run here
    A table shows the final paired difference and each member's probabilities.
    Exit codes as for `cstosim run`.
    """

    opts = _RunOptions(**options)

    def action() -> None:
        _compare(a, b, opts, sets_a, sets_b)

    _guard(opts.debug, action)


def _compare(
    a: Path, b: Path, opts: _RunOptions, sets_a: tuple[str, ...], sets_b: tuple[str, ...]
) -> None:
    from cstosim.analysis.compare import compare_results, write_comparison
    from cstosim.runs import InputError, produce
    from cstosim.store.results import (
        check_target,
        read_manifest,
        read_results,
        staged_folder,
        utc_now,
    )
    from cstosim.views.comparison import plot_comparison

    started = utc_now()
    sides: list[tuple[str, Path, tuple[str, ...]]] = [
        ("a", a, (*opts.sets, *sets_a)),
        ("b", b, (*opts.sets, *sets_b)),
    ]
    folders = {name: path for name, path, _ in sides if path.is_dir()}
    for name, path, extra in sides:
        if path.is_dir() and extra:
            raise InputError(f"--set cannot change results folder {path} ({name.upper()})")
    # a scenario next to a results folder takes that folder's seed, replicates, until, engine
    if folders:
        manifest = read_manifest(next(iter(folders.values())))
        opts = dataclasses.replace(
            opts,
            replicates=opts.replicates or manifest.get("replicates"),
            seed=opts.seed if opts.seed is not None else manifest.get("root_seed"),
            until=opts.until or manifest.get("until"),
            engine=opts.engine or manifest.get("engine"),
        )
    scenarios = {
        name: _load_for_run(path, extra, opts.until)
        for name, path, extra in sides
        if name not in folders
    }
    names = [
        scenarios[n].name if n in scenarios else read_manifest(folders[n]).get("scenario_name", n)
        for n in ("a", "b")
    ]
    target = opts.out or _default_out("compare", f"{names[0]}-vs-{names[1]}")
    check_target(target, opts.force)
    with staged_folder(target, opts.force) as tmp:
        results = {}
        for name, path, extra in sides:
            if name in folders:
                results[name] = read_results(path)
                continue
            request = opts.request(path, extra)
            request = dataclasses.replace(request, label=f"{name.upper()}: {path.name}")
            (tmp / name).mkdir()
            produce(tmp / name, scenarios[name], request)
            results[name] = read_results(tmp / name)
        comparison = compare_results(results["a"], results["b"])
        write_comparison(tmp, comparison, ["cstosim", *sys.argv[1:]], started)
        if not opts.no_plot:
            plot_comparison(tmp, comparison, opts.fmt)
    if opts.quiet:
        click.echo(str(target))
        return
    _print_compare_table(comparison, names)
    click.echo(f"comparison: {target}")


def _print_compare_table(comparison: Any, names: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from cstosim.analysis.compare import final_rows

    final = final_rows(comparison)
    when = final["date"].strftime("%Y-%m")
    d = final["difference"]
    console = Console()
    top = Table(title=f"Cohesion in {when}: A = {names[0]}, B = {names[1]}", title_justify="left")
    for name in ("median A", "median B", "paired B − A: median", "q05", "q95"):
        top.add_column(name, justify="right")
    top.add_row(
        f"{final['a']:.3f}",
        f"{final['b']:.3f}",
        f"{d['median']:+.3f}",
        f"{d['q05']:+.3f}",
        f"{d['q95']:+.3f}",
    )
    console.print(top)
    table = Table(title=f"Probability by {when} (A → B)", title_justify="left")
    for name in ("member", "exited A", "exited B", "frozen/exited A", "frozen/exited B"):
        table.add_column(name, justify="left" if name == "member" else "right")
    m = comparison.members
    for code in dict.fromkeys(m["member"]):
        rows = m[m["member"] == code].set_index("state")
        cells = []
        for state in ("exited", "frozen or exited"):
            cells += [f"{rows.loc[state, 'p_a']:.2f}", f"{rows.loc[state, 'p_b']:.2f}"]
        table.add_row(str(code), *cells)
    console.print(table)


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace score.csv and score.json if they exist.")
@_debug_option
def score(results_dir: Path, force: bool, debug: bool) -> None:
    """Score RESULTS_DIR against the observations of its scenario.

    \b
    For each observation (what members actually did, never fed to the model): the share of
    replicates in which it holds, with its Brier and log score, beside a naive baseline in
    which everything stays as at the start (docs/CALIBRATION.md, cstosim/scoring.py).
    Writes RESULTS_DIR/score.csv (one row per observation) and score.json (totals) and
    prints the table. Existing score files are kept unless --force.
    """

    def action() -> None:
        from cstosim.analysis.scoring import format_report, score_results, write_score

        report = score_results(results_dir)
        try:
            paths = write_score(report, results_dir, overwrite=force)
        except FileExistsError:
            raise _BadInput(
                f"{results_dir} already has score files; pass --force to replace them"
            ) from None
        click.echo(format_report(report))
        for path in paths:
            click.echo(f"wrote {path}", err=True)

    _guard(debug, action)


# ------------------------------------------------------------------------------------------------
# commands defined in cstosim.commands (each module imports only click at start-up)
# ------------------------------------------------------------------------------------------------


def _register() -> None:
    from cstosim.commands.app import app
    from cstosim.commands.calibrate import calibrate, forecast
    from cstosim.commands.explore import discover, sensitivity, sweep

    for command in (sweep, sensitivity, discover, calibrate, forecast, app):
        main.add_command(command)


_register()
