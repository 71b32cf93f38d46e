"""Notifications to Slack, Teams, generic webhooks and e-mail (issue 15): what is queued, for whom.

CONTRACT (shared by the delivery and the event work; keep the signature):

``queue_notification(conn, *, kind, message, dedupe_key, site_id=None, team_id=None, user_id=None) -> int``
is called inside the transaction of the write that caused it (a rating landing, a case
opening, a badge award) or by a scheduled job. It finds the destinations configured for
``kind`` whose scope covers (site_id, team_id, user_id) and queues one ``outbox`` row per
destination (``dedupe_key`` + destination: queueing twice adds nothing). Returns how many
rows it queued. ``message`` is a JSON-able dict of raw user text (the renderers escape per
channel): {"title": str, "lines": [str, ...], "link": str | None, "fields": [[label, value], ...]}.

Kinds: "recovery" and "recovery_overdue" and "digest" are private (a leader's or manager's
own channel); "celebration", "badge" and "weekly" are public (shout-out channels).

Which destinations cover a notification (a destination's scope is one site, team or person):

- a site destination: the notification's site (``site_id``, or the site of ``team_id``);
- a team destination: the notification's ``team_id``;
- a person's destination: the notification's ``user_id``; and, for a notification about a
  team with no ``user_id``, the team's leader (a leader's own channel gets their team's alerts).

A notification row in ``outbox`` has kind ``"notify:<kind>"``, the title as subject, the
message as JSON in ``text``, no recipient (the destination's URL stays in its own table), and
a ``notify_delivery`` row naming its destination. Destinations are written by admins only
(the command line is the system, an admin), each change audited.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from db import outbox
from db.audit import record
from db.models import NotifyDelivery, NotifyDestination, Outbox, Site, Team, User, utcnow
from db.retry import with_retry
from leaderboard.auth import SYSTEM_VIEWER, AuthError, Viewer, may_administer
from leaderboard.notify_rules import KINDS, PRIVATE_KINDS, PUBLIC_KINDS, NotifyInputError, ScopeRef

__all__ = ["KINDS", "PRIVATE_KINDS", "PUBLIC_KINDS", "queue_notification"]
PREFIX = "notify:"
# A row delivered inside another row's "and N more" message (its last_error): only the carrier counts
# against the destination's per-minute limit.
COLLAPSED = "collapsed into #"
OUTBOX_KINDS = tuple(PREFIX + k for k in KINDS)

_DEST = NotifyDestination.__table__
_DEL = NotifyDelivery.__table__
_OUT = Outbox.__table__
_DEDUPE_MAX = _OUT.c.dedupe_key.type.length
_SUBJECT_MAX = _OUT.c.subject.type.length
_REF_MAX = _OUT.c.ref.type.length


@dataclass(frozen=True)
class Destination:
    id: int
    name: str
    url: str  # a secret: never print or log it (leaderboard.notify_rules.mask_url)
    type: str
    scope: str  # "site", "team" or "user"
    scope_id: int
    scope_label: str  # "site:Manila", "team:Manila/Bayanihan", "user:maria"
    kinds: tuple[str, ...]
    quiet: str
    per_minute: int
    timezone: str  # the scope's site time zone (quiet hours), "UTC" for a person without a site

    def __repr__(self) -> str:  # the URL stays out of tracebacks and logs
        return f"Destination(id={self.id}, name={self.name!r}, type={self.type!r}, scope={self.scope_label!r})"


def _outbox_dedupe(destination_id: int, dedupe_key: str) -> str:
    key = f"{PREFIX}{destination_id}:{dedupe_key}"
    if len(key) > _DEDUPE_MAX:
        key = f"{PREFIX}{destination_id}:sha256:{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()}"
    return key


def _check_message(message: dict) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("title"), str):
        raise ValueError("a notification message is a dict with a 'title' string")


def queue_notification(
    conn: Connection,
    *,
    kind: str,
    message: dict,
    dedupe_key: str,
    site_id: int | None = None,
    team_id: int | None = None,
    user_id: int | None = None,
) -> int:
    """Queue ``message`` for every destination of ``kind`` covering the scope; the number queued."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    _check_message(message)
    if not dedupe_key:
        raise ValueError("a notification needs a dedupe_key")
    leader_id = None
    if team_id is not None:
        row = conn.execute(select(Team.site_id, Team.leader_id).where(Team.id == team_id)).first()
        if row is not None:
            site_id = site_id if site_id is not None else row[0]
            leader_id = row[1]
    people = [u for u in (user_id, leader_id if user_id is None else None) if u is not None]
    cover = []
    if site_id is not None:
        cover.append(_DEST.c.site_id == site_id)
    if team_id is not None:
        cover.append(_DEST.c.team_id == team_id)
    if people:
        cover.append(_DEST.c.user_id.in_(people))
    if not cover:
        return 0
    found = conn.execute(select(_DEST.c.id, _DEST.c.kinds).where(or_(*cover)).order_by(_DEST.c.id)).all()
    body = json.dumps(message, ensure_ascii=False)
    now = utcnow()
    queued = 0
    for destination_id, kinds in found:
        if kind not in kinds.split(","):
            continue
        key = _outbox_dedupe(destination_id, dedupe_key)
        added = outbox.enqueue(
            conn, viewer=SYSTEM_VIEWER, kind=PREFIX + kind, recipient="", subject=message["title"][:_SUBJECT_MAX],
            text=body, ref=dedupe_key[:_REF_MAX], dedupe_key=key, now=now,
        )
        if added:
            outbox_id = conn.execute(select(_OUT.c.id).where(_OUT.c.dedupe_key == key)).scalar_one()
            conn.execute(insert(_DEL).values(outbox_id=outbox_id, destination_id=destination_id))
            queued += 1
    return queued


