"""Read queries: keyword-only, typed, session first, bound parameters only.

Period boundaries arrive as naive UTC datetimes computed in Python
(``leaderboard.periods``), so nothing here depends on a SQL dialect's date
functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Sequence

import pandas as pd
from sqlalchemy import case, exists, func
from sqlmodel import Session, select

from db import changes, rollups
from db import scope as scope_sql
from db.chunks import chunks
from db.models import (
    Agent,
    AgentDay,
    AgentTeam,
    AppMeta,
    Badge,
    BadgeAward,
    Interaction,
    Rating,
    RatingTag,
    Site,
    SurveyOffer,
    Team,
)
from leaderboard.auth import DataKind, Viewer, require_viewer
from leaderboard.ranking import RATING_SUM_COLUMNS

AGENT_COLUMNS = (
    "agent_id",
    "agent",
    "display_name",
    "hide_from_wall",
    "active",
    "team_id",
    "team",
    "site_id",
    "site",
    "timezone",
)


def _tuples(result) -> list[tuple]:
    """Rows as plain tuples. pandas 3.1's DataFrame.from_records asks every non-tuple row
    hasattr(row, "dtype"), and a SQLAlchemy Row answers through a raised-and-caught KeyError."""
    return [tuple(row) for row in result]


class ScopeError(LookupError):
    """A site or team name that matches nothing (or more than one thing)."""


@dataclass(frozen=True)
class Scope:
    """Everyone, one site, or one team; ``timezone`` is the zone its days are counted in."""

    site_id: int | None = None
    team_id: int | None = None
    site: str | None = None
    team: str | None = None
    timezone: str | None = None  # None: everyone (UTC unless a zone is given)

    @property
    def label(self) -> str:
        if self.team:
            return f"{self.team} ({self.site})"
        return self.site or "Everyone"


def resolve_scope(*, session: Session, site: str | None = None, team: str | None = None) -> Scope:
    """Scope from site and team names (case-insensitive; a team may be written SITE/TEAM)."""
    site = (site or "").strip() or None
    team = (team or "").strip() or None
    site_row: Site | None = None
    if team and "/" in team and not site:
        site, team = (part.strip() for part in team.split("/", 1))
    if site:
        site_row = session.exec(select(Site).where(func.lower(Site.name) == site.lower())).first()
        if site_row is None:
            names = ", ".join(session.exec(select(Site.name).order_by(Site.name)).all()) or "none yet"
            raise ScopeError(f"no site named {site!r} (sites: {names})")
    if not team:
        if site_row is None:
            return Scope()
        return Scope(site_id=site_row.id, site=site_row.name, timezone=site_row.timezone)
    stmt = select(Team, Site).join(Site, Site.id == Team.site_id).where(func.lower(Team.name) == team.lower())
    if site_row is not None:
        stmt = stmt.where(Team.site_id == site_row.id)
    matches = session.exec(stmt).all()
    if not matches:
        where = f" at {site_row.name}" if site_row else ""
        raise ScopeError(f"no team named {team!r}{where}")
    if len(matches) > 1:
        sites = ", ".join(sorted(s.name for _, s in matches))
        raise ScopeError(f"team {team!r} exists at several sites ({sites}): add --site")
    team_row, team_site = matches[0]
    return Scope(
        site_id=team_site.id,
        team_id=team_row.id,
        site=team_site.name,
        team=team_row.name,
        timezone=team_site.timezone,
    )


def _agents_in_scope(scope: Scope, *, former: bool = False):
    """Subquery of agent ids in the scope, or None for everyone.

    ``former``: a team's agents are its members today and anyone who was a member before
    (``agent_team``): the sums that ``sums_by_team`` splits by the team at the time.
    """
    if scope.team_id is not None and former:
        was = select(AgentTeam.agent_id).where(AgentTeam.team_id == scope.team_id)
        return select(Agent.id).where((Agent.team_id == scope.team_id) | Agent.id.in_(was))
    if scope.team_id is not None:
        return select(Agent.id).where(Agent.team_id == scope.team_id)
    if scope.site_id is not None:
        return select(Agent.id).join(Team, Team.id == Agent.team_id).where(Team.site_id == scope.site_id)
    return None


def _time_filter(column, start: datetime | None, end: datetime | None) -> list:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def agent_directory_select(*team_columns):
    """SELECT of ``AGENT_COLUMNS`` (``team_columns`` after team_id, team), agents by name.

    ``db.coaching_store.agent_frame`` adds the team's leader this way.
    """
    return (
        select(
            Agent.id,
            Agent.name,
            Agent.display_name,
            Agent.hide_from_wall,
            Agent.active,
            Team.id,
            Team.name,
            *team_columns,
            Site.id,
            Site.name,
            Site.timezone,
        )
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
        .order_by(Agent.name)
    )


def agent_directory(
    *, session: Session, scope: Scope = Scope(), agent_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Every agent in the scope with their (today's) team and site; ``agent_ids``: these agents, whatever the scope."""
    stmt = agent_directory_select()
    if agent_ids is not None:
        stmt = stmt.where(Agent.id.in_([int(i) for i in agent_ids]))
    elif scope.team_id is not None:
        stmt = stmt.where(Agent.team_id == scope.team_id)
    elif scope.site_id is not None:
        stmt = stmt.where(Team.site_id == scope.site_id)
    return pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=list(AGENT_COLUMNS))


