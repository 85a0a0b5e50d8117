"""Figures of a paired comparison (``cstosim compare``): the difference in cohesion B − A with
bands, and each member's cumulative probability of exit and of freezing in A and in B."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.lines import Line2D

from cstosim import __version__
from cstosim.analysis.compare import Comparison, _member_order, compare_folders
from cstosim.store.results import FIGURES
from cstosim.views import plots


def plot_comparison(folder: Path, comparison: Comparison, fmt: str = "png") -> list[Path]:
    """``figures/difference`` and ``figures/members`` of a comparison folder."""
    out = folder / FIGURES
    out.mkdir(exist_ok=True)
    return [
        plots.save(fig_difference(comparison), out / f"difference.{fmt}"),
        plots.save(fig_members(comparison), out / f"members.{fmt}"),
    ]


def _names(c: Comparison) -> tuple[str, str]:
    a, b = c.a.scenario.name, c.b.scenario.name
    if a == b:
        sets_a, sets_b = c.a.manifest.get("sets") or [], c.b.manifest.get("sets") or []
        a = f"{a} {' '.join(sets_a)}".strip() if sets_a != sets_b else f"{a} (A)"
        b = f"{b} {' '.join(sets_b)}".strip() if sets_a != sets_b else f"{b} (B)"
    return a, b


def fig_difference(c: Comparison) -> Any:
    markers_a = plots.scenario_markers(c.a.scenario)
    markers_b = plots.scenario_markers(c.b.scenario)
    keys_a = {(m.date, m.label, m.kind) for m in markers_a}
    keys_b = {(m.date, m.label, m.kind) for m in markers_b}
    markers = [m for m in markers_a if (m.date, m.label, m.kind) in keys_b]
    markers += [
        plots.Marker(m.date, f"{m.label} (A only)", m.kind)
        for m in markers_a
        if (m.date, m.label, m.kind) not in keys_b
    ]
    markers += [
        plots.Marker(m.date, f"{m.label} (B only)", m.kind)
        for m in markers_b
        if (m.date, m.label, m.kind) not in keys_a
    ]
    markers.sort(key=lambda m: (m.date, m.kind))
    d = (
        c.difference[c.difference["variable"] == "cohesion"]
        .pivot_table(index="date", columns="statistic", values="value", aggfunc="first")
        .sort_index()
    )
    name_a, name_b = _names(c)
    with plots.style():
        fig, ax, strip, placed = plots.timeline_figure(markers, d.index.to_series())
        ax.axhline(0, color="#000000", lw=0.6)
        plots._bands(ax, d.index, d, plots.OKABE_ITO[1], label="median difference")
        plots.draw_markers(fig, ax, strip, placed)
        ax.set_ylabel("cohesion, B − A (paired)")
        ax.grid(axis="y", color="#DDDDDD", lw=0.5)
        handles, _ = ax.get_legend_handles_labels()
        height = fig.get_figheight()
        fig.legend(
            handles=handles + plots._marker_legend(markers),
            loc="lower left",
            frameon=False,
            ncols=5,
            bbox_to_anchor=(0.7 / plots.WIDTH, 0.42 / height),
            borderaxespad=0,
        )
        m = c.a.manifest
        plots._caption(
            fig,
            f"B = {name_b} minus A = {name_a}: paired difference in cohesion "
            f"(same seed per replicate), median with 50 % and 90 % bands. "
            f"{m['replicates']} replicate pairs, root seed {m['root_seed']}; "
            f"cstosim {__version__}.",
        )
    return fig


SIDE_COLOURS = {"a": "#8C8C8C", "b": "#000000"}  # A grey, B black: readable in greyscale too
STATE_STYLES = {"exited": "-", "frozen or exited": (0, (4, 2))}


def fig_members(c: Comparison) -> Any:
    """One panel per member: cumulative P(exited) and P(frozen or exited) in A and in B."""
    order = _member_order(c.a, c.b)
    colours = plots.member_colours(order)
    name_a, name_b = _names(c)
    with plots.style():
        fig, axes = plots._grid(len(order), bottom=1.05)
        for ax, code in zip(axes, order, strict=True):
            t = c.trajectories[c.trajectories["member"] == code].sort_values("date")
            for state, dash in STATE_STYLES.items():
                rows = t[t["state"] == state]
                for side in ("a", "b"):
                    ax.plot(
                        rows["date"],
                        rows[f"p_{side}"],
                        color=SIDE_COLOURS[side],
                        ls=dash,
                        lw=1.5 if side == "b" else 2.2,
                        drawstyle="steps-post",
                    )
            member = c.a.scenario.members.get(code) or c.b.scenario.members.get(code)
            ax.set_title(
                f"{code} · {member.name if member else code}",
                loc="left",
                color=colours[code][0],
                fontweight="bold",
            )
            ax.set_ylim(-0.01, 1.01)
            ax.grid(axis="y", color="#EEEEEE", lw=0.5)
            plots._format_dates(ax, small=True)
        axes[0].set_ylabel("cumulative probability")
        handles = [
            Line2D([], [], color=SIDE_COLOURS["a"], lw=2.2, label=f"A: {name_a}"),
            Line2D([], [], color=SIDE_COLOURS["b"], lw=1.5, label=f"B: {name_b}"),
            Line2D([], [], color="#444444", ls=STATE_STYLES["exited"], label="has exited"),
            Line2D(
                [],
                [],
                color="#444444",
                ls=STATE_STYLES["frozen or exited"],
                label="has been frozen or exited",
            ),
        ]
        height = fig.get_figheight()
        fig.legend(
            handles=handles,
            loc="lower left",
            frameon=False,
            ncols=4,
            borderaxespad=0,
            bbox_to_anchor=(0.7 / fig.get_figwidth(), 0.45 / height),
        )
        m = c.a.manifest
        plots._caption(
            fig,
            f"Share of replicates in which each member has exited (solid) or "
            f"has been frozen or exited (dashed) by each month, in A (grey) and B "
            f"(black). {m['replicates']} replicate pairs, root seed "
            f"{m['root_seed']}; cstosim {__version__}.",
        )
    return fig


def replot_comparison(folder: Path, fmt: str = "png") -> list[Path]:
    """Redraw the figures of a comparison folder from the results it compared."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    sides = []
    for side in ("a", "b"):
        inside = folder / side
        sides.append(inside if inside.is_dir() else Path(manifest[side]["path"]))
    return plot_comparison(folder, compare_folders(sides[0], sides[1]), fmt)
