"""Fair for the contact mix: case-mix adjustment, its uncertainty, tie bands and survey-integrity tests.

Pure (numpy and pandas only; no database, no Streamlit). The model, on the star scale:

    stars = mu + agent effect + contact-reason effect + channel effect + noise

fitted by ridge-regularised least squares, which is the posterior mode of the
matching linear mixed model when the penalty is noise variance ÷ effect variance:

* reason and channel effects get a light penalty (``REASON_PENALTY``: one
  rating's worth), so they are nearly fixed effects, learnt from the whole
  center over a context window at least ``CONTEXT_DAYS`` long;
* agent effects are random effects with an empirical-Bayes penalty
  ``lambda = sigma² / tau²`` (method of moments: residual variance over the
  spread of agents' raw offsets left after removing the sampling noise), so an
  agent with few ratings is pulled toward the average agent, like the fair score.

Why plain numpy and not statsmodels' MixedLM: the fit works on cell sums
(agent × reason × channel), solves the normal equations exactly with the
agents' diagonal block eliminated (a Schur complement: only a system of
1 + reasons + channels unknowns is solved), needs no new dependency, and gives
each agent's posterior standard error in closed form,
``sqrt(sigma² / (n + lambda))`` (conditional on the reason and channel effects,
which rest on thousands of ratings). MixedLM would add statsmodels and scipy
and fit iteratively by maximum likelihood on every row.

Rows may stand for several ratings (an ``n`` column: the database groups them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

OTHER = "other"
# Reasons or channels with fewer ratings than this over the context window are pooled into "other".
MIN_RATINGS_PER_GROUP = 30
# Penalty on reason and channel effects (one rating's worth): light, they rest on many ratings (≥ 30 each).
REASON_PENALTY = 1.0
# The shortest window reason and channel effects are learnt from (days, ending with the period).
CONTEXT_DAYS = 28
# A 90% two-sided interval: ±1.645 posterior standard errors.
Z90 = 1.6448536269514722
# Below this many agents with ratings the agent spread cannot be estimated: this penalty instead.
DEFAULT_AGENT_PENALTY = 10.0
LOW_STARS = 3  # a "low" rating for survey integrity: 1–3 stars
WEIGHT = "n"  # an optional column: how many ratings a row stands for (rows grouped by the database)


def weights(frame: pd.DataFrame) -> np.ndarray:
    """How many ratings each row stands for: the ``n`` column when present, else 1 each."""
    if WEIGHT in frame:
        return frame[WEIGHT].to_numpy(dtype="float64")
    return np.ones(len(frame))


@dataclass(frozen=True)
class Effects:
    """What the context window teaches: the level, reason and channel effects, noise and agent spread."""

    mu: float
    reasons: dict[str, float]
    channels: dict[str, float]
    sigma2: float  # residual variance of one rating
    agent_penalty: float  # lambda = sigma² / tau²
    pooled: tuple[str, ...] = ()  # reasons and channels put into "other" for too few ratings
    confounded: tuple[tuple[str, str], ...] = ()  # (reason, the one team that handles it)

    @property
    def notes(self) -> list[str]:
        """Plain-language guard-rail notes for screens and reports."""
        lines = []
        for reason, team in self.confounded:
            lines.append(
                f"Contact reason “{reason}” is handled only by team {team}: how hard it is cannot be told "
                "apart from that team's agents, so it is not adjusted for (counted as “other”)."
            )
        if self.pooled:
            lines.append(
                f"Too few ratings to judge on their own, pooled into “other”: {', '.join(sorted(self.pooled))}."
            )
        return lines


def _factor(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(code per row, cleaned label per code): blanks and missing are "other", case and spaces ignored.

    Cleaning works on the distinct values only, so a million rows cost one factorize.
    """
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    labels = [(str(u).strip().lower() or OTHER) if u is not None else OTHER for u in uniques] + [OTHER]
    return np.where(codes < 0, len(labels) - 1, codes), labels


