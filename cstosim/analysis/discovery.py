"""Scenario discovery (EMA Workbench): PRIM boxes and feature scoring over a sweep.

*PRIM* (Friedman & Fisher 1999; Bryant & Lempert 2010) peels the factor space down to boxes
where a binary outcome is common: each step trades **coverage** (the share of all cases of
interest that fall in the box) against **density** (the share of cases in the box that are of
interest). :func:`prim_boxes` runs EMA Workbench's ``Prim`` and picks, on the peeling
trajectory, the densest box that still covers ``min_coverage`` of the cases; its limits come
with the quasi-p values of each restriction.

*Feature scoring* ranks every factor for every outcome by the importance an extra-trees model
gives it (EMA Workbench's ``get_feature_scores_all``), on the per-design-point means.

Cases are runs (each design point × replicate; the density is then a probability over runs) or
design points (the outcome's mean over replicates, thresholded).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

_RESERVED = ("scenario", "policy", "model")
"""Column names EMA Workbench drops from its analyses (its own bookkeeping columns)."""


def _safe_names(x: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """``x`` with EMA's reserved column names renamed, and the map back."""
    renamed = {c: f"{c}_" for c in x.columns if c in _RESERVED}
    return x.rename(columns=renamed), {v: k for k, v in renamed.items()}