def rating_sums(
    *,
    session: Session,
    scope: Scope,
    start: datetime | None,
    end: datetime | None,
    rank_only: bool = False,
    agent_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Per-agent sums of the ratings given in [start, end), excluded ratings left out.

    ``rank_only``: just ratings and star_sum (what a rank needs; each CASE sum costs time per row).
    """
    resolved_yes = func.sum(case((Rating.resolved.is_(True), 1), else_=0))
    measures = (
        []
        if rank_only
        else [
            func.sum(case((Rating.stars == 5, 1), else_=0)),
            resolved_yes,
            func.count(Rating.resolved),
            func.count(Rating.nps),
            func.sum(case((Rating.nps >= 9, 1), else_=0)),
            func.sum(case((Rating.nps <= 6, 1), else_=0)),
        ]
    )
    stmt = select(
        Rating.agent_id,
        func.count(),
        func.sum(Rating.stars),
        *measures,
    ).where(Rating.excluded_cause.is_(None), *_time_filter(Rating.rated_at, start, end))
    agents = _agents_in_scope(scope, former=True)
    if agents is not None:
        stmt = stmt.where(Rating.agent_id.in_(agents))
    if agent_ids is not None:
        stmt = stmt.where(Rating.agent_id.in_([int(i) for i in agent_ids]))
    stmt = stmt.group_by(Rating.agent_id)
    columns = ["agent_id", *RATING_SUM_COLUMNS]
    return pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=columns[: 3 if rank_only else None])


def interaction_sums(
    *,
    session: Session,
    scope: Scope,
    start: datetime | None,
    end: datetime | None,
    agent_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Per-agent interactions closed in [start, end) and how many of them were rated: the response rate.

    Where offers are known (``survey_offer``: the customer was sent a link or an e-mail) the
    rate is over what was asked. The rule, per agent and period: when any interaction of the
    agent closed in the period has an offer, ``closed`` counts the offered ones and ``rated``
    those of them that were rated (interactions without an offer are left out); otherwise
    ``closed`` counts every interaction closed and ``rated`` the rated ones, as before offers.
    A team's rate sums its agents' figures.
    """
    agents = _agents_in_scope(scope, former=True)
    if agent_ids is not None:
        agents = select(Agent.id).where(Agent.id.in_([int(i) for i in agent_ids]))
    frame = _closed_and_rated(session=session, agents=agents, start=start, end=end)
    return _over_offers(frame, session=session, agents=agents, start=start, end=end)


def _over_offers(frame: pd.DataFrame, *, session: Session, agents, start, end) -> pd.DataFrame:
    """``frame`` with closed/rated replaced by offered/answered-offered for agents that have offers."""
    if session.exec(select(SurveyOffer.id).limit(1)).first() is None:
        return frame  # no offer anywhere (every import-only floor): nothing to look up
    # Driven from the offers (an interaction offered by two channels counts once): proportional to them.
    stmt = (
        select(Interaction.agent_id, func.count(func.distinct(Interaction.id)), func.count(func.distinct(Rating.id)))
        .select_from(SurveyOffer)
        .join(Interaction, Interaction.id == SurveyOffer.interaction_id)
        .outerjoin(Rating, Rating.interaction_id == Interaction.id)
        .where(*_time_filter(Interaction.closed_at, start, end))
    )
    if agents is not None:
        stmt = stmt.where(Interaction.agent_id.in_(agents))
    stmt = stmt.group_by(Interaction.agent_id)
    asked = pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=["agent_id", "offered", "answered"])
    if asked.empty:
        return frame
    out = frame.merge(asked, on="agent_id", how="left")
    has = out["offered"].fillna(0) > 0
    out["closed"] = out["closed"].where(~has, out["offered"]).astype("int64")
    out["rated"] = out["rated"].where(~has, out["answered"]).astype("int64")
    return out.drop(columns=["offered", "answered"])


