"""Storage for coaching: notes, prompts, the rules JSON, and the windowed reads the rules feed on.

Keyword-only, session first, bound parameters only (like ``db.queries``).
Every read here is set-based: one query for every agent of the teams asked
for, never one query per agent. Time windows arrive as naive UTC datetimes and
are inclusive at both ends (``start <= t <= end``) unless a function says
otherwise; ``leaderboard.coaching`` documents what the windows mean.

Nothing here decides who may see what: callers pass the viewer (never None:
``auth.SYSTEM_VIEWER`` for background jobs and the command line) and
``db.scope`` turns the policy of ``leaderboard.auth`` into a subquery.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Mapping, Sequence

import pandas as pd
from sqlalchemy import case, func
from sqlmodel import Session, select

from db.chunks import chunks
from db.insert_new import insert_new
from db.models import (
    Agent,
    AppMeta,
    CoachingNote,
    CoachingPrompt,
    Interaction,
    Rating,
    RatingTag,
    Site,
    Team,
    User,
)
from db.queries import AGENT_COLUMNS, agent_directory_select
from db.scope import by_agent, by_team
from db.scope import visible_agent_ids, visible_team_ids  # noqa: F401  (re-exported for leaderboard.coaching)
from leaderboard.auth import DataKind, Viewer, require_viewer

RULES_META_KEY = "coaching_rules"

# ``db.queries.AGENT_COLUMNS`` with the team's leader after the team.
AGENT_FRAME_COLUMNS = (*AGENT_COLUMNS[:7], "leader_id", *AGENT_COLUMNS[7:])
RATING_FRAME_COLUMNS = (
    "rating_id",
    "interaction_id",
    "channel",
    "agent_id",
    "stars",
    "comment",
    "rated_at",
)
NOTE_FRAME_COLUMNS = ("note_id", "agent_id", "author_id", "kind", "visibility", "rating_id", "created_at")


# --- who may see what -----------------------------------------------------------------
# The rule is ``leaderboard.auth.visibility``; ``db.scope`` builds its SQL.
# ``visible_team_ids`` / ``visible_agent_ids`` are re-exported for the use cases.


def _frame(rows: Sequence, columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame from result rows (as plain tuples: pandas inspects Row objects one by one, ~6x slower)."""
    if not rows:
        return pd.DataFrame(columns=list(columns))
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


def _unindexed(column):
    """``column + 0``: SQLite will not pick the column's own index for it.

    With a time window and a team filter, SQLite otherwise reads every rating
    the team ever had through ix_rating_agent_id (0.6 s at 1M ratings) rather
    than the window through ix_rating_rated_agent (0.05 s). PostgreSQL plans
    both the same way either way.
    """
    return column + 0


def _agent_filter(
    stmt, column, *, team_ids: Sequence[int] | None, site_id: int | None, viewer: Viewer,
    kind: DataKind = DataKind.AGENT_DETAIL,
):
    if team_ids is not None:
        stmt = stmt.where(column.in_(select(Agent.id).where(Agent.team_id.in_(list(team_ids)))))
    if site_id is not None:
        stmt = stmt.where(
            column.in_(select(Agent.id).join(Team, Team.id == Agent.team_id).where(Team.site_id == site_id))
        )
    return by_agent(stmt, viewer, column, kind=kind)


# --- directory ---------------------------------------------------------------------------


