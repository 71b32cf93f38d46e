"""Notification destinations and delivery (issue 15): what ``notify add|list|test|remove|run``,
the Admin page's Notifications tab and the server's sender thread call.

Messages are queued by ``db.notify_store.queue_notification`` in the transaction of what
caused them (one ``outbox`` row per destination). ``deliver`` takes the due ones under a
lease (``db.outbox.claim``: PostgreSQL ``FOR UPDATE SKIP LOCKED``, SQLite one writer), so
two server processes send each message once, and per destination:

- inside its quiet hours (local time of the scope's site) every message is held, without
  counting a try, until the window ends;
- at most ``per_minute`` messages go out per minute: when more are due, the first
  ``per_minute - 1`` go one by one and the rest as one "… (and N more)" message (its rows
  are marked sent with ``collapsed into #ID``; the carrier alone counts against the limit);
  when the minute's allowance is used up, messages wait for the minute to end;
- HTTP destinations (Slack, Teams, generic JSON) get a POST through ``requests``; e-mail
  destinations go through STARBOARD_SMTP_URL (the survey e-mail's SMTP path);
- a failed try is retried 1, 2, 4 ... minutes later (``Retry-After`` of a 429 respected),
  at once marked failed on a 4xx refusal (but 408/429), and marked failed after
  STARBOARD_NOTIFY_MAX_ATTEMPTS tries, with the destination's answer ("HTTP 500: …").

URLs are secrets: they are shown masked (``notify_rules.mask_url``), and neither logged nor
written into an error (a connection error is recorded by its kind only).

Why not apprise (which the issue suggests): its Slack and Teams services post only to the
vendors' fixed hosts (hooks.slack.com, the Teams/Workflows hosts), so no test can point them
at a local receiver, and its Slack formatting deliberately turns ``<!channel>`` and
``<@user>`` found in the body back into live mentions — the opposite of "user text is data".
Each service here is one JSON POST, built by the pure renderers of ``leaderboard.notify_rules``.
"""

from __future__ import annotations

import json
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Callable

import requests
from sqlalchemy.engine import Engine

from db import notify_store, outbox
from db.audit import record
from db.models import utcnow
from db.notify_store import COLLAPSED, OUTBOX_KINDS, PREFIX, Destination, Failed
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.mail_rules import backoff
from leaderboard.notify_rules import (
    NotifyInputError,
    answer_text,
    check_name,
    check_per_minute,
    check_url,
    collapse,
    email_address,
    email_parts,
    mask_url,
    parse_kinds,
    parse_quiet,
    parse_scope,
    permanent,
    quiet_until,
    render,
    sample_message,
)
from leaderboard.notify_jobs import run_scheduled
from leaderboard.settings import Settings
from leaderboard.survey_mail import SMTP_TIMEOUT_S, build_message, mail_configured, sender_address, smtp_transport

HTTP_TIMEOUT_S = 10
BATCH = 20
# A claimed batch's lease covers every send timing out (SMTP's 30 s being the longest), and a sender
# stops sending (and hands the rest back) RELEASE_MARGIN before its lease ends: another sender may
# take a row only after this one gave it up, so no message goes out twice.
LEASE = timedelta(seconds=BATCH * (SMTP_TIMEOUT_S + 5))
RELEASE_MARGIN = timedelta(seconds=SMTP_TIMEOUT_S + 5)
RATE_WINDOW = timedelta(minutes=1)

log = logging.getLogger("starboard.notify")

__all__ = ["NotifyInputError", "Destination", "Failed"]


# --------------------------------------------------------------------------- destinations


@dataclass(frozen=True)
class Shown:
    """A destination as it may be shown (the URL masked)."""

    name: str
    type: str
    url: str  # masked
    scope: str
    kinds: str
    quiet: str
    per_minute: int


def shown(d: Destination) -> Shown:
    return Shown(d.name, d.type, mask_url(d.url), d.scope_label, ",".join(d.kinds), d.quiet or "-", d.per_minute)


def add(
    *,
    engine: Engine,
    viewer: Viewer,
    name: str,
    url: str,
    scope: str,
    kinds: str,
    type_: str | None = None,
    quiet: str | None = None,
    per_minute: int | None = None,
) -> Shown:
    """Check and store a destination; NotifyInputError naming what is wrong."""
    name = check_name(name)
    url, kind = check_url(url, type_)
    ref = parse_scope(scope)
    wanted = parse_kinds(kinds)
    quiet_text = parse_quiet(quiet)
    limit = check_per_minute(per_minute)
    with engine.begin() as conn:
        if notify_store.name_taken(conn, name):
            raise NotifyInputError(f"NAME {name!r} is taken: remove it first or choose another name")
        scope_id = notify_store.resolve_scope(conn, ref)
        notify_store.add_destination(
            conn, viewer=viewer, name=name, url=url, type=kind, scope=ref.scope, scope_id=scope_id, kinds=wanted,
            quiet=quiet_text, per_minute=limit,
        )
        found = notify_store.destination(conn, name)
    assert found is not None
    return shown(found)


