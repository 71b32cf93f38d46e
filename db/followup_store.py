"""Storage for the recovery follow-up: a customer's address kept while a follow-up may be needed.

Survey e-mails erase the address once sent. With STARBOARD_RECOVERY_FOLLOWUP on, the address of a
survey e-mail is also kept here (``followup_address``, one row per interaction) so that a resolved
recovery case can send the follow-up survey. It is erased:

- when the interaction's rating opens no recovery case, or its case closes (``purge``, run by every
  sender tick and ``survey send``);
- when a case is closed (``take``, in the transaction that closes it: a resolved case's follow-up
  e-mail carries the address to the outbox, which erases it once sent);
- at ``keep_until`` whatever happens (STARBOARD_FOLLOWUP_ADDRESS_DAYS).

Writes are the system's (customers act through signed links); erasing is audited with counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from db.audit import record
from db.models import Agent, FollowupAddress, Interaction, Rating, RecoveryCase, Team, utcnow
from db.retry import with_retry
from leaderboard.auth import AuthError, Viewer, may_administer

FOLLOWUP_KIND = "recovery_followup"  # the outbox kind of a follow-up e-mail
OPEN_STATUSES = ("open", "contacted")

_ADDR = FollowupAddress.__table__
_CASE = RecoveryCase.__table__
_RATING = Rating.__table__


def _system_only(viewer: Viewer, what: str) -> None:
    if not may_administer(viewer):
        raise AuthError(f"only the system may {what}")


def keep(
    conn: Connection, *, viewer: Viewer, interaction_pk: int, address: str, customer_name: str,
    keep_until: datetime, now: datetime | None = None,
) -> None:
    """Keep (or refresh) an interaction's address for a follow-up, in the caller's transaction."""
    _system_only(viewer, "keep a customer's address")
    values = {"address": address, "customer_name": customer_name[:120], "keep_until": keep_until}
    done = conn.execute(update(_ADDR).where(_ADDR.c.interaction_id == interaction_pk).values(**values)).rowcount
    if not done:
        conn.execute(insert(_ADDR).values(interaction_id=interaction_pk, created_at=now or utcnow(), **values))


@dataclass(frozen=True)
class Kept:
    address: str
    customer_name: str


def take(conn: Connection, *, viewer: Viewer, interaction_pk: int, now: datetime | None = None) -> Kept | None:
    """The kept address of an interaction (None when none, or past its time), erased in the same transaction."""
    _system_only(viewer, "read a customer's address")
    now = now or utcnow()
    row = conn.execute(
        select(_ADDR.c.address, _ADDR.c.customer_name, _ADDR.c.keep_until).where(_ADDR.c.interaction_id == interaction_pk)
    ).first()
    if row is None:
        return None
    conn.execute(delete(_ADDR).where(_ADDR.c.interaction_id == interaction_pk))
    return Kept(row[0], row[1]) if row[2] >= now else None


def purge(engine: Engine, *, viewer: Viewer, now: datetime | None = None) -> int:
    """Erase every address no longer needed (see the module's docstring); how many, audited when any."""
    _system_only(viewer, "erase customers' addresses")
    now = now or utcnow()
    rated = exists().where(_RATING.c.interaction_id == _ADDR.c.interaction_id)
    open_case = exists().where(
        _CASE.c.rating_id == _RATING.c.id, _RATING.c.interaction_id == _ADDR.c.interaction_id,
        _CASE.c.status.in_(OPEN_STATUSES),
    )
    stale = or_(_ADDR.c.keep_until < now, and_(rated, ~open_case))

    def erase() -> int:
        with engine.begin() as conn:
            # Counted by RETURNING: psycopg may not report a DELETE's rowcount reliably with subqueries.
            gone = len(conn.execute(delete(_ADDR).where(stale).returning(_ADDR.c.id)).all())
            if gone:
                record(conn, actor=viewer.username, kind="followup_addresses_erased", target="followup_address",
                       detail=f"{gone} address{'es' if gone != 1 else ''} no longer needed for a follow-up")
            return gone

    with engine.connect() as conn:  # the common case, nothing kept: a read, no write lock
        if conn.execute(select(_ADDR.c.id).where(stale).limit(1)).first() is None:
            return 0
    return with_retry(erase)


def kept_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(_ADDR.c.id)).all())


@dataclass(frozen=True)
class CaseSubject:
    """What a follow-up page and e-mail name about a recovery case."""

    case_id: int
    interaction_pk: int
    interaction_id: str
    agent: str  # the full name: pages and e-mails show leaderboard.names.public_name of it
    team: str
    followup_stars: int | None


def case_subject(conn: Connection, *, case_id: int) -> CaseSubject | None:
    stmt = (
        select(_CASE.c.id, Interaction.id, Interaction.interaction_id, Agent.name, Team.name, _CASE.c.followup_stars)
        .select_from(_CASE)
        .join(Rating, Rating.id == _CASE.c.rating_id)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .join(Agent, Agent.id == Interaction.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .where(_CASE.c.id == case_id)
    )
    row = conn.execute(stmt).first()
    return None if row is None else CaseSubject(*row)