def _closed_and_rated(*, session: Session, agents, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    if start is None and end is None:
        # All time needs no join: rating.agent_id repeats the interaction's agent, so an
        # agent's rated interactions are their ratings. Two index-only scans instead of
        # one lookup from interaction into rating per interaction (2.9M at 1M ratings).
        closed = select(Interaction.agent_id, func.count()).group_by(Interaction.agent_id)
        rated = select(Rating.agent_id, func.count()).group_by(Rating.agent_id)
        if agents is not None:
            closed = closed.where(Interaction.agent_id.in_(agents))
            rated = rated.where(Rating.agent_id.in_(agents))
        frame = pd.DataFrame.from_records(_tuples(session.exec(closed)), columns=["agent_id", "closed"])
        counts = pd.DataFrame.from_records(_tuples(session.exec(rated)), columns=["agent_id", "rated"])
        frame = frame.merge(counts, on="agent_id", how="left")
        frame["rated"] = frame["rated"].fillna(0).astype("int64")
        return frame
    stmt = (
        select(Interaction.agent_id, func.count(), func.count(Rating.id))
        .select_from(Interaction)
        .outerjoin(Rating, Rating.interaction_id == Interaction.id)
        .where(*_time_filter(Interaction.closed_at, start, end))
    )
    if agents is not None:
        stmt = stmt.where(Interaction.agent_id.in_(agents))
    stmt = stmt.group_by(Interaction.agent_id)
    return pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=["agent_id", "closed", "rated"])


def rollups_cover(*, session: Session, scope: Scope, first: date | None, end: date | None, tz: str) -> bool:
    """Whether the rollups (``agent_day``) give the sums of the local days [first, end) in ``tz`` for the scope.

    True when every rollup row the scope may sum in or near those days was dated in ``tz`` (its
    team's site is in that zone): a site or team in one zone, or everyone when all sites share
    it. All time (no days) needs no zone. False sends the board to the raw rows.
    """
    if first is None or end is None:
        return True
    agents = _agents_in_scope(scope, former=True)
    if agents is None:
        # Everyone: the rows are dated in their sites' zones (a site's new zone re-dates its rows).
        return session.exec(select(Site.id).where(Site.timezone != tz).limit(1)).first() is None
    stmt = (
        select(AgentDay.agent_id)
        .join(Team, Team.id == AgentDay.team_id)
        .join(Site, Site.id == Team.site_id)
        # A local day is within ±14 h of the UTC one: two days either side is more than enough.
        .where(Site.timezone != tz, AgentDay.day >= first - timedelta(days=2), AgentDay.day < end + timedelta(days=2))
    )
    return session.exec(stmt.where(AgentDay.agent_id.in_(agents)).limit(1)).first() is None


