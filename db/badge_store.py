"""Badge and badge-award data access: keyword-only, typed, session first, bound parameters only.

The criteria (who earns what) live in ``leaderboard.badge_rules``; this module only
reads and writes rows. Every query that returns an award's reason or evidence
takes a ``viewer`` and filters with ``db.scope.by_agent``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

import pandas as pd
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from db.models import Agent, Badge, BadgeAward, Interaction, Rating, RecoveryCase, Site, Team, User
from db.chunks import chunks
from db.queries import rating_tags
from db.scope import by_agent

# The public columns of `badges list --format csv|json`, in order.
AWARD_COLUMNS = ("agent", "badge", "kind", "awarded_at", "awarded_by", "reason", "evidence")
# What pages get on top of AWARD_COLUMNS.
AWARD_EXTRA_COLUMNS = (
    "award_id",
    "agent_id",
    "display_name",
    "team",
    "badge_code",
    "description",
    "criteria",
    "period_key",
    "awarded_by_id",
)

# --- catalogue and names ------------------------------------------------------------


def all_badges(*, session: Session) -> list[Badge]:
    """Every badge row (active or not), in id order."""
    return list(session.exec(select(Badge).order_by(Badge.id)).all())


def ensure_badges(*, session: Session, specs: Sequence, commit: bool = True) -> list[Badge]:
    """Insert the badges of ``specs`` (anything with code, name, kind, description, criteria) that are
    missing, matched by code; returns the new rows.

    Existing rows are left as they are, so edits made in the settings survive.
    Idempotent and safe against a concurrent run (a duplicate insert is retried
    once). With ``commit=False`` the rows are only flushed into the caller's
    transaction.
    """
    for attempt in range(2):
        existing = set(session.exec(select(Badge.code)).all())
        new = [
            Badge(code=s.code, name=s.name, kind=s.kind, description=s.description, criteria=s.criteria)
            for s in specs
            if s.code not in existing
        ]
        if not new:
            return []
        session.add_all(new)
        if not commit:
            session.flush()
            return new
        try:
            session.commit()
            return new
        except IntegrityError:
            session.rollback()  # another process inserted them first: read again
            if attempt:
                raise
    return []


def badge_by_code(*, session: Session, code: str) -> Badge | None:
    return session.exec(select(Badge).where(Badge.code == code)).first()


def find_badge(*, session: Session, text: str) -> Badge | None:
    """A badge by code or by name, case-insensitive ('Empathetic', 'empathetic', 'streak_10')."""
    key = (text or "").strip().lower()
    if not key:
        return None
    by_code = session.exec(select(Badge).where(func.lower(Badge.code) == key)).first()
    if by_code is not None:
        return by_code
    return session.exec(select(Badge).where(func.lower(Badge.name) == key).order_by(Badge.id)).first()


def find_agent(*, session: Session, name: str) -> Agent | None:
    """An agent by their (unique) name, case-insensitive."""
    key = (name or "").strip().lower()
    return session.exec(select(Agent).where(func.lower(Agent.name) == key)).first() if key else None


def find_user(*, session: Session, username: str) -> User | None:
    key = (username or "").strip().lower()
    return session.exec(select(User).where(func.lower(User.username) == key)).first() if key else None


def interaction_by_external_id(*, session: Session, interaction_id: str) -> Interaction | None:
    key = (interaction_id or "").strip()
    return session.exec(select(Interaction).where(Interaction.interaction_id == key)).first() if key else None


def external_ids(*, session: Session, interaction_pks: Iterable[int]) -> dict[int, str]:
    """{Interaction.id: Interaction.interaction_id} for the given primary keys."""
    pks = sorted({int(p) for p in interaction_pks})
    found: dict[int, str] = {}
    for chunk in chunks(pks):
        stmt = select(Interaction.id, Interaction.interaction_id).where(Interaction.id.in_(list(chunk)))
        found.update({int(pk): ext for pk, ext in session.exec(stmt).all()})
    return found


# --- frames for evaluation ------------------------------------------------------------


RATING_HISTORY_COLUMNS = ("rating_id", "agent_id", "interaction_pk", "stars", "resolved", "rated_at")


def rating_history(
    *,
    session: Session,
    before: datetime | None = None,
    since: datetime | None = None,
    agent_id: int | None = None,
) -> pd.DataFrame:
    """Every non-excluded rating (optionally of one agent, in [since, before)), oldest first.

    One row per rating: rating_id, agent_id, interaction_pk (Interaction.id),
    stars, resolved, rated_at. Reads the rating table alone (no joins), so a
    large history streams straight off the table.
    """
    stmt = select(
        Rating.id, Rating.agent_id, Rating.interaction_id, Rating.stars, Rating.resolved, Rating.rated_at
    ).where(Rating.excluded_cause.is_(None))
    if before is not None:
        stmt = stmt.where(Rating.rated_at < before)
    if since is not None:
        stmt = stmt.where(Rating.rated_at >= since)
    if agent_id is not None:
        stmt = stmt.where(Rating.agent_id == agent_id)
    # Core rows straight into columns: building a frame from ORM rows costs more than the query.
    rows = session.connection().execute(stmt).all()
    columns = list(zip(*rows)) if rows else [()] * len(RATING_HISTORY_COLUMNS)
    frame = pd.DataFrame(
        {
            "rating_id": pd.array(columns[0], dtype="int64"),
            "agent_id": pd.array(columns[1], dtype="int64"),
            "interaction_pk": pd.array(columns[2], dtype="int64"),
            "stars": pd.array(columns[3], dtype="int64"),
            # True / False / missing: "Was your issue resolved?" is optional.
            "resolved": pd.array(columns[4], dtype="boolean"),
            "rated_at": pd.to_datetime(pd.Series(columns[5], dtype="object")).astype("datetime64[us]"),
        }
    )
    return frame.sort_values(["agent_id", "rated_at", "rating_id"], kind="mergesort").reset_index(drop=True)


def agent_teams(*, session: Session) -> pd.DataFrame:
    """agent_id, agent, team_id, team, timezone (the agent's site's zone) for every agent."""
    stmt = (
        select(Agent.id, Agent.name, Team.id, Team.name, Site.timezone)
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
    )
    return pd.DataFrame.from_records(
        session.exec(stmt).all(), columns=["agent_id", "agent", "team_id", "team", "timezone"]
    )


def award_keys(*, session: Session, badge_ids: Sequence[int]) -> pd.DataFrame:
    """badge_id, agent_id, team_id (the agent's current team), period_key of existing awards."""
    columns = ["badge_id", "agent_id", "team_id", "period_key"]
    if not badge_ids:
        return pd.DataFrame(columns=columns)
    stmt = (
        select(BadgeAward.badge_id, BadgeAward.agent_id, Agent.team_id, BadgeAward.period_key)
        .join(Agent, Agent.id == BadgeAward.agent_id)
        .where(BadgeAward.badge_id.in_(list(badge_ids)))
    )
    return pd.DataFrame.from_records(session.exec(stmt).all(), columns=columns)


def recovery_successes(*, session: Session, min_followup_stars: int, user_id: int | None = None) -> pd.DataFrame:
    """Resolved recovery cases with a follow-up of at least ``min_followup_stars``, credited to the
    agent whose account owned the case: agent_id, case_id, closed_at, interaction_pk (of the
    recovered rating), oldest first."""
    stmt = (
        select(Agent.id, RecoveryCase.id, RecoveryCase.closed_at, Rating.interaction_id)
        .join(Agent, Agent.user_id == RecoveryCase.owner_id)
        .join(Rating, Rating.id == RecoveryCase.rating_id)
        .where(RecoveryCase.status == "resolved", RecoveryCase.followup_stars >= min_followup_stars)
    )
    if user_id is not None:
        stmt = stmt.where(RecoveryCase.owner_id == user_id)
    frame = pd.DataFrame.from_records(
        session.exec(stmt).all(), columns=["agent_id", "case_id", "closed_at", "interaction_pk"]
    )
    return frame.sort_values(["agent_id", "closed_at", "case_id"], kind="mergesort").reset_index(drop=True)


# --- value awards ----------------------------------------------------------------------


def count_awards_with_key_prefix(*, session: Session, badge_id: int, agent_id: int, prefix: str) -> int:
    """How many awards of this badge to this agent have a period_key starting with ``prefix``."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = select(func.count(BadgeAward.id)).where(
        BadgeAward.badge_id == badge_id,
        BadgeAward.agent_id == agent_id,
        BadgeAward.period_key.like(escaped + "%", escape="\\"),
    )
    return int(session.exec(stmt).one())


def award_exists(*, session: Session, badge_id: int, agent_id: int, period_key: str) -> bool:
    stmt = select(BadgeAward.id).where(
        BadgeAward.badge_id == badge_id, BadgeAward.agent_id == agent_id, BadgeAward.period_key == period_key
    )
    return session.exec(stmt).first() is not None


def week_praise(
    *, session: Session, viewer, start: datetime, end: datetime, min_stars: int = 4
) -> pd.DataFrame:
    """Non-excluded ratings of at least ``min_stars`` in [start, end) of agents ``viewer`` may see,
    oldest first, with their went_well tags: rating_id, interaction_pk, interaction_id, agent_id,
    agent, team, stars, comment, rated_at, went_well (list of tags)."""
    columns = [
        "rating_id",
        "interaction_pk",
        "interaction_id",
        "agent_id",
        "agent",
        "team",
        "stars",
        "comment",
        "rated_at",
    ]
    stmt = (
        select(
            Rating.id,
            Interaction.id,
            Interaction.interaction_id,
            Rating.agent_id,
            Agent.name,
            Team.name,
            Rating.stars,
            Rating.comment,
            Rating.rated_at,
        )
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .join(Agent, Agent.id == Rating.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .where(
            Rating.excluded_cause.is_(None),
            Rating.stars >= min_stars,
            Rating.rated_at >= start,
            Rating.rated_at < end,
        )
        .order_by(Rating.rated_at, Rating.id)
    )
    stmt = by_agent(stmt, viewer, Rating.agent_id)
    frame = pd.DataFrame.from_records(session.exec(stmt).all(), columns=columns)
    ids = [int(i) for i in frame["rating_id"]]
    tags = rating_tags(session=session, rating_ids=ids, kind="went_well")["went_well"]
    frame["went_well"] = [tags.get(i, []) for i in ids]
    return frame


# --- reading awards ---------------------------------------------------------------------


def award_rows(
    *,
    session: Session,
    viewer,
    agent_id: int | None = None,
    since: datetime | None = None,
    award_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Awards of agents ``viewer`` may see, newest first: AWARD_COLUMNS then AWARD_EXTRA_COLUMNS.

    ``agent`` is the agent's full name, ``badge`` the badge's name, ``evidence``
    the ';'-separated external interaction ids.
    """
    stmt = (
        select(
            Agent.name,
            Badge.name,
            Badge.kind,
            BadgeAward.awarded_at,
            BadgeAward.awarded_by,
            BadgeAward.reason,
            BadgeAward.evidence,
            BadgeAward.id,
            BadgeAward.agent_id,
            Agent.display_name,
            Team.name,
            Badge.code,
            Badge.description,
            Badge.criteria,
            BadgeAward.period_key,
            BadgeAward.awarded_by_id,
        )
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .join(Agent, Agent.id == BadgeAward.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .order_by(BadgeAward.awarded_at.desc(), BadgeAward.id.desc())
    )
    stmt = by_agent(stmt, viewer, BadgeAward.agent_id)
    if agent_id is not None:
        stmt = stmt.where(BadgeAward.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(BadgeAward.awarded_at >= since)
    if limit is not None:
        stmt = stmt.limit(limit)
    columns = list(AWARD_COLUMNS + AWARD_EXTRA_COLUMNS)
    if award_ids is None:
        return pd.DataFrame.from_records(session.exec(stmt).all(), columns=columns)
    rows: list = []
    for chunk in chunks(sorted({int(i) for i in award_ids})):
        rows.extend(session.exec(stmt.where(BadgeAward.id.in_(list(chunk)))).all())
    frame = pd.DataFrame.from_records(rows, columns=columns)
    return frame.sort_values(["awarded_at", "award_id"], ascending=False, kind="mergesort").reset_index(drop=True)


def earned_counts(*, session: Session, agent_id: int) -> dict[str, int]:
    """{badge code: how many times this agent earned it}."""
    stmt = (
        select(Badge.code, func.count(BadgeAward.id))
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .where(BadgeAward.agent_id == agent_id)
        .group_by(Badge.code)
    )
    return {code: int(n) for code, n in session.exec(stmt).all()}


def public_awards(*, session: Session, since: datetime | None = None, limit: int = 20) -> list[dict]:
    """Awards to agents who show on public screens, newest first: id, agent (display name), team,
    badge, badge_code, kind, awarded_at. No reason and no evidence: those stay private."""
    stmt = (
        select(BadgeAward.id, Agent.display_name, Team.name, Badge.name, Badge.code, Badge.kind, BadgeAward.awarded_at)
        .join(Badge, Badge.id == BadgeAward.badge_id)
        .join(Agent, Agent.id == BadgeAward.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .where(Agent.hide_from_wall.is_(False))
        .order_by(BadgeAward.awarded_at.desc(), BadgeAward.id.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(BadgeAward.awarded_at >= since)
    keys = ("id", "agent", "team", "badge", "badge_code", "kind", "awarded_at")
    return [dict(zip(keys, row)) for row in session.exec(stmt).all()]
