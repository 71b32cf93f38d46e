"""Fair for the contact mix (issue 17): the case-mix adjusted leaderboard and the survey-integrity check.

Use cases over ``leaderboard.casemix`` (the pure model): the ratings come from ``db.queries``;
the fit is cached per (database, period bounds, change counter).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session

from db import queries
from db.queries import Scope
from leaderboard import casemix, ranking
from leaderboard.auth import AuthError, Role, Viewer
from leaderboard.board import Board, period_for, public_rows
from leaderboard.periods import Period

ADJUSTED_RANK_COLUMNS = (*ranking.RANK_COLUMNS, "expected_stars", "adjusted_score", "band_low", "band_high")
INTEGRITY_COLUMNS = ("agent", "team", "site", "closed", "ratings", "response_rate", "low_share",
                     "expected_low_share", "p_value", "flag", "reason")

_CACHE: "OrderedDict[tuple, casemix.Adjustment]" = OrderedDict()
_CACHE_SIZE = 16


def context_bounds(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The window reason and channel effects are learnt from: the period, stretched back to at least
    ``casemix.CONTEXT_DAYS`` days when it is shorter (a short period has too few hard contacts)."""
    if start is None or end is None:
        return start, end
    return min(start, end - timedelta(days=casemix.CONTEXT_DAYS)), end


def center_adjustment(*, session: Session, period: Period) -> casemix.Adjustment:
    """The whole center's fit for the period (every agent, so a team's board is comparable to the others')."""
    start, end = period.utc_bounds()
    key = (str(session.get_bind().url), start, end, queries.data_version(session=session))
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    ratings = queries.ratings_with_mix(session=session, scope=Scope(), start=start, end=end)
    c_start, c_end = context_bounds(start, end)
    context = ratings if (c_start, c_end) == (start, end) else queries.ratings_with_mix(
        session=session, scope=Scope(), start=c_start, end=c_end
    )
    result = casemix.adjust(ratings, casemix.fit_effects(context))
    _CACHE[key] = result
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


@dataclass(frozen=True)
class AdjustedBoard:
    agents: pd.DataFrame  # the board's columns + expected_stars, adjusted_score, band_low/high, difficulty, band
    center_mean: float
    notes: list[str]


def adjusted_board(*, session: Session, board: Board, min_ratings: int) -> AdjustedBoard:
    """The board's agents ranked by ``adjusted_score`` (ties share a rank), with tie bands.

    Provisional agents (fewer than ``min_ratings`` ratings) stay listed after the ranked ones, unranked.
    """
    fit = center_adjustment(session=session, period=board.period)
    extra = fit.table.drop(columns=["ratings"])
    agents = board.agents.drop(columns=["rank", "movement"], errors="ignore").merge(extra, on="agent_id", how="left")
    ranked = agents[(~agents["provisional"].astype(bool)) & agents["adjusted_score"].notna()].copy()
    rest = agents.drop(ranked.index).copy()
    ranked["_s"] = ranking.tie_key(ranked["adjusted_score"])
    ranked["_k"] = ranked["agent"].astype(str).str.casefold()
    ranked = ranked.sort_values(["_s", "ratings", "_k"], ascending=[False, False, True], kind="mergesort")
    s, n = ranked["_s"].to_numpy(), ranked["ratings"].to_numpy()
    new = np.ones(len(ranked), dtype=bool)
    new[1:] = (s[1:] != s[:-1]) | (n[1:] != n[:-1])
    ranks = np.maximum.accumulate(np.where(new, np.arange(1, len(ranked) + 1), 0)) if len(ranked) else []
    ranked["rank"] = pd.array(list(ranks), dtype="Int64")
    ranked["band"] = pd.array(
        casemix.tie_bands(ranked["adjusted_score"], ranked["band_low"], ranked["band_high"]), dtype="Int64"
    )
    rest["rank"] = pd.array([pd.NA] * len(rest), dtype="Int64")
    rest["band"] = pd.array([pd.NA] * len(rest), dtype="Int64")
    out = pd.concat([ranked.drop(columns=["_s", "_k"]), rest], ignore_index=True)
    out["provisional"] = out["provisional"].astype(bool)
    out["movement"] = pd.array([pd.NA] * len(out), dtype="Int64")  # movement is the plain board's
    return AdjustedBoard(agents=out, center_mean=fit.center_mean, notes=fit.notes)


def adjusted_rows(table: pd.DataFrame) -> list[dict]:
    """Rows with ADJUSTED_RANK_COLUMNS, rounded for output (the plain columns as ``public_rows``)."""
    rows = public_rows(table)
    for row, rec in zip(rows, table.to_dict("records")):
        for col in ("expected_stars", "adjusted_score", "band_low", "band_high"):
            value = rec.get(col)
            row[col] = None if value is None or pd.isna(value) else round(float(value), 4)
    return rows


# --------------------------------------------------------------------------- most improved (issue 17, section 4)

BASELINE_DAYS = 56  # the agent's own baseline: the 8 weeks before the period
IMPROVEMENT_COLUMNS = ("rank", "agent", "team", "site", "ratings", "baseline_ratings", "baseline_score",
                       "adjusted_score", "improvement")


class NoBaseline(ValueError):
    """A period without a start (all time) has no "before" to improve on."""