def rollup_sums(
    *,
    session: Session,
    scope: Scope,
    first: date | None,
    end: date | None,
    rank_only: bool = False,
    with_interactions: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(``rating_sums``, ``interaction_sums``) of the local days [first, end) read from the rollups.

    The same frames, row for row and value for value, as the raw queries give for the period's UTC
    bounds, when ``rollups_cover`` says the rollups' days are the period's. The response rate
    follows ``interaction_sums``' rule: over the offered interactions for an agent with any
    offer in the period, else over every interaction closed.
    """
    d = AgentDay
    stmt = select(
        d.agent_id,
        func.sum(d.ratings), func.sum(d.star_sum), func.sum(d.five_count), func.sum(d.resolved_yes),
        func.sum(d.resolved_answered), func.sum(d.nps_n), func.sum(d.promoters), func.sum(d.detractors),
        func.sum(d.closed), func.sum(d.rated), func.sum(d.offered), func.sum(d.offered_rated),
    )
    if first is not None and end is not None:
        stmt = stmt.where(d.day >= first, d.day < end)
    agents = _agents_in_scope(scope, former=True)
    if agents is not None:
        stmt = stmt.where(d.agent_id.in_(agents))
    rows = [tuple(int(v) for v in row) for row in session.exec(stmt.group_by(d.agent_id))]
    width = 3 if rank_only else 1 + len(RATING_SUM_COLUMNS)
    ratings = pd.DataFrame.from_records(
        [row[:width] for row in rows if row[1] > 0], columns=["agent_id", *RATING_SUM_COLUMNS][:width]
    )
    if not with_interactions:
        return ratings, None
    closed = pd.DataFrame.from_records(
        [(row[0], *(row[11:13] if row[11] > 0 else row[9:11])) for row in rows if row[9] > 0],
        columns=["agent_id", "closed", "rated"],
    )
    return ratings, closed


def rating_points(
    *,
    session: Session,
    scope: Scope,
    start: datetime | None,
    end: datetime | None,
    agent_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """One row per (non-excluded) rating: agent_id, rated_at, stars. For trends and distributions.

    In a team's scope a rating counts for the team the agent was in when it was earned, as on
    the board: a former member's ratings from then are in, a newcomer's from before are not.
    """
    stmt = select(Rating.agent_id, Rating.rated_at, Rating.stars).where(
        Rating.excluded_cause.is_(None), *_time_filter(Rating.rated_at, start, end)
    )
    agents = _agents_in_scope(scope, former=True)
    if agents is not None:
        stmt = stmt.where(Rating.agent_id.in_(agents))
    if agent_ids is not None:
        stmt = stmt.where(Rating.agent_id.in_(list(agent_ids)))
    points = pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=["agent_id", "rated_at", "stars"])
    if scope.team_id is None or points.empty:
        return points
    return points[_team_at_time(session=session, points=points) == scope.team_id].reset_index(drop=True)


def _team_at_time(*, session: Session, points: pd.DataFrame) -> pd.Series:
    """The team each point's agent was in at its ``rated_at``: the rollups' own rule (``db.rollups.place``)."""
    today, moved, zones = rollups.attribution(session.connection(), [int(a) for a in points["agent_id"].unique()])
    placed = rollups.place(points[["agent_id", "rated_at"]].rename(columns={"rated_at": "at"}), today, moved, zones)
    return placed["team_id"]


def closed_memberships(*, session: Session, agent_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Past team memberships (``agent_team`` rows with an end): agent_id, team_id, valid_from, valid_to."""
    stmt = select(AgentTeam.agent_id, AgentTeam.team_id, AgentTeam.valid_from, AgentTeam.valid_to).where(
        AgentTeam.valid_to.is_not(None)
    )
    rows = []
    if agent_ids is None:
        rows = _tuples(session.exec(stmt))
    else:
        for chunk in chunks([int(i) for i in agent_ids]):
            rows += _tuples(session.exec(stmt.where(AgentTeam.agent_id.in_(list(chunk)))))
    return pd.DataFrame.from_records(rows, columns=["agent_id", "team_id", "valid_from", "valid_to"])


def former_members(*, session: Session, team_id: int) -> list[int]:
    """Agents who were in the team once and are in another one today."""
    stmt = (
        select(AgentTeam.agent_id)
        .join(Agent, Agent.id == AgentTeam.agent_id)
        .where(AgentTeam.team_id == team_id, AgentTeam.valid_to.is_not(None), Agent.team_id != team_id)
        .distinct()
    )
    return [int(i) for i in session.exec(stmt).all()]


def team_labels(*, session: Session, team_ids: Sequence[int]) -> pd.DataFrame:
    """team_id, team, site of these teams."""
    stmt = (
        select(Team.id, Team.name, Site.name)
        .join(Site, Site.id == Team.site_id)
        .where(Team.id.in_([int(i) for i in team_ids]))
    )
    return pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=["team_id", "team", "site"])


