"""Figures of a calibration folder and of a forecast folder (read from saved tables only).

* ``marginals.png``: each parameter's posterior (weighted histogram) against its flat prior, with
  the scenario's hand-set value;
* ``pairs.png``: pairwise posteriors (weighted particles) on the prior box;
* ``pinned.png``: what the record pins down: the 90 % credible interval's width over the
  prior's (1: left free);
* ``predictive.png``: every observation's posterior predictive probability with its 5–95 %
  interval over parameter draws, beside the scenario values' probability (the record: 1);
* ``fan.png`` and ``rungs.png`` (forecasts): the cohesion index's fan chart and each member's
  probability of each rung by month.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import matplotlib.dates

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

RUNG_COLOURS = {
    "active": "#2b8cbe",
    "disengaged": "#fdae61",
    "frozen": "#d7191c",
    "exited": "#4d4d4d",
    "absent": "#dddddd",
}


def _priors(folder: Path) -> list[dict]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return list(manifest["priors"])


def _last(folder: Path) -> pd.DataFrame:
    particles = pd.read_parquet(folder / "particles.parquet")
    return particles[particles["generation"] == particles["generation"].max()]


def calibration_figures(folder: Path, fmt: str = "png") -> list[Path]:
    """Draw every calibration figure into ``folder/figures``; return the files written."""
    folder = Path(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    written = [
        marginals(folder, out / f"marginals.{fmt}"),
        pairs(folder, out / f"pairs.{fmt}"),
        pinned(folder, out / f"pinned.{fmt}"),
    ]
    if (folder / "predictive.csv").is_file():
        written.append(predictive(folder, out / f"predictive.{fmt}"))
    return written


def marginals(folder: Path, path: Path) -> Path:
    priors = _priors(folder)
    last = _last(folder)
    table = pd.read_csv(folder / "parameters.csv")
    values = dict(zip(table["parameter"], table["scenario_value"], strict=True))
    cols = min(4, len(priors))
    rows = math.ceil(len(priors) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, prior in zip(axes.flat, priors, strict=False):
        low, high = prior["low"], prior["high"]
        ax.hist(
            last[prior["name"]],
            bins=15,
            range=(low, high),
            weights=last["weight"],
            density=True,
            color="#2b8cbe",
            alpha=0.8,
            label="posterior",
        )
        ax.axhline(1.0 / (high - low), color="0.3", ls="--", lw=1, label="prior")
        v = values.get(prior["name"])
        if v is not None and not pd.isna(v):
            ax.axvline(float(v), color="#d7191c", lw=1.2, label="scenario value")
        ax.set_title(prior["name"], fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(priors) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Posterior (last generation) against the prior", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pairs(folder: Path, path: Path) -> Path:
    priors = _priors(folder)
    last = _last(folder)
    k = len(priors)
    fig, axes = plt.subplots(k, k, figsize=(1.5 * k + 1, 1.5 * k + 1), squeeze=False)
    size = 40 * last["weight"].to_numpy() / last["weight"].max()
    for i, pi in enumerate(priors):
        for j, pj in enumerate(priors):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == j:
                ax.hist(
                    last[pi["name"]],
                    bins=12,
                    range=(pi["low"], pi["high"]),
                    weights=last["weight"],
                    color="#2b8cbe",
                )
                ax.set_xlim(pi["low"], pi["high"])
            elif i > j:
                ax.scatter(last[pj["name"]], last[pi["name"]], s=size, alpha=0.4, color="#2b8cbe")
                ax.set_xlim(pj["low"], pj["high"])
                ax.set_ylim(pi["low"], pi["high"])
            else:
                ax.axis("off")
            if i == k - 1:
                ax.set_xlabel(pj["name"].split(".")[-1], fontsize=6, rotation=30)
            if j == 0:
                ax.set_ylabel(pi["name"].split(".")[-1], fontsize=6, rotation=60)
    fig.suptitle("Pairwise posteriors (axes: the prior ranges)", fontsize=10)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.07, top=0.95, wspace=0.08, hspace=0.08)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pinned(folder: Path, path: Path) -> Path:
    table = pd.read_csv(folder / "parameters.csv").sort_values("width_ratio")
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(table) + 1.2))
    colours = [
        "#1a9641" if r < 0.6 else "#fdae61" if r < 0.85 else "0.6" for r in table["width_ratio"]
    ]
    ax.barh(table["parameter"], table["width_ratio"], color=colours)
    ax.axvline(1.0, color="0.3", ls="--", lw=1)
    ax.set_xlabel("90 % credible interval / 90 % of the prior range (1 = left free)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("What the record pins down", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def predictive(folder: Path, path: Path) -> Path:
    table = pd.read_csv(folder / "predictive.csv")
    labels = [
        f"{s.split('-')[1] if '-' in s else s}: {o}"
        for s, o in zip(table["scenario"], table["observation_id"], strict=True)
    ]
    y = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(7.5, 0.22 * len(table) + 1.5))
    err = np.vstack([table["p_posterior"] - table["p_q05"], table["p_q95"] - table["p_posterior"]])
    ax.errorbar(
        table["p_posterior"],
        y,
        xerr=np.clip(err, 0, None),
        fmt="o",
        ms=3,
        color="#2b8cbe",
        label="posterior predictive (5–95 % over draws)",
    )
    ax.scatter(table["p_scenario"], y, marker="x", s=14, color="#d7191c", label="scenario values")
    fit = table["in_fit"].astype(bool).to_numpy()
    if not fit.all():
        ax.scatter(
            np.full((~fit).sum(), 1.02),
            y[~fit],
            marker=">",
            s=10,
            color="0.3",
            label="not in the fit (out of sample)",
        )
    ax.set_yticks(y, labels, fontsize=6)
    ax.set_xlim(-0.02, 1.06)
    ax.invert_yaxis()
    ax.set_xlabel("probability of what happened (the record: 1)")
    ax.legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def forecast_figures(folder: Path, fmt: str = "png") -> list[Path]:
    """``fan.<fmt>`` and ``rungs.<fmt>`` of a forecast folder."""
    folder = Path(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    return [fan(folder, out / f"fan.{fmt}"), rungs(folder, out / f"rungs.{fmt}")]


def fan(folder: Path, path: Path) -> Path:
    table = pd.read_csv(folder / "cohesion.csv", parse_dates=["date"])
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.fill_between(
        table["date"],
        table["q05"],
        table["q95"],
        color="#2b8cbe",
        alpha=0.2,
        label="5–95 % (parameters and chance)",
    )
    ax.fill_between(
        table["date"], table["q25"], table["q75"], color="#2b8cbe", alpha=0.4, label="25–75 %"
    )
    ax.plot(table["date"], table["median"], color="#08519c", lw=1.5, label="median")
    ax.plot(
        table["date"],
        table["draw_mean_q05"],
        color="0.3",
        lw=0.8,
        ls=":",
        label="5–95 % of the draws' means (parameters only)",
    )
    ax.plot(table["date"], table["draw_mean_q95"], color="0.3", lw=0.8, ls=":")
    meta = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    start = meta.get("forecast_from")
    if start:
        when = matplotlib.dates.date2num(pd.Timestamp(start))
        ax.axvline(when, color="#d7191c", lw=1, ls="--", label="end of the record")
    ax.set_ylabel("cohesion index")
    ax.set_ylim(0, 1)
    ax.set_title(f"{meta.get('scenario', '')}: cohesion with parameter uncertainty", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rungs(folder: Path, path: Path) -> Path:
    table = pd.read_csv(folder / "rungs.csv", parse_dates=["date"])
    members = list(dict.fromkeys(table["member"]))
    cols = min(3, len(members))
    rows = math.ceil(len(members) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.3 * rows), squeeze=False, sharex=True, sharey=True
    )
    for ax, member in zip(axes.flat, members, strict=False):
        mine = table[table["member"] == member].pivot_table(
            index="date", columns="engagement", values="probability", fill_value=0.0
        )
        order = [r for r in RUNG_COLOURS if r in mine.columns]
        ax.stackplot(
            mine.index,
            *[mine[r] for r in order],
            labels=order,
            colors=[RUNG_COLOURS[r] for r in order],
        )
        ax.set_title(member, fontsize=8)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(members) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.suptitle("Probability of each rung by month (posterior draws × replicates)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
