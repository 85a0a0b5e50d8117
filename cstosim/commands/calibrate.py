"""``cstosim calibrate CALIBRATION.yaml`` and ``cstosim forecast SCENARIO --posterior DIR``.

Thin commands over :mod:`cstosim.analysis.calibration`, :mod:`cstosim.analysis.forecast` and
:mod:`cstosim.views.calibration` (docs/CALIBRATION.md §1). Exit codes: 0 success; 2 bad input
(located file errors, an existing output folder, a folder that is not a calibration); 1 a
failure while running (one line; ``--debug`` shows the traceback); 130 interrupted (a
calibration keeps its finished generations and resumes when run again).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def _guard(debug: bool, action: Callable[[], Any]) -> Any:
    from cstosim.analysis.calibration import CalibrationError
    from cstosim.commands.guard import guard

    resume = "finished generations are kept; run the same command again to resume"
    return guard(debug, action, bad_input=(CalibrationError,), interrupted=resume)


@click.command()
@click.argument("calibration_file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Results folder (default: results/calibration/NAME).",
)
@click.option("--force", is_flag=True, help="Replace an existing results folder.")
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=None,
    help="Worker processes (default: the file's `workers`).",
)
@click.option(
    "--dask",
    default=None,
    metavar="local|tcp://HOST:PORT",
    help="Run the particles on a Dask cluster instead of local processes.",
)
@click.option("--population", type=click.IntRange(2), default=None, help="Override the file's.")
@click.option("--generations", type=click.IntRange(1), default=None, help="Override the file's.")
@click.option(
    "--max-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after the generation that passes this wall time.",
)
@click.option("--no-predictive", is_flag=True, help="Skip the posterior predictive checks.")
@click.option("--no-plot", is_flag=True, help="Write no figures.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the results folder.")
@click.option("--debug", is_flag=True, help="Show the full traceback on failure.")
def calibrate(
    calibration_file: Path,
    out: Path | None,
    force: bool,
    workers: int | None,
    dask: str | None,
    population: int | None,
    generations: int | None,
    max_minutes: float | None,
    no_predictive: bool,
    no_plot: bool,
    quiet: bool,
    debug: bool,
) -> None:
    """Fit the calibration file's parameters to the record by ABC-SMC (pyabc).

    Priors are the ranges the scenarios declare; the distance is the mean Brier score of all
    their observations. Writes particles and weights of every generation, acceptance rates, the
    posterior summary, posterior predictive checks, figures and a manifest. A killed run resumes
    from its last finished generation when the same command is run again.
    """
    import logging

    from cstosim.analysis.calibration import calibrate as run_calibration
    from cstosim.language.calibration_file import load_calibration

    logging.getLogger("ABC").setLevel(logging.WARNING if quiet else logging.INFO)

    def action() -> None:
        spec = load_calibration(calibration_file)
        target = out if out is not None else Path("results") / "calibration" / spec.name
        finish = None
        if not no_plot:
            from cstosim.views.calibration import calibration_figures

            def finish(folder: Path) -> None:
                calibration_figures(folder)

        from cstosim.store.folder import target_lock

        with target_lock(target):  # a second calibration into the same folder stops at once
            done = run_calibration(
                calibration_file,
                target,
                force=force,
                workers=workers,
                dask=dask,
                generations=generations,
                population=population,
                max_minutes=max_minutes,
                predictive=not no_predictive,
                finish=finish,
                command=sys.argv,
                log=None if quiet else (lambda m: click.echo(m, err=True)),
            )
        if not quiet:
            pops = done.populations
            click.echo(pops.to_string(index=False, float_format="%.4g"))
            click.echo(
                done.parameters[
                    ["parameter", "scenario_value", "median", "q05", "q95", "width_ratio"]
                ].to_string(index=False, float_format="%.3g")
            )
            click.echo(f"stopped by {done.stopped} after {done.seconds:.0f} s")
        click.echo(str(done.folder))

    _guard(debug, action)


@click.command()
@click.argument("scenario_file", type=click.Path(path_type=Path))
@click.option(
    "--posterior",
    "posterior_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="A calibration results folder.",
)
@click.option("--until", required=True, metavar="YYYY-MM", help="Project to this month.")
@click.option(
    "--overlay",
    type=click.Path(path_type=Path),
    default=None,
    help="A file that `extends` SCENARIO_FILE with scheduled events (run instead).",
)
@click.option(
    "--draws",
    type=click.IntRange(1, 100_000),
    default=40,
    show_default=True,
    help="Parameter draws from the posterior.",
)
@click.option(
    "--replicates",
    type=click.IntRange(1, 100_000),
    default=25,
    show_default=True,
    help="Replicates per draw.",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=20231123, show_default=True)
@click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Results folder (default: results/forecast/SCENARIO-NAME/UNTIL).",
)
@click.option("--force", is_flag=True, help="Replace an existing results folder.")
@click.option("--no-plot", is_flag=True, help="Write no figures.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the results folder.")
@click.option("--debug", is_flag=True, help="Show the full traceback on failure.")
def forecast(
    scenario_file: Path,
    posterior_dir: Path,
    until: str,
    overlay: Path | None,
    draws: int,
    replicates: int,
    seed: int,
    workers: int,
    out: Path | None,
    force: bool,
    no_plot: bool,
    quiet: bool,
    debug: bool,
) -> None:
    """Project SCENARIO_FILE to --until with parameters drawn from a calibration's posterior.

    Writes the cohesion fan (cohesion.csv), each member's probability of each rung by month
    (rungs.csv), the draws (draws.csv), figures (fan.png, rungs.png) and a manifest.
    """

    def action() -> None:
        from cstosim.analysis.calibration import (
            CalibrationError,
            executor_for,
            read_posterior,
            versions,
        )
        from cstosim.analysis.forecast import forecast as run_forecast
        from cstosim.language.loader import load_scenario
        from cstosim.language.scenario import _check_year_month
        from cstosim.store.folder import check_target, staged_folder, target_lock

        try:
            _check_year_month(until)
        except ValueError as exc:
            raise CalibrationError(f"--until: {exc}") from None
        posterior = read_posterior(posterior_dir)
        base = load_scenario(scenario_file)
        run_file = scenario_file
        if overlay is not None:
            raw, _ = _read_extends(overlay)
            if raw is None or (overlay.parent / raw).resolve() != scenario_file.resolve():
                raise CalibrationError(
                    f"{overlay}: an overlay must `extends` {scenario_file} (it names {raw!r})"
                )
            run_file = overlay
        scenario = load_scenario(run_file)
        target = out if out is not None else (Path("results") / "forecast" / scenario.name / until)
        check_target(target, force)
        started = dt.datetime.now(dt.UTC)
        with target_lock(target):  # held from the first draw to the rename
            with executor_for(workers) as executor:
                result = run_forecast(
                    scenario, posterior, until, draws, replicates, seed, executor,
                    as_name=base.name,
                )  # fmt: skip
            with staged_folder(target, force) as tmp:
                result.cohesion.to_csv(tmp / "cohesion.csv", index=False)
                result.rungs.to_csv(tmp / "rungs.csv", index=False)
                result.draws.to_csv(tmp / "draws.csv", index=False)
                shutil.copy2(run_file, tmp / Path(run_file).name)
                manifest = {
                    "format": "cstosim-forecast",
                    "format_version": 1,
                    "scenario": scenario.name,
                    "scenario_file": str(scenario_file),
                    "overlay": str(overlay) if overlay is not None else None,
                    "posterior": str(posterior_dir),
                    "forecast_from": f"{base.calendar.end}-01",
                    "until": until,
                    "draws": draws,
                    "replicates": replicates,
                    "seed": seed,
                    "command": sys.argv,
                    "started": started.isoformat(timespec="seconds"),
                    "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "versions": versions(),
                }
                (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
                if not no_plot:
                    from cstosim.views.calibration import forecast_figures

                    forecast_figures(tmp)
        if not quiet:
            last = result.rungs[result.rungs["date"] == result.rungs["date"].max()]
            table = last.pivot_table(
                index="member", columns="engagement", values="probability", fill_value=0.0
            )
            click.echo(f"{until}: probability of each rung ({draws} draws × {replicates})")
            click.echo(table.to_string(float_format="%.2f"))
        click.echo(str(target))

    _guard(debug, action)


def _read_extends(path: Path) -> tuple[str | None, Any]:
    from cstosim.language.yamlio import load_located

    data, locs = load_located(path)
    value = data.get("extends") if isinstance(data, dict) else None
    return (str(value) if value is not None else None), locs
