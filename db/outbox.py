"""The outbox: messages written in the transaction of what caused them, delivered later by a sender.

Generic on purpose (survey e-mails today; Slack, Teams and e-mail notifications can use
the same table): a row is a kind, a recipient, a subject, a text and an HTML body, extra
headers, and its delivery state.

- ``enqueue(conn, ...)`` adds a row inside the caller's transaction; a ``dedupe_key``
  already queued adds nothing (queueing twice, or a retried request, sends once).
- ``claim(engine, ...)`` takes due rows for one sender under a lease: ``claimed_until``
  and ``claimed_by`` are set in one short transaction (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``, so two senders never take the same row; SQLite has one writer at a time and
  the UPDATE re-checks the lease). A sender that dies leaves rows that are due again
  when the lease ends: delivery is at least once, and exactly once unless a sender dies
  between handing a message over and marking it.
- ``finish(engine, ...)`` marks a claimed row sent, skipped, failed, or due again later.
  A sent or skipped row's recipient is erased (a failed one keeps it for a retry).

Rows are machinery, not user data: the sender writes them as the system. Queueing takes
the viewer that caused it (only the system queues today).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from db.insert_new import insert_new
from db.models import Outbox, utcnow
from db.retry import with_retry
from leaderboard.auth import AuthError, Viewer, may_administer

LEASE = timedelta(minutes=5)
MAX_ERROR = 1000

_OUT = Outbox.__table__


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    ref: str
    recipient: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    attempts: int  # tries before this one


def enqueue(
    conn: Connection,
    *,
    viewer: Viewer,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str = "",
    headers: dict[str, str] | None = None,
    ref: str = "",
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue one message in the caller's transaction; False when ``dedupe_key`` is queued already."""
    if not may_administer(viewer):
        raise AuthError("only the system queues messages")
    now = now or utcnow()
    values = {
        "kind": kind, "dedupe_key": dedupe_key, "ref": ref, "recipient": recipient, "subject": subject,
        "text": text, "html": html, "headers": json.dumps(headers or {}, ensure_ascii=False), "status": "queued",
        "attempts": 0, "next_attempt_at": now, "claimed_until": None, "claimed_by": "", "last_error": "",
        "created_at": now, "sent_at": None,
    }
    stmt, skips_taken = insert_new(conn.dialect.name, _OUT, key=["dedupe_key"])
    if not skips_taken and dedupe_key is not None and conn.execute(
        select(_OUT.c.id).where(_OUT.c.dedupe_key == dedupe_key)
    ).first():
        return False
    return bool(conn.execute(stmt.values(values).returning(_OUT.c.id)).all())


def _due(now: datetime):
    return (
        _OUT.c.status == "queued",
        _OUT.c.next_attempt_at <= now,
        or_(_OUT.c.claimed_until.is_(None), _OUT.c.claimed_until < now),
    )


def claim(engine: Engine, *, now: datetime | None = None, limit: int = 50, lease: timedelta = LEASE,
          kinds: tuple[str, ...] | None = None) -> tuple[str, list[Message]]:
    """Due rows (oldest first, at most ``limit``) leased to one sender: (the lease's token, messages)."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    where = list(_due(now))
    if kinds is not None:
        where.append(_OUT.c.kind.in_(kinds))

    def lease_rows() -> list:
        with engine.begin() as conn:
            pick = select(_OUT.c.id).where(*where).order_by(_OUT.c.next_attempt_at, _OUT.c.id).limit(limit)
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = [row[0] for row in conn.execute(pick)]
            if not ids:
                return []
            # The lease is re-checked here: on SQLite another sender may have leased a row since the SELECT.
            conn.execute(
                update(_OUT).where(_OUT.c.id.in_(ids), *_due(now)).values(claimed_until=now + lease, claimed_by=token)
            )
            return conn.execute(
                select(_OUT.c.id, _OUT.c.kind, _OUT.c.ref, _OUT.c.recipient, _OUT.c.subject, _OUT.c.text,
                       _OUT.c.html, _OUT.c.headers, _OUT.c.attempts)
                .where(_OUT.c.claimed_by == token, _OUT.c.status == "queued")
                .order_by(_OUT.c.next_attempt_at, _OUT.c.id)
            ).all()

    rows = with_retry(lease_rows)  # another writer in the way (SQLite's one writer): run it again
    return token, [
        Message(id=r[0], kind=r[1], ref=r[2], recipient=r[3], subject=r[4], text=r[5], html=r[6],
                headers=json.loads(r[7] or "{}"), attempts=r[8])
        for r in rows
    ]


def finish(
    engine: Engine,
    message: Message,
    *,
    token: str,
    outcome: str,
    now: datetime | None = None,
    error: str = "",
    retry_at: datetime | None = None,
    also: Callable[[Connection], None] | None = None,
) -> bool:
    """Record one try of a claimed message: outcome "sent", "skipped", "failed" or "retry" (due at ``retry_at``).

    ``also(conn)`` runs in the same transaction (e.g. recording that a survey was offered by
    e-mail). False when the lease was lost (another sender took the row after it ran out).
    """
    now = now or utcnow()
    values: dict = {"attempts": message.attempts + (0 if outcome == "skipped" else 1), "claimed_until": None,
                    "claimed_by": "", "last_error": error[:MAX_ERROR]}
    if outcome == "sent":
        values.update(status="sent", sent_at=now, recipient="")
    elif outcome == "skipped":
        values.update(status="skipped", recipient="")
    elif outcome == "failed":
        values.update(status="failed")
    elif outcome == "retry":
        values.update(status="queued", next_attempt_at=retry_at or now)
    else:
        raise ValueError(f"unknown outcome {outcome!r}")

    def mark() -> bool:
        with engine.begin() as conn:
            done = conn.execute(
                update(_OUT).where(_OUT.c.id == message.id, _OUT.c.claimed_by == token, _OUT.c.status == "queued")
                .values(**values)
            ).rowcount
            if done and also is not None:
                also(conn)
        return bool(done)

    return with_retry(mark)


def status_counts(engine: Engine, *, kind: str | None = None) -> dict[str, int]:
    """How many rows are queued, sent, failed and skipped."""
    stmt = select(_OUT.c.status, func.count()).group_by(_OUT.c.status)
    if kind is not None:
        stmt = stmt.where(_OUT.c.kind == kind)
    with engine.connect() as conn:
        found = dict(conn.execute(stmt).all())
    return {status: int(found.get(status, 0)) for status in ("queued", "sent", "failed", "skipped")}


def messages(engine: Engine, *, kind: str | None = None, ref: str | None = None) -> list[dict]:
    """Every row (newest first) as a dict: tests and a future Admin list read them."""
    stmt = select(_OUT).order_by(_OUT.c.id.desc())
    if kind is not None:
        stmt = stmt.where(_OUT.c.kind == kind)
    if ref is not None:
        stmt = stmt.where(_OUT.c.ref == ref)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]
