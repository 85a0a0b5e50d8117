"""One month of one replicate drawn as a network (for the stepped Mesa model).

Members are nodes: the leading state in the centre, the others on a circle in scenario order,
outside poles on an outer ring. A node's colour is the member's alignment (0 to 1, cividis), its
shape is its engagement (active ●, disengaged ■, frozen ▲, exited ✕, not yet joined ○) and its
size its capability. Edges show what moves alignment (docs/MODEL.md §7.5): the leading state's
pressure (solid, as wide as the member's dependence), peers within the confidence bound (dashed)
and the pull of each outside pole (dotted, as wide as the pull).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cstosim.model.levels import ABSENT, level_name
from cstosim.views.plots import DRIVER_COLOUR, OKABE_ITO, style

if TYPE_CHECKING:
    from cstosim.model.alliance import AllianceModel

SHAPES: dict[str, str] = {
    "active": "o",
    "disengaged": "s",
    "frozen": "^",
    "exited": "X",
    "absent": "o",
}
"""Marker of each engagement state."""
COLOUR_MAP = "cividis"
POLE_COLOUR = OKABE_ITO[4]


def positions(n: int, leader: int, poles: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of ``n`` members (leader at the origin, the others on the unit circle from the top,
    clockwise) and of ``poles`` outside poles on a ring of radius 1.75."""
    members = np.zeros((n, 2))
    others = [i for i in range(n) if i != leader]
    for k, i in enumerate(others):
        angle = math.pi / 2 - 2 * math.pi * k / max(len(others), 1)
        members[i] = (math.cos(angle), math.sin(angle))
    outer = np.zeros((poles, 2))
    for k in range(poles):
        angle = math.pi / 2 - 2 * math.pi * (k + 0.5) / poles
        outer[k] = (1.75 * math.cos(angle), 1.75 * math.sin(angle))
    return members, outer


def month_title(model: AllianceModel) -> str:
    """The month just stepped (or the initial state) with the cohesion index."""
    if model.t == 0:
        when = f"initial state (before {model.months[0][0]:04d}-{model.months[0][1]:02d})"
    else:
        y, m = model.months[model.t - 1]
        when = f"{y:04d}-{m:02d}"
    return f"{model.spec.name} · {when} · cohesion {model.cohesion:.2f}"


def network_figure(model: AllianceModel) -> Figure:
    """The model's current month as a network (see the module docstring)."""
    s = model.state
    n = len(s.codes)
    pole_index = [a for a in range(len(s.actors)) if s.is_pole[a]]
    xy, outer = positions(n, s.leader, len(pole_index))
    present = s.present()
    cmap = colormaps[COLOUR_MAP]
    norm = Normalize(0.0, 1.0)
    bound = model.params.confidence_bound
    with style():
        fig = Figure(figsize=(5.6, 4.8))
        ax = fig.add_axes((0.02, 0.1, 0.8, 0.82))
        cax = fig.add_axes((0.86, 0.2, 0.03, 0.62))
        # edges: poles' pulls, peers within the confidence bound, the leader's pressure
        for k, a in enumerate(pole_index):
            for i in range(n):
                pull = float(s.pulls[a, i])
                if pull > 0 and present[i]:
                    ax.plot(
                        *zip(outer[k], xy[i], strict=True),
                        color=POLE_COLOUR,
                        lw=0.4 + 3 * pull,
                        ls=":",
                        alpha=0.8,
                        zorder=1,
                    )
        for i in range(n):
            for j in range(i + 1, n):
                if (
                    present[i]
                    and present[j]
                    and abs(s.alignment[i] - s.alignment[j]) <= bound
                    and s.leader not in (i, j)
                ):
                    ax.plot(
                        *zip(xy[i], xy[j], strict=True),
                        color="#56B4E9",
                        lw=0.7,
                        ls="--",
                        alpha=0.7,
                        zorder=1,
                    )
        for i in range(n):
            if i != s.leader and present[i]:
                ax.plot(
                    *zip(xy[s.leader], xy[i], strict=True),
                    color=DRIVER_COLOUR,
                    lw=0.4 + 4 * float(s.dependence[i]),
                    alpha=0.55,
                    zorder=1,
                )
        # nodes
        for i, code in enumerate(s.codes):
            state = level_name(int(s.level[i]))
            size = 250 + 1500 * float(s.capability[i])
            absent = int(s.level[i]) == ABSENT
            ax.scatter(
                [xy[i, 0]],
                [xy[i, 1]],
                s=size,
                marker=SHAPES[state],
                c="white" if absent else [cmap(norm(float(s.alignment[i])))],
                edgecolors="#999999" if absent else "#222222",
                linewidths=1.0,
                zorder=3,
            )
            ax.annotate(
                f"{code}\n{state}",
                xy[i],
                xytext=(0, -16 - math.sqrt(size) / 2.5),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=7,
                color="#999999" if absent else "#222222",
                zorder=4,
            )
        for k, a in enumerate(pole_index):
            ax.scatter([outer[k, 0]], [outer[k, 1]], s=220, marker="D", c=POLE_COLOUR, zorder=3)
            ax.annotate(
                s.actors[a],
                outer[k],
                xytext=(0, 10),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color="#7A4E00",
            )
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.1, 2.1)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(month_title(model), fontsize=8, loc="left")
        bar = fig.colorbar(ScalarMappable(norm, cmap), cax=cax)
        bar.set_label("alignment")
        handles = [
            Line2D([], [], ls="", marker=SHAPES[name], color="#666666", label=name, ms=6)
            for name in ("active", "disengaged", "frozen", "exited")
        ]
        handles += [
            Line2D([], [], color=DRIVER_COLOUR, lw=2, label="leader's pull (dependence)"),
            Line2D([], [], color="#56B4E9", lw=0.8, ls="--", label="peers within bound"),
        ]
        if pole_index:
            handles.append(Line2D([], [], color=POLE_COLOUR, lw=1.5, ls=":", label="pole's pull"))
        fig.legend(
            handles=handles,
            loc="lower left",
            ncols=4,
            frameon=False,
            fontsize=6.5,
            bbox_to_anchor=(0.02, 0.0),
        )
    return fig
