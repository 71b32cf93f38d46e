"""Reads for an agent's own page (``leaderboard.me``) and their badge progress (the notes they
received come from ``db.coaching_queries.note_history_rows``). Keyword-only and typed, session first.
"""

from __future__ import annotations

from sqlmodel import Session, select

from db.models import Agent, Site, Team


def agent_home(*, session: Session, agent_id: int) -> tuple[Agent, Team, Site] | None:
    """An agent with their team and site, or None for an unknown agent."""
    row = session.exec(
        select(Agent, Team, Site)
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
        .where(Agent.id == agent_id)
    ).first()
    return None if row is None else tuple(row)
