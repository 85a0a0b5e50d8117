"""The paired difference of two ensembles under common random numbers.

Two ensembles run with the same root seed and the same number of replicates are *paired*:
replicate k of each drew the same random numbers (:func:`cstosim.engine.vector.run_chunk`), so
``B_k − A_k`` isolates what differs between the scenarios. The bands here are those of that
paired difference, replicate by replicate, over the months both runs cover; a scenario against
itself gives exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cstosim.views.dashboard.ensemble import Ensemble, final_rungs, quantiles


class NotPaired(ValueError):
    """Two ensembles that cannot be compared replicate by replicate."""


@dataclass(eq=False)
class Paired:
    """Ensembles A (baseline) and B (counterfactual), with their paired difference.

    Attributes:
        difference: per month (index ``date``), quantiles of ``B_k − A_k`` of ``variable``.
        per_replicate: the (date × replicate) table of ``B_k − A_k``.
        rungs: per member and rung at the last common month: ``p_a``, ``p_b``, ``change``.
    """

    a: Ensemble
    b: Ensemble
    variable: str
    difference: pd.DataFrame
    per_replicate: pd.DataFrame
    rungs: pd.DataFrame


def check_paired(a: Ensemble, b: Ensemble) -> None:
    """Raise :class:`NotPaired` unless A and B share root seed and replicate count."""
    if a.seed != b.seed or a.replicates != b.replicates:
        raise NotPaired(
            f"ensembles are not paired: A has seed {a.seed} and {a.replicates} replicates, "
            f"B has seed {b.seed} and {b.replicates}"
        )


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, variable: str) -> pd.DataFrame:
    """``B_k − A_k`` of ``variable`` as a (date × replicate) table over the common months."""
    left = a.pivot(index="date", columns="replicate", values=variable)
    right = b.pivot(index="date", columns="replicate", values=variable)
    dates = left.index.intersection(right.index).sort_values()
    if dates.empty:
        raise NotPaired("the two scenarios have no month in common")
    return right.loc[dates] - left.loc[dates]


def rung_change(a: Ensemble, b: Ensemble, last: pd.Timestamp) -> pd.DataFrame:
    """Each member's rung probabilities in A and B at month ``last``, and B − A.

    Columns ``member``, ``rung``, ``p_a``, ``p_b``, ``change``; members in A's order, then
    members only B has.
    """
    frames = []
    for side, ens in (("p_a", a), ("p_b", b)):
        rungs = final_rungs(ens.members[ens.members["date"] <= last]).reset_index()
        long = rungs.melt(id_vars="member", var_name="rung", value_name=side)
        frames.append(long.set_index(["member", "rung"])[side])
    table = pd.concat(frames, axis=1).fillna(0.0)
    table["change"] = table["p_b"] - table["p_a"]
    members_a = list(a.scenario.members)
    order = members_a + [c for c in b.scenario.members if c not in members_a]
    table = table.reset_index()
    table["member"] = pd.Categorical(table["member"], categories=order, ordered=True)
    rung_order = list(dict.fromkeys(table["rung"]))
    table["rung"] = pd.Categorical(table["rung"], categories=rung_order, ordered=True)
    table = table.sort_values(["member", "rung"]).reset_index(drop=True)
    table["member"] = table["member"].astype(str)
    table["rung"] = table["rung"].astype(str)
    return table


def pair(a: Ensemble, b: Ensemble, variable: str = "cohesion") -> Paired:
    """Compare two paired ensembles (raises :class:`NotPaired` if they are not)."""
    check_paired(a, b)
    wide = paired_difference(a.model, b.model, variable)
    last = pd.Timestamp(wide.index.max())
    return Paired(a, b, variable, quantiles(wide), wide, rung_change(a, b, last))


def headline(paired: Paired) -> str:
    """One line: the paired difference in the last common month."""
    q = paired.difference.iloc[-1]
    month = pd.Timestamp(paired.difference.index[-1]).strftime("%Y-%m")
    return (
        f"B − A, {paired.variable} in {month}: median {q['median']:+.3f} "
        f"(50 % band {q['q25']:+.3f} to {q['q75']:+.3f}, "
        f"90 % band {q['q05']:+.3f} to {q['q95']:+.3f}); "
        f"{paired.a.replicates:,} paired replicates, seed {paired.a.seed}"
    )


def largest_changes(paired: Paired, count: int = 5) -> pd.DataFrame:
    """The ``count`` member rungs whose probability changes most (by absolute change)."""
    rows = paired.rungs[paired.rungs["rung"] != "disengaged or worse"]
    return rows.reindex(rows["change"].abs().sort_values(ascending=False).index).head(count)
