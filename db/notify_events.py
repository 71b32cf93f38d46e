"""Events that notify (issue 15), queued in the transaction of the write that caused them.

- ``queue_recovery_alerts(conn, case_ids=...)``: a case just opened (``recovery_store.open_cases``,
  inside the import batch that landed the low rating) alerts its team's leader, privately.
- ``queue_celebrations(conn, interaction_ids=...)``: a 5★ rating with a comment and nothing to
  improve, by an agent shown on the wall, is celebrated on public channels (the write path).
- ``queue_badges(conn, award_ids=...)``: every badge won (automatic or a leader's award), public,
  agents hidden from the wall never named.

Each reads what it says from the database (the stored rating, not the row that was sent: a
stale or refused row announces nothing), skips what is not fresh (``notify_max_age_hours``: a
history import announces nothing) and hands a message built by ``leaderboard.notify_messages``
to ``db.notify_store.queue_notification`` with a dedupe key of its own (a re-import, a retried
batch or a second evaluation queues nothing twice). Queueing is the system's doing: no audit
entry here (the outbox row is the record); the write that caused it is audited where it is made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from db import notify_store
from db.chunks import chunks
from db.insert_new import insert_new
from db.models import (
    Agent, AppMeta, Badge, BadgeAward, Interaction, Rating, RatingTag, RecoveryCase, Site, Team, User, utcnow,
)
from leaderboard import notify_messages as words
from leaderboard.auth import AuthError, Viewer, may_administer
from leaderboard.names import public_name
from leaderboard.settings import Settings, get_settings

_CASE, _RATING, _INTER = RecoveryCase.__table__, Rating.__table__, Interaction.__table__
_AGENT, _TEAM, _SITE = Agent.__table__, Team.__table__, Site.__table__
_TAG, _AWARD, _BADGE = RatingTag.__table__, BadgeAward.__table__, Badge.__table__


def queue_recovery_alerts(
    conn: Connection, *, case_ids: Iterable[int], now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Alert the team's leader of each new case (private); how many outbox rows were queued."""
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    settings = settings or get_settings()
    now = now or utcnow()
    queued = 0
    for chunk in chunks(ids):
        stmt = (
            select(_CASE.c.id, _CASE.c.due_at, _INTER.c.interaction_id, _RATING.c.stars, _RATING.c.comment,
                   _RATING.c.rated_at, _AGENT.c.name, _TEAM.c.id, _TEAM.c.name, _TEAM.c.leader_id, _SITE.c.id,
                   _SITE.c.name, _SITE.c.timezone)
            .select_from(
                _CASE.join(_RATING, _RATING.c.id == _CASE.c.rating_id)
                .join(_INTER, _INTER.c.id == _RATING.c.interaction_id)
                .join(_AGENT, _AGENT.c.id == _RATING.c.agent_id)
                .join(_TEAM, _TEAM.c.id == _AGENT.c.team_id)
                .join(_SITE, _SITE.c.id == _TEAM.c.site_id)
            )
            .where(_CASE.c.id.in_(chunk))
            .order_by(_CASE.c.id)
        )
        for (case_id, due, interaction_id, stars, comment, rated_at, agent, team_id, team, leader_id, site_id, site,
             tz) in conn.execute(stmt).all():
            if not words.is_fresh(rated_at, now, max_age_hours=settings.notify_max_age_hours):
                continue
            message = words.recovery_alert(
                agent=public_name(agent, "first_initial"), team=f"{site}/{team}", stars=stars, comment=comment,
                interaction_id=interaction_id, case_id=case_id, due=due, now=now, tz=tz,
                public_url=settings.public_url,
            )
            queued += notify_store.queue_notification(
                conn, kind="recovery", message=message, dedupe_key=f"recovery:case:{case_id}",
                site_id=site_id, team_id=team_id, user_id=leader_id,
            )
    return queued