def sums_by_team(
    *,
    session: Session,
    sums: pd.DataFrame,
    start: datetime | None,
    end: datetime | None,
    with_interactions: bool = True,
) -> pd.DataFrame:
    """Per-agent ``sums`` (with today's ``team_id``) split by the team each agent was in at the time.

    A rating counts for the team whose ``agent_team`` row covers its ``rated_at`` (an interaction
    closed, its ``closed_at``); what no closed row covers counts for today's team. One row per
    (agent, team) with the sum columns; ``team_id`` is the team at the time. Without past
    memberships (the usual case) this is ``sums`` itself.
    """
    if sums.empty:
        return sums
    moved = closed_memberships(session=session, agent_ids=sums["agent_id"].tolist())
    if moved.empty:
        return sums
    numeric = [c for c in sums.columns if c in (*RATING_SUM_COLUMNS, "closed", "rated")]
    pieces = []
    for rec in moved.to_dict("records"):
        low = rec["valid_from"] if start is None else max(start, pd.Timestamp(rec["valid_from"]).to_pydatetime())
        high = rec["valid_to"] if end is None else min(end, pd.Timestamp(rec["valid_to"]).to_pydatetime())
        if low >= high:
            continue
        part = rating_sums(
            session=session, scope=Scope(), start=low, end=high, rank_only="five_star" not in numeric,
            agent_ids=[rec["agent_id"]],
        )
        if with_interactions and "closed" in numeric:
            closed = interaction_sums(session=session, scope=Scope(), start=low, end=high, agent_ids=[rec["agent_id"]])
            part = part.merge(closed, on="agent_id", how="outer")
        if part.empty:
            continue
        pieces.append(part.assign(team_id=int(rec["team_id"])))
    if not pieces:
        return sums
    then = pd.concat(pieces, ignore_index=True)
    for column in numeric:
        then[column] = then[column].fillna(0) if column in then else 0
    then = then.groupby(["agent_id", "team_id"], as_index=False)[numeric].sum()
    # Today's team keeps what no past membership covers.
    earlier = then.groupby("agent_id")[numeric].sum()
    today = sums.set_index("agent_id")
    rest = today[numeric].fillna(0).sub(earlier.reindex(today.index).fillna(0), fill_value=0).reset_index()
    rest["team_id"] = today["team_id"].to_numpy()
    split = pd.concat([rest, then], ignore_index=True).groupby(["agent_id", "team_id"], as_index=False)[numeric].sum()
    split = split[(split[numeric] != 0).any(axis=1)]
    labels = team_labels(session=session, team_ids=split["team_id"].unique().tolist())
    other = [c for c in sums.columns if c not in numeric and c not in ("team_id", "team", "site")]
    split = split.merge(sums[other], on="agent_id", how="left").merge(labels, on="team_id", how="left")
    for column in numeric:
        if column in sums and str(sums[column].dtype).startswith("int"):
            split[column] = split[column].astype("int64")
    return split[[c for c in sums.columns if c in split.columns]].reset_index(drop=True)


