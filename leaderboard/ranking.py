"""The fair star leaderboard, as pure functions over per-agent sums.

score = (n·avg + m·C) ÷ (n + m)

where n is the agent's number of ratings in the period, avg their mean stars,
C the mean stars of every rating in that period and scope, and m the prior
weight. Every agent starts with m "average" ratings, so one lucky 5★ cannot
outrank two hundred 4.8s, yet a long run of great ratings still wins.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

# Sums of the ratings the queries return per agent (or per team) for a period.
RATING_SUM_COLUMNS = (
    "ratings",
    "star_sum",
    "five_count",
    "resolved_yes",
    "resolved_answered",
    "nps_n",
    "promoters",
    "detractors",
)
# Every sum a rank is computed from: the ratings' and the interactions' (closed, rated).
SUM_COLUMNS = (*RATING_SUM_COLUMNS, "closed", "rated")

# The measures a rank row shows, for agents and for teams alike.
RANK_MEASURES = (
    "ratings",
    "avg_stars",
    "score",
    "five_star_pct",
    "response_rate",
    "fcr_pct",
    "nps",
)

# The public columns of `rank --format csv|json`, in order.
RANK_COLUMNS = ("rank", "agent", "team", "site", *RANK_MEASURES, "movement", "provisional")

# Scores are compared after rounding so float noise never splits a tie.
TIE_DECIMALS = 9


def score_from_sums(star_sum, n, *, prior_mean, prior_weight: float):
    """(Σstars + m·C) ÷ (n + m): THE fair score, on scalars, numpy arrays or pandas Series.

    Written on the star sum (not n·avg) so every caller gets the same float bits.
    """
    return (star_sum + prior_weight * prior_mean) / (n + prior_weight)


def fair_score(n: float, avg: float, *, prior_weight: float, prior_mean: float) -> float:
    """(n·avg + m·C) ÷ (n + m); the prior mean alone when there are no ratings."""
    if n + prior_weight <= 0:
        return float("nan")
    return score_from_sums(n * avg, n, prior_mean=prior_mean, prior_weight=prior_weight)


def tie_key(score):
    """The score as compared for ties (rounded to TIE_DECIMALS); scalars, arrays or Series."""
    return np.round(score, TIE_DECIMALS)


def prior_mean(sums: pd.DataFrame) -> float:
    """C: mean stars of every rating in the frame (NaN when there are none)."""
    n = float(sums["ratings"].sum()) if len(sums) else 0.0
    return float(sums["star_sum"].sum()) / n if n else float("nan")


def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype("float64")
    return (num.astype("float64") * 100.0 / den.where(den > 0)).astype("float64")


def add_measures(sums: pd.DataFrame, *, prior_weight: float, prior: float) -> pd.DataFrame:
    """Add avg_stars, score and the percentage measures to a frame of sums."""
    cols = list(SUM_COLUMNS)
    out = sums.assign(**{col: 0 for col in cols if col not in sums})
    # One block operation, then numpy: a fillna/astype/setitem per column costs ~0.3 ms each.
    out[cols] = out[cols].fillna(0).astype("int64")
    v = {col: out[col].to_numpy(dtype="float64") for col in cols}
    n = v["ratings"]
    c = prior if not math.isnan(prior) else np.nan

    def pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num * 100.0 / den, np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(n > 0, v["star_sum"] / n, np.nan)
        # An agent with no ratings sits exactly at the prior (kept as NaN when C is unknown).
        score = score_from_sums(v["star_sum"], n, prior_mean=c, prior_weight=prior_weight)
    return out.assign(
        avg_stars=avg,
        score=score,
        five_star_pct=pct(v["five_count"], n),
        response_rate=pct(v["rated"], v["closed"]),
        fcr_pct=pct(v["resolved_yes"], v["resolved_answered"]),
        nps=pct(v["promoters"] - v["detractors"], v["nps_n"]),
    )


def assign_ranks(frame: pd.DataFrame, *, name_column: str, min_ratings: int) -> pd.DataFrame:
    """Order and rank: score desc, then ratings desc, then name; ties share a rank (1, 2, 2, 4).

    Rows with fewer than ``min_ratings`` ratings are provisional: listed after
    the ranked rows (most ratings first), with no rank.
    """
    provisional = (frame["ratings"] < min_ratings).to_numpy()
    tie_score = tie_key(frame["score"]).to_numpy(dtype="float64")
    # One stable sort: ranked rows first (score desc, ratings desc, name), then provisional ones.
    keys = pd.DataFrame(
        {
            "p": provisional,
            "s": np.where(provisional, 0.0, tie_score),
            "n": frame["ratings"].to_numpy(),
            "k": frame[name_column].astype(str).str.casefold().to_numpy(),
        }
    )
    order = keys.sort_values(["p", "s", "n", "k"], ascending=[True, False, False, True], kind="mergesort").index
    out = frame.take(order).reset_index(drop=True)
    out["provisional"] = provisional[order]
    n_ranked = int((~provisional).sum())
    s, n = tie_score[order][:n_ranked], out["ratings"].to_numpy()[:n_ranked]
    new = np.ones(n_ranked, dtype=bool)
    new[1:] = (s[1:] != s[:-1]) | (n[1:] != n[:-1])  # NaN != NaN: NaN scores never share a rank
    ranks = np.maximum.accumulate(np.where(new, np.arange(1, n_ranked + 1), 0))
    rank = pd.array(np.concatenate([ranks, np.zeros(len(out) - n_ranked, dtype="int64")]), dtype="Int64")
    rank[n_ranked:] = pd.NA
    out["rank"] = rank
    return out


def rank_within_groups(
    sums: pd.DataFrame, *, group_by: list[str], prior_weight: float, min_ratings: int, name_column: str = "agent"
) -> pd.DataFrame:
    """``assign_ranks`` of ``rank_table`` applied to every group at once (e.g. per team, per team-week).

    Prior C = the group's mean stars; score desc, then ratings desc, then name;
    ties share a rank; fewer than ``min_ratings`` ratings: provisional, no rank.
    Vectorised because calling rank_table per group costs ~25 ms a group.
    ``sums`` has ``group_by`` columns, ``name_column``, ratings and star_sum; adds
    score, tie (the compared score), rank (Int64) and ranked (ranked rows in the group).
    """
    df = sums.copy()
    df["ratings"] = df["ratings"].astype("int64")
    df["star_sum"] = df["star_sum"].astype("int64")
    groups = df.groupby(group_by)
    prior = groups["star_sum"].transform("sum") / groups["ratings"].transform("sum")
    df["score"] = score_from_sums(df["star_sum"], df["ratings"], prior_mean=prior, prior_weight=prior_weight)
    df["tie"] = tie_key(df["score"])
    ranked = df[df["ratings"] >= min_ratings].copy()
    ranked["_name"] = ranked[name_column].astype(str).str.casefold()
    ranked = ranked.sort_values(
        [*group_by, "tie", "ratings", "_name"],
        ascending=[*[True] * len(group_by), False, False, True],
        kind="mergesort",
    )
    ranked["_pos"] = ranked.groupby(group_by).cumcount() + 1
    ranked["rank"] = ranked.groupby([*group_by, "tie", "ratings"])["_pos"].transform("min")
    df["rank"] = ranked["rank"].reindex(df.index).astype("Int64")
    size = ranked.groupby(group_by).size().rename("ranked")
    df["ranked"] = df[group_by].merge(size, left_on=group_by, right_index=True, how="left")["ranked"].fillna(0).astype("int64").to_numpy()
    return df


def rank_table(
    sums: pd.DataFrame,
    *,
    prior_weight: float,
    min_ratings: int,
    name_column: str = "agent",
    prior: float | None = None,
) -> pd.DataFrame:
    """Measures and ranks for one period; ``prior`` defaults to C of ``sums``."""
    c = prior_mean(sums) if prior is None else prior
    measured = add_measures(sums, prior_weight=prior_weight, prior=c)
    return assign_ranks(measured, name_column=name_column, min_ratings=min_ratings)


def add_movement(table: pd.DataFrame, previous_ranks: Mapping[int, int], *, key: str = "agent_id") -> pd.DataFrame:
    """movement = previous rank − rank now (positive is up); empty unless ranked both times."""
    out = table.copy()
    prev = out[key].map(lambda k: previous_ranks.get(k, pd.NA)).astype("Int64")
    out["movement"] = (prev - out["rank"]).astype("Int64")
    return out


def ranks_by_key(table: pd.DataFrame, *, key: str = "agent_id") -> dict[int, int]:
    """{key: rank} for the ranked rows of a ranked table."""
    ranked = table[table["rank"].notna()]
    return {int(k): int(r) for k, r in zip(ranked[key], ranked["rank"])}


def movement_label(movement) -> str:
    """▲ 3 / ▼ 2 / = / new, for screens."""
    if movement is None or movement is pd.NA or (isinstance(movement, float) and math.isnan(movement)):
        return "new"
    m = int(movement)
    if m > 0:
        return f"▲ {m}"
    if m < 0:
        return f"▼ {-m}"
    return "="


def ratings_to_pass(*, n: int, star_sum: int, target_score: float, prior_weight: float, prior: float) -> int | None:
    """How many more 5★ ratings lift a score strictly above ``target_score`` (None if never)."""
    if target_score >= 5:
        return None
    for extra in range(0, 10_000):
        score = score_from_sums(star_sum + 5 * extra, n + extra, prior_mean=prior, prior_weight=prior_weight)
        if score > target_score + 10**-TIE_DECIMALS:
            return extra
    return None


# How many ranked colleagues an agent sees above and below their own row.
AGENT_NEIGHBOURS = 2


def agent_view_rows(board: pd.DataFrame, agent_id: int | None, top: int) -> pd.DataFrame:
    """The rows of a board an agent may see: "praise in public, criticism 1:1".

    ``board`` is a board's agents table (ranked rows first, then provisional
    ones, with ``rank`` and ``agent_id``). The agent sees the top ``top`` ranked
    rows, their own row, and the ``AGENT_NEIGHBOURS`` ranked rows above and
    below it; from the provisional list only their own row. Order is kept.
    """
    ranked = board["rank"].notna().to_numpy()
    keep = ranked & (board["rank"].fillna(0).to_numpy() <= top) & (board["rank"].fillna(0).to_numpy() >= 1)
    if agent_id is not None and "agent_id" in board:
        mine = (board["agent_id"] == agent_id).to_numpy()
        keep = keep | mine
        positions = np.flatnonzero(mine & ranked)
        if len(positions):
            here = int(positions[0])
            low, high = max(here - AGENT_NEIGHBOURS, 0), here + AGENT_NEIGHBOURS + 1
            near = np.zeros(len(board), dtype=bool)
            near[low:high] = True
            keep = keep | (near & ranked)
    return board[keep]
