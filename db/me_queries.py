"""Reads for an agent's own page (``leaderboard.me``) and their badge progress.

Keyword-only and typed, session first; visibility from ``db.queries.visible_agents``.
"""

from __future__ import annotations

from sqlmodel import Session, select

from db.models import Agent, CoachingNote, Interaction, Rating, Site, Team, User
from db.queries import visible_agents
from leaderboard.auth import Viewer

NOTE_ROW = ("created_at", "kind", "visibility", "display_name", "username", "text", "iid")


def agent_home(*, session: Session, agent_id: int) -> tuple[Agent, Team, Site] | None:
    """An agent with their team and site, or None for an unknown agent."""
    row = session.exec(
        select(Agent, Team, Site)
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
        .where(Agent.id == agent_id)
    ).first()
    return None if row is None else tuple(row)


def notes_received(*, session: Session, viewer: Viewer, limit: int) -> list[tuple]:
    """Notes ``viewer.agent_id`` received, public and 1:1, newest first, as ``NOTE_ROW`` tuples."""
    allowed = visible_agents(viewer)
    stmt = (
        select(
            CoachingNote.created_at,
            CoachingNote.kind,
            CoachingNote.visibility,
            User.display_name,
            User.username,
            CoachingNote.text,
            Interaction.interaction_id,
        )
        .select_from(CoachingNote)
        .outerjoin(User, User.id == CoachingNote.author_id)
        .outerjoin(Rating, Rating.id == CoachingNote.rating_id)
        .outerjoin(Interaction, Interaction.id == Rating.interaction_id)
        .where(CoachingNote.agent_id == viewer.agent_id, CoachingNote.agent_id.in_(allowed))
        .order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())
        .limit(limit)
    )
    return [tuple(r) for r in session.exec(stmt).all()]
