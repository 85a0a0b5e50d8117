"""Alliance-level indices collected every month (docs/MODEL.md §7.9).

Each function takes the member arrays of one model (last axis = members) and returns a float
(or an array over leading axes, for ensembles). Notation: R = roster (members that have taken part
at some point of the run: joined and not exited at the start, or joined later; exited members
stay in it), P = members taking part now (in R and not exited), a = alignment, ℓ = engagement
level (0 active, 1 disengaged, 2 frozen, 3 exited), e = empty chair (1 if the member missed the
last summit it was expected at), c = credibility.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cstosim.model.rules import clip

Bool = NDArray[np.bool_]
Float = NDArray[np.float64]


def engagement_weight(level: NDArray[np.int_], p: Any) -> Float:
    """w(ℓ) = 1 (active), w_dis (disengaged), 0 (frozen, exited, absent)."""
    lv = np.asarray(level)
    return np.where(lv == 0, 1.0, np.where(lv == 1, p.weight_disengaged, 0.0))


def cohesion(
    alignment: Float, level: NDArray[np.int_], empty_chair: Float, roster: Bool, p: Any
) -> Any:
    """Cohesion C = (1/|R|)·Σ_{i∈R} w(ℓ_i)·(1 − π_e·e_i)·a_i ∈ [0, 1].

    Engagement-weighted mean alignment over the roster: exits, freezes and empty chairs
    (π_e = ``empty_chair_penalty``) all lower it. 0 with an empty roster.
    """
    w = engagement_weight(level, p) * (1.0 - p.empty_chair_penalty * empty_chair)
    n = roster.sum(axis=-1)
    total = np.where(roster, w * alignment, 0.0).sum(axis=-1)
    return _f(np.where(n > 0, total / np.maximum(n, 1), 0.0))


def credibility_mean(credibility: Float, present: Bool) -> Any:
    """Mean credibility over members taking part, (1/|P|)·Σ_{i∈P} c_i (0 if P is empty)."""
    n = present.sum(axis=-1)
    return _f(
        np.where(n > 0, np.where(present, credibility, 0.0).sum(axis=-1) / np.maximum(n, 1), 0.0)
    )


def engaged_share(level: NDArray[np.int_], roster: Bool) -> Any:
    """Share of the roster that is active: |{i ∈ R: ℓ_i = 0}| / |R| (0 with an empty roster)."""
    n = roster.sum(axis=-1)
    return _f(np.where(n > 0, (roster & (level == 0)).sum(axis=-1) / np.maximum(n, 1), 0.0))


def polarization(alignment: Float, present: Bool) -> Any:
    """Mean absolute alignment gap over pairs taking part, (1/|P|²)·Σ_{i,j∈P}|a_i − a_j|·2.

    Normalised so that two equal camps at 0 and 1 give 1 and full agreement gives 0; it is
    2× the Gini mean difference, in [0, 1]. 0 with fewer than two members taking part.
    """
    a = np.asarray(alignment, dtype=float)
    gap = np.abs(a[..., None, :] - a[..., :, None])
    pair = present[..., None, :] & present[..., :, None]
    n = present.sum(axis=-1)
    total = np.where(pair, gap, 0.0).sum(axis=(-1, -2))
    return _f(np.where(n > 1, clip(2.0 * total / np.maximum(n, 1) ** 2, 0.0, 1.0), 0.0))


def blocs(alignment: Float, present: Bool, distance: float) -> Any:
    """Number of alignment blocs: single-linkage clusters of members taking part.

    Sort the alignments of P; a new bloc starts wherever two neighbours are more than
    ``bloc_distance`` apart: B = 1 + |{k: a_(k+1) − a_(k) > d}| (0 if P is empty). The last
    axis runs over members; an int for one model, an int array over leading axes.
    """
    # absent members sort last (as 2, beyond any alignment) and open no gap
    a = np.sort(np.where(present, np.asarray(alignment, dtype=float), 2.0), axis=-1)
    real = a <= 1.0
    gaps = (np.diff(a, axis=-1) > distance) & real[..., 1:]
    count = real[..., 0].astype(int) + gaps.sum(axis=-1)
    return int(count) if count.ndim == 0 else count


def consensus_capacity(alignment: Float, empty_chair: Float, present: Bool, p: Any) -> Any:
    """Weakest link of consensus: Q = min_{i∈P'} m_i ∈ [0, 1].

    m_i = clip((a_i − v)/(1 − v), 0, 1)·(1 − π_e·e_i), with v = ``veto_threshold``: how far the
    least aligned member stands above the point where it would block, discounted while its chair
    is empty (its approval must be sought post hoc). P' = members taking part that are active or
    disengaged (frozen members have suspended participation). 0 if nobody takes part, and 0 as
    soon as one member would block.
    """
    v = p.veto_threshold
    margin = clip((alignment - v) / max(1.0 - v, 1e-9), 0.0, 1.0)
    margin = margin * (1.0 - p.empty_chair_penalty * empty_chair)
    any_present = present.any(axis=-1)
    q = np.where(present, margin, np.inf).min(axis=-1)
    return _f(np.where(any_present, q, 0.0))


def _f(x: Any) -> Any:
    """Python float for 0-d results (cheap to store in Mesa's DataCollector)."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x