def site_names(*, session: Session) -> list[str]:
    return list(session.exec(select(Site.name).order_by(Site.name)).all())


def team_names(*, session: Session, site: str | None = None) -> list[str]:
    stmt = select(Team.name).join(Site, Site.id == Team.site_id).order_by(Team.name)
    if site:
        stmt = stmt.where(func.lower(Site.name) == site.lower())
    return list(dict.fromkeys(session.exec(stmt).all()))


def data_version(*, session: Session) -> tuple[int]:
    """The data's version for cache keys: the change counter, which every write moves (``db.changes``).

    One primary-key lookup, whatever the size of the database; a tuple so callers may
    add versions of their own to it.
    """
    return (changes.read(session),)


def meta_value(*, session: Session, key: str) -> str | None:
    row = session.get(AppMeta, key)
    return row.value if row else None


def count_agents(*, session: Session) -> int:
    return int(session.exec(select(func.count(Agent.id))).one())


def count_ratings(*, session: Session) -> int:
    """Every stored rating, excluded ones included."""
    return int(session.exec(select(func.count(Rating.id))).one())


__all__ = [
    "Scope",
    "ScopeError",
    "agent_directory",
    "closed_memberships",
    "count_agents",
    "former_members",
    "count_ratings",
    "data_version",
    "interaction_sums",
    "meta_value",
    "rating_points",
    "rating_sums",
    "resolve_scope",
    "rollup_sums",
    "rollups_cover",
    "site_names",
    "sums_by_team",
    "team_labels",
    "team_names",
]


# --- Public (wall) queries: praise only, never a hidden agent -----------------


def _public_agents(scope: Scope):
    """Agent ids in the scope who have not opted out of public screens."""
    stmt = select(Agent.id).join(Team, Team.id == Agent.team_id).where(Agent.hide_from_wall.is_(False))
    if scope.team_id is not None:
        stmt = stmt.where(Agent.team_id == scope.team_id)
    elif scope.site_id is not None:
        stmt = stmt.where(Team.site_id == scope.site_id)
    return stmt


