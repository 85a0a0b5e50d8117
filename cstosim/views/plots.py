"""Figures from a saved results folder (never from a live run).

``plot_results(folder, fmt)`` writes four figures into ``folder/figures/``:

1. ``cohesion``: median cohesion with 50 % and 90 % bands over time; every scenario event
   (driver) as a solid vertical line and every observation as a dashed one, each with a short
   label in a strip above the axes (labels are staggered over as many rows as needed so that
   none overlap); a caption with scenario, replicates and seed.
2. ``alignment``: small multiples of each member's alignment (median, 50 % and 90 % bands).
3. ``engagement``: each member's engagement-state probabilities over time (stacked areas).
4. ``exit``: cumulative probability of exit and of freezing (frozen or exited at some month up
   to this one) per member.

Colours: the Okabe–Ito palette (colour-blind safe) gives every member one colour, in scenario
order, in every figure; engagement states use an ordinal cividis ramp. Figures are built on
``matplotlib.figure.Figure`` (Agg), without pyplot or global state.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.textpath import text_to_path

from cstosim import __version__
from cstosim.store.results import FIGURES, Results, read_results

if TYPE_CHECKING:
    from cstosim.language.scenario import Scenario

FORMATS = ("png", "svg", "pdf")
FIGURE_NAMES = ("cohesion", "alignment", "engagement", "exit")

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: weak on white)
)
LINESTYLES = ("-", "--", "-.", ":")
STATE_COLOURS = {
    "active": "#FDEA45",
    "disengaged": "#A59C74",
    "frozen": "#575C6D",
    "exited": "#00204D",
    "absent": "#E5E5E5",
}
DRIVER_COLOUR = "#4D4D4D"
OBSERVATION_COLOUR = "#CC79A7"

WIDTH = 8.0  # inches: fits a two-column page at 85 %
_RC: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
    "svg.fonttype": "path",
}
LABEL_SIZE = 6.5


def style() -> Any:
    """A context in which figures get cstosim's fonts and sizes (rc parameters)."""
    rc: Any = _RC
    return matplotlib.rc_context(rc)


LABEL_CHARS = 34


