"""Tiny builders for tests: sites, teams, agents and users through the ORM; interactions
and ratings through ``db.ingest.write_rows`` (the one write path).

    add_ratings(engine, "Ann Lee", [5, 5, 4], team="Alpha", site="Manila", tz="Asia/Manila",
                at=datetime(2026, 11, 16, 2, 0))

Names are get-or-create, so helpers can be called in any order; times are naive UTC.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterable, Iterator, Sequence

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.ingest import CanonicalRow, write_rows
from db.models import Agent, Interaction, Rating, Site, Team, User, utcnow
from leaderboard.auth import SYSTEM_VIEWER

DEFAULT_TEAM = "Alpha"
DEFAULT_SITE = "Manila"
DEFAULT_TZ = "UTC"


@contextmanager
def _session(engine_or_session: Engine | Session) -> Iterator[Session]:
    if isinstance(engine_or_session, Session):
        yield engine_or_session
        return
    with Session(engine_or_session, expire_on_commit=False) as session:
        yield session


def _engine(engine_or_session: Engine | Session) -> Engine:
    """The engine behind a session, after committing what the session holds (write_rows opens its own)."""
    if isinstance(engine_or_session, Session):
        engine_or_session.commit()
        return engine_or_session.get_bind()
    return engine_or_session


def make_site(session: Session | Engine, name: str = DEFAULT_SITE, tz: str | None = None) -> Site:
    """The site called ``name``; ``tz`` sets its time zone (a new site without one is UTC)."""
    with _session(session) as s:
        site = s.exec(select(Site).where(func.lower(Site.name) == name.lower())).first()
        if site is None:
            site = Site(name=name, timezone=tz or DEFAULT_TZ)
        if tz:
            site.timezone = tz
        s.add(site)
        s.commit()
        s.refresh(site)
        return site


def make_user(
    session: Session | Engine, username: str, *, role: str = "agent", display_name: str | None = None
) -> User:
    with _session(session) as s:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = User(username=username, display_name=display_name or username, role=role)
            s.add(user)
            s.commit()
            s.refresh(user)
        return user


def make_team(
    session: Session | Engine,
    name: str = DEFAULT_TEAM,
    *,
    site: str = DEFAULT_SITE,
    tz: str | None = None,
    leader: str | None = None,
) -> Team:
    """The team ``name`` at ``site``; ``leader`` is a username (a leader user is made if needed)."""
    with _session(session) as s:
        site_row = make_site(s, site, tz)
        team = s.exec(
            select(Team).where(Team.site_id == site_row.id, func.lower(Team.name) == name.lower())
        ).first()
        if team is None:
            team = Team(name=name, site_id=site_row.id)
        if leader:
            team.leader_id = make_user(s, leader, role="leader").id
        s.add(team)
        s.commit()
        s.refresh(team)
        return team


def make_agent(
    session: Session | Engine,
    name: str,
    *,
    team: str = DEFAULT_TEAM,
    site: str = DEFAULT_SITE,
    tz: str | None = None,
    display_name: str | None = None,
    hide_from_wall: bool = False,
    active: bool = True,
    username: str | None = None,
) -> Agent:
    """The agent ``name`` on ``team`` (moved there if they exist elsewhere); ``username`` links an account."""
    with _session(session) as s:
        team_row = make_team(s, team, site=site, tz=tz)
        agent = s.exec(select(Agent).where(Agent.name == name)).first()
        if agent is None:
            agent = Agent(name=name, display_name=display_name or name, team_id=team_row.id)
        agent.team_id = team_row.id
        agent.hide_from_wall = hide_from_wall
        agent.active = active
        if display_name:
            agent.display_name = display_name
        if username:
            agent.user_id = make_user(s, username, role="agent", display_name=name).id
        s.add(agent)
        s.commit()
        s.refresh(agent)
        return agent


def rating_row(
    *,
    agent: str,
    stars: int | None,
    rated_at: datetime | None = None,
    closed_at: datetime | None = None,
    comment: str = "",
    went_well: Sequence[str] = (),
    to_improve: Sequence[str] = (),
    resolved: bool | None = None,
    nps: int | None = None,
    team: str = DEFAULT_TEAM,
    site: str = DEFAULT_SITE,
    channel: str = "phone",
    contact_reason: str = "order status",
    interaction_id: str | None = None,
) -> CanonicalRow:
    """A CanonicalRow with test defaults: ``stars=None`` is an interaction nobody rated.

    Without times the rating is a minute ago and the interaction closed five minutes before it.
    """
    if stars is not None and rated_at is None:
        rated_at = (closed_at + timedelta(minutes=5)) if closed_at else utcnow() - timedelta(minutes=1)
    if closed_at is None:
        closed_at = (rated_at or utcnow()) - timedelta(minutes=5)
    return CanonicalRow(
        interaction_id=interaction_id or f"T-{uuid.uuid4().hex[:16]}",
        agent=agent,
        team=team,
        site=site,
        channel=channel,
        contact_reason=contact_reason,
        closed_at=closed_at,
        rated_at=rated_at if stars is not None else None,
        stars=stars,
        comment=comment if stars is not None else "",
        resolved=resolved if stars is not None else None,
        nps=nps if stars is not None else None,
        went_well=tuple(went_well) if stars is not None else (),
        to_improve=tuple(to_improve) if stars is not None else (),
    )


def add_rows(engine_or_session: Engine | Session, rows: Iterable[CanonicalRow], *, tz: str | None = None) -> None:
    """Write rows through write_rows; ``tz`` sets the time zone of their sites first (new sites are UTC)."""
    rows = list(rows)
    engine = _engine(engine_or_session)
    if tz is not None:
        for site in {r.site for r in rows}:
            make_site(engine, site, tz)
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows)
    assert report.rejected == 0, report.errors
    if isinstance(engine_or_session, Session):
        engine_or_session.expire_all()


def add_rating(
    engine_or_session: Engine | Session,
    *,
    agent: str,
    stars: int,
    tz: str | None = None,
    **fields,
) -> int:
    """One interaction with its rating; returns the rating id. ``fields`` as in ``rating_row``."""
    row = rating_row(agent=agent, stars=stars, **fields)
    add_rows(engine_or_session, [row], tz=tz)
    return _rating_ids(engine_or_session, [row.interaction_id])[0]


def add_ratings(
    engine_or_session: Engine | Session,
    agent: str,
    stars: Iterable[int],
    *,
    at: datetime | None = None,
    step: timedelta = timedelta(minutes=1),
    tz: str | None = None,
    **fields,
) -> list[int]:
    """Ratings for ``agent`` rated at ``at``, ``at + step``, ...; returns their ids in order.

    Without ``at`` the last rating is a minute ago.
    """
    stars = list(stars)
    if at is None:
        at = utcnow().replace(microsecond=0) - step * len(stars)
    rows = [rating_row(agent=agent, stars=s, rated_at=at + step * i, **fields) for i, s in enumerate(stars)]
    add_rows(engine_or_session, rows, tz=tz)
    return _rating_ids(engine_or_session, [r.interaction_id for r in rows])


def add_interactions(
    engine_or_session: Engine | Session,
    agent: str,
    count: int,
    *,
    at: datetime | None = None,
    step: timedelta = timedelta(minutes=1),
    tz: str | None = None,
    **fields,
) -> list[str]:
    """``count`` interactions nobody rated (they lower the response rate); returns their external ids."""
    if at is None:
        at = utcnow().replace(microsecond=0) - step * count
    rows = [rating_row(agent=agent, stars=None, closed_at=at + step * i, **fields) for i in range(count)]
    add_rows(engine_or_session, rows, tz=tz)
    return [r.interaction_id for r in rows]


def _rating_ids(engine_or_session: Engine | Session, interaction_ids: list[str]) -> list[int]:
    with _session(_engine(engine_or_session)) as s:
        found = dict(
            s.exec(
                select(Interaction.interaction_id, Rating.id)
                .join(Rating, Rating.interaction_id == Interaction.id)
                .where(Interaction.interaction_id.in_(interaction_ids))
            ).all()
        )
    return [found[i] for i in interaction_ids]


__all__ = [
    "add_interactions",
    "add_rating",
    "add_ratings",
    "add_rows",
    "make_agent",
    "make_site",
    "make_team",
    "make_user",
    "rating_row",
]