def agent_frame(
    *,
    session: Session,
    team_ids: Sequence[int] | None = None,
    site_id: int | None = None,
    viewer: Viewer,
    active_only: bool = False,
    agent_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Agents with team, team leader and site (one query) that ``viewer`` may see: ``AGENT_FRAME_COLUMNS``."""
    require_viewer(viewer)
    stmt = agent_directory_select(Team.leader_id)
    if active_only:
        stmt = stmt.where(Agent.active.is_(True))
    if agent_ids is not None:
        stmt = stmt.where(Agent.id.in_(list(agent_ids)))
    stmt = _agent_filter(stmt, Agent.id, team_ids=team_ids, site_id=site_id, viewer=viewer)
    frame = _frame(session.exec(stmt).all(), AGENT_FRAME_COLUMNS)
    frame["hide_from_wall"] = frame["hide_from_wall"].astype(bool)
    frame["active"] = frame["active"].astype(bool)
    return frame


def team_frame(*, session: Session, team_ids: Sequence[int] | None = None, viewer: Viewer) -> pd.DataFrame:
    """team_id, team, leader_id, leader, site_id, site, timezone for the teams ``viewer`` may coach."""
    require_viewer(viewer)
    stmt = (
        select(Team.id, Team.name, Team.leader_id, User.display_name, Site.id, Site.name, Site.timezone)
        .join(Site, Site.id == Team.site_id)
        .outerjoin(User, User.id == Team.leader_id)
        .order_by(Site.name, Team.name)
    )
    if team_ids is not None:
        stmt = stmt.where(Team.id.in_(list(team_ids)))
    stmt = by_team(stmt, viewer, Team.id, kind=DataKind.COACHING_QUEUE)
    columns = ["team_id", "team", "leader_id", "leader", "site_id", "site", "timezone"]
    return _frame(session.exec(stmt).all(), columns)


def user_names(*, session: Session, user_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """{user id: (username, display name)}."""
    ids = sorted({int(i) for i in user_ids if i is not None and not pd.isna(i)})
    names: dict[int, tuple[str, str]] = {}
    for chunk in chunks(ids):
        for uid, username, display in session.exec(
            select(User.id, User.username, User.display_name).where(User.id.in_(list(chunk)))
        ).all():
            names[int(uid)] = (username, display)
    return names


def _find_by_name(session: Session, model, key_column, name: str) -> list:
    """Rows whose ``key_column`` (else display name) matches ``name`` case-insensitively."""
    key = (name or "").strip().lower()
    if not key:
        return []
    found = list(session.exec(select(model).where(func.lower(key_column) == key)).all())
    if found:
        return found
    return list(session.exec(select(model).where(func.lower(model.display_name) == key)).all())


def find_agent(*, session: Session, name: str) -> list[Agent]:
    """Agents whose name (else display name) matches ``name`` case-insensitively."""
    return _find_by_name(session, Agent, Agent.name, name)


def find_user(*, session: Session, name: str) -> list[User]:
    """Users whose username (else display name) matches ``name`` case-insensitively."""
    return _find_by_name(session, User, User.username, name)


def rating_for_interaction(*, session: Session, interaction_id: str) -> tuple[Rating, Interaction] | None:
    """The rating of the interaction with this external id (None if unknown or not rated)."""
    row = session.exec(
        select(Rating, Interaction)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .where(Interaction.interaction_id == (interaction_id or "").strip())
    ).first()
    return (row[0], row[1]) if row else None


def interaction_exists(*, session: Session, interaction_id: str) -> bool:
    stmt = select(Interaction.id).where(Interaction.interaction_id == (interaction_id or "").strip())
    return session.exec(stmt).first() is not None


# --- ratings and tags in a window ----------------------------------------------------------


def _rating_window(
    stmt, *, start: datetime | None, end: datetime | None, team_ids: Sequence[int] | None, viewer: Viewer
):
    """``stmt`` limited to non-excluded ratings with ``start <= rated_at <= end`` of agents ``viewer`` may see."""
    require_viewer(viewer)
    stmt = stmt.where(Rating.excluded_cause.is_(None))
    if start is not None:
        stmt = stmt.where(Rating.rated_at >= start)
    if end is not None:
        stmt = stmt.where(Rating.rated_at <= end)
    return _agent_filter(stmt, _unindexed(Rating.agent_id), team_ids=team_ids, site_id=None, viewer=viewer)


def window_ratings(
    *,
    session: Session,
    start: datetime | None,
    end: datetime | None,
    team_ids: Sequence[int] | None = None,
    viewer: Viewer,
) -> pd.DataFrame:
    """Non-excluded ratings with ``start <= rated_at <= end``, oldest first: ``RATING_FRAME_COLUMNS``."""
    require_viewer(viewer)
    stmt = select(
        Rating.id,
        Interaction.interaction_id,
        Interaction.channel,
        Rating.agent_id,
        Rating.stars,
        Rating.comment,
        Rating.rated_at,
    ).join(Interaction, Interaction.id == Rating.interaction_id)
    stmt = _rating_window(stmt, start=start, end=end, team_ids=team_ids, viewer=viewer)
    stmt = stmt.order_by(Rating.rated_at, Rating.id)
    return _frame(session.exec(stmt).all(), RATING_FRAME_COLUMNS)


def window_tags(
    *,
    session: Session,
    start: datetime | None,
    end: datetime | None,
    team_ids: Sequence[int] | None = None,
    viewer: Viewer,
) -> pd.DataFrame:
    """rating_id, kind, tag of the tags on the ratings ``window_ratings`` returns (one join, no id lists)."""
    require_viewer(viewer)
    stmt = select(RatingTag.rating_id, RatingTag.kind, RatingTag.tag).join(Rating, Rating.id == RatingTag.rating_id)
    stmt = _rating_window(stmt, start=start, end=end, team_ids=team_ids, viewer=viewer)
    stmt = stmt.order_by(RatingTag.rating_id, RatingTag.tag)
    return _frame(session.exec(stmt).all(), ["rating_id", "kind", "tag"])


def agent_rating_sums(
    *, session: Session, start: datetime | None, end: datetime | None, agent_ids: Sequence[int] | None = None,
    team_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Per agent, the non-excluded ratings in [start, end) (half-open, like a leaderboard period).

    Columns: agent_id, ratings, star_sum, five_count (what ``leaderboard.ranking`` needs).
    """
    stmt = select(
        Rating.agent_id,
        func.count(),
        func.sum(Rating.stars),
        func.sum(case((Rating.stars == 5, 1), else_=0)),
    ).where(Rating.excluded_cause.is_(None))
    if start is not None:
        stmt = stmt.where(Rating.rated_at >= start)
    if end is not None:
        stmt = stmt.where(Rating.rated_at < end)
    if agent_ids is not None:
        stmt = stmt.where(_unindexed(Rating.agent_id).in_(list(agent_ids)))
    if team_ids is not None:
        stmt = stmt.where(_unindexed(Rating.agent_id).in_(select(Agent.id).where(Agent.team_id.in_(list(team_ids)))))
    stmt = stmt.group_by(Rating.agent_id)
    return _frame(session.exec(stmt).all(), ["agent_id", "ratings", "star_sum", "five_count"])


def agent_rating_sums_by_site(
    *,
    session: Session,
    bounds: Mapping[int, tuple[datetime, datetime]],
    team_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Like ``agent_rating_sums``, each agent over its own site's [start, end): one scan for every site.

    ``bounds`` maps site id -> (start, end) (the same period in each site's
    time zone). One range scan of the union of the windows, with each row
    checked against its site's bounds, instead of one scan per site.
    """
    columns = ["agent_id", "ratings", "star_sum", "five_count"]
    if not bounds:
        return pd.DataFrame(columns=columns)
    lo = min(b[0] for b in bounds.values())
    hi = max(b[1] for b in bounds.values())
    site_start = case(*((Team.site_id == site_id, b[0]) for site_id, b in bounds.items()))
    site_end = case(*((Team.site_id == site_id, b[1]) for site_id, b in bounds.items()))
    stmt = (
        select(
            Rating.agent_id,
            func.count(),
            func.sum(Rating.stars),
            func.sum(case((Rating.stars == 5, 1), else_=0)),
        )
        # Rating drives the join through its time index (see _unindexed), agents and teams by key.
        .join(Agent, Agent.id == _unindexed(Rating.agent_id))
        .join(Team, Team.id == Agent.team_id)
        .where(
            Rating.excluded_cause.is_(None),
            Rating.rated_at >= lo,
            Rating.rated_at < hi,
            Rating.rated_at >= site_start,
            Rating.rated_at < site_end,
            Team.site_id.in_(list(bounds)),
        )
        .group_by(Rating.agent_id)
    )
    if team_ids is not None:
        stmt = stmt.where(Agent.team_id.in_(list(team_ids)))
    return _frame(session.exec(stmt).all(), columns)


def last_non_five_before(
    *, session: Session, agent_ids: Sequence[int], before: datetime
) -> dict[int, int]:
    """{agent id: id of their latest non-excluded rating under 5★ rated before ``before``}.

    For the few agents whose whole streak window is 5★: the rating that ended
    their previous streak names the current one.
    """
    result: dict[int, int] = {}
    for chunk in chunks(sorted({int(a) for a in agent_ids})):
        ranked = (
            select(
                Rating.agent_id.label("agent_id"),
                Rating.id.label("rating_id"),
                func.row_number()
                .over(partition_by=Rating.agent_id, order_by=(Rating.rated_at.desc(), Rating.id.desc()))
                .label("rn"),
            )
            .where(
                Rating.agent_id.in_(list(chunk)),
                Rating.stars < 5,
                Rating.excluded_cause.is_(None),
                Rating.rated_at < before,
            )
            .subquery()
        )
        for agent_id, rating_id in session.exec(
            select(ranked.c.agent_id, ranked.c.rating_id).where(ranked.c.rn == 1)
        ).all():
            result[int(agent_id)] = int(rating_id)
    return result


# --- coaching notes ---------------------------------------------------------------------------


def add_note(
    *,
    session: Session,
    agent_id: int,
    author_id: int | None,
    kind: str,
    visibility: str,
    text: str,
    rating_id: int | None = None,
    created_at: datetime,
) -> CoachingNote:
    """Insert a note (flushed, not committed: the caller owns the transaction)."""
    note = CoachingNote(
        agent_id=agent_id,
        author_id=author_id,
        kind=kind,
        visibility=visibility,
        rating_id=rating_id,
        text=text,
        created_at=created_at,
    )
    session.add(note)
    session.flush()
    return note


def note_rows(
    *,
    session: Session,
    start: datetime | None,
    end: datetime | None,
    team_ids: Sequence[int] | None = None,
    site_id: int | None = None,
    viewer: Viewer,
    agent_ids: Sequence[int] | None = None,
    author_id: int | None = None,
    end_inclusive: bool = False,
) -> pd.DataFrame:
    """Notes created in [start, end) (``end_inclusive``: [start, end]): ``NOTE_FRAME_COLUMNS``."""
    require_viewer(viewer)
    stmt = select(
        CoachingNote.id,
        CoachingNote.agent_id,
        CoachingNote.author_id,
        CoachingNote.kind,
        CoachingNote.visibility,
        CoachingNote.rating_id,
        CoachingNote.created_at,
    )
    if start is not None:
        stmt = stmt.where(CoachingNote.created_at >= start)
    if end is not None:
        stmt = stmt.where(CoachingNote.created_at <= end if end_inclusive else CoachingNote.created_at < end)
    if agent_ids is not None:
        stmt = stmt.where(CoachingNote.agent_id.in_(list(agent_ids)))
    if author_id is not None:
        stmt = stmt.where(CoachingNote.author_id == author_id)
    stmt = _agent_filter(
        stmt, CoachingNote.agent_id, team_ids=team_ids, site_id=site_id, viewer=viewer, kind=DataKind.PRIVATE_NOTES
    )
    stmt = stmt.order_by(CoachingNote.created_at, CoachingNote.id)
    return _frame(session.exec(stmt).all(), NOTE_FRAME_COLUMNS)


def last_note_at(
    *, session: Session, until: datetime, team_ids: Sequence[int] | None = None, viewer: Viewer
) -> pd.DataFrame:
    """agent_id, last_note_at: each agent's latest note created at or before ``until``."""
    require_viewer(viewer)
    stmt = (
        select(CoachingNote.agent_id, func.max(CoachingNote.created_at))
        .where(CoachingNote.created_at <= until)
        .group_by(CoachingNote.agent_id)
    )
    stmt = _agent_filter(
        stmt, CoachingNote.agent_id, team_ids=team_ids, site_id=None, viewer=viewer, kind=DataKind.PRIVATE_NOTES
    )
    return _frame(session.exec(stmt).all(), ["agent_id", "last_note_at"])


# --- prompts ------------------------------------------------------------------------------


PROMPT_FRAME_COLUMNS = (
    "id",
    "agent_id",
    "agent",
    "hide_from_wall",
    "team_id",
    "team",
    "site",
    "leader_id",
    "kind",
    "rule",
    "purpose",
    "evidence_json",
    "why_now",
    "opening",
    "priority",
    "status",
    "created_at",
    "expires_at",
)


def existing_dedupe_keys(*, session: Session, keys: Iterable[str]) -> set[str]:
    """The subset of ``keys`` already used by a prompt (any status)."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for chunk in chunks(wanted):
        found.update(
            session.exec(select(CoachingPrompt.dedupe_key).where(CoachingPrompt.dedupe_key.in_(list(chunk)))).all()
        )
    return found


def open_prompt_agent_ids(*, session: Session, now: datetime, team_ids: Sequence[int] | None = None) -> set[int]:
    """Agents with an open, unexpired prompt."""
    stmt = select(CoachingPrompt.agent_id).where(
        CoachingPrompt.status == "open", CoachingPrompt.expires_at > now, CoachingPrompt.agent_id.is_not(None)
    )
    if team_ids is not None:
        stmt = stmt.where(CoachingPrompt.team_id.in_(list(team_ids)))
    return {int(a) for a in session.exec(stmt.distinct()).all()}


def handled_prompts(*, session: Session, team_ids: Sequence[int], since: datetime) -> list[tuple[int, datetime, str]]:
    """(team_id, resolved_at, the team's site time zone) of prompts done or dismissed since ``since``."""
    if not team_ids:
        return []
    stmt = (
        select(CoachingPrompt.team_id, CoachingPrompt.resolved_at, Site.timezone)
        .join(Team, Team.id == CoachingPrompt.team_id)
        .join(Site, Site.id == Team.site_id)
        .where(
            CoachingPrompt.team_id.in_(list(team_ids)),
            CoachingPrompt.status.in_(("done", "dismissed")),
            CoachingPrompt.resolved_at >= since,
        )
    )
    return [(int(t), at, tz) for t, at, tz in session.exec(stmt).all()]


def insert_prompts(*, session: Session, rows: Sequence[dict]) -> list[CoachingPrompt]:
    """Insert prompts in bulk, skipping any whose dedupe key already exists; returns the new ones.

    Keys are checked first (one query per ``db.chunks.CHUNK`` keys), then inserted with
    ON CONFLICT DO NOTHING on SQLite and PostgreSQL, so two generators
    racing each other never fail on the unique key. Flushed, not committed.
    """
    if not rows:
        return []
    taken = existing_dedupe_keys(session=session, keys=[r["dedupe_key"] for r in rows])
    fresh: dict[str, dict] = {}
    for row in rows:
        if row["dedupe_key"] not in taken and row["dedupe_key"] not in fresh:
            fresh[row["dedupe_key"]] = row
    if not fresh:
        return []
    # Other databases: no ON CONFLICT here; the pre-check above is the guard.
    stmt, _ = insert_new(session.get_bind().dialect.name, CoachingPrompt, key=["dedupe_key"])
    created: list[CoachingPrompt] = []
    values = list(fresh.values())
    for start in range(0, len(values), 1000):
        created.extend(session.scalars(stmt.returning(CoachingPrompt), values[start : start + 1000]).all())
    return created


def prompt_frame(
    *,
    session: Session,
    viewer: Viewer,
    now: datetime | None = None,
    status: str | None = "open",
    team_id: int | None = None,
    leader_user_id: int | None = None,
    prompt_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Prompts with agent and team names: ``PROMPT_FRAME_COLUMNS``, highest priority first.

    ``now`` given: prompts that expired by then are left out. Only the teams
    ``viewer`` may coach (``auth.SYSTEM_VIEWER``: every team).
    """
    require_viewer(viewer)
    stmt = (
        select(
            CoachingPrompt.id,
            CoachingPrompt.agent_id,
            Agent.name,
            Agent.hide_from_wall,
            CoachingPrompt.team_id,
            Team.name,
            Site.name,
            Team.leader_id,
            CoachingPrompt.kind,
            CoachingPrompt.rule,
            CoachingPrompt.purpose,
            CoachingPrompt.evidence,
            CoachingPrompt.why_now,
            CoachingPrompt.opening,
            CoachingPrompt.priority,
            CoachingPrompt.status,
            CoachingPrompt.created_at,
            CoachingPrompt.expires_at,
        )
        .join(Team, Team.id == CoachingPrompt.team_id)
        .join(Site, Site.id == Team.site_id)
        .outerjoin(Agent, Agent.id == CoachingPrompt.agent_id)
        .order_by(CoachingPrompt.priority.desc(), CoachingPrompt.created_at.desc(), CoachingPrompt.id.desc())
    )
    if status is not None:
        stmt = stmt.where(CoachingPrompt.status == status)
    if now is not None:
        stmt = stmt.where(CoachingPrompt.expires_at > now)
    if team_id is not None:
        stmt = stmt.where(CoachingPrompt.team_id == team_id)
    if leader_user_id is not None:
        stmt = stmt.where(Team.leader_id == leader_user_id)
    if prompt_ids is not None:
        stmt = stmt.where(CoachingPrompt.id.in_(list(prompt_ids)))
    stmt = by_team(stmt, viewer, CoachingPrompt.team_id, kind=DataKind.COACHING_QUEUE)
    return _frame(session.exec(stmt).all(), PROMPT_FRAME_COLUMNS)


# --- the rules, as data ----------------------------------------------------------------------


def rules_json(*, session: Session) -> str | None:
    """The JSON stored under AppMeta ``coaching_rules`` (None when not set)."""
    row = session.get(AppMeta, RULES_META_KEY)
    return row.value if row and row.value.strip() else None


def store_rules_json(*, session: Session, overrides: dict) -> None:
    """Store rule overrides (only what differs from the defaults is worth storing). Committed by the caller."""
    row = session.get(AppMeta, RULES_META_KEY) or AppMeta(key=RULES_META_KEY)
    row.value = json.dumps(overrides, sort_keys=True)
    session.add(row)
