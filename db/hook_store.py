"""Help-desk webhooks, the stored part: agent links and the queue of ratings no link matches yet.

``agent_link`` says which Starboard agent a help desk's agent id is (``agents link``);
``unmatched_rating`` keeps a webhook rating whose agent id has no link (only the canonical
fields needed to write it later, never the payload) until a link is made, when the use
case (``leaderboard.hook_intake``) replays it through the one write path and drops it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from db.agent_store import AgentError, find_agent
from db.audit import record
from db.models import Agent, AgentLink, Interaction, Site, Team, UnmatchedRating, utcnow
from leaderboard.auth import Viewer, may_administer, require_viewer
from leaderboard.hooks import SOURCES

_LINK = AgentLink.__table__
_QUEUE = UnmatchedRating.__table__
_AGENT = Agent.__table__
_TEAM = Team.__table__
_SITE = Site.__table__
_INTERACTION = Interaction.__table__
MAX_EXTERNAL_ID = 120
UNMATCHED_COLUMNS = ("source", "external_agent_id", "external_agent_name", "ratings", "latest")


@dataclass(frozen=True)
class LinkedAgent:
    """The Starboard agent a link names, with what a canonical row needs to name them."""

    id: int
    name: str
    external_id: str
    team: str
    site: str


@dataclass(frozen=True)
class Linked:
    source: str
    external_id: str
    agent: str
    before: str | None  # the agent it named until now (None: a new link)


@dataclass(frozen=True)
class Pending:
    """A queued rating: the canonical fields a write needs (the agent comes from the link)."""

    id: int
    interaction_id: str
    channel: str
    stars: int
    comment: str
    to_improve: tuple[str, ...]
    rated_at: datetime


def _check(source: str, external_id: str) -> tuple[str, str]:
    source = (source or "").strip().lower()
    if source not in SOURCES:
        raise AgentError(f"unknown source {source!r} (one of: {', '.join(SOURCES)})")
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        raise AgentError(f"the {source} agent id must be 1-{MAX_EXTERNAL_ID} characters")
    return source, external_id


def link_agent(
    *, session: Session, viewer: Viewer, source: str, external_id: str, agent: str, site: str | None = None
) -> Linked:
    """Link ``source``'s agent id to a Starboard agent (external id, else name; ``site`` when two share it).

    An admin's action (or the command line's); linking again to another agent moves the
    link. Audited as ``agent_linked``.
    """
    viewer = require_viewer(viewer)
    if not may_administer(viewer):
        raise AgentError("only an admin may link a help desk's agent id to an agent")
    source, external_id = _check(source, external_id)
    try:
        row = find_agent(session=session, agent=agent, site=site)
    except AgentError as exc:  # find_agent names the move command's option
        raise AgentError(str(exc).replace("--from-site", "--site")) from None
    found = session.execute(
        select(_LINK.c.id, _LINK.c.agent_id).where(_LINK.c.source == source, _LINK.c.external_id == external_id)
    ).first()
    before = None
    if found is not None:
        if found.agent_id == row.id:
            return Linked(source, external_id, row.name, row.name)
        before = session.get(Agent, found.agent_id).name
        session.execute(update(_LINK).where(_LINK.c.id == found.id).values(
            agent_id=row.id, created_at=utcnow(), created_by=viewer.username[:120]))
    else:
        session.execute(insert(_LINK).values(
            source=source, external_id=external_id, agent_id=row.id, created_at=utcnow(),
            created_by=viewer.username[:120]))
    record(session, actor=viewer.username, kind="agent_linked", target=row.name,
           detail=f"{source} agent {external_id}" + (f" (was {before})" if before else ""))
    session.commit()
    return Linked(source, external_id, row.name, before)


def linked_agent(*, engine: Engine, source: str, external_id: str) -> LinkedAgent | None:
    """The agent ``source``'s agent id is linked to; None when there is no link."""
    with engine.connect() as conn:
        row = conn.execute(
            select(_AGENT.c.id, _AGENT.c.name, _AGENT.c.external_id, _TEAM.c.name, _SITE.c.name)
            .select_from(_LINK.join(_AGENT, _AGENT.c.id == _LINK.c.agent_id)
                         .join(_TEAM, _TEAM.c.id == _AGENT.c.team_id).join(_SITE, _SITE.c.id == _TEAM.c.site_id))
            .where(_LINK.c.source == source, _LINK.c.external_id == external_id)
        ).first()
    if row is None:
        return None
    return LinkedAgent(id=row[0], name=row[1], external_id=row[2] or "", team=row[3], site=row[4])


