"""Build a leaderboard for a period and a scope: queries in, ranked frames out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

import pandas as pd
from sqlmodel import Session

from db import queries
from db.queries import Scope
from leaderboard import ranking
from leaderboard.periods import Period, local_date, local_midnight_utc, resolve_period, zone
from leaderboard.settings import Settings, get_settings

TEAM_COLUMNS = ("rank", "team", "site", "agents", *ranking.RANK_MEASURES, "provisional")


@dataclass(frozen=True)
class Board:
    period: Period
    scope: Scope
    prior: float  # C, the mean stars of every rating in the period and scope
    agents: pd.DataFrame  # ranked agents, then provisional ones
    teams: pd.DataFrame  # team standings

    @property
    def empty(self) -> bool:
        return int(self.agents["ratings"].sum()) == 0 if len(self.agents) else True


def period_for(*, scope: Scope, spec: str | Period, tz: str | None = None, now: datetime | None = None) -> Period:
    """The period in the scope's own time zone (a site's or team's), else ``tz``, else UTC (a Period: as is)."""
    if isinstance(spec, Period):
        return spec
    return resolve_period(spec, tz=zone(scope.timezone or tz), now=now)


def _sums(
    *, session: Session, scope: Scope, period: Period, directory: pd.DataFrame, with_interactions: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-agent sums, per-(agent, team at the time) sums) for the period in the scope.

    A rating counts for the team the agent was in when it was earned (``queries.sums_by_team``):
    a team's board holds what its agents earned in it, former members included, and team
    standings split a moved agent's ratings between their teams. An agent's row names today's team.
    """
    start, end = period.utc_bounds()
    cut = _cut_day(period) if not with_interactions else None
    if _from_rollups(session=session, scope=scope, period=period):
        sums, closed = queries.rollup_sums(
            session=session, scope=scope, first=period.start, end=period.end,
            rank_only=not with_interactions, with_interactions=with_interactions,
        )
    elif cut is not None and _from_rollups(session=session, scope=scope, period=replace(period, end=cut, until=None)):
        # Cut short (like-for-like movement): the whole days from the rollups, the last partial day from raw rows.
        whole, _ = queries.rollup_sums(
            session=session, scope=scope, first=period.start, end=cut, rank_only=True, with_interactions=False
        )
        partial = queries.rating_sums(
            session=session, scope=scope, start=local_midnight_utc(cut, period.tz), end=end, rank_only=True
        )
        sums, closed = _add_sums(whole, partial), None
    else:
        sums = queries.rating_sums(
            session=session, scope=scope, start=start, end=end, rank_only=not with_interactions
        )
        # Ranks (all that movement needs) come from ratings alone; closed counts are the costly query.
        closed = queries.interaction_sums(session=session, scope=scope, start=start, end=end) if with_interactions else None
    if with_interactions:
        sums = sums.merge(closed, on="agent_id", how="outer")
    # Agents with neither ratings nor closed interactions in the period are left out.
    merged = directory.merge(sums, on="agent_id", how="inner")
    by_team = queries.sums_by_team(
        session=session, sums=merged, start=start, end=end, with_interactions=with_interactions
    )
    if by_team is merged:
        return merged, merged
    if scope.team_id is not None:
        # The team's board: what each agent earned in this team (the agent's columns say today's team).
        mine = by_team[by_team["team_id"] == scope.team_id]
        numeric = [c for c in mine.columns if c not in directory.columns]
        agents = directory.merge(mine[["agent_id", *numeric]], on="agent_id", how="inner")
        return agents, mine.reset_index(drop=True)
    return merged, by_team


def _cut_day(period: Period):
    """The local day in which a period cut short (``until``) ends, when whole days come before it; else None."""
    if period.until is None or period.start is None:
        return None
    day = local_date(period.until, period.tz)
    return day if period.start < day < period.end else None


def _add_sums(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Per-agent rating sums of two disjoint parts of a period, added (agents of either)."""
    if second.empty:
        return first
    if first.empty:
        return second
    both = pd.concat([first, second], ignore_index=True)
    return both.groupby("agent_id", as_index=False, sort=True).sum().astype("int64")


def _from_rollups(*, session: Session, scope: Scope, period: Period) -> bool:
    """Whether the period's sums may come from the rollups: whole local days in the zone they were dated in.

    Not for a period cut short (``until``: like-for-like movement) nor when the scope's rows were
    dated in another zone (a moved agent's other site, everyone across zones counted in UTC).
    """
    if period.until is not None:
        return False
    return queries.rollups_cover(
        session=session, scope=scope, first=period.start, end=period.end, tz=getattr(period.tz, "key", str(period.tz))
    )


def _directory(*, session: Session, scope: Scope) -> pd.DataFrame:
    """The scope's agents today; a team's former members too (their ratings from then count for it)."""
    directory = queries.agent_directory(session=session, scope=scope)
    if scope.team_id is not None:
        former = queries.former_members(session=session, team_id=scope.team_id)
        if former:
            extra = queries.agent_directory(session=session, agent_ids=former)
            directory = pd.concat([directory, extra], ignore_index=True).drop_duplicates("agent_id")
    return directory


