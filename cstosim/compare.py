"""Paired comparison of two ensembles run with common random numbers.

Two results folders are *pairable* when they were made with the same root seed and the same
number of replicates: replicate ``k`` of A and of B then drew from the same seed
``SeedSequence(root_seed).spawn(k + 1)[k]``, so ``B_k - A_k`` isolates the effect of what
differs between the scenarios and is far less noisy than a difference of two independent
ensembles. Scenario A against itself gives a difference of exactly zero.

A comparison folder holds::

    manifest.json     both runs' provenance (paths, seeds, scenario hashes) and this command
    difference.csv    tidy: date, variable, statistic, value — paired B − A of every model metric
    members.csv       per member at the last common month: P(exited), P(frozen or exited) in A, B
    figures/          difference (cohesion B − A with bands) and members (exit and freeze in A, B)
    a/, b/            the two results folders, when ``compare`` ran the scenarios itself
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cstosim import __version__
from cstosim.results import (
    FIGURES,
    QUANTILES,
    Results,
    ResultsError,
    engagement_history,
    iso_utc,
    read_results,
    utc_now,
)

FORMAT = "cstosim-comparison"
DIFFERENCE = "difference.csv"
MEMBERS = "members.csv"


class CompareError(ResultsError):
    """Two results cannot be compared pairwise."""


@dataclass
class Comparison:
    a: Results
    b: Results
    difference: pd.DataFrame  # date, variable, statistic, value (B − A, paired by replicate)
    members: pd.DataFrame  # member, state, p_a, p_b, difference (last common month)
    trajectories: pd.DataFrame  # date, member, state, p_a, p_b (cumulative, every month)


def check_pairable(a: Results, b: Results) -> None:
    """Raise :class:`CompareError` unless A and B share the root seed and replicate count."""
    problems = []
    for key in ("root_seed", "replicates"):
        if a.manifest.get(key) != b.manifest.get(key):
            problems.append(f"{key} {a.manifest.get(key)} (A) != {b.manifest.get(key)} (B)")
    if problems:
        raise CompareError(
            "cannot pair the replicates of A and B: "
            + "; ".join(problems)
            + ". Re-run one of them with the other's --seed and --replicates."
        )


def _metrics(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c not in ("replicate", "date") and pd.api.types.is_numeric_dtype(frame[c])
    ]


def paired_difference(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """B − A for every common model metric, paired by replicate and month; tidy quantiles."""
    metrics = [m for m in _metrics(a) if m in set(_metrics(b))]
    joined = a[["replicate", "date", *metrics]].merge(
        b[["replicate", "date", *metrics]],
        on=["replicate", "date"],
        suffixes=("_a", "_b"),
        validate="one_to_one",
    )
    if joined.empty:
        raise CompareError("A and B have no month in common")
    diff = pd.DataFrame({"date": joined["date"]})
    for m in metrics:
        diff[m] = joined[f"{m}_b"].astype(float) - joined[f"{m}_a"].astype(float)
    grouped = diff.groupby("date", sort=True)[metrics]
    parts = []
    stats = {"mean": grouped.mean(), **{k: grouped.quantile(q) for k, q in QUANTILES.items()}}
    stats["max_abs"] = diff[metrics].abs().groupby(diff["date"], sort=True).max()
    for name, table in stats.items():
        long = (
            table.reset_index()
            .melt(id_vars="date", var_name="variable", value_name="_value")
            .rename(columns={"_value": "value"})
        )
        long["statistic"] = name
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    order = {name: i for i, name in enumerate(stats)}
    out = (
        out.assign(_o=out["statistic"].map(order))
        .sort_values(["date", "variable", "_o"], kind="stable")
        .drop(columns="_o")
    )
    return out[["date", "variable", "statistic", "value"]].reset_index(drop=True)


def _cumulative(members: pd.DataFrame) -> pd.DataFrame:
    history = engagement_history(members)
    grouped = history.groupby(["date", "member"])
    return pd.DataFrame(
        {"exited": grouped["ever_exited"].mean(), "frozen or exited": grouped["ever_frozen"].mean()}
    ).reset_index()


def member_trajectories(a: Results, b: Results) -> pd.DataFrame:
    """Cumulative P(exited) and P(frozen or exited) per member and month, in A and in B."""
    ca, cb = _cumulative(a.members), _cumulative(b.members)
    joined = ca.merge(cb, on=["date", "member"], how="outer", suffixes=("_a", "_b"))
    rows = []
    for state in ("exited", "frozen or exited"):
        rows.append(
            pd.DataFrame(
                {
                    "date": joined["date"],
                    "member": joined["member"],
                    "state": state,
                    "p_a": joined[f"{state}_a"],
                    "p_b": joined[f"{state}_b"],
                }
            )
        )
    return (
        pd.concat(rows, ignore_index=True)
        .sort_values(["state", "member", "date"], kind="stable")
        .reset_index(drop=True)
    )


def compare_results(a: Results, b: Results) -> Comparison:
    check_pairable(a, b)
    difference = paired_difference(a.model, b.model)
    trajectories = member_trajectories(a, b)
    common = sorted(set(a.model["date"]) & set(b.model["date"]))
    last = common[-1]
    at_end = trajectories[trajectories["date"] == last].copy()
    at_end["difference"] = at_end["p_b"] - at_end["p_a"]
    order = _member_order(a, b)
    at_end["_o"] = at_end["member"].map({m: i for i, m in enumerate(order)})
    members = at_end.sort_values(["_o", "state"], kind="stable")[
        ["member", "state", "p_a", "p_b", "difference"]
    ].reset_index(drop=True)
    return Comparison(a=a, b=b, difference=difference, members=members, trajectories=trajectories)


def _member_order(a: Results, b: Results) -> list[str]:
    order = list(a.scenario.members)
    order += [m for m in b.scenario.members if m not in order]
    present = set(a.members["member"]) | set(b.members["member"])
    return [m for m in order if m in present] + sorted(present - set(order))


def compare_folders(a: Path, b: Path) -> Comparison:
    return compare_results(read_results(a), read_results(b))


# --------------------------------------------------------------------------------------------
# Writing and drawing
# --------------------------------------------------------------------------------------------


def write_comparison(
    folder: Path, comparison: Comparison, command: list[str], started: Any
) -> None:
    diff = comparison.difference.copy()
    diff["date"] = pd.to_datetime(diff["date"]).dt.strftime("%Y-%m-%d")
    diff.to_csv(folder / DIFFERENCE, index=False, float_format="%.6g")
    comparison.members.to_csv(folder / MEMBERS, index=False, float_format="%.6g")

    def side(r: Results) -> dict[str, Any]:
        m = r.manifest
        return {
            "path": str(r.path),
            "scenario_name": m.get("scenario_name"),
            "scenario_file": m.get("scenario_file"),
            "sets": m.get("sets"),
            "scenario_sha256": m.get("scenario_sha256"),
            "git_commit": m.get("git_commit"),
            "cstosim_version": m.get("cstosim_version"),
            "until": m.get("until"),
        }

    ended = utc_now()
    manifest = {
        "format": FORMAT,
        "format_version": 1,
        "cstosim_version": __version__,
        "root_seed": comparison.a.manifest.get("root_seed"),
        "replicates": comparison.a.manifest.get("replicates"),
        "a": side(comparison.a),
        "b": side(comparison.b),
        "command": command,
        "started": iso_utc(started),
        "ended": iso_utc(ended),
        "wall_time_s": round((ended - started).total_seconds(), 3),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def plot_comparison(folder: Path, comparison: Comparison, fmt: str = "png") -> list[Path]:
    """``figures/difference`` and ``figures/members`` of a comparison folder."""
    from cstosim import plots

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
    from cstosim import plots

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
    from matplotlib.lines import Line2D

    from cstosim import plots

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


def final_rows(c: Comparison) -> dict[str, Any]:
    """Numbers for the printed table: final cohesion in A, B and the paired difference."""
    last = c.difference["date"].max()
    d = c.difference[(c.difference["date"] == last) & (c.difference["variable"] == "cohesion")]
    diff = dict(zip(d["statistic"], d["value"], strict=True))

    def median(r: Results) -> float:
        model = r.model[r.model["date"] == last]
        return float(model["cohesion"].median())

    return {"date": pd.Timestamp(last), "a": median(c.a), "b": median(c.b), "difference": diff}


def is_comparison_folder(folder: Path) -> bool:
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def replot_comparison(folder: Path, fmt: str = "png") -> list[Path]:
    """Redraw the figures of a comparison folder from the results it compared."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    sides = []
    for side in ("a", "b"):
        inside = folder / side
        sides.append(inside if inside.is_dir() else Path(manifest[side]["path"]))
    return plot_comparison(folder, compare_folders(sides[0], sides[1]), fmt)
