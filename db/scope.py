"""The SQL side of who may see what: filters built from ``leaderboard.auth.visibility``.

The rule itself (which roles see which agents and which kinds of data) lives
in ``leaderboard.auth``; this module only turns a viewer's
:class:`~leaderboard.auth.Visibility` into subqueries and where-clauses. Every
function takes a viewer and raises TypeError on None (``auth.require_viewer``).
"""

from __future__ import annotations

from sqlalchemy import literal, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import select

from db.models import Agent, Team
from leaderboard.auth import DataKind, Viewer, require_viewer, visibility


def _nothing(column):
    return select(column).where(literal(False))


def visible_agent_ids(viewer: Viewer, *, kind: DataKind = DataKind.AGENT_DETAIL):
    """Subquery of the agent ids whose ``kind`` of data ``viewer`` may see; None: every agent (no filter)."""
    scope = visibility(require_viewer(viewer))
    if not scope.sees(kind):
        return _nothing(Agent.id)
    if scope.all_sites:
        return None
    if kind == DataKind.COACHING_QUEUE:
        return select(Agent.id).where(Agent.team_id.in_(visible_team_ids(viewer, kind=kind)))
    parts = []
    if scope.site_ids:
        parts.append(
            select(Agent.id).join(Team, Team.id == Agent.team_id).where(Team.site_id.in_(sorted(scope.site_ids)))
        )
    if scope.team_ids:
        parts.append(select(Agent.id).where(Agent.team_id.in_(sorted(scope.team_ids))))
    if scope.agent_id is not None:
        parts.append(select(Agent.id).where(Agent.id == scope.agent_id))
    if len(parts) == 1:
        return parts[0]
    return select(Agent.id).where(or_(*(Agent.id.in_(p) for p in parts)))


def visible_team_ids(viewer: Viewer, *, kind: DataKind = DataKind.COACHING_QUEUE):
    """Subquery of the team ids whose ``kind`` of team data (e.g. the coaching queue) ``viewer`` may see.

    None: every team (no filter). Only a site or team scope reaches a team:
    an agent's own scope holds no team.
    """
    scope = visibility(require_viewer(viewer))
    if not scope.sees(kind):
        return _nothing(Team.id)
    if scope.all_sites:
        return None
    parts = []
    if scope.site_ids:
        parts.append(Team.site_id.in_(sorted(scope.site_ids)))
    if scope.team_ids:
        parts.append(Team.id.in_(sorted(scope.team_ids)))
    if not parts:
        return _nothing(Team.id)
    return select(Team.id).where(parts[0] if len(parts) == 1 else or_(*parts))


def agent_scope_clause(viewer: Viewer, column, *, kind: DataKind = DataKind.AGENT_DETAIL) -> ColumnElement | None:
    """``column IN (agents viewer may see)`` for a column holding agent ids; None when no filter is needed."""
    allowed = visible_agent_ids(viewer, kind=kind)
    return None if allowed is None else column.in_(allowed)


def team_scope_clause(viewer: Viewer, column, *, kind: DataKind = DataKind.COACHING_QUEUE) -> ColumnElement | None:
    """``column IN (teams viewer may see)`` for a column holding team ids; None when no filter is needed."""
    allowed = visible_team_ids(viewer, kind=kind)
    return None if allowed is None else column.in_(allowed)


def by_agent(stmt, viewer: Viewer, column, *, kind: DataKind = DataKind.AGENT_DETAIL):
    """``stmt`` limited to the rows whose agent-id ``column`` the viewer may see ``kind`` of."""
    clause = agent_scope_clause(viewer, column, kind=kind)
    return stmt if clause is None else stmt.where(clause)


def by_team(stmt, viewer: Viewer, column, *, kind: DataKind = DataKind.COACHING_QUEUE):
    """``stmt`` limited to the rows whose team-id ``column`` the viewer may see ``kind`` of."""
    clause = team_scope_clause(viewer, column, kind=kind)
    return stmt if clause is None else stmt.where(clause)