def build_board(
    *,
    session: Session,
    period: str | Period = "week",
    site: str | None = None,
    team: str | None = None,
    scope: Scope | None = None,
    tz: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
    with_movement: bool = True,
) -> Board:
    """The fair leaderboard and team standings for ``period`` in a scope.

    Raises ``queries.ScopeError`` or ``periods.PeriodError`` for names that
    match nothing.
    """
    settings = settings or get_settings()
    scope = scope or queries.resolve_scope(session=session, site=site, team=team)
    period = period_for(scope=scope, spec=period, tz=tz, now=now)
    directory = _directory(session=session, scope=scope)
    sums, by_team = _sums(session=session, scope=scope, period=period, directory=directory)
    prior = ranking.prior_mean(sums)
    agents = ranking.rank_table(
        sums, prior_weight=settings.prior_weight, min_ratings=settings.min_ratings, prior=prior
    )
    # Like for like: this period so far against the same elapsed part of the previous one.
    moment = now or datetime.now(timezone.utc).replace(tzinfo=None)
    previous = period.previous_so_far(moment) if with_movement else None
    if previous is not None:
        prev_sums, _ = _sums(
            session=session, scope=scope, period=previous, directory=directory, with_interactions=False
        )
        prev_table = ranking.rank_table(
            prev_sums, prior_weight=settings.prior_weight, min_ratings=settings.min_ratings
        )
        agents = ranking.add_movement(agents, ranking.ranks_by_key(prev_table))
    else:
        agents = agents.assign(movement=pd.array([pd.NA] * len(agents), dtype="Int64"))
    teams = team_standings(by_team, prior=prior, settings=settings)
    return Board(period=period, scope=scope, prior=prior, agents=agents, teams=teams)


def team_standings(sums: pd.DataFrame, *, prior: float, settings: Settings) -> pd.DataFrame:
    """The same measures per team, ranked by the same fair rule.

    ``sums`` has a row per agent (or per agent and team the agent was in when rated): each team
    counts the agents who earned ratings in it.
    """
    if sums.empty:
        return pd.DataFrame(columns=list(TEAM_COLUMNS) + ["team_id"])
    numeric = [c for c in ranking.SUM_COLUMNS if c in sums]
    # sums has one row per agent: group on team_id alone, count rows, join the names back.
    by_team = sums.groupby("team_id", sort=True)
    grouped = by_team[numeric].sum()
    grouped.insert(0, "agents", by_team.size())
    names = sums.drop_duplicates("team_id").set_index("team_id")[["team", "site"]]
    grouped = names.join(grouped, how="right").reset_index()
    return ranking.rank_table(
        grouped,
        prior_weight=settings.prior_weight,
        min_ratings=settings.min_ratings,
        name_column="team",
        prior=prior,
    )


def daily_trend(
    *, session: Session, scope: Scope, period: Period, agent_ids: list[int] | None = None
) -> pd.DataFrame:
    """Mean stars per agent per local day of the period: agent_id, day, avg_stars, ratings."""
    start, end = period.utc_bounds()
    points = queries.rating_points(session=session, scope=scope, start=start, end=end, agent_ids=agent_ids)
    if points.empty:
        return pd.DataFrame(columns=["agent_id", "day", "avg_stars", "ratings"])
    points["day"] = [local_date(t.to_pydatetime() if hasattr(t, "to_pydatetime") else t, period.tz) for t in points["rated_at"]]
    return (
        points.groupby(["agent_id", "day"], as_index=False)
        .agg(avg_stars=("stars", "mean"), ratings=("stars", "size"))
        .sort_values(["agent_id", "day"])
    )


def sparklines(trend: pd.DataFrame, days: list) -> dict[int, list[float | None]]:
    """{agent_id: [daily mean or None for each day]} for a sparkline column."""
    result: dict[int, list[float | None]] = {}
    for agent_id, group in trend.groupby("agent_id"):
        by_day = dict(zip(group["day"], group["avg_stars"]))
        result[int(agent_id)] = [round(float(by_day[d]), 2) if d in by_day else None for d in days]
    return result


def star_distribution(*, session: Session, scope: Scope, period: Period) -> pd.DataFrame:
    """How many ratings of each star value (1–5) in the period and scope."""
    start, end = period.utc_bounds()
    points = queries.rating_points(session=session, scope=scope, start=start, end=end)
    counts = points["stars"].value_counts() if len(points) else pd.Series(dtype="int64")
    return pd.DataFrame({"stars": [1, 2, 3, 4, 5], "ratings": [int(counts.get(s, 0)) for s in range(1, 6)]})


def public_rows(table: pd.DataFrame) -> list[dict]:
    """Rows with exactly the public RANK_COLUMNS, rounded for output."""
    rows = []
    for rec in table.to_dict("records"):
        row = {}
        for col in ranking.RANK_COLUMNS:
            value = rec.get(col)
            if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
                value = None
            elif col == "score":
                value = round(float(value), 4)
            elif col == "avg_stars":
                value = round(float(value), 3)
            elif col in ("five_star_pct", "response_rate", "fcr_pct", "nps"):
                value = round(float(value), 1)
            elif col in ("rank", "movement", "ratings"):
                value = int(value)
            elif col == "provisional":
                value = bool(value)
            row[col] = value
        rows.append(row)
    return rows