def _ema() -> Any:
    """Import EMA Workbench quietly (it warns about optional parts it does not need)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ema_workbench.analysis.feature_scoring as feature_scoring
        import ema_workbench.analysis.prim as prim
    for name in ("EMA", "ema_workbench"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return prim, feature_scoring


@dataclass
class PrimResult:
    """PRIM on one binary outcome: the peeling trajectory and the chosen box."""

    outcome: str
    rule: str  # what makes a case "of interest", e.g. "arm_exits = 1"
    cases: int
    positives: int
    trajectory: pd.DataFrame  # box, coverage, density, mass, res_dim, n
    chosen: int
    limits: pd.DataFrame  # factor, min, max, qp_low, qp_high, full_min, full_max (restricted)

    @property
    def stats(self) -> pd.Series:
        return cast(pd.Series, self.trajectory.loc[self.chosen])


def cases(
    design: pd.DataFrame,
    outcomes: pd.DataFrame,
    outcome: str,
    factors: Sequence[str],
    per: str = "run",
    above: float | None = None,
    below: float | None = None,
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """The factor table ``x``, the boolean ``y`` and the rule, for one outcome.

    ``per='run'``: one case per design point and replicate; ``per='point'``: one per design
    point, with the outcome's mean over replicates. Without ``above``/``below`` the outcome
    must be binary (0/1) and a case is of interest when it is 1 (per run) or when its mean is
    above 0.5 (per point).
    """
    if per not in ("run", "point"):
        raise ValueError(f"per must be 'run' or 'point', not {per!r}")
    values: pd.DataFrame = outcomes[["design_point", outcome]]
    if per == "point":
        values = values.groupby("design_point", sort=True)[outcome].mean().reset_index()
    y_values = values[outcome].to_numpy(dtype=np.float64)
    if above is not None and below is not None:
        raise ValueError("give --above or --below, not both")
    if above is not None:
        y, rule = y_values > above, f"{outcome} > {above:g}"
    elif below is not None:
        y, rule = y_values < below, f"{outcome} < {below:g}"
    else:
        if not np.isin(outcomes[outcome].unique(), (0.0, 1.0)).all():
            raise ValueError(
                f"outcome {outcome} is not binary (0/1); give --above X or --below X to say "
                "which values are of interest"
            )
        if per == "point":
            y, rule = y_values > 0.5, f"mean {outcome} > 0.5"
        else:
            y, rule = y_values == 1.0, f"{outcome} = 1"
    rows = design.set_index("design_point").loc[values["design_point"].to_numpy(), list(factors)]
    x = rows.reset_index(drop=True)
    for name in x.columns:
        if isinstance(x[name].dtype, pd.CategoricalDtype):
            x[name] = x[name].cat.remove_unused_categories()
    return x, np.asarray(y, dtype=bool), rule


def prim_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    outcome: str = "y",
    rule: str = "",
    peel_alpha: float = 0.05,
    min_coverage: float = 0.5,
    box: int | None = None,
) -> PrimResult:
    """PRIM on ``x`` (factors) and boolean ``y``; choose box ``box`` or by ``min_coverage``."""
    prim, _ = _ema()
    y = np.asarray(y, dtype=bool)
    positives = int(y.sum())
    if positives == 0:
        raise ValueError(f"no case satisfies {rule or outcome}: nothing to discover")
    if positives == len(y):
        raise ValueError(f"every case satisfies {rule or outcome}: nothing to discover")
    x, back = _safe_names(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(x, y, peel_alpha=peel_alpha)
        found = finder.find_box()
    trajectory = found.peeling_trajectory.copy()
    trajectory.index.name = "box"
    columns = ["coverage", "density", "mass", "res_dim", "n"]
    trajectory = trajectory[columns]
    if box is None:
        eligible = trajectory.index[trajectory["coverage"] >= min_coverage]
        chosen = int(eligible[-1]) if len(eligible) else 0
    else:
        if not 0 <= box < len(trajectory):
            raise ValueError(f"box {box} is not on the trajectory (0 to {len(trajectory) - 1})")
        chosen = box
    limits = _limits(found, chosen, x)
    limits["factor"] = [back.get(name, name) for name in limits["factor"]]
    return PrimResult(outcome, rule, len(y), positives, trajectory, chosen, limits)


def _limits(found: Any, chosen: int, x: pd.DataFrame) -> pd.DataFrame:
    """The restricted dimensions of box ``chosen``, with quasi-p values and the full range.

    Read from the box's limits and p-values directly (``PrimBox.inspect`` fails on pandas 3
    when a categorical factor is restricted). A quasi-p value of −1 (no restriction on that
    side) becomes NaN.
    """
    columns = ["factor", "min", "max", "qp_low", "qp_high", "full_min", "full_max"]
    if chosen == 0:
        return pd.DataFrame([], columns=columns)
    box, full = found.box_lims[chosen], found.box_lims[0]
    p_values: dict[str, Any] = found.p_values[chosen]
    rows = []
    for name in x.columns:
        if name not in p_values:
            continue
        qp = [float(v) if float(v) >= 0 else np.nan for v in list(p_values[name])[:2]]
        qp += [np.nan] * (2 - len(qp))
        rows.append(
            {
                "factor": str(name),
                "min": _text(box[name].iloc[0]),
                "max": _text(box[name].iloc[1]),
                "qp_low": qp[0],
                "qp_high": qp[1],
                "full_min": _text(full[name].iloc[0]),
                "full_max": _text(full[name].iloc[1]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _text(value: Any) -> Any:
    """Numbers as floats; sets of categories as a sorted, comma-separated text."""
    if isinstance(value, set | frozenset):
        return ", ".join(sorted(map(str, value)))
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def feature_scores(x: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Extra-trees feature scores: one row per factor, one column per outcome (columns of
    ``outcomes``, aligned with the rows of ``x``). Outcomes without variance get 0."""
    _, feature_scoring = _ema()
    names = list(x.columns)
    x, _ = _safe_names(x)  # a renamed copy: the caller's frame is left alone
    for name in x.columns:
        if isinstance(x[name].dtype, pd.CategoricalDtype):
            x[name] = x[name].cat.codes.astype(np.float64)  # EMA drops integer columns
    varied = {c: outcomes[c].to_numpy() for c in outcomes.columns if outcomes[c].nunique() > 1}
    scores = pd.DataFrame(0.0, index=list(x.columns), columns=list(outcomes.columns))
    if varied:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = feature_scoring.get_feature_scores_all(x, varied, random_state=0)
        for name in varied:
            scores[name] = found[name].reindex(scores.index).fillna(0.0).to_numpy()
    scores.index = pd.Index(names)
    scores.index.name = "factor"
    return scores