def praise_ratings(
    *,
    session: Session,
    scope: Scope,
    min_stars: int = 4,
    with_comment: bool = True,
    after_id: int = 0,
    since: datetime | None = None,
    limit: int = 10,
) -> list[dict]:
    """The latest 4–5★ ratings of public agents, newest first: id, agent, team, stars, comment, rated_at.

    Only the fields a public screen may show; tags and excluded ratings never leave here.
    """
    stmt = (
        select(Rating.id, Agent.name, Team.name, Rating.stars, Rating.comment, Rating.rated_at)
        .join(Agent, Agent.id == Rating.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .where(
            Rating.stars >= max(4, min_stars),
            Rating.excluded_cause.is_(None),
            Rating.agent_id.in_(_public_agents(scope)),
            Rating.id > after_id,
            # A 4★ that names something to improve is feedback for a 1:1, not for the wall.
            ~exists().where(RatingTag.rating_id == Rating.id, RatingTag.kind == "to_improve"),
        )
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
        .limit(limit)
    )
    if with_comment:
        stmt = stmt.where(Rating.comment != "")
    if since is not None:
        stmt = stmt.where(Rating.rated_at >= since)
    keys = ("id", "agent", "team", "stars", "comment", "rated_at")
    return [dict(zip(keys, row)) for row in session.exec(stmt).all()]


def public_badge_awards(
    *, session: Session, scope: Scope, since: datetime | None = None, after_id: int = 0, limit: int = 20
) -> list[dict]:
    """Badge awards to public agents, newest first: id, agent, team, badge, badge_code, awarded_at."""
    stmt = (
        select(BadgeAward.id, Agent.name, Team.name, Badge.name, Badge.code, BadgeAward.awarded_at)
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .join(Agent, Agent.id == BadgeAward.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .where(BadgeAward.agent_id.in_(_public_agents(scope)), BadgeAward.id > after_id)
        .order_by(BadgeAward.id.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(BadgeAward.awarded_at >= since)
    keys = ("id", "agent", "team", "badge", "badge_code", "awarded_at")
    return [dict(zip(keys, row)) for row in session.exec(stmt).all()]


def latest_ids(*, session: Session) -> tuple[int, int]:
    """(max rating id, max badge award id): where a screen's celebrations start from."""
    rating_id = session.exec(select(func.coalesce(func.max(Rating.id), 0))).one()
    award_id = session.exec(select(func.coalesce(func.max(BadgeAward.id), 0))).one()
    return int(rating_id), int(award_id)


# --- Private detail: every query here takes the viewer and filters ------------------


def visible_agents(viewer: Viewer):
    """Subquery of the agent ids whose private detail ``viewer`` may see (None: every agent).

    The rule is ``leaderboard.auth.visibility``; this is ``db.scope.visible_agent_ids``
    under the name the stores have used.
    """
    return scope_sql.visible_agent_ids(viewer, kind=DataKind.AGENT_DETAIL)


def can_see_agent(
    *, session: Session, viewer: Viewer, agent_id: int, kind: DataKind = DataKind.AGENT_DETAIL
) -> bool:
    """May ``viewer`` see this agent's comments, tags, low ratings and coaching notes (or another ``kind``)?"""
    allowed = scope_sql.visible_agent_ids(require_viewer(viewer), kind=kind)
    if allowed is None:
        return session.get(Agent, agent_id) is not None
    return session.exec(allowed.where(Agent.id == agent_id)).first() is not None


def visible_directory(*, session: Session, viewer: Viewer, scope: Scope = Scope()) -> pd.DataFrame:
    """The agents (with team and site) whose detail ``viewer`` may open, within a scope."""
    require_viewer(viewer)
    directory = agent_directory(session=session, scope=scope)
    allowed = visible_agents(viewer)
    if allowed is None or directory.empty:
        return directory
    ids = set(session.exec(allowed).all())
    return directory[directory["agent_id"].isin(ids)].reset_index(drop=True)


FEEDBACK_COLUMNS = (
    "rating_id",
    "interaction_id",
    "agent_id",
    "agent",
    "team",
    "channel",
    "contact_reason",
    "stars",
    "comment",
    "resolved",
    "nps",
    "rated_at",
    "excluded_cause",
    "went_well",
    "to_improve",
)


def feedback(
    *,
    session: Session,
    viewer: Viewer,
    agent_id: int | None = None,
    team_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    max_stars: int | None = None,
    min_stars: int | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Ratings with comments and tags, newest first, only for agents ``viewer`` may see.

    Asking for an agent or team outside the viewer's reach returns nothing.
    """
    require_viewer(viewer)
    stmt = (
        select(
            Rating.id,
            Interaction.interaction_id,
            Rating.agent_id,
            Agent.name,
            Team.name,
            Interaction.channel,
            Interaction.contact_reason,
            Rating.stars,
            Rating.comment,
            Rating.resolved,
            Rating.nps,
            Rating.rated_at,
            Rating.excluded_cause,
        )
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .join(Agent, Agent.id == Rating.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .where(*_time_filter(Rating.rated_at, start, end))
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
        .limit(limit)
    )
    stmt = scope_sql.by_agent(stmt, viewer, Rating.agent_id, kind=DataKind.COMMENTS)
    if agent_id is not None:
        stmt = stmt.where(Rating.agent_id == agent_id)
    if team_id is not None:
        stmt = stmt.where(Agent.team_id == team_id)
    if max_stars is not None:
        stmt = stmt.where(Rating.stars <= max_stars)
    if min_stars is not None:
        stmt = stmt.where(Rating.stars >= min_stars)
    rows = session.exec(stmt).all()
    frame = pd.DataFrame.from_records(rows, columns=list(FEEDBACK_COLUMNS[:-2]))
    ids = [int(i) for i in frame["rating_id"]] if len(frame) else []
    tags = rating_tags(session=session, rating_ids=ids)
    frame["went_well"] = [tags["went_well"].get(i, []) for i in ids]
    frame["to_improve"] = [tags["to_improve"].get(i, []) for i in ids]
    return frame


def rating_tags(
    *, session: Session, rating_ids: Sequence[int], kind: str | None = None
) -> dict[str, dict[int, list[str]]]:
    """{"went_well": {rating id: tags}, "to_improve": {...}}, each list alphabetical (``kind``: only that kind)."""
    found: dict[str, dict[int, list[str]]] = {"went_well": {}, "to_improve": {}}
    for chunk in chunks(list(rating_ids)):
        stmt = select(RatingTag.rating_id, RatingTag.kind, RatingTag.tag).where(RatingTag.rating_id.in_(list(chunk)))
        if kind is not None:
            stmt = stmt.where(RatingTag.kind == kind)
        for rating_id, tag_kind, tag in session.exec(stmt.order_by(RatingTag.tag)).all():
            found.setdefault(tag_kind, {}).setdefault(int(rating_id), []).append(tag)
    return found


# --------------------------------------------------------------------------- fair for the contact mix (issue 17)

MIX_COLUMNS = ("agent_id", "team_id", "team", "stars", "contact_reason", "channel", "n")


def ratings_with_mix(
    *, session: Session, scope: Scope, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """Non-excluded ratings given in [start, end), counted per agent, contact reason, channel and stars:
    MIX_COLUMNS, ``n`` the number of ratings a row stands for (the agent's team today).

    What the case-mix model learns from. Grouped in the database: a million ratings come back as
    tens of thousands of rows.
    """
    stmt = (
        select(Rating.agent_id, Rating.stars, Interaction.contact_reason, Interaction.channel, func.count())
        .select_from(Rating)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .where(Rating.excluded_cause.is_(None), *_time_filter(Rating.rated_at, start, end))
    )
    agents = _agents_in_scope(scope, former=True)
    if agents is not None:
        stmt = stmt.where(Rating.agent_id.in_(agents))
    stmt = stmt.group_by(Rating.agent_id, Rating.stars, Interaction.contact_reason, Interaction.channel)
    frame = pd.DataFrame.from_records(
        _tuples(session.exec(stmt)), columns=["agent_id", "stars", "contact_reason", "channel", "n"]
    )
    teams = pd.DataFrame.from_records(
        _tuples(session.exec(select(Agent.id, Agent.team_id, Team.name).join(Team, Team.id == Agent.team_id))),
        columns=["agent_id", "team_id", "team"],
    )
    return frame.merge(teams, on="agent_id", how="left")[list(MIX_COLUMNS)]


def survey_counts(*, session: Session, scope: Scope, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """Per agent in the scope, interactions closed in [start, end): closed, offered (a survey offer is known),
    rated (has a rating). Agents with no interaction closed in the period are left out."""
    offered = exists().where(SurveyOffer.interaction_id == Interaction.id)
    stmt = (
        select(
            Interaction.agent_id,
            func.count(),
            func.sum(case((offered, 1), else_=0)),
            func.count(Rating.id),
        )
        .select_from(Interaction)
        .outerjoin(Rating, Rating.interaction_id == Interaction.id)
        .where(*_time_filter(Interaction.closed_at, start, end))
    )
    agents = _agents_in_scope(scope)
    if agents is not None:
        stmt = stmt.where(Interaction.agent_id.in_(agents))
    stmt = stmt.group_by(Interaction.agent_id)
    frame = pd.DataFrame.from_records(_tuples(session.exec(stmt)), columns=["agent_id", "closed", "offered", "rated"])
    return frame.astype({"closed": "int64", "offered": "int64", "rated": "int64"})
