"""The model's equations as pure functions (docs/MODEL.md, section 7 "Submodels").

Every function works on Python floats and on NumPy arrays alike (element-wise, broadcasting),
so that the Mesa model and a future vectorised ensemble engine share one set of equations.
Functions that need coefficients take a ``p`` argument: a
:class:`cstosim.language.parameters.Parameters`
or any object with the same attribute names (for instance a ``SimpleNamespace`` of arrays, one
value per replicate). Functions that combine members (peer influence, the collective response)
take arrays whose *last* axis runs over members. No function draws random numbers: noise and
uniform draws are arguments, so the caller owns the generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Num = Any  # float or NDArray[np.float64]; kept loose so float in ⇒ float out
FArray = NDArray[np.float64]


def _out(x: Any, like: Any) -> Num:
    """Return a float when every input was a scalar, else an array."""
    return float(x) if np.ndim(like) == 0 and np.ndim(x) == 0 else x


def clip(x: Any, lo: Any, hi: Any) -> Any:
    """min(max(x, lo), hi), element-wise (cheaper than ``np.clip`` on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def logistic(x: Num) -> Num:
    """σ(x) = 1 / (1 + exp(−x)), overflow-safe (docs/MODEL.md §7).

    Scalars go through the same NumPy expression as arrays, so that both give the same bits.
    """
    z = np.exp(-np.abs(x))
    return _out(np.where(np.asarray(x) >= 0, 1.0 / (1.0 + z), z / (1.0 + z)), x)


# --------------------------------------------------------------------------------------------
# §7.3 Learning: credibility as a Beta posterior, grievance
# --------------------------------------------------------------------------------------------


def beta_mean(alpha: Num, beta: Num) -> Num:
    """Credibility c = α / (α + β), the mean of the Beta(α, β) posterior (docs/MODEL.md §7.3)."""
    return _out(np.asarray(alpha) / (np.asarray(alpha) + np.asarray(beta)), alpha)


def beta_prior(credibility: Num, weight: Num) -> tuple[Num, Num]:
    """Prior pseudo-counts α₀ = c₀·k₀, β₀ = (1 − c₀)·k₀ (docs/MODEL.md §7.3)."""
    return credibility * weight, (1.0 - credibility) * weight


def learn(alpha: Num, beta: Num, response: Num, weight: Num) -> tuple[Num, Num]:
    """Bayesian update from one observed answer (docs/MODEL.md §7.3).

    An answer of level r ∈ [0, 1] seen with weight λ adds λ·r successes and λ·(1 − r) failures:
    α' = α + λ·r, β' = β + λ·(1 − r). λ is ``learning_caller`` for the requesting state,
    ``learning_bystander`` for the others, ``learning_attack``·severity for an unanswered attack.
    """
    return alpha + weight * response, beta + weight * (1.0 - response)


def forget(alpha: Num, beta: Num, alpha0: Num, beta0: Num, memory: Num) -> tuple[Num, Num]:
    """Evidence decays toward the prior: α' = α₀ + (1 − μ)(α − α₀), same for β (§7.3)."""
    return alpha0 + (1.0 - memory) * (alpha - alpha0), beta0 + (1.0 - memory) * (beta - beta0)


def reported_credibility(
    domestic: Num, interstate: Num, threat_total: Num, regime_insecurity: Num
) -> Num:
    """Exposure-weighted credibility, the one number reported per member (§7.3).

    c = (ΣT·c_I + R·c_D)/(ΣT + R) with ΣT the member's total threat and R its regime insecurity;
    the plain mean (c_I + c_D)/2 if it has neither.
    """
    total = threat_total + regime_insecurity
    mixed = (threat_total * interstate + regime_insecurity * domestic) / np.maximum(total, 1e-12)
    return _out(np.where(total > 0, mixed, 0.5 * (domestic + interstate)), mixed)


def grievance_step(grievance: Num, decay: Num) -> Num:
    """Monthly fading of grievance: G' = (1 − δ)·G (docs/MODEL.md §7.3)."""
    return (1.0 - decay) * grievance


def grievance_add(grievance: Num, severity: Num, response: Num, gain: Num, cap: Num = 10.0) -> Num:
    """An unanswered (or half-answered) call: G' = min(G + g·s·(1 − r), G_max) (§7.3).

    G_max = ``grievance_cap`` (default 10, the upper bound of a member's initial grievance).
    """
    return _out(np.minimum(grievance + gain * severity * (1.0 - response), cap), grievance)


# --------------------------------------------------------------------------------------------
# §7.4 Membership value and outside option
# --------------------------------------------------------------------------------------------


def security_value(external_threat: Num, internal_threat: Num, credibility: Num, p: Any) -> Num:
    """Security from credible protection (docs/MODEL.md §7.4).

    S = w_sec·c_I·Σ_s T_s·(1 − τ_s) − w_int·Σ_s' T_s'. ``external_threat`` is Σ over sources
    outside the alliance of threat × (1 − tie of the source to the leader): protection the
    alliance can credibly give. ``internal_threat`` is Σ over sources that are the leader or a
    participating member: the alliance cannot protect against them, so they lower value.
    """
    return p.weight_security * credibility * external_threat - (
        p.weight_internal_threat * internal_threat
    )


def membership_value(
    security: Num,
    regime: Num,
    structural: Num,
    entrapment: Num,
    grievance: Num,
    p: Any,
) -> Num:
    """Membership value V (docs/MODEL.md §7.4).

    V = S + w_reg·R·c_D + w_dep·D + w_cap·k − w_ent·X·E − w_aut·A − w_grv·G, where ``regime`` is
    R·c_D, ``structural`` is w_dep·D + w_cap·k − w_aut·A (see :func:`structural_value`) and
    ``entrapment`` is X·E (sanctions exposure times the entrapment of others' wars).
    """
    return (
        security
        + p.weight_regime * regime
        + structural
        - p.weight_entrapment * entrapment
        - p.weight_grievance * grievance
    )


def structural_value(dependence: Num, capability: Num, autonomy_cost: Num, p: Any) -> Num:
    """The slow-moving part of value: w_dep·D + w_cap·k − w_aut·A (docs/MODEL.md §7.4)."""
    return (
        p.weight_dependence * dependence
        + p.weight_capability * capability
        - p.weight_autonomy * autonomy_cost
    )


def combine_independent(shares: ArrayLike, axis: int = 0) -> Num:
    """1 − Π(1 − x): the union of independent shares, in [0, 1] (docs/MODEL.md §7.4).

    Used for the outside option O = 1 − Π_poles(1 − pull) and for the entrapment of several
    simultaneous wars E = 1 − Π_wars(1 − e).
    """
    x = np.asarray(shares, dtype=float)
    if x.size == 0:
        return 0.0
    return _out(1.0 - np.prod(1.0 - x, axis=axis), x.sum(axis=axis))


def net_value(value: Num, outside: Num, p: Any) -> Num:
    """Net value N = V − w_out·O (docs/MODEL.md §7.4)."""
    return value - p.weight_outside * outside


def threat_split(
    threats: FArray, inside: NDArray[np.bool_], leader_ties: FArray
) -> tuple[FArray, FArray]:
    """Split each member's threats into what the alliance can and cannot protect against (§7.4).

    ``threats`` has sources on its last axis; ``inside`` marks the sources inside the alliance
    (the leader and members taking part), ``leader_ties`` is each source's tie τ_s to the leader.
    External: Σ_{s outside} T_s·(1 − τ_s); internal: Σ_{s inside} T_s.
    """
    external = (threats * np.where(inside, 0.0, 1.0 - leader_ties)[..., None, :]).sum(axis=-1)
    internal = (threats * inside[..., None, :]).sum(axis=-1)
    return external, internal


def war_entrapment(entrapment: Num, initiator_present: Any, is_initiator: Any) -> Num:
    """One war's entrapment of each member: e_w for every member but its initiator, and only while
    the initiator takes part in the alliance (an outsider's or an exited member's war entraps no
    one) (docs/MODEL.md §7.8). Several wars combine by :func:`combine_independent`."""
    return np.where(np.asarray(initiator_present) & ~np.asarray(is_initiator), entrapment, 0.0)


def outside_option(pulls: ArrayLike) -> Num:
    """O = 1 − Π_poles(1 − π): the union of the poles' pulls; poles on axis −2 (§7.4)."""
    return combine_independent(pulls, axis=-2) if np.size(pulls) else 0.0


def pull_growth_step(pulls: Num, listed: Any, growth: Num) -> Num:
    """A month of a pole's pull growth: π' = clip(π + [listed]·γ/12, 0, 1) (§7.4).

    Only pulls the scenario lists (or events have set) grow; γ is the pole's annual growth.
    """
    return clip(pulls + np.where(listed, growth / 12.0, 0.0), 0.0, 1.0)


def pull_gain(pull: Num, strength: Num, p: Any) -> Num:
    """An outside engagement strengthens a pole's pull: π' = min(1, π + g·strength) (§7.4)."""
    return np.minimum(1.0, pull + p.engagement_pull_gain * strength)


# --------------------------------------------------------------------------------------------
# §7.5 Alignment
# --------------------------------------------------------------------------------------------


def target_alignment(net: Num, sensitivity: Num) -> Num:
    """a* = σ(κ·N): what membership is worth, mapped to [0, 1] (docs/MODEL.md §7.5)."""
    return logistic(sensitivity * net)


def peer_pull(alignment: FArray, present: NDArray[np.bool_], bound: Num) -> FArray:
    """Mean gap to peers within the confidence bound (Deffuant/Hegselmann–Krause; §7.5).

    P_i = mean over j ≠ i, j present, |a_j − a_i| ≤ ε of (a_j − a_i); 0 with no such peer.
    The last axis runs over members (so (replicates, members) arrays work too).
    """
    a = np.asarray(alignment, dtype=float)
    gap = a[..., None, :] - a[..., :, None]  # gap[..., i, j] = a_j − a_i
    mask = (np.abs(gap) <= bound) & present[..., None, :] & present[..., :, None]
    n = a.shape[-1]
    mask = mask & ~np.eye(n, dtype=bool)
    count = mask.sum(axis=-1)
    total = np.where(mask, gap, 0.0).sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def alignment_step(
    alignment: Num,
    target: Num,
    peers: Num,
    leader_gap: Num,
    dependence: Num,
    noise: Num,
    p: Any,
) -> Num:
    """One synchronous month of alignment (docs/MODEL.md §7.5).

    a' = clip(a + ρ(a* − a) + μ·P + π·D·(a_L − a) + σ·ξ, 0, 1), with ``leader_gap`` = a_L − a
    and ``noise`` = ξ, a standard normal draw (the caller multiplies nothing: σ is applied here).
    """
    a = (
        alignment
        + p.alignment_rate * (target - alignment)
        + p.peer_influence * peers
        + p.leader_pressure * dependence * leader_gap
        + p.alignment_noise * noise
    )
    return _out(clip(a, 0.0, 1.0), alignment)


def nudge(alignment: Num, gain: Num) -> Num:
    """Close a share g of the gap to full alignment: a' = a + g(1 − a) (drills, chair; §7.6)."""
    return _out(clip(alignment + gain * (1.0 - alignment), 0.0, 1.0), alignment)


def signal_shift(alignment: Num, strength: Num, p: Any) -> Num:
    """A public signal of distance: a' = max(0, a − δ_sig·strength) (docs/MODEL.md §7.6)."""
    return np.maximum(0.0, alignment - p.signal_alignment_shift * strength)


def dissent(grievance: Num, p: Any) -> Num:
    """How far grievance turns into public dissent: d = min(1, γ_d·G) (docs/MODEL.md §7.6).

    γ_d = ``grievance_dissent``. A member nursing an unanswered call stays away from summits and
    drills and withholds its signature (Armenia after September 2022, fact sheet).
    """
    return np.minimum(1.0, p.grievance_dissent * grievance)


def attends(level: Any, alignment: Num, uniform: Num, grievance: Num, p: Any) -> Any:
    """Who turns up at a summit or drill (docs/MODEL.md §7.6), from one uniform draw u.

    P(attend) = (1 − d) for an active member and a·(1 − d) for a disengaged one (a its
    alignment, d = :func:`dissent`); frozen and exited members are not expected.
    """
    lv = np.asarray(level)
    stay = 1.0 - dissent(grievance, p)
    u = np.asarray(uniform)
    return ((lv == 0) & (u < stay)) | ((lv == 1) & (u < alignment * stay))


def approves(alignment: Num, noise: Num, grievance: Num, p: Any) -> Any:
    """A member signs a declaration iff a − d + ε ≥ veto_threshold (d = :func:`dissent`, ε the
    scaled noise; docs/MODEL.md §7.6)."""
    return np.asarray(alignment - dissent(grievance, p) + noise) >= p.veto_threshold


# --------------------------------------------------------------------------------------------
# §7.2 Invocations
# --------------------------------------------------------------------------------------------


def crisis_cost(crisis: str, p: Any) -> Any:
    """c_k, the cost of helping per unit severity of a crisis of kind k (§7.2): ``cost_domestic``
    (unrest against a government), ``cost_interstate`` (an attack by another state) or
    ``cost_intercommunal`` (violence between communities: helping means taking sides inside a
    member's society, outside the treaty's remit of aggression)."""
    return {
        "domestic": p.cost_domestic,
        "interstate": p.cost_interstate,
        "intercommunal": p.cost_intercommunal,
    }[str(crisis)]


def willingness(
    alignment: Num,
    regime_insecurity: Num,
    severity: Num,
    tie: Num,
    capacity_gap: Num,
    crisis: str,
    noise: Num,
    p: Any,
) -> Num:
    """Each member's willingness to help the requesting state (docs/MODEL.md §7.2).

    W = clip(a + [domestic]·σ_R·R − c_k·s − w_τ·τ − w_K·(1 − K)·[leader] + ε, 0, 1):
    alignment, plus the shared interest of insecure incumbents in putting down unrest against a
    government (``domestic`` crises only), minus the cost of the crisis kind k times severity
    (:func:`crisis_cost`), minus the strongest tie of the aggressor to the leader or to the
    helper, minus (for the leader only: ``capacity_gap`` is 1 − K for it and 0 for others) the
    capacity its wars have drained; ε is the noise, already scaled by ``response_noise``.
    """
    cost = crisis_cost(crisis, p)
    solidarity = p.regime_solidarity * regime_insecurity if crisis == "domestic" else 0.0
    w = (
        alignment
        + solidarity
        - cost * severity
        - p.weight_aggressor_ties * tie
        - p.weight_capacity * capacity_gap
        + noise
    )
    return _out(clip(w, 0.0, 1.0), alignment)


def collective_response(
    will: FArray,
    capability: FArray,
    takes_part: NDArray[np.bool_],
    leader: NDArray[np.bool_],
    capacity: Num,
    p: Any,
) -> tuple[Any, Any]:
    """The alliance's response level and whether consensus was blocked (docs/MODEL.md §7.2).

    Members taking part (joined, active or disengaged, not the caller) decide by consensus: the
    decision is blocked if any of them has W < veto_threshold. The leader's effort is capped by
    its free capacity, e_L = min(W_L, K); the others' effort is e_j = W_j.
    Passed: r = Σ k_j·e_j / Σ k_j over those taking part (capability-weighted).
    Blocked: the leader may act alone, r = u·e_L (u = ``unilateral_share``), or 0 if the leader
    does not take part. The last axis runs over members. Returns (r, blocked).
    """
    will = np.asarray(will, dtype=float)
    effort = np.where(leader, np.minimum(will, capacity), will)
    part = np.asarray(takes_part, dtype=bool)
    blocked = np.any(blockers(will, part, p), axis=-1)
    weight = np.where(part, capability, 0.0)
    total = weight.sum(axis=-1)
    passed = np.where(total > 0, (weight * effort).sum(axis=-1) / np.maximum(total, 1e-12), 0.0)
    alone = p.unilateral_share * np.where(part & leader, effort, 0.0).sum(axis=-1)
    r = clip(np.where(blocked, alone, passed), 0.0, 1.0)
    if r.ndim == 0:
        return float(r), bool(blocked)
    return r, blocked


def blockers(will: Any, takes_part: Any, p: Any) -> Any:
    """Members that block the consensus: taking part with W < veto_threshold (§7.2)."""
    return np.asarray(takes_part, dtype=bool) & (np.asarray(will) < p.veto_threshold)


DEPLOYMENT_INDEX = 4  # none, statements, fact-finding, token-force, deployment


def outcome_index(response: Num, p: Any) -> Any:
    """Graded outcome 0..4 = none, statements, fact-finding, token-force, deployment (§7.2).

    The number of thresholds (statements, fact-finding, token-force, deployment) that the
    response level reaches: monotone in r whatever the thresholds' order.
    """
    r = np.asarray(response, dtype=float)
    k = (
        (r >= p.threshold_statements).astype(int)
        + (r >= p.threshold_fact_finding)
        + (r >= p.threshold_token_force)
        + (r >= p.threshold_deployment)
    )
    return int(k) if k.ndim == 0 else k


def outcome_level(index: int, p: Any) -> float:
    """Representative response level of graded outcome ``index``: the middle of its band (§7.2).

    Bands are [0, t_st), [t_st, t_ff), [t_ff, t_tf), [t_tf, t_dep), [t_dep, 1]; with the default
    thresholds: none 0.05, statements 0.2, fact-finding 0.4, token-force 0.6, deployment 0.85.
    Used for imposed (counterfactual) answers.
    """
    edges = [
        0.0,
        float(p.threshold_statements),
        float(p.threshold_fact_finding),
        float(p.threshold_token_force),
        float(p.threshold_deployment),
        1.0,
    ]
    lo, hi = edges[index], max(edges[index], edges[index + 1])
    return (lo + hi) / 2.0


def request_ceiling(index: int, p: Any) -> float:
    """Highest response level given to a request for outcome ``index`` (docs/MODEL.md §7.2).

    1 for a request for deployment (no cap); otherwise the middle of the requested outcome's
    band (``outcome_level``), so a request for consultations is answered with statements at most.
    """
    return 1.0 if index >= DEPLOYMENT_INDEX else outcome_level(index, p)


def answer_ceiling(index: int, severity: Num, p: Any) -> Num:
    """The most the alliance sends: r_max = min(r_req, ν·s) (docs/MODEL.md §7.2).

    Nobody sends more than was asked for (r_req, :func:`request_ceiling`) nor more than the
    crisis calls for: ν = ``need_per_severity`` times the severity s, the scenario's measure of
    how grave the crisis is on the scale of the response (a prospective threat of 0.4 calls for
    less than an uprising of 0.8). Members judge the answer against this ceiling
    (:func:`fulfilment`).
    """
    return _out(np.minimum(request_ceiling(index, p), p.need_per_severity * severity), severity)


def cap_response(response: Num, ceiling: Num) -> Num:
    """Nobody sends more than was asked for: r' = min(r, r_req) (docs/MODEL.md §7.2)."""
    return np.minimum(response, ceiling)


def fulfilment(response: Num, ceiling: Num) -> Num:
    """How fully a call was answered: f = min(1, r / r_max), 1 if nothing was called for (§7.2).

    r_max is :func:`answer_ceiling`: the lesser of what the caller asked for (``requested``; full
    deployment unless the request was narrower, e.g. Armenia's request for consultations in
    May 2021, fact sheet) and what the crisis called for. Members learn from f, not r: a state
    that asked for consultations and got them was answered, one that asked for troops and got a
    fact-finding mission was not.
    """
    r_req = np.asarray(ceiling, dtype=float)
    f = np.where(r_req > 0, np.minimum(1.0, response / np.maximum(r_req, 1e-12)), 1.0)
    return _out(f, response)


def delay_days(response: Num, p: Any) -> Num:
    """Delay of the answer in days: d = d_max·(1 − r)² (docs/MODEL.md §7.2).

    A decisive answer is quick (Kazakhstan 2022: aircraft within a day); a half-hearted one
    drags on.
    """
    gap = 1.0 - response
    return p.response_delay_days * (gap * gap)


# --------------------------------------------------------------------------------------------
# §7.7 Engagement, exit and renewal
# --------------------------------------------------------------------------------------------


def step_threshold(step: Any, exit_cost: Num, p: Any, years_frozen: Num = 0.0) -> Num:
    """Net value below which step ``step`` (1: →disengaged, 2: →frozen, 3: →exited) beckons.

    θ_k = θ₀ − (k − 1)·Δ − [k = 3]·w_X·X (docs/MODEL.md §7.7): each further step of withdrawal
    needs a worse net value, and the exit cost deters the last one. The exit threshold rises by
    δ_τ = ``exit_drift`` per year τ the member has been frozen, up to θ₂ (leaving is never easier
    than freezing): θ₃(τ) = min(θ₃ + δ_τ·τ, θ₂). A frozen member pays for membership without its
    benefits; the longer it stays so, the less a formal tie is worth keeping.
    """
    k = np.asarray(step)
    theta = (
        p.engagement_threshold
        - (k - 1) * p.engagement_step
        - np.where(k == 3, p.weight_exit_cost * exit_cost, 0.0)
    )
    freeze = p.engagement_threshold - p.engagement_step
    drifted = np.minimum(theta + p.exit_drift * years_frozen, freeze)
    theta = np.where(k == 3, drifted, theta)
    return _out(theta, np.asarray(step) + np.asarray(exit_cost) + np.asarray(years_frozen))


def engagement_hazards(
    net: Num, level: Any, exit_cost: Num, p: Any, years_frozen: Num = 0.0
) -> tuple[Num, Num]:
    """Monthly probabilities of stepping down and up one engagement level (§7.7).

    For level ℓ ∈ {0 active, 1 disengaged, 2 frozen}:
    h↓ = h·σ(β(θ_{ℓ+1} − N)) (none from exited: it is left only by a ``join`` event);
    h↑ = h·σ(β(N − θ_ℓ − η)) for ℓ ≥ 1 (none from active or exited), η the hysteresis;
    θ_k from :func:`step_threshold` (with the years a frozen member has been frozen).
    """
    lv = np.asarray(level)
    down_theta = step_threshold(lv + 1, exit_cost, p, years_frozen)
    up_theta = step_threshold(lv, exit_cost, p)
    down = p.hazard_base * logistic(p.hazard_slope * (down_theta - net))
    up = p.hazard_base * logistic(p.hazard_slope * (net - up_theta - p.hysteresis))
    down = np.where((lv >= 0) & (lv <= 2), down, 0.0)
    up = np.where((lv >= 1) & (lv <= 2), up, 0.0)
    return _out(down, net), _out(up, net)


def engagement_transition(level: Any, down: Num, up: Num, uniform: Num) -> Any:
    """New level from one uniform draw u: down if u < h↓, up if u > 1 − h↑, else stay (§7.7)."""
    lv = np.asarray(level)
    u = np.asarray(uniform)
    new = np.where(u < down, lv + 1, np.where(u > 1.0 - np.asarray(up), lv - 1, lv))
    return int(new) if new.ndim == 0 else new


def renewal_probability(net: Num, exit_cost: Num, p: Any) -> Num:
    """Probability of renewing the treaty at a renewal event (docs/MODEL.md §7.7).

    P(renew) = σ(β_r·(N + w_X·d_r·X − θ_r)): staying must be chosen, and the exit cost deters
    leaving only in part (d_r = ``renewal_exit_discount``) since the treaty simply lapses.
    """
    return logistic(
        p.renewal_slope
        * (net + p.weight_exit_cost * p.renewal_exit_discount * exit_cost - p.renewal_threshold)
    )


# --------------------------------------------------------------------------------------------
# §7.8 The leading state's capacity
# --------------------------------------------------------------------------------------------


def capacity_target(base: Num, drains: ArrayLike) -> Num:
    """K* = K₀·Π_wars(1 − d_w): what the leader could spare with its current wars (§7.8)."""
    d = np.asarray(drains, dtype=float)
    return _out(base * np.prod(1.0 - d, axis=-1), base) if d.size else base


def capacity_step(capacity: Num, target: Num, recovery: Num) -> Num:
    """Monthly relaxation toward the target: K' = K + ρ·(K* − K) (docs/MODEL.md §7.8)."""
    return capacity + recovery * (target - capacity)


def capacity_drain(capacity: Num, drain: Num) -> Num:
    """A war starts: it absorbs a share d of the free capacity at once, K' = (1 − d)·K (§7.8)."""
    return (1.0 - drain) * capacity
