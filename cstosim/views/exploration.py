"""Figures of sweeps: sensitivity indices, their convergence, PRIM trade-off and box limits,
feature scores. Each function builds a ``matplotlib.figure.Figure`` (Agg, no pyplot state)
from tables the analysis wrote, and :func:`save` writes it."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cstosim import __version__

FORMATS = ("png", "svg", "pdf")


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix)."""
    fmt = path.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; expected one of {', '.join(FORMATS)}")
    fig.savefig(
        path,
        format=fmt,
        dpi=150 if fmt == "png" else "figure",
        metadata={"Creator": f"cstosim {__version__}"},
    )
    return path


def _label(labels: Mapping[str, str], name: str, width: int = 34) -> str:
    return textwrap.shorten(labels.get(name, name), width=width, placeholder="…")


def _caption(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.005, textwrap.fill(text, 150), fontsize=7, color="0.35", va="bottom")


def fig_sensitivity(
    table: pd.DataFrame,
    method: str,
    outcome: str,
    labels: Mapping[str, str],
    caption: str = "",
) -> Figure:
    """Ranked bars: Sobol' ST and S1 with confidence intervals, or Morris μ* (with CI) and σ."""
    keys: tuple[tuple[str, str | None, str], ...]
    if method == "sobol":
        keys = (("ST", "ST_conf", "total ST"), ("S1", "S1_conf", "first-order S1"))
    else:
        keys = (("mu_star", "mu_star_conf", "μ*"), ("sigma", None, "σ"))
    order = table.sort_values(keys[0][0], ascending=True, kind="stable")
    d = len(order)
    fig = Figure(figsize=(8.0, 1.6 + 0.38 * d), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(d)
    height = 0.38
    colours = ("#1f4e79", "#8fb8de")
    for k, (value, conf, name) in enumerate(keys):
        err = order[conf].to_numpy() if conf else None
        ax.barh(
            y + (height / 2 if k == 0 else -height / 2),
            order[value].to_numpy(),
            height=height,
            xerr=err,
            color=colours[k],
            label=name,
            error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.2"},
        )
    ax.set_yticks(y, [_label(labels, f) for f in order["factor"]])
    ax.axvline(0, color="0.3", linewidth=0.6)
    ax.set_xlabel("Sobol' index" if method == "sobol" else "elementary effect (unit-scaled)")
    n = int(table["n"].max())
    what = "Sobol' indices, 95 % bootstrap intervals" if method == "sobol" else "Morris screening"
    ax.set_title(f"{_label(labels, outcome, 60)} — {what} (N = {n})", fontsize=10, loc="left")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(axis="x", color="0.9")
    if caption:
        fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))  # type: ignore[union-attr, call-arg]
        _caption(fig, caption)
    return fig


def fig_convergence(
    table: pd.DataFrame, method: str, outcome: str, labels: Mapping[str, str], top: int = 6
) -> Figure:
    """Each leading factor's index against the number of base samples (N/4, N/2, N)."""
    value, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
    largest = table[table["n"] == table["n"].max()].sort_values(value, ascending=False)
    leaders = list(largest["factor"][:top])
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    sizes = sorted(table["n"].unique())
    for k, factor in enumerate(leaders):
        rows = table[table["factor"] == factor].sort_values("n")
        shift = 1 + 0.03 * (k - len(leaders) / 2)
        ax.errorbar(
            rows["n"].to_numpy() * shift,
            rows[value].to_numpy(),
            yerr=rows[conf].to_numpy(),
            marker="o",
            capsize=3,
            label=_label(labels, factor),
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(int(s)) for s in sizes])
    ax.set_xlabel("base samples N")
    ax.set_ylabel("total index ST" if method == "sobol" else "μ*")
    ax.set_title(f"{_label(labels, outcome, 60)}: convergence", fontsize=10, loc="left")
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.grid(color="0.9")
    return fig