def _pooled_codes(
    values: pd.Series, min_count: int, w: np.ndarray | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """(code per row, pooled label per code, the labels pooled into "other"); ``w``: ratings per row."""
    codes, labels = _factor(values)
    counts: dict[str, int] = {}
    for label, count in zip(labels, np.bincount(codes, weights=w, minlength=len(labels))):
        counts[label] = counts.get(label, 0) + int(count)
    rare = sorted(label for label, count in counts.items() if 0 < count < min_count and label != OTHER)
    pooled = [OTHER if label in rare else label for label in labels]
    return codes, pooled, rare


def pool_groups(
    values: pd.Series, *, min_count: int = MIN_RATINGS_PER_GROUP, w: np.ndarray | None = None
) -> tuple[pd.Series, list[str]]:
    """Lower-cased labels with the rare ones (fewer than ``min_count`` ratings) replaced by "other".

    Returns (pooled labels, the labels that were pooled). Blank labels are "other" too.
    ``w``: how many ratings each value stands for (1 each when None).
    """
    codes, pooled, rare = _pooled_codes(values, min_count, w)
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(np.asarray(pooled, dtype=object)[codes], index=index), rare


def confounded_reasons(reasons: pd.Series, teams: pd.Series) -> list[tuple[str, str]]:
    """Reasons (not "other") seen in exactly one team while the data hold several teams: (reason, team)."""
    frame = pd.DataFrame({"r": reasons.to_numpy(), "t": teams.astype(str).to_numpy()})
    if frame["t"].nunique() < 2:
        return []
    per = frame[frame["r"] != OTHER].groupby("r")["t"].agg(["nunique", "first"])
    return [(str(r), str(row["first"])) for r, row in per.iterrows() if row["nunique"] == 1]


def prepare(
    frame: pd.DataFrame, *, min_count: int = MIN_RATINGS_PER_GROUP
) -> tuple[pd.DataFrame, list[str], list[tuple[str, str]]]:
    """Pool rare reasons and channels, and fold confounded reasons into "other".

    ``frame``: one row per rating with agent_id, stars, contact_reason, channel and (optionally) team.
    Returns (frame with ``reason`` and ``chan`` columns, pooled labels, confounded (reason, team)).
    """
    out = frame.copy()
    w = weights(out)
    out["reason"], rare_reasons = pool_groups(out["contact_reason"], min_count=min_count, w=w)
    out["chan"], rare_channels = pool_groups(out["channel"], min_count=min_count, w=w)
    confounded = confounded_reasons(out["reason"], out["team"]) if "team" in out else []
    if confounded:
        out["reason"] = out["reason"].mask(out["reason"].isin([r for r, _ in confounded]), OTHER)
    return out, rare_reasons + rare_channels, confounded


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Sufficient statistics per (agent, reason, channel): n, sum and sum of squares of stars."""
    y = frame["stars"].to_numpy(dtype="float64")
    w = weights(frame)
    a_codes, agents = pd.factorize(frame["agent_id"].to_numpy())
    r_codes, reasons = pd.factorize(frame["reason"].to_numpy())
    c_codes, chans = pd.factorize(frame["chan"].to_numpy())
    key = (a_codes.astype("int64") * len(reasons) + r_codes) * len(chans) + c_codes
    cells, inverse = np.unique(key, return_inverse=True)
    return pd.DataFrame({
        "agent_id": agents[cells // (len(reasons) * len(chans))],
        "reason": reasons[(cells // len(chans)) % len(reasons)],
        "chan": chans[cells % len(chans)],
        "n": np.bincount(inverse, weights=w, minlength=len(cells)),
        "s": np.bincount(inverse, weights=w * y, minlength=len(cells)),
        "s2": np.bincount(inverse, weights=w * y * y, minlength=len(cells)),
    })


def _ridge(
    n: np.ndarray, s: np.ndarray, agent: np.ndarray, reason: np.ndarray, chan: np.ndarray,
    sizes: tuple[int, int, int], lam: float, penalty: float,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Exact ridge least squares on cell sums: (mu, agent, reason, channel effects).

    Minimises Σ (y − mu − a[agent] − b[reason] − c[chan])² + lam·|a|² + penalty·(|b|² + |c|²).
    The agents' block of the normal equations is diagonal, so it is eliminated (Schur complement)
    and only a small (1 + reasons + channels) system is solved: exact, in milliseconds.
    """
    n_a, n_r, n_c = sizes
    p = 1 + n_r + n_c
    cols = np.stack([np.zeros_like(reason), 1 + reason, 1 + n_r + chan], axis=1)  # cells × 3
    # E = Xθᵀ W Xθ (+ penalties), B = Xaᵀ W Xθ, right-hand sides.
    pairs = (cols[:, :, None] * p + cols[:, None, :]).reshape(len(n), 9)
    e = np.bincount(pairs.ravel(), weights=np.repeat(n, 9), minlength=p * p).reshape(p, p)
    e[np.arange(1, p), np.arange(1, p)] += penalty
    b = np.bincount((agent[:, None] * p + cols).ravel(), weights=np.repeat(n, 3), minlength=n_a * p).reshape(n_a, p)
    r_theta = np.bincount(cols.ravel(), weights=np.repeat(s, 3), minlength=p)
    r_a = np.bincount(agent, weights=s, minlength=n_a)
    d = np.bincount(agent, weights=n, minlength=n_a) + lam
    theta = np.linalg.solve(e - (b / d[:, None]).T @ b, r_theta - b.T @ (r_a / d))
    a = (r_a - b @ theta) / d
    return float(theta[0]), a, theta[1:1 + n_r], theta[1 + n_r:]


def _codes(values: pd.Series, labels: list[str]) -> np.ndarray:
    return pd.Categorical(values, categories=labels).codes.astype("int64")


def fit_effects(frame: pd.DataFrame, *, min_count: int = MIN_RATINGS_PER_GROUP) -> Effects:
    """Learn mu, reason and channel effects, noise and the agent penalty from the context ratings."""
    if frame.empty:
        return Effects(mu=float("nan"), reasons={}, channels={}, sigma2=float("nan"),
                       agent_penalty=DEFAULT_AGENT_PENALTY)
    prepared, pooled, confounded = prepare(frame, min_count=min_count)
    cells = _cells(prepared)
    agents = sorted(cells["agent_id"].unique())
    reasons = sorted(cells["reason"].unique())
    channels = sorted(cells["chan"].unique())
    idx = [_codes(cells["agent_id"], agents), _codes(cells["reason"], reasons), _codes(cells["chan"], channels)]
    sizes = [len(agents), len(reasons), len(channels)]
    n, s, s2 = (cells[c].to_numpy(dtype="float64") for c in ("n", "s", "s2"))
    lam = DEFAULT_AGENT_PENALTY
    sigma2 = float("nan")
    for _ in range(3):  # empirical Bayes: refit with the penalty the last fit implies
        mu, a, b, c = _ridge(n, s, idx[0], idx[1], idx[2], tuple(sizes), lam, REASON_PENALTY)
        pred = mu + a[idx[0]] + b[idx[1]] + c[idx[2]]
        sse = float((s2 - 2 * pred * s + n * pred * pred).sum())
        dof = max(n.sum() - len(agents) - len(reasons) - len(channels), 1.0)
        sigma2 = max(sse / dof, 1e-6)
        # Raw offsets: each agent's mean residual after level, reason and channel.
        n_agent = np.bincount(idx[0], weights=n, minlength=sizes[0])
        raw = np.bincount(idx[0], weights=s - n * (mu + b[idx[1]] + c[idx[2]]), minlength=sizes[0]) / n_agent
        if len(agents) < 5:
            break
        tau2 = float(np.mean(raw * raw) - np.mean(sigma2 / n_agent))
        tau2 = max(tau2, sigma2 / 1000.0)
        lam = sigma2 / tau2
    return Effects(
        mu=float(mu),
        reasons={r: float(v) for r, v in zip(reasons, b)},
        channels={k: float(v) for k, v in zip(channels, c)},
        sigma2=sigma2,
        agent_penalty=float(lam),
        pooled=tuple(pooled),
        confounded=tuple(confounded),
    )


def _mix_effect(effects: Effects, frame: pd.DataFrame) -> np.ndarray:
    """Each rating's reason + channel effect (labels unknown to the context: "other", else 0)."""
    out = np.zeros(len(frame))
    for column, known in (("contact_reason", effects.reasons), ("channel", effects.channels)):
        codes, labels = _factor(frame[column])
        other = known.get(OTHER, 0.0)
        out += np.array([known.get(label, other) for label in labels])[codes]
    return out


ADJUSTED_COLUMNS = ("agent_id", "ratings", "expected_stars", "adjusted_score", "band_low", "band_high",
                    "difficulty", "se", "raw_score")


@dataclass(frozen=True)
class Adjustment:
    """Per-agent adjusted figures for one period, and what they rest on."""

    table: pd.DataFrame  # ADJUSTED_COLUMNS, one row per agent rated in the period
    effects: Effects
    center_mean: float  # what the average agent averages on the whole center's mix
    notes: list[str] = field(default_factory=list)
    center_mix: float = float("nan")  # the mean reason + channel effect over the center's ratings


def adjust(period: pd.DataFrame, effects: Effects) -> Adjustment:
    """Agent effects for the period's ratings, with reason and channel effects held at ``effects``.

    ``expected_stars``: the average agent on this agent's own mix; ``adjusted_score``: this agent
    on the whole center's mix (period ratings); ``band_low``/``band_high``: a 90% posterior
    interval for it; ``difficulty``: expected_stars − center_mean (negative: a harder mix).
    """
    if period.empty or math.isnan(effects.mu):
        return Adjustment(pd.DataFrame(columns=list(ADJUSTED_COLUMNS)), effects, float("nan"), effects.notes)
    mix = _mix_effect(effects, period)
    y = period["stars"].to_numpy(dtype="float64")
    w = weights(period)
    agents, codes = np.unique(period["agent_id"].to_numpy(), return_inverse=True)
    n = np.bincount(codes, weights=w, minlength=len(agents))
    # Per agent: sum of (stars − reason and channel effects); the rest works on these sums.
    resid = np.bincount(codes, weights=w * (y - mix), minlength=len(agents))
    lam = effects.agent_penalty
    total = float(n.sum())
    mu = effects.mu
    for _ in range(200):  # the period's own level and agent effects, by alternating exact updates
        a = (resid - n * mu) / (n + lam)
        new_mu = float((resid.sum() - (n * a).sum()) / total)
        done = abs(new_mu - mu) < 1e-12
        mu = new_mu
        if done:
            break
    a = (resid - n * mu) / (n + lam)
    center_mix = float((w * mix).sum() / w.sum())
    own_mix = np.bincount(codes, weights=w * mix, minlength=len(agents)) / n
    expected = mu + own_mix
    adjusted = mu + a + center_mix
    se = np.sqrt(effects.sigma2 / (n + lam))
    center_mean = mu + center_mix
    table = pd.DataFrame({
        "agent_id": agents,
        "ratings": n.astype("int64"),
        "expected_stars": expected,
        "adjusted_score": np.clip(adjusted, 1.0, 5.0),
        "band_low": np.clip(adjusted - Z90 * se, 1.0, 5.0),
        "band_high": np.clip(adjusted + Z90 * se, 1.0, 5.0),
        "difficulty": expected - center_mean,
        "se": se,
        # Unshrunk: the agent's own mean on the center's mix, for changes shrunk toward no change.
        "raw_score": resid / n + center_mix,
    })
    return Adjustment(table=table, effects=effects, center_mean=center_mean, notes=effects.notes,
                      center_mix=center_mix)


def adjust_ratings(
    period: pd.DataFrame, context: pd.DataFrame | None = None, *, min_count: int = MIN_RATINGS_PER_GROUP
) -> Adjustment:
    """Fit on ``context`` (the period itself when None) and adjust the period's agents."""
    effects = fit_effects(period if context is None else context, min_count=min_count)
    return adjust(period, effects)


# --------------------------------------------------------------------------- tie bands


def tie_bands(scores, lows, highs) -> list[int]:
    """Band numbers (1, 2, …) for agents given in rank order (best first).

    The rule: bands are runs in rank order. The first agent not yet in a band leads a new
    band; each following agent joins it while their interval overlaps the leader's
    (their ``high`` ≥ the leader's ``low``); the first one that does not leads the next band.
    ``scores`` only fixes the order the caller already used (it must be non-increasing).
    """
    scores, lows, highs = (list(map(float, v)) for v in (scores, lows, highs))
    if any(b > a + 1e-12 for a, b in zip(scores, scores[1:])):
        raise ValueError("tie_bands needs agents in rank order (scores non-increasing)")
    bands: list[int] = []
    leader_low = None
    band = 0
    for low, high in zip(lows, highs):
        if leader_low is None or high < leader_low:
            band += 1
            leader_low = low
        bands.append(band)
    return bands


# --------------------------------------------------------------------------- survey integrity


def binomial_lower_tail(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (exact; fine for n in the tens of thousands)."""
    if n <= 0 or k >= n:
        return 1.0
    if k < 0:
        return 0.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    lg_n = math.lgamma(n + 1)
    terms = [lg_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up; monotone; capped at 1), in the input's order."""
    p = np.asarray(list(p_values), dtype="float64")
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out


def expected_low_rates(frame: pd.DataFrame, *, smoothing: float = 5.0) -> np.ndarray:
    """Per row, the chance of a 1–3★ answer for its reason × channel among the *other* agents' ratings.

    Empirical rate per cell (pooled reasons and channels), leaving the agent's own ratings out
    (so a cherry-picker does not lower their own yardstick), smoothed toward the overall rate of
    the other agents with ``smoothing`` ratings' weight. Rows may stand for several ratings (``n``).
    """
    w = weights(frame)
    low = (frame["stars"].to_numpy() <= LOW_STARS) * w
    agent, _ = pd.factorize(frame["agent_id"].to_numpy())
    cell, _ = pd.factorize(frame["reason"].astype(str) + "\x1f" + frame["chan"].astype(str))
    n_cells = int(cell.max()) + 1 if len(cell) else 0
    pair = agent.astype("int64") * max(n_cells, 1) + cell
    pair_codes, pair_inv = np.unique(pair, return_inverse=True)
    c_low, c_n = np.bincount(cell, weights=low), np.bincount(cell, weights=w)
    m_low = np.bincount(pair_inv, weights=low)[pair_inv]
    m_n = np.bincount(pair_inv, weights=w)[pair_inv]
    a_low, a_n = np.bincount(agent, weights=low)[agent], np.bincount(agent, weights=w)[agent]
    overall = (low.sum() - a_low) / np.maximum(w.sum() - a_n, 1)
    return (c_low[cell] - m_low + smoothing * overall) / (c_n[cell] - m_n + smoothing)


INTEGRITY_ALPHA = 0.01
INTEGRITY_MIN_RATINGS = 20
# Surveys reach this agent at under this share of their team's rate: sending looks selective.
SELECTIVE_SHARE = 0.75


def integrity_table(ratings: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Survey-integrity rows per agent.

    ``ratings``: one row per rating (agent_id, stars, contact_reason, channel).
    ``counts``: one row per agent (agent_id, agent, team, site, closed, offered, rated), offered 0 where
    no offers are known. An agent is flagged when, after the Benjamini–Hochberg correction across
    every agent tested, their share of 1–3★ answers is below what their own mix predicts with
    adjusted p < ``INTEGRITY_ALPHA``, they have ≥ ``INTEGRITY_MIN_RATINGS`` ratings, and surveys
    come back from (or go out to) a clearly smaller share of their contacts than their team's.
    """
    columns = ["agent_id", "agent", "team", "site", "closed", "ratings", "response_rate", "low_share",
               "expected_low_share", "p_value", "flag", "reason"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    frame = ratings.copy()
    w = weights(frame)
    frame["reason"], _ = pool_groups(frame["contact_reason"], w=w)
    frame["chan"], _ = pool_groups(frame["channel"], w=w)
    if len(frame):
        frame["_w"] = w
        frame["_p"] = expected_low_rates(frame) * w
        frame["_low"] = (frame["stars"] <= LOW_STARS) * w
        per = frame.groupby("agent_id")[["_w", "_low", "_p"]].sum()
        per = pd.DataFrame({"ratings": per["_w"].round().astype("int64"), "low": per["_low"].round().astype("int64"),
                            "expected": per["_p"] / per["_w"]})
    else:
        per = pd.DataFrame(columns=["ratings", "low", "expected"])
    out = counts.merge(per, left_on="agent_id", right_index=True, how="left")
    out["ratings"] = out["ratings"].fillna(0).astype("int64")
    out["low"] = out["low"].fillna(0).astype("int64")
    for col in ("closed", "offered", "rated"):
        out[col] = out[col].fillna(0).astype("int64")
    n = out["ratings"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["low_share"] = np.where(n > 0, out["low"] / np.maximum(n, 1), np.nan)
        out["response_rate"] = np.where(out["closed"] > 0, out["rated"] * 100.0 / out["closed"], np.nan)
        out["offer_rate"] = np.where(out["closed"] > 0, out["offered"] * 100.0 / out["closed"], np.nan)
    team_sum = out.groupby("team")[["closed", "rated", "offered"]].transform("sum")
    others_closed = team_sum["closed"] - out["closed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["team_rate"] = np.where(others_closed > 0, (team_sum["rated"] - out["rated"]) * 100.0 / others_closed,
                                    np.nan)
        out["team_offer_rate"] = np.where(
            others_closed > 0, (team_sum["offered"] - out["offered"]) * 100.0 / others_closed, np.nan)
    raw = [binomial_lower_tail(int(k), int(m), float(p)) if m > 0 and not pd.isna(p) else 1.0
           for k, m, p in zip(out["low"], out["ratings"], out["expected"])]
    tested = out["ratings"].to_numpy() >= INTEGRITY_MIN_RATINGS
    adjusted = np.ones(len(out))
    if tested.any():
        adjusted[tested] = benjamini_hochberg(np.asarray(raw)[tested])
    out["p_value"] = adjusted
    out["expected_low_share"] = out["expected"]
    flags, reasons = [], []
    for rec in out.to_dict("records"):
        flag, reason = _verdict(rec)
        flags.append(flag)
        reasons.append(reason)
    out["flag"] = flags
    out["reason"] = reasons
    return out[columns + ["offer_rate", "team_rate", "team_offer_rate"]]


def _selective(rec: dict) -> list[str]:
    """Evidence that fewer of this agent's contacts get (or answer) a survey than their team's."""
    why = []
    rate, team = rec["response_rate"], rec["team_rate"]
    if not pd.isna(rate) and not pd.isna(team) and team > 0 and rate < SELECTIVE_SHARE * team:
        why.append(f"{rate:.0f}% of their contacts are rated against {team:.0f}% for the rest of the team")
    offer, team_offer = rec["offer_rate"], rec["team_offer_rate"]
    if rec["offered"] > 0 or (not pd.isna(team_offer) and team_offer > 0):
        if not pd.isna(offer) and not pd.isna(team_offer) and team_offer > 0 and offer < SELECTIVE_SHARE * team_offer:
            why.append(f"a survey went to {offer:.0f}% of their contacts against {team_offer:.0f}% for the team")
    return why


def _verdict(rec: dict) -> tuple[str, str]:
    n = int(rec["ratings"])
    if n < INTEGRITY_MIN_RATINGS:
        return "no", f"Too few ratings to judge ({n}; needs {INTEGRITY_MIN_RATINGS})."
    share, expected, p = rec["low_share"], rec["expected"], rec["p_value"]
    if p >= INTEGRITY_ALPHA:
        return "no", (f"{share:.0%} of ratings are 1–3★ against {expected:.0%} expected for their contact mix: "
                      "within what chance gives.")
    selective = _selective(rec)
    if not selective:
        return "no", (f"Only {share:.0%} of ratings are 1–3★ against {expected:.0%} expected for their mix, but "
                      "surveys reach their contacts as often as the team's: more likely good work than selection.")
    return "yes", (f"Only {share:.0%} of ratings are 1–3★ against {expected:.0%} expected for their contact mix "
                   f"(chance of this by luck, corrected for testing every agent: {p:.2g}), and "
                   + " and ".join(selective) + ". Check how surveys are sent.")


def improvement(now: pd.DataFrame, base: pd.DataFrame, *, now_mix: float, base_mix: float, penalty: float) -> pd.DataFrame:
    """Each agent's change against their own baseline, on the same (current) center mix, shrunk toward
    no change: ``n/(n + penalty) · (this period's own mean − baseline)``.

    ``now``/``base``: ``adjust`` tables of the period and of the baseline window. The baseline is the
    ridge estimate (pulled toward the average agent), the period's the agent's own unshrunk mean, and
    the gap is pulled toward 0 in proportion to how few ratings the period holds: a handful of lucky
    ratings is not an improvement. Returns agent_id, baseline_ratings, baseline_score, improvement.
    """
    merged = now[["agent_id", "ratings", "raw_score"]].merge(
        base[["agent_id", "ratings", "adjusted_score"]].rename(
            columns={"ratings": "baseline_ratings", "adjusted_score": "baseline_score"}),
        on="agent_id", how="inner")
    merged["baseline_score"] = merged["baseline_score"] - base_mix + now_mix
    n = merged["ratings"].to_numpy(dtype="float64")
    merged["improvement"] = n / (n + penalty) * (merged["raw_score"] - merged["baseline_score"])
    return merged[["agent_id", "baseline_ratings", "baseline_score", "improvement"]]
