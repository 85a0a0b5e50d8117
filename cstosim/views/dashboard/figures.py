"""Matplotlib figures of a live ensemble and of a paired comparison, in the style of
:mod:`cstosim.views.plots` (same palette, markers and label strip), built without pyplot.

* :func:`cohesion_figure`: median cohesion with 50 % and 90 % bands, the scenario's drivers as
  solid markers and its observations as dashed ones;
* :func:`engagement_figure`: each member's share of replicates in each engagement state;
* :func:`difference_figure`: the paired difference B − A with its bands, and the events that
  differ between the two scenarios.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cstosim.language.scenario import Scenario
from cstosim.views.dashboard.ensemble import Ensemble, band, engagement_shares
from cstosim.views.dashboard.paired import Paired
from cstosim.views.plots import (
    DRIVER_COLOUR,
    OBSERVATION_COLOUR,
    OKABE_ITO,
    STATE_COLOURS,
    WIDTH,
    Marker,
    draw_markers,
    member_colours,
    scenario_markers,
    style,
    timeline_figure,
)

BAND_HEIGHT_IN = 2.6
"""Height of the main axes of the band figures, in inches (the label strip comes on top)."""


def marker_legend(markers: Sequence[Marker]) -> list[Line2D]:
    """Legend entries for the kinds of markers present (driver, observation)."""
    handles = []
    if any(m.kind == "driver" for m in markers):
        handles.append(
            Line2D([], [], color=DRIVER_COLOUR, lw=0.8, marker="v", ms=4, label="scenario event")
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


def draw_band(ax: Axes, q: pd.DataFrame, colour: str, label: str) -> None:
    """Median line with shaded 50 % and 90 % bands."""
    ax.fill_between(q.index, q["q05"], q["q95"], color=colour, alpha=0.15, lw=0, label="90 % band")
    ax.fill_between(q.index, q["q25"], q["q75"], color=colour, alpha=0.35, lw=0, label="50 % band")
    ax.plot(q.index, q["median"], color=colour, lw=1.4, label=label)


def add_caption(fig: Figure, text: str) -> None:
    fig.text(
        0.7 / fig.get_figwidth(),
        0.08 / fig.get_figheight(),
        "\n".join(textwrap.wrap(text, 125)),
        fontsize=7,
        color="#333333",
        va="bottom",
    )


def _legend(fig: Figure, ax: Axes, markers: Sequence[Marker]) -> None:
    handles, _ = ax.get_legend_handles_labels()
    fig.legend(
        handles=handles + marker_legend(markers),
        loc="lower left",
        frameon=False,
        ncols=5,
        bbox_to_anchor=(0.7 / WIDTH, 0.42 / fig.get_figheight()),
        borderaxespad=0,
    )


def what_ran(scenario: Scenario, replicates: int, seed: int) -> str:
    return (
        f"Scenario {scenario.name}: {scenario.title}. {replicates:,} replicates, root seed {seed}."
    )


def cohesion_figure(ensemble: Ensemble) -> Figure:
    """The cohesion band chart of an ensemble, with the scenario's events marked."""
    markers = scenario_markers(ensemble.scenario)
    q = band(ensemble.model, "cohesion")
    with style():
        fig, ax, strip, placed = timeline_figure(markers, q.index.to_series(), BAND_HEIGHT_IN)
        draw_band(ax, q, OKABE_ITO[0], "median")
        draw_markers(fig, ax, strip, placed)
        ax.set_ylabel("cohesion index (0–1)")
        ax.set_ylim(0, 1.02)
        ax.grid(axis="y", color="#DDDDDD", lw=0.5)
        _legend(fig, ax, markers)
        add_caption(
            fig,
            what_ran(ensemble.scenario, ensemble.replicates, ensemble.seed)
            + " Cohesion: median with 50 % and 90 % bands across replicates.",
        )
    return fig