# --------------------------------------------------------------------------- destinations


def _require_admin(viewer: Viewer) -> None:
    if not may_administer(viewer):
        raise AuthError("only an admin configures notification destinations")


def _scope_query():
    return (
        select(
            _DEST,
            Site.name.label("site_name"), Team.name.label("team_name"), User.username.label("username"),
            Site.timezone.label("site_tz"),
        )
        .select_from(_DEST)
        .outerjoin(Team, Team.id == _DEST.c.team_id)
        .outerjoin(User, User.id == _DEST.c.user_id)
        .outerjoin(Site, Site.id == func.coalesce(_DEST.c.site_id, Team.site_id, User.site_id))
    )


def _destination(row) -> Destination:
    m = row._mapping
    if m["site_id"] is not None:
        scope, scope_id, label = "site", m["site_id"], f"site:{m['site_name']}"
    elif m["team_id"] is not None:
        scope, scope_id, label = "team", m["team_id"], f"team:{m['site_name']}/{m['team_name']}"
    else:
        scope, scope_id, label = "user", m["user_id"], f"user:{m['username']}"
    return Destination(
        id=m["id"], name=m["name"], url=m["url"], type=m["type"], scope=scope, scope_id=scope_id, scope_label=label,
        kinds=tuple(k for k in m["kinds"].split(",") if k), quiet=m["quiet"], per_minute=m["per_minute"],
        timezone=m["site_tz"] or "UTC",
    )


def destinations(conn: Connection, *, ids: list[int] | None = None) -> list[Destination]:
    """Every destination (by name), or those of ``ids``."""
    stmt = _scope_query().order_by(_DEST.c.name)
    if ids is not None:
        stmt = stmt.where(_DEST.c.id.in_(ids))
    return [_destination(row) for row in conn.execute(stmt)]


def destination(conn: Connection, name: str) -> Destination | None:
    row = conn.execute(_scope_query().where(_DEST.c.name == name)).first()
    return _destination(row) if row is not None else None


def any_destination(conn: Connection) -> bool:
    return conn.execute(select(_DEST.c.id).limit(1)).first() is not None


def resolve_scope(conn: Connection, ref: ScopeRef) -> int:
    """The id of the site, team or user ``ref`` names (names case-insensitive); NotifyInputError naming what is missing."""
    if ref.scope == "user":
        found = conn.execute(select(User.id).where(func.lower(User.username) == ref.user.lower())).scalar()
        if found is None:
            raise NotifyInputError(f"--for user:{ref.user}: no such user")
        return found
    site = conn.execute(select(Site.id).where(func.lower(Site.name) == ref.site.lower())).scalar()
    if site is None:
        raise NotifyInputError(f"--for {ref.scope}:{ref.site}: no site {ref.site!r}")
    if ref.scope == "site":
        return site
    team = conn.execute(
        select(Team.id).where(Team.site_id == site, func.lower(Team.name) == ref.team.lower())
    ).scalar()
    if team is None:
        raise NotifyInputError(f"--for team:{ref.site}/{ref.team}: no team {ref.team!r} at {ref.site}")
    return team


def name_taken(conn: Connection, name: str) -> bool:
    return conn.execute(select(_DEST.c.id).where(func.lower(_DEST.c.name) == name.lower())).first() is not None


def add_destination(
    conn: Connection,
    *,
    viewer: Viewer,
    name: str,
    url: str,
    type: str,
    scope: str,
    scope_id: int,
    kinds: tuple[str, ...],
    quiet: str = "",
    per_minute: int = 20,
) -> int:
    """Store a checked destination (leaderboard.notify checks the input); its id. Audited without the URL."""
    _require_admin(viewer)
    if scope not in ("site", "team", "user"):
        raise ValueError(f"unknown scope {scope!r}")
    values = {
        "name": name, "url": url, "type": type, "site_id": None, "team_id": None, "user_id": None,
        f"{scope}_id": scope_id, "kinds": ",".join(kinds), "quiet": quiet, "per_minute": per_minute,
        "created_at": utcnow(),
    }
    new_id = conn.execute(insert(_DEST).values(values).returning(_DEST.c.id)).scalar_one()
    record(conn, actor=viewer.username, kind="notify_added", target=name,
           detail=f"type={type} scope={scope}:{scope_id} kinds={','.join(kinds)}")
    return new_id