def improvement_table(*, session: Session, board: Board, min_ratings: int) -> pd.DataFrame:
    """Improvement against the agent's own baseline (``casemix.improvement``): this period on the
    center's mix against their adjusted score over the 8 weeks before it, with the same reason and
    channel effects, pulled toward no change for few ratings.
    Ranked: agents with at least ``min_ratings`` ratings in both windows, most improved first
    (ties share a rank); the others are listed after, unranked.
    """
    start, end = board.period.utc_bounds()
    if start is None:
        raise NoBaseline("improvement needs a period with a start (today, week, month, last7, last30 or a range), not all")
    fit = center_adjustment(session=session, period=board.period)
    before = queries.ratings_with_mix(
        session=session, scope=Scope(), start=start - timedelta(days=BASELINE_DAYS), end=start
    )
    base = casemix.adjust(before, fit.effects)
    change = casemix.improvement(fit.table, base.table, now_mix=fit.center_mix, base_mix=base.center_mix,
                                 penalty=fit.effects.agent_penalty)
    now = fit.table[["agent_id", "adjusted_score"]]
    table = board.agents[["agent_id", "agent", "team", "site", "ratings"]].merge(now, on="agent_id", how="left")
    table = table.merge(change, on="agent_id", how="left")
    table["baseline_ratings"] = table["baseline_ratings"].fillna(0).astype("int64")
    ok = (table["ratings"] >= min_ratings) & (table["baseline_ratings"] >= min_ratings) & table["improvement"].notna()
    ranked = table[ok].copy()
    ranked["_s"] = ranking.tie_key(ranked["improvement"])
    ranked["_k"] = ranked["agent"].astype(str).str.casefold()
    ranked = ranked.sort_values(["_s", "ratings", "_k"], ascending=[False, False, True], kind="mergesort")
    s, n = ranked["_s"].to_numpy(), ranked["ratings"].to_numpy()
    new = np.ones(len(ranked), dtype=bool)
    new[1:] = (s[1:] != s[:-1]) | (n[1:] != n[:-1])
    ranks = np.maximum.accumulate(np.where(new, np.arange(1, len(ranked) + 1), 0)) if len(ranked) else []
    ranked["rank"] = pd.array(list(ranks), dtype="Int64")
    rest = table[~ok].copy()
    rest["rank"] = pd.array([pd.NA] * len(rest), dtype="Int64")
    return pd.concat([ranked.drop(columns=["_s", "_k"]), rest], ignore_index=True)


def improvement_rows(table: pd.DataFrame) -> list[dict]:
    rows = []
    for rec in table.to_dict("records"):
        row = {}
        for col in IMPROVEMENT_COLUMNS:
            value = rec.get(col)
            if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
                value = None
            elif col in ("rank", "ratings", "baseline_ratings"):
                value = int(value)
            elif col in ("baseline_score", "adjusted_score", "improvement"):
                value = round(float(value), 4)
            row[col] = value
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- survey integrity

INTEGRITY_ROLES = (Role.LEADER, Role.MANAGER, Role.ADMIN)


def integrity_report(
    *,
    session: Session,
    viewer: Viewer,
    period: str | Period = "month",
    site: str | None = None,
    team: str | None = None,
    tz: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Who collects too few low ratings for their contact mix: INTEGRITY_COLUMNS (+ agent_id, offer rates).

    Leaders, managers and admins only (never agents, never a wall); a leader sees their own team.
    Raises ``AuthError`` for anyone else, ``ScopeError``/``PeriodError`` for names that match nothing.
    """
    if viewer.role not in INTEGRITY_ROLES:
        raise AuthError("the survey-sending check is for team leaders and managers only")
    scope = queries.resolve_scope(session=session, site=site, team=team)
    period = period_for(scope=scope, spec=period, tz=tz, now=now)
    start, end = period.utc_bounds()
    # The yardstick is the whole center's: a team that cherry-picks together still stands out.
    ratings = queries.ratings_with_mix(session=session, scope=Scope(), start=start, end=end)
    counts = queries.survey_counts(session=session, scope=Scope(), start=start, end=end)
    directory = queries.agent_directory(session=session)
    counts = directory[["agent_id", "agent", "team_id", "team", "site_id", "site"]].merge(
        counts, on="agent_id", how="inner")
    table = casemix.integrity_table(ratings, counts)
    table = table.merge(directory[["agent_id", "team_id", "site_id"]], on="agent_id", how="left")
    keep = pd.Series(True, index=table.index)
    if scope.team_id is not None:
        keep &= table["team_id"] == scope.team_id
    elif scope.site_id is not None:
        keep &= table["site_id"] == scope.site_id
    if not viewer.is_admin:
        keep &= pd.Series([viewer.can_see_agent(agent_id=int(a), team_id=int(t), site_id=int(s))
                           for a, t, s in zip(table["agent_id"], table["team_id"], table["site_id"])],
                          index=table.index, dtype=bool)
    table = table[keep].copy()
    table = table.sort_values(["flag", "p_value", "agent"], ascending=[False, True, True], kind="mergesort")
    return table.reset_index(drop=True)


def integrity_rows(table: pd.DataFrame) -> list[dict]:
    rows = []
    for rec in table.to_dict("records"):
        row = {}
        for col in INTEGRITY_COLUMNS:
            value = rec.get(col)
            if value is not None and not isinstance(value, str) and pd.isna(value):
                value = None
            elif col in ("closed", "ratings"):
                value = int(value)
            elif col == "response_rate":
                value = round(float(value), 1)
            elif col in ("low_share", "expected_low_share"):
                value = round(float(value), 3)
            elif col == "p_value":
                value = float(f"{float(value):.3g}")
            row[col] = value
        rows.append(row)
    return rows