def member_colours(codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``code -> (colour, linestyle)``; the same order gives the same colours in every figure."""
    n = len(OKABE_ITO)
    return {
        code: (OKABE_ITO[i % n], LINESTYLES[(i // n) % len(LINESTYLES)])
        for i, code in enumerate(codes)
    }


# --------------------------------------------------------------------------------------------
# Markers for events and observations, labelled in a strip above the axes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """A dated vertical marker: a driver (scenario event) or an observation."""

    date: pd.Timestamp
    label: str
    kind: str  # "driver" or "observation"


def _date(value: str) -> pd.Timestamp:
    return pd.Timestamp(value if len(value) == 10 else f"{value}-01")


def scenario_markers(scenario: Scenario) -> list[Marker]:
    """Every event (driver) and every observation of ``scenario``, in date order."""
    markers = [Marker(_date(e.date), e.label, "driver") for e in scenario.events]
    markers += [
        Marker(_date(o.date), o.label, "observation") for o in getattr(scenario, "observations", [])
    ]
    return sorted(markers, key=lambda m: (m.date, m.kind))


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else textwrap.shorten(text, limit, placeholder="…")


def _text_width_in(text: str, size: float, italic: bool = False) -> float:
    font = FontProperties(style="italic" if italic else "normal", size=size)
    width, _, _ = text_to_path.get_text_width_height_descent(text, font, ismath=False)
    return float(width) / 72.0


@dataclass(frozen=True)
class _Placed:
    marker: Marker
    text: str
    row: int
    align: str  # "left" or "right"


def layout_labels(
    markers: Sequence[Marker], x0: float, x1: float, width_in: float, max_rows: int = 14
) -> list[_Placed]:
    """Give each label a row so that no two labels overlap (greedy, in date order).

    ``x0``/``x1`` are the axis limits in Matplotlib date units, ``width_in`` the axis width in
    inches. A label starts at its marker and runs right, or ends at it near the right edge.
    """
    per_inch = (x1 - x0) / width_in
    gap = 0.06 * per_inch
    rows: list[list[tuple[float, float]]] = []
    placed = []
    for marker in markers:
        x = float(mdates.date2num(marker.date))
        text = short_label(marker.label)
        italic = marker.kind == "observation"
        w = (_text_width_in(text, LABEL_SIZE, italic) + 0.04) * per_inch
        align = "left" if x + w <= x1 else "right"
        start, stop = (x, x + w) if align == "left" else (x - w, x)
        row = 0
        while row < len(rows) and any(start < b + gap and a < stop + gap for a, b in rows[row]):
            row += 1
        if row == max_rows:  # pragma: no cover - extremely crowded timelines
            row = min(range(max_rows), key=lambda r: len(rows[r]))
        if row == len(rows):
            rows.append([])
        rows[row].append((start, stop))
        placed.append(_Placed(marker, text, row, align))
    return placed


ROW_IN = 0.15


def draw_markers(
    fig: Figure, ax: Axes, strip: Axes, placed: Sequence[_Placed], label_axes: Iterable[Axes] = ()
) -> None:
    """Vertical lines in ``ax`` (and faint ones in ``label_axes``), labels in ``strip``."""
    nrows = max((p.row for p in placed), default=-1) + 1
    strip.set_ylim(0, max(nrows, 1))
    strip.axis("off")
    for p in placed:
        x = mdates.date2num(p.marker.date)
        driver = p.marker.kind == "driver"
        colour = DRIVER_COLOUR if driver else OBSERVATION_COLOUR
        dash = "-" if driver else (0, (3, 2))
        ax.axvline(x, color=colour, lw=0.6, ls=dash, alpha=0.7, zorder=1)
        for other in label_axes:
            other.axvline(x, color=colour, lw=0.4, ls=dash, alpha=0.35, zorder=1)
        y = p.row + 0.5
        strip.plot([x, x], [0, y], color=colour, lw=0.5, ls=dash, alpha=0.7, clip_on=False)
        strip.plot(
            [x],
            [0],
            marker="v" if driver else "D",
            ms=3.2,
            clip_on=False,
            color=colour,
            markerfacecolor=colour if driver else "white",
            mew=0.8,
        )
        offset = 0.03 * (1 if p.align == "left" else -1)
        strip.annotate(
            p.text,
            (x, y),
            xytext=(offset * 72, 0),
            textcoords="offset points",
            ha=p.align,
            va="center",
            fontsize=LABEL_SIZE,
            color="#222222" if driver else "#7A3E63",
            style="normal" if driver else "italic",
            annotation_clip=False,
            # a white box hides the connectors of later markers that pass behind the label
            bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none"},
            zorder=3,
        )


def _marker_legend(markers: Sequence[Marker]) -> list[Line2D]:
    handles = []
    if any(m.kind == "driver" for m in markers):
        handles.append(
            Line2D(
                [],
                [],
                color=DRIVER_COLOUR,
                lw=0.8,
                marker="v",
                ms=4,
                label="scenario event (driver)",
            )
        )
    if any(m.kind == "observation" for m in markers):
        handles.append(
            Line2D(
                [],
                [],
                color=OBSERVATION_COLOUR,
                lw=0.8,
                ls=(0, (3, 2)),
                marker="D",
                ms=3.5,
                markerfacecolor="white",
                label="observation (not fed to the model)",
            )
        )
    return handles


def _format_dates(ax: Axes, small: bool = False) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7 if small else 10)
    locator.intervald[mdates.MONTHLY] = [1, 2, 3, 4, 6, 12]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def caption(results: Results, extra: str = "") -> str:
    m = results.manifest
    s = results.scenario
    until = f", projected to {m['until']}" if m.get("until") else ""
    text = (
        f"Scenario {s.name}: {s.title}{until}. {m['replicates']} replicates, root seed "
        f"{m['root_seed']}; cstosim {m.get('cstosim_version', '?')}."
    )
    return f"{text} {extra}".strip()


def timeline_figure(
    markers: Sequence[Marker], dates: pd.Series, height_in: float = 3.4
) -> tuple[Figure, Axes, Axes, list[_Placed]]:
    """A figure with one main time axis and a label strip above it sized to fit every label."""
    left, right, bottom, top_pad = 0.75, 0.25, 1.2, 0.1
    axis_w = WIDTH - left - right
    start, end = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    span = max((end - start).days, 31)
    x0 = float(mdates.date2num(start - pd.Timedelta(days=span * 0.01)))
    x1 = float(mdates.date2num(end + pd.Timedelta(days=span * 0.01)))
    inside = [m for m in markers if x0 <= mdates.date2num(m.date) <= x1]
    placed = layout_labels(inside, x0, x1, axis_w)
    nrows = max((p.row for p in placed), default=-1) + 1
    strip_h = max(nrows, 1) * ROW_IN + 0.05
    total_h = bottom + height_in + strip_h + top_pad
    fig = Figure(figsize=(WIDTH, total_h))
    ax = fig.add_axes((left / WIDTH, bottom / total_h, axis_w / WIDTH, height_in / total_h))
    strip = fig.add_axes(
        (left / WIDTH, (bottom + height_in) / total_h, axis_w / WIDTH, strip_h / total_h), sharex=ax
    )
    ax.set_xlim(x0, x1)
    _format_dates(ax)
    return fig, ax, strip, placed


def _bands(
    ax: Axes, x: Any, q: pd.DataFrame, colour: str, label: str | None = None, linestyle: str = "-"
) -> None:
    ax.fill_between(
        x, q["q05"], q["q95"], color=colour, alpha=0.15, lw=0, label="90 % band" if label else None
    )
    ax.fill_between(
        x, q["q25"], q["q75"], color=colour, alpha=0.35, lw=0, label="50 % band" if label else None
    )
    ax.plot(x, q["median"], color=colour, lw=1.4, ls=linestyle, label=label)


def _stats(summary: pd.DataFrame, variable: str, member: str | None = None) -> pd.DataFrame:
    rows = summary[summary["variable"] == variable]
    rows = rows[rows["member"].isna()] if member is None else rows[rows["member"] == member]
    wide = rows.drop_duplicates(["date", "statistic"]).set_index(["date", "statistic"])["value"]
    return wide.unstack("statistic").sort_index()


def fig_cohesion(results: Results) -> Figure:
    markers = scenario_markers(results.scenario)
    q = _stats(results.summary, "cohesion")
    with style():
        fig, ax, strip, placed = timeline_figure(markers, q.index.to_series())
        _bands(ax, q.index, q, OKABE_ITO[0], label="median")
        draw_markers(fig, ax, strip, placed)
        ax.set_ylabel("cohesion index (0–1)")
        ax.set_ylim(0, 1.02)
        ax.grid(axis="y", color="#DDDDDD", lw=0.5)
        handles, _ = ax.get_legend_handles_labels()
        height = fig.get_figheight()
        fig.legend(
            handles=handles + _marker_legend(markers),
            loc="lower left",
            frameon=False,
            ncols=5,
            bbox_to_anchor=(0.7 / WIDTH, 0.42 / height),
            borderaxespad=0,
        )
        _caption(
            fig, caption(results, "Cohesion: median with 50 % and 90 % bands across replicates.")
        )
    return fig


def _grid(
    n: int,
    panel_w: float = 2.5,
    panel_h: float = 1.7,
    ncols: int = 3,
    top: float = 0.3,
    bottom: float = 0.9,
) -> tuple[Figure, list[Axes]]:
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    width = max(WIDTH, ncols * panel_w + 0.9)
    height = nrows * panel_h + top + bottom
    fig = Figure(figsize=(width, height))
    grid = fig.add_gridspec(
        nrows,
        ncols,
        left=0.7 / width,
        right=1 - 0.2 / width,
        bottom=bottom / height,
        top=1 - top / height,
        hspace=0.55,
        wspace=0.25,
    )
    axes = [fig.add_subplot(grid[i // ncols, i % ncols]) for i in range(n)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
        ax.sharey(axes[0])
    return fig, axes


def _member_title(ax: Axes, results: Results, code: str, colour: str) -> None:
    member = results.scenario.members.get(code)
    name = member.name if member is not None else code
    ax.set_title(f"{code} · {name}", color=colour, loc="left", fontweight="bold")


def _members(results: Results) -> list[str]:
    present = set(results.summary["member"].dropna().unique())
    ordered = [c for c in results.scenario.members if c in present]
    return ordered + sorted(present - set(ordered))


def _driver_lines(ax: Axes, markers: Sequence[Marker]) -> None:
    for m in markers:
        ax.axvline(
            mdates.date2num(m.date),
            color=DRIVER_COLOUR if m.kind == "driver" else OBSERVATION_COLOUR,
            lw=0.4,
            alpha=0.3,
            ls="-" if m.kind == "driver" else (0, (3, 2)),
            zorder=0,
        )


def _caption(fig: Figure, text: str) -> None:
    width = fig.get_figwidth()
    fig.text(
        0.7 / width,
        0.08 / fig.get_figheight(),
        "\n".join(textwrap.wrap(text, 140)),
        fontsize=7,
        color="#333333",
        va="bottom",
    )


def fig_alignment(results: Results) -> Figure:
    codes = _members(results)
    colours = member_colours(list(results.scenario.members))
    markers = scenario_markers(results.scenario)
    with style():
        fig, axes = _grid(len(codes))
        for ax, code in zip(axes, codes, strict=True):
            colour, _ = colours.get(code, (OKABE_ITO[6], "-"))
            q = _stats(results.summary, "alignment", code)
            _driver_lines(ax, markers)
            _bands(ax, q.index, q, colour)
            _member_title(ax, results, code, colour)
            ax.set_ylim(0, 1)
            ax.grid(axis="y", color="#EEEEEE", lw=0.5)
            _format_dates(ax, small=True)
        axes[0].set_ylabel("alignment (0–1)")
        _caption(
            fig,
            caption(
                results,
                "Alignment with the alliance line: median (line), 50 % "
                "and 90 % bands; faint vertical lines mark scenario events.",
            ),
        )
    return fig


def fig_engagement(results: Results) -> Figure:
    codes = _members(results)
    colours = member_colours(list(results.scenario.members))
    summary = results.summary
    with style():
        fig, axes = _grid(len(codes), bottom=1.05)
        states_seen: set[str] = set()
        for ax, code in zip(axes, codes, strict=True):
            p = _stats(summary, "engagement", code)
            states = [
                s
                for s in STATE_COLOURS
                if f"p_{s}" in p.columns and (s != "absent" or p[f"p_{s}"].max() > 0)
            ]
            states_seen.update(states)
            ax.stackplot(
                p.index,
                *[p[f"p_{s}"].to_numpy() for s in states],
                colors=[STATE_COLOURS[s] for s in states],
                lw=0,
            )
            _member_title(ax, results, code, colours.get(code, (OKABE_ITO[6], "-"))[0])
            ax.set_ylim(0, 1)
            ax.margins(x=0)
            _format_dates(ax, small=True)
        axes[0].set_ylabel("probability")
        handles = [
            Patch(color=STATE_COLOURS[s], label=s) for s in STATE_COLOURS if s in states_seen
        ]
        fig.legend(
            handles=handles,
            loc="lower right",
            ncols=len(handles),
            frameon=False,
            bbox_to_anchor=(1 - 0.2 / fig.get_figwidth(), 0.5 / fig.get_figheight()),
        )
        _caption(
            fig, caption(results, "Share of replicates in each engagement state, month by month.")
        )
    return fig


def fig_exit(results: Results) -> Figure:
    codes = _members(results)
    colours = member_colours(list(results.scenario.members))
    summary = results.summary
    with style():
        fig, axes = _grid(2, panel_w=3.8, panel_h=2.6, ncols=2, bottom=0.75)
        for ax, flag, title in zip(
            axes, ("p_ever_exited", "p_ever_frozen"), ("exited", "frozen or exited"), strict=True
        ):
            for code in codes:
                p = _stats(summary, "engagement", code)
                colour, dash = colours.get(code, (OKABE_ITO[6], "-"))
                ax.plot(
                    p.index,
                    p[flag],
                    color=colour,
                    ls=dash,
                    lw=1.4,
                    label=code,
                    drawstyle="steps-post",
                )
            ax.set_title(f"cumulative probability: {title}", loc="left")
            ax.set_ylim(-0.01, 1.01)
            ax.grid(axis="y", color="#EEEEEE", lw=0.5)
            _format_dates(ax)
        axes[0].set_ylabel("probability")
        axes[1].legend(loc="upper left", frameon=False, ncols=2)
        _caption(
            fig,
            caption(
                results,
                "Share of replicates in which each member has exited "
                "(left), or been frozen or exited (right), by each month.",
            ),
        )
    return fig


FIGURES_BY_NAME = {
    "cohesion": fig_cohesion,
    "alignment": fig_alignment,
    "engagement": fig_engagement,
    "exit": fig_exit,
}


def save(fig: Figure, path: Path) -> Path:
    fmt = path.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; expected one of {', '.join(FORMATS)}")
    partial = path.with_name(f".{path.name}.partial")
    try:
        fig.savefig(
            partial,
            format=fmt,
            dpi=200 if fmt == "png" else "figure",
            metadata={"Creator": f"cstosim {__version__}"},
        )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def plot_results(folder: Path, fmt: str = "png", results: Results | None = None) -> list[Path]:
    """Draw the four figures of a results folder into ``folder/figures``; return their paths."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; expected one of {', '.join(FORMATS)}")
    folder = Path(folder)
    results = results if results is not None else read_results(folder, tables=False)
    out = folder / FIGURES
    out.mkdir(exist_ok=True)
    paths = []
    for name, build in FIGURES_BY_NAME.items():
        paths.append(save(build(results), out / f"{name}.{fmt}"))
    return paths
