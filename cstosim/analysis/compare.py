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
from cstosim.store.results import (
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
# Writing
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
