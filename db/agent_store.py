"""Agents as an admin manages them: moving one to another site (a file never does), audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from db.audit import record
from db.models import Agent, Site, Team
from leaderboard.auth import Viewer, may_administer, require_viewer
from leaderboard.names import name_key


class AgentError(ValueError):
    """Why an agent cannot be found or moved, phrased for the person at the keyboard."""


@dataclass(frozen=True)
class Move:
    agent: str
    before: str  # "New York/Harbor"
    after: str  # "Manila/Blue"
    team_created: bool


def find_agent(*, session: Session, agent: str, site: str | None = None) -> Agent:
    """An agent by external id, else by name (ignoring case and accents), within ``site`` when given."""
    text = (agent or "").strip()
    found = session.exec(select(Agent).where(Agent.external_id == text)).first() if text else None
    if found is not None:
        return found
    stmt = select(Agent).where(Agent.name_key == name_key(text))
    if site:
        stmt = stmt.join(Team, Team.id == Agent.team_id).join(Site, Site.id == Team.site_id).where(
            func.lower(Site.name) == site.strip().lower()
        )
    matches = list(session.exec(stmt.order_by(Agent.id)).all())
    if not matches:
        raise AgentError(f"no agent {text!r}" + (f" at site {site}" if site else ""))
    if len(matches) > 1:
        places = ", ".join(_where(session, a) for a in matches)
        raise AgentError(f"{len(matches)} agents are called {text!r} ({places}): name the site with --from-site")
    return matches[0]


def move_agent(
    *, session: Session, viewer: Viewer, agent: str, site: str, team: str, from_site: str | None = None
) -> Move:
    """Move an agent to ``team`` of ``site`` (the team is created if the site has none by that name).

    An admin's action (or the command line's): their history, notes and badges go with
    them. Audited as ``agent_moved``.
    """
    viewer = require_viewer(viewer)
    if not may_administer(viewer):
        raise AgentError("only an admin may move an agent to another site")
    row = find_agent(session=session, agent=agent, site=from_site)
    target_site = session.exec(select(Site).where(func.lower(Site.name) == site.strip().lower())).first()
    if target_site is None:
        raise AgentError(f"no site {site.strip()!r}")
    target = session.exec(
        select(Team).where(Team.site_id == target_site.id, func.lower(Team.name) == team.strip().lower())
    ).first()
    namesake = session.exec(
        select(Agent)
        .join(Team, Team.id == Agent.team_id)
        .where(Team.site_id == target_site.id, Agent.name_key == row.name_key, Agent.id != row.id)
    ).first()
    if namesake is not None:
        raise AgentError(
            f"site {target_site.name} already has an agent called {namesake.name} ({_where(session, namesake)})"
        )
    before = _where(session, row)
    created = target is None
    if created:
        target = Team(name=" ".join(team.split()), site_id=target_site.id)
        session.add(target)
        session.flush()
    if target.id == row.team_id:
        raise AgentError(f"{row.name} is already in {before}")
    row.team_id = target.id
    session.add(row)
    session.flush()
    after = _where(session, row)
    record(
        session, actor=viewer.username, kind="agent_moved", target=row.name,
        detail=f"{before} -> {after}" + (" (team created)" if created else ""),
    )
    session.commit()
    return Move(agent=row.name, before=before, after=after, team_created=created)


def _where(session: Session, agent: Agent) -> str:
    team = session.get(Team, agent.team_id)
    return f"{session.get(Site, team.site_id).name}/{team.name}"