def listed(*, engine: Engine) -> list[Shown]:
    with engine.connect() as conn:
        return [shown(d) for d in notify_store.destinations(conn)]


def remove(*, engine: Engine, viewer: Viewer, name: str) -> bool:
    with engine.begin() as conn:
        return notify_store.remove_destination(conn, viewer=viewer, name=name)


def failed(*, engine: Engine) -> list[Failed]:
    with engine.connect() as conn:
        return notify_store.failed(conn)


def retry(*, engine: Engine, viewer: Viewer, outbox_id: int) -> bool:
    with engine.begin() as conn:
        return notify_store.retry(conn, viewer=viewer, outbox_id=outbox_id)


def status(*, engine: Engine) -> dict[str, int]:
    """Notification rows by status (queued, sent, failed, skipped)."""
    with engine.connect() as conn:
        return notify_store.counts(conn)


def any_destination(engine: Engine) -> bool:
    with engine.connect() as conn:
        return notify_store.any_destination(conn)


# --------------------------------------------------------------------------- one send


@dataclass(frozen=True)
class Answer:
    ok: bool
    text: str  # the destination's answer ("HTTP 200: ok"), or what went wrong; never the URL
    permanent: bool = False
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def send_http(destination: Destination, payload: dict, *, session: requests.Session | None = None) -> Answer:
    post = (session or requests).post
    try:
        response = post(
            destination.url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "Starboard"},
            timeout=HTTP_TIMEOUT_S, allow_redirects=False,
        )
    except requests.Timeout:
        return Answer(False, f"no answer within {HTTP_TIMEOUT_S} s")
    except requests.ConnectionError:
        return Answer(False, "could not connect")
    except requests.RequestException as exc:  # its text may hold the URL: only its kind is kept
        return Answer(False, f"request failed ({type(exc).__name__})")
    text = answer_text(response.status_code, response.text)
    if 200 <= response.status_code < 300:
        return Answer(True, text)
    return Answer(False, text, permanent=permanent(response.status_code),
                  retry_after=_retry_after(response.headers.get("Retry-After")) if response.status_code == 429 else None)


def send_email(destination: Destination, message: dict, *, settings: Settings,
               transport: Callable[[EmailMessage], None] | None = None) -> Answer:
    if not mail_configured(settings) and transport is None:
        return Answer(False, "STARBOARD_SMTP_URL is not set: e-mail destinations cannot be sent", permanent=True)
    parts = email_parts(message)
    mail = build_message(
        outbox.Message(id=0, kind="notify", ref="", recipient=email_address(destination.url), subject=parts.subject,
                       text=parts.text, html=parts.html, headers={}, attempts=0),
        sender=sender_address(settings),
    )
    try:
        (transport or smtp_transport(settings))(mail)
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return Answer(False, f"SMTP {exc.smtp_code}: {error[:300]}", permanent=500 <= exc.smtp_code < 600)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (0, b""))
        return Answer(False, f"SMTP {code}: recipient refused", permanent=500 <= int(code) < 600)
    except (OSError, smtplib.SMTPException) as exc:
        return Answer(False, f"SMTP: {type(exc).__name__}")
    return Answer(True, "SMTP 250: accepted")


def send(destination: Destination, kind: str, message: dict, *, settings: Settings) -> Answer:
    if destination.type == "email":
        return send_email(destination, message, settings=settings)
    return send_http(destination, render(destination.type, kind, message))


def test(*, engine: Engine, settings: Settings, name: str, viewer: Viewer = SYSTEM_VIEWER) -> Answer | None:
    """Send a sample message to ``name`` now; its answer (None: no such destination). Audited."""
    with engine.connect() as conn:
        found = notify_store.destination(conn, name)
    if found is None:
        return None
    kind = found.kinds[0] if found.kinds else "test"
    answer = send(found, kind, sample_message(kind, settings.public_url), settings=settings)
    with engine.begin() as conn:
        record(conn, actor=viewer.username, kind="notify_test", target=name, detail=answer.text[:200])
    return answer


# --------------------------------------------------------------------------- delivery


@dataclass
class Counts:
    sent: int = 0  # messages delivered (a collapsed one counts once)
    collapsed: int = 0  # rows delivered inside an "and N more" message
    held: int = 0  # quiet hours or the per-minute limit
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    scheduled: int = 0  # queued by run_scheduled on this tick
    answers: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.collapsed + self.held + self.retried + self.failed + self.skipped

    def summary(self) -> str:
        return (f"scheduled={self.scheduled} sent={self.sent} collapsed={self.collapsed} held={self.held} "
                f"retried={self.retried} failed={self.failed} skipped={self.skipped}")