def queue_overdue_reminder(conn: Connection, *, case_id: int, now: datetime, settings: Settings) -> int:
    """Remind the team's leader once of a case nobody contacted in time (the scheduled job calls it)."""
    stmt = (
        select(_CASE.c.due_at, _INTER.c.interaction_id, _RATING.c.stars, _RATING.c.comment, _AGENT.c.name,
               _TEAM.c.id, _TEAM.c.name, _TEAM.c.leader_id, _SITE.c.id, _SITE.c.name, _SITE.c.timezone)
        .select_from(
            _CASE.join(_RATING, _RATING.c.id == _CASE.c.rating_id)
            .join(_INTER, _INTER.c.id == _RATING.c.interaction_id)
            .join(_AGENT, _AGENT.c.id == _RATING.c.agent_id)
            .join(_TEAM, _TEAM.c.id == _AGENT.c.team_id)
            .join(_SITE, _SITE.c.id == _TEAM.c.site_id)
        )
        .where(_CASE.c.id == case_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return 0
    due, interaction_id, stars, comment, agent, team_id, team, leader_id, site_id, site, tz = row
    message = words.overdue_reminder(
        agent=public_name(agent, "first_initial"), team=f"{site}/{team}", stars=stars, comment=comment,
        interaction_id=interaction_id, case_id=case_id, due=due, now=now, tz=tz, public_url=settings.public_url,
    )
    return notify_store.queue_notification(
        conn, kind="recovery_overdue", message=message, dedupe_key=f"recovery_overdue:case:{case_id}",
        site_id=site_id, team_id=team_id, user_id=leader_id,
    )


def queue_celebrations(
    conn: Connection, *, interaction_ids: Iterable[str], now: datetime | None = None,
    settings: Settings | None = None,
) -> int:
    """Celebrate the stored 5★ ratings of these interactions that qualify (public); rows queued."""
    ids = sorted(set(interaction_ids))
    if not ids:
        return 0
    settings = settings or get_settings()
    now = now or utcnow()
    queued = 0
    for chunk in chunks(ids):
        stmt = (
            select(_RATING.c.id, _RATING.c.stars, _RATING.c.comment, _RATING.c.rated_at, _RATING.c.excluded_cause,
                   _AGENT.c.name, _AGENT.c.hide_from_wall, _AGENT.c.active, _AGENT.c.user_id, _TEAM.c.id,
                   _TEAM.c.name, _SITE.c.id)
            .select_from(
                _RATING.join(_INTER, _INTER.c.id == _RATING.c.interaction_id)
                .join(_AGENT, _AGENT.c.id == _RATING.c.agent_id)
                .join(_TEAM, _TEAM.c.id == _AGENT.c.team_id)
                .join(_SITE, _SITE.c.id == _TEAM.c.site_id)
            )
            .where(_INTER.c.interaction_id.in_(chunk), _RATING.c.stars == words.CELEBRATION_STARS)
            .order_by(_RATING.c.id)
        )
        rows = conn.execute(stmt).all()
        if not rows:
            continue
        rating_ids = [r[0] for r in rows]
        to_improve = {
            rid for (rid,) in conn.execute(
                select(_TAG.c.rating_id).where(_TAG.c.rating_id.in_(rating_ids), _TAG.c.kind == "to_improve")
            )
        }
        for (rating_id, stars, comment, rated_at, excluded, agent, hidden, active, user_id, team_id, team,
             site_id) in rows:
            tags = ("to_improve",) if rating_id in to_improve else ()
            if excluded or not words.is_celebration(
                stars=stars, comment=comment, to_improve=tags, hide_from_wall=bool(hidden), active=bool(active)
            ):
                continue
            if not words.is_fresh(rated_at, now, max_age_hours=settings.notify_max_age_hours):
                continue
            message = words.celebration(
                public_name=public_name(agent, settings.public_name_style), team=team, stars=stars, comment=comment
            )
            queued += notify_store.queue_notification(
                conn, kind="celebration", message=message, dedupe_key=f"celebration:rating:{rating_id}",
                site_id=site_id, team_id=team_id, user_id=user_id,
            )
    return queued


def queue_badges(
    conn: Connection, *, award_ids: Iterable[int], now: datetime | None = None, settings: Settings | None = None
) -> int:
    """Announce these badge awards (public); agents hidden from the wall are never named. Rows queued."""
    ids = sorted({int(i) for i in award_ids if i is not None})
    if not ids:
        return 0
    settings = settings or get_settings()
    now = now or utcnow()
    queued = 0
    for chunk in chunks(ids):
        stmt = (
            select(_AWARD.c.id, _AWARD.c.awarded_at, _BADGE.c.name, _BADGE.c.description, _AGENT.c.name,
                   _AGENT.c.hide_from_wall, _AGENT.c.active, _AGENT.c.user_id, _TEAM.c.id, _TEAM.c.name,
                   _TEAM.c.site_id)
            .select_from(
                _AWARD.join(_BADGE, _BADGE.c.id == _AWARD.c.badge_id)
                .join(_AGENT, _AGENT.c.id == _AWARD.c.agent_id)
                .join(_TEAM, _TEAM.c.id == _AGENT.c.team_id)
            )
            .where(_AWARD.c.id.in_(chunk))
            .order_by(_AWARD.c.id)
        )
        for (award_id, awarded_at, badge, description, agent, hidden, active, user_id, team_id, team,
             site_id) in conn.execute(stmt).all():
            if hidden or not active or not words.is_fresh(awarded_at, now,
                                                          max_age_hours=settings.notify_max_age_hours):
                continue
            message = words.badge_won(
                public_name=public_name(agent, settings.public_name_style), team=team, badge=badge,
                description=description or "",
            )
            queued += notify_store.queue_notification(
                conn, kind="badge", message=message, dedupe_key=f"badge:award:{award_id}",
                site_id=site_id, team_id=team_id, user_id=user_id,
            )
    return queued


# --------------------------------------------------------------------------- what the scheduled jobs read


def day_ratings(conn: Connection, *, team_ids: Iterable[int], start: datetime, end: datetime) -> list[tuple]:
    """Ratings of the teams' agents rated in [start, end), excluded ones left out (not the agent's doing):
    (interaction_id, agent name, stars, comment, rated_at, case id or None)."""
    teams = sorted(set(team_ids))
    if not teams:
        return []
    stmt = (
        select(_INTER.c.interaction_id, _AGENT.c.name, _RATING.c.stars, _RATING.c.comment, _RATING.c.rated_at,
               _CASE.c.id)
        .select_from(
            _RATING.join(_INTER, _INTER.c.id == _RATING.c.interaction_id)
            .join(_AGENT, _AGENT.c.id == _RATING.c.agent_id)
            .outerjoin(_CASE, _CASE.c.rating_id == _RATING.c.id)
        )
        .where(_AGENT.c.team_id.in_(teams), _RATING.c.rated_at >= start, _RATING.c.rated_at < end,
               _RATING.c.excluded_cause.is_(None))
        .order_by(_RATING.c.rated_at, _INTER.c.interaction_id)
    )
    return [tuple(r) for r in conn.execute(stmt).all()]


def overdue_case_ids(conn: Connection, *, now: datetime, since: datetime) -> list[int]:
    """Open cases nobody contacted whose due time passed in [since, now)."""
    stmt = (
        select(_CASE.c.id)
        .where(_CASE.c.status == "open", _CASE.c.contacted_at.is_(None), _CASE.c.due_at < now,
               _CASE.c.due_at >= since)
        .order_by(_CASE.c.id)
    )
    return [r[0] for r in conn.execute(stmt)]


def sites(conn: Connection) -> list[tuple[int, str, str]]:
    """(id, name, time zone) of every site."""
    return [tuple(r) for r in conn.execute(select(_SITE.c.id, _SITE.c.name, _SITE.c.timezone).order_by(_SITE.c.id))]


def leaders_at(conn: Connection, *, site_id: int) -> list[int]:
    """Active leaders whose digest belongs to this site: the site of the first team they lead."""
    user = User.__table__
    rows = conn.execute(
        select(_TEAM.c.leader_id, _TEAM.c.site_id)
        .join(user, user.c.id == _TEAM.c.leader_id)
        .where(user.c.disabled.is_(False), user.c.role == "leader")
        .order_by(_TEAM.c.leader_id, _TEAM.c.id)
    ).all()
    home: dict[int, int] = {}
    for leader_id, team_site in rows:
        home.setdefault(leader_id, team_site)
    return sorted(u for u, s in home.items() if s == site_id)


def team_ids_at(conn: Connection, *, site_id: int) -> list[int]:
    return [r[0] for r in conn.execute(select(_TEAM.c.id).where(_TEAM.c.site_id == site_id).order_by(_TEAM.c.id))]


def managers_at(conn: Connection, *, site_id: int) -> list[int]:
    user = User.__table__
    return [r[0] for r in conn.execute(
        select(user.c.id).where(user.c.role == "manager", user.c.site_id == site_id, user.c.disabled.is_(False))
        .order_by(user.c.id)
    )]


# --------------------------------------------------------------------------- scheduled jobs run once

# A job (a digest for one person and day, a weekly round-up for one site and week, one overdue
# reminder) is claimed by a row in app_meta, in the transaction that queues it: two senders never
# queue it twice, and a later tick skips it without building anything.
JOB_PREFIX = "notify:"
JOB_KEEP_DAYS = 21


def jobs_done(conn: Connection, *, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    meta = AppMeta.__table__
    return {r[0] for r in conn.execute(select(meta.c.key).where(meta.c.key.in_(wanted)))}


def claim_job(conn: Connection, *, key: str, now: datetime, viewer: Viewer) -> bool:
    """Mark job ``key`` as done in the caller's transaction; False when it was done already."""
    if not may_administer(viewer):
        raise AuthError("only the system schedules notifications")
    meta = AppMeta.__table__
    values = {"key": key, "value": now.isoformat(sep=" ")}
    stmt, skips_taken = insert_new(conn.dialect.name, meta, key=["key"])
    if not skips_taken and conn.execute(select(meta.c.key).where(meta.c.key == key)).first():
        return False
    return bool(conn.execute(stmt.values(values).returning(meta.c.key)).all())


def forget_old_jobs(conn: Connection, *, now: datetime) -> int:
    """Drop job marks older than ``JOB_KEEP_DAYS`` (their jobs can no longer be due)."""
    meta = AppMeta.__table__
    cutoff = (now - timedelta(days=JOB_KEEP_DAYS)).isoformat(sep=" ")
    return int(conn.execute(
        delete(meta).where(meta.c.key.like(JOB_PREFIX + "%"), meta.c.value < cutoff)
    ).rowcount or 0)