def remove_destination(conn: Connection, *, viewer: Viewer, name: str) -> bool:
    """Remove a destination and its undelivered messages; False when there is none of that name."""
    _require_admin(viewer)
    found = conn.execute(select(_DEST.c.id).where(_DEST.c.name == name)).scalar()
    if found is None:
        return False
    rows = select(_DEL.c.outbox_id).where(_DEL.c.destination_id == found)
    conn.execute(delete(_OUT).where(_OUT.c.id.in_(rows), _OUT.c.status.in_(("queued", "failed"))))
    conn.execute(delete(_DEL).where(_DEL.c.destination_id == found))
    conn.execute(delete(_DEST).where(_DEST.c.id == found))
    record(conn, actor=viewer.username, kind="notify_removed", target=name)
    return True


# --------------------------------------------------------------------------- delivery bookkeeping


def destination_of(conn: Connection, outbox_ids: list[int]) -> dict[int, int]:
    """outbox id -> destination id."""
    if not outbox_ids:
        return {}
    return dict(conn.execute(select(_DEL.c.outbox_id, _DEL.c.destination_id).where(_DEL.c.outbox_id.in_(outbox_ids))).all())


def sent_since(conn: Connection, destination_id: int, since: datetime) -> list[datetime]:
    """When the destination's messages sent since ``since`` were sent (oldest first): the per-minute limit."""
    return list(conn.execute(
        select(_OUT.c.sent_at).join(_DEL, _DEL.c.outbox_id == _OUT.c.id)
        .where(_DEL.c.destination_id == destination_id, _OUT.c.status == "sent", _OUT.c.sent_at >= since,
               _OUT.c.last_error.not_like(f"{COLLAPSED}%"))
        .order_by(_OUT.c.sent_at)
    ).scalars())


def hold(engine: Engine, message: outbox.Message, *, token: str, until: datetime, note: str = "") -> bool:
    """Put a claimed message back until ``until`` without counting a try (quiet hours, the per-minute limit)."""

    def mark() -> bool:
        with engine.begin() as conn:
            return bool(conn.execute(
                update(_OUT).where(_OUT.c.id == message.id, _OUT.c.claimed_by == token, _OUT.c.status == "queued")
                .values(claimed_until=None, claimed_by="", next_attempt_at=until, last_error=note)
            ).rowcount)

    return with_retry(mark)


@dataclass(frozen=True)
class Failed:
    id: int
    kind: str
    destination: str
    title: str
    attempts: int
    error: str  # the destination's answer (never its URL)
    created_at: datetime


def failed(conn: Connection, *, limit: int = 200) -> list[Failed]:
    """Notifications that failed after their last try, newest first, with the destination's answer."""
    rows = conn.execute(
        select(_OUT.c.id, _OUT.c.kind, _DEST.c.name, _OUT.c.subject, _OUT.c.attempts, _OUT.c.last_error,
               _OUT.c.created_at)
        .join(_DEL, _DEL.c.outbox_id == _OUT.c.id).join(_DEST, _DEST.c.id == _DEL.c.destination_id)
        .where(_OUT.c.status == "failed", _OUT.c.kind.in_(OUTBOX_KINDS))
        .order_by(_OUT.c.id.desc()).limit(limit)
    ).all()
    return [Failed(r[0], r[1].removeprefix(PREFIX), r[2], r[3], r[4], r[5], r[6]) for r in rows]


def retry(conn: Connection, *, viewer: Viewer, outbox_id: int, now: datetime | None = None) -> bool:
    """Queue a failed notification again (tries counted from zero); False when it is not a failed notification."""
    _require_admin(viewer)
    done = conn.execute(
        update(_OUT).where(_OUT.c.id == outbox_id, _OUT.c.status == "failed", _OUT.c.kind.in_(OUTBOX_KINDS))
        .values(status="queued", attempts=0, next_attempt_at=now or utcnow(), claimed_until=None, claimed_by="")
    ).rowcount
    if done:
        record(conn, actor=viewer.username, kind="notify_retried", target=str(outbox_id))
    return bool(done)


def counts(conn: Connection) -> dict[str, int]:
    """Notification rows by status."""
    found = dict(conn.execute(
        select(_OUT.c.status, func.count()).where(_OUT.c.kind.in_(OUTBOX_KINDS)).group_by(_OUT.c.status)
    ).all())
    return {status: int(found.get(status, 0)) for status in ("queued", "sent", "failed", "skipped")}


RATE_WINDOW = timedelta(minutes=1)