def _grid(
    n: int, ncols: int = 3, panel_w: float = 2.5, panel_h: float = 1.5
) -> tuple[Figure, list[Axes]]:
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    top, bottom = 0.3, 0.8
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
        hspace=0.6,
        wspace=0.25,
    )
    axes = [fig.add_subplot(grid[i // ncols, i % ncols]) for i in range(n)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
        ax.sharey(axes[0])
    return fig, axes


def engagement_figure(ensemble: Ensemble) -> Figure:
    """Each member's share of replicates in each engagement state, month by month."""
    shares = engagement_shares(ensemble.members)
    present = set(shares["member"])
    codes = [c for c in ensemble.scenario.members if c in present]
    colours = member_colours(list(ensemble.scenario.members))
    with style():
        fig, axes = _grid(max(len(codes), 1))
        seen: set[str] = set()
        for ax, code in zip(axes, codes, strict=False):
            rows = shares[shares["member"] == code].set_index("date").sort_index()
            states = [s for s in STATE_COLOURS if s in rows and rows[s].max() > 0]
            seen.update(states)
            ax.stackplot(
                rows.index,
                *[rows[s].to_numpy() for s in states],
                colors=[STATE_COLOURS[s] for s in states],
                lw=0,
            )
            name = ensemble.scenario.members[code].name
            ax.set_title(f"{code} · {name}", color=colours[code][0], loc="left", fontweight="bold")
            ax.set_ylim(0, 1)
            ax.margins(x=0)
        axes[0].set_ylabel("share of replicates")
        handles = [Patch(color=STATE_COLOURS[s], label=s) for s in STATE_COLOURS if s in seen]
        fig.legend(
            handles=handles,
            loc="lower right",
            ncols=max(len(handles), 1),
            frameon=False,
            bbox_to_anchor=(1 - 0.2 / fig.get_figwidth(), 0.4 / fig.get_figheight()),
        )
        add_caption(
            fig,
            what_ran(ensemble.scenario, ensemble.replicates, ensemble.seed)
            + " Share of replicates in each engagement state, month by month.",
        )
    return fig


def changed_markers(a: Scenario, b: Scenario) -> list[Marker]:
    """Markers of the events that differ between A and B (added, removed or changed), labelled
    with the side that has them; all of B's markers if the timelines are the same."""
    events_a = {e.id: e for e in a.events}
    events_b = {e.id: e for e in b.events}
    out = []
    for ev in b.events:
        old = events_a.get(ev.id)
        if old is None or old.model_dump() != ev.model_dump():
            out.append(Marker(_day(ev.date), f"B: {ev.label}", "driver"))
    for ev in a.events:
        if ev.id not in events_b:
            out.append(Marker(_day(ev.date), f"A only: {ev.label}", "driver"))
    if not out:
        return scenario_markers(b)
    return sorted(out, key=lambda m: (m.date, m.kind))


def _day(date: str) -> pd.Timestamp:
    return pd.Timestamp(date if len(date) == 10 else f"{date}-01")


def difference_figure(paired: Paired) -> Figure:
    """The paired difference B − A (median, 50 % and 90 % bands) with a zero line."""
    q = paired.difference
    markers = changed_markers(paired.a.scenario, paired.b.scenario)
    with style():
        fig, ax, strip, placed = timeline_figure(markers, q.index.to_series(), BAND_HEIGHT_IN)
        ax.axhline(0, color="#555555", lw=0.8, zorder=1)
        draw_band(ax, q, OKABE_ITO[1], "median of B − A")
        draw_markers(fig, ax, strip, placed)
        ax.set_ylabel(f"{paired.variable}: B − A")
        ax.grid(axis="y", color="#DDDDDD", lw=0.5)
        _legend(fig, ax, markers)
        add_caption(
            fig,
            f"A: {paired.a.scenario.name}; B: {paired.b.scenario.name}. Paired difference "
            f"replicate by replicate (common random numbers, root seed {paired.a.seed}, "
            f"{paired.a.replicates:,} replicates): median with 50 % and 90 % bands.",
        )
    return fig
