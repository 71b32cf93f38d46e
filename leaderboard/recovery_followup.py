"""Service recovery, closed loop: a resolved case asks the customer again ("sorry, and how did we do now?").

- ``close_case`` is what ``recovery update … --status resolved|no_response`` and the Recovery page
  call: the case moves (``db.recovery_store.update``) and, in the same transaction, a resolved case
  with STARBOARD_RECOVERY_FOLLOWUP on, SMTP configured, the customer's address kept
  (``db.followup_store``) and not unsubscribed gets its follow-up e-mail queued in the outbox
  (one per case, ever). Closing a case always erases the kept address (the outbox row erases its
  copy once the e-mail is sent).
- The e-mail links to ``/s/f.<token>``: the survey page, marked as a follow-up, signed with a token
  of its own kind (``leaderboard.survey_tokens.sign_followup``) naming the case.
- ``record_answer`` stores the customer's stars on the case (``RecoveryCase.followup_stars``): never
  on the rating, so the agent's score keeps the original; the recovery report's uplift uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import followup_store, outbox, recovery_store
from db.audit import record as audit_record
from db.followup_store import FOLLOWUP_KIND, CaseSubject
from db.models import RecoveryCase, User, utcnow
from db.survey_mail_store import is_unsubscribed
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.mail_rules import address_hash, followup_email
from leaderboard.names import public_name
from leaderboard.recovery import CLOSED_STATUSES, RecoveryError
from leaderboard.settings import Settings
from leaderboard.survey_mail import mail_configured, texts, unsubscribe_url, wake
from leaderboard.survey_tokens import followup_link

MAX_COMMENT = 5000  # as the survey page


def keep_until(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(days=settings.followup_address_days)


@dataclass(frozen=True)
class Closed:
    case: RecoveryCase
    followup: str  # "queued", "off", "not configured", "no address", "unsubscribed", "" (not closed as resolved)


def close_case(
    *,
    session: Session,
    case_id: int,
    status: str,
    by: User,
    viewer: Viewer,
    settings: Settings,
    secret: bytes,
    note: str | None = None,
    now: datetime | None = None,
) -> Closed:
    """Move a case (any status, as ``recovery_store.update``); a resolved one may ask the customer again."""
    now = now or utcnow()
    outcome = {"followup": ""}

    def then(session: Session, case: RecoveryCase, old: str) -> None:
        if case.status not in CLOSED_STATUSES:
            return
        conn = session.connection()
        subject = followup_store.case_subject(conn, case_id=case.id)
        kept = followup_store.take(conn, viewer=SYSTEM_VIEWER, interaction_pk=subject.interaction_pk, now=now)
        if case.status != "resolved" or old == "resolved":
            return
        if not settings.recovery_followup:
            outcome["followup"] = "off"
        elif not mail_configured(settings):
            outcome["followup"] = "not configured"
        elif kept is None:
            outcome["followup"] = "no address"
        elif is_unsubscribed(conn, address_hash(kept.address)):
            outcome["followup"] = "unsubscribed"
        else:
            url = followup_link(case.id, base_url=settings.public_url, secret=secret, now=now,
                                days=settings.survey_expiry_days)
            mail = followup_email(
                texts(), agent=public_name(subject.agent, settings.public_name_style), team=subject.team,
                customer=kept.customer_name, followup_url=url,
                unsubscribe_url=unsubscribe_url(settings, secret=secret, address=kept.address),
            )
            queued = outbox.enqueue(
                conn, viewer=SYSTEM_VIEWER, kind=FOLLOWUP_KIND, recipient=kept.address, subject=mail.subject,
                text=mail.text, html=mail.html, headers=mail.headers, ref=subject.interaction_id,
                dedupe_key=f"{FOLLOWUP_KIND}:{case.id}", now=now,
            )
            outcome["followup"] = "queued" if queued else "sent before"
            if queued:
                audit_record(session, actor=by.username, kind="recovery_followup_queued", target=f"case {case.id}",
                             detail="follow-up survey e-mail queued for the customer")

    case = recovery_store.update(session=session, case_id=case_id, status=status, by=by, note=note, viewer=viewer,
                                 now=now, then=then)
    if outcome["followup"] == "queued":
        wake()
    return Closed(case, outcome["followup"])


FOLLOWUP_TEXT = {
    "queued": "follow-up survey e-mail queued",
    "off": "no follow-up e-mail (STARBOARD_RECOVERY_FOLLOWUP is off)",
    "not configured": "no follow-up e-mail (STARBOARD_SMTP_URL is not set)",
    "no address": "no follow-up e-mail (no customer address was kept for this interaction)",
    "unsubscribed": "no follow-up e-mail (the customer unsubscribed)",
    "sent before": "the follow-up e-mail was queued before",
}


# --------------------------------------------------------------------------- the customer's answer


def subject(*, engine: Engine, case_id: int) -> CaseSubject | None:
    """The case a follow-up link names (None when it is gone)."""
    with engine.connect() as conn:
        return followup_store.case_subject(conn, case_id=case_id)


def record_answer(*, engine: Engine, case_id: int, stars: int, comment: str = "", now: datetime | None = None) -> str:
    """The customer's follow-up: "recorded", "already" (a follow-up is on the case: kept) or "missing"."""
    if not 1 <= int(stars) <= 5:
        raise RecoveryError("a follow-up rating is a whole number of stars from 1 to 5")
    with Session(engine, expire_on_commit=False) as session:
        # Locked on PostgreSQL until the commit: two answers at once store one, the other is "already".
        case = session.get(RecoveryCase, case_id, with_for_update=True)
        if case is None:
            return "missing"
        if case.followup_stars is not None:
            return "already"
        # The customer, through a signed link: written as the system, the note says "customer".
        recovery_store.record_followup(session=session, case_id=case_id, stars=int(stars), viewer=SYSTEM_VIEWER,
                                       now=now, comment=(comment or "")[:MAX_COMMENT])
    return "recorded"
