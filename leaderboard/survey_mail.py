"""Asking customers for feedback: survey offers, the survey request e-mail, and its sender.

``offer_surveys`` is what ``survey link``, ``survey request FILE.csv`` and ``POST
/api/v1/interactions`` call once the interactions are written (through the one write
path): in one transaction it records the offers (link, api) and, for a request with
an e-mail address, queues the survey e-mail in the outbox (``db.outbox``), unless
SMTP is not configured (``STARBOARD_SMTP_URL``) or the address is on the unsubscribe
list. One e-mail per interaction: asking again (a retried API call) queues nothing new.

``run_outbox`` delivers what is due once (``python -m leaderboard survey send``); a
``Sender`` thread runs it in the server process (started by the server's lifespan,
``leaderboard/http/lifespan.py``), woken when an e-mail is queued. Each e-mail is
checked against the unsubscribe list again when it is sent; a failed try is retried
1, 2, 4 ... minutes later and the e-mail is marked failed, with the error, after
``STARBOARD_MAIL_MAX_ATTEMPTS`` tries (a permanent refusal, 5xx, at once). A sent
e-mail records the "email" offer.

The e-mail's words live in the survey's messages file (``leaderboard/http/messages.toml``,
sections [mail] and [survey]), so a center translates one file.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine

from db import followup_store, outbox
from db.followup_store import FOLLOWUP_KIND
from db.models import Interaction, utcnow
from db.survey_mail_store import is_unsubscribed, record_offers, subjects
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.mail_rules import (
    address_hash,
    backoff,
    default_sender,
    parse_smtp_url,
    sign_unsubscribe,
    survey_email,
)
from leaderboard.names import public_name
from leaderboard.settings import Settings
from leaderboard.survey_tokens import survey_link

MAIL_KIND = "survey_request"
MESSAGES_FILE = Path(__file__).resolve().parent / "http" / "messages.toml"
SMTP_TIMEOUT_S = 30
BATCH = 50

log = logging.getLogger("starboard.mail")


@lru_cache(maxsize=1)
def texts() -> dict:
    with MESSAGES_FILE.open("rb") as handle:
        return tomllib.load(handle)


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_url.get_secret_value())


def sender_address(settings: Settings) -> str:
    return settings.smtp_from or default_sender(settings.public_url)


def unsubscribe_url(settings: Settings, *, secret: bytes, address: str) -> str:
    token = sign_unsubscribe(address_hash(address), secret=secret)
    return f"{settings.public_url.rstrip('/')}/u/{token}"


@dataclass(frozen=True)
class SurveyRequest:
    """One interaction to ask about, with the customer's address when they should get an e-mail."""

    interaction_id: str
    email: str = ""  # checked with leaderboard.mail_rules.check_address
    customer_name: str = ""


@dataclass(frozen=True)
class Offered:
    interaction_id: str
    url: str
    email: str | None  # "queued", "not configured", "unsubscribed"; None: no address given


def offer_surveys(
    *,
    engine: Engine,
    settings: Settings,
    secret: bytes,
    requests: Sequence[SurveyRequest],
    channel: str,
    viewer: Viewer = SYSTEM_VIEWER,
    now: datetime | None = None,
) -> list[Offered]:
    """Survey links for stored interactions (unknown ids are left out), their offers recorded, e-mails queued."""
    now = now or utcnow()
    configured = mail_configured(settings)
    style = settings.public_name_style
    done: list[Offered] = []
    queued = False
    with engine.begin() as conn:
        found = subjects(conn, [r.interaction_id for r in requests])
        record_offers(conn, viewer=viewer, interaction_pks=[s.pk for s in found.values()], channel=channel, now=now)
        for request in requests:
            subject = found.get(request.interaction_id)
            if subject is None:
                continue
            url = survey_link(request.interaction_id, base_url=settings.public_url, secret=secret, now=now,
                              days=settings.survey_expiry_days)
            status = None
            if request.email:
                if not configured:
                    status = "not configured"
                elif is_unsubscribed(conn, address_hash(request.email)):
                    status = "unsubscribed"
                else:
                    mail = survey_email(
                        texts(), agent=public_name(subject.agent, style), team=subject.team,
                        customer=request.customer_name, survey_url=url,
                        unsubscribe_url=unsubscribe_url(settings, secret=secret, address=request.email),
                    )
                    outbox.enqueue(
                        conn, viewer=viewer, kind=MAIL_KIND, recipient=request.email, subject=mail.subject,
                        text=mail.text, html=mail.html, headers=mail.headers, ref=request.interaction_id,
                        dedupe_key=f"{MAIL_KIND}:{request.interaction_id}", now=now,
                    )
                    status, queued = "queued", True
                    if settings.recovery_followup:  # kept only while a follow-up may need it (db.followup_store)
                        followup_store.keep(conn, viewer=viewer, interaction_pk=subject.pk, address=request.email,
                                            customer_name=request.customer_name, now=now,
                                            keep_until=now + timedelta(days=settings.followup_address_days))
            done.append(Offered(request.interaction_id, url, status))
    if queued:
        wake()
    return done


# --------------------------------------------------------------------------- sending


Transport = Callable[[EmailMessage], None]


