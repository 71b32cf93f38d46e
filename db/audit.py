"""The audit log: one function every write calls, and the Admin page's filtered reading.

``record`` adds an entry inside the caller's transaction (an ORM session or a Core
connection), so an entry exists exactly when its change was committed. ``kind`` is
the ``audit_log.action`` column: what happened ("import", "rating_edited",
"agent_moved", "score_excluded", "recovery_updated", ...); ``KINDS`` lists them
for the Admin page's filter.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Iterable

from sqlalchemy import func, insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from db.models import AuditLog, utcnow

# Every kind of entry, for the Admin page's filter (db.accounts writes the sign-in and account kinds).
KINDS = (
    "sign_in", "sign_in_failed", "sign_out", "user_added", "role_changed", "user_disabled", "user_enabled", "password_set",
    "team_leader_set", "site_manager_set",
    "display_added", "display_revoked", "mapping_saved", "coaching_rules_saved", "import", "rating_edited",
    "agent_moved", "recovery_claimed", "recovery_updated", "recovery_followup", "score_excluded",
    "score_exclusion_undone", "comments_purged", "badge_awarded", "coaching_note", "prompt_done", "prompt_dismissed",
    "apikey_secret_set", "apikey_secret_cleared", "agent_linked",
    "survey_request", "unsubscribed",
    "apikey_added", "apikey_revoked",
    "notify_added", "notify_removed", "notify_retried", "notify_test",
    "notification_scheduled",
    "recovery_followup_queued", "followup_addresses_erased",
    "rollups_rebuilt",
)
_TARGET = AuditLog.__table__.c.target.type.length
_ACTOR = AuditLog.__table__.c.actor.type.length


def entry(*, actor: str, kind: str, target: str = "", detail: str = "", at: datetime | None = None) -> dict:
    """One audit row as column values (actor and target cut to their columns' lengths)."""
    return {
        "at": at or utcnow(),
        "actor": (actor or "system")[:_ACTOR],
        "action": kind,
        "target": (target or "")[:_TARGET],
        "detail": detail or "",
    }


def record(
    where: Session | Connection, *, actor: str, kind: str, target: str = "", detail: str = ""
) -> None:
    """Record who did what, committed with the caller's transaction (a session or a connection)."""
    values = entry(actor=actor, kind=kind, target=target, detail=detail)
    if isinstance(where, Session):
        where.add(AuditLog(**values))
    else:
        where.execute(insert(AuditLog.__table__).values(values))


def record_many(conn: Connection, entries: Iterable[dict]) -> int:
    """Many ``entry`` rows in one statement, inside the caller's transaction."""
    rows = list(entries)
    if rows:
        conn.execute(insert(AuditLog.__table__), rows)
    return len(rows)


def entries(
    *,
    session: Session,
    actor: str | None = None,
    kind: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    limit: int = 200,
) -> list[AuditLog]:
    """The newest entries first, filtered by actor (case-insensitive), kind and UTC date range.

    ``until`` as a date includes that whole day; as a datetime it is exclusive.
    """
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(func.lower(AuditLog.actor) == actor.strip().lower())
    if kind:
        stmt = stmt.where(AuditLog.action == kind)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= _moment(since))
    if until is not None:
        end = until if isinstance(until, datetime) else _moment(until) + timedelta(days=1)
        stmt = stmt.where(AuditLog.at < end)
    return list(session.exec(stmt).all())


def kinds(*, session: Session) -> list[str]:
    """``KINDS``, then any other kind the log holds (an older release's), for the Admin page's filter."""
    stored = set(session.exec(select(AuditLog.action).distinct()).all())
    return [*KINDS, *sorted(stored - set(KINDS))]


def actors(*, session: Session) -> list[str]:
    """Everyone who appears in the log, alphabetically (the Admin page's actor filter)."""
    return sorted(session.exec(select(AuditLog.actor).distinct()).all(), key=lambda a: (a.lower(), a))


def _moment(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime.combine(day, time.min)