def _outcome(engine: Engine, rows: list[outbox.Message], answer: Answer, *, token: str, moment: datetime,
             settings: Settings, counts: Counts) -> None:
    """Record one try of ``rows`` (one message, or the rows of one collapsed message)."""
    if answer.ok:
        for i, row in enumerate(rows):
            note = "" if i == 0 else f"{COLLAPSED}{rows[0].id}"
            outbox.finish(engine, row, token=token, outcome="sent", now=moment, error=note or answer.text)
        counts.sent += 1
        counts.collapsed += len(rows) - 1
        return
    counts.answers.append(answer.text)
    for row in rows:
        tries = row.attempts + 1
        if answer.permanent or tries >= settings.notify_max_attempts:
            outbox.finish(engine, row, token=token, outcome="failed", now=moment, error=answer.text)
            counts.failed += 1
        else:
            wait = backoff(tries)
            if answer.retry_after is not None:
                wait = max(wait, timedelta(seconds=min(answer.retry_after, 6 * 3600)))
            outbox.finish(engine, row, token=token, outcome="retry", now=moment, error=answer.text,
                          retry_at=moment + wait)
            counts.retried += 1


def _loads(row: outbox.Message) -> dict:
    try:
        message = json.loads(row.text)
    except ValueError:
        message = None
    return message if isinstance(message, dict) else {"title": row.subject, "lines": []}


def deliver(*, engine: Engine, settings: Settings, now: datetime | None = None, limit: int = BATCH) -> Counts:
    """Deliver the notifications that are due, once; ``now`` fixes the clock (tests)."""
    counts = Counts()
    started = utcnow()  # the real clock: the lease runs in real time whatever ``now`` says
    token, batch = outbox.claim(engine, now=now, limit=limit, kinds=OUTBOX_KINDS, lease=LEASE)
    if not batch:
        return counts
    give_up_at = started + LEASE - RELEASE_MARGIN
    with engine.connect() as conn:
        dest_of = notify_store.destination_of(conn, [m.id for m in batch])
        found = {d.id: d for d in notify_store.destinations(conn, ids=sorted(set(dest_of.values())))}
    groups: dict[int, list[outbox.Message]] = {}
    for row in batch:
        destination = found.get(dest_of.get(row.id, -1))
        if destination is None:  # removed since it was queued
            outbox.finish(engine, row, token=token, outcome="skipped", now=now or utcnow(), error="no destination")
            counts.skipped += 1
            continue
        groups.setdefault(destination.id, []).append(row)
    def hand_back(rows: list[outbox.Message]) -> None:
        """Slow destinations ate the lease: these go back, due now, for the next claim."""
        for row in rows:
            notify_store.hold(engine, row, token=token, until=now or utcnow(), note="lease ran out")
        counts.held += len(rows)

    for destination_id, rows in groups.items():
        destination = found[destination_id]
        if utcnow() >= give_up_at:
            hand_back(rows)
            continue
        moment = now or utcnow()
        until = quiet_until(moment, destination.quiet, destination.timezone)
        if until is not None:
            for row in rows:
                notify_store.hold(engine, row, token=token, until=until, note="quiet hours")
            counts.held += len(rows)
            continue
        with engine.connect() as conn:
            recent = notify_store.sent_since(conn, destination_id, moment - RATE_WINDOW)
        room = destination.per_minute - len(recent)
        if room <= 0:
            for row in rows:
                notify_store.hold(engine, row, token=token, until=recent[0] + RATE_WINDOW, note="per-minute limit")
            counts.held += len(rows)
            continue
        single, together = (rows, []) if len(rows) <= room else (rows[: room - 1], rows[room - 1:])
        parcels = [[row] for row in single] + ([together] if together else [])
        for i, parcel in enumerate(parcels):
            if utcnow() >= give_up_at:
                hand_back([row for rest in parcels[i:] for row in rest])
                break
            kind = parcel[0].kind.removeprefix(PREFIX)
            message = _loads(parcel[0]) if len(parcel) == 1 else collapse([_loads(r) for r in parcel], more=0)
            answer = send(destination, kind, message, settings=settings)
            _outcome(engine, parcel, answer, token=token, moment=now or utcnow(), settings=settings, counts=counts)
    return counts


def run(*, engine: Engine, settings: Settings, now: datetime | None = None) -> Counts:
    """One tick: what is scheduled (digests, reminders) is queued, then what is due is delivered."""
    moment = now or utcnow()
    scheduled = run_scheduled(engine=engine, now=moment, settings=settings)
    counts = Counts()
    while True:
        step = deliver(engine=engine, settings=settings, now=now)
        for name in ("sent", "collapsed", "held", "retried", "failed", "skipped"):
            setattr(counts, name, getattr(counts, name) + getattr(step, name))
        counts.answers += step.answers
        if step.total < BATCH:
            break
    counts.scheduled = scheduled
    return counts


def tick(engine: Engine, settings: Settings) -> int:
    """The sender thread's job: nothing at all while no destination exists; else ``run``. How many rows it handled."""
    if not any_destination(engine):
        return 0
    counts = run(engine=engine, settings=settings)
    if counts.total or counts.scheduled:
        log.info("notifications: %s", counts.summary())  # counts only, never a URL or a message
    return counts.total