def interaction_basics(*, engine: Engine, interaction_id: str) -> tuple[str, str, datetime] | None:
    """(channel, contact_reason, closed_at) of a stored interaction; None when it is not stored."""
    with engine.connect() as conn:
        row = conn.execute(
            select(_INTERACTION.c.channel, _INTERACTION.c.contact_reason, _INTERACTION.c.closed_at)
            .where(_INTERACTION.c.interaction_id == interaction_id)
        ).first()
    return None if row is None else (row[0], row[1], row[2])


def queue_rating(
    *, engine: Engine, source: str, external_agent_id: str, external_agent_name: str, interaction_id: str,
    channel: str, stars: int, comment: str, to_improve: tuple[str, ...], rated_at: datetime,
) -> str:
    """Keep a rating no link matches: "unmatched", or "stale" when a newer one of the interaction is queued."""
    values = {
        "source": source, "external_agent_id": external_agent_id[:MAX_EXTERNAL_ID],
        "external_agent_name": external_agent_name[:120], "interaction_id": interaction_id, "channel": channel,
        "stars": stars, "comment": comment, "to_improve": ";".join(to_improve), "rated_at": rated_at,
        "received_at": utcnow(),
    }
    with engine.begin() as conn:
        found = conn.execute(
            select(_QUEUE.c.id, _QUEUE.c.rated_at).where(_QUEUE.c.interaction_id == interaction_id)
        ).first()
        if found is None:
            conn.execute(insert(_QUEUE).values(values))
        elif rated_at < found.rated_at:
            return "stale"
        else:
            conn.execute(update(_QUEUE).where(_QUEUE.c.id == found.id).values(values))
    return "unmatched"


def pending(*, engine: Engine, source: str, external_id: str) -> list[Pending]:
    """The queued ratings of ``source``'s agent id, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_QUEUE.c.id, _QUEUE.c.interaction_id, _QUEUE.c.channel, _QUEUE.c.stars, _QUEUE.c.comment,
                   _QUEUE.c.to_improve, _QUEUE.c.rated_at)
            .where(_QUEUE.c.source == source, _QUEUE.c.external_agent_id == external_id)
            .order_by(_QUEUE.c.rated_at, _QUEUE.c.id)
        ).all()
    return [
        Pending(id=r[0], interaction_id=r[1], channel=r[2], stars=r[3], comment=r[4],
                to_improve=tuple(t for t in r[5].split(";") if t), rated_at=r[6])
        for r in rows
    ]


def drop_pending(conn: Connection, ids: list[int]) -> None:
    """Remove replayed ratings from the queue (inside the caller's transaction)."""
    if ids:
        conn.execute(delete(_QUEUE).where(_QUEUE.c.id.in_(ids)))


def drop_replayed(*, engine: Engine, ids: list[int]) -> None:
    with engine.begin() as conn:
        drop_pending(conn, ids)


def unmatched_summary(*, engine: Engine) -> list[dict]:
    """One row per help-desk agent id with queued ratings: source, id, name, how many, the latest."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_QUEUE.c.source, _QUEUE.c.external_agent_id, func.max(_QUEUE.c.external_agent_name),
                   func.count(), func.max(_QUEUE.c.rated_at))
            .group_by(_QUEUE.c.source, _QUEUE.c.external_agent_id)
            .order_by(func.max(_QUEUE.c.rated_at).desc(), _QUEUE.c.source, _QUEUE.c.external_agent_id)
        ).all()
    return [dict(zip(UNMATCHED_COLUMNS, row)) for row in rows]