def smtp_transport(settings: Settings) -> Transport:
    """Hand one message to the server of STARBOARD_SMTP_URL (a connection per message)."""
    config = parse_smtp_url(settings.smtp_url.get_secret_value())

    def send(message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if config.security == "tls":
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=SMTP_TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            if config.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if config.username:
                client.login(config.username, config.password)
            client.send_message(message)

    return send


def build_message(message: outbox.Message, *, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or "localhost")
    mail["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        mail[name] = value
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


def _describe(exc: BaseException) -> tuple[str, bool]:
    """(the error as recorded, whether it is permanent: the server refused with a 5xx code)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        code, text = answers[0] if answers else (0, b"")
        return f"recipient refused: {code} {_text(text)}", 500 <= int(code) < 600
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}", 500 <= exc.smtp_code < 600 \
            and not isinstance(exc, smtplib.SMTPAuthenticationError)
    return f"{type(exc).__name__}: {exc}", False


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@dataclass
class SendCounts:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped

    def summary(self) -> str:
        return f"sent={self.sent} retried={self.retried} failed={self.failed} skipped={self.skipped}"


def _offered_by_email(interaction_id: str, when: datetime):
    def also(conn) -> None:
        pk = conn.execute(select(Interaction.id).where(Interaction.interaction_id == interaction_id)).scalar()
        if pk is not None:
            record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=[pk], channel="email", now=when)

    return also


def run_outbox(
    *,
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    transport: Transport | None = None,
    limit: int = BATCH,
) -> SendCounts:
    """Deliver the survey e-mails that are due, once; ``now`` fixes the clock (tests)."""
    counts = SendCounts()
    followup_store.purge(engine, viewer=SYSTEM_VIEWER, now=now)  # addresses no follow-up needs any more
    if not mail_configured(settings) and transport is None:
        return counts
    transport = transport or smtp_transport(settings)
    sender = sender_address(settings)
    token, batch = outbox.claim(engine, now=now, limit=limit, kinds=(MAIL_KIND, FOLLOWUP_KIND))
    for message in batch:
        moment = now or utcnow()
        with engine.connect() as conn:
            stopped = is_unsubscribed(conn, address_hash(message.recipient))
        if stopped:
            outbox.finish(engine, message, token=token, outcome="skipped", now=moment, error="unsubscribed")
            counts.skipped += 1
            continue
        try:
            transport(build_message(message, sender=sender))
        except Exception as exc:  # every failure is recorded on the row; the next message still goes
            error, permanent = _describe(exc)
            tries = message.attempts + 1
            if permanent or tries >= settings.mail_max_attempts:
                outbox.finish(engine, message, token=token, outcome="failed", now=moment, error=error)
                counts.failed += 1
            else:
                outbox.finish(engine, message, token=token, outcome="retry", now=moment, error=error,
                              retry_at=moment + backoff(tries))
                counts.retried += 1
            counts.errors.append(error)
            continue
        outbox.finish(engine, message, token=token, outcome="sent", now=moment,
                      also=_offered_by_email(message.ref, moment) if message.kind == MAIL_KIND else None)
        counts.sent += 1
    return counts


Job = Callable[[Engine, Settings], int]


class Sender:
    """A daemon thread that runs ``run_outbox`` (when SMTP is configured) and each of ``jobs`` every
    ``poll`` seconds, and at once when woken. A job (e.g. ``leaderboard.notify.tick``) returns how
    many rows it handled and decides at each tick whether it has anything to do."""

    def __init__(self, *, engine: Callable[[], Engine], settings: Callable[[], Settings], poll: float = 5.0,
                 jobs: Sequence[Job] = ()) -> None:
        self._engine, self._settings, self.poll = engine, settings, poll
        self._jobs = tuple(jobs)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="starboard-mail-sender", daemon=True)

    def start(self) -> "Sender":
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            settings = self._settings()
            if mail_configured(settings):
                try:
                    counts = run_outbox(engine=self._engine(), settings=settings)
                    busy = counts.total >= BATCH
                    if counts.total:
                        log.info("survey e-mail: %s", counts.summary())  # counts only, never an address
                except Exception as exc:  # the database away: try again at the next poll
                    log.warning("survey e-mail sender: %s", type(exc).__name__)
            for job in self._jobs:
                try:
                    job(self._engine(), settings)
                except Exception as exc:  # one job's trouble stops neither the others nor the next tick
                    log.warning("sender job %s: %s", getattr(job, "__name__", "job"), type(exc).__name__)
            if not busy:
                self._wake.wait(self.poll)
                self._wake.clear()


_SENDER: Sender | None = None
_SENDER_LOCK = threading.Lock()


def start_sender(*, engine: Callable[[], Engine], settings: Callable[[], Settings], jobs: Sequence[Job] = (),
                 poll: float = 5.0) -> Sender | None:
    """The process's one sender, started at the first call; None when SMTP is not configured and there are no jobs."""
    global _SENDER
    if not mail_configured(settings()) and not jobs:
        return None
    with _SENDER_LOCK:
        if _SENDER is None or not _SENDER.alive:
            _SENDER = Sender(engine=engine, settings=settings, jobs=jobs, poll=poll).start()
        return _SENDER


def stop_sender() -> None:
    global _SENDER
    with _SENDER_LOCK:
        sender, _SENDER = _SENDER, None
    if sender is not None:
        sender.stop()


def wake() -> None:
    """Deliver soon: the process's sender (if any) runs now instead of at its next poll."""
    sender = _SENDER
    if sender is not None:
        sender.wake()