def fig_tradeoff(trajectory: pd.DataFrame, chosen: int, rule: str) -> Figure:
    """PRIM's peeling trajectory: density against coverage, coloured by restricted dimensions."""
    fig = Figure(figsize=(6.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    points = ax.scatter(
        trajectory["coverage"],
        trajectory["density"],
        c=trajectory["res_dim"],
        cmap="viridis",
        s=22,
        zorder=3,
    )
    ax.plot(trajectory["coverage"], trajectory["density"], color="0.7", linewidth=0.8, zorder=2)
    pick = trajectory.loc[chosen]
    ax.scatter(
        [pick["coverage"]],
        [pick["density"]],
        s=140,
        facecolors="none",
        edgecolors="#c0392b",
        linewidths=1.6,
        zorder=4,
        label=f"chosen box {chosen}: coverage {pick['coverage']:.2f}, density "
        f"{pick['density']:.2f}",
    )
    fig.colorbar(points, ax=ax, label="restricted dimensions")
    ax.set_xlabel("coverage (share of cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's cases of interest)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"PRIM peeling trajectory: {rule}", fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="lower left", frameon=False)
    ax.grid(color="0.92")
    return fig


def is_numeric_limit(row: Mapping[Any, Any]) -> bool:
    """Whether a row of a box's limits is a numeric range (else a set of levels)."""
    return all(isinstance(row[k], float) for k in ("min", "max", "full_min", "full_max"))


def limit_texts(row: Mapping[Any, Any]) -> tuple[str, str]:
    """``(the box's limits, the full range)`` of one row of a box's limits, as text."""
    if is_numeric_limit(row):
        return (
            f"{row['min']:.3g} – {row['max']:.3g}",
            f"{row['full_min']:.3g} – {row['full_max']:.3g}",
        )
    levels = str(row["full_min"]).split(", ")
    return str(row["min"]), f"{len(levels)} levels"


def fig_box(limits: pd.DataFrame, labels: Mapping[str, str], title: str) -> Figure:
    """The chosen box's restricted ranges, each drawn within the factor's full range (a
    categorical factor: the share of its levels kept)."""
    d = max(1, len(limits))
    fig = Figure(figsize=(9.0, 1.5 + 0.55 * d), layout="constrained")
    ax = fig.add_subplot()
    for k, row in enumerate(limits.to_dict("records")):
        y = d - 1 - k
        ax.barh(y, 1.0, left=0.0, color="0.92", height=0.6)
        inside, full = limit_texts(row)
        if is_numeric_limit(row) and row["full_max"] > row["full_min"]:
            span = float(row["full_max"]) - float(row["full_min"])
            a = (float(row["min"]) - float(row["full_min"])) / span
            b = (float(row["max"]) - float(row["full_min"])) / span
            ax.barh(y, b - a, left=a, color="#1f4e79", height=0.6)
            text = f"{inside}  (of {full})"
        else:
            kept = len(str(row["min"]).split(", "))
            total = len(str(row["full_min"]).split(", "))
            ax.barh(y, kept / max(total, 1), left=0.0, color="#8fb8de", height=0.6)
            text = textwrap.shorten(f"{inside} ({kept} of {total} levels)", 60, placeholder="…")
        qp = np.nanmin([float(row["qp_low"]), float(row["qp_high"])])
        qp_text = f"; qp {qp:.1e}" if np.isfinite(qp) else ""
        ax.text(1.03, y, text + qp_text, va="center", fontsize=8)
    names = [_label(labels, f) for f in reversed(list(limits["factor"]))]
    ax.set_yticks(range(d), names or [""])
    ax.set_xlim(0, 2.25)
    ax.set_xticks([0, 1], ["range min", "range max"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=10, loc="left")
    if not len(limits):
        ax.text(0.5, 0, "no restriction: the whole factor space", ha="center", va="center")
    return fig


def fig_feature_scores(scores: pd.DataFrame, labels: Mapping[str, str]) -> Figure:
    """Heatmap of feature scores: factors (rows) × outcomes (columns)."""
    order = scores.assign(_m=scores.max(axis=1)).sort_values("_m", ascending=False)
    order = order.drop(columns="_m")
    rows, cols = order.shape
    fig = Figure(figsize=(2.6 + 1.1 * cols, 1.2 + 0.36 * rows), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(order.to_numpy(), cmap="viridis", aspect="auto", vmin=0)
    for i in range(rows):
        for j in range(cols):
            value = float(order.to_numpy()[i, j])
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < 0.6 * max(order.to_numpy().max(), 1e-9) else "black",
            )
    ax.set_xticks(
        range(cols), [_label(labels, c, 22) for c in order.columns], rotation=30, ha="right"
    )
    ax.set_yticks(range(rows), [_label(labels, f) for f in order.index])
    fig.colorbar(image, ax=ax, label="feature score (extra trees)")
    ax.set_title("Which factors matter for which outcome", fontsize=10, loc="left")
    return fig
