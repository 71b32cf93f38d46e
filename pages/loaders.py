"""Cached reads shared by the pages (filter lists, counts, the leaderboard view) and the first-run seed.

Every loader is keyed by the database URL and the data version, so an import
or a seed in any process shows on the next run; ``clear_data_caches`` forgets
them at once in this process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import streamlit as st
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from db import queries
from leaderboard import board as boards
from leaderboard import charts, ranking
from leaderboard import demo as seed
from leaderboard import fairness
from leaderboard.periods import Period, local_date
from leaderboard.settings import Settings
from pages.common import DATA_TTL_SECONDS, app_settings, get_engine

FILTER_TTL_SECONDS = 300


# --------------------------------------------------------------------------- first run


@dataclass
class _SeedGuard:
    lock: threading.Lock = field(default_factory=threading.Lock)
    populated: bool = False


@st.cache_resource(show_spinner=False)
def _seed_guard(url: str) -> _SeedGuard:
    # One per database and process: two first visitors must not seed twice.
    return _SeedGuard()


def ensure_demo_data() -> bool:
    """Seed demo data into an empty database (when ``STARBOARD_AUTO_SEED`` allows); True if it did.

    Cheap after the first call: the answer "this database has data" is remembered. An
    unreachable database is asked again on the next run: the page itself says it is away
    (the wall shows "reconnecting"), not this first-run check.
    """
    settings = app_settings()
    if not settings.auto_seed:
        return False
    guard = _seed_guard(settings.database_url)
    if guard.populated:
        return False
    try:
        engine = get_engine()
        empty = seed.is_empty(engine)
    except OperationalError:
        return False
    with guard.lock:
        if guard.populated:
            return False
        seeded = False
        if empty:
            with st.spinner("First run: building a demo contact center so there is something to look at…"):
                seeded = bool(seed.ensure_seeded(engine))
        guard.populated = True
    if seeded:
        clear_data_caches()
    return seeded


def clear_data_caches() -> None:
    """Forget cached query results (after an import or a seed in this process)."""
    load_filter_options.clear()
    load_leaderboard.clear()
    load_counts.clear()


# --------------------------------------------------------------------------- cached loaders


@dataclass(frozen=True)
class FilterOptions:
    sites: tuple[str, ...]
    teams: dict[str, tuple[str, ...]]  # site ("" for every site) -> team names

    def teams_for(self, site: str | None) -> tuple[str, ...]:
        return self.teams.get(site or "", ())


@st.cache_data(ttl=FILTER_TTL_SECONDS, max_entries=16, show_spinner=False)
def load_filter_options(url: str, version: tuple) -> FilterOptions:
    with Session(get_engine()) as session:
        sites = tuple(queries.site_names(session=session))
        teams = {"": tuple(queries.team_names(session=session))}
        for site in sites:
            teams[site] = tuple(queries.team_names(session=session, site=site))
    return FilterOptions(sites=sites, teams=teams)


@st.cache_data(ttl=FILTER_TTL_SECONDS, max_entries=16, show_spinner=False)
def load_counts(url: str, version: tuple) -> dict[str, int]:
    with Session(get_engine()) as session:
        return {"agents": queries.count_agents(session=session), "ratings": queries.count_ratings(session=session)}


@dataclass(frozen=True)
class LeaderboardView:
    """Everything the leaderboard page shows, computed once per filters and data version."""

    board: boards.Board
    settings: Settings
    today: date
    totals: dict
    previous_totals: dict | None
    trend_days: tuple[date, ...]
    sparks: dict[int, list]
    daily: pd.DataFrame  # day, avg_stars, ratings over trend_days, every agent in scope
    distribution: pd.DataFrame  # stars, ratings

    @property
    def has_previous(self) -> bool:
        return self.board.period.previous() is not None

    @property
    def ranked(self) -> pd.DataFrame:
        return self.board.agents[self.board.agents["rank"].notna()]

    @property
    def provisional(self) -> pd.DataFrame:
        return self.board.agents[self.board.agents["rank"].isna()]


def _totals(agents: pd.DataFrame, *, settings: Settings, prior: float) -> dict:
    """Scope-wide measures: the same formulas as one agent's, over everyone's sums."""
    columns = [c for c in ranking.SUM_COLUMNS if c in agents]
    sums = agents[columns].sum().to_frame().T if len(agents) else pd.DataFrame({c: [0] for c in columns})
    row = ranking.add_measures(sums, prior_weight=settings.prior_weight, prior=prior).iloc[0]
    return {k: row[k] for k in ("ratings", "avg_stars", "five_star_pct", "response_rate", "fcr_pct", "nps")}


def _daily(trend: pd.DataFrame, days: list[date]) -> pd.DataFrame:
    """Per-day scope average from per-agent daily means (weighted by their ratings)."""
    frame = pd.DataFrame({"day": days})
    if trend.empty:
        return frame.assign(avg_stars=float("nan"), ratings=0)
    weighted = trend.assign(star_sum=trend["avg_stars"] * trend["ratings"])
    per_day = weighted.groupby("day", as_index=False).agg(star_sum=("star_sum", "sum"), ratings=("ratings", "sum"))
    per_day["avg_stars"] = per_day["star_sum"] / per_day["ratings"]
    out = frame.merge(per_day[["day", "avg_stars", "ratings"]], on="day", how="left")
    out["ratings"] = out["ratings"].fillna(0).astype("int64")
    return out


@st.cache_data(ttl=DATA_TTL_SECONDS, max_entries=64, show_spinner="Ranking…")
def load_leaderboard(
    url: str, version: tuple, settings: Settings, period: str, site: str | None, team: str | None
) -> LeaderboardView:
    """The board for ``period`` (a name or START..END) in a site/team; raises ScopeError/PeriodError."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with Session(get_engine()) as session:
        board = boards.build_board(session=session, period=period, site=site, team=team, settings=settings, now=now)
        today = local_date(now, board.period.tz)
        previous_totals = None
        previous = board.period.previous_so_far(now)  # like for like: the same elapsed part
        if previous is not None:
            before = boards.build_board(
                session=session, period=previous, scope=board.scope, settings=settings, with_movement=False
            )
            if not before.empty:
                previous_totals = _totals(before.agents, settings=settings, prior=before.prior)
        days = charts.trend_days(board.period, today)
        window = Period("trend", board.period.tz, days[0], days[-1] + timedelta(days=1))
        trend = boards.daily_trend(session=session, scope=board.scope, period=window)
        distribution = boards.star_distribution(session=session, scope=board.scope, period=board.period)
    return LeaderboardView(
        board=board,
        settings=settings,
        today=today,
        totals=_totals(board.agents, settings=settings, prior=board.prior),
        previous_totals=previous_totals,
        trend_days=tuple(days),
        sparks=boards.sparklines(trend, days),
        daily=_daily(trend, days),
        distribution=distribution,
    )


@st.cache_data(ttl=DATA_TTL_SECONDS, max_entries=32, show_spinner="Adjusting for the contact mix…")
def load_adjusted(
    url: str, version: tuple, settings: Settings, period: str, site: str | None, team: str | None
) -> fairness.AdjustedBoard:
    """The board ranked by the case-mix adjusted score, with tie bands (issue 17)."""
    view = load_leaderboard(url, version, settings, period, site, team)
    with Session(get_engine()) as session:
        return fairness.adjusted_board(session=session, board=view.board, min_ratings=settings.min_ratings)


@st.cache_data(ttl=DATA_TTL_SECONDS, max_entries=32, show_spinner="Checking survey sending…")
def load_integrity(url: str, version: tuple, viewer, period: str, site: str | None, team: str | None) -> pd.DataFrame:
    """The survey-integrity table for a leader or manager (``fairness.integrity_report`` checks the role)."""
    with Session(get_engine()) as session:
        return fairness.integrity_report(session=session, viewer=viewer, period=period, site=site, team=team)
