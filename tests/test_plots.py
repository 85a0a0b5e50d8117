"""Figures: files of the requested format, label layout without collisions, colours."""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
import pytest

from cstosim.language.loader import load_scenario
from cstosim.runs import RunRequest, run_to_folder
from cstosim.views import plots

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("plots") / "run"
    request = RunRequest(replicates=5, seed=3, jobs=1, figure_format=None, quiet=True)
    run_to_folder(target, load_scenario(EXAMPLE), request)
    return target


def _check(path: Path, fmt: str) -> None:
    data = path.read_bytes()
    assert len(data) > 1000
    if fmt == "svg":
        assert b"<svg" in data[:2000]
    else:
        assert data.startswith(MAGIC[fmt])


def test_plot_results_writes_four_figures(folder: Path) -> None:
    paths = plots.plot_results(folder, "png")
    assert [p.name for p in paths] == [f"{n}.png" for n in plots.FIGURE_NAMES]
    for path in paths:
        _check(path, "png")
    assert not list((folder / "figures").glob(".*"))  # no partial files left


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_each_format_has_its_magic(folder: Path, fmt: str, tmp_path: Path) -> None:
    path = plots.save(plots.fig_exit(plots.read_results(folder)), tmp_path / f"exit.{fmt}")
    _check(path, fmt)


def test_unknown_format_is_refused(folder: Path) -> None:
    with pytest.raises(ValueError, match="unknown figure format"):
        plots.plot_results(folder, "gif")
    with pytest.raises(ValueError, match="unknown figure format"):
        plots.save(plots.fig_exit(plots.read_results(folder)), folder / "x.gif")


def test_markers_include_events_and_observations() -> None:
    scenario = load_scenario(EXAMPLE)
    markers = plots.scenario_markers(scenario)
    assert sum(m.kind == "driver" for m in markers) == len(scenario.events)
    assert sum(m.kind == "observation" for m in markers) == len(scenario.observations)
    assert [m.date for m in markers] == sorted(m.date for m in markers)
    assert markers[0].date == pd.Timestamp("2020-03-01")  # a bare month is its first day


def test_crowded_labels_never_overlap() -> None:
    day = pd.Timestamp("2021-06-01")
    markers = [
        plots.Marker(
            day + pd.Timedelta(days=i),
            f"Event number {i} with a long label",
            "driver" if i % 2 else "observation",
        )
        for i in range(8)
    ]
    markers.append(plots.Marker(pd.Timestamp("2022-12-01"), "At the right edge", "driver"))
    x0 = float(mdates.date2num(pd.Timestamp("2020-01-01")))
    x1 = float(mdates.date2num(pd.Timestamp("2022-12-31")))
    placed = plots.layout_labels(markers, x0, x1, width_in=7.0)
    assert len({p.row for p in placed[:8]}) == 8  # same week: one row each
    assert placed[-1].align == "right"
    per_inch = (x1 - x0) / 7.0
    spans: dict[int, list[tuple[float, float]]] = {}
    for p in placed:
        x = float(mdates.date2num(p.marker.date))
        w = plots._text_width_in(p.text, plots.LABEL_SIZE) * per_inch
        span = (x, x + w) if p.align == "left" else (x - w, x)
        for a, b in spans.get(p.row, []):
            assert span[1] <= a or b <= span[0]
        spans.setdefault(p.row, []).append(span)


def test_short_labels() -> None:
    assert plots.short_label("Short") == "Short"
    long = plots.short_label("A very long label that goes on and on about the alliance's woes")
    assert len(long) <= plots.LABEL_CHARS and long.endswith("…")


def test_member_colours_are_stable_and_distinct() -> None:
    codes = [f"M{i:02d}" for i in range(10)]
    colours = plots.member_colours(codes)
    assert colours == plots.member_colours(codes)
    assert len({colours[c] for c in codes}) == 10  # colour or line style tells them apart
    assert colours["M00"][0] == plots.OKABE_ITO[0]
    assert colours["M08"] == (plots.OKABE_ITO[0], "--")
