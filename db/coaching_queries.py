"""Reads the coaching use cases (``leaderboard.coaching``) need beyond ``db.coaching_store``.

Keyword-only and typed, session first; visibility comes from ``db.scope``'s
viewer filters (this module adds no rule of its own about who sees what).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from db.coaching_store import visible_team_ids
from db.models import Agent, CoachingNote, Interaction, Rating, Site, Team, User
from db.queries import Scope
from db.scope import by_agent
from leaderboard.auth import Viewer

NOTE_HISTORY_ROW = ("note_id", "created_at", "agent_id", "agent", "kind", "visibility", "display", "username", "text", "iid")


def may_coach_team(*, session: Session, viewer: Viewer | None, team_id: int) -> bool:
    """Whether ``team_id`` is among the teams whose coaching queue ``viewer`` may see."""
    allowed = visible_team_ids(viewer)
    if allowed is None:
        return True
    return session.exec(allowed.where(Team.id == team_id)).first() is not None


def team_scope(*, session: Session, team_id: int) -> Scope | None:
    """The board scope of one team (its site and time zone), or None for an unknown team."""
    row = session.exec(select(Team, Site).join(Site, Site.id == Team.site_id).where(Team.id == team_id)).first()
    if row is None:
        return None
    team, site = row
    return Scope(site_id=site.id, team_id=team.id, site=site.name, team=team.name, timezone=site.timezone)


def note_history_rows(
    *,
    session: Session,
    viewer: Viewer | None,
    team_id: int | None = None,
    agent_id: int | None = None,
    author_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[tuple]:
    """Coaching notes with their text, newest first, as ``NOTE_HISTORY_ROW`` tuples.

    Filtered by ``db.scope.by_agent`` (agent detail); the caller decides
    what ``viewer=None`` means (``leaderboard.coaching.notes_history``: nothing).
    """
    stmt = (
        select(
            CoachingNote.id,
            CoachingNote.created_at,
            CoachingNote.agent_id,
            Agent.name,
            CoachingNote.kind,
            CoachingNote.visibility,
            User.display_name,
            User.username,
            CoachingNote.text,
            Interaction.interaction_id,
        )
        .select_from(CoachingNote)
        .join(Agent, Agent.id == CoachingNote.agent_id)
        .outerjoin(User, User.id == CoachingNote.author_id)
        .outerjoin(Rating, Rating.id == CoachingNote.rating_id)
        .outerjoin(Interaction, Interaction.id == Rating.interaction_id)
        .order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())
        .limit(max(1, int(limit)))
    )
    stmt = by_agent(stmt, viewer, CoachingNote.agent_id)
    if team_id is not None:
        stmt = stmt.where(Agent.team_id == team_id)
    if agent_id is not None:
        stmt = stmt.where(CoachingNote.agent_id == agent_id)
    if author_id is not None:
        stmt = stmt.where(CoachingNote.author_id == author_id)
    if since is not None:
        stmt = stmt.where(CoachingNote.created_at >= since)
    return [tuple(r) for r in session.exec(stmt).all()]
